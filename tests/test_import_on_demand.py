"""Costs nothing until used: ``import otel_aierrors`` and ``instrument()`` import no SDK.

Each SDK, and ``httpx`` / ``httpx2``, is patched when the application
imports it (or at once if it already has), in whichever thread imports it,
exactly once; ``uninstrument()`` unpatches it and disarms the hooks that have
not fired. Every test runs a fresh interpreter: an SDK is imported once per
process.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import json
import os
import sys
import textwrap
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from otel_aierrors._patches.on_import import ImportPatcher
from otel_aierrors._patches.targets import PatchTarget
from otel_aierrors.chaos import ChaosServer
from tests.conftest import HTTP
from tests.processes import run_code

ROOT = Path(__file__).resolve().parent.parent
#: Top-level modules of the SDKs instrumented and of their HTTP libraries.
SDK_PACKAGES = frozenset({"openai", "anthropic", "groq", "together", "cerebras", "fireworks", "httpx", "httpx2"})
#: Parts of this package an application does not need at start-up.
TOOLING = ("otel_aierrors.cli", "otel_aierrors.chaos")


_python = run_code


def _unwanted(modules: list[str]) -> list[str]:
    return sorted(
        name
        for name in modules
        if name.split(".")[0] in SDK_PACKAGES
        or name.startswith(TOOLING)
        or name == "opentelemetry.sdk"
        or name.startswith("opentelemetry.sdk.")
    )


def test_import_and_instrument_load_no_sdk_module() -> None:
    result = _python("import otel_aierrors; otel_aierrors.instrument()", "-X", "importtime")
    assert result.returncode == 0, result.stderr
    # ``-X importtime`` lines: "import time: self [us] | cumulative | imported package".
    imported = [
        line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")
    ]
    assert "otel_aierrors" in imported
    assert _unwanted(imported) == []


def test_an_sdk_imported_later_is_patched_when_its_import_ends(chaos: ChaosServer) -> None:
    result = _python(f"""
        import sys
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        import otel_aierrors

        spans = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(spans))
        otel_aierrors.instrument(tracer_provider=provider)
        assert "openai" not in sys.modules  # what instructor's tests/test_import_lazy_openai.py checks

        import openai

        client = openai.OpenAI(base_url="{chaos.base_url}", api_key="sk-test", max_retries=2)
        client.chat.completions.create(model="gpt-4o", messages=[{{"role": "user", "content": "hi"}}],
                                       extra_headers={{"x-chaos-script": "rate_limit;retry_after_ms=1,ok"}})
        print(sorted(span.name for span in spans.get_finished_spans()))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['POST chat', 'POST chat', 'chat gpt-4o']"


def test_a_module_imported_in_another_thread_is_patched_exactly_once() -> None:
    result = _python("""
        import threading, types
        import otel_aierrors

        otel_aierrors.instrument()
        threads = [threading.Thread(target=__import__, args=("openai",)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        import openai
        request = openai._base_client.SyncAPIClient.__dict__["request"]
        http = getattr(openai._base_client, "httpx2", None) or openai._base_client.httpx  # 3.x, or 1.x/2.x
        send = http.Client.__dict__["send"]
        # One wrapper around the SDK's own function: patched once, not once per importing thread.
        print(type(request.__wrapped__) is types.FunctionType, type(send.__wrapped__) is types.FunctionType)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]


@pytest.mark.skipif(
    importlib.util.find_spec("anthropic") is None, reason="a second SDK: anthropic, installed beside openai 3.x"
)
def test_uninstrument_disarms_the_hooks_that_have_not_fired_and_instrument_rearms_them() -> None:
    result = _python("""
        import sys, types
        import otel_aierrors

        otel_aierrors.instrument()
        otel_aierrors.uninstrument()
        import openai  # the first instrumentation's hook fires now, and must do nothing
        print(type(openai._base_client.SyncAPIClient.__dict__["request"]) is types.FunctionType)
        otel_aierrors.instrument()  # already imported: patched at once
        request = openai._base_client.SyncAPIClient.__dict__["request"]
        print(type(request.__wrapped__) is types.FunctionType)
        import anthropic  # hooks of the first instrumentation and of the second: patched once
        print(type(anthropic._base_client.SyncAPIClient.__dict__["request"].__wrapped__) is types.FunctionType)
        otel_aierrors.uninstrument()
        print(type(openai._base_client.SyncAPIClient.__dict__["request"]) is types.FunctionType,
              type(anthropic._base_client.SyncAPIClient.__dict__["request"]) is types.FunctionType)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "True", "True"]


