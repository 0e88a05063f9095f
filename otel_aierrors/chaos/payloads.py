"""Successful (HTTP 200) bodies for every route, including the soft failures.

A 200 is not always a success: ``finish_reason`` ``length`` or
``content_filter``, empty content, a refusal, tool calls with null content and
an image response with an empty ``data`` array are all answers the
instrumentation must see. :class:`Answer` holds those choices (from the ``ok``
step's parameters) and the functions here build the non-streamed objects the
openai SDK parses; :mod:`otel_aierrors.chaos.streams` builds the streamed ones
from the same :class:`Answer`.
"""

from __future__ import annotations

import array
import base64
import hashlib
import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from .exchange import ChaosRequest
from .script import Params

__all__ = [
    "ANSWER_PARAMS",
    "FINISH_REASONS",
    "MODELS",
    "Answer",
    "chat_completion",
    "chat_message",
    "chat_usage",
    "embeddings",
    "images",
    "model_object",
    "models_list",
    "new_id",
    "response_message",
    "response_object",
    "response_output",
    "response_status",
    "snapshot_of",
    "text_completion",
    "tool_call",
]

#: ``finish_reason`` values an ``ok`` step may ask for.
FINISH_REASONS = frozenset({"stop", "length", "content_filter", "tool_calls", "function_call"})
#: Step parameters read by :meth:`Answer.from_params`.
ANSWER_PARAMS = frozenset(
    {
        "finish_reason",
        "content",
        "refusal",
        "tool_calls",
        "model",
        "snapshot",
        "n",
        "chunks",
        "input_tokens",
        "output_tokens",
        "dims",
        "soft",
    }
)
#: Models listed by ``GET /v1/models`` (any id is still accepted everywhere).
MODELS = (
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "o3-mini",
    "gpt-3.5-turbo-instruct",
    "text-embedding-3-small",
    "dall-e-3",
)

_SNAPSHOTS: Mapping[str, str] = {
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4-turbo": "gpt-4-turbo-2024-04-09",
    "gpt-4": "gpt-4-0613",
    "gpt-3.5-turbo": "gpt-3.5-turbo-0125",
    "gpt-3.5-turbo-instruct": "gpt-3.5-turbo-instruct-0914",
    "o1": "o1-2024-12-17",
    "o3-mini": "o3-mini-2025-01-31",
}
_DATED = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})$")
_DEFAULT_TEXT = "Hello from the chaos server. Everything is fine this time."
# A 1x1 transparent PNG, for b64_json image answers.
_PNG_1X1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="


def new_id(prefix: str) -> str:
    """Return an id such as ``chatcmpl-<hex>`` in the provider's style."""
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def snapshot_of(model: str) -> str:
    """Return the dated snapshot a provider reports for an alias (``gpt-4o`` -> ``gpt-4o-2024-08-06``)."""
    if model in _SNAPSHOTS:
        return _SNAPSHOTS[model]
    if _DATED.search(model):
        return model
    return f"{model}-2024-08-06"


