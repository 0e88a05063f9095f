"""Post-import hooks: call a function when a module finishes importing, or now if it has.

Written by hand rather than through ``wrapt.register_post_import_hook``
because importing wrapt imports ``asyncio``, ``inspect`` and
``importlib.metadata`` (35-80 ms on a loaded 2-core machine), most of the
50 ms ``import otel_aierrors; instrument()`` may cost (issue 28); wrapt is
imported when a hook fires, to wrap. The design is wrapt's own: a finder
first on ``sys.meta_path`` that, for a watched module only, asks the import
system for the real spec and chains its loader, so that the hooks run at the
end of ``exec_module``, inside the importing thread's import. The module's
``__loader__`` and ``__spec__.loader`` are set back to the real loader before
it runs, so nothing the application can see changes. It chains with wrapt's
finder (the OpenTelemetry instrumentations') whichever comes first.

A hook runs exactly once: it is taken out of the table, under the lock, by
whoever runs it (the registration when the module is already imported, or the
end of its import). Hooks run outside the lock and must not raise.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import threading
from collections.abc import Callable
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from importlib.abc import Loader
else:
    Loader = object  # importlib.abc imports importlib.resources: 7 ms, for a base class that adds nothing

__all__ = ["HOOKS", "Hook", "PostImportHooks"]

Hook = Callable[[ModuleType], None]


class PostImportHooks:
    """The hooks waiting for their module's import, and the finder that runs them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, list[Hook]] = {}
        #: (thread, module) whose spec this finder is looking up: the second time through, step aside.
        self._in_progress: set[tuple[int, str]] = set()
        self._installed = False

    def register(self, hook: Hook, name: str) -> None:
        """Run ``hook(module)`` when ``name`` finishes importing; now (in this thread) if it has."""
        with self._lock:
            if not self._installed:
                self._installed = True
                sys.meta_path.insert(0, _Finder(self))
            self._waiting.setdefault(name, []).append(hook)
            module = sys.modules.get(name)
            if module is not None:
                self._waiting[name].remove(hook)
                if not self._waiting[name]:
                    del self._waiting[name]
        if module is not None:
            hook(module)

    def waiting(self, name: str) -> bool:
        return name in self._waiting

    def notify(self, module: ModuleType) -> None:
        """Run, once, the hooks waiting for ``module`` (the end of its import)."""
        with self._lock:
            hooks = self._waiting.pop(getattr(module, "__name__", ""), [])
        for hook in hooks:
            hook(module)

    def find_spec(self, name: str) -> ModuleSpec | None:
        key = (threading.get_ident(), name)
        with self._lock:
            if name not in self._waiting or key in self._in_progress:
                return None
            self._in_progress.add(key)
        try:
            spec = importlib.util.find_spec(name)  # the real spec, from the finders after this one
        finally:
            with self._lock:
                self._in_progress.discard(key)
        loader = getattr(spec, "loader", None)
        if spec is not None and loader is not None and hasattr(loader, "exec_module"):
            spec.loader = _ChainedLoader(loader, self)
        return spec


class _Finder:
    """The ``sys.meta_path`` entry: a spec with a chained loader for a watched module, None for any other."""

    def __init__(self, hooks: PostImportHooks) -> None:
        self._hooks = hooks

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> ModuleSpec | None:
        if not self._hooks.waiting(fullname):  # the path of every other import: one dict lookup
            return None
        return self._hooks.find_spec(fullname)


class _ChainedLoader(Loader):
    """The real loader, then the hooks."""

    def __init__(self, loader: Any, hooks: PostImportHooks) -> None:
        self.loader = loader
        self._hooks = hooks

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        create = getattr(self.loader, "create_module", None)
        return None if create is None else create(spec)

    def exec_module(self, module: ModuleType) -> None:
        # The module shows its real loader, as if imported without hooks.
        if getattr(module, "__loader__", None) in (None, self):
            with contextlib.suppress(AttributeError):  # a module type without the attribute
                module.__loader__ = self.loader
        spec = getattr(module, "__spec__", None)
        if spec is not None and getattr(spec, "loader", None) is self:
            spec.loader = self.loader
        self.loader.exec_module(module)
        self._hooks.notify(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)


#: The hooks of the process: one finder on ``sys.meta_path``, as wrapt keeps one.
HOOKS: Final = PostImportHooks()
