"""What a 200 says, whatever the route: :class:`Answer` and the ``ok`` step parameters.

A 200 is not always a success: ``finish_reason`` ``length`` or
``content_filter``, empty content, a refusal, tool calls with null content and
an image response with an empty ``data`` array are all answers the
instrumentation must see. :class:`Answer` holds those choices, read from the
step's parameters (:data:`ANSWER_PARAMS`, with their docs); the route modules
(:mod:`~otel_aierrors.chaos.payloads`, :mod:`~otel_aierrors.chaos.responses`,
:mod:`~otel_aierrors.chaos.messages`) and :mod:`~otel_aierrors.chaos.streams`
render the same answer in their own shape.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from .exchange import ChaosRequest
from .script import Param, Params

__all__ = [
    "ANSWER_PARAMS",
    "FINISH_REASONS",
    "MODELS",
    "STOP_REASONS",
    "Answer",
    "new_id",
    "snapshot_of",
    "split_text",
]

#: ``finish_reason`` values an ``ok`` step may ask for.
FINISH_REASONS = frozenset({"stop", "length", "content_filter", "tool_calls", "function_call"})
#: Anthropic ``stop_reason`` values an ``ok`` step may ask for.
STOP_REASONS = frozenset({"end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal", "pause_turn"})
#: The Anthropic ``stop_reason`` that says the same as each ``finish_reason``.
_STOP_FOR_FINISH: Mapping[str, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "content_filter": "refusal",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
}

#: Step parameters read by :meth:`Answer.from_params`.
ANSWER_PARAMS: tuple[Param, ...] = (
    Param("finish_reason", "stop", "why generation stopped", "choice", FINISH_REASONS),
    Param("stop_reason", "", "Anthropic stop_reason (default: from finish_reason)", "choice", STOP_REASONS),
    Param("content", "", "assistant text (empty: empty content)", "text"),
    Param("refusal", "", "a refusal text; content becomes null", "text"),
    Param("tool_calls", "0", "number of tool calls; content becomes null", "integer"),
    Param("model", "", "the served model name (default: the requested one)", "text"),
    Param("snapshot", "0", "serve the dated snapshot of the requested model", "flag"),
    Param("random_model", "0", "serve a unique random model name of this many characters", "integer"),
    Param("random_id", "0", "use a unique random response id of this many characters", "integer"),
    Param("n", "", "number of choices (default: the request's n)", "integer"),
    Param("chunks", "5", "content deltas in a stream", "integer"),
    Param("usage_chunk", "", "send (1) or omit (0) the usage-only last chunk (default: stream_options)", "flag"),
    Param("input_tokens", "", "usage input tokens (default: estimated)", "integer"),
    Param("output_tokens", "", "usage output tokens (default: words)", "integer"),
    Param("cache_read_tokens", "0", "Anthropic usage cache_read_input_tokens", "integer"),
    Param("cache_creation_tokens", "0", "Anthropic usage cache_creation_input_tokens", "integer"),
    Param("dims", "", "embedding width (default: the request's dimensions, else 8)", "integer"),
    Param("soft", "0", "with finish_reason=content_filter: images answer an empty data array", "flag"),
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
_MAX_RANDOM = 64 * 1024 * 1024


def new_id(prefix: str) -> str:
    """Return an id such as ``chatcmpl-<hex>`` in the provider's style."""
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def _random_text(prefix: str, size: int) -> str:
    return (prefix + secrets.token_hex(size // 2 + 1))[:size]


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
    #: Anthropic's ``stop_reason``; None derives it from :attr:`finish_reason`.
    stop_reason: str | None = None
    #: Assistant text; None means null content (refusals, tool calls, filtering).
    content: str | None = _DEFAULT_TEXT
    refusal: str | None = None
    #: Number of tool calls to return (content is then null).
    tool_calls: int = 0
    #: Value of the response's ``model`` field; None echoes the request.
    model: str | None = None
    #: Report a dated snapshot of the requested model.
    snapshot: bool = False
    #: Length of a unique random served model name (0: none).
    random_model: int = 0
    #: Length of a unique random response id (0: the provider's usual id).
    random_id: int = 0
    #: Number of choices; None follows the request's ``n``.
    n: int | None = None
    #: Number of content chunks in a stream.
    chunks: int = 5
    #: Whether a stream ends with a usage-only chunk; None follows ``stream_options``.
    usage_chunk: bool | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
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
        stop = params.choice("stop_reason", "end_turn", STOP_REASONS) if "stop_reason" in params else None
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
            stop_reason=stop,
            content=None if refusal is not None or tool_calls else content,
            refusal=refusal,
            tool_calls=tool_calls,
            model=params.opt_text("model"),
            snapshot=params.flag("snapshot"),
            random_model=params.integer("random_model", 0, hi=_MAX_RANDOM),
            random_id=params.integer("random_id", 0, hi=_MAX_RANDOM),
            n=params.integer("n", 1, lo=1, hi=16) if "n" in params else None,
            chunks=params.integer("chunks", 5, hi=10000),
            usage_chunk=params.flag("usage_chunk") if "usage_chunk" in params else None,
            input_tokens=params.integer("input_tokens", 0) if "input_tokens" in params else None,
            output_tokens=params.integer("output_tokens", 0) if "output_tokens" in params else None,
            cache_read_tokens=params.integer("cache_read_tokens", 0),
            cache_creation_tokens=params.integer("cache_creation_tokens", 0),
            dims=params.integer("dims", 8, lo=1, hi=4096) if "dims" in params else None,
            empty_images=params.flag("soft") and finish == "content_filter",
        )

    def model_for(self, request: ChaosRequest) -> str:
        """The ``model`` field to report for ``request``."""
        if self.random_model:
            return _random_text("model-", self.random_model)
        if self.model is not None:
            return self.model
        return snapshot_of(request.model) if self.snapshot else request.model

    def id_for(self, prefix: str) -> str:
        """A response id with ``prefix``, random and :attr:`random_id` long when asked."""
        return _random_text(prefix, self.random_id) if self.random_id else new_id(prefix)

    def anthropic_stop_reason(self) -> str:
        """Anthropic's ``stop_reason``: the parameter, else the one matching the answer."""
        if self.stop_reason is not None:
            return self.stop_reason
        if self.refusal is not None:
            return "refusal"
        return _STOP_FOR_FINISH[self.finish_reason]

    def wants_usage_chunk(self, request: ChaosRequest) -> bool:
        """Whether a stream ends with a usage-only chunk."""
        return request.include_usage if self.usage_chunk is None else self.usage_chunk

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
        return split_text(self.content or "", self.chunks)


def split_text(text: str, chunks: int) -> list[str]:
    """Split ``text`` into ``chunks`` pieces of near-equal length (fewer for a shorter text)."""
    count = min(chunks, len(text))
    if count <= 0:
        return []
    bounds = [len(text) * i // count for i in range(count + 1)]
    return [text[bounds[i] : bounds[i + 1]] for i in range(count)]
