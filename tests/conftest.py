"""Shared fixtures: one fault server per session, in-memory telemetry per test,
and an `SDK` driver that makes the same call through the sync or the async client.

Every test talks to the real ``openai`` SDK over real HTTP on 127.0.0.1; the
SDK's behaviour is steered only through what the fault server answers.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import otel_aierrors
from otel_aierrors.chaos import ChaosServer

API_KEY = "sk-proj-TestKey0123456789abcdefSECRET"

#: The HTTP library the installed SDK sends through: ``httpx2`` for openai 3.x, ``httpx`` before.
HTTP: Any = getattr(openai._base_client, "httpx2", None) or openai._base_client.httpx


@pytest.fixture(scope="session")
def chaos() -> Iterator[ChaosServer]:
    with ChaosServer(max_seconds=1800) as server:
        yield server


class Telemetry:
    """What the instrumentation exported, read back through the SDK's in-memory exporters."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def call_spans(self) -> list[ReadableSpan]:
        return [s for s in self.spans() if s.kind is SpanKind.CLIENT and "aierrors.attempt.number" not in s.attributes]

    def call_span(self) -> ReadableSpan:
        calls = self.call_spans()
        # A call whose stream or raw response the garbage collector took ends from the
        # drainer thread (finalizers only queue it), within about a second.
        deadline = time.monotonic() + 3.0
        while not calls and time.monotonic() < deadline:
            time.sleep(0.05)
            calls = self.call_spans()
        assert len(calls) == 1, [s.name for s in calls]
        return calls[0]

    def internal_span(self, name: str) -> ReadableSpan:
        """The one INTERNAL span named ``name`` (a fallback scope, an app retry)."""
        spans = [s for s in self.spans() if s.name == name]
        assert len(spans) == 1, [s.name for s in self.spans()]
        assert spans[0].kind is SpanKind.INTERNAL
        return spans[0]

    def calls_under(self, parent: ReadableSpan) -> list[ReadableSpan]:
        """The call spans directly under ``parent``, in the order they started."""
        calls = [s for s in self.call_spans() if s.parent is not None and s.parent.span_id == parent.context.span_id]
        return sorted(calls, key=lambda s: s.start_time or 0)

    def attempt_spans(self, call: ReadableSpan | None = None) -> list[ReadableSpan]:
        attempts = [s for s in self.spans() if "aierrors.attempt.number" in s.attributes]
        if call is not None:
            attempts = [s for s in attempts if s.parent is not None and s.parent.span_id == call.context.span_id]
        return sorted(attempts, key=lambda s: s.attributes["aierrors.attempt.number"])

    def points(self, name: str, data: Any = None) -> list[Any]:
        """Data points of metric ``name``; pass ``data`` from one ``reader.get_metrics_data()``
        to read several metrics from one collection (a collection resets exemplars)."""
        data = data if data is not None else self.reader.get_metrics_data()
        found: list[Any] = []
        if data is None:
            return found
        for resource_metrics in data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name == name:
                        found.extend(metric.data.data_points)
        return found

    def count(self, name: str, **attributes: Any) -> float:
        """Sum of a counter (or count of a histogram) over points matching ``attributes``.

        Keyword names use ``__`` for dots: ``aierrors__outcome="ok"``.
        """
        wanted = {key.replace("__", "."): value for key, value in attributes.items()}
        total: float = 0
        for point in self.points(name):
            if all(point.attributes.get(key) == value for key, value in wanted.items()):
                total += point.value if hasattr(point, "value") else point.count
        return total

    def uninstrumented(self, call: Callable[[], object]) -> BaseException | None:
        """What ``call`` raises with the instrumentation off (None if nothing): what the SDK
        decides to raise is its own, so tests compare with it instead of naming a type."""
        otel_aierrors.uninstrument()
        try:
            return raised(call)
        finally:
            otel_aierrors.instrument(tracer_provider=self.tracer_provider, meter_provider=self.meter_provider)

    def exported_text(self) -> str:
        """Every attribute value and event of every span and metric point, as one string."""
        parts: list[str] = []
        for span in self.spans():
            parts.append(span.name)
            parts.extend(str(v) for v in span.attributes.values())
            for event in span.events:
                parts.extend(str(v) for v in event.attributes.values())
            parts.append(str(span.status.description))
        data = self.reader.get_metrics_data()
        if data is not None:
            parts.append(data.to_json())
        return "\n".join(parts)


def raised(call: Callable[[], object]) -> BaseException | None:
    """The exception ``call`` raised, or None."""
    try:
        call()
    except BaseException as error:
        return error
    return None


def assert_same_exception(instrumented: BaseException | None, plain: BaseException | None) -> None:
    """The instrumented call raised what the same call raised uninstrumented: same class, same message."""
    assert plain is not None, "the uninstrumented call raised nothing"
    assert type(instrumented) is type(plain), (type(instrumented), type(plain))
    # Ports and request ids differ between two runs; the message's shape does not.
    assert _stable(str(instrumented)) == _stable(str(plain))


def _stable(message: str) -> str:
    return re.sub(r"\d+", "N", message)


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    recorded = Telemetry()
    otel_aierrors.instrument(tracer_provider=recorded.tracer_provider, meter_provider=recorded.meter_provider)
    try:
        yield recorded
    finally:
        otel_aierrors.uninstrument()


class SDK:
    """Makes one SDK call through the sync or the async client, with a fault script."""

    def __init__(self, mode: str, base_url: str) -> None:
        self.mode = mode
        self.base_url = base_url

    def call(
        self,
        method: str = "chat",
        script: str | None = None,
        *,
        max_retries: int = 2,
        timeout: float = 10.0,
        api_key: str = API_KEY,
        base_url: str | None = None,
        **params: Any,
    ) -> Any:
        """Run ``method`` (``chat``, ``completions``, ``embeddings``, ``responses``, ``images``, ``models``)."""
        headers = {"x-chaos-script": script} if script else {}
        url = base_url or self.base_url
        if self.mode == "sync":
            with openai.OpenAI(base_url=url, api_key=api_key, max_retries=max_retries, timeout=timeout) as client:
                return _invoke(client, method, headers, params)

        async def run() -> Any:
            async with openai.AsyncOpenAI(
                base_url=url, api_key=api_key, max_retries=max_retries, timeout=timeout
            ) as client:
                return await _invoke(client, method, headers, params)

        return asyncio.run(run())


def _invoke(client: Any, method: str, headers: dict[str, str], params: dict[str, Any]) -> Any:
    if method == "chat":
        params.setdefault("model", "gpt-4o")
        params.setdefault("messages", [{"role": "user", "content": "hello"}])
        return client.chat.completions.create(extra_headers=headers, **params)
    if method == "completions":
        return client.completions.create(
            model="gpt-3.5-turbo-instruct", prompt="hello", extra_headers=headers, **params
        )
    if method == "embeddings":
        return client.embeddings.create(model="text-embedding-3-small", input="hello", extra_headers=headers, **params)
    if method == "responses":
        return client.responses.create(model="gpt-4o", input="hello", extra_headers=headers, **params)
    if method == "images":
        return client.images.generate(model="dall-e-3", prompt="a cat", extra_headers=headers, **params)
    if method == "models":
        return client.models.list(extra_headers=headers)
    raise ValueError(method)


@pytest.fixture(params=["sync", "async"])
def sdk(request: pytest.FixtureRequest, chaos: ChaosServer) -> SDK:
    return SDK(request.param, chaos.base_url)
