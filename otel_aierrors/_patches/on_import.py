"""Patch on import: each row of the patch table is applied when its module is imported.

`instrument` imports no SDK and no HTTP library. `ImportPatcher.start`
registers one post-import hook per module of the table: a module already
imported is patched at once, one imported later when it finishes importing,
in whatever thread imports it. `ImportPatcher.stop` unpatches what was
patched and turns the hooks that have not fired into no-ops.

The watching is `otel_aierrors._patches.post_import` (wrapt's design,
without importing wrapt until a hook fires: wrapt wraps the callables). A
hook cannot be unregistered, hence the ``active`` flag: a hook that fires
after `stop` does nothing, and the next `instrument` builds a new patcher
with hooks of its own. A hook holds its patcher weakly, so hooks that never
fire keep no telemetry alive.
"""

from __future__ import annotations

import importlib
import threading
import weakref
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final

from otel_aierrors._patches.post_import import HOOKS
from otel_aierrors._patches.targets import PatchTarget
from otel_aierrors._safety import report_internal_error, swallow

if TYPE_CHECKING:
    from otel_aierrors._recording import Telemetry

__all__ = ["ImportPatcher"]


class ImportPatcher:
    """Applies the patch table for one instrumentation, each module's rows when the module is imported."""

    def __init__(
        self,
        targets: Iterable[PatchTarget],
        telemetry: Telemetry | None = None,
        *,
        build: Callable[[], Telemetry | None] | None = None,
    ) -> None:
        """``telemetry``, or ``build`` to make it at the first hook (None from it: patch nothing, stop watching)."""
        self._telemetry = telemetry
        self._build = build
        self._rows: dict[str, list[PatchTarget]] = {}
        for target in targets:
            self._rows.setdefault(target.module, []).append(target)
        #: Serialises hooks (any importing thread) against `stop`; re-entrant for nested imports.
        self._lock = threading.RLock()
        self._active = False
        #: Modules whose hook ran: each module's rows are applied once.
        self._applied: set[str] = set()
        #: Modules with at least one callable wrapped now.
        self._patched: set[str] = set()
        #: Every wrap made, for `stop`: (owner, attribute, what the owner held before, what we set).
        self._wrapped: list[tuple[object, str, object, object]] = []

    def start(self) -> None:
        """Patch the modules already imported, and watch for the others; imports nothing."""
        with self._lock:
            self._active = True
        hook = _weak_hook(weakref.ref(self))
        for module in self._rows:
            # Runs the hook now when the module is already imported, else at the end of its import.
            HOOKS.register(hook, module)

    def stop(self) -> None:
        """Unpatch what was patched; hooks that have not fired yet will do nothing."""
        # Imported here: ``opentelemetry.instrumentation.utils`` is not needed to start, only to undo.
        from opentelemetry.instrumentation.utils import unwrap

        with self._lock:
            self._active = False
            self._patched.clear()
            while self._wrapped:
                owner, attribute, original, installed = self._wrapped.pop()
                with swallow("unpatching"):
                    _restore(owner, attribute, original, installed, unwrap)

    def patched_modules(self) -> frozenset[str]:
        """The modules with a callable wrapped now."""
        with self._lock:
            return frozenset(self._patched)

    def watched_modules(self) -> frozenset[str]:
        """Every module of the table (patched now, or waiting for its import)."""
        return frozenset(self._rows) if self._active else frozenset()

    def _on_import(self, module: ModuleType) -> None:
        # Runs inside the application's import statement: must never raise.
        name = getattr(module, "__name__", "")
        with swallow(f"patching {name}"):
            if getattr(getattr(module, "__spec__", None), "_initializing", False):
                # Half imported, by another thread when `start` found it in ``sys.modules``:
                # wait for the end of that import (outside the lock, which that thread's hooks take).
                # In the importing thread itself (the usual case) this returns at once.
                module = importlib.import_module(name)
            with self._lock:
                if not self._active or name in self._applied or not self._ready():
                    return
                self._applied.add(name)
                for target in self._rows.get(name, ()):
                    self._apply(module, target)

    def telemetry(self) -> Telemetry | None:
        """The telemetry, built now if no hook has built it; None once stopped or when the build declined."""
        with self._lock:
            return self._telemetry if self._active and self._ready() else None

    def built_telemetry(self) -> Telemetry | None:
        """The telemetry if a hook built it, without building it."""
        with self._lock:
            return self._telemetry

    def _ready(self) -> bool:
        """Build the telemetry if not yet (under the lock); False, and inactive, when the build declines."""
        build, self._build = self._build, None
        if build is not None:
            try:
                self._telemetry = build()
            except Exception:
                report_internal_error("building the telemetry")
                self._telemetry = None
            if self._telemetry is None:
                self._active = False
                return False
        return True

    def _apply(self, module: ModuleType, target: PatchTarget) -> None:
        import wrapt  # here, not at the top: its import is most of what ``instrument()`` would cost (issue 28)

        owner_path, _, attribute = target.attribute.rpartition(".")
        try:
            owner: Any = module
            for part in filter(None, owner_path.split(".")):
                owner = getattr(owner, part)
            if target.optional and not hasattr(owner, attribute):
                return
            original = vars(owner).get(attribute, _ABSENT)
            # None only for a patcher built without telemetry, whose rows need none (the tests' probes).
            wrapt.wrap_function_wrapper(owner, attribute, target.wrapper(self._telemetry))  # type: ignore[arg-type]
        except Exception:
            report_internal_error(f"patching {target.module}.{target.attribute}")
            return
        self._wrapped.append((owner, attribute, original, vars(owner).get(attribute)))
        self._patched.add(target.module)


#: What the owner's own namespace held when the callable was inherited (wrapt set it on the owner).
_ABSENT: Final = object()


def _restore(owner: Any, attribute: str, original: object, installed: object, unwrap: Callable[..., None]) -> None:
    """Put back exactly what ``owner`` held: a ``staticmethod`` or ``classmethod`` object as it was
    (unwrapping would leave the bare function, and the next call would get a ``self``), and no
    attribute at all where the callable was inherited. When something else has wrapped over ours
    since, only the outer layer is removed, as contrib's ``unwrap`` does."""
    if vars(owner).get(attribute) is not installed:
        unwrap(owner, attribute)
    elif original is _ABSENT:
        delattr(owner, attribute)
    else:
        setattr(owner, attribute, original)


def _weak_hook(patcher: weakref.ref[ImportPatcher]) -> Callable[[ModuleType], None]:
    """A hook that holds its patcher weakly.

    wrapt keeps a hook until its module is imported, maybe for the life of the
    process: once uninstrumented, the patcher (its telemetry, the application's
    providers) is freed all the same, and a late import finds nothing to do.
    """

    def on_import(module: ModuleType) -> None:
        live = patcher()
        if live is not None:
            live._on_import(module)

    return on_import