def test_opentelemetry_instrument_imports_no_sdk_at_start_up() -> None:
    launcher = os.path.join(os.path.dirname(sys.executable), "opentelemetry-instrument")
    result = _python(
        """
        import json, sys
        from otel_aierrors import AIErrorsInstrumentor
        print(json.dumps(sorted(sys.modules)))
        print(AIErrorsInstrumentor().is_instrumented_by_opentelemetry)
        import openai
        print(sorted(AIErrorsInstrumentor().patch_status()[0]))
        """,
        launcher=launcher,
        extra_env={"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"},
    )
    assert result.returncode == 0, result.stderr
    modules, instrumented, patched = result.stdout.splitlines()
    assert [name for name in _unwanted(json.loads(modules)) if not name.startswith("opentelemetry.sdk")] == []
    assert instrumented == "True"
    assert patched == str(sorted([HTTP.__name__, "openai._base_client"]))


# --- the patcher on modules of its own, in this process --------------------------------------
def _module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> str:
    """Write a module with a unique name under ``tmp_path``, importable until the test ends."""
    name = f"aierrors_probe_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)  # removed again when the test ends
    return name


def _marking(tag: str) -> Callable[[Any], Any]:
    """A row's wrapper builder: the wrapper returns ``(tag, result)``."""

    def build(_telemetry: Any) -> Any:
        def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            return tag, wrapped(*args, **kwargs)

        return wrapper

    return build


def test_a_module_half_imported_by_another_thread_is_patched_when_that_import_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = _module(
        tmp_path,
        monkeypatch,
        """
        import time
        time.sleep(0.5)  # instrument() runs meanwhile, in another thread

        class Client:
            def request(self):
                return "sent"
        """,
    )
    importer = threading.Thread(target=importlib.import_module, args=(name,))
    importer.start()
    deadline = time.monotonic() + 5
    while name not in sys.modules and time.monotonic() < deadline:
        time.sleep(0.01)
    patcher = ImportPatcher([PatchTarget("probe", name, "Client.request", _marking("ours"))], telemetry=None)  # type: ignore[arg-type]
    patcher.start()  # found in sys.modules, half imported: waits for the import's end
    importer.join()
    try:
        assert sys.modules[name].Client().request() == ("ours", "sent")
        assert patcher.patched_modules() == {name}
    finally:
        patcher.stop()
    assert sys.modules[name].Client().request() == "sent"


def test_a_row_that_fails_leaves_the_import_and_the_other_rows_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    name = _module(
        tmp_path,
        monkeypatch,
        """
        class Client:
            def request(self):
                return "sent"
        """,
    )
    rows = [
        PatchTarget("probe", name, "Missing.request", _marking("lost")),  # this release lacks it: reported
        PatchTarget("probe", name, "Client.absent", _marking("skipped"), optional=True),  # skipped quietly
        PatchTarget("probe", name, "Client.request", _marking("ours")),
    ]
    patcher = ImportPatcher(rows, telemetry=None)  # type: ignore[arg-type]
    patcher.start()
    try:
        module = importlib.import_module(name)  # imported after start: patched by the hook
        assert module.Client().request() == ("ours", "sent")
        assert not hasattr(module.Client, "absent")
        assert "Missing" in caplog.text and "absent" not in caplog.text
    finally:
        patcher.stop()
    assert module.Client().request() == "sent"


def test_hooks_that_never_fire_keep_no_telemetry_alive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = _module(tmp_path, monkeypatch, "class Client:\n    def request(self):\n        return 'sent'\n")

    class Providers:  # stands for the telemetry: the application's providers and exporters
        pass

    providers = Providers()
    patcher = ImportPatcher([PatchTarget("probe", name, "Client.request", _marking("ours"))], providers)  # type: ignore[arg-type]
    patcher.start()  # the module is never imported: wrapt keeps the hook
    patcher.stop()
    freed = weakref.ref(providers)
    del patcher, providers
    gc.collect()
    assert freed() is None
    assert importlib.import_module(name).Client().request() == "sent"  # the late hook does nothing


def test_uninstrument_puts_back_static_and_class_methods_and_inherited_ones_as_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = _module(
        tmp_path,
        monkeypatch,
        """
        class Base:
            def request(self):
                return "sent"

        class Client(Base):
            @staticmethod
            def build(value):
                return value

            @classmethod
            def named(cls):
                return cls.__name__
        """,
    )
    module = importlib.import_module(name)
    before = dict(vars(module.Client))
    rows = [
        PatchTarget("probe", name, "Client.build", _marking("ours")),
        PatchTarget("probe", name, "Client.named", _marking("ours")),
        PatchTarget("probe", name, "Client.request", _marking("ours")),  # inherited from Base
    ]
    patcher = ImportPatcher(rows, telemetry=None)  # type: ignore[arg-type]
    patcher.start()
    try:
        assert module.Client.build(3) == ("ours", 3)
        assert module.Client().request() == ("ours", "sent")
    finally:
        patcher.stop()
    assert dict(vars(module.Client)) == before
    assert "request" not in vars(module.Client)
    assert module.Client.build(3) == 3 and module.Client().build(3) == 3
    assert module.Client.named() == "Client"
    assert module.Client().request() == "sent"
