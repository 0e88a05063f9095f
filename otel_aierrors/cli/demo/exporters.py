"""The demo's exporters: OTLP JSON lines files, and a tally of what the OTLP exporters achieved.

With no collector to send to, the demo still has to leave its telemetry
somewhere a user can look at, replay (``otelcol``'s ``otlpjsonfile``
receiver) or diff: one export request per line, each the JSON form of an OTLP
``ExportTraceServiceRequest`` / ``ExportMetricsServiceRequest``, encoded by the
OTLP exporter's own encoders (``opentelemetry-exporter-otlp-proto-common``) and
protobuf's JSON mapping. Writes are serialized by a lock because the batch
processor and the periodic metric reader export from their own threads, and
each line is flushed at once so that a run killed halfway leaves whole lines.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

from google.protobuf.json_format import MessageToDict  # type: ignore[import-untyped,unused-ignore]
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

__all__ = [
    "CountingMetricExporter",
    "CountingSpanExporter",
    "ExportTally",
    "JsonLinesFile",
    "OTLPJsonMetricExporter",
    "OTLPJsonSpanExporter",
    "encode_metrics_request",
    "encode_trace_request",
]

_ID_FIELDS: Final = frozenset({"traceId", "spanId", "parentSpanId"})


def encode_trace_request(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """One ``ExportTraceServiceRequest`` as OTLP JSON."""
    return _to_otlp_json(encode_spans(spans))


def encode_metrics_request(data: MetricsData) -> dict[str, Any]:
    """One ``ExportMetricsServiceRequest`` as OTLP JSON."""
    return _to_otlp_json(encode_metrics(data))


def _to_otlp_json(message: Any) -> dict[str, Any]:
    document: dict[str, Any] = MessageToDict(message, use_integers_for_enums=True)
    return _hex_ids(document)  # type: ignore[no-any-return]


def _hex_ids(value: Any) -> Any:
    """Protobuf's JSON mapping writes ``bytes`` as base64; OTLP/JSON wants trace and span ids in hex."""
    if isinstance(value, dict):
        return {
            key: base64.b64decode(item).hex() if key in _ID_FIELDS and isinstance(item, str) else _hex_ids(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_hex_ids(item) for item in value]
    return value


class JsonLinesFile:
    """A file that receives whole JSON lines from several threads."""

    def __init__(self, path: Path) -> None:
        #: Where the lines go; created (with its directory) on first use.
        self.path = path
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        #: Lines written so far.
        self.lines = 0

    def write(self, document: Any) -> None:
        line = json.dumps(document, separators=(",", ":"), allow_nan=False)
        with self._lock:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("w", encoding="utf-8")
            self._file.write(line + "\n")
            self._file.flush()
            self.lines += 1

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


class OTLPJsonSpanExporter(SpanExporter):
    """Writes each batch of spans as one ``ExportTraceServiceRequest`` line."""

    def __init__(self, path: Path) -> None:
        self.file = JsonLinesFile(path)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not spans:
            return SpanExportResult.SUCCESS
        try:
            self.file.write(encode_trace_request(spans))
        except (OSError, ValueError, TypeError):
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.file.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class OTLPJsonMetricExporter(MetricExporter):
    """Writes each collection as one ``ExportMetricsServiceRequest`` line (cumulative temporality)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.file = JsonLinesFile(path)

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        if not metrics_data.resource_metrics:
            return MetricExportResult.SUCCESS
        try:
            self.file.write(encode_metrics_request(metrics_data))
        except (OSError, ValueError, TypeError):
            return MetricExportResult.FAILURE
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self.file.close()


@dataclass
class ExportTally:
    """How many exports of one exporter succeeded and failed: the demo claims only what succeeded."""

    succeeded: int = 0
    failed: int = 0

    def count(self, ok: bool) -> None:
        if ok:
            self.succeeded += 1
        else:
            self.failed += 1


class CountingSpanExporter(SpanExporter):
    """Delegates to ``inner`` and counts the results of its exports."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.tally = ExportTally()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.inner.export(spans)
        self.tally.count(result is SpanExportResult.SUCCESS)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class CountingMetricExporter(MetricExporter):
    """Delegates to ``inner`` (with its temporality and aggregation) and counts the results of its exports."""

    def __init__(self, inner: MetricExporter) -> None:
        super().__init__(
            preferred_temporality=inner._preferred_temporality,
            preferred_aggregation=inner._preferred_aggregation,
        )
        self.inner = inner
        self.tally = ExportTally()

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        result = self.inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
        self.tally.count(result is MetricExportResult.SUCCESS)
        return result

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self.inner.force_flush(timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self.inner.shutdown(timeout_millis=timeout_millis, **kwargs)
