"""Issue 28's start-up target: ``import otel_aierrors; instrument()`` loads only what registers the hooks.

The contrib ``BaseInstrumentor`` (with ``packaging`` and ``importlib.metadata``
for its dependency check), wrapt (which imports ``asyncio``), the metric API
and the recording machinery are loaded when first used: the public names on
first access, the rest by the first hook that fires. Lists of modules, not
timings (``benchmarks/startup.py`` times it). Each test that instruments runs
a fresh interpreter, as start-up is once per process.
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
import uuid
from pathlib import Path

import pytest
import wrapt

import otel_aierrors
from otel_aierrors._patches import targets, transport
from otel_aierrors._patches.post_import import PostImportHooks
from tests.processes import run_code

ROOT = Path(__file__).resolve().parent.parent
#: Modules ``instrument()`` no longer needs, each loaded later when used.
HEAVY = (
    "opentelemetry.instrumentation.instrumentor",
    "opentelemetry.instrumentation.dependencies",
    "opentelemetry.instrumentation._semconv",
    "packaging",
    "importlib.metadata",
    "asyncio",
    "wrapt",
    "opentelemetry.metrics",
    "opentelemetry.trace",
    "opentelemetry.semconv",
    "otel_aierrors._instrumentor",
    "otel_aierrors._fallback",
    "otel_aierrors._taxonomy",
    "otel_aierrors._app_retries",
    "otel_aierrors._patches.app_retries",
    "otel_aierrors._call",
    "otel_aierrors._attempt",
    "otel_aierrors._recording",
    "otel_aierrors._headers",
    "otel_aierrors._streams",
    "otel_aierrors._names",
    "otel_aierrors._redaction",
    "otel_aierrors._patches.calls",
    "otel_aierrors._patches.transport",
    # The adapters and what they read results with: built by the first SDK's hook.
    "otel_aierrors._sdks.adapters",
    "otel_aierrors._sdks.openai",
    "otel_aierrors._sdks.anthropic",
    "otel_aierrors._results",
    "otel_aierrors._context",
    "dataclasses",
    "uuid",
)
#: What the first SDK import loads: the call boundary's wrapper and what it records with.
RECORDING = ("wrapt", "otel_aierrors._call", "otel_aierrors._attempt", "otel_aierrors._recording")


_python = run_code


def _loaded(names: tuple[str, ...]) -> str:
    """Code that prints which of ``names`` (or their submodules) are in ``sys.modules``, as JSON."""
    return f"""
        print(json.dumps(sorted(
            name for name in {list(names)!r}
            if any(loaded == name or loaded.startswith(name + ".") for loaded in sys.modules)
        )))
    """


def test_import_and_instrument_load_none_of_the_heavy_modules() -> None:
    result = _python(
        """
        import json, sys
        import otel_aierrors
        otel_aierrors.instrument()
        """
        + _loaded(HEAVY)
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_the_first_sdk_import_loads_the_recording_machinery_and_patches_the_sdk() -> None:
    result = _python(
        """
        import json, sys
        import otel_aierrors
        otel_aierrors.instrument()
        import openai
        print(sorted(otel_aierrors.AIErrorsInstrumentor().patch_status()[0]))
        """
        + _loaded(RECORDING)
    )
    assert result.returncode == 0, result.stderr
    patched, loaded = result.stdout.splitlines()
    assert "openai._base_client" in patched
    assert json.loads(loaded) == sorted(RECORDING)


def test_the_public_names_resolve_on_first_use_to_their_modules_objects() -> None:
    from otel_aierrors import AIErrorsInstrumentor, ErrorClass, FallbackScope, with_fallback

    assert AIErrorsInstrumentor is importlib.import_module("otel_aierrors._instrumentor").AIErrorsInstrumentor
    assert ErrorClass is importlib.import_module("otel_aierrors._taxonomy").ErrorClass
    assert FallbackScope is importlib.import_module("otel_aierrors._fallback").FallbackScope
    assert with_fallback is importlib.import_module("otel_aierrors._fallback").with_fallback
    assert all(hasattr(otel_aierrors, name) for name in otel_aierrors.__all__)
    assert set(otel_aierrors.__all__) <= set(dir(otel_aierrors))
    with pytest.raises(AttributeError, match="no attribute 'Missing'"):
        _ = otel_aierrors.Missing  # type: ignore[attr-defined]


def test_instrument_and_the_instrumentor_share_one_state_either_undoes_the_other() -> None:
    result = _python("""
        import logging
        import otel_aierrors
        logging.basicConfig(level=logging.WARNING, format="%(name)s %(message)s")
        otel_aierrors.instrument()
        print(otel_aierrors.AIErrorsInstrumentor().is_instrumented_by_opentelemetry)
        otel_aierrors.AIErrorsInstrumentor().instrument()  # already instrumented: warned, nothing done
        otel_aierrors.AIErrorsInstrumentor().uninstrument()
        print(otel_aierrors.AIErrorsInstrumentor().is_instrumented_by_opentelemetry)
        otel_aierrors.uninstrument()  # already uninstrumented: warned
        otel_aierrors.AIErrorsInstrumentor().instrument()
        otel_aierrors.instrument()  # already instrumented: warned
        print(otel_aierrors.AIErrorsInstrumentor().patch_status()[1] != frozenset())
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False", "True"]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("opentelemetry.instrumentation")]
    assert warnings == [
        "opentelemetry.instrumentation.instrumentor Attempting to instrument while already instrumented",
        "opentelemetry.instrumentation.instrumentor Attempting to uninstrument while already uninstrumented",
        "opentelemetry.instrumentation.instrumentor Attempting to instrument while already instrumented",
    ]


