"""The response headers that matter for failures, read in one pass.

Only an allow-list of headers is ever looked at, and only parsed values are
exported, never raw header text. ``Retry-After`` is read the way the OpenAI
SDK honours it: ``retry-after-ms`` first, then ``retry-after`` as seconds,
then as an HTTP-date (parsed with the standard library's ``email.utils``).

Every value is checked against the ranges of `otel_aierrors._bounds` before it
is returned: budgets are ints in ``[0, 2**63 - 1]``, delays finite seconds in
``[0, one year]`` (a ``Retry-After`` date in the past is 0), the request id a
short identifier. Values too long to be a number are not parsed at all.
"""

from __future__ import annotations

import datetime
import email.utils
import functools
import re
import time
from collections.abc import Iterable
from typing import Final, NamedTuple

from otel_aierrors._bounds import (
    INT64_MAX,
    MAX_NUMBER_TEXT,
    MAX_SECONDS,
    non_negative_int,
    non_negative_seconds,
    report_out_of_range,
)

__all__ = ["AttemptHeaders", "parse_duration", "parse_retry_after", "read_headers"]

_RETRY_AFTER_MS: Final = b"retry-after-ms"
_RETRY_AFTER: Final = b"retry-after"
_SHOULD_RETRY: Final = b"x-should-retry"
_REQUEST_ID: Final = b"x-request-id"
_REQUEST_ID_ALT: Final = b"request-id"
_REMAINING_REQUESTS: Final = b"x-ratelimit-remaining-requests"
_REMAINING_TOKENS: Final = b"x-ratelimit-remaining-tokens"
_RESET_REQUESTS: Final = b"x-ratelimit-reset-requests"
_RESET_TOKENS: Final = b"x-ratelimit-reset-tokens"
#: Anthropic's dialect of the same budgets; resets are RFC 3339 times.
_ANTHROPIC_REMAINING_REQUESTS: Final = b"anthropic-ratelimit-requests-remaining"
_ANTHROPIC_REMAINING_TOKENS: Final = b"anthropic-ratelimit-tokens-remaining"
_ANTHROPIC_REMAINING_INPUT_TOKENS: Final = b"anthropic-ratelimit-input-tokens-remaining"
_ANTHROPIC_RESET_REQUESTS: Final = b"anthropic-ratelimit-requests-reset"
_ANTHROPIC_RESET_TOKENS: Final = b"anthropic-ratelimit-tokens-reset"
_ANTHROPIC_RESET_INPUT_TOKENS: Final = b"anthropic-ratelimit-input-tokens-reset"

#: The allow-list. Nothing else in a response is read.
ALLOWED_HEADERS: Final = frozenset(
    {
        _RETRY_AFTER_MS,
        _RETRY_AFTER,
        _SHOULD_RETRY,
        _REQUEST_ID,
        _REQUEST_ID_ALT,
        _REMAINING_REQUESTS,
        _REMAINING_TOKENS,
        _RESET_REQUESTS,
        _RESET_TOKENS,
        _ANTHROPIC_REMAINING_REQUESTS,
        _ANTHROPIC_REMAINING_TOKENS,
        _ANTHROPIC_REMAINING_INPUT_TOKENS,
        _ANTHROPIC_RESET_REQUESTS,
        _ANTHROPIC_RESET_TOKENS,
        _ANTHROPIC_RESET_INPUT_TOKENS,
    }
)

#: Request ids are exported verbatim; anything longer than this, or with
#: characters other than these, is not an id.
MAX_REQUEST_ID_LENGTH: Final = 128
_REQUEST_ID_SHAPE: Final = re.compile(r"[A-Za-z0-9_.:/+=\-]+\Z")


class AttemptHeaders(NamedTuple):
    """What one response's headers say about failure and capacity.

    A NamedTuple rather than a frozen dataclass: one is built per attempt, and
    a tuple is several times cheaper to build.
    """

    #: Seconds the server asked the client to wait, in ``[0, MAX_SECONDS]`` (0 for a past date).
    retry_after: float | None = None
    #: The server's explicit ``x-should-retry`` verdict.
    should_retry: bool | None = None
    #: At most `MAX_REQUEST_ID_LENGTH` identifier characters.
    request_id: str | None = None
    #: Remaining budgets, in ``[0, 2**63 - 1]``.
    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    #: Seconds until the request / token budgets reset, in ``[0, MAX_SECONDS]``.
    reset_requests: float | None = None
    reset_tokens: float | None = None


