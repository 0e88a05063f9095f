"""End to end through the real pipeline: SDK -> OTLP -> our collector -> Prometheus and Jaeger.

The binaries are the ones ``tools/build-binaries.sh`` builds; the collector
runs the shipped ``collector-config/otel-collector.yaml`` unchanged (only its
addresses moved, see `tests.pipeline._stack`). Two applications send to it:

* ``deploy/demo/traffic.py`` (service ``aierrors-demo``): the real ``openai``
  SDK against the chaos server, exporting over OTLP/gRPC, with a healthy phase,
  an incident (outage profile, a revoked key) and a recovery, driven by a
  control file. The burn-rate and authentication alerts must fire and resolve
  as in ``tests/monitoring/test_e2e_prometheus.py``, now on series that went
  through the collector's ``prometheus`` exporter; those series must carry the
  names and labels of ``docs/telemetry.md``; every dashboard query must return
  data.
* ``otel-aierrors demo`` (service ``otel-aierrors-demo``), exporting over
  OTLP/HTTP (the SDK's default protocol) with only ``OTEL_EXPORTER_OTLP_ENDPOINT``
  set: its 429 -> 429 -> 200 call must be in Jaeger, call span, three attempt
  spans and their ``aierrors.*`` tags, found by a tag search.

Finally the collector's own metrics must show that it refused and failed
nothing. Prometheus evaluates the rules rendered with every window divided by
15 (1h -> 4m, 5m -> 20s, ``for: 2m`` -> 8s): the collector batches for up to
5 s and the SDK exports every 5 s, so a window must hold more than one update.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.monitoring import _assets, _contract
from tests.monitoring import test_e2e_prometheus as direct
from tests.monitoring._procs import Process, wait_for

from . import _binaries, _stack
from ._jaeger import Span, Trace

pytestmark = [pytest.mark.e2e, pytest.mark.pipeline, pytest.mark.timeout(480)]

SERVICE = "aierrors-demo"
DEMO_SERVICE = "otel-aierrors-demo"
SLO_MODEL = "gpt-4o-mini"
SCALE = "1/15"
#: Hard limits: no process outlives the test by more than this.
APP_SECONDS = 420
STACK_SECONDS = 450
DEMO_SECONDS = 120

Demo = subprocess.CompletedProcess[str]


@dataclass
class Run:
    """The pipeline, the traffic app and its control file; ``stack`` is the same in the direct test's shape."""

    pipeline: _stack.Pipeline
    app: Process
    control: Path
    tmp: Path

    @property
    def stack(self) -> direct.Stack:
        """The direct test's stack (phase switch, alert look-up, its checks) over this pipeline's Prometheus."""
        p = self.pipeline
        # The pipeline app runs with the default GenAI conventions (no OTEL_SEMCONV_STABILITY_OPT_IN).
        return direct.Stack(p.prometheus, self.app, p.prometheus_server, self.control, self.tmp / "rules", switch="")

    def diagnostics(self) -> str:
        return f"\n--- traffic app log (tail) ---\n{self.app.output()[-3000:]}{self.pipeline.diagnostics()}"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("pipeline")
    assert _assets.generator().main(["--windows-scale", SCALE, "--out", str(tmp)]) == 0
    pipeline = _stack.start(tmp, tmp / "rules", STACK_SECONDS)
    control = tmp / "control.json"
    control.write_text(json.dumps({"phase": "healthy"}), encoding="utf-8")
    app = Process(
        "traffic app",
        [
            "env",
            f"OTEL_EXPORTER_OTLP_ENDPOINT={pipeline.otlp_grpc_url}",
            sys.executable,
            str(_assets.TRAFFIC_APP),
            "--service",
            SERVICE,
            "--control",
            str(control),
            "--duration",
            str(APP_SECONDS - 10),
        ],
        tmp / "app.log",
        APP_SECONDS,
        cwd=_assets.ROOT,
    )
    try:
        wait_for("the traffic app to start", lambda: "AIERRORS-TRAFFIC-READY" in app.output() or not app.alive(), 60)
        assert app.alive(), f"the traffic app exited:\n{app.output()}"
        yield Run(pipeline, app, control, tmp)
    finally:
        app.stop()
        pipeline.stop()


