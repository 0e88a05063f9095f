"""``otel-aierrors doctor``: each reason for seeing nothing is found, and fails the command."""

from __future__ import annotations

import importlib.metadata
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from otel_aierrors._patches import targets
from otel_aierrors._patches.targets import PATCH_TARGETS
from otel_aierrors.cli import doctor
from otel_aierrors.cli._main import main
from otel_aierrors.cli.doctor import Check, Status, diagnose, exit_code, probe_endpoint
from tests.conftest import HTTP

from .conftest import FakeCollector, clean_env, closed_port, run_cli

pytestmark = pytest.mark.timeout(60)

HTTP_TRACES = "opentelemetry.exporter.otlp.proto.http.trace_exporter"


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


def errors(checks: list[Check]) -> list[str]:
    return [check.name for check in checks if check.status is Status.ERROR]


def env_with(collector_endpoint: str, **extra: str) -> dict[str, str]:
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": collector_endpoint, **extra}


# --- as a command ---------------------------------------------------------------------------
def test_unreachable_endpoint_fails_with_json_output() -> None:
    port = closed_port()
    started = time.monotonic()
    result = run_cli("doctor", "--json", env=clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}"))
    assert time.monotonic() - started < 20
    assert result.returncode == 1, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is False
    collector = next(check for check in document["checks"] if check["name"] == "collector")
    assert collector["status"] == "error"
    assert f"127.0.0.1:{port}" in collector["summary"]


def test_reachable_collector_passes(collector: FakeCollector) -> None:
    result = run_cli("doctor", "--json", env=clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint))
    document = json.loads(result.stdout)
    assert result.returncode == 0, json.dumps(document, indent=1)
    statuses = {check["name"]: check["status"] for check in document["checks"]}
    assert statuses["collector"] == "ok"
    assert statuses["openai SDK"] == "ok"
    assert statuses["entry point"] == "ok"
    assert statuses["patched now"] == "info"
    assert collector.received["/v1/traces"] == [b""]


def test_rich_output_names_the_problem() -> None:
    result = run_cli("doctor", env=clean_env(OTEL_SDK_DISABLED="true", COLUMNS="120"))
    assert result.returncode == 1
    assert "OTEL_SDK_DISABLED=true" in result.stdout
    assert "1 problem(s) found: OpenTelemetry SDK" in result.stdout


# --- one check at a time, in-process --------------------------------------------------------
def test_missing_exporter_package(collector: FakeCollector) -> None:
    checks = diagnose(env_with(collector.endpoint), importable=lambda module: module != HTTP_TRACES)
    exporter = by_name(checks)["traces exporter"]
    assert exporter.status is Status.ERROR
    assert "opentelemetry-exporter-otlp-proto-http is not installed" in exporter.summary
    assert by_name(checks)["metrics exporter"].status is Status.OK
    assert exit_code(checks) == 1


def test_missing_grpc_exporter_package(collector: FakeCollector) -> None:
    env = env_with(collector.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL="grpc")
    checks = diagnose(env, importable=lambda module: "grpc" not in module)
    assert "opentelemetry-exporter-otlp-proto-grpc" in by_name(checks)["metrics exporter"].summary
    assert exit_code(checks) == 1


def test_no_sdk_installed() -> None:
    checks = diagnose({}, importable=lambda module: module != "opentelemetry.sdk")
    sdk = by_name(checks)["OpenTelemetry SDK"]
    assert sdk.status is Status.ERROR and "not installed" in sdk.summary
    assert "collector" not in by_name(checks)
    assert exit_code(checks) == 1


def test_sdk_disabled() -> None:
    checks = diagnose({"OTEL_SDK_DISABLED": "true"})
    assert errors(checks) == ["OpenTelemetry SDK"]


def test_nothing_exported() -> None:
    checks = diagnose({"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none"})
    assert "destination" in errors(checks)


