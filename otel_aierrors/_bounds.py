"""The ranges every value from the wire must fall in before it becomes telemetry.

Headers and error bodies come from servers and gateways outside the user's
control. A number that an exporter cannot encode (``18446744073709551615`` in an
int gauge makes the OTLP encoder drop the whole batch), a ``nan`` or a negative
delay, or a string of a megabyte must not reach a span or a metric. The
parsers (`otel_aierrors._headers`, `otel_aierrors._taxonomy`) pass every value
through the checks here; `docs/telemetry.md` ("Safe by default") states the
same ranges.

A value out of range is clamped when the clamped value still says the same
thing (an "unlimited" budget of ``2**64 - 1`` becomes ``2**63 - 1``) and
dropped otherwise (``nan``, a negative budget). Each kind of violation is
logged once at DEBUG level, with the field name only, never the value, and
counted in `out_of_range_counts`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from contextlib import suppress
from typing import Final, TypeVar

from otel_aierrors._safety import logger

__all__ = [
    "INT64_MAX",
    "MAX_NUMBER_TEXT",
    "MAX_SECONDS",
    "bounded_text",
    "non_negative_int",
    "non_negative_seconds",
    "out_of_range_counts",
    "report_out_of_range",
]

#: Largest int an OTLP ``as_int`` (sfixed64) or a span attribute can carry.
INT64_MAX: Final = 2**63 - 1
#: Longest delay exported, in seconds (one year). Longer delays are clamped:
#: nobody waits longer, and the value still says "a very long time".
MAX_SECONDS: Final = 366 * 24 * 3600.0
#: Longest header value read as a number, duration or date; longer ones are
#: dropped unparsed (an HTTP-date has 29 characters, ``1h2m3.456s`` 10).
MAX_NUMBER_TEXT: Final = 64

#: How often each (field, violation) was seen. Keys come from a closed set
#: (our field names times a handful of reasons), so this stays small.
_counts: dict[tuple[str, str], int] = {}


def report_out_of_range(field: str, reason: str) -> None:
    """Count one out-of-range value of ``field``; log the first one of each kind at DEBUG."""
    key = (field, reason)
    seen = _counts.get(key, 0)
    _counts[key] = seen + 1
    if seen == 0:
        with suppress(Exception):  # a broken logging handler must not break the call
            logger.debug("otel-aierrors: %s from the server was %s (logged once per kind)", field, reason)


def out_of_range_counts() -> Mapping[tuple[str, str], int]:
    """A snapshot of the out-of-range values seen so far, by (field, reason)."""
    return dict(_counts)


def non_negative_int(value: int, field: str) -> int | None:
    """``value`` if within ``[0, INT64_MAX]``; clamped above, dropped when negative."""
    if 0 <= value <= INT64_MAX:  # the usual case, without a call
        return value
    return _within(value, INT64_MAX, field, "above int64, clamped")


def non_negative_seconds(value: float, field: str) -> float | None:
    """``value`` if finite and within ``[0, MAX_SECONDS]``; clamped above, dropped otherwise."""
    if 0.0 <= value <= MAX_SECONDS:  # the usual case; nan fails both comparisons
        return value
    if not math.isfinite(value):
        report_out_of_range(field, "not finite, dropped")
        return None
    return _within(value, MAX_SECONDS, field, "above a year, clamped")


_Number = TypeVar("_Number", int, float)


def _within(value: _Number, upper: _Number, field: str, above: str) -> _Number | None:
    if value < 0:
        report_out_of_range(field, "negative, dropped")
        return None
    if value > upper:
        report_out_of_range(field, above)
        return upper
    return value


def bounded_text(value: str | None, limit: int) -> str | None:
    """``value`` cut to at most ``limit`` characters (the last one ``…`` when cut)."""
    if value is None or len(value) <= limit:
        return value
    return value[: limit - 1] + "…"
