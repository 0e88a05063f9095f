"""Fallbacks made visible: a fallback scope, the ready helper, key rotation, a gateway, app retries.

Run it from the checkout, in an environment with the ``cli`` extra (the
``openai`` SDK and the OpenTelemetry SDK) and ``tenacity`` for the
application-retry scenario (skipped without it)::

    python3 -m venv .venv && .venv/bin/pip install -q -e '.[cli]' tenacity
    .venv/bin/python examples/fallback.py

No API key, no network beyond 127.0.0.1: it starts the package's local fault
server (``otel_aierrors.chaos.ChaosServer``), points the real ``openai`` SDK at
it, and prints the spans each scenario produced as a tree, with the fallback
attributes, then the ``aierrors.fallback.hops`` counter. CI runs it
(``tests/test_examples.py``).

In production the failures come from the providers. Here each request asks
the fault server for one through the ``x-chaos-script`` header: ``overloaded``
is a 503, ``rate_limit`` a 429, ``auth`` a 401, ``invalid_request`` a 400,
``ok;model=gpt-4o-mini`` a 200 in which a gateway says another model answered.
"""

from __future__ import annotations

import asyncio
from typing import Any

import openai
from openai.types.chat import ChatCompletionMessageParam
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import otel_aierrors
from otel_aierrors.chaos import ChaosServer

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say hello."}]
SHOWN = (
    "gen_ai.response.model",
    "aierrors.outcome",
    "aierrors.error.class",
    "aierrors.fallback.hop",
    "aierrors.fallback.kind",
    "aierrors.fallback.reason",
    "aierrors.fallback.from_model",
    "aierrors.fallback.to_model",
    "aierrors.fallback.from_provider",
    "aierrors.fallback.to_provider",
    "aierrors.fallback.hops",
    "aierrors.fallback.succeeded_hop",
    "aierrors.app_retry.attempt",
    "aierrors.app_retry.library",
    "aierrors.provider.alternatives",
)


def chaos(script: str) -> dict[str, str]:
    """The header that tells the fault server how to answer this request."""
    return {"x-chaos-script": script}


# --- 1. the ready helper ---------------------------------------------------------------
def helper(primary: openai.OpenAI, backup: openai.OpenAI) -> None:
    """Primary overloaded, its smaller model rate limited, the other provider answers."""
    faults = {"gpt-4o": "overloaded", "gpt-4o-mini": "rate_limit;retry_after_ms=1"}

    def ask(client: openai.OpenAI, model: str) -> Any:
        script = "ok" if client is backup else faults[model]
        return client.chat.completions.create(model=model, messages=MESSAGES, extra_headers=chaos(script))

    answer = otel_aierrors.with_fallback(
        [(primary, "gpt-4o"), (primary, "gpt-4o-mini"), (backup, "gpt-4o")], ask, name="answer"
    )
    print(f"helper: answered by {answer.model}")

    # A request that would fail everywhere is not sent to the next candidate.
    try:
        otel_aierrors.with_fallback(
            [(primary, "gpt-4o"), (backup, "gpt-4o")],
            lambda c, m: c.chat.completions.create(model=m, messages=MESSAGES, extra_headers=chaos("invalid_request")),
            name="bad-request",
        )
    except openai.BadRequestError as error:
        print(f"helper: stopped at once on {type(error).__name__}")


# --- 2. a scope around the application's own loop: key rotation -----------------------------
def key_rotation(base_url: str) -> None:
    """The seeds' key manager: same provider and model, the next key once one is refused."""
    keys = ["team-alpha-key-0001", "team-bravo-key-0002"]
    scripts = iter(["auth", "ok"])
    with otel_aierrors.fallback_scope("rotate-keys") as scope:
        for key in keys:
            with openai.OpenAI(base_url=base_url, api_key=key, max_retries=0) as client:
                try:
                    client.chat.completions.create(
                        model="gpt-4o", messages=MESSAGES, extra_headers=chaos(next(scripts))
                    )
                    break
                except openai.AuthenticationError:
                    continue
    print(f"keys: {scope.hops} calls; the keys themselves are never exported")


