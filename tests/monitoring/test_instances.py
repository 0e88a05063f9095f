"""Every shipped PromQL expression adds the replicas of a service up: no series keeps ``instance``.

A fleet runs many processes of one service; each exports its own series, told
apart by ``instance`` (``service.instance.id`` through the collector, the scrape
target when Prometheus scrapes the application). A rule or panel that kept
``instance`` would alert per replica, and a ratio between two series of
different processes would be meaningless. So every selector of a raw metric,
in every recording rule, alert and dashboard query, must sit under an
aggregation that drops ``instance`` (``sum by (...)`` without it, ``sum
without (instance, ...)``, or no grouping at all), and no vector matching or
legend may name it. Selectors of recording rules (``level:metric:operation``)
are already aggregated by the rule that wrote them.
"""

from __future__ import annotations

import promql_parser
import pytest

from . import _assets, _promql

INSTANCE = "instance"
#: Aggregations whose output series are the groups (``topk``, ``bottomk``, ``limitk`` keep the input's labels).
_REDUCING = {"sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "quantile", "count_values"}


def _problems(node: object, aggregated: bool = False) -> list[str]:
    """What in ``node`` keeps ``instance``; ``aggregated``: an enclosing aggregation already drops it."""
    if isinstance(node, promql_parser.VectorSelector):
        if node.name and ":" not in node.name and not aggregated:
            return [f"{node.name} is not summed over instances"]
        return []
    if isinstance(node, promql_parser.MatrixSelector):
        return _problems(node.vector_selector, aggregated)
    if isinstance(node, promql_parser.AggregateExpr):
        found = []
        op = str(node.op)
        drops = aggregated
        if op in _REDUCING:
            modifier = node.modifier
            if modifier is None:
                drops = True
            elif str(modifier.type).endswith("By"):
                if INSTANCE in modifier.labels:
                    found.append(f"{op} by ({', '.join(modifier.labels)}) keeps instance")
                drops = True
            else:
                drops = INSTANCE in modifier.labels or aggregated
        return found + _problems(node.expr, drops) + (_problems(node.param) if node.param is not None else [])
    if isinstance(node, promql_parser.BinaryExpr):
        found = []
        modifier = node.modifier
        if modifier is not None:
            labels = set(modifier.group_labels or ())
            if modifier.matching is not None and str(modifier.matching.type).endswith("Include"):
                labels |= set(modifier.matching.labels)
            if INSTANCE in labels:
                found.append("vector matching on instance")
        return found + _problems(node.lhs, aggregated) + _problems(node.rhs, aggregated)
    if isinstance(node, promql_parser.Call):
        return [problem for argument in node.args for problem in _problems(argument, aggregated)]
    inner = getattr(node, "expr", None)
    return _problems(inner, aggregated) if inner is not None else []


def _expressions() -> list[tuple[str, str]]:
    rules = [(rule.get("record") or rule["alert"], rule["expr"]) for rule in _assets.rules()]
    return rules + [(str(query), query.expr) for query in _assets.queries()]


def test_the_checker_finds_what_keeps_instance() -> None:
    """The check itself: kept, dropped, and the ways PromQL can keep a label."""
    kept = [
        "rate(aierrors_calls_total[5m])",
        "sum by (job, instance) (rate(aierrors_calls_total[5m]))",
        "topk(3, rate(aierrors_calls_total[5m]))",
        "sum without (le) (rate(aierrors_attempts_total[5m]))",
        "sum(rate(a_total[5m])) / on (instance) sum(rate(b_total[5m]))",
    ]
    dropped = [
        "sum by (job) (rate(aierrors_calls_total[5m]))",
        "sum without (instance) (rate(aierrors_calls_total[5m]))",
        "sum(rate(aierrors_calls_total[5m]))",
        "topk(3, sum by (job) (rate(aierrors_calls_total[5m])))",
        "histogram_quantile(0.9, sum by (le, job) (rate(gen_ai_client_operation_duration_seconds_bucket[5m])))",
        "job:aierrors_calls_errors:ratio_rate5m > 0.1",
    ]
    assert all(_problems(_promql.parse(expr)) for expr in kept)
    assert not [expr for expr in dropped if _problems(_promql.parse(expr))]


@pytest.mark.parametrize(("name", "expr"), _expressions(), ids=[name for name, _ in _expressions()])
def test_every_shipped_expression_sums_over_instances(name: str, expr: str) -> None:
    assert not _problems(_promql.parse(expr)), f"{name}:\n{expr}"


def test_no_legend_or_link_names_instance() -> None:
    for query in _assets.queries():
        assert INSTANCE not in query.legend_labels | query.link_labels, str(query)
