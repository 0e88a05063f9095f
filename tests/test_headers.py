"""Retry-After in its three forms and the rate-limit headers, read from an allow-list."""

from __future__ import annotations

import email.utils

import pytest

from otel_aierrors._headers import lowered_items, parse_duration, parse_retry_after, read_headers
from tests.conftest import HTTP


def test_retry_after_ms_wins_over_retry_after() -> None:
    assert parse_retry_after("250", "10") == 0.25


def test_retry_after_seconds_including_floats() -> None:
    assert parse_retry_after(None, "7") == 7.0
    assert parse_retry_after(None, "0.5") == 0.5


def test_retry_after_http_date() -> None:
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(None, date, now=now) == pytest.approx(30.0)


@pytest.mark.parametrize("value", ["soon", "", "Mon, 99 Foo"])
def test_garbage_retry_after_is_ignored(value: str) -> None:
    assert parse_retry_after(None, value) is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("1s", 1.0), ("6m0s", 360.0), ("20ms", 0.02), ("1h2m3.5s", 3723.5), ("0.5", 0.5), ("12x", None), ("", None)],
)
def test_rate_limit_reset_durations(value: str, seconds: float | None) -> None:
    assert parse_duration(value) == (pytest.approx(seconds) if seconds is not None else None)


def test_only_allow_listed_headers_are_read() -> None:
    raw = [
        (b"Retry-After", b"3"),
        (b"X-Should-Retry", b"false"),
        (b"x-request-id", b"req_123"),
        (b"x-ratelimit-remaining-requests", b"7"),
        (b"x-ratelimit-remaining-tokens", b"1000"),
        (b"x-ratelimit-reset-requests", b"6m0s"),
        (b"authorization", b"Bearer sk-secret"),
        (b"set-cookie", b"session=abc"),
    ]
    headers = read_headers(lowered_items(HTTP.Headers(raw)), with_retry_after=True)
    assert headers.retry_after == 3.0
    assert headers.should_retry is False
    assert headers.request_id == "req_123"
    assert headers.remaining_requests == 7
    assert headers.remaining_tokens == 1000
    assert headers.reset_requests == 360.0
    assert "sk-secret" not in repr(headers) and "session" not in repr(headers)


def test_retry_after_is_not_parsed_on_success() -> None:
    assert read_headers([(b"retry-after", b"3")], with_retry_after=False).retry_after is None


class _HeadersWithoutPrivateList:
    """A ``Headers`` look-alike without httpx's private ``_list``: the public ``raw`` is used."""

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self.raw = raw


def test_lowered_items_works_with_and_without_the_private_list() -> None:
    raw = [(b"X-Request-ID", b"req_1"), (b"Retry-After", b"2")]
    expected = [(b"x-request-id", b"req_1"), (b"retry-after", b"2")]
    assert list(lowered_items(HTTP.Headers(raw))) == expected
    assert list(lowered_items(_HeadersWithoutPrivateList(raw))) == expected
