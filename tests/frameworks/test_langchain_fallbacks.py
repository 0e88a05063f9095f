"""LangChain: ``with_fallbacks`` is a ``fallback langchain`` scope, ``with_retry`` app retries (library ``langchain``).

Real langchain-core and langchain-openai: ``ChatOpenAI`` over the real openai
SDK, with the SDK's own retries off (``max_retries=0``), over HTTP on
127.0.0.1 against the chaos server. A primary that times out is a client
timeout (``timeout=0.2``) on an answer the server delays by a second. The
steps of a ``with_retry`` story are set per request by an event hook of the
HTTP client given to ``ChatOpenAI`` (its headers are otherwise fixed).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("langchain_core")
pytest.importorskip("langchain_openai")

import wrapt
from langchain_core.runnables import Runnable
from langchain_core.runnables.fallbacks import RunnableWithFallbacks
from langchain_core.runnables.retry import RunnableRetry
from langchain_openai import ChatOpenAI
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

import otel_aierrors
from otel_aierrors.chaos import ChaosServer
from tests.conftest import HTTP, Telemetry, assert_same_exception, raised

PRIMARY = "gpt-4o"
FALLBACK = "gpt-4o-mini"
SLOW = "ok;delay=1"


class Story:
    """Scripts handed out one per HTTP request, in order (the last repeats), through the client's event hook."""

    def __init__(self, *scripts: str) -> None:
        self.scripts = scripts
        self.sent = 0
        self.tag = uuid.uuid4().hex

    def _script(self, request: Any) -> None:
        request.headers["x-chaos-script"] = self.scripts[min(self.sent, len(self.scripts) - 1)]
        request.headers["x-chaos-tag"] = self.tag
        self.sent += 1

    def sync_client(self) -> Any:
        client = HTTP.Client(event_hooks={"request": [self._script]})
        _OPEN.append(client)
        return client

    def async_client(self) -> Any:
        async def script(request: Any) -> None:
            self._script(request)

        client = HTTP.AsyncClient(event_hooks={"request": [script]})
        _OPEN.append(client)
        return client


#: The HTTP clients made for the current run, closed when it ends.
_OPEN: list[Any] = []


async def _close_clients() -> None:
    while _OPEN:
        client = _OPEN.pop()
        if isinstance(client, HTTP.AsyncClient):
            await client.aclose()
        else:
            client.close()


def chat(chaos: ChaosServer, model: str, story: Story, timeout: float = 10.0) -> ChatOpenAI:
    return ChatOpenAI(
        model=model,
        base_url=chaos.base_url,
        api_key="dummy",
        max_retries=0,
        timeout=timeout,
        http_client=story.sync_client(),
        http_async_client=story.async_client(),
    )


def fallbacks(chaos: ChaosServer, primary: str = SLOW, fallback: str = "ok") -> Runnable[Any, Any]:
    return chat(chaos, PRIMARY, Story(primary), timeout=0.2).with_fallbacks([chat(chaos, FALLBACK, Story(fallback))])


def retried(chaos: ChaosServer, *scripts: str) -> Runnable[Any, Any]:
    return chat(chaos, PRIMARY, Story(*scripts)).with_retry(stop_after_attempt=3, wait_exponential_jitter=False)


def run(make: Callable[[], Runnable[Any, Any]], mode: str) -> str:
    """A new runnable's answer: ``invoke``, ``ainvoke``, ``stream`` or ``astream`` (chunks joined);
    its HTTP clients are closed after."""

    async def arun() -> str:
        try:
            runnable = make()
            if mode == "ainvoke":
                return str((await runnable.ainvoke("hello")).content)
            return "".join([str(chunk.content) async for chunk in runnable.astream("hello")])
        finally:
            await _close_clients()

    if mode in ("ainvoke", "astream"):
        return asyncio.run(arun())
    try:
        runnable = make()
        if mode == "invoke":
            return str(runnable.invoke("hello").content)
        return "".join(str(chunk.content) for chunk in runnable.stream("hello"))
    finally:
        asyncio.run(_close_clients())


