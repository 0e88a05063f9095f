"""The end path cannot leave anything open: a fault injected into each of its steps in turn.

From "the SDK returned, raised or the stream stopped" to "spans ended and
metrics recorded", every step of ours (reading the status, the headers and the
body, parsing the error body, classifying, summarizing a result or a stream,
each metric instrument) is made to raise, for a plain call, an error call with
retries, a stream and a stream that breaks. Each time the application gets
exactly what the bare SDK gives it, no span is left open, the call is counted
once, and the span whose end path broke names the fault in
``aierrors.internal_error``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

import otel_aierrors
from otel_aierrors import _attempt, _call, _recording, _streams
from otel_aierrors._patches import calls, transport
from otel_aierrors._results import StreamSummary
from otel_aierrors.chaos import ChaosServer
from tests.conftest import API_KEY, Telemetry

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}]}

#: name: (fault script, streamed)
SCENARIOS: dict[str, tuple[str, bool]] = {
    "plain": ("ok", False),
    "retried_error": ("rate_limit;retry_after_ms=1,server_error;retry_after_ms=1,server_error;retry_after_ms=1", False),
    "stream": ("ok;chunks=3", True),
    "broken_stream": ("stream_cut;after=2", True),
}


class InjectedFault(Exception):
    """Raised by the step under test."""


class SpanTracker(SpanProcessor):
    """Which spans started and which ended: an open span is never exported, so only this sees it."""

    def __init__(self) -> None:
        self.started: set[int] = set()
        self.ended: set[int] = set()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.started.add(span.context.span_id)

    def on_end(self, span: ReadableSpan) -> None:
        self.ended.add(span.context.span_id)

    def open(self) -> set[int]:
        return self.started - self.ended


class Instrumented:
    """Our telemetry object (its instruments), the test's exporters and the span tracker."""

    def __init__(self, recorded: Telemetry, ours: _recording.Telemetry, tracker: SpanTracker) -> None:
        self.recorded = recorded
        self.ours = ours
        self.tracker = tracker


