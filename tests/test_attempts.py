"""One call span, one child span per HTTP attempt, the SDK's own retries included.

Every test runs through the sync and the async client (the ``sdk`` fixture).
"""

from __future__ import annotations

import gc
import socket
import weakref

import openai
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from tests.conftest import API_KEY, SDK, Telemetry


def test_429_429_200_is_one_ok_call_with_three_attempts(sdk: SDK, telemetry: Telemetry) -> None:
    result = sdk.call(script="rate_limit;retry_after_ms=20,rate_limit;retry_after_ms=20,ok")

    assert isinstance(result, openai.types.chat.ChatCompletion)
    call = telemetry.call_span()
    assert call.name == "chat gpt-4o"
    assert call.kind is SpanKind.CLIENT
    assert call.status.status_code is StatusCode.UNSET
    assert call.attributes["aierrors.outcome"] == "ok"
    assert call.attributes["aierrors.attempt.count"] == 3
    assert call.attributes["aierrors.retry.backoff_total"] >= 0.04
    assert "error.type" not in call.attributes
    attempts = telemetry.attempt_spans(call)
    assert [a.attributes.get("aierrors.error.class") for a in attempts] == ["rate_limit", "rate_limit", None]
    assert [a.attributes["http.response.status_code"] for a in attempts] == [429, 429, 200]
    assert [a.attributes.get("http.request.resend_count") for a in attempts] == [None, 1, 2]
    assert attempts[0].attributes["aierrors.retry_after"] == pytest.approx(0.02)
    assert attempts[1].attributes["aierrors.attempt.backoff"] >= 0.02
    assert attempts[0].status.status_code is StatusCode.ERROR
    assert attempts[2].status.status_code is StatusCode.UNSET
    assert telemetry.count("aierrors.attempts", aierrors__outcome="error", aierrors__error__class="rate_limit") == 2
    assert telemetry.count("aierrors.attempts", aierrors__outcome="ok") == 1
    assert telemetry.count("aierrors.calls", aierrors__outcome="ok") == 1
    # The seconds of both waits, added up in-process: what the call span says it waited.
    assert telemetry.count("aierrors.retry.backoff") == pytest.approx(call.attributes["aierrors.retry.backoff_total"])


def test_insufficient_quota_is_not_retryable_and_its_retries_are_wasted(sdk: SDK, telemetry: Telemetry) -> None:
    with pytest.raises(openai.RateLimitError):
        sdk.call(script="quota;retry_after_ms=1")

    call = telemetry.call_span()
    assert call.attributes["aierrors.error.class"] == "quota_exhausted"
    assert call.attributes["error.type"] == "quota_exhausted"
    assert call.attributes["aierrors.retryable"] is False
    assert call.attributes["aierrors.retry.wasted_count"] == 2
    assert call.status.status_code is StatusCode.ERROR
    attempts = telemetry.attempt_spans(call)
    assert len(attempts) == 3
    assert [a.attributes.get("aierrors.retry.wasted") for a in attempts] == [None, True, True]
    assert all(a.attributes["aierrors.retryable"] is False for a in attempts)
    assert attempts[0].attributes["aierrors.provider.error.code"] == "insufficient_quota"
    assert telemetry.count("aierrors.attempts", aierrors__retry__wasted=True) == 2
    assert telemetry.count("aierrors.calls", aierrors__error__class="quota_exhausted", aierrors__retryable=False) == 1


def test_numeric_request_parameters_are_gen_ai_request_attributes_of_the_call_span(
    sdk: SDK, telemetry: Telemetry
) -> None:
    sdk.call(max_completion_tokens=50, temperature=0.2, top_p=1, seed=7, n=1, user="u-1", stream=False)

    call = telemetry.call_span()
    requested = {key: value for key, value in call.attributes.items() if key.startswith("gen_ai.request.")}
    assert requested == {
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.request.max_tokens": 50,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 1,
        "gen_ai.request.seed": 7,
        "gen_ai.request.choice.count": 1,
    }
    for attempt in telemetry.attempt_spans(call):
        assert not any(key.startswith("gen_ai.request.") for key in attempt.attributes)


def test_500_three_times_fails_with_server_error(sdk: SDK, telemetry: Telemetry) -> None:
    with pytest.raises(openai.InternalServerError):
        sdk.call(script="server_error;retry_after_ms=1")

    call = telemetry.call_span()
    assert call.attributes["aierrors.outcome"] == "error"
    assert call.attributes["aierrors.error.class"] == "server_error"
    assert call.attributes["aierrors.retryable"] is True
    assert call.attributes["aierrors.attempt.count"] == 3
    assert "aierrors.retry.wasted_count" not in call.attributes
    assert [a.attributes["http.response.status_code"] for a in telemetry.attempt_spans(call)] == [500, 500, 500]
    assert telemetry.count("gen_ai.client.operation.duration", error__type="server_error") == 1


