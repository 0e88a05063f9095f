"""Scripts walk across the SDK's own retries: step i answers ``x-stainless-retry-count: i``."""

from __future__ import annotations

import http.client
import json

import openai
import pytest

from otel_aierrors.chaos import ChaosServer

from .conftest import Caller, Tagged


def test_a_rate_limit_then_ok_returns_a_completion_after_two_requests(caller: Caller, tagged: Tagged) -> None:
    completion = caller.chat(headers=tagged.headers("rate_limit;retry_after_ms=1", "ok"), max_retries=2)

    assert completion.choices[0].message.content
    records = tagged.wait(2)
    assert [(r.fault, r.status, r.retry_count) for r in records] == [("rate_limit", 429, 0), ("ok", 200, 1)]
    assert all(r.scripted for r in records)


def test_three_steps_with_both_retry_header_forms(caller: Caller, tagged: Tagged) -> None:
    completion = caller.chat(
        headers=tagged.headers("rate_limit;retry_after=0.01", "rate_limit;retry_after_ms=10", "ok"), max_retries=2
    )

    assert completion.object == "chat.completion"
    assert [(r.fault, r.retry_count) for r in tagged.wait(3)] == [("rate_limit", 0), ("rate_limit", 1), ("ok", 2)]


def test_the_last_step_repeats_until_retries_run_out(caller: Caller, tagged: Tagged) -> None:
    error = caller.error(headers=tagged.headers("server_error;retry_after_ms=1"), max_retries=3)

    assert isinstance(error, openai.InternalServerError)
    assert [r.retry_count for r in tagged.wait(4)] == [0, 1, 2, 3]


def test_the_last_failure_is_what_the_caller_sees(caller: Caller, tagged: Tagged) -> None:
    error = caller.error(
        headers=tagged.headers("server_error;retry_after_ms=1", "upstream;retry_after_ms=1", "overloaded"),
        max_retries=2,
    )

    assert isinstance(error, openai.InternalServerError)
    assert error.status_code == 503
    assert [r.status for r in tagged.wait(3)] == [500, 502, 503]


@pytest.mark.parametrize("first", ["rate_limit;should_retry=false", "auth", "invalid_request"])
def test_the_sdk_stops_where_the_server_or_the_status_says_so(caller: Caller, tagged: Tagged, first: str) -> None:
    error = caller.error(headers=tagged.headers(first, "ok"), max_retries=2)

    assert isinstance(error, openai.APIStatusError)
    assert len(tagged.wait(1)) == 1
    assert not tagged.server.wait_for(lambda: len(tagged.requests()) > 1, timeout=0.05)


def test_should_retry_true_makes_the_sdk_retry_a_400(caller: Caller, tagged: Tagged) -> None:
    completion = caller.chat(
        headers=tagged.headers("invalid_request;should_retry=true;retry_after_ms=1", "ok"), max_retries=1
    )

    assert completion.choices
    assert [r.fault for r in tagged.wait(2)] == ["invalid_request", "ok"]


def test_a_disconnect_is_retried_as_a_connection_error(caller: Caller, tagged: Tagged) -> None:
    completion = caller.chat(headers=tagged.headers("disconnect", "ok"), max_retries=1)

    assert completion.choices
    records = tagged.wait(2)
    assert [(r.fault, r.status, r.retry_count) for r in records] == [("disconnect", None, 0), ("ok", 200, 1)]
    assert records[0].connection_id != records[1].connection_id


def test_a_script_overrides_the_profile_and_a_missing_retry_header_means_zero(make_server) -> None:
    server: ChaosServer = make_server(profile="quota")
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        body = json.dumps({"model": "gpt-4o", "messages": []})
        connection.request("POST", "/v1/chat/completions", body, {"x-chaos-script": "ok,server_error"})
        first = connection.getresponse()
        first.read()
        connection.request(
            "POST", "/v1/chat/completions", body, {"x-chaos-script": "ok,server_error", "x-stainless-retry-count": "5"}
        )
        second = connection.getresponse()
        second.read()
        connection.request("POST", "/v1/chat/completions", body)
        third = connection.getresponse()
        third.read()
    finally:
        connection.close()

    assert (first.status, second.status, third.status) == (200, 500, 429)
    assert [r.retry_count for r in server.requests] == [0, 5, 0]
    assert [r.scripted for r in server.requests] == [True, True, False]
