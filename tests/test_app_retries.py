"""Application-level retries with tenacity and backoff, linked under one ``retry {function}`` span.

The scenarios (`AppRetryCases`) run four times: tenacity and backoff, each
around a sync function calling `openai.OpenAI` and an async one calling
`openai.AsyncOpenAI`. The decorators are applied inside each test, after
``instrument()``, as an application does after start-up. The SDK's own
retries are off (``max_retries=0``) so every attempt is the application's.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import backoff
import openai
import pytest
import tenacity
import wrapt
from openai.types.chat import ChatCompletionMessageParam
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

import otel_aierrors
from otel_aierrors.chaos import ChaosServer
from tests.conftest import API_KEY, Telemetry

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello"}]


def retry_span(telemetry: Telemetry, function: str) -> ReadableSpan:
    return telemetry.internal_span(f"retry {function}")


def calls_under(telemetry: Telemetry, parent: ReadableSpan) -> list[ReadableSpan]:
    return telemetry.calls_under(parent)


class Story:
    """One script per SDK call, in order: the n-th call of the test gets the n-th step."""

    def __init__(self, *scripts: str) -> None:
        self.scripts = scripts
        self.calls = 0
        self.tag = uuid.uuid4().hex

    def headers(self) -> dict[str, str]:
        script = self.scripts[min(self.calls, len(self.scripts) - 1)]
        self.calls += 1
        return {"x-chaos-script": script, "x-chaos-tag": self.tag}


class AppRetryCases:
    """Scenarios; subclasses give the library (`retried`) and the mode (`ask`, `run`)."""

    library: str

    @pytest.fixture(autouse=True)
    def _setup(self, chaos: ChaosServer, telemetry: Telemetry) -> Iterator[None]:
        self.chaos = chaos
        self.telemetry = telemetry
        yield

    def retried(self, function: Callable[..., Any]) -> Callable[..., Any]:
        """``function`` decorated to run at most 3 times, without waiting, on any `openai.APIError`."""
        raise NotImplementedError

    def ask(self, story: Story, raised: list[BaseException] | None = None) -> Callable[..., Any]:
        """A function (sync or async) making one SDK call with the next script of ``story``,
        appending what the SDK raised to ``raised``."""
        raise NotImplementedError

    async def run(self, function: Callable[..., Any]) -> Any:
        raise NotImplementedError

    async def test_two_failures_then_success_are_three_attempts_of_one_operation(self) -> None:
        story = Story("server_error", "server_error", "ok")
        result = await self.run(self.retried(self.ask(story)))

        assert result.choices[0].message.content
        span = retry_span(self.telemetry, "ask")
        assert span.status.status_code is StatusCode.UNSET
        assert dict(span.attributes) == {"aierrors.app_retry.library": self.library, "aierrors.app_retry.attempt": 3}
        calls = calls_under(self.telemetry, span)
        assert [c.attributes["aierrors.app_retry.attempt"] for c in calls] == [1, 2, 3]
        assert {c.attributes["aierrors.app_retry.library"] for c in calls} == {self.library}
        assert [c.attributes["aierrors.outcome"] for c in calls] == ["error", "error", "ok"]
        assert [c.attributes["aierrors.attempt.count"] for c in calls] == [1, 1, 1]

    async def test_giving_up_marks_the_retry_span_and_reraises_the_sdk_error(self) -> None:
        story = Story("server_error")
        raised: list[BaseException] = []
        with pytest.raises(openai.InternalServerError) as error:
            await self.run(self.retried(self.ask(story, raised)))

        assert error.value is raised[-1]
        span = retry_span(self.telemetry, "ask")
        assert span.status.status_code is StatusCode.ERROR
        assert span.status.description == "server_error"
        assert span.attributes["aierrors.app_retry.attempt"] == 3
        assert len(calls_under(self.telemetry, span)) == 3

    async def test_retries_inside_a_fallback_scope_are_retry_hops(self) -> None:
        story = Story("overloaded", "ok")
        retried = self.retried(self.ask(story))
        with otel_aierrors.fallback_scope("answer"):
            await self.run(retried)

        scope = next(s for s in self.telemetry.spans() if s.name == "fallback answer")
        span = retry_span(self.telemetry, "ask")
        assert span.parent is not None and span.parent.span_id == scope.context.span_id
        first, second = calls_under(self.telemetry, span)
        assert first.attributes["aierrors.fallback.hop"] == 0
        assert first.attributes["aierrors.app_retry.attempt"] == 1
        assert second.attributes["aierrors.fallback.hop"] == 1
        assert second.attributes["aierrors.fallback.kind"] == "retry"
        assert second.attributes["aierrors.fallback.reason"] == "overloaded"
        assert second.attributes["aierrors.app_retry.attempt"] == 2
        assert scope.attributes["aierrors.fallback.hops"] == 2
        assert scope.attributes["aierrors.fallback.succeeded_hop"] == 1
        assert self.telemetry.count("aierrors.fallback.hops", aierrors__fallback__kind="retry") == 1

    async def test_a_fallback_scope_inside_each_attempt_keeps_the_attempt_number(self) -> None:
        story = Story("overloaded", "ok")
        await self.run(self.retried(self.in_scope(self.ask(story))))

        span = retry_span(self.telemetry, "ask")
        scopes = [s for s in self.telemetry.spans() if s.name == "fallback attempt"]
        assert len(scopes) == 2
        assert all(s.parent is not None and s.parent.span_id == span.context.span_id for s in scopes)
        calls = sorted(self.telemetry.call_spans(), key=lambda c: c.start_time or 0)
        assert [c.attributes["aierrors.app_retry.attempt"] for c in calls] == [1, 2]
        assert [c.attributes["aierrors.fallback.hop"] for c in calls] == [0, 0]

    def in_scope(self, ask: Callable[..., Any]) -> Callable[..., Any]:
        """``ask`` run inside its own fallback scope ``attempt``, under the same name."""
        raise NotImplementedError


class SyncMode(AppRetryCases):
    def ask(self, story: Story, raised: list[BaseException] | None = None) -> Callable[..., Any]:
        base_url = self.chaos.base_url

        def ask() -> Any:
            with openai.OpenAI(base_url=base_url, api_key=API_KEY, max_retries=0) as client:
                try:
                    return client.chat.completions.create(
                        model="gpt-4o", messages=MESSAGES, extra_headers=story.headers()
                    )
                except Exception as error:
                    if raised is not None:
                        raised.append(error)
                    raise

        return ask

    async def run(self, function: Callable[..., Any]) -> Any:
        return function()

    def in_scope(self, ask: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(ask)
        def scoped() -> Any:
            with otel_aierrors.fallback_scope("attempt"):
                return ask()

        return scoped


class AsyncMode(AppRetryCases):
    def ask(self, story: Story, raised: list[BaseException] | None = None) -> Callable[..., Any]:
        base_url = self.chaos.base_url

        async def ask() -> Any:
            async with openai.AsyncOpenAI(base_url=base_url, api_key=API_KEY, max_retries=0) as client:
                try:
                    return await client.chat.completions.create(
                        model="gpt-4o", messages=MESSAGES, extra_headers=story.headers()
                    )
                except Exception as error:
                    if raised is not None:
                        raised.append(error)
                    raise

        return ask

    async def run(self, function: Callable[..., Any]) -> Any:
        return await function()

    def in_scope(self, ask: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(ask)
        async def scoped() -> Any:
            async with otel_aierrors.fallback_scope("attempt"):
                return await ask()

        return scoped


def tenacity_retried(function: Callable[..., Any]) -> Callable[..., Any]:
    return tenacity.retry(
        stop=tenacity.stop_after_attempt(3),
        wait=tenacity.wait_none(),
        retry=tenacity.retry_if_exception_type(openai.APIError),
        reraise=True,
    )(function)


def backoff_retried(function: Callable[..., Any]) -> Callable[..., Any]:
    return backoff.on_exception(backoff.constant, openai.APIError, max_tries=3, interval=0, jitter=None)(function)


class TestTenacitySync(SyncMode):
    library = "tenacity"
    retried = staticmethod(tenacity_retried)


class TestTenacityAsync(AsyncMode):
    library = "tenacity"
    retried = staticmethod(tenacity_retried)

    async def test_a_coroutine_wrapped_by_the_scope_is_still_a_coroutine_function(self) -> None:
        import inspect

        assert inspect.iscoroutinefunction(self.retried(self.ask(Story("ok"))))


class TestBackoffSync(SyncMode):
    library = "backoff"
    retried = staticmethod(backoff_retried)


class TestBackoffAsync(AsyncMode):
    library = "backoff"
    retried = staticmethod(backoff_retried)

    async def test_the_decorated_function_is_still_a_coroutine_function(self) -> None:
        import inspect

        assert inspect.iscoroutinefunction(self.retried(self.ask(Story("ok"))))


# --- installing and uninstalling ------------------------------------------------------------
def test_the_retry_libraries_are_patched_on_import_and_never_imported_by_us() -> None:
    code = textwrap.dedent(
        """
        import sys
        import wrapt
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.trace import TracerProvider
        import otel_aierrors

        otel_aierrors.instrument(tracer_provider=TracerProvider(), meter_provider=MeterProvider())
        assert "tenacity" not in sys.modules and "backoff" not in sys.modules, "imported too early"
        import backoff._sync, tenacity
        assert isinstance(vars(tenacity.Retrying)["__call__"], wrapt.FunctionWrapper)
        assert isinstance(vars(tenacity.AsyncRetrying)["__call__"], wrapt.FunctionWrapper)
        assert isinstance(backoff._sync.retry_exception, wrapt.FunctionWrapper)
        otel_aierrors.uninstrument()
        assert not isinstance(vars(tenacity.Retrying)["__call__"], wrapt.FunctionWrapper)
        assert not isinstance(backoff._sync.retry_exception, wrapt.FunctionWrapper)
        otel_aierrors.instrument(tracer_provider=TracerProvider(), meter_provider=MeterProvider())
        assert isinstance(vars(tenacity.Retrying)["__call__"], wrapt.FunctionWrapper)
        otel_aierrors.uninstrument()
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_uninstrument_restores_the_libraries_and_leaves_decorated_functions_working(chaos: ChaosServer) -> None:
    recorded = Telemetry()
    otel_aierrors.instrument(tracer_provider=recorded.tracer_provider, meter_provider=recorded.meter_provider)
    try:
        assert isinstance(vars(tenacity.Retrying)["__call__"], wrapt.FunctionWrapper)
        assert isinstance(backoff._sync.retry_exception, wrapt.FunctionWrapper)
        attempts = []

        @backoff.on_exception(backoff.constant, ValueError, max_tries=3, interval=0, jitter=None)
        def flaky() -> int:
            attempts.append(1)
            if len(attempts) < 2:
                raise ValueError("once")
            return len(attempts)
    finally:
        otel_aierrors.uninstrument()

    assert not isinstance(vars(tenacity.Retrying)["__call__"], wrapt.FunctionWrapper)
    assert not isinstance(vars(tenacity.AsyncRetrying)["__call__"], wrapt.FunctionWrapper)
    assert not isinstance(backoff._sync.retry_exception, wrapt.FunctionWrapper)
    assert not isinstance(backoff._async.retry_predicate, wrapt.FunctionWrapper)
    assert flaky() == 2
    assert recorded.spans() == []
