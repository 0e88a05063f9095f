"""The metric and label names a PromQL expression uses, read from its syntax tree (``promql-parser``).

Grafana's variables are not PromQL: ranges such as ``[$__rate_interval]`` and
bare variables (``$objective``) are replaced by placeholders before parsing;
variables inside label values (``job=~"$job"``) are strings and stay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import promql_parser

__all__ = ["Names", "label_values_query", "names", "parse"]

_RANGE_VARIABLE = re.compile(r"\[\$\{?__[a-z_]+\}?\]")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_VARIABLE = re.compile(r"\$\{?[a-zA-Z_][a-zA-Z0-9_]*(?::[a-z]+)?\}?")
_COMMENT = re.compile(r"#[^\n]*")
#: Functions whose string arguments at these positions are label names.
_LABEL_ARGUMENTS = {"label_replace": (1, 3), "label_join": (1,)}


@dataclass
class Names:
    #: Metric names, each with the label names its own selector matches on.
    metrics: dict[str, set[str]] = field(default_factory=dict)
    #: Label names in grouping clauses (by, on, ignoring, group_left...), bare selectors and label functions.
    labels: set[str] = field(default_factory=set)

    def all_labels(self) -> set[str]:
        return self.labels.union(*self.metrics.values()) if self.metrics else set(self.labels)


def _outside_strings(text: str, pattern: re.Pattern[str], replacement: str) -> str:
    """Replace ``pattern`` in ``text`` except inside string literals."""
    parts = []
    last = 0
    for string in _STRING.finditer(text):
        parts.append(pattern.sub(replacement, text[last : string.start()]))
        parts.append(string.group(0))
        last = string.end()
    parts.append(pattern.sub(replacement, text[last:]))
    return "".join(parts)


def parse(expr: str) -> promql_parser.Expr:
    """Parse ``expr``, Grafana variables outside label values replaced by placeholders."""
    text = _outside_strings(expr, _COMMENT, "")
    text = _outside_strings(text, _RANGE_VARIABLE, "[1m]")
    text = _outside_strings(text, _VARIABLE, "1")
    return promql_parser.parse(text)


def names(expr: str) -> Names:
    """Return the metric and label names used by ``expr``."""
    out = Names()

    def visit(node: object) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            labels = {matcher.name for matcher in node.matchers.matchers if matcher.name != "__name__"}
            if node.name:
                out.metrics.setdefault(node.name, set()).update(labels)
            else:
                out.labels.update(labels)
        elif isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
            out.labels.update(node.modifier.labels)
        elif isinstance(node, promql_parser.BinaryExpr) and node.modifier is not None:
            modifier = node.modifier
            if modifier.matching is not None:
                out.labels.update(modifier.matching.labels)
            out.labels.update(modifier.group_labels or ())
        elif isinstance(node, promql_parser.Call):
            for position in _LABEL_ARGUMENTS.get(node.func.name, ()):
                argument = node.args[position]
                if isinstance(argument, promql_parser.StringLiteral) and argument.val:
                    out.labels.add(argument.val)

    promql_parser.walk(parse(expr), pre_visit=visit)
    return out


def label_values_query(query: str) -> tuple[str, str, str]:
    """Split a Grafana ``label_values(metric{...}, label)`` query into (selector, metric, label)."""
    match = re.fullmatch(r"\s*label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*", query, re.S)
    if not match:
        raise ValueError(f"not a label_values() query: {query!r}")
    selector = match.group(1).strip()
    metric = parse(selector)
    if not isinstance(metric, promql_parser.VectorSelector) or not metric.name:
        raise ValueError(f"label_values() without a metric: {query!r}")
    return selector, metric.name, match.group(2)
