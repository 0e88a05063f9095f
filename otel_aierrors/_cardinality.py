"""Bound the free-form values that become metric attributes.

Error classes, outcomes and finish reasons come from closed sets, but model
names, operation names and server addresses come from the caller. Each such
attribute gets a `ValueLimiter`: the first ``limit`` distinct values pass,
later new ones are reported as ``_other`` so one misbehaving caller cannot
create unbounded series. Spans keep the real value.
"""

from __future__ import annotations

from typing import Final

from otel_aierrors._names import OVERFLOW_VALUE

__all__ = ["DEFAULT_LIMIT", "ValueLimiter"]

DEFAULT_LIMIT: Final = 100
_MAX_VALUE_LENGTH: Final = 96


class ValueLimiter:
    """Admits at most ``limit`` distinct values; the rest map to ``_other``."""

    __slots__ = ("_limit", "_seen")

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._limit = limit
        #: Values already admitted. Adding to a set is atomic under the GIL, and
        #: a race can only admit a value or two beyond the limit.
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if len(self._seen) >= self._limit or len(value) > _MAX_VALUE_LENGTH:
            return OVERFLOW_VALUE
        self._seen.add(value)
        return value
