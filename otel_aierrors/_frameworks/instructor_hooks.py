"""Instructor's re-asks as one application retry (`otel_aierrors._frameworks.instructor` names the rows).

``client.chat.completions.create(response_model=City, max_retries=N)`` makes
one SDK call, validates the answer against ``City`` and, when that fails,
asks again with the validation error appended, up to N more times, in
instructor's own tenacity loop (the iterator form, ``for attempt in
Retrying(...)``, which the tenacity patch of `otel_aierrors._patches.app_retries`
does not link: no second scope). The wrapper around ``retry_sync_v2`` /
``retry_async_v2`` makes the whole ``create`` one `InstructorScope`, an
`AppRetryScope` with library ``instructor``:

- each SDK call instructor makes is attempt k (``aierrors.app_retry.attempt``),
  counted by wrapping the ``func`` instructor calls once per attempt;
- when instructor asks again, the answer before was rejected: it is recorded
  on the call that gave it (the last call that ended in the scope since that
  attempt began: a streamed answer's call ends as instructor reads it) (`reject_call`, reason ``validation``, the
  rejection span under the retry span), so the next attempt's
  ``aierrors.app_retry.reason`` (and, in a fallback scope, the hop's reason)
  is ``invalid_output``;
- when the re-asks run out (instructor raises ``InstructorRetryException``,
  or a token budget error, whose last failed attempt is the last answer),
  that answer is rejected too and the retry span's error is
  ``invalid_output`` (with ``aierrors.soft_failure`` = ``invalid_output``);
  an SDK error instructor wrapped in ``InstructorRetryException`` gives the
  span the SDK error's class.

Calls without a ``response_model`` (instructor calls the SDK once, no
validation) get no scope. The exceptions and return values are instructor's
own, unchanged.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from opentelemetry import trace

from otel_aierrors import _names as n
from otel_aierrors._app_retries import AppRetryScope, function_name
from otel_aierrors._call import CallRecord
from otel_aierrors._patches import Wrapper
from otel_aierrors._rejections import reject_call
from otel_aierrors._safety import report_internal_error, swallow
from otel_aierrors._scopes import classify_exception
from otel_aierrors._taxonomy import ErrorClass

if TYPE_CHECKING:
    from otel_aierrors._recording import Telemetry

__all__ = ["InstructorScope", "retry_async", "retry_sync"]


class InstructorScope(AppRetryScope):
    """One ``create`` with a ``response_model``: its SDK calls are the attempts, its re-asks rejections."""

    def __init__(self, function: str) -> None:
        super().__init__(n.APP_RETRY_INSTRUCTOR, function)
        #: Attempts started so far (instructor's ``func`` calls).
        self.attempt = 0
        #: What the last attempt's ``func`` returned (None: it raised, or is running), until instructor judges it.
        self._answer: object = None
        #: The last call that had ended when that attempt started.
        self._ended_before: CallRecord | None = None

    def attempt_number(self) -> int:
        return max(self.attempt, 1)

    def attempt_started(self) -> None:
        """Instructor calls the SDK again: the answer before was rejected."""
        with swallow("recording an instructor re-ask"):
            self._reject_answer()
            self._ended_before = self._last_call
            self.attempt += 1

    def attempt_answered(self, answer: object) -> None:
        """The attempt's ``func`` returned ``answer`` (a stream ends later, as instructor reads it)."""
        self._answer = answer

    def _reject_answer(self) -> None:
        """Reject the call of the last attempt, if it returned an answer (its call ended by now)."""
        answer, self._answer = self._answer, None
        call = self._last_call
        if answer is None or call is None or call is self._ended_before:
            return
        span = self.open_span
        if span is None:
            reject_call(call, n.REJECTION_VALIDATION)
            return
        with trace.use_span(span, end_on_exit=False):
            reject_call(call, n.REJECTION_VALIDATION)

    def failure(self, exception: BaseException) -> ErrorClass | str:
        answer = self._answer
        if answer is not None and _last_failed_completion(exception) is answer:
            self._reject_answer()
            return n.SOFT_INVALID_OUTPUT
        error_class = classify_exception(exception)
        cause = exception.__cause__
        if error_class is ErrorClass.UNKNOWN and cause is not None:
            # InstructorRetryException around the SDK's own error: the SDK error says what failed.
            return classify_exception(cause)
        return error_class


def _last_failed_completion(exception: BaseException) -> object:
    """The answer of instructor's last failed attempt (``failed_attempts[-1].completion``), or None."""
    failed = getattr(exception, "failed_attempts", None)
    if isinstance(failed, list) and failed:
        return getattr(failed[-1], "completion", None)
    return None


def _start(
    telemetry: Telemetry, args: tuple[Any, ...], kwargs: dict[str, Any], is_async: bool
) -> tuple[InstructorScope, tuple[Any, ...], dict[str, Any]] | None:
    """The scope of one ``retry_*_v2`` run and its arguments with ``func`` counting attempts; None: run as is."""
    if not telemetry.enabled:
        return None
    try:
        if "func" in kwargs:
            func = kwargs["func"]
        elif args:
            func = args[0]
        else:
            return None
        response_model = kwargs["response_model"] if "response_model" in kwargs else args[1] if len(args) > 1 else None
        if response_model is None or not callable(func):
            return None
        scope = InstructorScope(function_name(func))
        counted = _counted_async(func, scope) if is_async else _counted(func, scope)
        if "func" in kwargs:
            return scope, args, {**kwargs, "func": counted}
        return scope, (counted, *args[1:]), kwargs
    except Exception:
        report_internal_error("starting an instructor retry span")
        return None


def _counted(func: Callable[..., Any], scope: InstructorScope) -> Callable[..., Any]:
    @functools.wraps(func)
    def attempt(*args: Any, **kwargs: Any) -> Any:
        scope.attempt_started()
        answer = func(*args, **kwargs)
        scope.attempt_answered(answer)
        return answer

    return attempt


def _counted_async(func: Callable[..., Any], scope: InstructorScope) -> Callable[..., Any]:
    @functools.wraps(func)
    async def attempt(*args: Any, **kwargs: Any) -> Any:
        scope.attempt_started()
        answer = await func(*args, **kwargs)
        scope.attempt_answered(answer)
        return answer

    return attempt


def retry_sync(telemetry: Telemetry) -> Wrapper:
    """The wrapper of ``retry_sync_v2``: one `InstructorScope` around instructor's loop."""

    def traced_retry_sync(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        started = _start(telemetry, args, kwargs, is_async=False)
        if started is None:
            return wrapped(*args, **kwargs)
        scope, args, kwargs = started
        with scope:
            return wrapped(*args, **kwargs)

    return traced_retry_sync


def retry_async(telemetry: Telemetry) -> Wrapper:
    """The wrapper of ``retry_async_v2``: one `InstructorScope` around instructor's loop."""

    async def traced_retry_async(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        started = _start(telemetry, args, kwargs, is_async=True)
        if started is None:
            return await wrapped(*args, **kwargs)
        scope, args, kwargs = started
        async with scope:
            return await wrapped(*args, **kwargs)

    return traced_retry_async
