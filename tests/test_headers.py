"""Retry-After in its three forms and the rate-limit headers, read from an allow-list."""

from __future__ import annotations

import datetime
import email.utils

import pytest

from otel_aierrors import _bounds
from otel_aierrors._bounds import INT64_MAX, MAX_SECONDS
from otel_aierrors._headers import _parse_duration, parse_duration, parse_retry_after, read_headers
from otel_aierrors._sdks.stainless import lowered_headers
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


def test_a_retry_after_date_in_the_past_is_zero() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after(None, email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0


@pytest.mark.parametrize("value", ["soon", "", "Mon, 99 Foo", "nan", "inf", "-inf", "-5", "1e400"])
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
    headers = read_headers(lowered_headers(HTTP.Headers(raw)), with_retry_after=True)
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


def test_lowered_headers_works_with_and_without_the_private_list() -> None:
    raw = [(b"X-Request-ID", b"req_1"), (b"Retry-After", b"2")]
    expected = [(b"x-request-id", b"req_1"), (b"retry-after", b"2")]
    assert list(lowered_headers(HTTP.Headers(raw))) == expected
    assert list(lowered_headers(_HeadersWithoutPrivateList(raw))) == expected


def _read(name: bytes, value: bytes):
    return read_headers([(name, value)], with_retry_after=True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"18446744073709551615", INT64_MAX),  # u64 max, "unlimited" on some gateways
        (str(INT64_MAX).encode(), INT64_MAX),
        (b"0", 0),
        (b"-5", None),
        (b"nan", None),
        (b"1e3", None),
        (b"9" * 5000, None),  # longer than any number: not parsed at all
    ],
)
def test_remaining_budgets_are_int64_and_never_negative(value: bytes, expected: int | None) -> None:
    assert _read(b"x-ratelimit-remaining-requests", value).remaining_requests == expected
    assert _read(b"x-ratelimit-remaining-tokens", value).remaining_tokens == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"nan", None),
        (b"inf", None),
        (b"-5", None),
        (b"-5s", None),
        (b"1e400", None),
        (b"99999999999h", MAX_SECONDS),
        (b"6m0s", 360.0),
    ],
)
def test_reset_durations_are_finite_non_negative_and_at_most_a_year(value: bytes, expected: float | None) -> None:
    assert _read(b"x-ratelimit-reset-tokens", value).reset_tokens == expected
    assert _read(b"x-ratelimit-reset-requests", value).reset_requests == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([(b"retry-after-ms", b"nan"), (b"retry-after", b"2")], 2.0),  # the next valid source wins
        ([(b"retry-after-ms", b"-5000")], None),
        ([(b"retry-after", b"inf")], None),
        ([(b"retry-after", b"18446744073709551615")], MAX_SECONDS),
        ([(b"retry-after", b"1" * 100_000)], None),
    ],
)
def test_retry_after_is_finite_non_negative_and_at_most_a_year(
    headers: list[tuple[bytes, bytes]], expected: float | None
) -> None:
    assert read_headers(headers, with_retry_after=True).retry_after == expected


@pytest.mark.parametrize(
    "value", [b"x" * 129, b"req id with spaces", b"req_1\x00", b"Incorrect API key provided: sk-proj-abc", b""]
)
def test_request_ids_are_short_identifiers(value: bytes) -> None:
    assert _read(b"x-request-id", value).request_id is None


def test_out_of_range_values_are_counted_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    key = ("x-ratelimit-remaining-tokens", "negative, dropped")
    before = _bounds.out_of_range_counts().get(key, 0)
    with caplog.at_level("DEBUG", logger="otel_aierrors"):
        for _ in range(3):
            _read(b"x-ratelimit-remaining-tokens", b"-7")
    assert _bounds.out_of_range_counts()[key] == before + 3
    logged = [r for r in caplog.records if "x-ratelimit-remaining-tokens" in r.getMessage()]
    assert len(logged) == (1 if before == 0 else 0)
    assert all("-7" not in r.getMessage() for r in caplog.records)  # the field, never the value


def test_long_values_are_not_cached() -> None:
    _parse_duration.cache_clear()
    for index in range(50):
        parse_duration(f"{index}s" + "0" * 10_000)
    parse_duration("1s")
    assert _parse_duration.cache_info().currsize == 1


def test_anthropic_rate_limit_headers_feed_the_same_fields() -> None:
    reset_at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=30)
    headers = read_headers(
        [
            (b"anthropic-ratelimit-requests-remaining", b"49"),
            (b"anthropic-ratelimit-tokens-remaining", b"7000"),
            (b"anthropic-ratelimit-requests-reset", reset_at.isoformat().replace("+00:00", "Z").encode()),
            (b"anthropic-ratelimit-tokens-reset", b"not a time"),
        ],
        with_retry_after=False,
    )
    assert headers.remaining_requests == 49
    assert headers.remaining_tokens == 7000
    assert headers.reset_requests is not None and 25 < headers.reset_requests <= 30
    assert headers.reset_tokens is None
