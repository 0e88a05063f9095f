"""The application's circuit breakers (real ``pybreaker``, ``aiobreaker``, ``purgatory``) around the real SDK.

A breaker that opens after N failures is visible as a state-change event, as
the state gauge and the transitions counter, and each call it refuses is a
call span with outcome ``error`` and class ``circuit_open`` and no attempt.
The SDK's own retries are off (``max_retries=0``): each call is one attempt.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import aiobreaker
import openai
import purgatory
import pybreaker
import pytest
import wrapt
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

import otel_aierrors
from otel_aierrors.chaos import ChaosServer
from tests.conftest import API_KEY, Telemetry

MESSAGES: Any = [{"role": "user", "content": "hello"}]


@pytest.fixture
def client(chaos: ChaosServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=chaos.base_url, api_key=API_KEY, max_retries=0, timeout=5.0) as sdk:
        yield sdk


def ask(client: openai.OpenAI, script: str) -> Callable[[], Any]:
    def call() -> Any:
        return client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, extra_headers={"x-chaos-script": script}
        )

    return call


def refused_calls(telemetry: Telemetry) -> list[ReadableSpan]:
    return [s for s in telemetry.call_spans() if s.attributes.get("aierrors.error.class") == "circuit_open"]


def state_changes(span: ReadableSpan) -> list[tuple[Any, ...]]:
    return [
        (
            event.attributes["aierrors.breaker.library"],
            event.attributes["aierrors.breaker.name"],
            event.attributes["aierrors.breaker.from_state"],
            event.attributes["aierrors.breaker.to_state"],
        )
        for event in span.events
        if event.name == "aierrors.breaker.state_change"
    ]


def status(telemetry: Telemetry, library: str, name: str) -> dict[str, float]:
    return {
        point.attributes["aierrors.breaker.state"]: point.value
        for point in telemetry.points("aierrors.breaker.status")
        if point.attributes["aierrors.breaker.name"] == name and point.attributes["aierrors.breaker.library"] == library
    }


def assert_refused_call(telemetry: Telemetry, span: ReadableSpan, library: str, name: str) -> None:
    assert span.name == "chat gpt-4o"  # the target of the last call through the breaker
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["aierrors.outcome"] == "error"
    assert span.attributes["aierrors.retryable"] is False
    assert span.attributes["error.type"] == "circuit_open"
    assert span.attributes["aierrors.attempt.count"] == 0
    assert span.attributes["aierrors.breaker.name"] == name
    assert span.attributes["aierrors.breaker.library"] == library
    assert span.attributes["gen_ai.request.model"] == "gpt-4o"
    assert telemetry.attempt_spans(span) == []


# --- pybreaker ------------------------------------------------------------------------
def test_pybreaker_opening_after_three_failures_is_an_event_a_state_and_refused_calls(
    telemetry: Telemetry, client: openai.OpenAI
) -> None:
    breaker = pybreaker.CircuitBreaker(fail_max=3, reset_timeout=60, name="openai")
    tracer = telemetry.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("handle request") as app_span:
        for _ in range(2):
            with pytest.raises(openai.InternalServerError):
                breaker.call(ask(client, "server_error"))
        with pytest.raises(pybreaker.CircuitBreakerError):  # the third failure trips it
            breaker.call(ask(client, "server_error"))
        for _ in range(2):
            with pytest.raises(pybreaker.CircuitBreakerError) as refused:
                breaker.call(ask(client, "ok"))
    assert breaker.current_state == "open"
    assert refused.value.__class__ is pybreaker.CircuitBreakerError

    spans = {s.context.span_id: s for s in telemetry.spans()}
    assert state_changes(spans[app_span.get_span_context().span_id]) == [("pybreaker", "openai", "closed", "open")]
    sent = [s for s in telemetry.call_spans() if "aierrors.breaker.name" not in s.attributes]
    assert [s.attributes["aierrors.error.class"] for s in sent] == ["server_error"] * 3
    refused_spans = refused_calls(telemetry)
    assert len(refused_spans) == 2
    for span in refused_spans:
        assert_refused_call(telemetry, span, "pybreaker", "openai")
    assert status(telemetry, "pybreaker", "openai") == {"closed": 0, "open": 1}
    assert (
        telemetry.count(
            "aierrors.breaker.transitions",
            aierrors__breaker__name="openai",
            aierrors__breaker__from_state="closed",
            aierrors__breaker__to_state="open",
        )
        == 1
    )
    assert telemetry.count("aierrors.calls", aierrors__error__class="circuit_open", aierrors__outcome="error") == 2
    assert telemetry.count("aierrors.attempts") == 3


def test_pybreaker_trial_call_after_the_timeout_is_sent_and_closes_the_breaker(
    telemetry: Telemetry, client: openai.OpenAI
) -> None:
    breaker = pybreaker.CircuitBreaker(fail_max=1, reset_timeout=0.2, name="trial")
    with pytest.raises(pybreaker.CircuitBreakerError):
        breaker.call(ask(client, "server_error"))
    time.sleep(0.3)
    result = breaker.call(ask(client, "ok"))

    assert result.choices[0].message.content
    assert breaker.current_state == "closed"
    assert refused_calls(telemetry) == []
    assert [s.attributes["aierrors.outcome"] for s in telemetry.call_spans()] == ["error", "ok"]
    assert status(telemetry, "pybreaker", "trial") == {"closed": 1, "open": 0, "half_open": 0}
    for before, after in (("closed", "open"), ("open", "half_open"), ("half_open", "closed")):
        assert (
            telemetry.count(
                "aierrors.breaker.transitions",
                aierrors__breaker__from_state=before,
                aierrors__breaker__to_state=after,
            )
            == 1
        )


def test_pybreaker_failed_trial_is_a_sent_call_not_a_refusal(telemetry: Telemetry, client: openai.OpenAI) -> None:
    breaker = pybreaker.CircuitBreaker(fail_max=1, reset_timeout=0.2, name="trial")
    with pytest.raises(pybreaker.CircuitBreakerError):
        breaker.call(ask(client, "server_error"))
    time.sleep(0.3)
    with pytest.raises(pybreaker.CircuitBreakerError):  # the trial call fails: open again
        breaker.call(ask(client, "overloaded"))

    assert refused_calls(telemetry) == []
    assert [s.attributes["aierrors.error.class"] for s in telemetry.call_spans()] == ["server_error", "overloaded"]
    assert status(telemetry, "pybreaker", "trial") == {"closed": 0, "open": 1, "half_open": 0}


def test_a_refusal_inside_a_fallback_scope_is_a_hop_with_reason_circuit_open(
    telemetry: Telemetry, client: openai.OpenAI
) -> None:
    breaker = pybreaker.CircuitBreaker(fail_max=1, reset_timeout=60, name="primary")
    with pytest.raises(pybreaker.CircuitBreakerError):
        breaker.call(ask(client, "server_error"))
    telemetry.exporter.clear()

    def primary() -> Any:
        return breaker.call(ask(client, "ok"))

    def secondary() -> Any:
        return client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    result = otel_aierrors.with_fallback([primary, secondary], name="answer")

    assert result.choices[0].message.content
    calls = sorted(telemetry.call_spans(), key=lambda s: s.start_time or 0)
    assert [c.attributes["aierrors.outcome"] for c in calls] == ["error", "ok"]
    assert calls[0].attributes["aierrors.error.class"] == "circuit_open"
    assert calls[1].attributes["aierrors.fallback.reason"] == "circuit_open"
    assert calls[1].attributes["aierrors.fallback.hop"] == 1
    scope = next(s for s in telemetry.spans() if s.name == "fallback answer")
    assert scope.attributes["aierrors.fallback.succeeded_hop"] == 1
    assert all(c.parent is not None and c.parent.span_id == scope.context.span_id for c in calls)


def test_a_breaker_around_code_that_makes_no_ai_call_refuses_as_unknown_target(telemetry: Telemetry) -> None:
    breaker = pybreaker.CircuitBreaker(fail_max=1, reset_timeout=60, name="db")

    def query() -> None:
        raise ConnectionError("database down")

    with pytest.raises(pybreaker.CircuitBreakerError):
        breaker.call(query)
    with pytest.raises(pybreaker.CircuitBreakerError):
        breaker.call(query)

    [span] = refused_calls(telemetry)
    assert span.name == "unknown"
    assert span.attributes["gen_ai.provider.name"] == "unknown"


# --- purgatory ------------------------------------------------------------------------
def test_purgatory_opening_after_two_failures_is_an_event_a_state_and_refused_calls(
    telemetry: Telemetry, client: openai.OpenAI
) -> None:
    breakers = purgatory.SyncCircuitBreakerFactory(default_threshold=2, default_ttl=60)

    @breakers("openai-chat")
    def call(script: str) -> Any:
        return ask(client, script)()

    tracer = telemetry.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("handle request") as app_span:
        for _ in range(2):
            with pytest.raises(openai.InternalServerError):
                call("server_error")
        with pytest.raises(purgatory.domain.model.OpenedState):
            call("ok")

    spans = {s.context.span_id: s for s in telemetry.spans()}
    assert state_changes(spans[app_span.get_span_context().span_id]) == [("purgatory", "openai-chat", "closed", "open")]
    [span] = refused_calls(telemetry)
    assert_refused_call(telemetry, span, "purgatory", "openai-chat")
    assert status(telemetry, "purgatory", "openai-chat") == {"closed": 0, "open": 1}
    assert telemetry.count("aierrors.calls", aierrors__error__class="circuit_open") == 1
    assert telemetry.count("aierrors.attempts") == 2


def test_purgatory_async_breaker_around_the_async_sdk(telemetry: Telemetry, chaos: ChaosServer) -> None:
    async def run() -> list[str]:
        breakers = purgatory.AsyncCircuitBreakerFactory(default_threshold=1, default_ttl=60)
        outcomes = []
        async with openai.AsyncOpenAI(base_url=chaos.base_url, api_key=API_KEY, max_retries=0) as sdk:
            for script in ("rate_limit", "ok"):
                try:
                    async with await breakers.get_breaker("async-chat"):
                        await sdk.chat.completions.create(
                            model="gpt-4o", messages=MESSAGES, extra_headers={"x-chaos-script": script}
                        )
                except openai.RateLimitError:
                    outcomes.append("rate_limit")
                except purgatory.domain.model.OpenedState:
                    outcomes.append("refused")
        return outcomes

    assert asyncio.run(run()) == ["rate_limit", "refused"]
    [span] = refused_calls(telemetry)
    assert_refused_call(telemetry, span, "purgatory", "async-chat")
    assert status(telemetry, "purgatory", "async-chat") == {"closed": 0, "open": 1}


# --- aiobreaker (pybreaker's asyncio fork) ------------------------------------------------
def test_aiobreaker_around_the_async_sdk_opens_and_refuses(telemetry: Telemetry, chaos: ChaosServer) -> None:
    async def run() -> list[str]:
        breaker = aiobreaker.CircuitBreaker(fail_max=2, timeout_duration=timedelta(seconds=60), name="async-openai")
        outcomes = []
        async with openai.AsyncOpenAI(base_url=chaos.base_url, api_key=API_KEY, max_retries=0) as sdk:

            async def call(script: str) -> Any:
                return await sdk.chat.completions.create(
                    model="gpt-4o", messages=MESSAGES, extra_headers={"x-chaos-script": script}
                )

            for script in ("overloaded", "overloaded", "ok"):
                try:
                    await breaker.call_async(call, script)
                except openai.InternalServerError:
                    outcomes.append("overloaded")
                except aiobreaker.CircuitBreakerError:
                    outcomes.append("breaker")
        return outcomes

    assert asyncio.run(run()) == ["overloaded", "breaker", "breaker"]  # the second failure trips it
    [span] = refused_calls(telemetry)
    assert_refused_call(telemetry, span, "aiobreaker", "async-openai")
    assert status(telemetry, "aiobreaker", "async-openai") == {"closed": 0, "open": 1}
    assert telemetry.count("aierrors.attempts") == 2


def test_aiobreaker_sync_call_half_opens_and_closes(telemetry: Telemetry, client: openai.OpenAI) -> None:
    breaker = aiobreaker.CircuitBreaker(fail_max=1, timeout_duration=timedelta(seconds=0.2), name="sync")
    with pytest.raises(aiobreaker.CircuitBreakerError):
        breaker.call(ask(client, "server_error"))
    time.sleep(0.3)
    breaker.call(ask(client, "ok"))

    assert refused_calls(telemetry) == []
    assert status(telemetry, "aiobreaker", "sync") == {"closed": 1, "open": 0, "half_open": 0}


# --- install / uninstall ------------------------------------------------------------------
def test_uninstrument_restores_the_breaker_libraries(chaos: ChaosServer) -> None:
    recorded = Telemetry()
    otel_aierrors.instrument(tracer_provider=recorded.tracer_provider, meter_provider=recorded.meter_provider)
    try:
        assert isinstance(vars(pybreaker.CircuitBreaker)["call"], wrapt.FunctionWrapper)
        assert isinstance(vars(purgatory.domain.model.Context)["set_state"], wrapt.FunctionWrapper)
        assert isinstance(vars(aiobreaker.state.CircuitBreakerBaseState)["call_async"], wrapt.FunctionWrapper)
    finally:
        otel_aierrors.uninstrument()
    assert not isinstance(vars(pybreaker.CircuitBreaker)["call"], wrapt.FunctionWrapper)
    assert not isinstance(vars(pybreaker.CircuitOpenState)["__init__"], wrapt.FunctionWrapper)
    assert not isinstance(vars(purgatory.domain.model.Context)["__enter__"], wrapt.FunctionWrapper)
    assert not isinstance(vars(aiobreaker.CircuitBreaker)["call_async"], wrapt.FunctionWrapper)

    breaker = pybreaker.CircuitBreaker(fail_max=1, name="after")
    with pytest.raises(pybreaker.CircuitBreakerError):
        breaker.call(lambda: 1 / 0)
    with pytest.raises(pybreaker.CircuitBreakerError):
        breaker.call(lambda: 1)
    assert recorded.spans() == []
    assert recorded.points("aierrors.breaker.transitions") == []


def test_the_breaker_libraries_are_patched_on_import_and_never_imported_by_us() -> None:
    code = textwrap.dedent(
        """
        import sys
        import wrapt
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.trace import TracerProvider
        import otel_aierrors

        otel_aierrors.instrument(tracer_provider=TracerProvider(), meter_provider=MeterProvider())
        assert "pybreaker" not in sys.modules and "purgatory" not in sys.modules, "imported too early"
        import pybreaker, purgatory
        assert isinstance(vars(pybreaker.CircuitBreaker)["call"], wrapt.FunctionWrapper)
        assert isinstance(vars(purgatory.domain.model.Context)["__enter__"], wrapt.FunctionWrapper)
        otel_aierrors.uninstrument()
        assert not isinstance(vars(pybreaker.CircuitBreaker)["call"], wrapt.FunctionWrapper)
        otel_aierrors.instrument(tracer_provider=TracerProvider(), meter_provider=MeterProvider())
        assert isinstance(vars(pybreaker.CircuitBreaker)["call"], wrapt.FunctionWrapper)
        otel_aierrors.uninstrument()
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_without_the_breaker_libraries_instrument_behaves_as_before(chaos: ChaosServer) -> None:
    code = textwrap.dedent(
        f"""
        import sys, warnings
        warnings.simplefilter("error")
        sys.modules["pybreaker"] = None  # as if not installed: importing it raises ImportError
        sys.modules["purgatory"] = None
        sys.modules["aiobreaker"] = None
        import openai
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        import otel_aierrors

        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        otel_aierrors.instrument(tracer_provider=provider, meter_provider=MeterProvider())
        with openai.OpenAI(base_url={chaos.base_url!r}, api_key="sk-test", max_retries=0) as client:
            client.chat.completions.create(model="gpt-4o", messages=[{{"role": "user", "content": "hi"}}])
        otel_aierrors.uninstrument()
        assert sorted(s.name for s in exporter.get_finished_spans()) == ["POST chat", "chat gpt-4o"]
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_breaker_names_on_metrics_are_bounded(telemetry: Telemetry) -> None:
    for index in range(70):
        breaker = pybreaker.CircuitBreaker(fail_max=1, name=f"breaker-{index}")
        with pytest.raises(pybreaker.CircuitBreakerError):
            breaker.call(lambda: 1 / 0)

    names = {point.attributes["aierrors.breaker.name"] for point in telemetry.points("aierrors.breaker.transitions")}
    assert len(names) == 65  # 64 names, then _other
    assert "_other" in names
    events = [e for s in telemetry.spans() for e in s.events if e.name == "aierrors.breaker.state_change"]
    assert events == []  # no span was current: no event, and no error
