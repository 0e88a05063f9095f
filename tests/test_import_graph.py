"""Issue 23: the core's import graph has no circle and no import from a lower layer up.

Read from the source with `ast`, not by importing: every ``import`` of a module
of this package counts wherever it is, at module level, under
``if TYPE_CHECKING:`` or inside a function. A type-only import is a dependency
all the same (whoever reads the module must read the other one first), and a
function-level import is one deferred, not one removed.

The core is the package without its command line (``cli/``, ``__main__``) and
without the chaos server (``chaos/``): those may import the core, never the
reverse. Each core module has a layer in `LAYERS`; a module may import its own
layer or a lower one. A module added without a layer fails here until it gets
one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

PACKAGE = "otel_aierrors"
PACKAGE_DIR = Path(__file__).resolve().parent.parent / PACKAGE
ROOT = PACKAGE_DIR.parent

#: Not the core: they may import it, it never imports them.
OUTSIDE_CORE = ("otel_aierrors.cli", "otel_aierrors.chaos", "otel_aierrors.__main__")

# The layers, bottom up: a module imports only from its own layer or below.
LEAF = 0  # imports nothing of this package
HELPER = 1  # small helpers over the leaves
READER = 2  # reads what SDKs, HTTP and providers say
INSTRUMENT = 3  # metric instruments a `Telemetry` is made of
TELEMETRY = 4  # what is recorded, under which names
ATTEMPT = 5  # one HTTP attempt
CALL = 6  # one logical call, and who is told of it
AROUND = 7  # what surrounds a call: the call in progress, scopes, rejections
FEATURE = 8  # fallback, retries, streams, breakers, built on calls and scopes
PATCH = 9  # the wrappers patched onto the SDKs and HTTP clients
HOOK = 10  # the frameworks' wrappers, built on the SDK patches
SETUP = 11  # instrument() / uninstrument()
API = 12  # the public entry points

#: Every core module (by its name under ``otel_aierrors``; ``""`` is the package itself),
#: its layer and why, in one word.
LAYERS: dict[str, tuple[int, str]] = {
    "_names": (LEAF, "names"),
    "_redaction": (LEAF, "masking"),
    "_results": (LEAF, "summaries"),
    "_coexistence": (LEAF, "ownership"),
    "_sdks": (LEAF, "table"),
    "_frameworks": (LEAF, "table"),
    "_frameworks.rows": (LEAF, "table"),
    "_frameworks.instructor": (LEAF, "table"),
    "_frameworks.langchain": (LEAF, "table"),
    "_frameworks.litellm": (LEAF, "table"),
    "_frameworks.pydantic_ai": (LEAF, "table"),
    "_patches": (LEAF, "docstring"),
    "_patches.post_import": (LEAF, "hooks"),
    "version": (LEAF, "version"),
    "package": (LEAF, "metadata"),
    "_safety": (HELPER, "guards"),
    "_bounds": (HELPER, "parsing"),
    "_cardinality": (HELPER, "limits"),
    "_tally": (HELPER, "counters"),
    "_handoff": (HELPER, "finalizers"),
    "_hops": (HELPER, "comparison"),
    "_setup": (HELPER, "defaults"),
    "_target": (HELPER, "types"),
    "_headers": (READER, "headers"),
    "_provider_errors": (READER, "bodies"),
    "_taxonomy": (READER, "classification"),
    "_sdks.stainless": (READER, "shapes"),
    "_sdks.openai": (READER, "shapes"),
    "_sdks.adapters": (READER, "adapters"),
    "_genai_metrics": (INSTRUMENT, "metrics"),
    "_jobs": (INSTRUMENT, "metrics"),
    "_rejection_records": (INSTRUMENT, "metrics"),
    "_recording": (TELEMETRY, "recorder"),
    "_attempt": (ATTEMPT, "record"),
    "_call": (CALL, "record"),
    "_context": (AROUND, "contextvar"),
    "_scopes": (AROUND, "scopes"),
    "_rejections": (AROUND, "api"),
    "_fallback": (FEATURE, "scope"),
    "_app_retries": (FEATURE, "scope"),
    "_streams": (FEATURE, "streams"),
    "_breakers": (FEATURE, "breakers"),
    "_sdks.anthropic": (FEATURE, "patch"),  # its ``sdk_call_span`` wrapper reads the call in progress
    "_patches.calls": (PATCH, "wrapper"),
    "_patches.transport": (PATCH, "wrapper"),
    "_patches.breakers": (PATCH, "wrapper"),
    "_patches.app_retries": (PATCH, "wrapper"),
    "_patches.targets": (PATCH, "table"),
    "_patches.on_import": (PATCH, "hooks"),
    "_frameworks.instructor_hooks": (HOOK, "wrapper"),
    "_frameworks.langchain_hooks": (HOOK, "wrapper"),
    "_frameworks.litellm_handler": (HOOK, "wrapper"),
    "_frameworks.litellm_router": (HOOK, "wrapper"),
    "_frameworks.pydantic_ai_hooks": (HOOK, "wrapper"),
    "_frameworks.pydantic_ai_rejections": (HOOK, "wrapper"),
    "_instrumentation": (SETUP, "lifecycle"),
    "_instrumentor": (API, "contrib"),
    "": (API, "public"),
}


class Edge(NamedTuple):
    """One import of a module of this package by another, where it is written."""

    importer: str
    imported: str
    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}: {self.importer} -> {self.imported}"


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name, from its files."""
    modules = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _owning_module(name: str) -> str:
    """The module of the package ``name`` is (or lies in: ``otel_aierrors._x.Y`` is in ``otel_aierrors._x``)."""
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _imported(node: ast.Import | ast.ImportFrom, importer: str) -> Iterator[str]:
    """The modules of the package an import statement loads."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                yield _owning_module(alias.name)
        return
    base = node.module or ""
    if node.level:
        package = importer if MODULES[importer].name == "__init__.py" else importer.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    if base != PACKAGE and not base.startswith(PACKAGE + "."):
        return
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        # ``from otel_aierrors import _names as n`` imports the submodule; ``from x import Y`` the module x.
        yield submodule if submodule in MODULES else _owning_module(base)


def _edges() -> list[Edge]:
    """Every import of a module of the package, once per statement and module imported."""
    edges: dict[Edge, None] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for imported in _imported(node, module):
                    if imported != module:
                        edges[Edge(module, imported, path, node.lineno)] = None
    return list(edges)


EDGES = _edges()


def _in_core(module: str) -> bool:
    return not any(module == outside or module.startswith(outside + ".") for outside in OUTSIDE_CORE)


def _short(module: str) -> str:
    return module.removeprefix(PACKAGE).removeprefix(".")


CORE = sorted(module for module in MODULES if _in_core(module))
CORE_EDGES = [edge for edge in EDGES if _in_core(edge.importer) and _in_core(edge.imported)]


def _cycles(nodes: list[str], edges: list[Edge]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    successors: dict[str, list[str]] = {node: [] for node in nodes}
    for edge in edges:
        successors[edge.importer].append(edge.imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in successors[node]:
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in nodes:
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_read_from_every_kind_of_import() -> None:
    """The parser sees what the checks below rely on: type-only, function-level and submodule imports."""
    edges = {(edge.importer, edge.imported) for edge in EDGES}
    # ``from otel_aierrors import _names as n`` at module level: the submodule.
    assert ("otel_aierrors._call", "otel_aierrors._names") in edges
    # Under ``if TYPE_CHECKING:`` only.
    assert ("otel_aierrors._attempt", "otel_aierrors._recording") in edges
    assert ("otel_aierrors._context", "otel_aierrors._call") in edges
    # Inside a function (the CLI's deferred imports of the chaos server).
    assert any(
        edge.importer.startswith("otel_aierrors.cli") and edge.imported.startswith("otel_aierrors.chaos")
        for edge in EDGES
    )
    assert ("otel_aierrors._call", "otel_aierrors._attempt") in edges
    assert _cycles(["a", "b", "c"], [Edge("a", "b", ROOT, 1), Edge("b", "c", ROOT, 1), Edge("c", "a", ROOT, 1)]) == [
        ["a", "b", "c"]
    ]


def test_the_core_never_imports_the_command_line_or_the_chaos_server() -> None:
    wrong = [edge for edge in EDGES if _in_core(edge.importer) and not _in_core(edge.imported)]
    assert not wrong, "the core imports what is outside it:\n" + "\n".join(map(str, wrong))


def test_the_core_has_no_import_cycle() -> None:
    cycles = _cycles(CORE, CORE_EDGES)
    report = []
    for cycle in cycles:
        members = set(cycle)
        report.append("cycle: " + ", ".join(_short(module) for module in cycle))
        report.extend(f"  {edge}" for edge in CORE_EDGES if edge.importer in members and edge.imported in members)
    assert not cycles, "\n".join(report)


def test_every_core_module_has_a_layer() -> None:
    missing = [_short(module) or PACKAGE for module in CORE if _short(module) not in LAYERS]
    stale = [name for name in LAYERS if f"{PACKAGE}.{name}".rstrip(".") not in CORE]
    assert not missing, f"core modules without a layer in LAYERS (add one line each): {missing}"
    assert not stale, f"LAYERS names modules that are not in the core: {stale}"


def test_no_core_module_imports_a_higher_layer() -> None:
    upward = [
        f"{edge}  (layer {LAYERS[_short(edge.importer)][0]} imports layer {LAYERS[_short(edge.imported)][0]})"
        for edge in CORE_EDGES
        if _short(edge.importer) in LAYERS
        and _short(edge.imported) in LAYERS
        and LAYERS[_short(edge.importer)][0] < LAYERS[_short(edge.imported)][0]
    ]
    assert not upward, "imports from a lower layer up:\n" + "\n".join(upward)
