"""The instrumentor: entry point, exact uninstrument, set-up, and never breaking the host."""

from __future__ import annotations

import functools
import gc
import importlib
import importlib.metadata
import os
import subprocess
import sys
import textwrap
import weakref
from typing import Any

import openai
import openai._base_client as base_client
import wrapt

import otel_aierrors
from otel_aierrors._patches import targets
from otel_aierrors._patches.targets import PATCH_TARGETS, PatchTarget
from otel_aierrors.chaos import ChaosServer
from tests.conftest import HTTP, SDK, Telemetry


def test_exported_members_are_the_public_api() -> None:
    assert sorted(otel_aierrors.__all__) == otel_aierrors.__all__
    for name in otel_aierrors.__all__:
        assert hasattr(otel_aierrors, name), name


def test_registered_under_the_opentelemetry_instrumentor_entry_point() -> None:
    entry_points = importlib.metadata.entry_points(group="opentelemetry_instrumentor")
    loaded = {entry.name: entry.load() for entry in entry_points if entry.value.startswith("otel_aierrors")}
    assert loaded == {"aierrors": otel_aierrors.AIErrorsInstrumentor}


def test_uninstrument_restores_every_patched_callable_exactly() -> None:
    originals = (
        base_client.SyncAPIClient.__dict__["request"],
        base_client.AsyncAPIClient.__dict__["request"],
        HTTP.Client.__dict__["send"],
        HTTP.AsyncClient.__dict__["send"],
    )
    telemetry = Telemetry()
    otel_aierrors.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    assert base_client.SyncAPIClient.__dict__["request"] is not originals[0]
    otel_aierrors.uninstrument()
    assert (
        base_client.SyncAPIClient.__dict__["request"],
        base_client.AsyncAPIClient.__dict__["request"],
        HTTP.Client.__dict__["send"],
        HTTP.AsyncClient.__dict__["send"],
    ) == originals


#: What an owner's namespace held when the callable was inherited.
ABSENT = object()


def installed_rows() -> list[tuple[PatchTarget, Any, str, object]]:
    """(row, owner, attribute, what the owner's namespace holds) for each row whose module is installed here."""
    rows = []
    for target in PATCH_TARGETS:
        try:
            module = importlib.import_module(target.module)
        except ImportError:
            continue
        owner_path, _, attribute = target.attribute.rpartition(".")
        owner = functools.reduce(getattr, filter(None, owner_path.split(".")), module)
        if target.optional and not hasattr(owner, attribute):
            continue
        rows.append((target, owner, attribute, vars(owner).get(attribute, ABSENT)))
    return rows


def test_uninstrument_restores_every_row_of_the_table_exactly() -> None:
    rows = installed_rows()
    assert {target.kind for target, *_ in rows} >= {
        targets.SDK,
        targets.HTTP,
        targets.BREAKER,
        targets.APP_RETRY,
    }  # the SDKs, httpx, the breakers and the retry libraries
    assert {target.library for target, *_ in rows if target.kind == targets.APP_RETRY} == {"tenacity", "backoff"}
    telemetry = Telemetry()
    otel_aierrors.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    try:
        unwrapped = [
            target
            for target, owner, attribute, _ in rows
            if not isinstance(vars(owner).get(attribute), wrapt.FunctionWrapper)
        ]
        assert unwrapped == []
    finally:
        otel_aierrors.uninstrument()
    changed = [target for target, owner, attribute, held in rows if vars(owner).get(attribute, ABSENT) is not held]
    assert changed == []


def test_the_breaker_rows_keep_no_telemetry_alive_after_uninstrument() -> None:
    import purgatory.domain.model
    import pybreaker

    from otel_aierrors._instrumentation import INSTRUMENTATION

    recorded = Telemetry()
    otel_aierrors.instrument(tracer_provider=recorded.tracer_provider, meter_provider=recorded.meter_provider)
    patcher = INSTRUMENTATION._patcher
    assert patcher is not None
    telemetry = weakref.ref(patcher.built_telemetry())  # built by the hooks of the modules already imported
    assert isinstance(vars(pybreaker.CircuitBreaker)["call"], wrapt.FunctionWrapper)
    assert isinstance(vars(purgatory.domain.model.Context)["__exit__"], wrapt.FunctionWrapper)
    otel_aierrors.uninstrument()
    del patcher
    gc.collect()
    assert telemetry() is None  # the breakers' shared recorder went with their wrappers


def test_a_function_decorated_with_backoff_while_instrumented_keeps_no_telemetry_alive_after_uninstrument() -> None:
    import backoff

    from otel_aierrors._instrumentation import INSTRUMENTATION

    recorded = Telemetry()
    otel_aierrors.instrument(tracer_provider=recorded.tracer_provider, meter_provider=recorded.meter_provider)
    patcher = INSTRUMENTATION._patcher
    assert patcher is not None
    telemetry = weakref.ref(patcher.built_telemetry())  # built by the hooks of the modules already imported
    assert isinstance(backoff._sync.retry_exception, wrapt.FunctionWrapper)

    @backoff.on_exception(backoff.constant, ValueError, max_tries=2, interval=0, jitter=None)
    def decorated() -> str:
        return "ok"

    otel_aierrors.uninstrument()
    del patcher
    gc.collect()
    assert telemetry() is None  # the decorated function outlives the patch, not the instrumentation
    assert decorated() == "ok"


def test_nothing_is_emitted_after_uninstrument(chaos: ChaosServer) -> None:
    telemetry = Telemetry()
    otel_aierrors.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    otel_aierrors.uninstrument()

    SDK("sync", chaos.base_url).call(script="rate_limit;retry_after_ms=1,ok")

    assert telemetry.spans() == []
    assert telemetry.points("aierrors.calls") == []


def test_the_return_value_is_the_sdks_own(sdk: SDK, telemetry: Telemetry) -> None:
    result = sdk.call(script="ok;content=hello+there")

    assert type(result) is openai.types.chat.ChatCompletion
    assert result.choices[0].message.content == "hello there"


def _run_app(code: str, env: dict[str, str], *prefix: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    environment.update(env)
    return subprocess.run(
        [*prefix, sys.executable, "-c", textwrap.dedent(code)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


APP = """
    import openai, otel_aierrors
    {instrument}
    client = openai.OpenAI(base_url="{base_url}", api_key="sk-test", max_retries=2)
    client.chat.completions.create(model="gpt-4o", messages=[{{"role": "user", "content": "hi"}}],
                                   extra_headers={{"x-chaos-script": "rate_limit;retry_after_ms=1,ok"}})
    from opentelemetry import trace
    trace.get_tracer_provider().force_flush()
"""


def test_instrument_sets_up_the_sdk_from_otel_variables_when_none_is_configured(chaos: ChaosServer) -> None:
    result = _run_app(
        APP.format(instrument="otel_aierrors.instrument()", base_url=chaos.base_url),
        {"OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "none", "OTEL_SERVICE_NAME": "probe"},
    )
    assert result.returncode == 0, result.stderr
    assert '"name": "chat gpt-4o"' in result.stdout
    assert result.stdout.count('"name": "POST chat"') == 2
    assert '"service.name": "probe"' in result.stdout


def test_opentelemetry_instrument_works_without_code_changes(chaos: ChaosServer) -> None:
    launcher = os.path.join(os.path.dirname(sys.executable), "opentelemetry-instrument")
    result = _run_app(
        APP.format(instrument="", base_url=chaos.base_url),
        {"OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"},
        launcher,
    )
    assert result.returncode == 0, result.stderr
    assert '"name": "chat gpt-4o"' in result.stdout
    assert '"aierrors.attempt.count": 2' in result.stdout
