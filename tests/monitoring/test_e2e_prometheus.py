"""End to end: a real Prometheus scrapes an instrumented app; the alerts fire and resolve.

The app is ``deploy/demo/traffic.py`` in a subprocess: the real ``openai`` SDK,
instrumented with ``otel_aierrors.instrument(meter_provider=MeterProvider(
metric_readers=[PrometheusMetricReader()]))``, against the chaos server, with
``prometheus_client`` serving ``/metrics`` on 127.0.0.1. Prometheus runs on
127.0.0.1 with a temporary data directory, scraping and evaluating every
second, and loads the rules rendered by ``grafana/generate.py --windows-scale
1/60``: the production rules with every window divided by 60 (1h -> 1m, 5m ->
5s, ``for: 2m`` -> 2s), nothing else changed.

Story: healthy traffic (no budget-burn nor authentication alert for the SLO
model), then an incident (the chaos server's ``outage`` profile for the
unscripted SLO traffic, plus a revoked key): the 14.4x burn-rate page and the
authentication alert must reach ``firing``; then healthy again: both must
resolve. With the same Prometheus, every query of every dashboard panel must
return at least one series, with the labels its legend and trace links read.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml

from . import _assets, _contract, _promql
from ._procs import Process, PrometheusAPI, free_port, require, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

SERVICE = "aierrors-demo"
SLO_MODEL = "gpt-4o-mini"
SCALE = Fraction(1, 60)
#: Hard limits: no process outlives the test by more than this.
APP_SECONDS = 240
PROMETHEUS_SECONDS = 260
#: What the dashboards' variables and Grafana's built-ins are replaced with.
RATE_INTERVAL = "30s"
RANGE = "5m"


@dataclass
class Stack:
    prometheus: PrometheusAPI
    app: Process
    server: Process
    control: Path
    rules_dir: Path
    #: The application's ``OTEL_SEMCONV_STABILITY_OPT_IN`` ("" when unset).
    switch: str
    timings: dict[str, float] = field(default_factory=dict)
    #: Why data never came (per kind, see ``_wait_for_data``), once a test found out: the next fail at once.
    missing_data: dict[str, str] = field(default_factory=dict)

    def phase(self, phase: str) -> None:
        tmp = self.control.with_suffix(".tmp")
        tmp.write_text(json.dumps({"phase": phase}), encoding="utf-8")
        tmp.replace(self.control)

    def alerts(self, name: str, **labels: str) -> list[dict[str, Any]]:
        return [
            alert
            for alert in self.prometheus.alerts()
            if alert["labels"]["alertname"] == name
            and all(alert["labels"].get(key) == value for key, value in labels.items())
        ]

    def diagnostics(self) -> str:
        return (
            f"\n--- app log (tail) ---\n{self.app.output()[-3000:]}"
            f"\n--- prometheus log (tail) ---\n{self.server.output()[-3000:]}"
        )


def _prometheus_config(path: Path, rules_dir: Path, app_port: int) -> None:
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules_dir / "*.yaml")],
        "scrape_configs": [
            {
                # As the collector would label it: job = the app's service.name.
                "job_name": SERVICE,
                "static_configs": [{"targets": [f"127.0.0.1:{app_port}"]}],
            }
        ],
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def _app_env(switch: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "OTEL_SEMCONV_STABILITY_OPT_IN"}
    if switch:
        env["OTEL_SEMCONV_STABILITY_OPT_IN"] = switch
    return env


@pytest.fixture(scope="module", params=_contract.SWITCHES, ids=lambda switch: switch or "default")
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require("prometheus", "promtool", "timeout")
    switch: str = request.param
    tmp = tmp_path_factory.mktemp("e2e-prometheus")
    started = time.monotonic()

    # The test variant of the rules: production windows divided by 60.
    assert _assets.generator().main(["--windows-scale", "1/60", "--out", str(tmp)]) == 0
    rules_dir = tmp / "rules"

    control = tmp / "control.json"
    control.write_text(json.dumps({"phase": "healthy"}), encoding="utf-8")
    app_port = free_port()
    app = Process(
        "traffic app",
        [
            sys.executable,
            str(_assets.TRAFFIC_APP),
            "--service",
            SERVICE,
            "--prometheus-port",
            str(app_port),
            "--control",
            str(control),
            "--duration",
            str(APP_SECONDS - 10),
        ],
        tmp / "app.log",
        APP_SECONDS,
        cwd=_assets.ROOT,
        env=_app_env(switch),
    )
    server: Process | None = None
    try:
        wait_for("the traffic app to serve", lambda: "AIERRORS-TRAFFIC-READY" in app.output() or not app.alive(), 60)
        assert app.alive(), f"the traffic app exited:\n{app.output()}"

        prom_port = free_port()
        config = tmp / "prometheus.yml"
        _prometheus_config(config, rules_dir, app_port)
        server = Process(
            "prometheus",
            [
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp / 'data'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
                "--storage.tsdb.retention.time=1h",
                "--log.level=warn",
            ],
            tmp / "prometheus.log",
            PROMETHEUS_SECONDS,
        )
        api = PrometheusAPI(f"http://127.0.0.1:{prom_port}")
        wait_for("Prometheus to be ready", lambda: api.ready() or not server.alive(), 60)
        assert server.alive(), f"Prometheus exited:\n{server.output()}"
        the_stack = Stack(api, app, server, control, rules_dir, switch)
        the_stack.timings["startup"] = time.monotonic() - started
        yield the_stack
    finally:
        # By their own PIDs, even on failure; the time limits cover a killed pytest.
        if server is not None:
            server.stop()
        app.stop()


def _first_chunk_count(switch: str) -> str:
    """The scraped count of the time-to-first-chunk histogram under ``switch``."""
    (metric,) = (m for m in _contract.load().exported(switch).values() if m.name.endswith(".time_to_first_chunk"))
    return f"{metric.prometheus_name}_count"


def _needed(stack: Stack, genai: bool) -> list[str]:
    if genai:
        # The GenAI metrics of the application's conventions, and the rules that unify them.
        return [
            _first_chunk_count(stack.switch),
            "job_gen_ai_provider_name_server_address_gen_ai_request_model:gen_ai_client_tokens:rate5m",
            "job_gen_ai_provider_name_server_address_gen_ai_request_model:gen_ai_client_duration_seconds_sum:rate5m",
        ]
    return [
        f'aierrors_calls_total{{gen_ai_request_model="{SLO_MODEL}"}}',
        'aierrors_calls_total{aierrors_error_class="stream_interrupted"}',
        'aierrors_calls_total{aierrors_stream_abandoned="true"}',
        'aierrors_attempts_total{aierrors_retry_wasted="true"}',
        "aierrors_fallback_hops_total",
        "aierrors_ratelimit_remaining",
        'aierrors_calls_total{aierrors_error_class="circuit_open"}',
        "aierrors_breaker_transitions_total",
        "aierrors_jobs_total",
        "aierrors_rejections_total",
        "job_gen_ai_provider_name_server_address_gen_ai_request_model:aierrors_calls_errors:ratio_rate3d",
    ]


def _wait_for_data(stack: Stack, genai: bool = True) -> None:
    """Until every kind of series the test reads has been scraped (and rates have two points).

    ``genai=False`` waits for the ``aierrors_*`` series only, which do not depend on the conventions.
    """
    for kind in ("aierrors", "genai") if genai else ("aierrors",):
        if kind in stack.missing_data:
            raise AssertionError(f"an earlier test waited in vain: {stack.missing_data[kind]}")
        try:
            for selector in _needed(stack, genai=kind == "genai"):
                wait_for(
                    f"{selector} to have a rate",
                    lambda s=selector: (
                        stack.prometheus.query(f"rate({s}[5s])") if ":" not in s else stack.prometheus.query(s)
                    ),
                    60,
                )
        except AssertionError as exc:
            stack.missing_data[kind] = f"{exc} ({stack.switch or 'default'} conventions){stack.diagnostics()}"
            raise AssertionError(stack.missing_data[kind]) from None


def _reads_genai(expr: str) -> bool:
    return any(name.startswith("gen_ai_") or ":gen_ai_" in name for name in _promql.names(expr).metrics)


def test_burn_rate_and_authentication_alerts_fire_during_an_incident_and_resolve_after(stack: Stack) -> None:
    try:
        _wait_for_data(stack, genai=False)
        # Healthy: stays silent. Long enough for the scaled 1h window (1m) to hold only healthy data.
        time.sleep(8)
        assert stack.alerts("AIErrorsErrorBudgetBurn", gen_ai_request_model=SLO_MODEL) == []
        assert stack.alerts("AIErrorsAuthenticationFailures") == []

        stack.phase("incident")
        incident = time.monotonic()

        def firing() -> bool:
            page = stack.alerts("AIErrorsErrorBudgetBurn", gen_ai_request_model=SLO_MODEL, long="1h")
            auth = stack.alerts("AIErrorsAuthenticationFailures", job=SERVICE, server_address="127.0.0.1")
            return bool(page and auth and page[0]["state"] == auth[0]["state"] == "firing")

        wait_for("the burn-rate page and the authentication alert to fire", firing, 60)
        stack.timings["to firing"] = time.monotonic() - incident
        (page,) = stack.alerts("AIErrorsErrorBudgetBurn", gen_ai_request_model=SLO_MODEL, long="1h")
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
        assert "model gpt-4o-mini of openai at 127.0.0.1 (job aierrors-demo)" in page["annotations"]["description"]
        assert page["annotations"]["runbook_url"].endswith("docs/runbooks.md#aierrorserrorbudgetburn")
        (auth,) = stack.alerts("AIErrorsAuthenticationFailures")
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
            page = stack.alerts("AIErrorsErrorBudgetBurn", gen_ai_request_model=SLO_MODEL, long="1h")
            return not page and not stack.alerts("AIErrorsAuthenticationFailures")

        wait_for("the burn-rate page and the authentication alert to resolve", resolved, 90)
        stack.timings["to resolved"] = time.monotonic() - recovery
        print(f"\ne2e timings (s): {json.dumps({k: round(v, 1) for k, v in stack.timings.items()})}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}{stack.diagnostics()}") from None
    finally:
        stack.phase("healthy")


def test_the_rules_evaluate_without_errors(stack: Stack) -> None:
    _wait_for_data(stack)
    rules = stack.prometheus.rules()
    expected = {rule.get("record") or rule["alert"] for rule in _assets.rules()}
    assert {rule["name"] for rule in rules} == expected
    broken = [(rule["name"], rule.get("lastError")) for rule in rules if rule["health"] != "ok"]
    assert broken == []
    for rule in _assets.rules():
        if "record" in rule:
            assert stack.prometheus.query(rule["record"]), f"{rule['record']} recorded nothing"


def test_scraped_names_are_the_contracts(stack: Stack) -> None:
    """The installed Python exporter names series and labels as docs/telemetry.md says."""
    _wait_for_data(stack)
    contract = _contract.load()
    series = contract.series(stack.switch)
    scraped: dict[str, set[str]] = {}
    for sample in stack.prometheus.query(f'{{__name__=~"aierrors_.+|gen_ai_.+", job="{SERVICE}"}}'):
        labels = dict(sample["metric"])
        scraped.setdefault(labels.pop("__name__"), set()).update(labels)
    if stack.switch:
        # The latest conventions have metrics the demo traffic never records (embeddings, cache and
        # reasoning tokens): every scraped name is the contract's, and every one the dashboards read is scraped.
        assert set(scraped) <= set(series), f"not in docs/telemetry.md: {set(scraped) - set(series)}"
        read = {name for query in _assets.queries() for name in _promql.names(query.expr).metrics}
        read |= {name for rule in _assets.rules() for name in _promql.names(rule["expr"]).metrics}
        expected = {name for name in read if name in series and not name.startswith("gen_ai_client_embeddings")}
        assert expected <= set(scraped), f"read by rules or dashboards and never scraped: {expected - set(scraped)}"
    else:
        assert set(scraped) == set(series), "scraped series names differ from docs/telemetry.md's Prometheus names"
    for name, labels in scraped.items():
        assert labels <= series[name].labels, f"{name}: labels not in docs/telemetry.md: {labels - series[name].labels}"
    assert stack.prometheus.query(f'target_info{{job="{SERVICE}", service_name="{SERVICE}"}}')


def _values(dashboard: dict[str, Any]) -> dict[str, str]:
    """Values for every variable: real ones where they exist, else ``.*`` (Grafana's All)."""
    values = {"job": SERVICE, "provider": "openai", "server": "127.0.0.1", "model": ".*", "datasource": "prometheus"}
    for name, variable in _assets.variables(dashboard).items():
        if variable["type"] in ("constant", "textbox"):
            values.setdefault(name, variable["query"])
        values.setdefault(name, ".*")
    values.update({"__rate_interval": RATE_INTERVAL, "__range": RANGE, "__interval": "15s"})
    return values


@pytest.mark.parametrize("query", _assets.queries(), ids=str)
def test_every_dashboard_query_returns_series(stack: Stack, query: _assets.Query) -> None:
    _wait_for_data(stack, genai=_reads_genai(query.expr))
    dashboard = _assets.dashboards()[query.dashboard]
    expr = _assets.substitute(query.expr, _values(dashboard))
    result = stack.prometheus.query(expr)
    assert result, f"no series for {query}:\n{expr}"
    labels = set().union(*(sample["metric"] for sample in result))
    assert query.legend_labels <= labels, f"legend reads labels no series has: {query.legend_labels - labels}"
    assert query.link_labels <= labels, f"trace links read labels no series has: {query.link_labels - labels}"


def test_dashboard_variables_have_values(stack: Stack) -> None:
    _wait_for_data(stack, genai=False)
    for name, dashboard in _assets.dashboards().items():
        values = _values(dashboard)
        for variable in _assets.variables(dashboard).values():
            if variable["type"] != "query":
                continue
            selector, _, label = _promql.label_values_query(_assets.substitute(variable["query"]["query"], values))
            found = stack.prometheus.label_values(label, selector)
            assert found, f"{name}: ${variable['name']} has no value"
        assert SERVICE in stack.prometheus.label_values("job", "aierrors_calls_total")
