"""The demo's OpenTelemetry SDK: real exporters, plus in-memory copies for the report.

The report has to say what the exported telemetry says, not what the workload
believes it did, so every finished span and every metric collection goes two
ways: to the real destination (OTLP JSON files, or the collector named by
``OTEL_EXPORTER_OTLP_ENDPOINT``, optionally a Prometheus ``/metrics``
endpoint) and to an ``InMemorySpanExporter`` / ``InMemoryMetricReader`` that
the report reads. Both metric readers use cumulative temporality, so their
final collections carry the same totals. The OTLP exporters are the ones the
SDK's configurator selects from ``OTEL_*`` (`otel_aierrors._setup`), wrapped to
count their results, so the report says whether the collector got the data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    InMemoryMetricReader,
    MetricReader,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_aierrors import _names as n
from otel_aierrors._setup import otlp_exporter_classes
from otel_aierrors.cli.demo.exporters import (
    CountingMetricExporter,
    CountingSpanExporter,
    ExportTally,
    OTLPJsonMetricExporter,
    OTLPJsonSpanExporter,
)

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

__all__ = [
    "METRICS_FILE",
    "TRACES_FILE",
    "ExportedTelemetry",
    "Pipeline",
    "otlp_endpoint_configured",
]

TRACES_FILE: Final = "traces.jsonl"
METRICS_FILE: Final = "metrics.jsonl"
SERVICE_NAME: Final = "otel-aierrors-demo"
#: How often metrics are exported while the demo runs; dashboards refresh at this pace.
EXPORT_INTERVAL_MS: Final = 5_000
#: The longest the demo waits for exporters at the end, so a dead collector cannot hang it.
FLUSH_TIMEOUT_MS: Final = 5_000

_ENDPOINT_VARIABLES: Final = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
)


def otlp_endpoint_configured() -> bool:
    """Whether the user named a collector; without one the demo writes files."""
    return any(os.environ.get(variable, "").strip() for variable in _ENDPOINT_VARIABLES)


@dataclass(frozen=True)
class ExportedTelemetry:
    """Every span the SDK finished and the last metric collection, as exported."""

    spans: tuple[ReadableSpan, ...]
    metrics: MetricsData | None

    def calls(self) -> list[ReadableSpan]:
        """The instrumentation's call spans (they carry ``aierrors.attempt.count``)."""
        return [span for span in self.spans if span.attributes and n.ATTEMPT_COUNT in span.attributes]

    def attempts(self) -> list[ReadableSpan]:
        """The attempt spans (they carry ``aierrors.attempt.number``)."""
        return [span for span in self.spans if span.attributes and n.ATTEMPT_NUMBER in span.attributes]


