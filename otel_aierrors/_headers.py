"""The response headers that matter for failures, read in one pass.

Only an allow-list of headers is ever looked at, and only parsed values are
exported, never raw header text. ``Retry-After`` is read the way the OpenAI
SDK honours it: ``retry-after-ms`` first, then ``retry-after`` as seconds,
then as an HTTP-date (parsed with the standard library's ``email.utils``).
"""

from __future__ import annotations

import email.utils
import functools
import math
import time
from collections.abc import Iterable
from typing import Any, Final, NamedTuple

__all__ = ["AttemptHeaders", "lowered_items", "parse_duration", "parse_retry_after", "read_headers"]

_RETRY_AFTER_MS: Final = b"retry-after-ms"
_RETRY_AFTER: Final = b"retry-after"
_SHOULD_RETRY: Final = b"x-should-retry"
_REQUEST_ID: Final = b"x-request-id"
_REQUEST_ID_ALT: Final = b"request-id"
_REMAINING_REQUESTS: Final = b"x-ratelimit-remaining-requests"
_REMAINING_TOKENS: Final = b"x-ratelimit-remaining-tokens"
_RESET_REQUESTS: Final = b"x-ratelimit-reset-requests"
_RESET_TOKENS: Final = b"x-ratelimit-reset-tokens"

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
    }
)

#: Request ids are echoed verbatim; anything longer than this is not an id.
_MAX_REQUEST_ID_LENGTH: Final = 128


class AttemptHeaders(NamedTuple):
    """What one response's headers say about failure and capacity.

    A NamedTuple rather than a frozen dataclass: one is built per attempt, and
    a tuple is several times cheaper to build.
    """

    #: Seconds the server asked the client to wait (may be 0 or negative for a past date).
    retry_after: float | None = None
    #: The server's explicit ``x-should-retry`` verdict.
    should_retry: bool | None = None
    request_id: str | None = None
    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    #: Seconds until the request / token budgets reset.
    reset_requests: float | None = None
    reset_tokens: float | None = None


NO_HEADERS: Final = AttemptHeaders()


def lowered_items(headers: Any) -> Iterable[tuple[bytes, bytes]]:
    """(lower-cased name, value) pairs of an ``httpx`` / ``httpx2`` ``Headers``.

    Both keep the lower-cased names they already computed in ``_list``; using
    them saves lower-casing every header of every response again. Should a
    release drop that private list, ``raw`` is used instead.
    """
    items = getattr(headers, "_list", None)
    if isinstance(items, list) and (not items or len(items[0]) == 3):
        return [(lowered, value) for _, lowered, value in items]
    return [(name.lower(), value) for name, value in headers.raw]


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
        retry_after = parse_retry_after(_text(found.get(_RETRY_AFTER_MS)), _text(found.get(_RETRY_AFTER)))
    should_retry_raw = found.get(_SHOULD_RETRY)
    request_id = _text(found.get(_REQUEST_ID) or found.get(_REQUEST_ID_ALT))
    if request_id is not None and len(request_id) > _MAX_REQUEST_ID_LENGTH:
        request_id = None
    return AttemptHeaders(
        retry_after=retry_after,
        should_retry=None if should_retry_raw is None else _truthy(should_retry_raw),
        request_id=request_id,
        remaining_requests=_integer(found.get(_REMAINING_REQUESTS)),
        remaining_tokens=_integer(found.get(_REMAINING_TOKENS)),
        reset_requests=parse_duration(_text(found.get(_RESET_REQUESTS))),
        reset_tokens=parse_duration(_text(found.get(_RESET_TOKENS))),
    )


def parse_retry_after(retry_after_ms: str | None, retry_after: str | None, now: float | None = None) -> float | None:
    """Seconds to wait, from ``retry-after-ms``, ``retry-after`` seconds or an HTTP-date.

    Args:
        retry_after_ms: the ``retry-after-ms`` header (a non-standard OpenAI header).
        retry_after: the ``retry-after`` header.
        now: the current Unix time, for HTTP-dates; defaults to ``time.time()``.
    """
    for value, divisor in ((retry_after_ms, 1000.0), (retry_after, 1.0)):
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            continue
        if math.isfinite(seconds):
            return seconds
    if retry_after is None:
        return None
    try:
        parsed = email.utils.parsedate_tz(retry_after)
        if parsed is None:
            return None
        return float(email.utils.mktime_tz(parsed)) - (time.time() if now is None else now)
    except (TypeError, ValueError, OverflowError):
        return None


_DURATION_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str | None) -> float | None:
    """Seconds in an OpenAI rate-limit reset value such as ``1s``, ``6m0s``, ``20ms`` or ``0.5``."""
    if not value:
        return None
    return _parse_duration(value)


@functools.lru_cache(maxsize=1024)
def _parse_duration(value: str) -> float | None:
    # Cached: the same few values ("6ms", "1s", "0s") arrive on almost every response.
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


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1").strip()


def _truthy(value: bytes) -> bool | None:
    lowered = value.strip().lower()
    if lowered == b"true":
        return True
    if lowered == b"false":
        return False
    return None


def _integer(value: bytes | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None