# --- 3. a gateway that answers with another model --------------------------------------------
def gateway(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, extra_headers=chaos("ok;model=gpt-4o-mini")
    )
    print(f"gateway: asked gpt-4o, {answer.model} answered")


# --- 4. the application retrying with tenacity --------------------------------------------
def app_retries(client: openai.OpenAI) -> None:
    try:
        import tenacity
    except ImportError:
        print("tenacity is not installed: skipping the application-retry scenario")
        return
    scripts = iter(["server_error", "server_error", "ok"])

    @tenacity.retry(stop=tenacity.stop_after_attempt(3), wait=tenacity.wait_none(), reraise=True)
    def summarize() -> Any:
        return client.chat.completions.create(model="gpt-4o", messages=MESSAGES, extra_headers=chaos(next(scripts)))

    summarize()
    print("tenacity: three attempts, one 'retry summarize' span")


# --- 5. the async helper ---------------------------------------------------------------
async def async_helper(base_url: str) -> None:
    async with openai.AsyncOpenAI(base_url=base_url, api_key="sk-example", max_retries=0) as client:
        scripts = iter(["all_channels_failed", "ok"])
        answer = await otel_aierrors.awith_fallback(
            [(client, "gpt-4o"), (client, "gpt-4.1")],
            lambda c, m: c.chat.completions.create(model=m, messages=MESSAGES, extra_headers=chaos(next(scripts))),
            name="async-answer",
        )
        print(f"async helper: answered by {answer.model}")


# --- printing ----------------------------------------------------------------------------
def print_tree(spans: list[ReadableSpan]) -> None:
    by_parent: dict[int | None, list[ReadableSpan]] = {}
    ids = {span.context.span_id for span in spans}
    for span in spans:
        parent = span.parent.span_id if span.parent is not None and span.parent.span_id in ids else None
        by_parent.setdefault(parent, []).append(span)

    def show(span: ReadableSpan, depth: int) -> None:
        recorded = span.attributes or {}
        attributes = {key: recorded[key] for key in SHOWN if key in recorded}
        details = ", ".join(f"{key.removeprefix('aierrors.')}={value}" for key, value in attributes.items())
        print(f"{'  ' * depth}{span.name}  [{span.status.status_code.name}] {details}")
        for child in sorted(by_parent.get(span.context.span_id, []), key=lambda s: s.start_time or 0):
            show(child, depth + 1)

    for root in sorted(by_parent.get(None, []), key=lambda s: s.start_time or 0):
        show(root, 0)


def print_hops(reader: InMemoryMetricReader) -> None:
    data = reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.name == "aierrors.fallback.hops":
                    for point in metric.data.data_points:
                        assert isinstance(point, NumberDataPoint)  # a counter
                        labels = {
                            key.removeprefix("aierrors.fallback."): value
                            for key, value in (point.attributes or {}).items()
                        }
                        print(f"  {point.value} x {labels}")


def main() -> None:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    otel_aierrors.instrument(tracer_provider=tracer_provider, meter_provider=MeterProvider(metric_readers=[reader]))
    try:
        with ChaosServer() as server:
            # Two "providers": the same local server under two host names.
            backup_url = f"http://localhost:{server.port}/v1"
            with (
                openai.OpenAI(base_url=server.base_url, api_key="sk-example", max_retries=0) as primary,
                openai.OpenAI(base_url=backup_url, api_key="sk-example", max_retries=0) as backup,
            ):
                helper(primary, backup)
                key_rotation(server.base_url)
                gateway(primary)
                app_retries(primary)
            asyncio.run(async_helper(server.base_url))
    finally:
        otel_aierrors.uninstrument()

    print("\nspans (attempt spans are the POST children):")
    print_tree(list(exporter.get_finished_spans()))
    print("\naierrors.fallback.hops:")
    print_hops(reader)


if __name__ == "__main__":
    main()