def test_timeout_attempts_have_spans_without_status_code(sdk: SDK, telemetry: Telemetry) -> None:
    with pytest.raises(openai.APITimeoutError):
        sdk.call(script="hang;seconds=2", timeout=0.2, max_retries=1)

    call = telemetry.call_span()
    assert call.attributes["aierrors.error.class"] == "timeout"
    attempts = telemetry.attempt_spans(call)
    assert len(attempts) == 2
    for attempt in attempts:
        assert attempt.attributes["aierrors.error.class"] == "timeout"
        assert "http.response.status_code" not in attempt.attributes
        assert attempt.events[0].name == "exception"


def test_connection_refused_is_a_connection_error_per_attempt(sdk: SDK, telemetry: Telemetry) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with pytest.raises(openai.APIConnectionError):
        sdk.call(base_url=f"http://127.0.0.1:{closed_port}/v1", max_retries=1)

    call = telemetry.call_span()
    assert call.attributes["aierrors.error.class"] == "connection"
    assert call.attributes["server.port"] == closed_port
    assert [a.attributes["aierrors.error.class"] for a in telemetry.attempt_spans(call)] == ["connection"] * 2


def test_the_instrumentation_keeps_no_transport_exception_after_the_call(sdk: SDK, telemetry: Telemetry) -> None:
    """What the transport raised (its traceback holds the request) is freed when the application drops it,
    though the call's records live on (the last call ended stays readable for ``reject``)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with pytest.raises(openai.APIConnectionError) as raised:
        sdk.call(base_url=f"http://127.0.0.1:{closed_port}/v1", max_retries=0)
    transport_error = raised.value.__cause__
    assert transport_error is not None
    freed = weakref.ref(transport_error)
    del raised, transport_error
    gc.collect()

    assert telemetry.call_span().attributes["aierrors.error.class"] == "connection"
    assert freed() is None


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("rate_limit;retry_after_ms=30", 0.03),
        ("rate_limit;retry_after=0.04", 0.04),
        ("rate_limit;retry_after_date=1", 1.0),
    ],
    ids=["retry-after-ms", "retry-after-seconds", "retry-after-http-date"],
)
def test_retry_after_in_its_three_forms(sdk: SDK, telemetry: Telemetry, script: str, expected: float) -> None:
    with pytest.raises(openai.RateLimitError):
        sdk.call(script=script, max_retries=0)

    retry_after = telemetry.attempt_spans()[0].attributes["aierrors.retry_after"]
    # An HTTP-date has one-second resolution.
    assert retry_after == pytest.approx(expected, abs=1.0 if "date" in script else 1e-6)
    assert telemetry.count("aierrors.server.retry_after") == 1


def test_x_should_retry_false_stops_the_sdk_and_marks_not_retryable(sdk: SDK, telemetry: Telemetry) -> None:
    with pytest.raises(openai.InternalServerError):
        sdk.call(script="server_error;should_retry=false")

    call = telemetry.call_span()
    assert call.attributes["aierrors.attempt.count"] == 1
    attempt = telemetry.attempt_spans(call)[0]
    assert attempt.attributes["aierrors.server.should_retry"] is False
    assert attempt.attributes["aierrors.retryable"] is False
    assert call.attributes["aierrors.retryable"] is False


@pytest.mark.parametrize(
    ("script", "exception", "error_class", "retryable"),
    [
        ("rate_limit;retry_after_ms=1", openai.RateLimitError, "rate_limit", True),
        ("quota", openai.RateLimitError, "quota_exhausted", False),
        ("balance", openai.APIStatusError, "quota_exhausted", False),
        ("quota_exceeded", openai.RateLimitError, "quota_exhausted", False),
        ("auth", openai.AuthenticationError, "auth", False),
        ("permission", openai.PermissionDeniedError, "permission", False),
        ("not_found", openai.NotFoundError, "not_found", False),
        ("invalid_request", openai.BadRequestError, "invalid_request", False),
        ("context_length", openai.BadRequestError, "context_length", False),
        ("payload_too_large", openai.APIStatusError, "payload_too_large", False),
        ("content_filter", openai.BadRequestError, "content_filter", False),
        ("conflict", openai.ConflictError, "conflict", True),
        ("server_error", openai.InternalServerError, "server_error", True),
        ("upstream", openai.InternalServerError, "upstream_error", True),
        ("all_channels_failed", openai.InternalServerError, "upstream_error", True),
        ("overloaded", openai.InternalServerError, "overloaded", True),
        ("overloaded;status=529", openai.InternalServerError, "overloaded", True),
        ("gateway_timeout", openai.InternalServerError, "timeout", True),
        ("html", openai.InternalServerError, "upstream_error", True),
        ("empty", openai.InternalServerError, "server_error", True),
        ("broken_json", openai.InternalServerError, "server_error", True),
        ("huge", openai.InternalServerError, "server_error", True),
        ("rate_limit;dialect=lemondata;retry_after_ms=1", openai.RateLimitError, "rate_limit", True),
        ("upstream;dialect=ofox", openai.InternalServerError, "upstream_error", True),
        ("rate_limit;dialect=holysheep;retry_after_ms=1", openai.RateLimitError, "rate_limit", True),
        ("overloaded;dialect=numeric", openai.InternalServerError, "overloaded", True),
        ("disconnect", openai.APIConnectionError, "connection", True),
    ],
)
def test_every_class_is_recognised(
    sdk: SDK, telemetry: Telemetry, script: str, exception: type[Exception], error_class: str, retryable: bool
) -> None:
    with pytest.raises(exception):
        sdk.call(script=script, max_retries=0)

    call = telemetry.call_span()
    assert call.attributes["aierrors.error.class"] == error_class
    assert call.attributes["error.type"] == error_class
    assert call.attributes["aierrors.retryable"] is retryable
    attempt = telemetry.attempt_spans(call)[0]
    assert attempt.attributes["aierrors.error.class"] == error_class
    assert telemetry.count("aierrors.calls", aierrors__error__class=error_class) == 1


def test_agent_first_hints_are_recorded(sdk: SDK, telemetry: Telemetry) -> None:
    with pytest.raises(openai.InternalServerError):
        sdk.call(script="all_channels_failed", max_retries=0)

    attempt = telemetry.attempt_spans()[0]
    assert attempt.attributes["aierrors.provider.alternatives"] == ("claude-sonnet-4-6", "gpt-5-mini")
    assert attempt.attributes["aierrors.provider.error.code"] == "all_channels_failed"
    # Free text (the hint) is content: exported only with content capture on.
    assert "aierrors.provider.hint" not in attempt.attributes


def test_the_exception_object_reaches_the_caller_unchanged(chaos, telemetry: Telemetry) -> None:
    client = openai.OpenAI(base_url=chaos.base_url, api_key=API_KEY, max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "x"}], extra_headers={"x-chaos-script": "auth"}
        )
    client.close()
    otel_aierrors_uninstrumented = caught.value
    assert otel_aierrors_uninstrumented.status_code == 401
    # The SDK's own message still contains what the provider said; only telemetry is redacted.
    assert API_KEY in str(otel_aierrors_uninstrumented)
    assert caught.traceback[-1].name != "traced_request"


@pytest.mark.parametrize("method", ["chat", "completions", "embeddings", "responses", "images", "models"])
def test_every_endpoint_of_the_generic_request_path_gets_a_call_span(
    sdk: SDK, telemetry: Telemetry, method: str
) -> None:
    sdk.call(method)

    call = telemetry.call_span()
    expected = {
        "chat": "chat",
        "completions": "text_completion",
        "embeddings": "embeddings",
        "responses": "chat",
        "images": "generate_content",
        "models": "models",
    }[method]
    assert call.attributes["gen_ai.operation.name"] == expected
    assert len(telemetry.attempt_spans(call)) == 1


def test_success_attributes_follow_the_genai_conventions(sdk: SDK, telemetry: Telemetry, chaos) -> None:
    sdk.call()

    call = telemetry.call_span()
    assert call.attributes["gen_ai.provider.name"] == "openai"
    assert call.attributes["gen_ai.request.model"] == "gpt-4o"
    assert call.attributes["gen_ai.response.model"] == "gpt-4o"
    assert call.attributes["gen_ai.response.id"]
    assert call.attributes["gen_ai.usage.input_tokens"] > 0
    assert call.attributes["gen_ai.usage.output_tokens"] > 0
    assert call.attributes["server.address"] == "127.0.0.1"
    assert call.attributes["server.port"] == chaos.port
    assert call.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    attempt = telemetry.attempt_spans(call)[0]
    assert attempt.attributes["aierrors.request_id"]
    assert telemetry.count("gen_ai.client.token.usage", gen_ai__token__type="input") == 1
    assert telemetry.count("gen_ai.client.operation.duration") == 1
    assert telemetry.count("aierrors.attempt.duration", aierrors__outcome="ok") == 1


def test_no_api_key_is_exported_even_when_the_provider_echoes_it(sdk: SDK, telemetry: Telemetry) -> None:
    for script in ("auth", "auth;dialect=lemondata", "invalid_request"):
        with pytest.raises(openai.APIStatusError):
            sdk.call(script=script, max_retries=0)

    exported = telemetry.exported_text()
    assert API_KEY not in exported
    assert API_KEY[:20] not in exported


def test_metric_exemplars_lead_to_the_call_and_attempt_spans(sdk: SDK, telemetry: Telemetry) -> None:
    with pytest.raises(openai.AuthenticationError):
        sdk.call(script="auth", max_retries=0)

    call = telemetry.call_span()
    attempt = telemetry.attempt_spans(call)[0]
    collected = telemetry.reader.get_metrics_data()
    (duration_point,) = telemetry.points("gen_ai.client.operation.duration", collected)
    (attempt_duration_point,) = telemetry.points("aierrors.attempt.duration", collected)
    assert {e.span_id for e in duration_point.exemplars} == {call.context.span_id}
    assert {e.span_id for e in attempt_duration_point.exemplars} == {attempt.context.span_id}
    assert {e.trace_id for e in attempt_duration_point.exemplars} == {call.context.trace_id}
    # The attempt histogram's series is the attempt counter's: its exemplars answer for both.
    (attempts_point,) = telemetry.points("aierrors.attempts", collected)
    assert attempt_duration_point.attributes == attempts_point.attributes


def test_the_call_and_attempt_counters_are_counted_in_process_and_reported_at_collection(
    sdk: SDK, telemetry: Telemetry
) -> None:
    """Observable counters (one dict lookup per call, not an SDK record): cumulative, no exemplars."""
    sdk.call(script="ok")
    first = telemetry.reader.get_metrics_data()
    sdk.call(script="ok")
    second = telemetry.reader.get_metrics_data()

    for name in ("aierrors.calls", "aierrors.attempts"):
        (before,) = telemetry.points(name, first)
        (after,) = telemetry.points(name, second)
        assert (before.value, after.value) == (1, 2), name
        assert not after.exemplars, name


def test_token_counts_carry_no_exemplar_while_the_duration_does(sdk: SDK, telemetry: Telemetry) -> None:
    sdk.call(script="ok")

    call = telemetry.call_span()
    collected = telemetry.reader.get_metrics_data()
    (duration_point,) = telemetry.points("gen_ai.client.operation.duration", collected)
    token_points = telemetry.points("gen_ai.client.token.usage", collected)
    assert {e.span_id for e in duration_point.exemplars} == {call.context.span_id}
    assert len(token_points) == 2
    assert all(not point.exemplars for point in token_points)


def test_the_rate_limit_gauge_reports_the_latest_budget_at_each_collection(sdk: SDK, telemetry: Telemetry) -> None:
    def requests_budget() -> list[int]:
        points = telemetry.points("aierrors.ratelimit.remaining")
        return [p.value for p in points if p.attributes["aierrors.ratelimit.kind"] == "requests"]

    sdk.call(script="ok;remaining_requests=50")
    sdk.call(script="ok;remaining_requests=40")
    assert requests_budget() == [40]
    with pytest.raises(openai.RateLimitError):
        sdk.call(script="rate_limit;remaining_requests=0;retry_after_ms=1", max_retries=0)
    assert requests_budget() == [0]
    assert requests_budget() == [0]  # observed again at the next collection, not recorded once


def test_a_failure_no_class_names_has_error_type_other(sdk: SDK, telemetry: Telemetry) -> None:
    # A 302 answer with no code or type in its body: the SDK raises, and nothing in the taxonomy matches.
    with pytest.raises(openai.APIStatusError) as caught:
        sdk.call(script="server_error;status=302;code=null;type=null", max_retries=0)

    assert caught.value.status_code == 302
    call = telemetry.call_span()
    assert call.attributes["aierrors.error.class"] == "unknown"
    assert call.attributes["error.type"] == "_OTHER"
    assert call.status.description == "unknown"
    durations = telemetry.points("gen_ai.client.operation.duration")
    assert [point.attributes.get("error.type") for point in durations] == ["_OTHER"]
    assert telemetry.count("aierrors.calls", aierrors__error__class="unknown") == 1