def _wait_for_data(run: Run) -> None:
    """Until every kind of series the dashboards read came through the collector, with a rate."""
    needed = [
        f'aierrors_calls_total{{job="{SERVICE}", gen_ai_request_model="{SLO_MODEL}"}}',
        f'aierrors_calls_total{{job="{SERVICE}", aierrors_error_class="stream_interrupted"}}',
        f'aierrors_calls_total{{job="{SERVICE}", aierrors_stream_abandoned="true"}}',
        f'aierrors_attempts_total{{job="{SERVICE}", aierrors_retry_wasted="true"}}',
        f'aierrors_fallback_hops_total{{job="{SERVICE}"}}',
        f'aierrors_ratelimit_remaining{{job="{SERVICE}"}}',
        f'gen_ai_client_operation_time_to_first_chunk_seconds_count{{job="{SERVICE}"}}',
    ]
    prometheus = run.pipeline.prometheus
    for selector in needed:
        wait_for(f"{selector} to have a rate", lambda s=selector: prometheus.query(f"rate({s}[20s])"), 90)
    recorded = "job_gen_ai_provider_name_server_address_gen_ai_request_model:aierrors_calls_errors:ratio_rate3d"
    wait_for(f"{recorded} to be recorded", lambda: prometheus.query(recorded), 60)


