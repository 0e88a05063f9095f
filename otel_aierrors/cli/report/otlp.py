"""Reading OTLP JSON lines: what ``otel-aierrors demo`` and the collector's ``file`` exporter write.

Each line is one ``ExportTraceServiceRequest`` (``resourceSpans``) or
``ExportMetricsServiceRequest`` (``resourceMetrics``) in the OTLP/JSON
encoding: ids in hex, 64-bit integers as strings (protobuf's JSON mapping,
which both writers use), enums as integers. A file may hold both kinds.
Metric points are kept as the last one of each series when the temporality is
cumulative (the demo, and the SDK's default), and summed when it is delta; so
``Point.value`` is the series' total over the run either way.

Parsed by hand (``json`` plus a few field reads): the only maintained parser of
this encoding, protobuf's ``json_format``, rejects the hex ids that OTLP/JSON
uses, and we read a dozen fields.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

__all__ = ["Point", "Span", "Telemetry", "read_files"]

AttributeValue = str | bool | int | float
#: ``aggregationTemporality`` of a delta sum or histogram.
_DELTA: Final = 1
#: ``status.code`` of an error span (``STATUS_CODE_ERROR``).
STATUS_ERROR: Final = 2


@dataclass(frozen=True)
class Span:
    """One span, with what the report reads."""

    trace_id: str
    span_id: str
    parent_id: str
    name: str
    start_ns: int
    end_ns: int
    #: 0 unset, 1 ok, 2 error.
    status: int
    attributes: Mapping[str, AttributeValue]

    @property
    def seconds(self) -> float:
        return max(0, self.end_ns - self.start_ns) / 1e9


@dataclass(frozen=True)
class Point:
    """The total of one metric series (one attribute set) over the input."""

    metric: str
    attributes: Mapping[str, AttributeValue]
    #: A counter's total, a gauge's last value, a histogram's count.
    value: float
    #: A histogram's sum (0 for the others).
    total: float = 0.0


@dataclass(frozen=True)
class Telemetry:
    """Every span and every metric series' total read from the input files."""

    spans: tuple[Span, ...]
    points: tuple[Point, ...]

    def metric(self, name: str) -> Iterator[Point]:
        return (point for point in self.points if point.metric == name)


def read_files(paths: Iterable[Path]) -> Telemetry:
    """Read OTLP JSON lines files (blank lines are skipped; a line that is not JSON raises ValueError)."""
    spans: list[Span] = []
    series: dict[tuple[Any, ...], tuple[int, Point]] = {}
    for path in paths:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    document = json.loads(line)
                except json.JSONDecodeError as error:
                    raise ValueError(f"{path}:{number}: not a JSON line: {error.msg}") from None
                if not isinstance(document, dict):
                    raise ValueError(f"{path}:{number}: not an OTLP export request")
                spans.extend(_spans(document))
                _add_points(document, series)
    return Telemetry(tuple(spans), tuple(point for _, point in series.values()))


def _spans(document: Mapping[str, Any]) -> Iterator[Span]:
    for resource_spans in document.get("resourceSpans", ()):
        for scope_spans in resource_spans.get("scopeSpans", ()):
            for span in scope_spans.get("spans", ()):
                yield Span(
                    trace_id=str(span.get("traceId", "")),
                    span_id=str(span.get("spanId", "")),
                    parent_id=str(span.get("parentSpanId", "")),
                    name=str(span.get("name", "")),
                    start_ns=int(span.get("startTimeUnixNano", 0)),
                    end_ns=int(span.get("endTimeUnixNano", 0)),
                    status=int((span.get("status") or {}).get("code", 0)),
                    attributes=attributes(span.get("attributes", ())),
                )


def _add_points(document: Mapping[str, Any], series: dict[tuple[Any, ...], tuple[int, Point]]) -> None:
    for resource_metrics in document.get("resourceMetrics", ()):
        resource = _frozen(attributes((resource_metrics.get("resource") or {}).get("attributes", ())))
        for scope_metrics in resource_metrics.get("scopeMetrics", ()):
            for metric in scope_metrics.get("metrics", ()):
                name = str(metric.get("name", ""))
                for kind in ("sum", "gauge", "histogram"):
                    data = metric.get(kind)
                    if data is None:
                        continue
                    delta = data.get("aggregationTemporality") == _DELTA
                    for raw in data.get("dataPoints", ()):
                        point = _point(name, kind, raw)
                        key = (resource, name, _frozen(point.attributes))
                        time = int(raw.get("timeUnixNano", 0))
                        previous = series.get(key)
                        if delta and previous is not None:
                            value = previous[1].value + point.value
                            point = Point(name, point.attributes, value, previous[1].total + point.total)
                        elif previous is not None and previous[0] > time:
                            continue
                        series[key] = (time, point)


def _point(name: str, kind: str, raw: Mapping[str, Any]) -> Point:
    labels = attributes(raw.get("attributes", ()))
    if kind == "histogram":
        return Point(name, labels, float(raw.get("count", 0)), float(raw.get("sum", 0.0)))
    value = float(raw["asInt"]) if "asInt" in raw else float(raw.get("asDouble", 0.0))
    return Point(name, labels, value)


def attributes(items: Iterable[Mapping[str, Any]]) -> dict[str, AttributeValue]:
    """OTLP ``KeyValue`` list to a dict of scalars (arrays are joined with commas)."""
    return {str(item.get("key", "")): _value(item.get("value") or {}) for item in items}


def _value(value: Mapping[str, Any]) -> AttributeValue:
    if "stringValue" in value:
        return str(value["stringValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "arrayValue" in value:
        return ",".join(str(_value(item)) for item in value["arrayValue"].get("values", ()))
    return ""


def _frozen(mapping: Mapping[str, AttributeValue]) -> frozenset[tuple[str, AttributeValue]]:
    return frozenset(mapping.items())