@dataclass
class Pipeline:
    """Tracer and meter providers wired to the demo's destinations."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    span_memory: InMemorySpanExporter
    metric_memory: InMemoryMetricReader
    #: Human-readable places the telemetry goes, for the report's header.
    destinations: list[str] = field(default_factory=list)
    #: The OTLP JSON files written, when files are written.
    files: tuple[Path, Path] | None = None
    #: ``http://127.0.0.1:PORT/metrics`` when Prometheus is served.
    prometheus_url: str | None = None
    #: What the OTLP exporters did, one tally per signal; empty when nothing goes over OTLP.
    otlp: tuple[ExportTally, ...] = ()
    #: ``OTLP <protocol> to <endpoint>``, for the report's verdict on the exports.
    otlp_destination: str = ""
    _prometheus_server: WSGIServer | None = None
    _closed: bool = False

    @classmethod
    def create(
        cls,
        *,
        output_dir: Path | None,
        use_otlp: bool,
        prometheus_port: int | None = None,
        otlp_timeout: float = FLUSH_TIMEOUT_MS / 1000,
    ) -> Pipeline:
        """Build the providers.

        Args:
            output_dir: Write ``traces.jsonl`` / ``metrics.jsonl`` here; None writes no files.
            use_otlp: Also export over OTLP, configured by the standard ``OTEL_EXPORTER_OTLP_*`` variables.
            prometheus_port: Serve ``/metrics`` on ``127.0.0.1:PORT`` (0 picks a free port).
            otlp_timeout: Seconds an OTLP export may take, retries included, unless
                ``OTEL_EXPORTER_OTLP_TIMEOUT`` says otherwise: bounds the wait at the end.

        Returns:
            The pipeline; call `finish` then `shutdown`.

        Raises:
            OSError: If the Prometheus port cannot be bound.
        """
        resource = _resource()
        span_memory = InMemorySpanExporter()
        tracer_provider = TracerProvider(resource=resource)
        tracer_provider.add_span_processor(SimpleSpanProcessor(span_memory))
        metric_memory = InMemoryMetricReader()
        readers: list[MetricReader] = [metric_memory]
        destinations: list[str] = []
        files = None
        if output_dir is not None:
            files = (output_dir / TRACES_FILE, output_dir / METRICS_FILE)
            tracer_provider.add_span_processor(BatchSpanProcessor(OTLPJsonSpanExporter(files[0])))
            readers.append(
                PeriodicExportingMetricReader(
                    OTLPJsonMetricExporter(files[1]), export_interval_millis=EXPORT_INTERVAL_MS
                )
            )
            destinations.append(f"OTLP JSON files {files[0]} and {files[1]}")
        otlp_tallies: list[ExportTally] = []
        otlp_destination = ""
        if use_otlp:
            span_exporter, metric_exporter, problem = _otlp_exporters(otlp_timeout)
            if span_exporter is not None:
                tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter))
                otlp_tallies.append(span_exporter.tally)
            if metric_exporter is not None:
                readers.append(
                    PeriodicExportingMetricReader(metric_exporter, export_interval_millis=EXPORT_INTERVAL_MS)
                )
                otlp_tallies.append(metric_exporter.tally)
            if otlp_tallies:
                otlp_destination = f"OTLP {_protocol()} to {_describe_endpoint()}"
                destinations.append(otlp_destination)
            else:
                destinations.append(f"nowhere over OTLP: {problem or 'OTEL_*_EXPORTER selects no OTLP exporter'}")
        prometheus_server = None
        prometheus_url = None
        if prometheus_port is not None:
            reader, prometheus_server = _serve_prometheus(prometheus_port)
            readers.append(reader)
            prometheus_url = f"http://127.0.0.1:{prometheus_server.server_port}/metrics"
            destinations.append(f"Prometheus {prometheus_url}")
        meter_provider = MeterProvider(resource=resource, metric_readers=readers)
        return cls(
            tracer_provider,
            meter_provider,
            span_memory,
            metric_memory,
            destinations,
            files,
            prometheus_url,
            tuple(otlp_tallies),
            otlp_destination,
            prometheus_server,
        )

    def finished_spans(self) -> tuple[ReadableSpan, ...]:
        """Spans finished so far (the progress display counts calls with it)."""
        return self.span_memory.get_finished_spans()

    def finish(self) -> ExportedTelemetry:
        """Flush every exporter and return what was exported.

        Called once the workload has ended: no span or measurement is made
        after it, so the in-memory copies equal the exported data.
        """
        self.tracer_provider.force_flush(FLUSH_TIMEOUT_MS)
        self.meter_provider.force_flush(FLUSH_TIMEOUT_MS)
        return ExportedTelemetry(self.span_memory.get_finished_spans(), self.metric_memory.get_metrics_data())

    def shutdown(self) -> None:
        """Final exports, then close files and the Prometheus endpoint. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown(timeout_millis=FLUSH_TIMEOUT_MS)
        if self._prometheus_server is not None:
            self._prometheus_server.shutdown()
            self._prometheus_server.server_close()


def _resource() -> Resource:
    """The SDK's resource from ``OTEL_*``, named ``otel-aierrors-demo`` unless the user named it."""
    named = "OTEL_SERVICE_NAME" in os.environ or "service.name=" in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
    return Resource.create({} if named else {"service.name": SERVICE_NAME})


def _otlp_exporters(timeout: float) -> tuple[Any, Any, str | None]:
    """The OTLP span and metric exporters the SDK's configurator selects, or why there are none."""
    user_timeout = any(os.environ.get(f"OTEL_EXPORTER_OTLP{signal}_TIMEOUT") for signal in ("", "_TRACES", "_METRICS"))
    arguments = {} if user_timeout else {"timeout": timeout}  # the user's own setting wins
    try:
        span_classes, metric_classes = otlp_exporter_classes(os.environ)
    except (ValueError, RuntimeError) as error:
        return None, None, str(error)
    span_exporter = CountingSpanExporter(span_classes[0](**arguments)) if span_classes else None
    metric_exporter = CountingMetricExporter(metric_classes[0](**arguments)) if metric_classes else None
    return span_exporter, metric_exporter, None


def _protocol() -> str:
    return os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "").strip() or "http/protobuf"


def _describe_endpoint() -> str:
    for variable in _ENDPOINT_VARIABLES:
        value = os.environ.get(variable, "").strip()
        if value:
            return f"{value} ({variable})"
    return "the default endpoint"


def _serve_prometheus(port: int) -> tuple[Any, WSGIServer]:
    """A Prometheus reader with its own registry, served on 127.0.0.1 only."""
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry()
    try:
        server, _ = start_http_server(port, addr="127.0.0.1", registry=registry)
    except OSError as error:
        raise OSError(
            f"cannot serve Prometheus metrics on 127.0.0.1:{port} ({error.strerror or error}): "
            "pick another --prometheus-port, or --prometheus-port 0 for any free one"
        ) from error
    return PrometheusMetricReader(registry=registry), server
