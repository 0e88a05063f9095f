"""Circuit-breaker libraries, patched when (and if) the application imports them: pybreaker, aiobreaker, purgatory.

Neither library is imported by this module, nor a dependency: `BreakerPatches`
registers post-import hooks, which patch a library when it is imported (at
once if it already is). Patches are on the classes, so breakers created before
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

Nothing here raises into the application: each wrapper reports its own
failures and lets the breaker run as if uninstrumented.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, Final

import wrapt
from opentelemetry.instrumentation.utils import unwrap

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

__all__ = ["BREAKER_LIBRARIES", "BreakerPatches"]

Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]

#: The libraries followed when installed (none is a dependency), as post-import hook names.
BREAKER_LIBRARIES: Final = ("pybreaker", "purgatory", "aiobreaker")


class BreakerPatches:
    """The breaker patches of one instrumentation: installed, then removed by `uninstall`.

    wrapt cannot unregister a post-import hook: a hook left by an earlier
    ``instrument()`` whose library was never imported checks `enabled` and
    does nothing.
    """

    def __init__(self, recorder: BreakerRecorder) -> None:
        self._recorder = recorder
        #: False after `uninstall`: the hooks and wrappers of this instance do nothing.
        self.enabled = False
        #: Every (owner, attribute) wrapped, for `uninstall`.
        self._wrapped: list[tuple[object, str]] = []
        self._patchers: Mapping[str, Callable[[ModuleType], None]] = {
            "pybreaker": self._patch_pybreaker,
            "purgatory": self._patch_purgatory,
            "aiobreaker": self._patch_aiobreaker,
        }

    def install(self) -> None:
        """Patch each library now if imported, else as soon as the application imports it."""
        self.enabled = True
        for library in BREAKER_LIBRARIES:
            wrapt.register_post_import_hook(self._hook(library), library)  # runs now if already imported

    def uninstall(self) -> None:
        """Restore everything `install` wrapped."""
        self.enabled = False
        while self._wrapped:
            owner, attribute = self._wrapped.pop()
            with swallow("unpatching a circuit breaker library"):
                unwrap(owner, attribute)

    # --- plumbing ---------------------------------------------------------------------
    def _hook(self, library: str) -> Callable[[ModuleType], None]:
        def patch(module: ModuleType) -> None:
            # Runs inside the application's import statement: must never raise.
            with swallow(f"patching {library}"):
                if self.enabled:
                    self._patchers[library](module)

        return patch

    def _wrap(self, owner: object, attribute: str, wrapper: Wrapper) -> None:
        wrapt.wrap_function_wrapper(owner, attribute, wrapper)
        self._wrapped.append((owner, attribute))

    # --- pybreaker, and its asyncio fork aiobreaker ----------------------------------------
    def _patch_pybreaker(self, module: ModuleType) -> None:
        self._patch_breaker_family(n.BREAKER_PYBREAKER, module, module, "CircuitBreakerState", _pybreaker_state)

    def _patch_aiobreaker(self, module: ModuleType) -> None:
        states = sys.modules["aiobreaker.state"]
        self._patch_breaker_family(n.BREAKER_AIOBREAKER, module, states, "CircuitBreakerBaseState", _aiobreaker_state)
        self._wrap(module.CircuitBreaker, "call_async", self._breaker_call(n.BREAKER_AIOBREAKER, states, is_async=True))
        self._wrap(states.CircuitBreakerBaseState, "call_async", _async_state_call)

    def _patch_breaker_family(
        self,
        library: str,
        module: ModuleType,
        states: ModuleType,
        base_state: str,
        state_name: Callable[[Any], object],
    ) -> None:
        """pybreaker's shape: ``CircuitBreaker.call``, a base state whose ``call`` runs the function, three states."""
        recorder = self._recorder

        def state_call(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
            with swallow(f"noting a {library} call"):
                mark_ran()
            return wrapped(*args, **kw)

        def state_init(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> None:
            wrapped(*args, **kw)
            if not self.enabled:
                return
            try:
                breaker = args[0] if args else next(kw[key] for key in ("cb", "breaker") if key in kw)
                previous = args[1] if len(args) > 1 else kw.get("prev_state")
                if args[2] if len(args) > 2 else kw.get("notify", False):
                    before = state_name(previous) if previous is not None else None
                    recorder.transition(library, breaker.name, before, state_name(instance))
            except Exception:
                report_internal_error(f"recording a {library} state change")

        self._wrap(module.CircuitBreaker, "call", self._breaker_call(library, states, is_async=False))
        self._wrap(getattr(states, base_state), "call", state_call)
        for state in ("CircuitClosedState", "CircuitOpenState", "CircuitHalfOpenState"):
            self._wrap(getattr(states, state), "__init__", state_init)

    def _breaker_call(self, library: str, states: ModuleType, *, is_async: bool) -> Wrapper:
        """``CircuitBreaker.call`` (or ``call_async``): one pass; its error before the function ran is a refusal."""
        refusal = states.CircuitBreakerError
        recorder = self._recorder

        def enter(instance: Any) -> BreakerProbe | None:
            if not self.enabled:
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

    # --- purgatory --------------------------------------------------------------------
    def _patch_purgatory(self, module: ModuleType) -> None:
        model = sys.modules["purgatory.domain.model"]
        refusal = model.OpenedState
        recorder = self._recorder

        def enter(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
            probe = None
            if self.enabled:
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

        def leave(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
            try:
                return wrapped(*args, **kw)
            finally:
                with swallow("leaving a purgatory breaker"):
                    probe = current_probe(instance)
                    if probe is not None:
                        exit_breaker(probe)
                        recorder.passed(probe)

        def set_state(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
            before = None
            with swallow("reading a purgatory state"):
                before = instance.state
            result = wrapped(*args, **kw)
            if self.enabled:
                with swallow("recording a purgatory state change"):
                    recorder.transition(n.BREAKER_PURGATORY, instance.name, before, instance.state)
            return result

        self._wrap(model.Context, "__enter__", enter)
        self._wrap(model.Context, "__exit__", leave)
        self._wrap(model.Context, "set_state", set_state)


def _pybreaker_state(state: Any) -> object:
    return state.name  # "closed", "open", "half-open"


def _aiobreaker_state(state: Any) -> object:
    return state.state.name  # the CircuitBreakerState member: "CLOSED", "OPEN", "HALF_OPEN"


async def _async_state_call(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kw: dict[str, Any]
) -> Any:
    with swallow("noting an aiobreaker call"):
        mark_ran()
    return await wrapped(*args, **kw)
