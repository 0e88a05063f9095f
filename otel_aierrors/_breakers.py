"""The application's circuit breakers: their state changes, and the calls they refuse.

A breaker that opens stops calls before they reach the provider: no HTTP
attempt, so nothing of the outage would show while the application degrades.
The patches of `otel_aierrors._patches.breakers` (pybreaker, aiobreaker, purgatory) tell a
`BreakerRecorder` what they see, and it records:

- a span event ``aierrors.breaker.state_change`` on the span current when the
  state changed: the instrumented call in progress, else the fallback or
  retry scope's span, else the application's current span;
- ``aierrors.breaker.status`` (1 for a breaker's current state, 0 for the
  state it left) and ``aierrors.breaker.transitions`` (by from and to state);
- for each call the breaker refused, a call span with outcome ``error`` and
  class ``circuit_open`` (not retryable, no attempt), so error rates, scopes
  and fallback hops see it. Its target (provider, model, address) is that of
  the last call that went through the same breaker, if any.

Breaker names are free-form: a `ValueLimiter` bounds them on metrics.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Final

from opentelemetry import trace

from otel_aierrors import _names as n
from otel_aierrors._call import CallRecord, current_observer
from otel_aierrors._cardinality import ValueLimiter
from otel_aierrors._context import CURRENT_CALL
from otel_aierrors._redaction import NO_CREDENTIALS
from otel_aierrors._scopes import ObservingScope
from otel_aierrors._target import CallTarget
from otel_aierrors._taxonomy import Classification, ErrorClass

if TYPE_CHECKING:
    from opentelemetry.metrics import Meter
    from opentelemetry.trace import Span

    from otel_aierrors._recording import Attributes, Telemetry

__all__ = [
    "MAX_BREAKERS",
    "BreakerProbe",
    "BreakerRecorder",
    "breaker_state",
    "enter_breaker",
    "exit_breaker",
    "innermost_probe",
    "mark_ran",
    "note_call_target",
]

#: Distinct breaker names on metrics (then ``_other``), and breakers whose last call target is kept.
MAX_BREAKERS: Final = 64
#: A call refused before any call went through its breaker: nothing is known of its target.
_UNKNOWN_TARGET: Final = CallTarget("unknown", "unknown", None, None, None, False)
#: The libraries' state names, onto one closed set.
_STATES: Final = {
    "closed": n.BREAKER_STATE_CLOSED,
    "open": n.BREAKER_STATE_OPEN,
    "opened": n.BREAKER_STATE_OPEN,
    "half-open": n.BREAKER_STATE_HALF_OPEN,
    "half-opened": n.BREAKER_STATE_HALF_OPEN,
    "half_open": n.BREAKER_STATE_HALF_OPEN,
}


def breaker_state(raw: object) -> str:
    """``closed``, ``open`` or ``half_open`` (pybreaker's ``half-open``, purgatory's ``opened``, aiobreaker's
    ``HALF_OPEN``...); else ``_other``."""
    return _STATES.get(raw.lower(), n.OVERFLOW_VALUE) if isinstance(raw, str) else n.OVERFLOW_VALUE


class BreakerProbe:
    """One pass through a breaker: whether the guarded code ran, and the first call made inside it."""

    __slots__ = ("library", "name", "owner", "previous", "ran", "target")

    def __init__(self, library: str, name: str, owner: object, previous: BreakerProbe | None) -> None:
        self.library = library
        self.name = name
        #: The breaker (pybreaker) or breaker context (purgatory) passed through.
        self.owner = owner
        #: The probe around this one (a breaker inside another), restored at the exit.
        self.previous = previous
        #: Whether the breaker let the guarded code run.
        self.ran = False
        #: The first instrumented call made inside, stripped of credentials and client.
        self.target: CallTarget | None = None


#: The innermost breaker being passed through in this context; None almost always.
_PROBE: contextvars.ContextVar[BreakerProbe | None] = contextvars.ContextVar(
    "otel_aierrors_breaker_probe", default=None
)


def enter_breaker(library: str, name: object, owner: object) -> BreakerProbe | None:
    """Start a pass through ``owner``; None when this context is already passing through it (re-entry)."""
    current = _PROBE.get()
    probe = current
    while probe is not None:
        if probe.owner is owner:
            return None
        probe = probe.previous
    probe = BreakerProbe(library, name if isinstance(name, str) and name else "unknown", owner, current)
    _PROBE.set(probe)
    return probe


#: The innermost pass through a breaker in this context, or None: the ContextVar's own ``get``
#: (C code), so that a call outside any breaker, the usual case, runs none of ours to find out.
innermost_probe: Final = _PROBE.get


def exit_breaker(probe: BreakerProbe) -> None:
    if _PROBE.get() is probe:
        _PROBE.set(probe.previous)


def current_probe(owner: object) -> BreakerProbe | None:
    """The pass through ``owner`` in progress in this context, if any."""
    probe = _PROBE.get()
    while probe is not None and probe.owner is not owner:
        probe = probe.previous
    return probe


def mark_ran() -> None:
    """The breaker in progress let the guarded code run."""
    probe = _PROBE.get()
    if probe is not None:
        probe.ran = True


def note_call_target(probe: BreakerProbe, target: CallTarget) -> None:
    """An instrumented call starts inside ``probe`` (`innermost_probe`): the breaker learns whom it guards."""
    if probe.target is None:
        probe.target = target._replace(credentials=NO_CREDENTIALS, http_client=None, parameters=None, stream=False)


class BreakerRecorder:
    """What breakers do, recorded: state-change events, the state gauge, transitions, refused calls."""

    def __init__(self, telemetry: Telemetry, meter: Meter) -> None:
        self._telemetry = telemetry
        self._status = meter.create_gauge(
            n.METRIC_BREAKER_STATUS,
            unit="{state}",  # not "1": the collector's Prometheus exporter would name it ..._ratio
            description="1 for a circuit breaker's current state, 0 for the state it left.",
        )
        self._transitions = meter.create_counter(
            n.METRIC_BREAKER_TRANSITIONS,
            unit="{transition}",
            description="State changes of the application's circuit breakers.",
        )
        self._limit_name = ValueLimiter(limit=MAX_BREAKERS)
        #: (library, breaker name) -> the target of the last call through it, for the calls it refuses.
        self._targets: dict[tuple[str, str], CallTarget] = {}

    def passed(self, probe: BreakerProbe) -> None:
        """A pass ended: remember whom the breaker guards (at most `MAX_BREAKERS` breakers)."""
        if probe.target is None:
            return
        key = (probe.library, probe.name)
        if key in self._targets or len(self._targets) < MAX_BREAKERS:
            self._targets[key] = probe.target

    def transition(self, library: str, name: object, from_state: object, to_state: object) -> None:
        """A breaker changed state: an event on the current span, the gauge and the counter."""
        before, after = breaker_state(from_state), breaker_state(to_state)
        label = name if isinstance(name, str) and name else "unknown"
        span = _event_span()
        if span.is_recording():
            span.add_event(
                n.EVENT_BREAKER_STATE_CHANGE,
                {
                    n.BREAKER_LIBRARY: library,
                    n.BREAKER_NAME: label,
                    n.BREAKER_FROM_STATE: before,
                    n.BREAKER_TO_STATE: after,
                },
            )
        bounded = {n.BREAKER_LIBRARY: library, n.BREAKER_NAME: self._limit_name(label)}
        self._transitions.add(1, {**bounded, n.BREAKER_FROM_STATE: before, n.BREAKER_TO_STATE: after})
        if before != after:
            self._status.set(0, {**bounded, n.BREAKER_STATE: before})
        self._status.set(1, {**bounded, n.BREAKER_STATE: after})

    def refused(self, library: str, name: str, exception: BaseException) -> None:
        """The breaker refused a call: a call span, outcome ``error``, class ``circuit_open``, no attempt."""
        target = self._targets.get((library, name), _UNKNOWN_TARGET)
        call = CallRecord(self._telemetry, target)
        extra: Attributes = {n.BREAKER_LIBRARY: library, n.BREAKER_NAME: name}
        call.fail(Classification(ErrorClass.CIRCUIT_OPEN, retryable=False), exception, extra)


def _event_span() -> Span:
    call = CURRENT_CALL.get()
    if call is not None and not call.ended and call.owns_span:
        return call.span
    observer = current_observer()
    if isinstance(observer, ObservingScope) and observer.open_span is not None:
        return observer.open_span
    return trace.get_current_span()
