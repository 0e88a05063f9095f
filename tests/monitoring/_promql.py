"""Just enough PromQL lexing to list the metric and label names an expression uses.

Not a parser: it relies on the shapes our rules and dashboards use (selectors
``name{label="value"}``, grouping ``by (...)``/``on (...)``/``ignoring (...)``,
``group_left``), and it is tested on expressions with known names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_COMMENT = re.compile(r"#[^\n]*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^{}]*)\}")
_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*\"")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)")
_RANGE = re.compile(r"\[[^\]]*\]")
_VARIABLE = re.compile(r"\$\{?[a-zA-Z_][a-zA-Z0-9_]*(?::[a-z]+)?\}?")
_IDENT = re.compile(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")
_NUMBER = re.compile(r"(?<![\w:])\d[\w.]*")

KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right",
     "inf", "nan", "Inf", "NaN", "atan2"}
)  # fmt: skip


@dataclass
class Names:
    #: Metric names, each with the label names its own selector matches on.
    metrics: dict[str, set[str]] = field(default_factory=dict)
    #: Label names in grouping clauses (by, on, ignoring, group_left...) and bare selectors.
    labels: set[str] = field(default_factory=set)

    def all_labels(self) -> set[str]:
        return self.labels.union(*self.metrics.values()) if self.metrics else set(self.labels)


def names(expr: str) -> Names:
    """Return the metric and label names used by ``expr``."""
    out = Names()
    text = _COMMENT.sub(" ", expr)
    # Label matchers first: the values (strings) may contain anything.
    for match in _SELECTOR.finditer(text):
        metric, body = match.group(1), match.group(2)
        labels = {m[0] for m in _MATCHER.findall(body)}
        if metric and metric not in KEYWORDS:
            out.metrics.setdefault(metric, set()).update(labels)
        else:
            out.labels.update(labels)
    text = _SELECTOR.sub(lambda m: (m.group(1) or "") + " ", text)
    text = _STRING.sub(" ", text)
    for match in _GROUPING.finditer(text):
        out.labels.update(label.strip() for label in match.group(2).split(",") if label.strip())
    text = _GROUPING.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _VARIABLE.sub(" ", text)
    text = _NUMBER.sub(" ", text)
    for match in _IDENT.finditer(text):
        ident, call = match.group(1), match.group(2)
        if call or ident in KEYWORDS:
            continue  # a function or an aggregation operator
        out.metrics.setdefault(ident, set())
    return out


def label_values_query(query: str) -> tuple[str, str, str]:
    """Split a Grafana ``label_values(metric{...}, label)`` query into (selector, metric, label)."""
    match = re.fullmatch(r"\s*label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*", query, re.S)
    if not match:
        raise ValueError(f"not a label_values() query: {query!r}")
    selector = match.group(1).strip()
    metric = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", selector)
    if not metric:
        raise ValueError(f"label_values() without a metric: {query!r}")
    return selector, metric.group(0), match.group(2)