@dataclass(frozen=True)
class Answer:
    """What a 200 says: text, finish reason, shape and token counts."""

    #: Why generation stopped; ``content_filter`` empties the content by default.
    finish_reason: str = "stop"
    #: Assistant text; None means null content (refusals, tool calls, filtering).
    content: str | None = _DEFAULT_TEXT
    refusal: str | None = None
    #: Number of tool calls to return (content is then null).
    tool_calls: int = 0
    #: Value of the response's ``model`` field; None echoes the request.
    model: str | None = None
    #: Report a dated snapshot of the requested model.
    snapshot: bool = False
    #: Number of choices; None follows the request's ``n``.
    n: int | None = None
    #: Number of content chunks in a stream.
    chunks: int = 5
    input_tokens: int | None = None
    output_tokens: int | None = None
    #: Embedding width; None follows the request's ``dimensions`` (else 8).
    dims: int | None = None
    #: Images: an empty ``data`` array (a soft content-filter block).
    empty_images: bool = False

    @classmethod
    def from_params(cls, params: Params) -> Answer:
        """Build an answer from an ``ok`` step's parameters.

        Raises:
            ValueError: On an unknown ``finish_reason`` or a malformed number.
        """
        finish = params.choice("finish_reason", "stop", FINISH_REASONS)
        tool_calls = params.integer("tool_calls", 0, hi=16)
        refusal = params.opt_text("refusal")
        content = params.opt_text("content")
        if content is None:
            filtered = finish == "content_filter"
            content = None if (filtered or tool_calls or refusal is not None) else _DEFAULT_TEXT
        if tool_calls and "finish_reason" not in params:
            finish = "tool_calls"
        return cls(
            finish_reason=finish,
            content=None if refusal is not None or tool_calls else content,
            refusal=refusal,
            tool_calls=tool_calls,
            model=params.opt_text("model"),
            snapshot=params.flag("snapshot"),
            n=params.integer("n", 1, lo=1, hi=16) if "n" in params else None,
            chunks=params.integer("chunks", 5, hi=10000),
            input_tokens=params.integer("input_tokens", 0) if "input_tokens" in params else None,
            output_tokens=params.integer("output_tokens", 0) if "output_tokens" in params else None,
            dims=params.integer("dims", 8, lo=1, hi=4096) if "dims" in params else None,
            empty_images=params.flag("soft") and finish == "content_filter",
        )

    def model_for(self, request: ChaosRequest) -> str:
        """The ``model`` field to report for ``request``."""
        if self.model is not None:
            return self.model
        return snapshot_of(request.model) if self.snapshot else request.model

    def choices_for(self, request: ChaosRequest) -> int:
        """The number of choices to return for ``request``."""
        if self.n is not None:
            return self.n
        requested = request.body.get("n")
        return min(max(requested, 1), 16) if isinstance(requested, int) else 1

    def prompt_tokens(self, request: ChaosRequest) -> int:
        """Input token count: the parameter, else a rough estimate from the body."""
        if self.input_tokens is not None:
            return self.input_tokens
        source = request.body.get("messages", request.body.get("input", request.body.get("prompt", "")))
        return max(1, len(json.dumps(source)) // 4)

    def completion_tokens(self) -> int:
        """Output token count: the parameter, else the number of words produced."""
        if self.output_tokens is not None:
            return self.output_tokens
        return len((self.content or self.refusal or "").split()) + 8 * self.tool_calls

    def pieces(self) -> list[str]:
        """Split the content into :attr:`chunks` stream deltas of near-equal length.

        Fewer pieces only when the text has fewer characters than ``chunks``.
        """
        text = self.content or ""
        count = min(self.chunks, len(text))
        if count <= 0:
            return []
        bounds = [len(text) * i // count for i in range(count + 1)]
        return [text[bounds[i] : bounds[i + 1]] for i in range(count)]


def chat_usage(answer: Answer, request: ChaosRequest) -> dict[str, object]:
    """Return a chat ``usage`` object (legacy completions use its first three keys)."""
    prompt = answer.prompt_tokens(request)
    completion = answer.completion_tokens()
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _tool_name(request: ChaosRequest, index: int) -> str:
    tools = request.body.get("tools")
    if isinstance(tools, list) and tools:
        tool = tools[index % len(tools)]
        if isinstance(tool, Mapping):
            function = tool.get("function", tool)
            if isinstance(function, Mapping) and isinstance(function.get("name"), str):
                return str(function["name"])
    return "get_weather"


def tool_call(request: ChaosRequest, index: int) -> dict[str, object]:
    """Return one complete chat tool call."""
    return {
        "id": f"call_{uuid.uuid4().hex[:24]}",
        "type": "function",
        "function": {"name": _tool_name(request, index), "arguments": json.dumps({"location": "Paris"})},
    }


def chat_message(answer: Answer, request: ChaosRequest) -> dict[str, object]:
    """Return the assistant ``message`` of one chat choice."""
    message: dict[str, object] = {
        "role": "assistant",
        "content": answer.content,
        "refusal": answer.refusal,
        "annotations": [],
    }
    if answer.tool_calls:
        message["tool_calls"] = [tool_call(request, i) for i in range(answer.tool_calls)]
    if answer.finish_reason == "function_call":
        message["content"] = None
        message["function_call"] = {"name": _tool_name(request, 0), "arguments": '{"location": "Paris"}'}
    return message


def chat_completion(answer: Answer, request: ChaosRequest) -> dict[str, object]:
    """Return a ``chat.completion`` object."""
    return {
        "id": new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": answer.model_for(request),
        "system_fingerprint": "fp_chaos",
        "choices": [
            {
                "index": index,
                "message": chat_message(answer, request),
                "logprobs": None,
                "finish_reason": answer.finish_reason,
            }
            for index in range(answer.choices_for(request))
        ],
        "usage": chat_usage(answer, request),
    }


def text_completion(answer: Answer, request: ChaosRequest) -> dict[str, object]:
    """Return a legacy ``text_completion`` object (``choices[].text``)."""
    usage = chat_usage(answer, request)
    return {
        "id": new_id("cmpl-"),
        "object": "text_completion",
        "created": int(time.time()),
        "model": answer.model_for(request),
        "choices": [
            {"text": answer.content or "", "index": index, "logprobs": None, "finish_reason": answer.finish_reason}
            for index in range(answer.choices_for(request))
        ],
        "usage": {key: usage[key] for key in ("prompt_tokens", "completion_tokens", "total_tokens")},
    }


def _embedding_inputs(request: ChaosRequest) -> list[str]:
    value = request.body.get("input", "")
    if isinstance(value, list) and value and not all(isinstance(item, int) for item in value):
        return [json.dumps(item) if not isinstance(item, str) else item for item in value]
    return [value if isinstance(value, str) else json.dumps(value)]


def _vector(text: str, dims: int) -> list[float]:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return [round((digest[i % len(digest)] - 128) / 128.0, 6) for i in range(dims)]


def embeddings(answer: Answer, request: ChaosRequest) -> dict[str, object]:
    """Return a ``list`` of embeddings, float or base64 as the request asks.

    The SDK asks for ``base64`` by default and decodes little-endian float32.
    """
    requested = request.body.get("dimensions")
    dims = answer.dims or (requested if isinstance(requested, int) and 0 < requested <= 4096 else 8)
    as_base64 = request.body.get("encoding_format") == "base64"
    data: list[dict[str, object]] = []
    inputs = _embedding_inputs(request)
    for index, text in enumerate(inputs):
        vector = _vector(text, dims)
        encoded: object = vector
        if as_base64:
            encoded = base64.b64encode(array.array("f", vector).tobytes()).decode("ascii")
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    prompt = answer.prompt_tokens(request)
    return {
        "object": "list",
        "data": data,
        "model": answer.model_for(request),
        "usage": {"prompt_tokens": prompt, "total_tokens": prompt},
    }


def response_status(answer: Answer) -> tuple[str, dict[str, str] | None]:
    """Return a Responses API ``status`` and ``incomplete_details`` for the answer."""
    if answer.finish_reason == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    if answer.finish_reason == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    return "completed", None


def response_output(answer: Answer, request: ChaosRequest, message_id: str) -> list[object]:
    """Return the ``output`` items of a Responses API object."""
    if answer.tool_calls:
        return [
            {
                "type": "function_call",
                "id": f"fc_{uuid.uuid4().hex[:24]}",
                "call_id": f"call_{uuid.uuid4().hex[:24]}",
                "name": _tool_name(request, index),
                "arguments": json.dumps({"location": "Paris"}),
                "status": "completed",
            }
            for index in range(answer.tool_calls)
        ]
    status, _ = response_status(answer)
    return [response_message(answer, message_id, status=status)]


def response_message(answer: Answer, message_id: str, *, status: str) -> dict[str, object]:
    """Return the assistant ``message`` output item of a Responses API object."""
    content: list[object] = []
    if answer.refusal is not None:
        content.append({"type": "refusal", "refusal": answer.refusal})
    else:
        content.append({"type": "output_text", "text": answer.content or "", "annotations": [], "logprobs": []})
    return {"type": "message", "id": message_id, "status": status, "role": "assistant", "content": content}


def response_object(
    answer: Answer,
    request: ChaosRequest,
    *,
    response_id: str | None = None,
    message_id: str | None = None,
    status: str | None = None,
    output: list[object] | None = None,
    error: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """Return a Responses API ``response`` object.

    Args:
        answer: What the model says.
        request: The request being answered.
        response_id: Keep one id across stream events.
        message_id: Keep one output item id across stream events.
        status: Override (``in_progress`` while streaming, ``failed`` on error).
        output: Override the output items (empty while streaming).
        error: The ``error`` object of a failed response.
    """
    final_status, incomplete = response_status(answer)
    message_id = message_id or new_id("msg_")
    usage = None
    if status is None or status in ("completed", "incomplete"):
        prompt = answer.prompt_tokens(request)
        completion = answer.completion_tokens()
        usage = {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + completion,
        }
    status = status or final_status
    return {
        "id": response_id or new_id("resp_"),
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "error": dict(error) if error is not None else None,
        "incomplete_details": incomplete if status == "incomplete" else None,
        "instructions": request.body.get("instructions"),
        "max_output_tokens": request.body.get("max_output_tokens"),
        "model": answer.model_for(request),
        "output": output if output is not None else response_output(answer, request, message_id),
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "user": None,
        "metadata": {},
    }


def images(answer: Answer, request: ChaosRequest) -> dict[str, object]:
    """Return an images response: ``n`` items, or none for a soft content-filter block."""
    created = int(time.time())
    if answer.empty_images:
        return {"created": created, "data": []}
    count = answer.choices_for(request)
    prompt = request.body.get("prompt")
    as_b64 = request.body.get("response_format") == "b64_json"
    data: list[dict[str, object]] = []
    for index in range(min(count, 10)):
        item: dict[str, object] = {"revised_prompt": prompt if isinstance(prompt, str) else None}
        if as_b64:
            item["b64_json"] = _PNG_1X1
        else:
            item["url"] = f"{request.origin}/_chaos/images/{uuid.uuid4().hex}-{index}.png"
        data.append(item)
    return {"created": created, "data": data}


def model_object(model: str) -> dict[str, object]:
    """Return one ``model`` object."""
    return {"id": model, "object": "model", "created": 1715367049, "owned_by": "system"}


def models_list() -> dict[str, object]:
    """Return the ``GET /v1/models`` list."""
    return {"object": "list", "data": [model_object(model) for model in MODELS]}
