"""An application that imports its SDKs before or after ``instrument()``, then prints what was exported.

Run as ``python -m tests.import_order_app before|after URL`` from the
repository root (a fresh process per order: an SDK is imported once per
process). It makes the core calls of the suite, sync and async, against the
chaos server at ``URL``, and prints the spans and metric points as JSON, with
what differs from run to run (ids, times, durations, ports) left out.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import sys
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import otel_aierrors

#: The SDKs the app calls: openai, and anthropic where the environment has it (the openai 3.x one).
SDKS = tuple(name for name in ("openai", "anthropic") if importlib.util.find_spec(name) is not None)
API_KEY = "sk-proj-TestKey0123456789abcdefSECRET"
RETRIED = "rate_limit;retry_after_ms=1,rate_limit;retry_after_ms=1,ok"
CHAT: dict[str, Any] = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}]}
#: Attributes whose value changes from run to run (measured times are kept as their type only).
#: anthropic's rate-limit resets are wall-clock times: one a second old reads as absent.
VOLATILE = (
    "server.port",
    "gen_ai.response.id",
    "aierrors.request_id",
    "aierrors.ratelimit.reset_requests",
    "aierrors.ratelimit.reset_tokens",
)


def openai_calls(url: str) -> None:
    import openai

    options: dict[str, Any] = {"base_url": f"{url}/v1", "api_key": API_KEY, "timeout": 10.0}
    with openai.OpenAI(**options) as client:
        client.chat.completions.create(extra_headers={"x-chaos-script": RETRIED}, **CHAT)
        stream = client.chat.completions.create(
            stream=True, stream_options={"include_usage": True}, extra_headers={"x-chaos-script": "ok;chunks=4"}, **CHAT
        )
        for _ in stream:
            pass
        with contextlib.suppress(openai.AuthenticationError):
            client.chat.completions.create(extra_headers={"x-chaos-script": "auth"}, **CHAT)

    async def run() -> None:
        async with openai.AsyncOpenAI(**options) as client:
            await client.chat.completions.create(extra_headers={"x-chaos-script": RETRIED}, **CHAT)
            stream = await client.chat.completions.create(
                stream=True, extra_headers={"x-chaos-script": "stream_cut;after=3"}, **CHAT
            )
            try:
                async for _ in stream:
                    pass
            except Exception:
                pass
            with contextlib.suppress(openai.InternalServerError):
                await client.with_options(max_retries=0).chat.completions.create(
                    extra_headers={"x-chaos-script": "server_error;retry_after_ms=1"}, **CHAT
                )

    asyncio.run(run())


def anthropic_calls(url: str) -> None:
    import anthropic

    with anthropic.Anthropic(base_url=url, api_key=API_KEY, timeout=10.0) as client:
        client.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=64,
            messages=[{"role": "user", "content": "hello"}],
            extra_headers={"x-chaos-script": "rate_limit;retry_after_ms=1,ok"},
        )


def stable(attributes: Any) -> dict[str, Any]:
    """The attributes without the volatile ones; a measured time (a float) becomes its type."""
    return {
        key: "float" if type(value) is float else value
        for key, value in sorted(attributes.items())
        if key not in VOLATILE
    }


def exported(spans: InMemorySpanExporter, reader: InMemoryMetricReader) -> dict[str, Any]:
    finished = list(spans.get_finished_spans())
    names = {span.context.span_id: span.name for span in finished}
    span_rows = [
        {
            "name": span.name,
            "kind": span.kind.name,
            "parent": names.get(span.parent.span_id) if span.parent else None,
            "status": span.status.status_code.name,
            "attributes": stable(span.attributes),
            "events": [event.name for event in span.events],
        }
        for span in finished
    ]
    points: list[dict[str, Any]] = []
    data = reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                for point in metric.data.data_points:
                    value = getattr(point, "count", None)  # a histogram's count; its sum is measured time
                    if value is None:
                        value = "float" if type(point.value) is float else point.value
                    points.append({"metric": metric.name, "attributes": stable(point.attributes), "value": value})
    points.sort(key=lambda row: json.dumps(row, sort_keys=True))
    return {"spans": span_rows, "points": points}


def main(order: str, url: str) -> None:
    if order == "before":
        for name in SDKS:
            __import__(name)
    loaded_at_instrument = sorted(name for name in SDKS if name in sys.modules)
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    otel_aierrors.instrument(tracer_provider=tracer_provider, meter_provider=MeterProvider(metric_readers=[reader]))
    loaded_after_instrument = sorted(name for name in SDKS if name in sys.modules)
    openai_calls(url)
    if "anthropic" in SDKS:
        anthropic_calls(url)
    result = exported(spans, reader)
    result["loaded"] = {"at_instrument": loaded_at_instrument, "after_instrument": loaded_after_instrument}
    print(json.dumps(result, sort_keys=True, default=str))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
