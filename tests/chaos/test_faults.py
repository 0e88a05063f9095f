"""Every error fault, seen through the real openai SDK: status, body, headers, exception."""

from __future__ import annotations

import email.utils
import json
import re
import time

import openai
import pytest

from otel_aierrors.chaos import FAULTS
from otel_aierrors.chaos.faults import build_fault, parameters
from otel_aierrors.chaos.script import Step, parse_step

from .conftest import API_KEY, Caller, Tagged

QUOTA_BODY = {
    "message": "You exceeded your current quota, please check your plan and billing details.",
    "type": "insufficient_quota",
    "param": None,
    "code": "insufficient_quota",
}

#: step, exception class (exact), status, subset of the SDK's ``error.body``.
ERRORS = [
    ("rate_limit", openai.RateLimitError, 429, {"type": "requests", "code": "rate_limit_exceeded"}),
    ("quota", openai.RateLimitError, 429, QUOTA_BODY),
    ("quota_exceeded", openai.RateLimitError, 429, {"type": "insufficient_quota", "code": "quota_exceeded"}),
    ("quota_exceeded;status=403", openai.PermissionDeniedError, 403, {"code": "quota_exceeded"}),
    ("balance", openai.APIStatusError, 402, {"type": "insufficient_balance", "code": "insufficient_balance"}),
    ("auth", openai.AuthenticationError, 401, {"type": "invalid_request_error", "code": "invalid_api_key"}),
    ("permission", openai.PermissionDeniedError, 403, {"code": "model_not_allowed"}),
    ("permission;code=access_denied", openai.PermissionDeniedError, 403, {"code": "access_denied"}),
    ("not_found", openai.NotFoundError, 404, {"type": "invalid_request_error", "code": "model_not_found"}),
    ("invalid_request", openai.BadRequestError, 400, {"code": "invalid_value", "param": "temperature"}),
    ("invalid_request;param=top_p", openai.BadRequestError, 400, {"param": "top_p"}),
    ("context_length", openai.BadRequestError, 400, {"code": "context_length_exceeded", "param": "messages"}),
    ("payload_too_large", openai.APIStatusError, 413, {"code": "payload_too_large"}),
    ("content_filter", openai.BadRequestError, 400, {"code": "content_policy_violation"}),
    ("conflict", openai.ConflictError, 409, {"code": "conflict"}),
    ("server_error", openai.InternalServerError, 500, {"type": "server_error", "code": None}),
    ("upstream", openai.InternalServerError, 502, {"type": "upstream_error", "code": "upstream_error"}),
    (
        "all_channels_failed",
        openai.InternalServerError,
        503,
        {"code": "all_channels_failed", "retryable": True, "retry_after": 30},
    ),
    ("overloaded", openai.InternalServerError, 503, {"type": "server_error", "code": "server_overloaded"}),
    ("overloaded;status=529", openai.InternalServerError, 529, {"type": "overloaded_error", "message": "Overloaded"}),
    ("gateway_timeout", openai.InternalServerError, 504, {"type": "timeout_error", "code": "timeout_error"}),
    ("server_error;status=418", openai.APIStatusError, 418, {"type": "server_error"}),
    (
        "rate_limit;message=slow+down;type=tokens;code=null",
        openai.RateLimitError,
        429,
        {"message": "slow down", "type": "tokens", "code": None},
    ),
]


@pytest.mark.parametrize(("step", "exception", "status", "body"), ERRORS, ids=[case[0] for case in ERRORS])
def test_error_faults_raise_the_sdk_class_with_the_advertised_body(
    caller: Caller, tagged: Tagged, step: str, exception: type[openai.APIStatusError], status: int, body: dict
) -> None:
    error = caller.error(headers=tagged.headers(step))

    assert type(error) is exception
    assert isinstance(error, openai.APIStatusError)
    assert error.status_code == status
    assert isinstance(error.body, dict)
    assert {key: error.body.get(key) for key in body} == body
    (record,) = tagged.wait(1)
    assert (record.status, record.fault, record.retry_count) == (status, parse_step(step).name, 0)
    assert re.fullmatch(r"req_[0-9a-f]{32}", error.request_id or "")
    assert record.request_id == error.request_id


