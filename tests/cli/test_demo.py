"""``otel-aierrors demo``: its report says what the exported telemetry says.

One demo runs as a subprocess for the module (5 s, seed 7, default output
directory in a temporary working directory); the tests recount its OTLP JSON
files with code of their own and compare with ``report.json`` and the
printed tables. A second run of the same seed, in-process, must tell the
same stories in the same order.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import socket
import time
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from rich.console import Console

import otel_aierrors
from otel_aierrors.cli.demo import DemoOptions, run_demo
from otel_aierrors.cli.demo.workload import SCENARIOS, plan

from .conftest import FakeCollector, clean_env, closed_port, point_value, read_last_metrics, read_spans, run_cli

SEED = 7
#: Enough scenarios for every story to be told at least once, however loaded the machine.
SCENARIOS_RUN = 40

pytestmark = pytest.mark.timeout(90)


class DemoRun:
    def __init__(self, directory: Path, stdout: str, stderr: str, code: int) -> None:
        self.directory = directory
        self.stdout = stdout
        self.stderr = stderr
        self.code = code
        self.report: dict[str, Any] = json.loads((directory / "report.json").read_text(encoding="utf-8"))
        self.spans = read_spans(directory / "traces.jsonl")
        self.metrics = read_last_metrics(directory / "metrics.jsonl")

    def call_spans(self) -> list[dict[str, Any]]:
        return [span for span in self.spans if "aierrors.attempt.count" in span["attrs"]]

    def attempt_spans(self) -> list[dict[str, Any]]:
        return [span for span in self.spans if "aierrors.attempt.number" in span["attrs"]]


def kind_of(attrs: dict[str, Any]) -> str:
    return str(attrs.get("aierrors.error.class") or attrs.get("aierrors.soft_failure") or "-")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    cwd = tmp_path_factory.mktemp("demo")
    result = run_cli(
        "demo", "--scenarios", str(SCENARIOS_RUN), "--seed", str(SEED), "--no-progress", cwd=cwd, timeout=80
    )
    assert result.returncode == 0, result.stderr
    return DemoRun(cwd / "aierrors-demo", result.stdout, result.stderr, result.returncode)


# --- the report equals the files ------------------------------------------------------------
def test_writes_otlp_json_files_in_the_default_directory(demo: DemoRun) -> None:
    for name in ("traces.jsonl", "metrics.jsonl", "report.json"):
        assert (demo.directory / name).is_file()
    first = json.loads((demo.directory / "traces.jsonl").read_text(encoding="utf-8").splitlines()[0])
    span = first["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert re.fullmatch(r"[0-9a-f]{32}", span["traceId"]) and re.fullmatch(r"[0-9a-f]{16}", span["spanId"])
    resource = {pair["key"]: pair["value"] for pair in first["resourceSpans"][0]["resource"]["attributes"]}
    assert resource["service.name"] == {"stringValue": "otel-aierrors-demo"}


def test_calls_by_outcome_and_class_match_the_spans_and_the_counter(demo: DemoRun) -> None:
    from_spans = Counter((span["attrs"]["aierrors.outcome"], kind_of(span["attrs"])) for span in demo.call_spans())
    from_metric: Counter[tuple[str, str]] = Counter()
    for point in demo.metrics["aierrors.calls"]:
        from_metric[(point["attrs"]["aierrors.outcome"], kind_of(point["attrs"]))] += int(point_value(point))
    reported = {(group["outcome"], group["kind"]): group["calls"] for group in demo.report["calls"]}
    assert reported == dict(from_spans) == dict(from_metric)
    assert demo.report["retries"]["calls"] == len(demo.call_spans())


def test_attempts_match_the_spans_and_the_counter(demo: DemoRun) -> None:
    attempts = demo.attempt_spans()
    assert demo.report["retries"]["attempts"] == len(attempts)
    by_call_group: Counter[tuple[str, str]] = Counter()
    for span in demo.call_spans():
        by_call_group[(span["attrs"]["aierrors.outcome"], kind_of(span["attrs"]))] += span["attrs"][
            "aierrors.attempt.count"
        ]
    assert {(g["outcome"], g["kind"]): g["attempts"] for g in demo.report["calls"]} == dict(by_call_group)

    from_metric: Counter[tuple[str, str, str]] = Counter()
    for point in demo.metrics["aierrors.attempts"]:
        attrs = point["attrs"]
        key = (
            attrs["aierrors.outcome"],
            attrs.get("aierrors.error.class", "-"),
            str(attrs.get("http.response.status_code", "-")),
        )
        from_metric[key] += int(point_value(point))
    reported = {(g["outcome"], g["error_class"], g["status"]): g["attempts"] for g in demo.report["attempts"]}
    assert reported == dict(from_metric)
    assert sum(reported.values()) == len(attempts)

    wasted = sum(1 for span in attempts if span["attrs"].get("aierrors.retry.wasted") is True)
    assert demo.report["retries"]["wasted_retries"] == wasted > 0


def test_backoff_and_retry_after_match_the_metrics(demo: DemoRun) -> None:
    backoff = demo.metrics["aierrors.retry.backoff"]
    retries = demo.report["retries"]
    retried = sum(1 for span in demo.attempt_spans() if span["attrs"]["aierrors.attempt.number"] > 1)
    assert retries["backoff_waits"] == retried > 0
    assert retries["backoff_seconds"] == pytest.approx(sum(point_value(point) for point in backoff), abs=1e-3)
    span_backoff = sum(span["attrs"].get("aierrors.attempt.backoff", 0.0) for span in demo.attempt_spans())
    assert retries["backoff_seconds"] == pytest.approx(span_backoff, abs=1e-3)
    asked = demo.metrics["aierrors.server.retry_after"]
    assert retries["retry_after_responses"] == sum(int(point["count"]) for point in asked) > 0
    assert retries["amplification"] == pytest.approx(retries["attempts"] / retries["calls"], abs=1e-3)


def test_soft_failures_match_the_spans(demo: DemoRun) -> None:
    from_spans = Counter(
        span["attrs"]["aierrors.soft_failure"] for span in demo.call_spans() if "aierrors.soft_failure" in span["attrs"]
    )
    assert demo.report["soft_failures"] == dict(from_spans)
    assert {"truncated", "content_filter", "refusal"} <= set(from_spans)


@pytest.mark.skipif(not hasattr(otel_aierrors, "fallback_scope"), reason="fallback scopes not in this build")
def test_fallback_hops_match_the_spans_and_the_counter(demo: DemoRun) -> None:
    from_metric: Counter[tuple[str, str, str, str]] = Counter()
    for point in demo.metrics["aierrors.fallback.hops"]:
        attrs = point["attrs"]
        key = tuple(attrs[f"aierrors.fallback.{name}"] for name in ("kind", "reason", "from_model", "to_model"))
        from_metric[key] += int(point_value(point))  # type: ignore[index]
    reported = {
        (h["kind"], h["reason"], h["from_model"], h["to_model"]): h["hops"] for h in demo.report["fallback_hops"]
    }
    assert reported == dict(from_metric)
    hop_spans = Counter(
        span["attrs"]["aierrors.fallback.kind"]
        for span in demo.call_spans()
        if span["attrs"].get("aierrors.fallback.hop", 0) > 0
    )
    by_kind: Counter[str] = Counter()
    for (kind, *_), count in from_metric.items():
        if kind != "gateway":
            by_kind[kind] += count
    assert dict(hop_spans) == dict(by_kind)
    assert {"key", "model"} <= set(hop_spans)
    gateway_spans = sum(1 for span in demo.call_spans() if span["attrs"].get("aierrors.fallback.kind") == "gateway")
    assert sum(count for (kind, *_), count in from_metric.items() if kind == "gateway") == gateway_spans > 0
    scopes = [span for span in demo.spans if span["name"].startswith("fallback ")]
    assert sum(tally["scopes"] for tally in demo.report["fallback_scopes"].values()) == len(scopes) > 0


def test_every_failure_story_is_told(demo: DemoRun) -> None:
    classes = {group["kind"] for group in demo.report["calls"] if group["outcome"] == "error"}
    assert {"rate_limit", "quota_exhausted", "upstream_error", "stream_interrupted", "auth"} <= classes
    assert set(demo.report["scenarios"]) == {scenario.name for scenario in SCENARIOS}
    assert all(agreement["agrees"] for agreement in demo.report["agreements"])


def test_the_report_shows_breakers_rejected_answers_and_jobs(demo: DemoRun) -> None:
    report = demo.report
    transitions = {(g["name"], g["from_state"], g["to_state"]) for g in report["breaker_transitions"]}
    assert ("demo-upstream", "closed", "open") in transitions
    assert {group["kind"] for group in report["calls"] if group["outcome"] == "error"} >= {"circuit_open"}
    assert report["rejected_answers"].get("schema", 0) >= 1
    assert report["jobs"].get("response failed", 0) >= 1


def test_slowest_traces_are_the_slowest_root_spans(demo: DemoRun) -> None:
    roots = [span for span in demo.spans if "parentSpanId" not in span]
    # The report shows milliseconds and breaks ties by trace id; recount the same way.
    durations = sorted(
        (-round((int(span["endTimeUnixNano"]) - int(span["startTimeUnixNano"])) / 1e9, 3), span["traceId"])
        for span in roots
    )
    reported = demo.report["slowest"]
    assert [summary["trace_id"] for summary in reported] == [trace_id for _, trace_id in durations[: len(reported)]]
    for summary in reported:
        members = [span for span in demo.spans if span["traceId"] == summary["trace_id"]]
        assert summary["calls"] == sum(1 for span in members if "aierrors.attempt.count" in span["attrs"])
        assert summary["attempts"] == sum(1 for span in members if "aierrors.attempt.number" in span["attrs"])
        assert summary["trace_id"] in demo.stdout


def test_scenarios_are_read_from_the_root_spans_in_order(demo: DemoRun) -> None:
    roots = sorted(
        (span for span in demo.spans if "demo.scenario" in span["attrs"]),
        key=lambda span: int(span["startTimeUnixNano"]),
    )
    assert demo.report["scenarios"] == [span["attrs"]["demo.scenario"] for span in roots]


def test_printed_tables_show_the_reported_numbers(demo: DemoRun) -> None:
    retries = demo.report["retries"]
    assert re.search(
        rf"\ball\s+{retries['calls']}\s+{retries['attempts']}\s+{retries['amplification']:.2f}", demo.stdout
    )
    for group in demo.report["calls"]:
        assert re.search(rf"{group['outcome']}\s+{re.escape(group['kind'])}\s+{group['calls']}\b", demo.stdout), group
    assert "Spans and metrics agree" in demo.stdout
    assert "✗" not in demo.stdout


# --- the same seed, the same run ------------------------------------------------------------
def stories(run_spans: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """(scenario, sorted call outcomes) per scenario, in start order."""
    calls: dict[str, list[str]] = defaultdict(list)
    for span in run_spans:
        if "aierrors.attempt.count" in span["attrs"]:
            calls[span["traceId"]].append(f"{span['attrs']['aierrors.outcome']}:{kind_of(span['attrs'])}")
    roots = sorted((s for s in run_spans if "demo.scenario" in s["attrs"]), key=lambda s: int(s["startTimeUnixNano"]))
    return [(root["attrs"]["demo.scenario"], sorted(calls[root["traceId"]])) for root in roots]


def test_the_same_seed_runs_the_same_scenarios_in_the_same_order(
    demo: DemoRun, tmp_path: Path, no_otel_env: None
) -> None:
    out = io.StringIO()
    code = run_demo(
        DemoOptions(scenarios=SCENARIOS_RUN, seed=SEED, output_dir=tmp_path, progress=False, json=True),
        Console(file=out, width=120),
        Console(file=io.StringIO()),
    )
    assert code == 0
    again = json.loads(out.getvalue())
    first, second = demo.report["scenarios"], again["scenarios"]
    common = SCENARIOS_RUN
    assert len(first) == len(second) == common >= len(SCENARIOS)
    assert first == second
    planned = plan(SEED)
    assert first[:common] == [next(planned).name for _ in range(common)]
    assert stories(demo.spans)[:common] == stories(read_spans(tmp_path / "traces.jsonl"))[:common]


def test_another_seed_runs_another_order() -> None:
    first = [scenario.name for scenario in itertools.islice(plan(SEED), 40)]
    other = [scenario.name for scenario in itertools.islice(plan(SEED + 1), 40)]
    assert first != other
    assert sorted(first[: len(SCENARIOS)]) == sorted(scenario.name for scenario in SCENARIOS)


# --- other destinations -------------------------------------------------------------------
def test_with_an_otlp_endpoint_telemetry_goes_to_the_collector(collector: FakeCollector, tmp_path: Path) -> None:
    env = clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint)
    result = run_cli("demo", "--duration", "1", "--no-progress", "--json", env=env, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "aierrors-demo").exists()
    report = json.loads(result.stdout)
    spans = [
        span
        for body in collector.received["/v1/traces"]
        for resource in ExportTraceServiceRequest.FromString(body).resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    calls = [span for span in spans if any(kv.key == "aierrors.attempt.count" for kv in span.attributes)]
    assert len(calls) == report["retries"]["calls"] > 0
    metric_names = {
        metric.name
        for body in collector.received["/v1/metrics"]
        for resource in ExportMetricsServiceRequest.FromString(body).resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    assert {"aierrors.calls", "aierrors.attempts", "gen_ai.client.operation.duration"} <= metric_names
    assert any(collector.endpoint in destination for destination in report["run"]["destinations"])


def test_an_unreachable_collector_does_not_hold_the_demo(tmp_path: Path) -> None:
    env = clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{closed_port()}")
    started = time.monotonic()
    result = run_cli("demo", "--duration", "1", "--no-progress", env=env, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 20
    assert "nothing answers at 127.0.0.1" in result.stderr
    report = json.loads((tmp_path / "aierrors-demo" / "report.json").read_text(encoding="utf-8"))
    assert len(read_spans(tmp_path / "aierrors-demo" / "traces.jsonl")) > report["retries"]["calls"] > 0
    # It does not claim what did not happen: every OTLP export failed, and it says so and where the files are.
    assert report["run"]["otlp_exports"]["succeeded"] == 0
    assert report["run"]["otlp_exports"]["failed"] > 0
    assert "were sent" not in result.stdout
    assert "exports over OTLP http/protobuf" in result.stdout and "failed" in result.stdout
    assert "the files above" in result.stdout


def test_a_collector_that_accepts_is_reported_as_sent(collector: FakeCollector, tmp_path: Path) -> None:
    env = clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint, COLUMNS="80")
    result = run_cli("demo", "--scenarios", "3", "--no-progress", env=env, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"were sent over OTLP http/protobuf to {collector.endpoint}" in result.stdout


def test_busy_prometheus_port_names_the_port_and_the_flag(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("demo", "--scenarios", "1", "--no-progress", "--prometheus-port", str(port), cwd=tmp_path)
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in result.stderr
    assert "--prometheus-port" in result.stderr


def test_linger_without_prometheus_port_is_a_usage_error() -> None:
    result = run_cli("demo", "--linger", "5")
    assert result.returncode == 2
    assert "--linger" in result.stderr and "--prometheus-port" in result.stderr


def test_copy_paste_lines_are_not_wrapped(tmp_path: Path) -> None:
    env = clean_env(COLUMNS="60")
    result = run_cli("demo", "--scenarios", "2", "--no-progress", env=env, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    jq = next(line for line in result.stdout.splitlines() if "jq -c" in line)
    assert jq.rstrip().endswith("traces.jsonl")  # the whole command on one line, however narrow the terminal


def test_prometheus_endpoint_serves_the_metrics(spawn: Any, tmp_path: Path) -> None:
    port = closed_port()
    running = spawn(
        "demo", "--duration", "1", "--seed", "0", "--no-progress", "--prometheus-port", str(port), "--linger", "30",
        "--output-dir", str(tmp_path), cwd=tmp_path,
    )  # fmt: skip
    running.wait_for_line(f"serving http://127.0.0.1:{port}/metrics", timeout=45)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    assert "aierrors_calls_total{" in text
    assert "aierrors_attempts_total{" in text
    # The first scenario of seed 0 always runs: a burst of 429s (rate_limit_burst), then answers.
    assert re.search(r'aierrors_attempts_total\{[^}]*aierrors_error_class="rate_limit"', text)


def test_duration_is_bounded() -> None:
    result = run_cli("demo", "--duration", "100000")
    assert result.returncode == 2
    assert "between" in result.stderr
