"""Fallback scopes, the `with_fallback` helper, gateway hops and key rotation.

Every scenario runs through the real ``openai`` SDK against the fault server,
once with the sync client (``with`` / `with_fallback`) and once with the async
client (``async with`` / `awith_fallback`): `FallbackCases` holds the
scenarios, `TestSync` and `TestAsync` only say how to make a call.
"""

from __future__ import annotations

import contextlib
import gc
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

import otel_aierrors
from otel_aierrors import FallbackScope, _fallback
from otel_aierrors._call import current_observer
from otel_aierrors._hops import HopTarget, hop_kind, is_same_model, model_family
from otel_aierrors._taxonomy import ErrorClass
from otel_aierrors.chaos import ChaosServer
from tests.conftest import API_KEY, Telemetry

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello"}]
HOPS = "aierrors.fallback.hops"
# Not shaped like keys, so only the instrumentation's own care keeps them out.
KEY_ALPHA = "team-alpha-7f3e9c1d2b4a6e8f0a1b"
KEY_BRAVO = "team-bravo-0c2d4e6f8a1b3c5d7e9f"


# --- pure functions ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("requested", "served"),
    [
        ("gpt-4o", "gpt-4o"),
        ("gpt-4o", "gpt-4o-2024-08-06"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-2024-05-13", "gpt-4o-2024-08-06"),
        ("gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
        ("gpt-4", "gpt-4-0613"),
        ("gpt-3.5-turbo", "gpt-3.5-turbo-0125"),
        ("claude-3-5-sonnet-latest", "claude-3-5-sonnet-20241022"),
        ("mistral-large-latest", "mistral-large-2407"),
        ("gemini-1.5-pro", "gemini-1.5-pro-002"),
        ("gemini-2.5-flash-preview", "gemini-2.5-flash-preview-04-17"),
        ("llama3", "llama3:latest"),
        ("claude-3-5-sonnet", "claude-3-5-sonnet@20240620"),
        ("openai/gpt-4o", "gpt-4o-2024-08-06"),
        ("models/gemini-1.5-pro", "gemini-1.5-pro-001"),
        ("GPT-4o", "gpt-4o"),
        ("chatgpt-4o-latest", "chatgpt-4o-latest"),
    ],
)
def test_same_model_ignores_snapshots_prefixes_and_case(requested: str, served: str) -> None:
    assert is_same_model(requested, served)
    assert is_same_model(served, requested)


@pytest.mark.parametrize(
    ("requested", "served"),
    [
        ("gpt-4o", "gpt-4o-mini"),
        ("gpt-4o", "gpt-4o-mini-2024-07-18"),
        ("gpt-4o", "gpt-4"),
        ("gpt-4o", "gpt-4.1"),
        ("o1", "o1-mini"),
        ("gpt-4-turbo", "gpt-4"),
        ("claude-3-5-sonnet-latest", "claude-3-5-haiku-20241022"),
        ("gpt-4o", "claude-sonnet-4-6"),
        ("llama3:8b", "llama3:70b"),
        ("openrouter/auto", "openai/gpt-4o"),
    ],
)
def test_another_model_is_not_the_same(requested: str, served: str) -> None:
    assert not is_same_model(requested, served)
    assert not is_same_model(served, requested)


def test_model_family_never_strips_a_name_to_nothing() -> None:
    assert model_family("0613") == "0613"
    assert model_family("-latest") == "-latest"


@pytest.mark.parametrize(
    ("previous", "current", "kind"),
    [
        (HopTarget("gpt-4o", "a.example", b"k1"), HopTarget("gpt-4o", "b.example", b"k1"), "provider"),
        (HopTarget("gpt-4o", "a.example", b"k1"), HopTarget("gpt-4o-mini", "b.example", b"k2"), "provider"),
        (HopTarget("gpt-4o", "a.example", b"k1"), HopTarget("gpt-4o-mini", "a.example", b"k2"), "model"),
        (HopTarget("gpt-4o", "a.example", b"k1"), HopTarget("gpt-4o", "a.example", b"k2"), "key"),
        (HopTarget("gpt-4o", "a.example", b"k1"), HopTarget("gpt-4o", "a.example", b"k1"), "retry"),
        (HopTarget(None, None, None), HopTarget(None, None, None), "retry"),
    ],
)
def test_hop_kind_says_what_changed(previous: HopTarget, current: HopTarget, kind: str) -> None:
    assert hop_kind(previous, current) == kind


@pytest.mark.parametrize(
    ("error_class", "expected"),
    [
        (ErrorClass.OVERLOADED, 1),
        (ErrorClass.RATE_LIMIT, 1),
        (ErrorClass.UPSTREAM_ERROR, 1),
        (ErrorClass.SERVER_ERROR, 1),
        (ErrorClass.TIMEOUT, 1),
        (ErrorClass.CONNECTION, 1),
        (ErrorClass.QUOTA_EXHAUSTED, 1),
        (ErrorClass.AUTH, 1),
        (ErrorClass.PERMISSION, 1),
        (ErrorClass.NOT_FOUND, 1),
        (ErrorClass.INVALID_REQUEST, None),
        (ErrorClass.CONTENT_FILTER, None),
        (ErrorClass.PAYLOAD_TOO_LARGE, None),
        (ErrorClass.UNKNOWN, None),
        # context_length: candidate 1 has the same model (same window), 2 another one.
        (ErrorClass.CONTEXT_LENGTH, 2),
    ],
)
def test_next_candidate_follows_the_taxonomy(error_class: ErrorClass, expected: int | None) -> None:
    candidates = [("a", "gpt-4o"), ("b", "gpt-4o-2024-08-06"), ("a", "gpt-4.1")]
    assert _fallback._next_candidate(candidates, 0, error_class) == expected


def test_next_candidate_stops_after_the_last_one() -> None:
    assert _fallback._next_candidate([("a", "gpt-4o"), ("b", "gpt-4o")], 0, ErrorClass.CONTEXT_LENGTH) is None
    assert _fallback._next_candidate([("a", "gpt-4o")], 0, ErrorClass.OVERLOADED) is None
    assert _fallback._next_candidate([lambda: 1, lambda: 2], 0, ErrorClass.CONTEXT_LENGTH) == 1


def test_with_fallback_rejects_malformed_candidates() -> None:
    with pytest.raises(ValueError, match="at least one"):
        otel_aierrors.with_fallback([])
    with pytest.raises(TypeError, match="request callable"):
        otel_aierrors.with_fallback([(object(), "gpt-4o")])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="pair or a callable"):
        otel_aierrors.with_fallback([42])  # type: ignore[arg-type]


