"""Circuit-breaker libraries' wrappers: pybreaker, aiobreaker, purgatory.

None of the libraries is imported by this module, nor a dependency: the patch
table (`otel_aierrors._patches.targets.BREAKER_ROWS`) names each callable and
the factory here that builds its wrapper, and
`otel_aierrors._patches.on_import` applies the rows when (and if) the
application imports a library, and puts back what it replaced on
``uninstrument()``. Patches are on the classes, so breakers created before
``instrument()`` are seen too, and the breakers' own listener lists are left
as the application made them.

- pybreaker: ``CircuitBreaker.call`` (which the decorator and ``calling()`` go
  through) is one pass; ``CircuitBreakerState.call``, which every state but
  open runs, says that the guarded function ran; a ``CircuitBreakerError`` from
  a pass whose function never ran is a refusal. A state object built with
  ``notify=True`` is a state change. Tornado's ``call_async`` is not followed.
- aiobreaker (pybreaker's asyncio fork): the same, with ``call_async`` too.
- purgatory: ``Context.__enter__`` / ``__exit__`` (the domain object behind
  the sync and async breakers and their decorators) is one pass; an
  ``OpenedState`` raised by ``__enter__`` is a refusal; ``Context.set_state``
  is a state change.

The rows of one instrumentation share one `BreakerRecorder` (purgatory's
``__enter__`` and ``__exit__`` wrappers meet in it), made by the first row
applied. Nothing here raises into the application: each wrapper reports its
own failures and lets the breaker run as if uninstrumented.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from otel_aierrors import _names as n
from otel_aierrors._breakers import (
    BreakerProbe,
    BreakerRecorder,
    current_probe,
    enter_breaker,
    exit_breaker,
    mark_ran,
)
from otel_aierrors._safety import report_internal_error, swallow

if TYPE_CHECKING:
    from otel_aierrors._patches.targets import Wrapper
    from otel_aierrors._recording import Telemetry

__all__ = [
    "aiobreaker_call",
    "aiobreaker_call_async",
    "aiobreaker_state_call",
    "aiobreaker_state_call_async",
    "aiobreaker_state_init",
    "purgatory_enter",
    "purgatory_exit",
    "purgatory_set_state",
    "pybreaker_call",
    "pybreaker_state_call",
    "pybreaker_state_init",
]

#: The recorder of each instrumentation's telemetry, shared by its breaker rows. Held by their
#: wrappers only: once ``uninstrument()`` took them off, the recorder goes, and its entry with it
#: (a recorder holds its telemetry, so weak keys would keep both for the life of the process).
_RECORDERS: Final[weakref.WeakValueDictionary[Telemetry, BreakerRecorder]] = weakref.WeakValueDictionary()
#: Two instrumentations' hooks may run in two importing threads at once.
_RECORDERS_LOCK: Final = threading.Lock()


def _recorder(telemetry: Telemetry) -> BreakerRecorder:
    """The one `BreakerRecorder` of ``telemetry`` (its instruments created once)."""
    with _RECORDERS_LOCK:
        recorder = _RECORDERS.get(telemetry)
        if recorder is None:
            recorder = _RECORDERS[telemetry] = BreakerRecorder(telemetry, telemetry.meter)
        return recorder


# --- pybreaker, and its asyncio fork aiobreaker --------------------------------------------
# Each factory runs when its row's module has been imported: the modules it reads are in ``sys.modules``.
def pybreaker_call(telemetry: Telemetry) -> Wrapper:
    return _breaker_call(telemetry, n.BREAKER_PYBREAKER, sys.modules["pybreaker"].CircuitBreakerError, is_async=False)


def pybreaker_state_call(_telemetry: Telemetry) -> Wrapper:
    return _state_call(n.BREAKER_PYBREAKER)


def pybreaker_state_init(telemetry: Telemetry) -> Wrapper:
    return _state_init(telemetry, n.BREAKER_PYBREAKER, _pybreaker_state)


def aiobreaker_call(telemetry: Telemetry) -> Wrapper:
    refusal = sys.modules["aiobreaker.state"].CircuitBreakerError
    return _breaker_call(telemetry, n.BREAKER_AIOBREAKER, refusal, is_async=False)


def aiobreaker_call_async(telemetry: Telemetry) -> Wrapper:
    refusal = sys.modules["aiobreaker.state"].CircuitBreakerError
    return _breaker_call(telemetry, n.BREAKER_AIOBREAKER, refusal, is_async=True)


def aiobreaker_state_call(_telemetry: Telemetry) -> Wrapper:
    return _state_call(n.BREAKER_AIOBREAKER)


def aiobreaker_state_call_async(_telemetry: Telemetry) -> Wrapper:
    return _async_state_call


def aiobreaker_state_init(telemetry: Telemetry) -> Wrapper:
    return _state_init(telemetry, n.BREAKER_AIOBREAKER, _aiobreaker_state)


def _state_call(library: str) -> Wrapper:
    """The base state's ``call``, which every state but open runs: the guarded function ran."""

    def state_call(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        with swallow(f"noting a {library} call"):
            mark_ran()
        return wrapped(*args, **kw)

    return state_call


async def _async_state_call(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kw: dict[str, Any]
) -> Any:
    with swallow("noting an aiobreaker call"):
        mark_ran()
    return await wrapped(*args, **kw)


def _state_init(telemetry: Telemetry, library: str, state_name: Callable[[Any], object]) -> Wrapper:
    """A state's ``__init__``: built with ``notify=True``, it is a state change."""
    recorder = _recorder(telemetry)

    def state_init(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> None:
        wrapped(*args, **kw)
        if not telemetry.enabled:
            return
        try:
            breaker = args[0] if args else next(kw[key] for key in ("cb", "breaker") if key in kw)
            previous = args[1] if len(args) > 1 else kw.get("prev_state")
            if args[2] if len(args) > 2 else kw.get("notify", False):
                before = state_name(previous) if previous is not None else None
                recorder.transition(library, breaker.name, before, state_name(instance))
        except Exception:
            report_internal_error(f"recording a {library} state change")

    return state_init


def _breaker_call(telemetry: Telemetry, library: str, refusal: type[BaseException], *, is_async: bool) -> Wrapper:
    """``CircuitBreaker.call`` (or ``call_async``): one pass; its error before the function ran is a refusal."""
    recorder = _recorder(telemetry)

    def enter(instance: Any) -> BreakerProbe | None:
        if not telemetry.enabled:
            return None
        with swallow(f"entering a {library} breaker"):
            return enter_breaker(library, instance.name, instance)
        return None

    def refused(probe: BreakerProbe, exception: BaseException) -> None:
        if not probe.ran:
            with swallow(f"recording a call refused by {library}"):
                recorder.refused(probe.library, probe.name, exception)

    def leave(probe: BreakerProbe) -> None:
        with swallow(f"leaving a {library} breaker"):
            exit_breaker(probe)
            recorder.passed(probe)

    if is_async:

        async def breaker_call_async(
            wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kw: dict[str, Any]
        ) -> Any:
            probe = enter(instance)
            if probe is None:
                return await wrapped(*args, **kw)
            try:
                return await wrapped(*args, **kw)
            except refusal as exception:
                refused(probe, exception)
                raise
            finally:
                leave(probe)

        return breaker_call_async

    def breaker_call(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        probe = enter(instance)
        if probe is None:
            return wrapped(*args, **kw)
        try:
            return wrapped(*args, **kw)
        except refusal as exception:
            refused(probe, exception)
            raise
        finally:
            leave(probe)

    return breaker_call


def _pybreaker_state(state: Any) -> object:
    return state.name  # "closed", "open", "half-open"


def _aiobreaker_state(state: Any) -> object:
    return state.state.name  # the CircuitBreakerState member: "CLOSED", "OPEN", "HALF_OPEN"


# --- purgatory -------------------------------------------------------------------------------
def purgatory_enter(telemetry: Telemetry) -> Wrapper:
    """``Context.__enter__``: a pass begins; an ``OpenedState`` raised here is a refusal."""
    refusal = sys.modules["purgatory.domain.model"].OpenedState
    recorder = _recorder(telemetry)

    def enter(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        probe = None
        if telemetry.enabled:
            with swallow("entering a purgatory breaker"):
                probe = enter_breaker(n.BREAKER_PURGATORY, instance.name, instance)
        if probe is None:
            return wrapped(*args, **kw)
        try:
            result = wrapped(*args, **kw)
        except BaseException as exception:
            with swallow("recording a call refused by purgatory"):
                exit_breaker(probe)
                if isinstance(exception, refusal):
                    recorder.refused(probe.library, probe.name, exception)
            raise
        probe.ran = True
        return result

    return enter


def purgatory_exit(telemetry: Telemetry) -> Wrapper:
    """``Context.__exit__``: the pass `purgatory_enter` began ends."""
    recorder = _recorder(telemetry)

    def leave(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        try:
            return wrapped(*args, **kw)
        finally:
            with swallow("leaving a purgatory breaker"):
                probe = current_probe(instance)
                if probe is not None:
                    exit_breaker(probe)
                    recorder.passed(probe)

    return leave


def purgatory_set_state(telemetry: Telemetry) -> Wrapper:
    """``Context.set_state``: a state change."""
    recorder = _recorder(telemetry)

    def set_state(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        before = None
        with swallow("reading a purgatory state"):
            before = instance.state
        result = wrapped(*args, **kw)
        if telemetry.enabled:
            with swallow("recording a purgatory state change"):
                recorder.transition(n.BREAKER_PURGATORY, instance.name, before, instance.state)
        return result

    return set_state
