"""Every metric and label name in grafana/ (rules and dashboards) is one of docs/telemetry.md.

Names are compared in their Prometheus form, translated from the document as
the document says (``_contract``). Recording rules defined in grafana/rules
may be used wherever their own labels allow.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from . import _assets, _contract, _promql

#: Labels of alerts (ours and Prometheus's) that annotations may read.
ALERT_LABELS = frozenset({"severity", "long", "short", "alertname", "alertstate"})

CONTRACT = _contract.load()
_LATEST = "gen_ai_latest_experimental"


def _recorded() -> dict[str, set[str]]:
    """Recording rule -> label names its series keep."""
    return {rule["record"]: _promql.names(rule["expr"]).labels for rule in _assets.rules() if "record" in rule}


def violations(expr: str, contract: _contract.Contract, recorded: dict[str, set[str]]) -> list[str]:
    """What in ``expr`` is neither in the contract nor recorded by our rules."""
    found = _promql.names(expr)
    series = contract.series()
    allowed_everywhere = contract.all_labels() | set().union(*recorded.values(), set())
    problems = []
    for metric, labels in found.metrics.items():
        if metric in series:
            unknown = labels - series[metric].labels
        elif metric in recorded:
            unknown = labels - recorded[metric]
        elif metric == "ALERTS":
            unknown = labels - allowed_everywhere - ALERT_LABELS
        else:
            problems.append(f"metric {metric!r} is not in docs/telemetry.md (nor recorded by grafana/rules)")
            continue
        problems.extend(f"label {label!r} is not a label of {metric}" for label in sorted(unknown))
    problems.extend(
        f"label {label!r} is not in docs/telemetry.md" for label in sorted(found.labels - allowed_everywhere)
    )
    return problems


def test_the_prometheus_names_of_the_contract_follow_its_own_translation_rule() -> None:
    for metric in (CONTRACT.metrics | CONTRACT.latest).values():
        assert metric.documented_prometheus_name == metric.prometheus_name, metric.name


def test_the_generators_genai_names_are_the_contracts_under_each_switch() -> None:
    """grafana/aierrors_mixin/genai.py names both sets; docs/telemetry.md is the source of truth."""
    genai = _assets.mixin_module("genai")
    for names, documented in ((genai.LEGACY, CONTRACT.exported("")), (genai.LATEST, CONTRACT.exported(_LATEST))):
        for metric in names.values():
            assert metric.name in documented, metric.name
            contract = documented[metric.name]
            assert (metric.instrument, metric.unit, metric.prometheus) == (
                contract.instrument,
                contract.unit,
                contract.prometheus_name,
            ), metric.name
    assert not set(CONTRACT.exported(_LATEST)) & {metric.name for metric in genai.LEGACY.values()}


def test_the_checker_catches_names_outside_the_contract() -> None:
    recorded = _recorded()
    ok = 'sum by (job) (rate(aierrors_calls_total{aierrors_outcome="error"}[5m]))'
    assert violations(ok, CONTRACT, recorded) == []
    assert violations("aierrors_call_total", CONTRACT, recorded) == [
        "metric 'aierrors_call_total' is not in docs/telemetry.md (nor recorded by grafana/rules)"
    ]
    assert violations('aierrors_calls_total{aierrors_errorclass="auth"}', CONTRACT, recorded) == [
        "label 'aierrors_errorclass' is not a label of aierrors_calls_total"
    ]
    # A real label, on a metric that does not carry it.
    assert violations('aierrors_fallback_hops_total{gen_ai_request_model="x"}', CONTRACT, recorded) == [
        "label 'gen_ai_request_model' is not a label of aierrors_fallback_hops_total"
    ]
    assert violations("sum by (model) (aierrors_calls_total)", CONTRACT, recorded) == [
        "label 'model' is not in docs/telemetry.md"
    ]
    # The seconds suffix is part of the name; the buckets only exist for histograms.
    assert violations("aierrors_attempt_duration_bucket", CONTRACT, recorded) != []
    assert violations("aierrors_calls_total_bucket", CONTRACT, recorded) != []


def _rule_params() -> list[Any]:
    return [pytest.param(rule, id=rule.get("record") or rule["alert"]) for rule in _assets.rules()]


@pytest.mark.parametrize("rule", _rule_params())
def test_rule_expressions_use_contract_names(rule: dict[str, Any]) -> None:
    assert violations(rule["expr"], CONTRACT, _recorded()) == []


def test_rule_annotations_read_labels_the_alert_has() -> None:
    recorded = _recorded()
    for rule in _assets.rules():
        if "alert" not in rule:
            continue
        found = _promql.names(rule["expr"])
        labels = set(found.labels).union(*(recorded.get(m, set()) for m in found.metrics)) | ALERT_LABELS
        for text in rule["annotations"].values():
            for label in re.findall(r"\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)", text):
                assert label in labels, f"{rule['alert']}: $labels.{label} is not a label of the alert"


@pytest.mark.parametrize("query", _assets.queries(), ids=str)
def test_dashboard_queries_use_contract_names(query: _assets.Query) -> None:
    assert violations(query.expr, CONTRACT, _recorded()) == []
    allowed = CONTRACT.all_labels() | {"__name__"}
    assert query.legend_labels <= allowed, query.legend
    assert query.link_labels <= allowed, query.link_labels


def test_dashboard_variables_use_contract_names() -> None:
    series = CONTRACT.series()
    for name, dashboard in _assets.dashboards().items():
        for variable in _assets.variables(dashboard).values():
            if variable["type"] != "query":
                continue
            selector, metric, label = _promql.label_values_query(variable["query"]["query"])
            assert metric in series, f"{name}: ${variable['name']}"
            assert label in series[metric].labels, f"{name}: ${variable['name']}"
            assert violations(selector, CONTRACT, _recorded()) == [], f"{name}: ${variable['name']}"


def test_trace_links_search_for_span_attributes_of_the_contract() -> None:
    for name, dashboard in _assets.dashboards().items():
        for panel in _assets.panels(dashboard):
            attributes = _assets.link_attributes(panel)
            assert attributes <= CONTRACT.span_attributes, f"{name} / {panel['title']}: {attributes}"
