"""Every generated SDK: a 429 with ``retry-after`` then a 200 is one call span with two attempts.

The same scenario as for ``openai``, through each SDK's sync and async client,
over real HTTP against the chaos server; the metrics count what the spans show.
"""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from otel_aierrors._sdks.stainless import client_facts, server_of
from otel_aierrors.chaos import ChaosServer
from tests.conftest import API_KEY, Telemetry, assert_same_exception, raised
from tests.sdks.vendors import VENDORS, Vendor


@pytest.fixture(params=sorted(VENDORS))
def vendor(request: pytest.FixtureRequest, chaos: ChaosServer) -> Vendor:
    vendor = VENDORS[request.param]
    vendor.sdk()
    return vendor


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_429_then_200_is_one_ok_call_with_two_attempts(
    vendor: Vendor, mode: str, chaos: ChaosServer, telemetry: Telemetry
) -> None:
    vendor.call(mode, chaos, "rate_limit;retry_after=0.05,ok")

    call = telemetry.call_span()
    assert call.kind is SpanKind.CLIENT
    assert call.name == f"chat {vendor.model}"
    assert call.attributes["gen_ai.provider.name"] == vendor.provider
    assert call.attributes["gen_ai.operation.name"] == "chat"
    assert call.attributes["gen_ai.request.model"] == vendor.model
    assert call.attributes["server.address"] == "127.0.0.1"
    assert call.attributes["aierrors.outcome"] == "ok"
    assert call.attributes["aierrors.attempt.count"] == 2
    assert call.status.status_code is StatusCode.UNSET
    attempts = telemetry.attempt_spans(call)
    assert [a.attributes.get("aierrors.error.class") for a in attempts] == ["rate_limit", None]
    assert [a.attributes["http.response.status_code"] for a in attempts] == [429, 200]
    assert [a.attributes.get("http.request.resend_count") for a in attempts] == [None, 1]
    assert attempts[0].attributes["aierrors.retry_after"] == pytest.approx(0.05)
    assert attempts[0].attributes["aierrors.retryable"] is True
    assert attempts[0].status.status_code is StatusCode.ERROR
    assert attempts[1].attributes["aierrors.attempt.backoff"] >= 0.05
    # Nothing else the SDK sent (cerebras warms a connection at construction) is a call or an attempt.
    assert len(telemetry.spans()) == 3

    provider = {"gen_ai.provider.name": vendor.provider}
    assert telemetry.count("aierrors.calls", aierrors__outcome="ok", **_kw(provider)) == 1
    assert telemetry.count("aierrors.calls") == 1
    assert telemetry.count("aierrors.attempts", aierrors__error__class="rate_limit", **_kw(provider)) == 1
    assert telemetry.count("aierrors.attempts", aierrors__outcome="ok", **_kw(provider)) == 1
    assert telemetry.count("aierrors.attempts") == 2


def _kw(attributes: dict[str, str]) -> dict[str, str]:
    """Attribute names as `Telemetry.count` keywords (``__`` for dots)."""
    return {name.replace(".", "__"): value for name, value in attributes.items()}


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_401_is_one_auth_attempt_that_is_not_retried(
    vendor: Vendor, mode: str, chaos: ChaosServer, telemetry: Telemetry
) -> None:
    with pytest.raises(vendor.sdk().AuthenticationError):
        vendor.call(mode, chaos, "auth")

    call = telemetry.call_span()
    assert call.attributes["aierrors.outcome"] == "error"
    assert call.attributes["aierrors.error.class"] == "auth"
    assert call.attributes["aierrors.retryable"] is False
    assert call.attributes["aierrors.attempt.count"] == 1
    assert call.status.status_code is StatusCode.ERROR
    assert API_KEY not in telemetry.exported_text()
    assert telemetry.count("aierrors.calls", aierrors__error__class="auth", aierrors__retryable=False) == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_stream_read_to_its_end_is_ok(vendor: Vendor, mode: str, chaos: ChaosServer, telemetry: Telemetry) -> None:
    chunks = vendor.call(mode, chaos, "ok", stream=True)

    assert chunks
    call = telemetry.call_span()
    assert call.attributes["aierrors.stream"] is True
    assert call.attributes["aierrors.outcome"] == "ok"
    assert call.attributes["aierrors.attempt.count"] == 1
    assert telemetry.count("aierrors.calls", aierrors__outcome="ok", aierrors__stream=True) == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_stream_cut_mid_body_is_stream_interrupted(
    vendor: Vendor, mode: str, chaos: ChaosServer, telemetry: Telemetry
) -> None:
    # Which exception a cut raises is the SDK's to choose (anthropic 2.17 wraps the HTTP
    # library's error in APIConnectionError, 2.15 let it through): the instrumented call
    # raises exactly what the same call raises uninstrumented.
    def cut() -> object:
        return vendor.call(mode, chaos, "stream_cut;after=3", stream=True)

    plain = telemetry.uninstrumented(cut)
    assert_same_exception(raised(cut), plain)

    call = telemetry.call_span()
    assert call.attributes["aierrors.outcome"] == "error"
    assert call.attributes["aierrors.error.class"] == "stream_interrupted"
    assert telemetry.count("aierrors.calls", aierrors__error__class="stream_interrupted") == 1


@pytest.mark.parametrize("name", sorted(VENDORS))
def test_the_client_facts_are_where_the_call_path_reads_them(name: str, chaos: ChaosServer) -> None:
    """``_client`` is the SDK's HTTP client (what each attempt's ``send`` is told apart by), ``base_url`` its URL."""
    vendor = VENDORS[name]
    sdk, http = vendor.sdk(), vendor.http()
    with getattr(sdk, vendor.sync_client)(base_url=chaos.url, api_key=API_KEY) as client:
        base_url, http_client, api_key, _, _ = client_facts(client)
        assert isinstance(http_client, http.Client)
        assert server_of(base_url) == ("127.0.0.1", chaos.port)
        assert api_key == API_KEY
    async_client = getattr(sdk, vendor.async_client)(base_url=chaos.url, api_key=API_KEY)
    try:
        assert isinstance(client_facts(async_client)[1], http.AsyncClient)
    finally:
        asyncio.run(async_client.close())


def test_cerebras_warming_its_connection_at_construction_is_not_a_call(
    chaos: ChaosServer, telemetry: Telemetry
) -> None:
    cerebras = VENDORS["cerebras"].sdk()
    before = len(chaos.requests)

    cerebras.Cerebras(base_url=chaos.url, api_key=API_KEY, warm_tcp_connection=True).close()

    assert [r.path for r in chaos.requests[before:]] == ["/v1/tcp_warming"]  # it did send
    assert telemetry.spans() == []
    assert telemetry.count("aierrors.calls") == 0
    assert telemetry.count("aierrors.attempts") == 0
