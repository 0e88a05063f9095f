"""The core keeps its state in the objects ``instrument()`` makes, not in module globals.

What an instrumentation owns (its telemetry, its pending SDK set-up, the hand-off of
dropped streams, its patches) lives in objects it makes and ``uninstrument()`` drops.
What is left at module level is process-wide by nature; each is listed in `PROCESS_STATE`
with why. The test reads every core module with `ast`: no function rebinds a module
global (``global``), and a module-level mutable container or lock that is not listed fails.
Read-only tables (``Final[Mapping[...]]``, ``frozenset``, a ``Final`` literal) are not state.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "otel_aierrors"
#: Not the core: never loaded by ``import otel_aierrors`` nor by ``instrument()``.
OUTSIDE_CORE = ("cli", "chaos", "__main__.py")

#: Module-level state the core keeps on purpose, by ``module.name``, and why it is per process.
PROCESS_STATE: dict[str, str] = {
    "_safety._reported": "internal errors already logged: the log is the process's, once per kind",
    "_bounds._counts": "out-of-range server values seen, for doctor: per process, from a closed key set",
    "_sdks.stainless._server_cache": "parsed base URLs by object: a pure cache, bounded",
    "_sdks.stainless._result_kinds": "result kind by type: a pure cache of a type's shape, bounded",
    "_tally._TALLIES": "a meter reports only its first observable instrument of a name: keyed weakly by meter",
    "_tally._TALLIES_LOCK": "guards `_TALLIES`",
    "_patches.breakers._RECORDERS": "the breaker recorder of each telemetry, held weakly: goes with its patches",
    "_patches.breakers._RECORDERS_LOCK": "guards `_RECORDERS`",
}

#: Constructors whose result is mutable state.
_MUTABLE_CALLS = frozenset(
    {"dict", "list", "set", "deque", "defaultdict", "OrderedDict", "Counter", "Lock", "RLock", "local"}
    | {"WeakKeyDictionary", "WeakValueDictionary", "WeakSet"}
)
#: Annotations that declare a read-only table.
_READ_ONLY = ("Mapping", "frozenset", "tuple")


def _core_modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        relative = path.relative_to(PACKAGE_DIR)
        if relative.parts[0] in OUTSIDE_CORE:
            continue
        name = ".".join(relative.with_suffix("").parts).removesuffix(".__init__").removesuffix("__init__")
        yield name, ast.parse(path.read_text(encoding="utf-8"))


def _declared(annotation: ast.expr | None) -> tuple[bool, str]:
    """(whether ``Final``, the declared type's name) of an annotation: ``Final[Mapping[...]]`` is (True, Mapping)."""
    final = False
    while isinstance(annotation, ast.Subscript) and ast.unparse(annotation.value).endswith("Final"):
        final, annotation = True, annotation.slice
    if annotation is None:
        return final, ""
    head = annotation.value if isinstance(annotation, ast.Subscript) else annotation
    name = ast.unparse(head).rsplit(".", 1)[-1]
    return (True, "") if name == "Final" else (final, name)


def _is_mutable(value: ast.expr, annotation: ast.expr | None) -> bool:
    final, declared = _declared(annotation)
    if declared in _READ_ONLY:
        return False
    if isinstance(value, ast.Call):
        return ast.unparse(value.func).rsplit(".", 1)[-1] in _MUTABLE_CALLS
    if isinstance(value, (ast.Dict, ast.List, ast.Set)):
        return not final or bool(declared)  # a bare ``Final`` literal is a table nobody writes
    return False


def _module_state(module: ast.Module) -> Iterator[str]:
    for node in module.body:
        if isinstance(node, ast.Assign):
            targets, value, annotation = node.targets, node.value, None
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value, annotation = [node.target], node.value, node.annotation
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id != "__all__" and _is_mutable(value, annotation):
                yield target.id


def test_no_function_of_the_core_rebinds_a_module_global() -> None:
    rebinding = [
        f"{name}: global {', '.join(node.names)}"
        for name, module in _core_modules()
        for node in ast.walk(module)
        if isinstance(node, ast.Global)
    ]
    assert rebinding == []


def test_module_level_mutable_state_is_only_the_listed_process_wide_state() -> None:
    found = {f"{name}.{variable}" for name, module in _core_modules() for variable in _module_state(module)}
    assert found == set(PROCESS_STATE), (sorted(found - set(PROCESS_STATE)), sorted(set(PROCESS_STATE) - found))


def test_the_scan_sees_state_it_must_see() -> None:
    """The scan itself: a module-level set, lock or annotated dict is state; a read-only table is not."""
    module = ast.parse(
        "import threading\n"
        "from typing import Final, Mapping\n"
        "_seen: set[str] = set()\n"
        "_lock = threading.Lock()\n"
        "_cache: dict[tuple[int, int], str] = {}\n"
        "_TABLE: Final[Mapping[str, int]] = {'a': 1}\n"
        "_NAMES: Final = {'a': 'b'}\n"
        "_KINDS = frozenset({'a'})\n"
        "_pending: Final[dict[str, int]] = {}\n"
    )
    assert list(_module_state(module)) == ["_seen", "_lock", "_cache", "_pending"]
