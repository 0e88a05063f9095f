"""One call at start-up is all a user needs: set up the SDK when nobody else did.

`instrument()` with no ``tracer_provider`` / ``meter_provider`` and no global
SDK providers would emit into no-op providers, and the user would see nothing.
In that case (and only then) the OpenTelemetry SDK is set up from the standard
environment variables: ``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES`` for
the resource, ``OTEL_TRACES_EXPORTER`` / ``OTEL_METRICS_EXPORTER``
(``otlp`` by default, ``console`` or ``none``), ``OTEL_EXPORTER_OTLP_PROTOCOL``
(``http/protobuf`` by default, or ``grpc``) and the exporters' own
``OTEL_EXPORTER_OTLP_*`` endpoint variables. ``OTEL_SDK_DISABLED=true`` or
``OTEL_AIERRORS_AUTO_SETUP=false`` turn it off. Applications that configure
the SDK themselves, and ``opentelemetry-instrument`` (which configures it
before instrumentors run), are left alone.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry import metrics, trace

from otel_aierrors._safety import logger

__all__ = ["configure_sdk_if_unset", "sdk_configured"]


def sdk_configured() -> tuple[bool, bool]:
    """Whether global SDK (not proxy / no-op) tracer and meter providers are set."""
    tracer_set = not isinstance(trace.get_tracer_provider(), (trace.ProxyTracerProvider, trace.NoOpTracerProvider))
    meter_provider = metrics.get_meter_provider()
    meter_set = type(meter_provider).__name__ not in ("_ProxyMeterProvider", "NoOpMeterProvider")
    return tracer_set, meter_set


def _enabled(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


def configure_sdk_if_unset() -> bool:
    """Install SDK providers with exporters from ``OTEL_*``; return whether anything was set up."""
    if _enabled("OTEL_SDK_DISABLED", False) or not _enabled("OTEL_AIERRORS_AUTO_SETUP", True):
        return False
    tracer_set, meter_set = sdk_configured()
    if tracer_set and meter_set:
        return False
    try:
        from opentelemetry.sdk.resources import Resource
    except ImportError:
        logger.warning(
            "otel-aierrors: no OpenTelemetry SDK is configured and opentelemetry-sdk is not installed; "
            "install 'otel-aierrors[sdk]' or configure providers to see telemetry"
        )
        return False
    resource = Resource.create()
    if not tracer_set:
        _set_tracer_provider(resource)
    if not meter_set:
        _set_meter_provider(resource)
    return True


def _protocol(signal: str) -> str:
    return os.environ.get(
        f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL",
        os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
    )


def _set_tracer_provider(resource: Any) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    provider = TracerProvider(resource=resource)
    for name in _exporter_names("OTEL_TRACES_EXPORTER"):
        if name == "console":
            provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
        elif name == "otlp":
            exporter = _otlp_span_exporter()
            if exporter is not None:
                provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)


def _set_meter_provider(resource: Any) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        ConsoleMetricExporter,
        MetricReader,
        PeriodicExportingMetricReader,
    )

    readers: list[MetricReader] = []
    for name in _exporter_names("OTEL_METRICS_EXPORTER"):
        if name == "console":
            readers.append(PeriodicExportingMetricReader(ConsoleMetricExporter()))
        elif name == "otlp":
            exporter = _otlp_metric_exporter()
            if exporter is not None:
                readers.append(PeriodicExportingMetricReader(exporter))
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=readers))


def _exporter_names(variable: str) -> list[str]:
    names = [name.strip().lower() for name in os.environ.get(variable, "otlp").split(",")]
    return [name for name in names if name and name != "none"]


def _otlp_span_exporter() -> Any:
    try:
        if _protocol("TRACES") == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # type: ignore[assignment]
    except ImportError:
        logger.warning("otel-aierrors: the OTLP exporter is not installed; install 'otel-aierrors[sdk]'")
        return None
    return OTLPSpanExporter()


def _otlp_metric_exporter() -> Any:
    try:
        if _protocol("METRICS") == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        else:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import (  # type: ignore[assignment]
                OTLPMetricExporter,
            )
    except ImportError:
        logger.warning("otel-aierrors: the OTLP exporter is not installed; install 'otel-aierrors[sdk]'")
        return None
    return OTLPMetricExporter()
