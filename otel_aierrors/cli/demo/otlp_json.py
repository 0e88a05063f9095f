"""SDK spans and metrics to OTLP JSON, the format of the collector's JSON files.

The demo's local files must be readable by what users already run: each line
is the JSON form of one OTLP ``ExportTraceServiceRequest`` or
``ExportMetricsServiceRequest``, the format of the collector's ``file``
exporter and ``otlpjsonfile`` receiver. The exporter package's protobuf
encoders are the reference (`encode_trace_request` uses them when installed);
`encode_trace_request_plain` and `encode_metrics_request_plain` write the same
JSON by hand for installs without ``opentelemetry-exporter-otlp``, and a test
holds the two equal. Per the OTLP/JSON rules, trace and span ids are
lower-case hex, enums are integers, 64-bit integers are decimal strings, and
fields holding their default value are omitted, as protobuf's JSON mapping does.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics.export import MetricsData
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import SpanContext

__all__ = ["JsonObject", "encode_metrics_request", "encode_trace_request"]

JsonObject = dict[str, Any]

_ID_FIELDS = frozenset({"traceId", "spanId", "parentSpanId"})
#: ``SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK`` and ``SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK``.
_HAS_IS_REMOTE = 0x100
_IS_REMOTE = 0x200


def encode_trace_request(spans: Sequence[ReadableSpan]) -> JsonObject:
    """One ``ExportTraceServiceRequest`` as OTLP JSON, through protobuf when installed."""
    encoders = _protobuf_encoders()
    if encoders is None:
        return encode_trace_request_plain(spans)
    encode_spans, _, to_dict = encoders
    return to_dict(encode_spans(spans))


def encode_metrics_request(data: MetricsData) -> JsonObject:
    """One ``ExportMetricsServiceRequest`` as OTLP JSON, through protobuf when installed."""
    encoders = _protobuf_encoders()
    if encoders is None:
        return encode_metrics_request_plain(data)
    _, encode_metrics, to_dict = encoders
    return to_dict(encode_metrics(data))


def _protobuf_encoders() -> tuple[Callable[[Any], Any], Callable[[Any], Any], Callable[[Any], JsonObject]] | None:
    try:
        from google.protobuf.json_format import MessageToDict  # type: ignore[import-untyped,unused-ignore]
        from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    except ImportError:
        return None

    def to_dict(message: Any) -> JsonObject:
        return _hex_ids(MessageToDict(message, use_integers_for_enums=True))  # type: ignore[no-any-return]

    return encode_spans, encode_metrics, to_dict


def _hex_ids(value: Any) -> Any:
    """Rewrite protobuf's base64 ``bytes`` ids as the hex strings OTLP/JSON requires."""
    if isinstance(value, dict):
        return {
            key: base64.b64decode(item).hex() if key in _ID_FIELDS and isinstance(item, str) else _hex_ids(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_hex_ids(item) for item in value]
    return value


# --- the same JSON without protobuf ----------------------------------------------
def encode_trace_request_plain(spans: Sequence[ReadableSpan]) -> JsonObject:
    """`encode_trace_request` written by hand: spans grouped by resource, then by scope."""
    grouped: dict[Resource, dict[InstrumentationScope | None, list[JsonObject]]] = {}
    for span in spans:
        scopes = grouped.setdefault(span.resource, {})
        scopes.setdefault(span.instrumentation_scope, []).append(_span(span))
    resource_spans = []
    for resource, scopes in grouped.items():
        scope_spans = [
            _message(scope=_scope(scope), spans=encoded, schemaUrl=scope.schema_url if scope else None)
            for scope, encoded in scopes.items()
        ]
        resource_spans.append(
            _message(resource=_resource(resource), scopeSpans=scope_spans, schemaUrl=resource.schema_url)
        )
    return _message(resourceSpans=resource_spans)


def encode_metrics_request_plain(data: MetricsData) -> JsonObject:
    """`encode_metrics_request` written by hand."""
    resource_metrics = []
    for item in data.resource_metrics:
        scope_metrics = [
            _message(
                scope=_scope(scoped.scope),
                metrics=[_metric(metric) for metric in scoped.metrics],
                schemaUrl=scoped.scope.schema_url,
            )
            for scoped in item.scope_metrics
        ]
        resource_metrics.append(
            _message(resource=_resource(item.resource), scopeMetrics=scope_metrics, schemaUrl=item.resource.schema_url)
        )
    return _message(resourceMetrics=resource_metrics)


def _message(**fields: Any) -> JsonObject:
    """Drop fields at their proto3 default, as protobuf's JSON printer does (sub-messages stay)."""
    return {key: value for key, value in fields.items() if value is not None and value != "" and value != []}


def _int64(value: int) -> str | None:
    return str(value) if value else None


def _resource(resource: Resource) -> JsonObject:
    return _message(attributes=_attributes(resource.attributes))


def _scope(scope: InstrumentationScope | None) -> JsonObject:
    if scope is None:
        return {}
    return _message(name=scope.name, version=scope.version, attributes=_attributes(scope.attributes))


def _attributes(attributes: Mapping[str, Any] | None) -> list[JsonObject]:
    return [{"key": key, "value": _any_value(value)} for key, value in (attributes or {}).items()]


def _any_value(value: Any) -> JsonObject:
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, bytes):
        return {"bytesValue": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Mapping):
        return {"kvlistValue": _message(values=[{"key": str(k), "value": _any_value(v)} for k, v in value.items()])}
    if isinstance(value, Iterable):
        return {"arrayValue": _message(values=[_any_value(item) for item in value])}
    raise TypeError(f"cannot encode attribute value of type {type(value).__name__}")