@pytest.fixture
def instrumented(monkeypatch: pytest.MonkeyPatch) -> Iterator[Instrumented]:
    recorded = Telemetry()
    tracker = SpanTracker()
    recorded.tracer_provider.add_span_processor(tracker)
    made: list[_recording.Telemetry] = []
    original_init = _recording.Telemetry.__init__

    def capturing_init(self: _recording.Telemetry, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(_recording.Telemetry, "__init__", capturing_init)
    otel_aierrors.instrument(tracer_provider=recorded.tracer_provider, meter_provider=recorded.meter_provider)
    try:
        (ours,) = made
        yield Instrumented(recorded, ours, tracker)
    finally:
        otel_aierrors.uninstrument()


# --- what the application sees ---------------------------------------------------------------
def _outcome(mode: str, base_url: str, scenario: str) -> Any:
    """What the application gets from the scenario's call, as comparable values."""
    script, streamed = SCENARIOS[scenario]
    headers = {"x-chaos-script": script}
    options: dict[str, Any] = {"stream_options": {"include_usage": True}} if streamed else {}

    def shape_of_result(result: Any) -> Any:
        return type(result).__name__, [(c.message.content, c.finish_reason) for c in result.choices]

    def shape_of_chunk(chunk: Any) -> Any:
        return [(c.delta.content, c.finish_reason) for c in chunk.choices], chunk.usage is not None

    def shape_of_error(error: Exception) -> Any:
        return type(error).__name__, getattr(error, "status_code", None), getattr(error, "body", None)

    if mode == "sync":
        with openai.OpenAI(base_url=base_url, api_key=API_KEY, max_retries=2) as client:
            shown: list[Any] = []
            try:
                result = client.chat.completions.create(stream=streamed, extra_headers=headers, **CHAT, **options)
                if not streamed:
                    return shape_of_result(result)
                shown.extend(shape_of_chunk(chunk) for chunk in result)
                return shown
            except Exception as error:  # which the SDK raises is its own (1.x/2.x let httpx's through)
                return shown, shape_of_error(error)

    async def run() -> Any:
        async with openai.AsyncOpenAI(base_url=base_url, api_key=API_KEY, max_retries=2) as client:
            shown: list[Any] = []
            try:
                result = await client.chat.completions.create(stream=streamed, extra_headers=headers, **CHAT, **options)
                if not streamed:
                    return shape_of_result(result)
                shown.extend([shape_of_chunk(chunk) async for chunk in result])
                return shown
            except Exception as error:  # which the SDK raises is its own (1.x/2.x let httpx's through)
                return shown, shape_of_error(error)

    return asyncio.run(run())


@pytest.fixture(scope="module")
def bare(chaos: ChaosServer) -> dict[tuple[str, str], Any]:
    """What each scenario gives the application with nothing instrumented."""
    return {(mode, name): _outcome(mode, chaos.base_url, name) for mode in ("sync", "async") for name in SCENARIOS}


# --- the faults ---------------------------------------------------------------------------------
Inject = Callable[[pytest.MonkeyPatch, Instrumented, Callable[..., Any]], None]


def _function(owner: object, name: str) -> Inject:
    def inject(monkeypatch: pytest.MonkeyPatch, _: Instrumented, raiser: Callable[..., Any]) -> None:
        monkeypatch.setattr(owner, name, raiser)

    return inject


def _method(owner: type, name: str, static: bool = False) -> Inject:
    def inject(monkeypatch: pytest.MonkeyPatch, _: Instrumented, raiser: Callable[..., Any]) -> None:
        monkeypatch.setattr(owner, name, staticmethod(raiser) if static else raiser)

    return inject


class _RaisingInstrument:
    def __init__(self, raiser: Callable[..., Any]) -> None:
        self.add = self.record = raiser


def _instrument(group: str, name: str) -> Inject:
    def inject(monkeypatch: pytest.MonkeyPatch, instrumented: Instrumented, raiser: Callable[..., Any]) -> None:
        owner = instrumented.ours.instruments if group == "aierrors" else instrumented.ours.genai
        monkeypatch.setattr(owner, name, _RaisingInstrument(raiser))

    return inject


FAULTS: dict[str, Inject] = {
    "status reader": _function(transport, "response_status"),
    "header reader": _function(transport, "response_headers"),
    "header parser": _function(_attempt, "read_headers"),
    "body reader": _function(transport, "response_body_in_memory"),
    "exception reader": _function(calls, "error_facts"),
    "attempt body parser": _function(_attempt, "parse_error_body"),
    "call body parser": _function(_call, "parse_error_body"),
    "attempt classifier": _function(_attempt, "classify"),
    "call classifier": _function(_call, "call_verdict"),
    "stream classifier": _function(_streams, "classify"),
    "stream summary": _method(StreamSummary, "to_summary"),
    "stream completeness": _method(StreamSummary, "is_complete"),
    "stream interrupted reasons": _method(StreamSummary, "interrupted_reasons"),
    "summary attributes": _method(_recording.Telemetry, "summary_span_attributes", static=True),
    "aierrors.calls": _instrument("aierrors", "calls"),
    "aierrors.attempts": _instrument("aierrors", "attempts"),
    "aierrors.attempt.duration": _instrument("aierrors", "attempt_duration"),
    "aierrors.retry.backoff": _instrument("aierrors", "retry_backoff"),
    "aierrors.retry_after": _instrument("aierrors", "retry_after"),
    "gen_ai.client.operation.duration": _instrument("genai", "duration"),
    "gen_ai.client.token.usage": _instrument("genai", "tokens"),
    "gen_ai.client.operation.time_to_first_chunk": _instrument("genai", "time_to_first_chunk"),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_fault_in_the_end_path_leaves_no_span_open_and_counts_the_call_once(
    mode: str,
    fault: str,
    scenario: str,
    chaos: ChaosServer,
    bare: dict[tuple[str, str], Any],
    instrumented: Instrumented,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hits: list[str] = []

    def raiser(*args: Any, **kwargs: Any) -> Any:
        hits.append(fault)
        raise InjectedFault(fault)

    FAULTS[fault](monkeypatch, instrumented, raiser)

    shown = _outcome(mode, chaos.base_url, scenario)

    assert shown == bare[(mode, scenario)]
    tracker = instrumented.tracker
    assert tracker.started, "the call made no span"
    assert tracker.open() == set()
    recorded = instrumented.recorded
    counted = recorded.count("aierrors.calls")
    assert counted == (0 if fault == "aierrors.calls" and hits else 1)
    if hits:  # the span whose end path broke says so
        faults = [span.attributes.get("aierrors.internal_error") for span in recorded.spans()]
        assert "InjectedFault" in faults, (fault, faults)
