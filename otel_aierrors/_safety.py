"""The rule that instrumentation never breaks the host application.

Every entry point from the SDK into this package runs its own work inside
`swallow`: whatever goes wrong in the instrumentation is logged once per place
and dropped, and the application's call proceeds as if nothing were installed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress

__all__ = ["logger", "report_internal_error", "swallow"]

logger = logging.getLogger("otel_aierrors")

_reported: set[str] = set()


def report_internal_error(where: str) -> None:
    """Log the exception being handled, once per ``where``, and never raise."""
    if where in _reported:
        return
    _reported.add(where)
    # A broken logging handler must not break the call either.
    with suppress(Exception):
        logger.warning(
            "otel-aierrors: internal error in %s; the call goes on, its telemetry may be incomplete",
            where,
            exc_info=True,
        )


@contextmanager
def swallow(where: str) -> Iterator[None]:
    """Run the block; report and drop any exception it raises."""
    try:
        yield
    except Exception:
        report_internal_error(where)
