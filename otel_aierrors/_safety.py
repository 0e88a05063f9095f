"""The rule that instrumentation never breaks the host application.

Every entry point from the SDK into this package runs its own work inside
`swallow`: whatever goes wrong in the instrumentation is logged once per
distinct error (place, exception type and message) and dropped, and the
application's call proceeds as if nothing were installed.
"""

from __future__ import annotations

import logging
import sys
import traceback
from contextlib import suppress
from types import TracebackType
from typing import Final

__all__ = ["MAX_INTERNAL_ERROR_LENGTH", "logger", "report_internal_error", "swallow"]

logger = logging.getLogger("otel_aierrors")

#: Distinct errors logged so far; past `MAX_REPORTED` nothing more is logged.
_reported: set[tuple[str, str, str]] = set()
MAX_REPORTED: Final = 256
#: Longest ``aierrors.internal_error`` value (an exception's class name).
MAX_INTERNAL_ERROR_LENGTH: Final = 64


def report_internal_error(where: str) -> str:
    """Log the exception being handled, once per distinct error, and never raise.

    Returns:
        The exception's class name, cut to `MAX_INTERNAL_ERROR_LENGTH`: the value of
        ``aierrors.internal_error`` on the span whose end path it broke.
    """
    error = sys.exc_info()[1]
    name = type(error).__qualname__
    try:
        text = str(error)[:200]
    except Exception:  # an exception whose ``__str__`` raises
        text = ""
    key = (where, name, text)
    if key in _reported or len(_reported) >= MAX_REPORTED:
        return name[:MAX_INTERNAL_ERROR_LENGTH]
    _reported.add(key)
    # Imported here: `_safety` is imported by ``instrument()``, `_redaction` only needed to report (issue 28).
    from otel_aierrors._redaction import redact

    # A broken logging handler must not break the call either.
    with suppress(Exception):
        # The frames, and the message redacted: an exception's text may quote a key or a header value.
        frames = "".join(traceback.format_tb(error.__traceback__)) if error is not None else ""
        logger.warning(
            "otel-aierrors: internal error in %s (%s: %s); the call goes on, its telemetry may be incomplete\n%s",
            where,
            type(error).__qualname__,
            redact(str(error)),
            frames,
        )
    return name[:MAX_INTERNAL_ERROR_LENGTH]


class swallow:
    """Run the block; report and drop any exception it raises.

    A class rather than ``@contextmanager``: it runs on the hot path of every
    call (gateway-hop checks), where a generator-based manager costs several
    times more.
    """

    __slots__ = ("_where",)

    def __init__(self, where: str) -> None:
        self._where = where

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> bool:
        if exc_type is not None and issubclass(exc_type, Exception):
            report_internal_error(self._where)
            return True
        return False
