"""Row *Circuit breakers*: the application's breakers (pybreaker, aiobreaker, purgatory): states, changes, refusals."""

from __future__ import annotations

from .. import config as c
from .links import call_links, label, trace_links
from .panels import Links, Query, timeseries_panel
from .rows import Row
from .selectors import BY, RATE, WHERE, sel

__all__ = ["breakers_row"]

BREAKER_BY = ", ".join(c.BREAKER_LABELS)
#: Breakers carry no call attributes: only the service filter applies to them.
BREAKERS = '{job=~"$job"}'
BREAKER = "{{aierrors_breaker_name}} ({{aierrors_breaker_library}}) · {{job}}"
REFUSED = sel('aierrors_error_class="circuit_open"')


def _breaker_links() -> Links:
    """The calls a breaker refused: call spans tagged with its name."""
    return trace_links(
        label("job"),
        {"aierrors.breaker.name": label("aierrors_breaker_name"), "aierrors.error.class": "circuit_open"},
    )


def breakers_row() -> Row:
    return Row(
        "Circuit breakers",
        [
            timeseries_panel(
                "Breakers not closed",
                "The application's circuit breakers (pybreaker, aiobreaker, purgatory) by state, 1 while in it: open "
                "(calls refused), half_open (a trial call allowed). A breaker shows up at its first change. "
                f"AIErrorsCircuitBreakerOpen fires when one is not closed for {c.THRESHOLDS.breaker_open_for}.",
                "short",
                [
                    Query(
                        f"max by ({BREAKER_BY}, aierrors_breaker_state) "
                        f'({c.BREAKER_STATUS}{{job=~"$job", aierrors_breaker_state!="closed"}}) > 0',
                        "{{aierrors_breaker_state}} · " + BREAKER,
                    )
                ],
                _breaker_links(),
                min_value=0,
            ),
            timeseries_panel(
                "Breaker transitions (from → to)",
                "State changes per second of the application's circuit breakers: closed → open when the "
                "failures reach the threshold, open → half_open after the timeout, then closed or open again. "
                "A breaker flapping between open and half_open is a provider that keeps failing.",
                "cps",
                [
                    Query(
                        f"sum by ({BREAKER_BY}, aierrors_breaker_from_state, aierrors_breaker_to_state) "
                        f"(rate({c.BREAKER_TRANSITIONS}{BREAKERS}[{RATE}]))",
                        "{{aierrors_breaker_from_state}} → {{aierrors_breaker_to_state}} · " + BREAKER,
                    )
                ],
                _breaker_links(),
            ),
            timeseries_panel(
                "Calls refused by a breaker",
                'Calls per second that an open breaker refused before anything was sent (aierrors_error_class="'
                'circuit_open"), on the target of the last call through the breaker: they count as errors.',
                "reqps",
                [Query(f"sum by ({BY}) (rate({c.CALLS}{REFUSED}[{RATE}]))", WHERE)],
                call_links(aierrors__error__class="circuit_open"),
            ),
        ],
    )