def plain(telemetry: Telemetry, make: Callable[[], object]) -> object:
    """What ``make()`` returns with the instrumentation off."""
    otel_aierrors.uninstrument()
    try:
        return make()
    finally:
        otel_aierrors.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)


def only_span(telemetry: Telemetry, name: str) -> ReadableSpan:
    return telemetry.internal_span(name)


def calls_under(telemetry: Telemetry, parent: ReadableSpan) -> list[ReadableSpan]:
    return telemetry.calls_under(parent)


FALLBACK_MODES = ["invoke", "ainvoke", "stream", "astream"]
RETRY_MODES = ["invoke", "ainvoke"]


@pytest.mark.parametrize("mode", FALLBACK_MODES)
def test_with_fallbacks_after_a_timeout_on_the_primary_is_one_scope_with_a_timeout_hop(
    chaos: ChaosServer, telemetry: Telemetry, mode: str
) -> None:
    expected = plain(telemetry, lambda: run(lambda: fallbacks(chaos), mode))
    telemetry.exporter.clear()

    answer = run(lambda: fallbacks(chaos), mode)

    assert answer == expected
    scope = only_span(telemetry, "fallback langchain")
    assert scope.attributes["aierrors.fallback.name"] == "langchain"
    assert scope.attributes["aierrors.outcome"] == "ok"
    assert scope.attributes["aierrors.fallback.hops"] == 2
    assert scope.attributes["aierrors.fallback.succeeded_hop"] == 1
    primary, fallback = calls_under(telemetry, scope)
    assert primary.attributes["gen_ai.request.model"] == PRIMARY
    assert primary.attributes["aierrors.fallback.hop"] == 0
    assert primary.attributes["aierrors.error.class"] == "timeout"
    assert fallback.attributes["aierrors.fallback.hop"] == 1
    assert fallback.attributes["aierrors.fallback.kind"] == "model"
    assert fallback.attributes["aierrors.fallback.reason"] == "timeout"
    assert fallback.attributes["aierrors.fallback.from_model"] == PRIMARY
    assert fallback.attributes["aierrors.fallback.to_model"] == FALLBACK
    assert fallback.attributes.get("aierrors.outcome", "ok") == "ok"
    assert "aierrors.error.class" not in fallback.attributes


@pytest.mark.parametrize("mode", FALLBACK_MODES)
def test_with_fallbacks_all_failing_raises_what_langchain_raises_and_the_scope_is_an_error(
    chaos: ChaosServer, telemetry: Telemetry, mode: str
) -> None:
    expected = telemetry.uninstrumented(lambda: run(lambda: fallbacks(chaos, SLOW, "server_error"), mode))
    telemetry.exporter.clear()

    error = raised(lambda: run(lambda: fallbacks(chaos, SLOW, "server_error"), mode))

    assert_same_exception(error, expected)
    scope = only_span(telemetry, "fallback langchain")
    assert scope.attributes["aierrors.outcome"] == "error"
    assert scope.status.status_code is StatusCode.ERROR
    # LangChain re-raises the first error: the primary's timeout.
    assert scope.attributes["aierrors.error.class"] == "timeout"
    primary, fallback = calls_under(telemetry, scope)
    assert primary.attributes["aierrors.error.class"] == "timeout"
    assert fallback.attributes["aierrors.fallback.reason"] == "timeout"
    assert fallback.attributes["aierrors.error.class"] == "server_error"


