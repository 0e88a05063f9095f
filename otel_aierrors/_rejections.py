"""Answers the application rejected: ``otel_aierrors.reject(result, reason=...)`` and `answer_check`.

The provider answered 200 with ``finish_reason: stop``, and the application's
own check refused the answer: the JSON does not parse, the schema does not
validate, a guard says no. By then the call has ended: its span is exported
and it was counted ``ok`` on ``aierrors.calls``. A span cannot change after
its end, and a counter cannot take back what it counted (counting the call
again as a soft failure would count it twice). So a rejection is recorded as
facts of its own, tied to the call:

- a short INTERNAL span ``invalid_output {reason}``, in the context where the
  application checked (its current span), with a link to the call span and
  ``aierrors.soft_failure`` = ``invalid_output``: the trace of the check leads
  to the answer and the request that produced it;
- a count on ``aierrors.rejections`` under the call's own attributes (model,
  provider, address), so a dashboard divides it by the calls of the same
  series;
- the call remembers it: inside a fallback scope (an application retry in
  one too), the next hop's reason is ``invalid_output``, not ``unknown``.

Which call: the last one that ended in this context (thread or asyncio task);
when ``result`` is an SDK object or a response id, only if it is that call's.
A call is rejected at most once. Nothing here raises into the application.
What is recorded is `otel_aierrors._rejection_records`'s (one per instrumentation).
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from otel_aierrors import _names as n
from otel_aierrors._call import last_ended_call
from otel_aierrors._safety import swallow

if TYPE_CHECKING:
    from otel_aierrors._call import CallRecord

__all__ = ["answer_check", "reject", "reject_call"]


def reject(result: object = None, *, reason: str = n.REJECTION_VALIDATION) -> None:
    """Say that the answer of the last instrumented call was not acceptable: a soft failure ``invalid_output``.

    Args:
        result: what the SDK returned (or its response id), to make sure it is
            the last call's answer; None (or the application's own parsed
            object) for the last call that ended in this thread or task.
        reason: why, short and from a small set: ``parse`` (not JSON),
            ``schema`` (the wrong shape), ``validation`` (the default: a
            validator said no), ``guard`` (a guardrail refused it).
    """
    with swallow("recording a rejected answer"):
        call = last_ended_call()
        if call is None or not _is_answer_of(result, call):
            return
        reject_call(call, reason)


def reject_call(call: CallRecord, reason: str) -> None:
    """Reject the answer of ``call`` itself: for a framework that knows which call gave the answer
    (its check may run in another thread or task than the call)."""
    with swallow("recording a rejected answer"):
        if call.rejection is not None or not call.telemetry.enabled:
            return
        call.rejection = reason
        call.telemetry.rejections.record(call.series.base, call.response_id, call.span.get_span_context(), reason)


def _is_answer_of(result: object, call: CallRecord) -> bool:
    """A response id, or an SDK object (it has an ``object`` type), must be the call's; anything else is."""
    if isinstance(result, str):
        return result == call.response_id
    if isinstance(getattr(result, "object", None), str) and call.response_id is not None:
        return getattr(result, "id", None) == call.response_id
    return True


class answer_check:
    """``with answer_check(result, reason="schema"): validate(result)``: an exception inside rejects the answer.

    The exception goes on unchanged; a block that ends normally rejects nothing.
    """

    __slots__ = ("_reason", "_result")

    def __init__(self, result: object = None, *, reason: str = n.REJECTION_VALIDATION) -> None:
        self._result = result
        self._reason = reason

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None and issubclass(exc_type, Exception):
            reject(self._result, reason=self._reason)
