"""Non-streamed 200 bodies of the OpenAI routes: chat, completions, embeddings, images, models.

Each function renders an :class:`~otel_aierrors.chaos.answer.Answer` as the
object the openai SDK parses for that route. The Responses API lives in
:mod:`~otel_aierrors.chaos.responses`, Anthropic's Messages API in
:mod:`~otel_aierrors.chaos.messages`, the streamed forms in
:mod:`~otel_aierrors.chaos.streams`.
"""

from __future__ import annotations

import array
import base64
import hashlib
import json
import time
import uuid
from collections.abc import Mapping

from .answer import MODELS, Answer
from .exchange import ChaosRequest

__all__ = [
    "chat_completion",
    "chat_message",
    "chat_usage",
    "embeddings",
    "images",
    "model_object",
    "models_list",
    "text_completion",
    "tool_call",
    "tool_name",
]

# A 1x1 transparent PNG, for b64_json image answers.
_PNG_1X1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="


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


def tool_name(request: ChaosRequest, index: int) -> str:
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
        "function": {"name": tool_name(request, index), "arguments": json.dumps({"location": "Paris"})},
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
        message["function_call"] = {"name": tool_name(request, 0), "arguments": '{"location": "Paris"}'}
    return message


def chat_completion(answer: Answer, request: ChaosRequest) -> dict[str, object]:
    """Return a ``chat.completion`` object."""
    return {
        "id": answer.id_for("chatcmpl-"),
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
        "id": answer.id_for("cmpl-"),
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
