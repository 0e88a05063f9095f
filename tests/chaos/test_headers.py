"""Formatting of request ids, rate-limit budgets and retry directives."""

from __future__ import annotations

import email.utils
import re
from datetime import datetime, timezone

import pytest

from otel_aierrors.chaos.headers import (
    RateLimitBudget,
    format_reset,
    new_request_id,
    rate_limit_headers,
    retry_headers,
)
from otel_aierrors.chaos.script import Params


def test_request_ids_look_like_openai_ones() -> None:
    first, second = new_request_id(), new_request_id()
    assert re.fullmatch(r"req_[0-9a-f]{32}", first)
    assert first != second


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.02, "20ms"), (0.006, "6ms"), (1, "1s"), (1.5, "1.5s"), (360, "6m0s"), (3723, "1h2m3s")],
)
def test_reset_values_use_go_durations(seconds: float, text: str) -> None:
    assert format_reset(seconds) == text


class TestRateLimitHeaders:
    def test_defaults_come_from_the_budget(self) -> None:
        headers = dict(rate_limit_headers(Params(), RateLimitBudget(), default_on=True))
        assert headers == {
            "x-ratelimit-limit-requests": "10000",
            "x-ratelimit-limit-tokens": "2000000",
            "x-ratelimit-remaining-requests": "9999",
            "x-ratelimit-remaining-tokens": "1999980",
            "x-ratelimit-reset-requests": "6ms",
            "x-ratelimit-reset-tokens": "0s",
        }

    def test_params_override_values_and_accept_durations(self) -> None:
        params = Params({"remaining_requests": "2", "reset_requests": "20", "reset_tokens": "6m0s"})
        headers = dict(rate_limit_headers(params, RateLimitBudget(), default_on=True))
        assert headers["x-ratelimit-remaining-requests"] == "2"
        assert headers["x-ratelimit-reset-requests"] == "20s"
        assert headers["x-ratelimit-reset-tokens"] == "6m0s"

    def test_anthropic_resets_are_rfc3339_times_ahead_of_now(self) -> None:
        now = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
        params = Params({"reset_tokens": "60", "remaining_input_tokens": "7"})
        headers = dict(rate_limit_headers(params, RateLimitBudget(), default_on=True, anthropic=True, now=lambda: now))
        assert len(headers) == 12
        assert headers["anthropic-ratelimit-tokens-reset"] == "2025-01-02T03:05:05Z"
        assert headers["anthropic-ratelimit-requests-reset"] == "2025-01-02T03:04:05Z"
        assert headers["anthropic-ratelimit-input-tokens-remaining"] == "7"
        assert headers["anthropic-ratelimit-output-tokens-limit"] == "400000"

    @pytest.mark.parametrize("value", ["nan", "inf", "-5", "6m0s", "soon"])
    def test_hostile_values_pass_verbatim(self, value: str) -> None:
        params = Params({"reset_tokens": value, "remaining_requests": value, "limit_tokens": "18446744073709551615"})
        for anthropic in (False, True):
            headers = dict(rate_limit_headers(params, RateLimitBudget(), default_on=True, anthropic=anthropic))
            prefix = "anthropic-ratelimit-" if anthropic else "x-ratelimit-"
            assert headers[f"{prefix}requests-remaining" if anthropic else f"{prefix}remaining-requests"] == value
            assert headers[f"{prefix}tokens-reset" if anthropic else f"{prefix}reset-tokens"] == value
            assert headers[f"{prefix}tokens-limit" if anthropic else f"{prefix}limit-tokens"] == "18446744073709551615"

    def test_the_ratelimit_flag_switches_them(self) -> None:
        assert rate_limit_headers(Params({"ratelimit": "0"}), RateLimitBudget(), default_on=True) == []
        assert rate_limit_headers(Params({"ratelimit": "1"}), RateLimitBudget(), default_on=False)
        assert rate_limit_headers(Params(), RateLimitBudget(), default_on=False) == []


class TestRetryHeaders:
    def test_seconds_and_milliseconds_are_sent_verbatim(self) -> None:
        params = Params({"retry_after": "0.01", "retry_after_ms": "10", "should_retry": "false"})
        assert retry_headers(params) == [("retry-after", "0.01"), ("retry-after-ms", "10"), ("x-should-retry", "false")]

    def test_a_date_is_an_http_date_seconds_ahead(self) -> None:
        now = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
        headers = retry_headers(Params({"retry_after_date": "30"}), now=lambda: now)
        assert headers == [("retry-after", "Thu, 02 Jan 2025 03:04:35 GMT")]
        assert email.utils.parsedate_to_datetime(headers[0][1]) == now.replace(second=35)

    def test_nothing_by_default(self) -> None:
        assert retry_headers(Params()) == []
