"""Fallback operations: one parent span per operation, every SDK call inside it a hop.

Applications fall back in their own code (another model, another provider,
another API key, the same call again), so the SDK patches alone would show
unrelated failed and successful calls. A `FallbackScope` around that code ties
them together without changing it: every call made inside reports to it, and
the first one opens the scope's INTERNAL span ``fallback {name}`` under which
the calls nest. Call 0 is the primary; each later call is a hop whose kind is
deduced from what changed since the previous call
(`otel_aierrors._hops.hop_kind`), and whose reason is the error class of the
call it replaces. `with_fallback` / `awith_fallback` are a ready loop for
applications that have none yet.

Nothing here raises into the application: the scopes' own work runs inside
`swallow`, and the application's exceptions pass through unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, Final, TypeVar, overload

from otel_aierrors import _names as n
from otel_aierrors._call import CallRecord
from otel_aierrors._hops import HopTarget, hop_kind, is_same_model, key_digest
from otel_aierrors._recording import Attributes
from otel_aierrors._safety import swallow
from otel_aierrors._scopes import AttemptSource, ObservingScope, classify_exception
from otel_aierrors._taxonomy import RETRYABLE_CLASSES, ErrorClass

__all__ = ["FALLBACK_CLASSES", "FallbackScope", "awith_fallback", "fallback_scope", "reason_after", "with_fallback"]

T = TypeVar("T")
C = TypeVar("C")


def _hop_target(call: CallRecord) -> HopTarget:
    target = call.target
    return HopTarget(target.request_model, target.server_address, key_digest(target.secrets))


def _from_sdk(exception: BaseException) -> bool:
    """Whether the exception says something about the provider (a status, or no response)."""
    return classify_exception(exception) is not ErrorClass.UNKNOWN


#: How many exceptions (causes, contexts, group members) a scope looks through for the SDK's.
_MAX_CHAIN: Final = 16


def _exception_chain(exception: BaseException) -> frozenset[int]:
    """``id()`` of the exception and of those under it: causes, contexts and the members
    of an exception group (pydantic-ai's ``FallbackExceptionGroup``), a bounded number."""
    ids: set[int] = set()
    pending: list[BaseException] = [exception]
    while pending and len(ids) < _MAX_CHAIN:
        current = pending.pop(0)
        if id(current) in ids:
            continue
        ids.add(id(current))
        members = getattr(current, "exceptions", None)
        if isinstance(members, tuple):
            pending.extend(member for member in members if isinstance(member, BaseException))
        under = current.__cause__ or current.__context__
        if under is not None:
            pending.append(under)
    return frozenset(ids)


def reason_after(previous: CallRecord) -> str:
    """Why another call followed ``previous`` (a fallback hop's reason, an app retry's): its error
    class; ``invalid_output`` when the application rejected its answer; else ``unknown`` (a soft
    failure, or a call still running, has no class to give)."""
    if previous.error_class is not None:
        return previous.error_class.value
    if previous.rejection is not None:
        return n.SOFT_INVALID_OUTPUT
    return ErrorClass.UNKNOWN.value


class FallbackScope(ObservingScope):
    """One fallback operation: a ``fallback {name}`` span, and each SDK call inside it a hop.

    Use it as ``with`` or ``async with`` around the application's own
    fallback logic; nothing inside has to change. It never raises: when
    instrumentation is off it records nothing and the block runs as is.
    """

    def __init__(self, name: str) -> None:
        super().__init__(f"fallback {name}", {n.FALLBACK_NAME: name})
        #: The name given by the application; the span is ``fallback {name}``.
        self.name = name
        self._lock = threading.Lock()
        self._calls: list[CallRecord] = []
        self._targets: list[HopTarget] = []
        #: Calls ended so far, and the latest of them.
        self._ended_count = 0
        self._last_ended: CallRecord | None = None
        self._retry: AttemptSource | None = None

    # --- what the application may read --------------------------------------------
    @property
    def hops(self) -> int:
        """Number of instrumented calls made in the scope so far."""
        return len(self._calls)

    @property
    def ended_calls(self) -> int:
        """Number of those calls that have ended."""
        return self._ended_count

    @property
    def last_error_class(self) -> ErrorClass | None:
        """Error class of the latest call that ended, None if it did not fail."""
        last = self._last_ended
        return last.error_class if last is not None else None

    def error_class_of(self, exception: BaseException, since: int = 0) -> ErrorClass:
        """Classify an exception raised in the scope.

        The classification of the latest call whose exception it is or wraps
        (its cause or context, or a member of an exception group) wins: a framework may re-raise the first
        call's error after the last one failed, as LangChain's ``with_fallbacks``
        does, wrapped by langchain-openai (``OpenAITimeoutError``). That call
        saw the response headers and the error body. Failing that, the latest call's when it ended (after ``since``
        calls had ended) in an error and the exception comes from the SDK.
        Otherwise the exception is classified by itself (`classify_exception`).
        """
        chain = _exception_chain(exception)
        with self._lock:
            raised_by = next((c for c in reversed(self._calls) if c.exception_id in chain), None)
        if raised_by is not None and raised_by.error_class is not None:
            return raised_by.error_class
        last = self._last_ended
        if last is not None and self._ended_count > since and last.error_class is not None and _from_sdk(exception):
            return last.error_class
        return classify_exception(exception)

    def is_later_hop(self, call: CallRecord) -> bool:
        """Whether ``call`` is a hop after the primary in this scope (its span carries a kind)."""
        with self._lock:
            return any(seen is call for seen in self._calls[1:])

    # --- scope kinds ----------------------------------------------------------------
    @property
    def fallback_scope(self) -> FallbackScope | None:
        return self

    @property
    def retry_scope(self) -> AttemptSource | None:
        return self._retry

    # --- context manager --------------------------------------------------------------
    def __enter__(self) -> FallbackScope:
        with swallow("opening a fallback scope"):
            outer = self._open()
            self._retry = getattr(outer, "retry_scope", None)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with swallow("closing a fallback scope"):
            self._finish(exc)

    async def __aenter__(self) -> FallbackScope:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def _finish(self, exception: BaseException | None) -> None:
        outcome, error_class, succeeded_hop = n.OUTCOME_OK, None, None
        with swallow("concluding a fallback scope"):
            outcome, error_class, succeeded_hop = self._final(exception)
        attributes: Attributes = {n.OUTCOME: outcome, n.FALLBACK_HOPS: len(self._calls)}
        if error_class is not None:
            attributes[n.ERROR_CLASS] = error_class.value
        if succeeded_hop is not None:
            attributes[n.FALLBACK_SUCCEEDED_HOP] = succeeded_hop
        self._close(attributes, error_class)

    def _final(self, exception: BaseException | None) -> tuple[str, ErrorClass | None, int | None]:
        """(outcome, error class, succeeded hop) of the whole operation.

        A block that raised failed; otherwise the last call decides. A last
        call still open is a stream the SDK returned, which counts as ok.
        """
        if exception is not None:
            return n.OUTCOME_ERROR, self.error_class_of(exception), None
        if not self._calls:
            return n.OUTCOME_OK, None, None
        last = self._calls[-1]
        outcome = last.outcome or n.OUTCOME_OK
        if outcome == n.OUTCOME_ERROR:
            return outcome, last.error_class or ErrorClass.UNKNOWN, None
        return outcome, None, len(self._calls) - 1 if outcome == n.OUTCOME_OK else None

    # --- CallObserver -----------------------------------------------------------------
    def call_started(self, call: CallRecord) -> Attributes:
        attributes: Attributes = {}
        with swallow("recording a fallback hop"):
            attributes = self._hop(call)
            if self._retry is not None:
                attributes.update(self._retry.attempt_attributes())
        return attributes

    def call_ended(self, call: CallRecord) -> None:
        with self._lock:
            self._ended_count += 1
            self._last_ended = call

    def _hop(self, call: CallRecord) -> Attributes:
        target = _hop_target(call)
        with self._lock:
            index = len(self._calls)
            previous = self._calls[-1] if index else None
            previous_target = self._targets[-1] if index else None
            self._calls.append(call)
            self._targets.append(target)
        attributes: Attributes = {n.FALLBACK_HOP: index}
        if previous is None or previous_target is None:
            return attributes
        kind = hop_kind(previous_target, target)
        reason = reason_after(previous)
        attributes[n.FALLBACK_KIND] = kind
        attributes[n.FALLBACK_REASON] = reason
        if previous_target.model:
            attributes[n.FALLBACK_FROM_MODEL] = previous_target.model
        if target.model:
            attributes[n.FALLBACK_TO_MODEL] = target.model
        if previous_target.address:
            attributes[n.FALLBACK_FROM_PROVIDER] = previous_target.address
        if target.address:
            attributes[n.FALLBACK_TO_PROVIDER] = target.address
        telemetry = call.telemetry
        telemetry.instruments.fallback_hops.add(
            1, telemetry.hop_metric_attributes(kind, previous_target.model, target.model, reason)
        )
        return attributes


def fallback_scope(name: str) -> FallbackScope:
    """Open a fallback scope: ``with fallback_scope("answer"):`` or ``async with``.

    Args:
        name: a low-cardinality name for the operation; the span is ``fallback {name}``.

    Returns:
        The scope; its ``hops`` and ``last_error_class`` can be read inside.
    """
    return FallbackScope(name)


# --- a ready fallback loop -----------------------------------------------------------
#: Classes after which another candidate may succeed: the provider's capacity
#: or health, or the account, key, model list or permissions *of that
#: provider*. Everything else (``invalid_request``, ``content_filter``,
#: ``payload_too_large``, ``unknown``) would fail everywhere, or is the
#: application's own bug, and is re-raised at once. ``context_length`` is
#: handled apart, see `_next_candidate`. ``circuit_open`` (the application's
#: breaker around that provider refused the call) moves on like an outage.
FALLBACK_CLASSES: Final = RETRYABLE_CLASSES | frozenset(
    {
        ErrorClass.QUOTA_EXHAUSTED,
        ErrorClass.AUTH,
        ErrorClass.PERMISSION,
        ErrorClass.NOT_FOUND,
        ErrorClass.CIRCUIT_OPEN,
    }
)


def _model_of(candidate: object) -> str | None:
    if isinstance(candidate, tuple) and len(candidate) == 2 and isinstance(candidate[1], str):
        return candidate[1]
    return None


def _next_candidate(candidates: Sequence[object], index: int, error_class: ErrorClass) -> int | None:
    """The index of the candidate to try after ``index`` failed with ``error_class``, or None to stop.

    ``context_length`` moves on only to a candidate with another model (a
    larger window): the same model behind another provider or key has the
    same window. A plain callable counts as another model.
    """
    following = index + 1
    if error_class is ErrorClass.CONTEXT_LENGTH:
        failed = _model_of(candidates[index])
        while following < len(candidates) and failed is not None:
            model = _model_of(candidates[following])
            if model is None or not is_same_model(failed, model):
                break
            following += 1
    elif error_class not in FALLBACK_CLASSES:
        return None
    return following if following < len(candidates) else None


def _check_candidates(candidates: Sequence[object], request: object) -> None:
    if not candidates:
        raise ValueError("with_fallback needs at least one candidate")
    for candidate in candidates:
        if isinstance(candidate, tuple):
            if len(candidate) != 2:
                raise TypeError(f"a candidate tuple must be (client, model), got {len(candidate)} items")
            if request is None:
                raise TypeError("(client, model) candidates need a request callable: request(client, model)")
        elif not callable(candidate):
            raise TypeError(f"a candidate must be a (client, model) pair or a callable, got {type(candidate)!r}")


def _invoke(candidate: Any, request: Callable[[Any, str], Any] | None) -> Any:
    if isinstance(candidate, tuple):
        client, model = candidate
        assert request is not None  # checked by _check_candidates
        return request(client, model)
    return candidate()


@overload
def with_fallback(candidates: Sequence[Callable[[], T]], request: None = None, *, name: str = ...) -> T: ...


@overload
def with_fallback(candidates: Sequence[tuple[C, str]], request: Callable[[C, str], T], *, name: str = ...) -> T: ...


def with_fallback(
    candidates: Sequence[Any], request: Callable[[Any, str], Any] | None = None, *, name: str = "default"
) -> Any:
    """Try ``candidates`` in order inside a fallback scope; return the first success.

    Moves to the next candidate only when the error says another target may
    succeed (`FALLBACK_CLASSES`; ``context_length`` only towards another
    model), and re-raises at once otherwise. When every candidate failed, the
    last error is re-raised unchanged (the same object).

    Args:
        candidates: ``(client, model)`` pairs, or zero-argument callables, in order of preference.
        request: for pairs, ``request(client, model)`` makes the call, e.g.
            ``lambda c, m: c.chat.completions.create(model=m, messages=msgs)``.
        name: the scope's name; the span is ``fallback {name}``.

    Returns:
        What the first successful candidate returned.
    """
    _check_candidates(candidates, request)
    with FallbackScope(name) as scope:
        index = 0
        while True:
            since = scope.ended_calls
            try:
                return _invoke(candidates[index], request)
            except Exception as error:
                following = _next_candidate(candidates, index, scope.error_class_of(error, since))
                if following is None:
                    raise
                index = following


@overload
async def awith_fallback(
    candidates: Sequence[Callable[[], Awaitable[T]]], request: None = None, *, name: str = ...
) -> T: ...


@overload
async def awith_fallback(
    candidates: Sequence[tuple[C, str]], request: Callable[[C, str], Awaitable[T]], *, name: str = ...
) -> T: ...


async def awith_fallback(
    candidates: Sequence[Any], request: Callable[[Any, str], Awaitable[Any]] | None = None, *, name: str = "default"
) -> Any:
    """The async twin of `with_fallback`: ``request`` and the callables return awaitables."""
    _check_candidates(candidates, request)
    async with FallbackScope(name) as scope:
        index = 0
        while True:
            since = scope.ended_calls
            try:
                return await _invoke(candidates[index], request)
            except Exception as error:
                following = _next_candidate(candidates, index, scope.error_class_of(error, since))
                if following is None:
                    raise
                index = following