def test_auth_echoes_the_full_key_the_client_sent(caller: Caller, tagged: Tagged) -> None:
    error = caller.error(headers=tagged.headers("auth"))

    assert isinstance(error, openai.AuthenticationError) and isinstance(error.body, dict)
    assert error.body["message"] == (
        f"Incorrect API key provided: {API_KEY}. You can find your API key at "
        "https://platform.openai.com/account/api-keys."
    )
    assert API_KEY in str(error)


def test_rate_limit_carries_an_exhausted_budget(caller: Caller, tagged: Tagged) -> None:
    error = caller.error(headers=tagged.headers("rate_limit"))

    assert isinstance(error, openai.RateLimitError)
    headers = error.response.headers
    assert headers["x-ratelimit-limit-requests"] == "60"
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert headers["x-ratelimit-reset-requests"] == "1s"
    assert headers["x-ratelimit-remaining-tokens"] == "148500"
    assert headers["x-ratelimit-reset-tokens"] == "600ms"
    assert "retry-after" not in headers


def test_other_errors_carry_no_budget_unless_asked(caller: Caller, tagged: Tagged) -> None:
    plain = caller.error(headers=tagged.headers("server_error"))
    forced = caller.error(headers=tagged.headers("server_error;ratelimit=1;remaining_requests=5"))

    assert isinstance(plain, openai.APIStatusError) and isinstance(forced, openai.APIStatusError)
    assert "x-ratelimit-remaining-requests" not in plain.response.headers
    assert forced.response.headers["x-ratelimit-remaining-requests"] == "5"


@pytest.mark.parametrize("name", ["server_error", "auth", "html", "empty", "broken_json", "upstream"])
def test_retry_directives_work_on_every_error_fault(caller: Caller, tagged: Tagged, name: str) -> None:
    error = caller.error(headers=tagged.headers(f"{name};retry_after=0.5;retry_after_ms=20;should_retry=false"))

    assert isinstance(error, openai.APIStatusError)
    headers = error.response.headers
    assert (headers["retry-after"], headers["retry-after-ms"], headers["x-should-retry"]) == ("0.5", "20", "false")


def test_retry_after_date_is_an_http_date_in_the_future(caller: Caller, tagged: Tagged) -> None:
    error = caller.error(headers=tagged.headers("rate_limit;retry_after_date=30"))

    assert isinstance(error, openai.RateLimitError)
    when = email.utils.parsedate_to_datetime(error.response.headers["retry-after"])
    assert error.response.headers["retry-after"].endswith(" GMT")
    assert 28 <= when.timestamp() - time.time() <= 31