def test_the_collector_accepts_the_shipped_configuration() -> None:
    """``validate`` of our own build: every component the file names is in the distribution."""
    result = subprocess.run(
        [str(_binaries.collector()), "validate", "--config", str(_stack.COLLECTOR_CONFIG)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "JAEGER_OTLP_ENDPOINT": "127.0.0.1:4317"},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_burn_rate_and_authentication_alerts_fire_and_resolve_through_the_collector(run: Run) -> None:
    stack = run.stack
    try:
        _wait_for_data(run)
        # Healthy: the SLO model burns nothing (the scripted stories fail on purpose on gpt-4o).
        assert stack.alerts("AIErrorsErrorBudgetBurn", job=SERVICE, gen_ai_request_model=SLO_MODEL) == []
        assert stack.alerts("AIErrorsAuthenticationFailures", job=SERVICE) == []

        stack.phase("incident")
        incident = time.monotonic()

        def firing() -> bool:
            page = stack.alerts("AIErrorsErrorBudgetBurn", job=SERVICE, gen_ai_request_model=SLO_MODEL, long="1h")
            auth = stack.alerts("AIErrorsAuthenticationFailures", job=SERVICE, server_address="127.0.0.1")
            return bool(page and auth and page[0]["state"] == auth[0]["state"] == "firing")

        wait_for("the burn-rate page and the authentication alert to fire", firing, 150)
        stack.timings["to firing"] = time.monotonic() - incident
        (page,) = stack.alerts("AIErrorsErrorBudgetBurn", job=SERVICE, gen_ai_request_model=SLO_MODEL, long="1h")
        assert page["labels"] == {
            "alertname": "AIErrorsErrorBudgetBurn",
            "severity": "critical",
            "long": "1h",
            "short": "5m",
            "job": SERVICE,
            "gen_ai_provider_name": "openai",
            "server_address": "127.0.0.1",
            "gen_ai_request_model": SLO_MODEL,
        }
        (auth,) = stack.alerts("AIErrorsAuthenticationFailures", job=SERVICE)
        assert auth["labels"] == {
            "alertname": "AIErrorsAuthenticationFailures",
            "severity": "critical",
            "job": SERVICE,
            "gen_ai_provider_name": "openai",
            "server_address": "127.0.0.1",
        }

        stack.phase("healthy")
        recovery = time.monotonic()

        def resolved() -> bool:
            page = stack.alerts("AIErrorsErrorBudgetBurn", job=SERVICE, gen_ai_request_model=SLO_MODEL, long="1h")
            return not page and not stack.alerts("AIErrorsAuthenticationFailures", job=SERVICE)

        wait_for("the burn-rate page and the authentication alert to resolve", resolved, 120)
        stack.timings["to resolved"] = time.monotonic() - recovery
        print(f"\npipeline e2e timings (s): {json.dumps({k: round(v, 1) for k, v in stack.timings.items()})}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}{run.diagnostics()}") from None
    finally:
        stack.phase("healthy")


def test_series_arrive_with_the_contracts_names_and_labels(run: Run) -> None:
    """docs/telemetry.md's Prometheus names and labels, as the collector's exporter writes them."""
    _wait_for_data(run)
    contract = _contract.load()
    series = contract.series("")  # the pipeline's apps run with the default GenAI conventions
    scraped: dict[str, set[str]] = {}
    for sample in run.pipeline.prometheus.query(f'{{__name__=~"aierrors_.+|gen_ai_.+", job="{SERVICE}"}}'):
        labels = dict(sample["metric"])
        scraped.setdefault(labels.pop("__name__"), set()).update(labels)
    assert set(scraped) == set(series), "series names through the collector differ from docs/telemetry.md"
    for name, labels in scraped.items():
        assert labels <= series[name].labels, f"{name}: labels not in docs/telemetry.md: {labels - series[name].labels}"
    # The exporter turns service.name into `job` and service.instance.id into `instance` (kept by
    # honor_labels); the other resource attributes stay on target_info, never on our series.
    (info,) = run.pipeline.prometheus.query(f'target_info{{job="{SERVICE}"}}')
    assert info["metric"]["telemetry_sdk_language"] == "python"
    assert "service_name" not in info["metric"]
    instances = {
        sample["metric"]["instance"]
        for sample in run.pipeline.prometheus.query(f'aierrors_calls_total{{job="{SERVICE}"}}')
    }
    assert instances == {info["metric"]["instance"]}, "instance is not the application's service.instance.id"
    resource_labels = {label for label in info["metric"] if label.startswith(("service_", "telemetry_sdk_"))}
    assert not resource_labels & set().union(*scraped.values())


# The dashboard checks of the direct test, unchanged, on the series that went through the collector.
@pytest.mark.parametrize("query", _assets.queries(), ids=str)
def test_every_dashboard_query_returns_series(run: Run, query: _assets.Query) -> None:
    _wait_for_data(run)
    direct.test_every_dashboard_query_returns_series(run.stack, query)


def test_dashboard_variables_have_values(run: Run) -> None:
    _wait_for_data(run)
    direct.test_dashboard_variables_have_values(run.stack)


# --- Jaeger: the demo over OTLP/HTTP ------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(run: Run) -> Demo:
    """``otel-aierrors demo`` telling every story once, with only the collector's OTLP endpoint set."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    env["OTEL_EXPORTER_OTLP_ENDPOINT"] = run.pipeline.otlp_http_url
    command = Path(sys.executable).with_name("otel-aierrors")
    result = subprocess.run(
        [str(command), "demo", "--scenarios", "16", "--seed", "0", "--no-progress", "--output-dir", str(run.tmp)],
        capture_output=True,
        text=True,
        timeout=DEMO_SECONDS,
        check=False,
        env=env,
        cwd=run.tmp,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _attempts_of(trace: Trace, call: Span) -> list[Span]:
    children = [span for span in trace if span.parent_id == call.span_id and "aierrors.attempt.number" in span.tags]
    return sorted(children, key=lambda span: int(span.tags["aierrors.attempt.number"]))


def _rate_limited_twice(trace: Trace) -> tuple[Span, list[Span]] | None:
    """The call whose attempts answered 429, 429, 200, with its attempts; None if the trace has none."""
    for call in trace:
        if call.tags.get("aierrors.attempt.count") != 3:
            continue
        attempts = _attempts_of(trace, call)
        if [attempt.tags.get("http.response.status_code") for attempt in attempts] == [429, 429, 200]:
            return call, attempts
    return None


def test_jaeger_holds_the_429_429_200_trace_and_finds_it_by_tag(run: Run, demo: Demo) -> None:
    jaeger = run.pipeline.traces

    def found() -> tuple[Span, list[Span]] | None:
        for trace in jaeger.find_traces(DEMO_SERVICE, {"aierrors.error.class": "rate_limit"}):
            hit = _rate_limited_twice(trace)
            if hit:
                return hit
        return None

    try:
        call, attempts = wait_for("Jaeger's tag search to find the 429 -> 429 -> 200 call", found, 60)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- demo output ---\n{demo.stdout[-3000:]}{run.pipeline.diagnostics()}") from None

    assert call.name == f"chat {SLO_MODEL}"
    assert call.tags["span.kind"] == "client"
    assert call.tags["aierrors.outcome"] == "ok"
    assert "aierrors.error.class" not in call.tags
    assert call.tags["aierrors.retry.backoff_total"] > 0
    assert call.tags["gen_ai.request.model"] == SLO_MODEL
    assert [attempt.name for attempt in attempts] == ["POST chat"] * 3
    assert [attempt.tags["aierrors.attempt.number"] for attempt in attempts] == [1, 2, 3]
    for attempt in attempts[:2]:
        assert attempt.tags["aierrors.error.class"] == "rate_limit"
        assert attempt.tags["aierrors.retryable"] is True
        assert attempt.tags["aierrors.retry_after"] > 0
        assert attempt.tags["error"] is True  # Jaeger's rendering of span status ERROR
    assert "aierrors.error.class" not in attempts[2].tags
    assert all(attempt.tags["aierrors.attempt.backoff"] > 0 for attempt in attempts[1:])
    # The whole trace is there: the demo's application span is the call's parent.
    trace = jaeger.trace(call.trace_id)
    assert trace is not None
    (parent,) = (span for span in trace if span.span_id == call.parent_id)
    assert parent.name == "demo rate_limit_burst"


def _exemplars(run: Run, metric: str) -> list[dict[str, str]]:
    now = time.time()
    data = run.pipeline.prometheus.get(
        "/api/v1/query_exemplars", query=f'{metric}{{job="{SERVICE}"}}', start=str(now - 600), end=str(now)
    )
    return [exemplar["labels"] for series in data for exemplar in series["exemplars"]]


@pytest.mark.parametrize(
    ("metric", "span_attribute"),
    [
        ("gen_ai_client_operation_duration_seconds_bucket", "aierrors.attempt.count"),
        ("aierrors_attempt_duration_seconds_bucket", "aierrors.attempt.number"),
    ],
)
def test_exemplars_link_to_the_call_and_attempt_spans(run: Run, metric: str, span_attribute: str) -> None:
    """Exemplars (OpenMetrics, exemplar storage) name a trace in Jaeger and the span that recorded the point."""
    _wait_for_data(run)
    exemplars = wait_for(f"exemplars of {metric}", lambda: _exemplars(run, metric), 60)
    linked = 0
    for labels in exemplars[-5:]:
        trace_id = labels["trace_id"]
        trace = wait_for(f"trace {trace_id} in Jaeger", lambda t=trace_id: run.pipeline.traces.trace(t), 30)
        (span,) = (span for span in trace if span.span_id == labels["span_id"])
        assert span_attribute in span.tags, f"{metric}: the exemplar points at {span.name!r}, not its own span"
        linked += 1
    assert linked


_DROPPED = re.compile(r"otelcol_(receiver|processor|exporter)_\w*(refused|failed|dropped)\w*_(spans|metric_points)")


def test_the_collector_drops_nothing(run: Run, demo: Demo) -> None:
    """Its own metrics, read last: spans and points accepted and sent, none refused or failed."""
    _wait_for_data(run)
    time.sleep(6)  # one more batch of the collector (5 s): what the demo sent has been exported
    with urllib.request.urlopen(run.pipeline.telemetry_url, timeout=10) as response:
        text = response.read().decode()
    # Counter families by name without `_total` (the collector's own metrics carry none).
    totals = {
        family.name: sum(sample.value for sample in family.samples)
        for family in text_string_to_metric_families(text)
        if family.type == "counter"
    }
    for signal in ("spans", "metric_points"):
        assert totals.get(f"otelcol_receiver_accepted_{signal}", 0) > 0, sorted(totals)
        assert totals.get(f"otelcol_exporter_sent_{signal}", 0) > 0, sorted(totals)
        assert f"otelcol_receiver_refused_{signal}" in totals, sorted(totals)
    dropped = {name: value for name, value in totals.items() if _DROPPED.fullmatch(name) and value}
    assert dropped == {}, f"the collector lost data:{run.pipeline.diagnostics()}"