NO_HEADERS: Final = AttemptHeaders()


def read_headers(lowered: Iterable[tuple[bytes, bytes]], *, with_retry_after: bool) -> AttemptHeaders:
    """Pick the allow-listed headers out of (lower-cased name, value) pairs.

    One pass is cheaper than a case-insensitive ``get`` per header, and this
    runs on every attempt, successful ones included. ``Retry-After`` only means
    something on an error, so it is parsed only when asked for.
    """
    found: dict[bytes, bytes] = {}
    for name, value in lowered:
        if name in ALLOWED_HEADERS:
            found[name] = value
    if not found:
        return NO_HEADERS
    retry_after = None
    if with_retry_after:
        retry_after = parse_retry_after(
            _number_text(found.get(_RETRY_AFTER_MS), "retry-after-ms"),
            _number_text(found.get(_RETRY_AFTER), "retry-after"),
        )
    get = found.get
    should_retry_raw = get(_SHOULD_RETRY)
    # OpenAI's names first, inline: they come on almost every response (the rest is Anthropic's dialect).
    remaining_requests = get(_REMAINING_REQUESTS) or get(_ANTHROPIC_REMAINING_REQUESTS)
    remaining_tokens = (
        get(_REMAINING_TOKENS) or get(_ANTHROPIC_REMAINING_TOKENS) or get(_ANTHROPIC_REMAINING_INPUT_TOKENS)
    )
    reset_requests = get(_RESET_REQUESTS)
    reset_tokens = get(_RESET_TOKENS)
    return AttemptHeaders(  # positional: a NamedTuple built from keywords costs twice as much
        retry_after,
        None if should_retry_raw is None else _truthy(should_retry_raw),
        _request_id(get(_REQUEST_ID) or get(_REQUEST_ID_ALT)),
        _integer(remaining_requests, "x-ratelimit-remaining-requests"),
        _integer(remaining_tokens, "x-ratelimit-remaining-tokens"),
        _reset(reset_requests, "x-ratelimit-reset-requests")
        if reset_requests is not None
        else _reset_at(found, "x-ratelimit-reset-requests", _ANTHROPIC_RESET_REQUESTS),
        _reset(reset_tokens, "x-ratelimit-reset-tokens")
        if reset_tokens is not None
        else _reset_at(found, "x-ratelimit-reset-tokens", _ANTHROPIC_RESET_TOKENS, _ANTHROPIC_RESET_INPUT_TOKENS),
    )


def _first(found: dict[bytes, bytes], *names: bytes) -> bytes | None:
    for name in names:
        value = found.get(name)
        if value is not None:
            return value
    return None


def _reset_at(found: dict[bytes, bytes], field: str, *names: bytes) -> float | None:
    """A reset given as an RFC 3339 time (Anthropic's dialect), in seconds from now."""
    text = _number_text(_first(found, *names), field)
    if text is None:
        return None
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return non_negative_seconds(moment.timestamp() - time.time(), field)


def parse_retry_after(retry_after_ms: str | None, retry_after: str | None, now: float | None = None) -> float | None:
    """Seconds to wait, from ``retry-after-ms``, ``retry-after`` seconds or an HTTP-date.

    The first valid source wins, as in the SDK. A negative or non-finite number
    is invalid (RFC 9110 delay-seconds are non-negative) and the next source is
    tried; a date in the past means "now": 0. Delays beyond a year are clamped.

    Args:
        retry_after_ms: the ``retry-after-ms`` header (a non-standard OpenAI header).
        retry_after: the ``retry-after`` header.
        now: the current Unix time, for HTTP-dates; defaults to ``time.time()``.
    """
    for value, divisor, field in ((retry_after_ms, 1000.0, "retry-after-ms"), (retry_after, 1.0, "retry-after")):
        if value is None or len(value) > MAX_NUMBER_TEXT:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            continue
        checked = non_negative_seconds(seconds, field)
        if checked is not None:
            return checked
    if retry_after is None or len(retry_after) > MAX_NUMBER_TEXT:
        return None
    try:
        parsed = email.utils.parsedate_tz(retry_after)
        if parsed is None:
            return None
        seconds = float(email.utils.mktime_tz(parsed)) - (time.time() if now is None else now)
    except (TypeError, ValueError, OverflowError):
        return None
    return non_negative_seconds(max(seconds, 0.0), "retry-after")