def test_without_a_supported_sdk_the_first_hook_logs_the_conflict_and_patches_nothing() -> None:
    result = _python("""
        import logging
        import otel_aierrors, otel_aierrors.package
        logging.basicConfig(level=logging.WARNING, format="%(name)s %(message)s")
        otel_aierrors.package._instruments_any = ("openai >= 999",)  # as if no supported release were installed
        otel_aierrors.instrument()
        import sys, httpx, tenacity
        print(type(httpx.Client.__dict__["send"]).__name__, otel_aierrors.AIErrorsInstrumentor().patch_status())
        print("otel_aierrors._app_retries" in sys.modules, type(vars(tenacity.Retrying)["__call__"]).__name__)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["function (frozenset(), frozenset())", "False function"]
    # BaseInstrumentor's own message, under its logger.
    assert 'opentelemetry.instrumentation.instrumentor AIErrorsInstrumentor only instruments "openai >= 999"' in (
        result.stderr
    )


def test_the_transport_rows_named_in_the_table_are_the_transport_modules_targets() -> None:
    named = [(module, attribute, getattr(transport, name)) for module, attribute, name in targets.TRANSPORT_ROWS]
    assert named == list(transport.TRANSPORT_TARGETS)


def _module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"probe_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))  # the finders this test adds go with it
    return name


def test_a_hook_runs_once_at_the_end_of_the_import_and_the_module_keeps_its_real_loader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = _module(tmp_path, monkeypatch)
    hooks = PostImportHooks()
    seen: list[tuple[str, int]] = []
    hooks.register(lambda module: seen.append(("ours", module.VALUE)), name)
    wrapt.register_post_import_hook(lambda module: seen.append(("wrapt", module.VALUE)), name)  # chains with ours
    module = importlib.import_module(name)
    importlib.reload(module)
    assert sorted(seen) == [("ours", 1), ("wrapt", 1)]
    assert type(module.__loader__).__name__ == "SourceFileLoader"
    assert module.__spec__ is not None and module.__spec__.loader is module.__loader__
    assert inspect.getsource(module) == "VALUE = 1\n"


def test_a_hook_registered_after_the_import_runs_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = _module(tmp_path, monkeypatch)
    module = importlib.import_module(name)
    seen: list[object] = []
    PostImportHooks().register(seen.append, name)
    assert seen == [module]


def test_the_breaker_rows_name_each_wrapper_factory_of_the_breaker_patches() -> None:
    from otel_aierrors._patches import breakers

    named = {factory for *_, factory in targets.BREAKER_ROWS}
    assert named == set(breakers.__all__)
    assert all(callable(getattr(breakers, factory)) for factory in named)


def test_the_app_retry_rows_name_each_wrapper_factory_of_the_app_retry_patches() -> None:
    from otel_aierrors._patches import app_retries

    named = {factory for *_, factory in targets.APP_RETRY_ROWS}
    assert named == set(app_retries.__all__)
    assert all(callable(getattr(app_retries, factory)) for factory in named)