class TestDialects:
    def test_lemondata_not_found_suggests_a_model(self, caller: Caller, tagged: Tagged) -> None:
        error = caller.error(headers=tagged.headers("not_found;dialect=lemondata"), model="gpt4o")

        assert isinstance(error, openai.NotFoundError) and isinstance(error.body, dict)
        assert error.body["param"] == "model"
        assert error.body["did_you_mean"] == "gpt-4o"
        assert error.body["suggestions"][0] == {"id": "gpt-4o"}
        assert "GET /v1/models" in error.body["hint"]
        assert error.body["retryable"] is False

    def test_lemondata_rate_limit_is_retryable_with_the_asked_delay(self, caller: Caller, tagged: Tagged) -> None:
        error = caller.error(headers=tagged.headers("rate_limit;dialect=lemondata;retry_after=8"))

        assert isinstance(error, openai.RateLimitError) and isinstance(error.body, dict)
        assert (error.body["type"], error.body["retryable"], error.body["retry_after"]) == (
            "rate_limit_exceeded",
            True,
            8,
        )
        assert error.response.headers["retry-after"] == "8"

    def test_lemondata_balance_and_alternatives(self, caller: Caller, tagged: Tagged) -> None:
        balance = caller.error(headers=tagged.headers("balance;dialect=lemondata;balance_usd=0.12"))
        channels = caller.error(headers=tagged.headers("all_channels_failed"), model="claude-opus-4-6")

        assert isinstance(balance, openai.APIStatusError) and isinstance(balance.body, dict)
        assert balance.body["balance_usd"] == 0.12
        assert isinstance(channels, openai.APIStatusError) and isinstance(channels.body, dict)
        assert channels.body["message"] == "Model claude-opus-4-6 temporarily unavailable"
        assert channels.body["alternatives"] == [
            {"id": "claude-sonnet-4-6", "status": "available", "tags": []},
            {"id": "gpt-5-mini", "status": "available", "tags": []},
        ]
        assert channels.body["hint"] == "Retry in 30s or switch to an available model."

    def test_ofox_holysheep_numeric_and_anthropic_shapes(self, caller: Caller, tagged: Tagged) -> None:
        ofox = caller.error(headers=tagged.headers("overloaded;dialect=ofox"))
        holysheep = caller.error(headers=tagged.headers("invalid_request;dialect=holysheep"))
        numeric = caller.error(headers=tagged.headers("rate_limit;dialect=numeric"))
        anthropic = caller.error(headers=tagged.headers("rate_limit;dialect=anthropic"))

        assert isinstance(ofox.body, dict)
        assert ofox.body == {
            "code": "server_overloaded",
            "message": ofox.body["message"],
            "type": "service_unavailable",
        }
        assert isinstance(holysheep.body, dict)
        assert set(holysheep.body) == {"code", "message", "details"}
        assert holysheep.body["code"] == "invalid_request"
        assert {"field": "temperature", "error": "temperature is invalid"} in holysheep.body["details"]
        assert isinstance(numeric, openai.RateLimitError) and isinstance(numeric.body, dict)
        assert numeric.body == {"code": 429, "message": numeric.body["message"]}
        assert str(numeric.code) == "429"  # 3.x turns the code into a string, 2.x keeps the int
        assert isinstance(anthropic, openai.RateLimitError) and isinstance(anthropic.body, dict)
        assert anthropic.body == {"type": "rate_limit_error", "message": anthropic.body["message"]}


class TestMalformedBodies:
    def test_html_proxy_page(self, caller: Caller, tagged: Tagged) -> None:
        error = caller.error(headers=tagged.headers("html"))

        assert type(error) is openai.InternalServerError
        assert error.status_code == 502
        assert error.response.headers["content-type"].startswith("text/html")
        assert "<h1>502 Bad Gateway</h1>" in error.response.text
        assert error.response.headers["x-request-id"].startswith("req_")

    def test_empty_body(self, caller: Caller, tagged: Tagged) -> None:
        error = caller.error(headers=tagged.headers("empty"))

        assert type(error) is openai.InternalServerError
        assert error.response.content == b""
        assert "content-type" not in error.response.headers

    def test_broken_json(self, caller: Caller, tagged: Tagged) -> None:
        error = caller.error(headers=tagged.headers("broken_json"))

        assert type(error) is openai.InternalServerError
        assert error.response.text == '{"error": {"mess'
        assert error.body == '{"error": {"mess'

    def test_huge_json(self, caller: Caller, tagged: Tagged) -> None:
        error = caller.error(headers=tagged.headers("huge"))

        assert type(error) is openai.InternalServerError
        assert 2 * 1024 * 1024 <= len(error.response.content) < 2 * 1024 * 1024 + 64
        assert json.loads(error.response.content)["error"]["type"] == "server_error"
        small = caller.error(headers=tagged.headers("huge;size=1000"))
        assert isinstance(small, openai.APIStatusError)
        assert 1000 <= len(small.response.content) < 1064