_DURATION_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str | None) -> float | None:
    """Seconds in an OpenAI rate-limit reset value such as ``1s``, ``6m0s``, ``20ms`` or ``0.5``.

    Not range-checked: see `read_headers`. Values longer than `MAX_NUMBER_TEXT`
    are not durations and give None.
    """
    if not value or len(value) > MAX_NUMBER_TEXT:
        return None
    return _parse_duration(value)


@functools.lru_cache(maxsize=1024)
def _parse_duration(value: str) -> float | None:
    # Cached: the same few values ("6ms", "1s", "0s") arrive on almost every
    # response. Keys are at most MAX_NUMBER_TEXT characters: at most ~100 KiB.
    text = value.strip().lower()
    try:
        return float(text)
    except ValueError:
        pass
    total = 0.0
    number = ""
    index = 0
    while index < len(text):
        char = text[index]
        if char.isdigit() or char == ".":
            number += char
            index += 1
            continue
        unit = "ms" if text.startswith("ms", index) else char
        scale = _DURATION_UNITS.get(unit)
        if scale is None or not number:
            return None
        try:
            total += float(number) * scale
        except ValueError:
            return None
        number = ""
        index += len(unit)
    return None if number else total


def _number_text(value: bytes | None, field: str) -> str | None:
    """The header as text, or None when absent or too long to be a number."""
    if value is None or _too_long(value, field):
        return None
    return value.decode("latin-1").strip()


def _too_long(value: bytes, field: str) -> bool:
    """Whether ``value`` is too long to be a number (reported, then dropped by the caller)."""
    if len(value) <= MAX_NUMBER_TEXT:
        return False
    report_out_of_range(field, "too long, dropped")
    return True


def _request_id(value: bytes | None) -> str | None:
    if value is None:
        return None
    text = value.decode("latin-1").strip() if len(value) <= MAX_REQUEST_ID_LENGTH else None
    if text is None or not _REQUEST_ID_SHAPE.match(text):
        report_out_of_range("x-request-id", "not an identifier, dropped")
        return None
    return text


def _truthy(value: bytes) -> bool | None:
    lowered = value.strip().lower()
    if lowered == b"true":
        return True
    if lowered == b"false":
        return False
    return None


def _integer(value: bytes | None, field: str) -> int | None:
    if value is not None and value.isdigit() and len(value) <= MAX_NUMBER_TEXT:  # the usual case: int() reads bytes
        number = int(value)
        # Digits are never negative: in range below the bound `_bounds` sets, checked there above it.
        return number if number <= INT64_MAX else non_negative_int(number, field)
    text = _number_text(value, field)
    if text is None:
        return None
    try:
        number = int(text)
    except ValueError:
        return None
    return non_negative_int(number, field)


def _reset(value: bytes, field: str) -> float | None:
    """A reset given as a duration (``6m0s``, OpenAI's dialect)."""
    if _too_long(value, field):
        return None
    seconds = _duration_of_bytes(value)
    if seconds is None:
        return None
    # The usual case without a call: within the bounds of `_bounds` (nan fails both comparisons).
    return seconds if 0.0 <= seconds <= MAX_SECONDS else non_negative_seconds(seconds, field)


@functools.lru_cache(maxsize=1024)
def _duration_of_bytes(value: bytes) -> float | None:
    # Cached on the raw header: the same few values ("6ms", "1s") come on almost every response.
    return parse_duration(value.decode("latin-1").strip())