@pytest.mark.parametrize("mode", RETRY_MODES)
def test_with_retry_after_500_then_200_is_attempts_1_and_2_under_one_retry_span(
    chaos: ChaosServer, telemetry: Telemetry, mode: str
) -> None:
    expected = plain(telemetry, lambda: run(lambda: retried(chaos, "server_error", "ok"), mode))
    telemetry.exporter.clear()

    answer = run(lambda: retried(chaos, "server_error", "ok"), mode)

    assert answer == expected
    span = only_span(telemetry, "retry ChatOpenAI")
    assert dict(span.attributes) == {"aierrors.app_retry.library": "langchain", "aierrors.app_retry.attempt": 2}
    assert span.status.status_code is StatusCode.UNSET
    calls = calls_under(telemetry, span)
    assert [c.attributes["aierrors.app_retry.attempt"] for c in calls] == [1, 2]
    assert {c.attributes["aierrors.app_retry.library"] for c in calls} == {"langchain"}
    assert [c.attributes.get("aierrors.error.class") for c in calls] == ["server_error", None]
    # tenacity is patched too, but RunnableRetry loops with its iterator form, which it does not see:
    # one retry span, langchain's, and no call claimed by tenacity.
    assert not [s for s in telemetry.spans() if s.attributes.get("aierrors.app_retry.library") == "tenacity"]
    assert len(telemetry.call_spans()) == 2


@pytest.mark.parametrize("mode", RETRY_MODES)
def test_with_retry_giving_up_reraises_what_langchain_raises_after_3_attempts(
    chaos: ChaosServer, telemetry: Telemetry, mode: str
) -> None:
    expected = telemetry.uninstrumented(lambda: run(lambda: retried(chaos, "server_error"), mode))
    telemetry.exporter.clear()

    error = raised(lambda: run(lambda: retried(chaos, "server_error"), mode))

    assert_same_exception(error, expected)
    span = only_span(telemetry, "retry ChatOpenAI")
    assert span.attributes["aierrors.app_retry.attempt"] == 3
    assert span.status.status_code is StatusCode.ERROR
    calls = calls_under(telemetry, span)
    assert [c.attributes["aierrors.app_retry.attempt"] for c in calls] == [1, 2, 3]


def test_with_retry_around_with_fallbacks_records_each_call_as_a_hop_and_an_attempt(
    chaos: ChaosServer, telemetry: Telemetry
) -> None:
    def make() -> Runnable[Any, Any]:
        return fallbacks(chaos, SLOW, "server_error").with_retry(stop_after_attempt=2, wait_exponential_jitter=False)

    expected = telemetry.uninstrumented(lambda: run(make, "invoke"))
    telemetry.exporter.clear()

    error = raised(lambda: run(make, "invoke"))

    assert_same_exception(error, expected)
    retry = only_span(telemetry, "retry RunnableWithFallbacks")
    scopes = sorted(
        (s for s in telemetry.spans() if s.name == "fallback langchain"), key=lambda span: span.start_time or 0
    )
    assert len(scopes) == 2
    for attempt, scope in enumerate(scopes, start=1):
        assert scope.parent is not None and scope.parent.span_id == retry.context.span_id
        calls = calls_under(telemetry, scope)
        assert [c.attributes["aierrors.fallback.hop"] for c in calls] == [0, 1]
        assert [c.attributes["aierrors.app_retry.attempt"] for c in calls] == [attempt, attempt]


def test_uninstrument_restores_langchain_and_records_nothing(chaos: ChaosServer, telemetry: Telemetry) -> None:
    wrapped = [
        (RunnableWithFallbacks, "invoke"),
        (RunnableWithFallbacks, "ainvoke"),
        (RunnableWithFallbacks, "stream"),
        (RunnableWithFallbacks, "astream"),
        (RunnableRetry, "invoke"),
        (RunnableRetry, "ainvoke"),
        (RunnableRetry, "_sync_retrying"),
        (RunnableRetry, "_async_retrying"),
    ]
    assert all(isinstance(vars(owner)[name], wrapt.FunctionWrapper) for owner, name in wrapped)
    otel_aierrors.uninstrument()
    try:
        assert not any(isinstance(vars(owner)[name], wrapt.FunctionWrapper) for owner, name in wrapped)
        assert run(lambda: fallbacks(chaos), "invoke")
        assert run(lambda: retried(chaos, "server_error", "ok"), "invoke")
        assert telemetry.spans() == []
    finally:
        otel_aierrors.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    assert all(isinstance(vars(owner)[name], wrapt.FunctionWrapper) for owner, name in wrapped)
