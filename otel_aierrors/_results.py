"""What a successful HTTP exchange actually delivered: finish reasons, usage, soft failures.

A 200 is not always a success. A completion cut at ``max_tokens``, blocked by a
content filter, refused, or empty is a *soft failure*: the API worked, the
application did not get what it asked for. This module holds the SDK-neutral
summary of a response (or of a whole stream) and the rules that turn it into
an outcome; the SDK patches fill it in from the SDK's own objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "FINISH_REASON_ERROR",
    "SOFT_FAILURE_KINDS",
    "ResponseSummary",
    "StreamSummary",
]

SOFT_TRUNCATED: Final = "truncated"
SOFT_CONTENT_FILTER: Final = "content_filter"
SOFT_EMPTY: Final = "empty"
SOFT_REFUSAL: Final = "refusal"
SOFT_FAILURE_KINDS: Final = frozenset({SOFT_TRUNCATED, SOFT_CONTENT_FILTER, SOFT_EMPTY, SOFT_REFUSAL})

#: The finish reasons of the contract; a provider's own values pass through a
#: cardinality limit on metrics.
KNOWN_FINISH_REASONS: Final = frozenset({"stop", "length", "content_filter", "tool_calls", "function_call", "error"})
#: The finish reason the GenAI conventions give a response that ended in an error.
FINISH_REASON_ERROR: Final = "error"


@dataclass(slots=True)
class ResponseSummary:
    """The parts of a response the telemetry needs; never any content."""

    response_id: str | None = None
    response_model: str | None = None
    #: One per choice, in choice order.
    finish_reasons: tuple[str, ...] = ()
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_creation_tokens: int | None = None
    reasoning_tokens: int | None = None
    #: OpenAI's ``system_fingerprint`` and ``service_tier``, when the response has them.
    system_fingerprint: str | None = None
    service_tier: str | None = None
    #: The soft-failure kind, or None when the response is what was asked for.
    soft_failure: str | None = None
    #: A hard failure reported inside a 200 (a Responses API ``failed`` status, a
    #: stream ``error`` event that the SDK does not raise): the provider's code.
    failure_code: str | None = None
    failed: bool = False
    #: A job that ends later (``response`` in the background, ``video``, ``batch``): its kind,
    #: id and status as this response says; its failed requests (a batch).
    job_kind: str | None = None
    job_id: str | None = None
    job_status: str | None = None
    job_failed_requests: int | None = None


@dataclass(slots=True)
class StreamSummary:
    """Accumulates, chunk by chunk, what a `ResponseSummary` says for a whole response.

    Kept deliberately small: the per-chunk work is a few attribute reads.
    """

    response_id: str | None = None
    response_model: str | None = None
    finish_reasons: dict[int, str] = field(default_factory=dict)
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_creation_tokens: int | None = None
    reasoning_tokens: int | None = None
    chunks: int = 0
    #: Choice indexes seen in chat / completions chunks.
    choice_indexes: set[int] = field(default_factory=set)
    #: The stream's own end marker arrived (Responses ``response.completed``, Anthropic ``message_stop``).
    terminal: bool = False
    saw_content: bool = False
    saw_tool_call: bool = False
    saw_refusal: bool = False
    #: Set by streams whose terminal event carries its own verdict (Responses API).
    soft_failure: str | None = None
    failed: bool = False
    failure_code: str | None = None

    def is_complete(self) -> bool:
        """Whether the stream said it was over: an end event, or a finish reason on every choice.

        A stream that stops without either was cut by a proxy or gateway
        closing the connection, although the SDK raises nothing.
        """
        if self.terminal:
            return True
        return bool(self.choice_indexes) and self.choice_indexes <= self.finish_reasons.keys()

    def interrupted_reasons(self) -> tuple[str, ...]:
        """The finish reasons of a cut stream: each unfinished choice says ``error``."""
        indexes = sorted(self.choice_indexes | self.finish_reasons.keys()) or [0]
        return tuple(self.finish_reasons.get(index, FINISH_REASON_ERROR) for index in indexes)

    def to_summary(self) -> ResponseSummary:
        reasons = tuple(self.finish_reasons[index] for index in sorted(self.finish_reasons))
        soft = self.soft_failure or soft_failure_of(
            reasons[0] if reasons else None,
            has_content=self.saw_content,
            has_tool_call=self.saw_tool_call,
            has_refusal=self.saw_refusal,
        )
        return ResponseSummary(
            response_id=self.response_id,
            response_model=self.response_model,
            finish_reasons=reasons,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cache_read_tokens=self.cache_read_tokens,
            cache_creation_tokens=self.cache_creation_tokens,
            reasoning_tokens=self.reasoning_tokens,
            soft_failure=None if self.failed else soft,
            failure_code=self.failure_code,
            failed=self.failed,
        )


def soft_failure_of(
    finish_reason: str | None, *, has_content: bool, has_tool_call: bool, has_refusal: bool
) -> str | None:
    """The soft-failure kind of the first choice, or None for a real success.

    ``tool_calls`` with null content is a success by design; ``stop`` with no
    content, no tool call and no refusal is an empty answer.
    """
    if finish_reason == "length":
        return SOFT_TRUNCATED
    if finish_reason == "content_filter":
        return SOFT_CONTENT_FILTER
    if has_refusal:
        return SOFT_REFUSAL
    if finish_reason in ("tool_calls", "function_call") or has_tool_call:
        return None
    if finish_reason == "stop" and not has_content:
        return SOFT_EMPTY
    return None