def _flags(parent: SpanContext | None) -> int:
    return _HAS_IS_REMOTE | (_IS_REMOTE if parent is not None and parent.is_remote else 0)


def _span(span: ReadableSpan) -> JsonObject:
    context = span.get_span_context()
    assert context is not None
    status = span.status
    trace_state = ",".join(f"{key}={value}" for key, value in context.trace_state.items())
    return _message(
        traceId=f"{context.trace_id:032x}",
        spanId=f"{context.span_id:016x}",
        traceState=trace_state,
        parentSpanId=f"{span.parent.span_id:016x}" if span.parent is not None else None,
        name=span.name,
        kind=span.kind.value + 1,  # the SDK's INTERNAL is 0, OTLP's SPAN_KIND_INTERNAL is 1
        startTimeUnixNano=_int64(span.start_time or 0),
        endTimeUnixNano=_int64(span.end_time or 0),
        attributes=_attributes(span.attributes),
        droppedAttributesCount=span.dropped_attributes or None,
        events=[
            _message(
                timeUnixNano=_int64(event.timestamp),
                name=event.name,
                attributes=_attributes(event.attributes),
                droppedAttributesCount=event.dropped_attributes or None,
            )
            for event in span.events
        ],
        droppedEventsCount=span.dropped_events or None,
        links=[
            _message(
                traceId=f"{link.context.trace_id:032x}",
                spanId=f"{link.context.span_id:016x}",
                attributes=_attributes(link.attributes),
                droppedAttributesCount=link.dropped_attributes or None,
                flags=_flags(link.context),
            )
            for link in span.links
        ],
        droppedLinksCount=span.dropped_links or None,
        status=_message(message=status.description, code=status.status_code.value or None),
        flags=_flags(span.parent),
    )


def _metric(metric: Any) -> JsonObject:
    from opentelemetry.sdk.metrics.export import Gauge, Histogram, Sum

    data = metric.data
    body: JsonObject = {}
    if isinstance(data, Gauge):
        points = [_number_point(point, with_start=False) for point in data.data_points]
        body = {"gauge": _message(dataPoints=points)} if points else {}
    elif isinstance(data, Histogram):
        points = [_histogram_point(point) for point in data.data_points]
        if points:
            body = {"histogram": _message(dataPoints=points, aggregationTemporality=int(data.aggregation_temporality))}
    elif isinstance(data, Sum):
        points = [_number_point(point, with_start=True) for point in data.data_points]
        if points:
            body = {
                "sum": _message(
                    dataPoints=points,
                    aggregationTemporality=int(data.aggregation_temporality),
                    isMonotonic=data.is_monotonic or None,
                )
            }
    return {**_message(name=metric.name, description=metric.description, unit=metric.unit), **body}


def _number_value(value: int | float) -> JsonObject:
    return {"asInt": str(value)} if isinstance(value, int) else {"asDouble": float(value)}


def _exemplars(exemplars: Sequence[Any]) -> list[JsonObject]:
    encoded = []
    for exemplar in exemplars:
        with_ids = exemplar.span_id is not None and exemplar.trace_id is not None
        encoded.append(
            {
                **_message(
                    filteredAttributes=_attributes(exemplar.filtered_attributes),
                    timeUnixNano=_int64(exemplar.time_unix_nano),
                    spanId=f"{exemplar.span_id:016x}" if with_ids else None,
                    traceId=f"{exemplar.trace_id:032x}" if with_ids else None,
                ),
                **_number_value(exemplar.value),
            }
        )
    return encoded


def _number_point(point: Any, *, with_start: bool) -> JsonObject:
    return {
        **_message(
            attributes=_attributes(point.attributes),
            startTimeUnixNano=_int64(point.start_time_unix_nano) if with_start else None,
            timeUnixNano=_int64(point.time_unix_nano),
            exemplars=_exemplars(point.exemplars),
        ),
        **_number_value(point.value),
    }


def _histogram_point(point: Any) -> JsonObject:
    return _message(
        attributes=_attributes(point.attributes),
        startTimeUnixNano=_int64(point.start_time_unix_nano),
        timeUnixNano=_int64(point.time_unix_nano),
        count=_int64(point.count),
        sum=float(point.sum),
        bucketCounts=[str(count) for count in point.bucket_counts],
        explicitBounds=[float(bound) for bound in point.explicit_bounds],
        exemplars=_exemplars(point.exemplars),
        min=float(point.min),
        max=float(point.max),
    )
