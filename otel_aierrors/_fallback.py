"""Fallback operations: one parent span per operation, every SDK call inside it a hop.

Applications fall back in their own code (another model, another provider,
another API key, the same call again), so the SDK patches alone would show
unrelated failed and successful calls. A `FallbackScope` around that code ties
them together without changing it: it opens one INTERNAL span, ``fallback
{name}``, made current so that the call spans nest under it, and sets
`CALL_OBSERVER` so that every `CallRecord` created inside reports to it. Call
0 is the primary; each later call is a hop whose kind is deduced from what
changed since the previous call (`hop_kind`), and whose reason is the error
class of the call it replaces. `with_fallback` / `awith_fallback` are a ready
loop for applications that have none yet.

Gateways fall back on their own too: a response whose ``model`` is another
model than the one requested (`is_same_model`, which ignores dated snapshots)
is a ``gateway`` hop, recorded by `record_gateway_hop` from
`CallRecord._finish`, with or without a scope.

Nothing here raises into the application: the scopes' own work runs inside
`swallow`, and the application's exceptions pass through unchanged.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import os
import re
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar, overload

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from otel_aierrors import _names as n
from otel_aierrors import _recording
from otel_aierrors._recording import CALL_OBSERVER, Attributes, CallObserver, CallRecord, Telemetry, _body_of
from otel_aierrors._safety import swallow
from otel_aierrors._taxonomy import ErrorClass, classify_status, classify_transport_exception, parse_error_body

if TYPE_CHECKING:
    from opentelemetry.trace import Span

__all__ = [
    "FALLBACK_CLASSES",
    "FallbackScope",
    "HopTarget",
    "ObservingScope",
    "activate",
    "active_telemetry",
    "awith_fallback",
    "classify_exception",
    "deactivate",
    "fallback_scope",
    "hop_kind",
    "is_same_model",
    "model_family",
    "record_gateway_hop",
    "with_fallback",
]

T = TypeVar("T")
C = TypeVar("C")

# --- the instrumentation these scopes record into ------------------------------
_telemetry: Telemetry | None = None


def activate(telemetry: Telemetry) -> None:
    """Record scopes into ``telemetry``, and gateway hops of every call (called by ``instrument()``)."""
    global _telemetry
    _telemetry = telemetry
    _recording.GATEWAY_HOP_RECORDER = record_gateway_hop


def deactivate() -> None:
    """Stop recording scopes (called by ``uninstrument()``); open scopes finish normally."""
    global _telemetry
    _telemetry = None
    _recording.GATEWAY_HOP_RECORDER = None


def active_telemetry() -> Telemetry | None:
    return _telemetry


# --- models ----------------------------------------------------------------------
#: A trailing snapshot or alias marker: ``-2024-08-06``, ``-20241022``, ``-0613``,
#: ``-05-06``, ``-001``, ``-latest``, ``:latest``, ``@20240620``.
_VERSION_SUFFIX: Final = re.compile(r"(?:[-@](?:\d{4}-\d{2}-\d{2}|\d{8}|\d{2}-\d{2}|\d{4}|0\d{2})|[-:@]latest)$")

#: Providers whose ``model`` is a deployment name chosen by the user, so the
#: model that answers is expected to be named differently.
_DEPLOYMENT_NAMED_PROVIDERS: Final = frozenset({"azure.ai.openai"})


def model_family(model: str) -> str:
    """The model without a gateway prefix (``openai/``), case, or snapshot suffix.

    Providers answer an alias with a dated snapshot (``gpt-4o`` ->
    ``gpt-4o-2024-08-06``, ``claude-3-5-sonnet-latest`` ->
    ``claude-3-5-sonnet-20241022``); that is the same model, not a fallback.
    """
    name = model.strip().lower().rsplit("/", 1)[-1]
    while True:
        stripped = _VERSION_SUFFIX.sub("", name)
        if stripped == name or not stripped:
            return name
        name = stripped


@functools.lru_cache(maxsize=512)
def is_same_model(requested: str, served: str) -> bool:
    """Whether ``served`` is ``requested`` itself or one of its snapshots, not another model.

    Args:
        requested: the ``model`` of the request.
        served: the ``model`` the response says answered.

    Returns:
        True for ``gpt-4o`` / ``gpt-4o-2024-08-06`` and ``openai/gpt-4o`` /
        ``gpt-4o``; False for ``gpt-4o`` / ``gpt-4o-mini``.
    """
    # Cached: every call to OpenAI asks it (``gpt-4o`` is answered by ``gpt-4o-2024-08-06``).
    return requested == served or model_family(requested) == model_family(served)


# --- hops ------------------------------------------------------------------------
#: Mixed into key digests so that they mean nothing outside this process.
_KEY_SALT: Final = os.urandom(16)


def _key_digest(secrets: tuple[str, ...]) -> bytes | None:
    """A salted digest of the API key(s): enough to tell keys apart, never exported."""
    if not secrets:
        return None
    return hashlib.blake2b("\0".join(secrets).encode(), digest_size=16, key=_KEY_SALT).digest()


@dataclass(frozen=True, slots=True)
class HopTarget:
    """Where one call of a scope went: what `hop_kind` compares."""

    model: str | None
    address: str | None
    #: Salted digest of the API key; the key itself is never kept.
    key: bytes | None = None

    @classmethod
    def of(cls, call: CallRecord) -> HopTarget:
        target = call.target
        return cls(target.request_model, target.server_address, _key_digest(target.secrets))


def hop_kind(previous: HopTarget, current: HopTarget) -> str:
    """What changed between two consecutive calls: provider, model, key, or nothing (retry)."""
    if previous.address != current.address:
        return n.FALLBACK_KIND_PROVIDER
    if previous.model != current.model:
        return n.FALLBACK_KIND_MODEL
    if previous.key != current.key:
        return n.FALLBACK_KIND_KEY
    return n.FALLBACK_KIND_RETRY


def _hop_metric_attributes(
    telemetry: Telemetry, kind: str, from_model: str | None, to_model: str | None, reason: str
) -> Attributes:
    return {
        n.FALLBACK_KIND: kind,
        n.FALLBACK_FROM_MODEL: telemetry.limit_model(from_model or "unknown"),
        n.FALLBACK_TO_MODEL: telemetry.limit_model(to_model or "unknown"),
        n.FALLBACK_REASON: reason,
    }


def record_gateway_hop(call: CallRecord, observer: CallObserver | None, span_attributes: Attributes) -> None:
    """Count a ``gateway`` hop when another model answered than the one requested; never raises.

    The hop goes on the call span unless the call already is a hop of a
    fallback scope (its kind then says how the application got there, and
    ``gen_ai.response.model`` still shows the substitution); the metric
    counts it either way.
    """
    with swallow("recording a gateway hop"):
        requested = call.target.request_model
        served = call.response_model
        if (
            not requested
            or not served
            or call.target.provider in _DEPLOYMENT_NAMED_PROVIDERS
            or is_same_model(requested, served)
        ):
            return
        reason = ErrorClass.UNKNOWN.value
        telemetry = call.telemetry
        telemetry.instruments.fallback_hops.add(
            1, _hop_metric_attributes(telemetry, n.FALLBACK_KIND_GATEWAY, requested, served, reason)
        )
        scope = getattr(observer, "fallback_scope", None)
        if isinstance(scope, FallbackScope) and scope.is_later_hop(call):
            return
        span_attributes[n.FALLBACK_KIND] = n.FALLBACK_KIND_GATEWAY
        span_attributes[n.FALLBACK_FROM_MODEL] = requested
        span_attributes[n.FALLBACK_TO_MODEL] = served
        span_attributes[n.FALLBACK_REASON] = reason


# --- classifying what a candidate raised -------------------------------------------
def _from_sdk(exception: BaseException) -> bool:
    """Whether the exception says something about the provider (a status, or no response)."""
    if isinstance(getattr(exception, "status_code", None), int):
        return True
    return classify_transport_exception(exception).error_class is not ErrorClass.UNKNOWN


def classify_exception(exception: BaseException) -> ErrorClass:
    """The error class of an exception by itself, as the call spans would classify it.

    Exceptions that carry neither an HTTP status nor a transport failure (the
    application's own ``ValueError``, a ``TypeError`` in a lambda) are
    ``unknown``.
    """
    status = getattr(exception, "status_code", None)
    if isinstance(status, int):
        return classify_status(status, parse_error_body(_body_of(exception))).error_class
    return classify_transport_exception(exception).error_class


# --- scopes ------------------------------------------------------------------------
class _AttemptSource(Protocol):
    """An application-level retry the calls of a scope belong to (see `otel_aierrors._app_retries`)."""

    def attempt_attributes(self) -> Attributes: ...


class ObservingScope:
    """What both scope kinds share: an INTERNAL span made current, and `CALL_OBSERVER` set to the scope.

    Each scope remembers the nearest scope of the other kind around it, so a
    fallback inside a retried function (or the reverse) records both the hop
    and the application's attempt on each call, while a scope of the same kind
    nested inside owns its calls alone.
    """

    def __init__(self) -> None:
        self._span: Span | None = None
        self._context_token: contextvars.Token[otel_context.Context] | None = None
        self._observer_token: contextvars.Token[CallObserver | None] | None = None

    @property
    def fallback_scope(self) -> FallbackScope | None:
        """The fallback scope whose hops the calls made here are."""
        return None

    @property
    def retry_scope(self) -> _AttemptSource | None:
        """The application-level retry whose attempts the calls made here are."""
        return None

    def call_started(self, call: CallRecord) -> Attributes:
        return {}

    def call_ended(self, call: CallRecord) -> None:
        return None

    def _open(self, span_name: str, attributes: Attributes) -> object | None:
        """Start the span and make it current, install self as observer; return the outer observer."""
        outer = CALL_OBSERVER.get()
        telemetry = _telemetry
        if telemetry is not None:
            span = telemetry.tracer.start_span(span_name, kind=SpanKind.INTERNAL, attributes=attributes)
            self._span = span
            self._context_token = otel_context.attach(trace.set_span_in_context(span))
        self._observer_token = CALL_OBSERVER.set(self)
        return outer

    def _close(self) -> Span | None:
        """Undo `_open`; return the span, still open, for the caller to finish."""
        observer_token, self._observer_token = self._observer_token, None
        if observer_token is not None:
            with swallow("resetting the call observer"):
                CALL_OBSERVER.reset(observer_token)
        context_token, self._context_token = self._context_token, None
        if context_token is not None:
            otel_context.detach(context_token)  # logs, never raises
        span, self._span = self._span, None
        return span


class FallbackScope(ObservingScope):
    """One fallback operation: a ``fallback {name}`` span, and each SDK call inside it a hop.

    Use it as ``with`` or ``async with`` around the application's own
    fallback logic; nothing inside has to change. It never raises: when
    instrumentation is off it records nothing and the block runs as is.
    """

    def __init__(self, name: str) -> None:
        super().__init__()
        #: The name given by the application; the span is ``fallback {name}``.
        self.name = name
        self._lock = threading.Lock()
        self._calls: list[CallRecord] = []
        self._targets: list[HopTarget] = []
        #: Calls ended so far, and the latest of them.
        self._ended_count = 0
        self._last_ended: CallRecord | None = None
        self._retry: _AttemptSource | None = None

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

        The classification of the latest call wins when that call ended (after
        ``since`` calls had ended) in an error and the exception comes from the
        SDK: it saw the response headers and the error body. Otherwise the
        exception is classified by itself (`classify_exception`).
        """
        last = self._last_ended
        if last is not None and self._ended_count > since and last.error_class is not None and _from_sdk(exception):
            return last.error_class
        return classify_exception(exception)

    def is_later_hop(self, call: CallRecord) -> bool:
        """Whether ``call`` is a hop after the primary in this scope (its span carries a kind)."""
        return any(seen is call for seen in self._calls[1:])

    # --- scope kinds ----------------------------------------------------------------
    @property
    def fallback_scope(self) -> FallbackScope | None:
        return self

    @property
    def retry_scope(self) -> _AttemptSource | None:
        return self._retry

    # --- context manager --------------------------------------------------------------
    def __enter__(self) -> FallbackScope:
        with swallow("opening a fallback scope"):
            outer = self._open(f"fallback {self.name}", {n.FALLBACK_NAME: self.name})
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
        span = self._close()
        if span is None:
            return
        try:
            outcome, error_class, succeeded_hop = self._final(exception)
            attributes: Attributes = {n.OUTCOME: outcome, n.FALLBACK_HOPS: len(self._calls)}
            if error_class is not None:
                attributes[n.ERROR_CLASS] = error_class.value
                span.set_status(Status(StatusCode.ERROR, error_class.value))
            if succeeded_hop is not None:
                attributes[n.FALLBACK_SUCCEEDED_HOP] = succeeded_hop
            span.set_attributes(attributes)
        finally:
            span.end()

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
        target = HopTarget.of(call)
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
        # A previous call that did not fail (a soft failure, an answer the
        # application rejected, one still running) has no class to give.
        reason = (previous.error_class or ErrorClass.UNKNOWN).value
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
            1, _hop_metric_attributes(telemetry, kind, previous_target.model, target.model, reason)
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
#: handled apart, see `_next_candidate`.
FALLBACK_CLASSES: Final = frozenset(
    {
        ErrorClass.RATE_LIMIT,
        ErrorClass.OVERLOADED,
        ErrorClass.UPSTREAM_ERROR,
        ErrorClass.SERVER_ERROR,
        ErrorClass.TIMEOUT,
        ErrorClass.CONNECTION,
        ErrorClass.CONFLICT,
        ErrorClass.STREAM_INTERRUPTED,
        ErrorClass.QUOTA_EXHAUSTED,
        ErrorClass.AUTH,
        ErrorClass.PERMISSION,
        ErrorClass.NOT_FOUND,
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