def test_unknown_exporter_name(collector: FakeCollector) -> None:
    checks = diagnose(env_with(collector.endpoint, OTEL_TRACES_EXPORTER="zipkin"))
    assert errors(checks) == ["traces exporter"]
    assert "zipkin" in by_name(checks)["traces exporter"].summary


def test_auto_setup_disabled_is_a_warning(collector: FakeCollector) -> None:
    checks = diagnose(env_with(collector.endpoint, OTEL_AIERRORS_AUTO_SETUP="false"))
    assert by_name(checks)["OpenTelemetry SDK"].status is Status.WARN
    assert exit_code(checks) == 0


def test_disabled_instrumentation(collector: FakeCollector) -> None:
    checks = diagnose(env_with(collector.endpoint, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="httpx,aierrors"))
    assert errors(checks) == ["entry point"]


def test_default_endpoint_is_named() -> None:
    port = closed_port()
    checks = diagnose({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{port}/v1/traces"}, timeout=0.2)
    names = by_name(checks)
    assert names["traces destination"].summary == f"OTLP http/protobuf to http://127.0.0.1:{port}/v1/traces"
    assert "the default" in names["metrics destination"].summary
    assert "http://localhost:4318/v1/metrics" in names["metrics destination"].summary
    collectors = [check for check in checks if check.name.startswith("collector")]
    assert len(collectors) == 2  # one per host:port


def test_patched_now_sees_this_process(telemetry: Any) -> None:
    assert by_name(diagnose({}, timeout=0.1))["patched now"].status is Status.OK


def test_patched_now_names_the_sdks_patched_and_those_waiting_for_their_import() -> None:
    code = """
import sys
import otel_aierrors
from otel_aierrors.cli.doctor import diagnose

otel_aierrors.instrument()
import openai  # the application uses openai only; the other SDKs are installed, never imported

check = next(check for check in diagnose({}, timeout=0.1) if check.name == "patched now")
print(check.status.value)
print(check.summary)
print("anthropic" in sys.modules)
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False, env=clean_env()
    )
    assert result.returncode == 0, result.stderr
    status, summary, anthropic_loaded = result.stdout.splitlines()
    assert status == "ok"
    assert f"patched now: openai, {HTTP.__name__};" in summary
    others = ("anthropic", "groq", "together", "cerebras-cloud-sdk", "fireworks-ai")
    waiting = [name for name in others if doctor._installed(name)]
    assert "waiting for their import: " + (", ".join(waiting) or "none") in summary
    assert anthropic_loaded == "False"  # doctor reports without importing


#: The kinds of library ``doctor`` gives a check each: all but the SDKs and HTTP clients.
OPTIONAL_KINDS = (targets.FRAMEWORK, targets.BREAKER, targets.APP_RETRY)


def optional_library_checks(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks if check.name.endswith(OPTIONAL_KINDS)}


def test_every_optional_library_of_the_patch_table_has_a_check_and_a_missing_one_is_no_fault() -> None:
    assert set(targets.KINDS) == {targets.SDK, targets.HTTP, *OPTIONAL_KINDS}
    checks = diagnose({}, timeout=0.1)
    listed = optional_library_checks(checks)
    libraries = dict.fromkeys((t.library, t.kind) for t in PATCH_TARGETS if t.kind in OPTIONAL_KINDS)
    assert list(listed) == [f"{library} {kind}" for library, kind in libraries]  # the table's order
    assert {
        "litellm framework",
        "instructor framework",
        "pybreaker circuit breaker",
        "tenacity retry library",
        "backoff retry library",
    } <= set(listed)
    for library, kind in libraries:
        check = listed[f"{library} {kind}"]
        assert check.status is Status.INFO  # not instrumented here; a missing library is no fault either
        if doctor._installed(library):
            version = importlib.metadata.version(library)
            assert check.summary == f"{library} {version}: not patched in this process"
        else:
            assert check.summary.startswith(f"{library} is not installed (optional")


def test_frameworks_and_breakers_say_which_of_their_patches_are_applied() -> None:
    code = """
import sys
import otel_aierrors
from otel_aierrors.cli.doctor import diagnose

otel_aierrors.instrument()
import pybreaker  # the application uses pybreaker; purgatory is installed, never imported

def show():
    for check in diagnose({}, timeout=0.1):
        if check.name in ("pybreaker circuit breaker", "purgatory circuit breaker"):
            print(check.status.value, check.summary, check.detail, sep="|")

show()
pybreaker.CircuitBreaker.call = pybreaker.CircuitBreaker.__dict__["call"].__wrapped__  # someone undid one
show()
print("purgatory" in sys.modules)
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False, env=clean_env()
    )
    assert result.returncode == 0, result.stderr
    pybreaker, purgatory = (importlib.metadata.version(name) for name in ("pybreaker", "purgatory"))
    assert result.stdout.splitlines() == [
        f"ok|pybreaker {pybreaker}: 5 of 5 patches applied|",
        f"ok|purgatory {purgatory}: waiting for its import (3 patches)|",
        f"warn|pybreaker {pybreaker}: 4 of 5 patches applied; imported but not patched: "
        "pybreaker.CircuitBreaker.call|the log of logger 'otel_aierrors' says why",
        f"ok|purgatory {purgatory}: waiting for its import (3 patches)|",
        "False",  # doctor reports without importing
    ]


def test_retry_libraries_say_which_of_their_patches_are_applied() -> None:
    code = """
import sys
import otel_aierrors
from otel_aierrors.cli.doctor import diagnose

otel_aierrors.instrument()
import tenacity  # the application uses tenacity; backoff is installed, never imported

for check in diagnose({}, timeout=0.1):
    if check.name in ("tenacity retry library", "backoff retry library"):
        print(check.status.value, check.summary, check.detail, sep="|")
print("backoff" in sys.modules)
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False, env=clean_env()
    )
    assert result.returncode == 0, result.stderr
    tenacity, backoff = (importlib.metadata.version(name) for name in ("tenacity", "backoff"))
    assert result.stdout.splitlines() == [
        f"ok|tenacity {tenacity}: 2 of 2 patches applied|",
        f"ok|backoff {backoff}: waiting for its import (4 patches)|",
        "False",  # doctor reports without importing
    ]


def test_secrets_in_the_environment_are_not_shown(collector: FakeCollector) -> None:
    env = env_with(collector.endpoint, OTEL_EXPORTER_OTLP_HEADERS="authorization=Bearer sk-proj-abcdef0123456789")
    environment = by_name(diagnose(env))["environment"]
    assert "sk-proj" not in environment.detail
    assert "OTEL_EXPORTER_OTLP_HEADERS=[REDACTED]" in environment.detail


# --- the probe never hangs ------------------------------------------------------------------
def test_probe_of_a_silent_listener_is_bounded() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts connections in the backlog, never answers
        port = silent.getsockname()[1]
        started = time.monotonic()
        check = probe_endpoint(f"http://127.0.0.1:{port}/v1/traces", "http/protobuf", timeout=0.3)
    assert time.monotonic() - started < 2
    assert check.status is Status.ERROR
    assert "did not answer as OTLP/HTTP" in check.summary


def test_endpoint_with_the_signal_path_is_a_404(collector: FakeCollector) -> None:
    checks = diagnose(env_with(f"{collector.endpoint}/v1/traces"))
    assert errors(checks) == ["collector"]
    assert "answered 404" in by_name(checks)["collector"].summary
    assert "appends /v1/traces itself" in by_name(checks)["collector"].detail


def test_grpc_probe_only_connects(collector: FakeCollector) -> None:
    check = probe_endpoint(collector.endpoint, "grpc", timeout=0.5)
    assert check.status is Status.OK
    assert "gRPC" in check.summary


def test_doctor_without_rich_prints_plain_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import otel_aierrors.cli._main as cli

    monkeypatch.setattr(cli, "_missing", lambda *modules: "rich" if "rich" in modules else None)
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert main(["doctor"]) == 1
    captured = capsys.readouterr()
    assert "[error] OpenTelemetry SDK: OTEL_SDK_DISABLED=true" in captured.out
    assert "otel-aierrors[cli]" in captured.err


# --- honest in every mode (providers already set, opentelemetry-instrument) ----------------
def run_with_closed_endpoint(command: list[str], port: int) -> subprocess.CompletedProcess[str]:
    env = clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}")
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_under_opentelemetry_instrument_the_missing_collector_is_named() -> None:
    port = closed_port()
    instrument = Path(sys.executable).parent / "opentelemetry-instrument"
    result = run_with_closed_endpoint(
        [str(instrument), sys.executable, "-m", "otel_aierrors", "doctor", "--json"], port
    )
    assert result.returncode == 1, result.stdout + result.stderr
    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    assert checks["patched now"]["status"] == "ok"  # the entry point ran: this is the auto-instrumented process
    assert checks["collector"]["status"] == "error"
    assert f"127.0.0.1:{port}" in checks["collector"]["summary"]


def test_providers_set_by_the_application_still_probe_the_collector() -> None:
    port = closed_port()
    program = (
        "from opentelemetry import metrics, trace\n"
        "from opentelemetry.sdk.metrics import MeterProvider\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "trace.set_tracer_provider(TracerProvider())\n"
        "metrics.set_meter_provider(MeterProvider())\n"
        "from otel_aierrors.cli._main import main\n"
        "raise SystemExit(main(['doctor', '--json']))\n"
    )
    result = run_with_closed_endpoint([sys.executable, "-c", program], port)
    assert result.returncode == 1, result.stdout + result.stderr
    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    assert checks["OpenTelemetry SDK"]["status"] == "ok"
    assert "are set in this process" in checks["OpenTelemetry SDK"]["summary"]
    assert checks["collector"]["status"] == "error"


def test_endpoint_without_scheme_is_named_as_the_cause(collector: FakeCollector) -> None:
    address = collector.endpoint.removeprefix("http://")
    checks = diagnose({"OTEL_EXPORTER_OTLP_ENDPOINT": address})
    destination = by_name(checks)["traces destination"]
    assert destination.status is Status.ERROR
    assert "has no http://" in destination.summary
    assert destination.detail == f"set OTEL_EXPORTER_OTLP_ENDPOINT=http://{address}"


def test_bad_protocol_is_reported_once(collector: FakeCollector) -> None:
    checks = diagnose(env_with(collector.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL="http/json"))
    assert errors(checks) == ["OTLP protocol"]
    assert "'http/json'" in by_name(checks)["OTLP protocol"].summary
    assert sum("http/json" in check.summary for check in checks) == 1


@pytest.mark.parametrize(
    ("resource", "status"),
    [
        ("Resource({'service.name': 'app'})", "warn"),
        ("Resource({'service.name': 'app', 'service.instance.id': 'pod-7'})", "ok"),
    ],
    ids=["own-resource-without-id", "own-resource-with-id"],
)
def test_an_application_resource_without_instance_id_is_a_warning(resource: str, status: str) -> None:
    """Replicas whose resource has no service.instance.id write one series: doctor says so (it cannot add one)."""
    program = (
        "from opentelemetry import metrics\n"
        "from opentelemetry.sdk.metrics import MeterProvider\n"
        "from opentelemetry.sdk.resources import Resource\n"
        f"metrics.set_meter_provider(MeterProvider(resource={resource}))\n"
        "from otel_aierrors.cli._main import main\n"
        "raise SystemExit(main(['doctor', '--json']))\n"
    )
    result = run_with_closed_endpoint([sys.executable, "-c", program], closed_port())
    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    assert checks["service.instance.id"]["status"] == status, checks["service.instance.id"]