def test_a_scope_without_instrumentation_records_nothing_and_lets_errors_through() -> None:
    error = RuntimeError("boom")
    with pytest.raises(RuntimeError) as raised, otel_aierrors.fallback_scope("idle") as scope:
        raise error
    assert raised.value is error
    assert scope.hops == 0


# --- helpers for the SDK scenarios ---------------------------------------------------
def by_name(spans: list[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


def scope_span(telemetry: Telemetry, name: str) -> ReadableSpan:
    return telemetry.internal_span(f"fallback {name}")


def children(telemetry: Telemetry, parent: ReadableSpan) -> list[ReadableSpan]:
    """Call spans directly under ``parent``, in hop order."""
    return telemetry.calls_under(parent)


def hops_metric(telemetry: Telemetry) -> list[dict[str, Any]]:
    return [dict(point.attributes) | {"value": point.value} for point in telemetry.points(HOPS)]


class Scripts:
    """Hands out one ``x-chaos-script`` per SDK call, tagged so the server's records can be read back."""

    def __init__(self, server: ChaosServer, *scripts: str) -> None:
        self.server = server
        self.tag = uuid.uuid4().hex
        self._scripts = list(scripts)
        self.used = 0

    def headers(self) -> dict[str, str]:
        script = self._scripts[min(self.used, len(self._scripts) - 1)]
        self.used += 1
        return {"x-chaos-script": script, "x-chaos-tag": self.tag}

    def requests(self) -> list[str]:
        """The faults the server served this test's calls (it records a request after answering it)."""
        self.server.wait_for(lambda: len(self.server.requests_tagged(self.tag)) >= self.used)
        return [record.fault for record in self.server.requests_tagged(self.tag)]


# --- the scenarios, run by the sync and the async client -------------------------------
class FallbackCases:
    """Scenarios over real HTTP; subclasses say how to build clients and enter scopes."""

    @pytest.fixture(autouse=True)
    def _setup(self, chaos: ChaosServer, telemetry: Telemetry) -> Iterator[None]:
        self.chaos = chaos
        self.telemetry = telemetry
        self.clients: list[Any] = []
        yield

    def client(self, api_key: str = API_KEY, host: str = "127.0.0.1") -> Any:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    def scope(self, name: str) -> contextlib.AbstractAsyncContextManager[FallbackScope]:
        raise NotImplementedError

    async def call(self, client: Any, model: str, scripts: Scripts, **params: Any) -> Any:
        raise NotImplementedError

    async def drain(self, stream: Any) -> int:
        """Read a stream to its end; return the number of chunks."""
        raise NotImplementedError

    async def fallback(self, candidates: list[Any], request: Any = None, *, name: str) -> Any:
        raise NotImplementedError

    def request(self, scripts: Scripts, raised: list[BaseException] | None = None) -> Callable[[Any, str], Any]:
        """``request(client, model)`` for the helper, recording what the SDK raised."""
        raise NotImplementedError

    def base_url(self, host: str) -> str:
        return f"http://{host}:{self.chaos.port}/v1"

    # --- with_fallback ----------------------------------------------------------------
    async def test_primary_overloaded_then_backup_succeeds(self) -> None:
        scripts = Scripts(self.chaos, "overloaded", "ok")
        client = self.client()
        result = await self.fallback(
            [(client, "gpt-4o"), (client, "gpt-4o-mini")], self.request(scripts), name="answer"
        )
        await self.close()

        assert result.model == "gpt-4o-mini"
        assert scripts.requests() == ["overloaded", "ok"]
        scope = scope_span(self.telemetry, "answer")
        assert dict(scope.attributes) == {
            "aierrors.fallback.name": "answer",
            "aierrors.outcome": "ok",
            "aierrors.fallback.hops": 2,
            "aierrors.fallback.succeeded_hop": 1,
        }
        assert scope.status.status_code is StatusCode.UNSET
        primary, backup = children(self.telemetry, scope)
        assert primary.attributes["aierrors.fallback.hop"] == 0
        assert "aierrors.fallback.kind" not in primary.attributes
        assert primary.attributes["aierrors.error.class"] == "overloaded"
        assert backup.attributes["aierrors.fallback.hop"] == 1
        assert backup.attributes["aierrors.fallback.kind"] == "model"
        assert backup.attributes["aierrors.fallback.reason"] == "overloaded"
        assert backup.attributes["aierrors.fallback.from_model"] == "gpt-4o"
        assert backup.attributes["aierrors.fallback.to_model"] == "gpt-4o-mini"
        assert backup.attributes["aierrors.fallback.from_provider"] == "127.0.0.1"
        assert backup.attributes["aierrors.fallback.to_provider"] == "127.0.0.1"
        assert backup.attributes["aierrors.outcome"] == "ok"
        assert hops_metric(self.telemetry) == [
            {
                "aierrors.fallback.kind": "model",
                "aierrors.fallback.from_model": "gpt-4o",
                "aierrors.fallback.to_model": "gpt-4o-mini",
                "aierrors.fallback.reason": "overloaded",
                "value": 1,
            }
        ]

    async def test_all_candidates_failing_reraise_the_last_error_unchanged(self) -> None:
        scripts = Scripts(self.chaos, "overloaded", "rate_limit;retry_after_ms=1", "all_channels_failed")
        primary, backup = self.client(), self.client(host="localhost")
        raised: list[BaseException] = []
        candidates = [(primary, "gpt-4o"), (primary, "gpt-4o-mini"), (backup, "gpt-4o-mini")]
        with pytest.raises(openai.APIStatusError) as error:
            await self.fallback(candidates, self.request(scripts, raised), name="answer")
        await self.close()

        assert len(raised) == 3
        assert error.value is raised[-1]
        assert scripts.requests() == ["overloaded", "rate_limit", "all_channels_failed"]
        scope = scope_span(self.telemetry, "answer")
        assert scope.status.status_code is StatusCode.ERROR
        assert scope.attributes["aierrors.outcome"] == "error"
        assert scope.attributes["aierrors.error.class"] == "upstream_error"
        assert scope.attributes["aierrors.fallback.hops"] == 3
        assert "aierrors.fallback.succeeded_hop" not in scope.attributes
        calls = children(self.telemetry, scope)
        assert [c.attributes["aierrors.fallback.hop"] for c in calls] == [0, 1, 2]
        assert [c.attributes.get("aierrors.fallback.kind") for c in calls] == [None, "model", "provider"]
        assert [c.attributes.get("aierrors.fallback.reason") for c in calls] == [None, "overloaded", "rate_limit"]
        assert calls[2].attributes["aierrors.fallback.from_provider"] == "127.0.0.1"
        assert calls[2].attributes["aierrors.fallback.to_provider"] == "localhost"
        # The gateway's last word lists the models it could serve instead.
        (attempt,) = self.telemetry.attempt_spans(calls[2])
        assert attempt.attributes["aierrors.provider.alternatives"] == ("claude-sonnet-4-6", "gpt-5-mini")
        assert sum(point["value"] for point in hops_metric(self.telemetry)) == 2

    async def test_invalid_request_stops_the_helper_at_once(self) -> None:
        scripts = Scripts(self.chaos, "invalid_request", "ok")
        client = self.client()
        raised: list[BaseException] = []
        with pytest.raises(openai.BadRequestError) as error:
            await self.fallback([(client, "gpt-4o"), (client, "gpt-4o-mini")], self.request(scripts, raised), name="q")
        await self.close()

        assert error.value is raised[0]
        assert scripts.used == 1
        assert scripts.requests() == ["invalid_request"]
        scope = scope_span(self.telemetry, "q")
        assert len(children(self.telemetry, scope)) == 1
        assert scope.attributes["aierrors.error.class"] == "invalid_request"
        assert scope.attributes["aierrors.fallback.hops"] == 1
        assert hops_metric(self.telemetry) == []

    async def test_context_length_skips_candidates_with_the_same_model(self) -> None:
        scripts = Scripts(self.chaos, "context_length", "ok")
        primary, other_key = self.client(), self.client(api_key=KEY_BRAVO)
        candidates = [(primary, "gpt-4o"), (other_key, "gpt-4o"), (primary, "gpt-4.1")]
        result = await self.fallback(candidates, self.request(scripts), name="long")
        await self.close()

        assert result.model == "gpt-4.1"
        assert scripts.requests() == ["context_length", "ok"]
        backup = children(self.telemetry, scope_span(self.telemetry, "long"))[1]
        assert backup.attributes["aierrors.fallback.reason"] == "context_length"
        assert backup.attributes["aierrors.fallback.kind"] == "model"

    async def test_plain_callables_are_candidates_too(self) -> None:
        scripts = Scripts(self.chaos, "server_error", "ok")
        client = self.client()
        result = await self.fallback(
            [lambda: self.call_soon(client, "gpt-4o", scripts), lambda: self.call_soon(client, "gpt-4o", scripts)],
            name="plain",
        )
        await self.close()

        assert result.choices[0].message.content
        backup = children(self.telemetry, scope_span(self.telemetry, "plain"))[1]
        assert backup.attributes["aierrors.fallback.kind"] == "retry"
        assert backup.attributes["aierrors.fallback.reason"] == "server_error"

    def call_soon(self, client: Any, model: str, scripts: Scripts) -> Any:
        """What a zero-argument candidate returns: a result, or an awaitable for the async helper."""
        return client.chat.completions.create(model=model, messages=MESSAGES, extra_headers=scripts.headers())

    # --- the scope around the application's own loop -------------------------------------
    async def test_scope_around_an_own_loop_records_a_provider_hop(self) -> None:
        scripts = Scripts(self.chaos, "rate_limit;retry_after_ms=1", "ok")
        primary, backup = self.client(), self.client(host="localhost")
        async with self.scope("own") as scope:
            try:
                await self.call(primary, "gpt-4o", scripts)
            except openai.RateLimitError:
                assert scope.last_error_class is ErrorClass.RATE_LIMIT
                await self.call(backup, "gpt-4o", scripts)
            assert scope.hops == 2
        await self.close()

        span = scope_span(self.telemetry, "own")
        assert span.attributes["aierrors.fallback.succeeded_hop"] == 1
        backup_span = children(self.telemetry, span)[1]
        assert backup_span.attributes["aierrors.fallback.kind"] == "provider"
        assert backup_span.attributes["aierrors.fallback.reason"] == "rate_limit"
        assert backup_span.attributes["aierrors.fallback.to_provider"] == "localhost"

    async def test_key_rotation_is_a_key_hop_and_never_exports_a_key(self) -> None:
        # The seeds' key manager: same provider and model, the next key once one is refused.
        scripts = Scripts(self.chaos, "auth", "rate_limit;retry_after_ms=1", "ok")
        keys = [self.client(api_key=KEY_ALPHA), self.client(api_key=KEY_BRAVO), self.client(api_key=KEY_ALPHA)]
        async with self.scope("keys"):
            for client in keys:
                try:
                    await self.call(client, "gpt-4o", scripts)
                    break
                except (openai.AuthenticationError, openai.RateLimitError):
                    continue
        await self.close()

        calls = children(self.telemetry, scope_span(self.telemetry, "keys"))
        assert [c.attributes.get("aierrors.fallback.kind") for c in calls] == [None, "key", "key"]
        assert [c.attributes.get("aierrors.fallback.reason") for c in calls] == [None, "auth", "rate_limit"]
        assert {point["aierrors.fallback.kind"] for point in hops_metric(self.telemetry)} == {"key"}
        exported = self.telemetry.exported_text()
        assert KEY_ALPHA not in exported
        assert KEY_BRAVO not in exported  # the auth error echoed the key; its text is not exported

    async def test_the_block_raising_marks_the_scope_and_propagates_unchanged(self) -> None:
        scripts = Scripts(self.chaos, "ok")
        client = self.client()
        error = ValueError("the answer did not parse")
        with pytest.raises(ValueError) as raised:
            async with self.scope("parse"):
                await self.call(client, "gpt-4o", scripts)
                raise error
        await self.close()

        assert raised.value is error
        span = scope_span(self.telemetry, "parse")
        assert span.status.status_code is StatusCode.ERROR
        assert span.attributes["aierrors.outcome"] == "error"
        assert span.attributes["aierrors.error.class"] == "unknown"
        assert "aierrors.fallback.succeeded_hop" not in span.attributes

    async def test_nested_scopes_own_their_calls(self) -> None:
        scripts = Scripts(self.chaos, "ok")
        client = self.client()
        async with self.scope("outer"):
            await self.call(client, "gpt-4o", scripts)
            async with self.scope("inner"):
                await self.call(client, "gpt-4o-mini", scripts)
                await self.call(client, "gpt-4.1", scripts)
        await self.close()

        outer, inner = scope_span(self.telemetry, "outer"), scope_span(self.telemetry, "inner")
        assert inner.parent is not None and inner.parent.span_id == outer.context.span_id
        assert outer.attributes["aierrors.fallback.hops"] == 1
        assert inner.attributes["aierrors.fallback.hops"] == 2
        assert [c.name for c in children(self.telemetry, outer)] == ["chat gpt-4o"]
        inner_calls = children(self.telemetry, inner)
        assert [c.attributes["aierrors.fallback.hop"] for c in inner_calls] == [0, 1]
        assert inner_calls[1].attributes["aierrors.fallback.from_model"] == "gpt-4o-mini"

    async def test_a_stream_read_after_the_scope_closed_counts_as_the_successful_hop(self) -> None:
        scripts = Scripts(self.chaos, "overloaded", "ok")
        client = self.client()
        async with self.scope("stream"):
            try:
                await self.call(client, "gpt-4o", scripts, stream=True)
            except openai.APIStatusError:
                stream = await self.call(client, "gpt-4o-mini", scripts, stream=True)
        chunks = await self.drain(stream)
        await self.close()

        assert chunks > 0
        span = scope_span(self.telemetry, "stream")
        assert span.attributes["aierrors.outcome"] == "ok"
        assert span.attributes["aierrors.fallback.succeeded_hop"] == 1
        backup = children(self.telemetry, span)[1]
        assert backup.attributes["aierrors.fallback.kind"] == "model"
        assert backup.attributes["aierrors.outcome"] == "ok"
        assert backup.end_time is not None and span.end_time is not None and backup.end_time > span.end_time

    async def test_a_failure_inside_the_scope_machinery_never_reaches_the_application(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def broken(*args: Any) -> str:
            raise RuntimeError("bug in the instrumentation")

        monkeypatch.setattr(_fallback, "hop_kind", broken)
        monkeypatch.setattr(FallbackScope, "_final", broken)
        scripts = Scripts(self.chaos, "overloaded", "ok")
        client = self.client()
        result = await self.fallback([(client, "gpt-4o"), (client, "gpt-4o-mini")], self.request(scripts), name="bug")
        await self.close()

        assert result.model == "gpt-4o-mini"
        assert current_observer() is None
        span = scope_span(self.telemetry, "bug")  # ended all the same
        assert len(children(self.telemetry, span)) == 2

    # --- gateways ---------------------------------------------------------------------
    async def test_a_gateway_answering_with_another_model_is_a_gateway_hop(self) -> None:
        scripts = Scripts(self.chaos, "ok;model=gpt-4o-mini", "ok;snapshot=1")
        client = self.client()
        substituted = await self.call(client, "gpt-4o", scripts)
        snapshot = await self.call(client, "gpt-4o", scripts)
        await self.close()

        assert substituted.model == "gpt-4o-mini"
        assert snapshot.model == "gpt-4o-2024-08-06"
        gateway, same = sorted(self.telemetry.call_spans(), key=lambda span: span.start_time or 0)
        assert gateway.parent is None
        assert gateway.attributes["aierrors.fallback.kind"] == "gateway"
        assert gateway.attributes["aierrors.fallback.from_model"] == "gpt-4o"
        assert gateway.attributes["aierrors.fallback.to_model"] == "gpt-4o-mini"
        assert gateway.attributes["aierrors.fallback.reason"] == "unknown"
        assert "aierrors.fallback.hop" not in gateway.attributes
        assert not any(key.startswith("aierrors.fallback.") for key in same.attributes)
        assert hops_metric(self.telemetry) == [
            {
                "aierrors.fallback.kind": "gateway",
                "aierrors.fallback.from_model": "gpt-4o",
                "aierrors.fallback.to_model": "gpt-4o-mini",
                "aierrors.fallback.reason": "unknown",
                "value": 1,
            }
        ]

    async def test_a_gateway_hop_inside_a_scope_keeps_the_application_hop_on_the_span(self) -> None:
        scripts = Scripts(self.chaos, "ok;model=gpt-4o-mini", "ok;model=gpt-3.5-turbo")
        client = self.client()
        async with self.scope("gw"):
            await self.call(client, "gpt-4o", scripts)
            await self.call(client, "gpt-4.1", scripts)
        await self.close()

        primary, second = children(self.telemetry, scope_span(self.telemetry, "gw"))
        assert primary.attributes["aierrors.fallback.kind"] == "gateway"
        assert second.attributes["aierrors.fallback.kind"] == "model"
        assert second.attributes["aierrors.fallback.to_model"] == "gpt-4.1"
        assert second.attributes["gen_ai.response.model"] == "gpt-3.5-turbo"
        kinds = sorted(
            (p["aierrors.fallback.kind"], p["aierrors.fallback.to_model"]) for p in hops_metric(self.telemetry)
        )
        assert kinds == [("gateway", "gpt-3.5-turbo"), ("gateway", "gpt-4o-mini"), ("model", "gpt-4.1")]


class TestSync(FallbackCases):
    def client(self, api_key: str = API_KEY, host: str = "127.0.0.1") -> Any:
        client = openai.OpenAI(base_url=self.base_url(host), api_key=api_key, max_retries=0, timeout=10.0)
        self.clients.append(client)
        return client

    async def close(self) -> None:
        for client in self.clients:
            client.close()

    @contextlib.asynccontextmanager
    async def scope(self, name: str) -> AsyncIterator[FallbackScope]:
        with otel_aierrors.fallback_scope(name) as scope:
            yield scope

    async def call(self, client: Any, model: str, scripts: Scripts, **params: Any) -> Any:
        return client.chat.completions.create(model=model, messages=MESSAGES, extra_headers=scripts.headers(), **params)

    async def drain(self, stream: Any) -> int:
        return sum(1 for _ in stream)

    async def fallback(self, candidates: list[Any], request: Any = None, *, name: str) -> Any:
        return otel_aierrors.with_fallback(candidates, request, name=name)

    def request(self, scripts: Scripts, raised: list[BaseException] | None = None) -> Callable[[Any, str], Any]:
        def request(client: Any, model: str) -> Any:
            try:
                return client.chat.completions.create(model=model, messages=MESSAGES, extra_headers=scripts.headers())
            except Exception as error:
                if raised is not None:
                    raised.append(error)
                raise

        return request


class TestAsync(FallbackCases):
    def client(self, api_key: str = API_KEY, host: str = "127.0.0.1") -> Any:
        client = openai.AsyncOpenAI(base_url=self.base_url(host), api_key=api_key, max_retries=0, timeout=10.0)
        self.clients.append(client)
        return client

    async def close(self) -> None:
        for client in self.clients:
            await client.close()

    @contextlib.asynccontextmanager
    async def scope(self, name: str) -> AsyncIterator[FallbackScope]:
        async with otel_aierrors.fallback_scope(name) as scope:
            yield scope

    async def call(self, client: Any, model: str, scripts: Scripts, **params: Any) -> Any:
        return await client.chat.completions.create(
            model=model, messages=MESSAGES, extra_headers=scripts.headers(), **params
        )

    async def drain(self, stream: Any) -> int:
        return len([chunk async for chunk in stream])

    async def fallback(self, candidates: list[Any], request: Any = None, *, name: str) -> Any:
        return await otel_aierrors.awith_fallback(candidates, request, name=name)

    def request(self, scripts: Scripts, raised: list[BaseException] | None = None) -> Callable[[Any, str], Any]:
        async def request(client: Any, model: str) -> Any:
            try:
                return await client.chat.completions.create(
                    model=model, messages=MESSAGES, extra_headers=scripts.headers()
                )
            except Exception as error:
                if raised is not None:
                    raised.append(error)
                raise

        return request


# --- an exception is recognised by identity, never by a reused address -----------------
class Unrelated(Exception):
    """Not the SDK's: by itself it classifies as ``unknown`` (the same size as an SDK exception)."""


def test_a_new_exception_at_a_freed_exceptions_address_is_not_taken_for_that_calls(
    chaos: ChaosServer, telemetry: Telemetry
) -> None:
    with (
        openai.OpenAI(base_url=chaos.base_url, api_key=API_KEY, max_retries=0) as client,
        otel_aierrors.fallback_scope("reused") as scope,
    ):
        try:
            client.chat.completions.create(
                model="gpt-4o", messages=MESSAGES, extra_headers={"x-chaos-script": "rate_limit"}
            )
        except openai.RateLimitError as error:
            assert scope.error_class_of(error) is ErrorClass.RATE_LIMIT  # the call's exception is recognised
            freed = id(error)
        gc.collect()  # the SDK's exception sits in a cycle (its traceback's frames): free it now
        # Allocate until one lands at the freed exception's address (CPython reuses it within a few).
        alive = [Unrelated() for _ in range(100_000)]
        reused = next((other for other in alive if id(other) == freed), None)
        assert reused is not None, "no exception was allocated at the freed address"
        assert scope.error_class_of(reused) is ErrorClass.UNKNOWN  # not the freed exception's rate_limit
