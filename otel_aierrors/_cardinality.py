"""Bound the free-form values that become metric attributes.

Error classes, outcomes and finish reasons come from closed sets, but model
names, operation names and server addresses come from the caller or from the
server (the model a gateway says served the call). Each such attribute gets
its own `ValueLimiter`: the first ``limit`` distinct values pass, later new
ones are reported as ``_other`` so one misbehaving caller or gateway cannot
create unbounded series, nor use up another attribute's budget. Values longer
than ``max_length`` are never admitted. `PortLimiter` does the same for
``server.port``, which is dropped rather than replaced (it is an int). Spans
keep the real values.
"""

from __future__ import annotations

from typing import Final

from otel_aierrors._names import OVERFLOW_VALUE

__all__ = ["DEFAULT_LIMIT", "DEFAULT_MAX_LENGTH", "PORT_LIMIT", "PortLimiter", "ValueLimiter"]

DEFAULT_LIMIT: Final = 100
#: Longest value admitted as a metric attribute; longer ones are ``_other``.
DEFAULT_MAX_LENGTH: Final = 96
#: Distinct (server address, port) pairs that keep their port on metrics.
PORT_LIMIT: Final = 100


class ValueLimiter:
    """Admits at most ``limit`` distinct values of at most ``max_length`` characters; the rest map to ``_other``."""

    __slots__ = ("_limit", "_max_length", "_seen")

    def __init__(self, limit: int = DEFAULT_LIMIT, max_length: int = DEFAULT_MAX_LENGTH) -> None:
        self._limit = limit
        self._max_length = max_length
        #: Values already admitted. Adding to a set is atomic under the GIL, and
        #: a race can only admit a value or two beyond the limit.
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if len(self._seen) >= self._limit or len(value) > self._max_length:
            return OVERFLOW_VALUE
        self._seen.add(value)
        return value


class PortLimiter:
    """Admits ``server.port`` for at most ``limit`` distinct (address, port) pairs.

    The port of a pair beyond the budget, or of an address already reported as
    ``_other``, is dropped (None): the conventions require ``server.port`` only
    with a ``server.address``, and ``_other`` is no address.
    """

    __slots__ = ("_limit", "_seen")

    def __init__(self, limit: int = PORT_LIMIT) -> None:
        self._limit = limit
        self._seen: set[tuple[str, int]] = set()

    def __call__(self, limited_address: str, port: int | None) -> int | None:
        """The port to put on metrics next to ``limited_address`` (the address after its limiter)."""
        if port is None or limited_address == OVERFLOW_VALUE or not 0 < port < 65536:
            return None
        key = (limited_address, port)
        if key in self._seen:
            return port
        if len(self._seen) >= self._limit:
            return None
        self._seen.add(key)
        return port
