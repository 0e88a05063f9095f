"""The demo's OTLP JSON: valid OTLP/JSON (hex ids, parses back to the exporter's protobuf), one request per line."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import openai
import pytest
from google.protobuf.json_format import ParseDict
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link

from otel_aierrors.chaos import ChaosServer, script_headers
from otel_aierrors.cli.demo.exporters import (
    OTLPJsonMetricExporter,
    OTLPJsonSpanExporter,
    encode_metrics_request,
    encode_trace_request,
)

pytestmark = pytest.mark.timeout(60)


def roundtrip(document: dict[str, Any]) -> Any:
    return json.loads(json.dumps(document))


def make_calls(base_url: str) -> None:
    with openai.OpenAI(base_url=base_url, api_key="sk-test-0123456789abcdef", max_retries=2) as client:
        client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "hi"}],
            extra_headers=script_headers("rate_limit;retry_after_ms=5", "ok;finish_reason=length"),
        )
        with pytest.raises(openai.APIStatusError):
            client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}], extra_headers=script_headers("auth")
            )
        for _ in client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
            extra_headers=script_headers("ok"),
        ):
            pass


def base64_ids(value: Any) -> Any:
    """Undo the OTLP/JSON hex ids, for protobuf's JSON parser (which reads bytes as base64)."""
    if isinstance(value, dict):
        return {
            key: base64.b64encode(bytes.fromhex(item)).decode()
            if key in ("traceId", "spanId", "parentSpanId")
            else base64_ids(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [base64_ids(item) for item in value]
    return value


def test_json_is_otlp_json_of_the_exporters_protobuf(telemetry: Any, chaos: ChaosServer) -> None:
    make_calls(chaos.base_url)
    tracer = telemetry.tracer_provider.get_tracer("test", "1.0", schema_url="https://example.com/schema")
    with tracer.start_as_current_span("linked", links=[Link(tracer.start_span("other").get_span_context(), {"a": 1})]):
        pass
    spans = telemetry.spans()
    assert len(spans) > 5
    document = roundtrip(encode_trace_request(spans))
    first = document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert len(first["traceId"]) == 32 and len(first["spanId"]) == 16
    int(first["traceId"], 16)  # hex, as OTLP/JSON requires (protobuf's own mapping writes base64)
    parsed = ParseDict(base64_ids(document), ExportTraceServiceRequest())
    assert parsed == encode_spans(spans)
    data = telemetry.reader.get_metrics_data()
    metrics_document = roundtrip(encode_metrics_request(data))
    assert "exemplars" in json.dumps(metrics_document)  # exemplars carry span ids too
    assert ParseDict(base64_ids(metrics_document), ExportMetricsServiceRequest()) == encode_metrics(data)


def test_exporters_write_one_request_per_line(tmp_path: Path) -> None:
    spans_file, metrics_file = tmp_path / "out" / "traces.jsonl", tmp_path / "out" / "metrics.jsonl"
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(OTLPJsonSpanExporter(spans_file)))
    reader = PeriodicExportingMetricReader(OTLPJsonMetricExporter(metrics_file), export_interval_millis=3_600_000)
    meter_provider = MeterProvider(metric_readers=[reader])
    tracer = tracer_provider.get_tracer("test")
    counter = meter_provider.get_meter("test").create_counter("things")
    for index in range(3):
        with tracer.start_as_current_span(f"span {index}"):
            counter.add(2)
    meter_provider.shutdown()
    tracer_provider.shutdown()
    lines = spans_file.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    assert [json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"] for line in lines] == [
        "span 0",
        "span 1",
        "span 2",
    ]
    metrics = [json.loads(line) for line in metrics_file.read_text(encoding="utf-8").splitlines()]
    point = metrics[-1]["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["sum"]["dataPoints"][0]
    assert point["asInt"] == "6"