class TestTransportFaults:
    def test_disconnect_is_a_connection_error(self, caller: Caller, tagged: Tagged) -> None:
        error = caller.error(headers=tagged.headers("disconnect"))

        assert type(error) is openai.APIConnectionError
        (record,) = tagged.wait(1)
        assert (record.fault, record.status, record.request_id) == ("disconnect", None, None)

    def test_a_reset_is_a_connection_error(self, caller: Caller, tagged: Tagged) -> None:
        error = caller.error(headers=tagged.headers("disconnect;reset=1"))

        assert type(error) is openai.APIConnectionError

    def test_hang_times_out_and_the_server_sees_the_client_leave(self, caller: Caller, tagged: Tagged) -> None:
        started = time.monotonic()
        error = caller.error(headers=tagged.headers("hang;seconds=3"), timeout=0.2)

        assert type(error) is openai.APITimeoutError
        assert time.monotonic() - started < 1.0
        (record,) = tagged.wait(1)
        assert (record.fault, record.status, record.client_closed) == ("hang", None, True)

    def test_stream_faults_on_a_plain_request(self, caller: Caller, tagged: Tagged) -> None:
        cut = caller.error(headers=tagged.headers("stream_cut"))
        failed = caller.error(headers=tagged.headers("stream_error;code=server_overloaded"))

        assert type(cut) is openai.APIConnectionError  # half a body under a longer content-length
        assert type(failed) is openai.InternalServerError
        assert isinstance(failed.body, dict) and failed.body["code"] == "server_overloaded"
        assert [(r.fault, r.status) for r in tagged.wait(2)] == [("stream_cut", 200), ("stream_error", 500)]

    def test_delay_applies_before_any_answer(self, caller: Caller, tagged: Tagged) -> None:
        started = time.monotonic()
        error = caller.error(headers=tagged.headers("server_error;delay=0.2"))

        assert isinstance(error, openai.InternalServerError)
        assert time.monotonic() - started >= 0.2
        assert tagged.wait(1)[0].duration >= 0.2


def test_every_fault_is_documented_and_named_once() -> None:
    import otel_aierrors.chaos as package

    assert package.__doc__ is not None
    for name, row in FAULTS.items():
        assert row.name == name
        assert f"``{name}``" in package.__doc__, name
        assert row.doc and "\n" not in row.doc, name
        fault = build_fault(Step(name))
        assert fault.delay == 0.0
        if row.body is not None:
            assert {"status", "dialect", "retry_after", "retry_after_ms", "retry_after_date"} <= set(parameters(row))
        for param in parameters(row).values():
            assert param.doc, (name, param.name)


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (Step("nope"), "unknown chaos fault 'nope'"),
        (Step("rate_limit", (("retry_afte", "1"),)), "does not take 'retry_afte'"),
        (Step("ok", (("finish_reason", "bored"),)), "finish_reason"),
        (Step("server_error", (("dialect", "klingon"),)), "dialect"),
        (Step("stream_cut", (("after", "x"),)), "after"),
        (Step("silent_cut", (("framing", "smoke"),)), "framing"),
        (Step("echo", (("what", "everything"),)), "what"),
        (Step("ok", (("stop_reason", "bored"),)), "stop_reason"),
        (Step("ok", (("huge_headers", "big"),)), "huge_headers"),
        (Step("server_error", (("body_delay", "soon"),)), "body_delay"),
        (Step("hang", (("cut_body", "1"),)), "does not take 'cut_body'"),
    ],
)
def test_bad_steps_are_refused_with_a_clear_message(step: Step, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        build_fault(step)


def test_a_bad_script_is_a_400_naming_the_problem(caller: Caller, tagged: Tagged) -> None:
    error = caller.error(headers=tagged.headers("rate_limit;retry_afte=1"))

    assert type(error) is openai.BadRequestError
    assert "does not take 'retry_afte'" in error.message
    assert error.code == "chaos_invalid_step"
    assert tagged.wait(1)[0].fault == "invalid_step"
