"""OpenTelemetry SDK providers configured as a user would, with exporters that discard.

Owns the pipeline every worker installs before any variant: ``BatchSpanProcessor``,
``PeriodicExportingMetricReader`` (default interval) and ``BatchLogRecordProcessor`` (for
peers that emit GenAI events as log records), with the default sampler or, for the
production-shape variants, ``ParentBased(TraceIdRatioBased(ratio))`` (``_sampling``).
The exporters only count what reaches them, which is how the worker proves an
instrumentation emits anything at all: a peer whose count stays at zero is reported as
broken instead of being timed.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from _sampling import BlockIdGenerator, sampled_pipeline
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

__all__ = ["LiveSpanCounter", "Telemetry", "install_telemetry"]


class _Counter:
    """A thread-safe tally; exporters run on the SDK's background threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self, amount: int) -> None:
        with self._lock:
            self.value += amount


class DiscardSpanExporter(SpanExporter):
    """Counts exported spans and drops them."""

    def __init__(self) -> None:
        self.count = _Counter()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.count.add(len(spans))
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Nothing to release."""


class DiscardMetricExporter(MetricExporter):
    """Remembers which metric names were exported and drops the data points."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        for resource_metrics in metrics_data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                self.names.update(metric.name for metric in scope_metrics.metrics)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Nothing to release."""


class LiveSpanCounter(SpanProcessor):
    """Counts spans started and ended; the difference is spans never ended (leaks)."""

    def __init__(self) -> None:
        self.started = _Counter()
        self.ended = _Counter()

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        self.started.add(1)

    def on_end(self, span: ReadableSpan) -> None:
        self.ended.add(1)


def _log_pipeline() -> tuple[Any, _Counter] | None:
    """A logger provider whose exporter counts records; ``None`` on SDKs without logs."""
    try:
        from opentelemetry._logs import set_logger_provider
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs import export as logs_export
    except ImportError:  # pragma: no cover - every supported SDK has logs
        return None
    # The exporter base was renamed (LogExporter -> LogRecordExporter) across SDK releases.
    base = getattr(logs_export, "LogRecordExporter", None) or logs_export.LogExporter
    result = getattr(logs_export, "LogRecordExportResult", None) or logs_export.LogExportResult
    counter = _Counter()

    class DiscardLogExporter(base):  # type: ignore[misc,valid-type]
        def export(self, batch: Sequence[Any]) -> Any:
            counter.add(len(batch))
            return result.SUCCESS

        def force_flush(self, timeout_millis: int = 30_000) -> bool:
            return True

        def shutdown(self) -> None:
            """Nothing to release."""

    provider = LoggerProvider(resource=_RESOURCE)
    provider.add_log_record_processor(logs_export.BatchLogRecordProcessor(DiscardLogExporter()))
    set_logger_provider(provider)
    return provider, counter


_RESOURCE = Resource.create({"service.name": "otel-aierrors-bench"})


@dataclass
class Telemetry:
    """The providers a worker installed, and what their exporters have seen so far."""

    #: Global tracer provider (BatchSpanProcessor -> DiscardSpanExporter).
    tracer_provider: TracerProvider
    #: Global meter provider (PeriodicExportingMetricReader -> DiscardMetricExporter).
    meter_provider: MeterProvider
    #: Global logger provider, or None when the SDK has no logs support.
    logger_provider: Any
    span_exporter: DiscardSpanExporter
    metric_exporter: DiscardMetricExporter
    log_count: _Counter | None
    #: Present only when asked for (memory runs): it costs a little per span.
    live_spans: LiveSpanCounter | None = None
    #: The trace-id source of a sampled pipeline (``None``: every call sampled).
    ids: BlockIdGenerator | None = None
    _flushed_spans: int = field(default=0)
    _flushed_logs: int = field(default=0)

    def flush(self) -> tuple[int, int]:
        """Push queued spans and logs out; return how many arrived since the last call."""
        self.tracer_provider.force_flush()
        if self.logger_provider is not None:
            self.logger_provider.force_flush()
        spans = self.span_exporter.count.value - self._flushed_spans
        logs = (self.log_count.value if self.log_count else 0) - self._flushed_logs
        self._flushed_spans += spans
        self._flushed_logs += logs
        return spans, logs

    def start_round(self) -> None:
        """Replay the same trace ids, so every worker samples the same calls of a round."""
        if self.ids is not None:
            self.ids.reset()

    def metric_names(self) -> list[str]:
        """Collect and export metrics now; return every metric name exported so far."""
        self.meter_provider.force_flush()
        return sorted(self.metric_exporter.names)


def install_telemetry(count_live_spans: bool = False, sample_ratio: float = 1.0) -> Telemetry:
    """Build the providers and make them global, as an application's startup code would.

    ``sample_ratio`` below 1 installs ``ParentBased(TraceIdRatioBased(sample_ratio))``;
    metrics are not sampled.
    """
    ids: BlockIdGenerator | None = None
    if sample_ratio < 1.0:
        sampler, ids = sampled_pipeline(sample_ratio)
        tracer_provider = TracerProvider(resource=_RESOURCE, sampler=sampler, id_generator=ids)
    else:
        tracer_provider = TracerProvider(resource=_RESOURCE)
    live = LiveSpanCounter() if count_live_spans else None
    if live is not None:
        tracer_provider.add_span_processor(live)
    span_exporter = DiscardSpanExporter()
    tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter))
    trace.set_tracer_provider(tracer_provider)

    metric_exporter = DiscardMetricExporter()
    meter_provider = MeterProvider(resource=_RESOURCE, metric_readers=[PeriodicExportingMetricReader(metric_exporter)])
    metrics.set_meter_provider(meter_provider)

    logs = _log_pipeline()
    return Telemetry(
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=logs[0] if logs else None,
        span_exporter=span_exporter,
        metric_exporter=metric_exporter,
        log_count=logs[1] if logs else None,
        live_spans=live,
        ids=ids,
    )
