"""The SDK set-up of `instrument()` without providers (`otel_aierrors._setup`).

Global providers can be set once per process, so each case runs a small
program in a fresh interpreter: the real SDK, the real ``openai`` client, the
chaos server and, where the case needs one, the fake OTLP/HTTP collector.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from otel_aierrors._setup import DEFAULTS, selected_exporters
from tests.cli.conftest import FakeCollector, clean_env, closed_port

_CALL = """
import json, sys
import openai
import otel_aierrors
from otel_aierrors.chaos import ChaosServer, script_headers

def one_call():
    with ChaosServer() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}], extra_headers=script_headers("ok")
        )
        client.close()
"""


def _run(body: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    program = _CALL + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", program],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_application_providers_set_after_instrument_win() -> None:
    result = _run(
        """
        import warnings
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        otel_aierrors.instrument()              # first, as many applications do
        exporter = InMemorySpanExporter()       # then the application's own set-up
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        with trace.get_tracer("app").start_as_current_span("handle request"):
            one_call()
        print(json.dumps({
            "spans": sorted(span.name for span in exporter.get_finished_spans()),
            "same": trace.get_tracer_provider() is provider,
        }))
        """,
        clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{closed_port()}"),
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["same"] is True
    assert "handle request" in seen["spans"]
    assert "chat gpt-4o" in seen["spans"]
    assert any(name.startswith("POST") for name in seen["spans"]), seen
    assert "Overriding of current" not in result.stderr
    assert "127.0.0.1" not in result.stderr  # nothing was exported to the (closed) default endpoint


def test_nothing_configured_exports_over_otlp_http(collector: FakeCollector) -> None:
    result = _run(
        """
        otel_aierrors.instrument()
        one_call()
        from otel_aierrors._setup import sdk_configured
        print(json.dumps(sdk_configured()))
        """,
        clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint, OTEL_METRIC_EXPORT_INTERVAL="60000"),
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [True, True]
    # Flushed at exit: one span batch and the final metric collection reached the collector.
    assert collector.received["/v1/traces"], result.stderr
    assert collector.received["/v1/metrics"], result.stderr
    assert b"chat gpt-4o" in b"".join(collector.received["/v1/traces"])
    assert b"aierrors.calls" in b"".join(collector.received["/v1/metrics"])


@pytest.mark.parametrize(
    "variable",
    [{"OTEL_AIERRORS_AUTO_SETUP": "false"}, {"OTEL_SDK_DISABLED": "true"}],
    ids=["auto-setup-false", "sdk-disabled"],
)
def test_switches_turn_the_auto_setup_off(collector: FakeCollector, variable: dict[str, str]) -> None:
    result = _run(
        """
        otel_aierrors.instrument()
        one_call()
        from otel_aierrors._setup import sdk_configured
        print(json.dumps(sdk_configured()))
        """,
        clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint, **variable),
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [False, False]
    assert not collector.received


def _seconds_to_exit_after_the_call(env: dict[str, str], instrument: bool = True) -> tuple[float, str]:
    setup = "otel_aierrors.instrument()" if instrument else ""
    program = _CALL + f"\n{setup}\none_call()\nprint('CALLED', flush=True)\n"
    with subprocess.Popen(
        [sys.executable, "-c", program], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None and process.stderr is not None
            assert process.stdout.readline().strip() == "CALLED"
            called = time.monotonic()
            process.wait(60)
            return time.monotonic() - called, process.stderr.read()
        finally:
            if process.poll() is None:
                process.kill()


def _median_exit_seconds(env: dict[str, str], instrument: bool = True) -> tuple[float, str]:
    """Median of three (a loaded machine moves single runs by tenths of a second), and the last stderr."""
    runs = [_seconds_to_exit_after_the_call(env, instrument) for _ in range(3)]
    return statistics.median(seconds for seconds, _ in runs), runs[-1][1]


def test_the_flush_at_exit_is_bounded_when_the_collector_is_down() -> None:
    """Without the bound, exit waits out the exporters' retries: about 12 s more (10 s export timeouts);
    with the 2 s timeout one flush after the other of before, about 2.4 s more.

    Measured against the same instrumented program with the SDK off, so that only the flush
    counts (not the import and teardown of the SDKs `instrument()` imports).
    """
    down = clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{closed_port()}")
    without_sdk, _ = _median_exit_seconds({**down, "OTEL_SDK_DISABLED": "true"})
    seconds, stderr = _median_exit_seconds(down)
    # The two flushes at exit (spans, metrics) side by side, within EXPORT_TIMEOUT (1 s) together.
    assert seconds - without_sdk < 1.5, (seconds, without_sdk, stderr)
    assert "Failed to export" in stderr  # it did try to export, and said it failed


def test_exit_is_at_most_2_s_later_than_bare_when_the_collector_is_down() -> None:
    down = clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{closed_port()}")
    bare, _ = _median_exit_seconds(down, instrument=False)
    seconds, stderr = _median_exit_seconds(down)
    assert seconds - bare < 2.0, (seconds, bare, stderr)


def test_bad_protocol_is_one_warning_and_the_call_goes_on() -> None:
    result = _run(
        """
        import logging
        logging.basicConfig()
        otel_aierrors.instrument()
        one_call()
        one_call()
        print("done")
        """,
        clean_env(OTEL_EXPORTER_OTLP_PROTOCOL="http/json"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"
    assert result.stderr.count("SDK set-up failed") == 1, result.stderr
    assert "http/json" in result.stderr


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
        {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"},
        {"OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "none"},
        {"OTEL_TRACES_EXPORTER": "otlp,console"},
    ],
    ids=["defaults", "grpc", "grpc-traces", "console-none", "otlp-and-console"],
)
def test_doctor_prediction_equals_the_configurator(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """`selected_exporters` (doctor's view) names what the SDK's configurator will load."""
    from opentelemetry.sdk._configuration import _get_exporter_names

    for key in [key for key in os.environ if key.startswith("OTEL_")]:
        monkeypatch.delenv(key)
    for key, value in {**DEFAULTS, **env}.items():
        monkeypatch.setenv(key, value)
    for signal in ("traces", "metrics"):
        assert selected_exporters(signal, env) == _get_exporter_names(signal)  # type: ignore[arg-type]


_RESOURCE = """
{prelude}
otel_aierrors.instrument()
one_call()
from opentelemetry import metrics, trace
print(json.dumps({{
    "traces": dict(trace.get_tracer_provider().resource.attributes),
    "metrics": dict(metrics.get_meter_provider()._sdk_config.resource.attributes),
}}))
"""
#: An SDK before 1.43 has no ``service_instance`` resource detector; this drops it from a newer one.
_WITHOUT_INSTANCE_DETECTOR = """
from opentelemetry.sdk import resources
if hasattr(resources, "_build_resource_detectors"):
    _detectors = resources._build_resource_detectors
    resources._build_resource_detectors = lambda: [
        d for d in _detectors() if type(d).__name__ != "ServiceInstanceIdResourceDetector"
    ]
"""
_NO_EXPORT = {"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none"}


def _resource(prelude: str = "", **env: str) -> dict[str, dict[str, str]]:
    result = _run(_RESOURCE.format(prelude=prelude), clean_env(**_NO_EXPORT, **env))
    assert result.returncode == 0, result.stderr
    seen: dict[str, dict[str, str]] = json.loads(result.stdout)
    assert seen["traces"] == seen["metrics"]
    return seen


def _instance_id(seen: dict[str, dict[str, str]]) -> str:
    value = seen["traces"]["service.instance.id"]
    assert str(uuid.UUID(value, version=4)) == value
    return value


def test_every_process_gets_its_own_service_instance_id() -> None:
    """Replicas sharing ``service.name`` write distinct series (``instance``), not one that they overwrite."""
    first, second = _resource(OTEL_SERVICE_NAME="replica"), _resource(OTEL_SERVICE_NAME="replica")
    assert first["traces"]["service.name"] == second["traces"]["service.name"] == "replica"
    assert _instance_id(first) != _instance_id(second)


def test_an_sdk_without_the_instance_detector_gets_ours() -> None:
    """opentelemetry-sdk before 1.43 detects no ``service.instance.id``: the auto set-up adds a random one."""
    first = _resource(_WITHOUT_INSTANCE_DETECTOR, OTEL_SERVICE_NAME="replica")
    second = _resource(_WITHOUT_INSTANCE_DETECTOR, OTEL_SERVICE_NAME="replica")
    assert _instance_id(first) != _instance_id(second)


@pytest.mark.parametrize("prelude", ["", _WITHOUT_INSTANCE_DETECTOR], ids=["sdk-detector", "no-sdk-detector"])
def test_the_users_service_instance_id_wins(prelude: str) -> None:
    seen = _resource(prelude, OTEL_RESOURCE_ATTRIBUTES="service.instance.id=pod-7,deployment.environment=test")
    assert seen["traces"]["service.instance.id"] == "pod-7"
    assert seen["traces"]["deployment.environment"] == "test"
