"""Response headers the way OpenAI-compatible servers send them.

Three families matter to clients and to the instrumentation that watches them:

* ``x-request-id`` (``req_<32 hex>``) on every response, success or error;
* the ``x-ratelimit-*`` budget headers, whose reset values use Go duration
  strings (``20ms``, ``1s``, ``6m0s``, ``1h2m3s``), see :func:`format_reset`;
* the retry directives ``retry-after`` (seconds or an HTTP-date),
  ``retry-after-ms`` and ``x-should-retry``, which the openai SDK obeys.

Faults choose values through their step parameters; this module only formats.
"""

from __future__ import annotations

import email.utils
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .exchange import Header
from .script import Params

__all__ = [
    "RATE_LIMIT_PARAMS",
    "RETRY_PARAMS",
    "RateLimitBudget",
    "format_reset",
    "new_request_id",
    "rate_limit_headers",
    "retry_headers",
]

#: Step parameters read by :func:`retry_headers`.
RETRY_PARAMS = frozenset({"retry_after", "retry_after_ms", "retry_after_date", "should_retry"})
#: Step parameters read by :func:`rate_limit_headers`.
RATE_LIMIT_PARAMS = frozenset(
    {
        "ratelimit",
        "limit_requests",
        "remaining_requests",
        "reset_requests",
        "limit_tokens",
        "remaining_tokens",
        "reset_tokens",
    }
)


def new_request_id() -> str:
    """Return a fresh request id in OpenAI's ``req_<hex>`` form."""
    return f"req_{uuid.uuid4().hex}"


def format_reset(seconds: float) -> str:
    """Format a reset delay as OpenAI does in ``x-ratelimit-reset-*``.

    Args:
        seconds: Delay until the budget refills.

    Returns:
        ``"20ms"`` below one second, ``"1s"`` / ``"1.5s"`` below a minute,
        then ``"6m0s"`` and ``"1h2m3s"`` (Go's ``time.Duration`` syntax).
    """
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    whole_minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(whole_minutes), 60)
    sec_text = f"{secs:.3f}".rstrip("0").rstrip(".")
    if hours:
        return f"{hours}h{minutes}m{sec_text}s"
    if minutes:
        return f"{minutes}m{sec_text}s"
    return f"{sec_text}s"


@dataclass(frozen=True)
class RateLimitBudget:
    """Default ``x-ratelimit-*`` values for one kind of response."""

    limit_requests: int = 10000
    remaining_requests: int = 9999
    reset_requests: float = 0.006
    limit_tokens: int = 2000000
    remaining_tokens: int = 1999980
    reset_tokens: float = 0.0


def _reset_value(params: Params, key: str, default: float) -> str:
    raw = params.opt_text(key)
    if raw is None:
        return format_reset(default)
    try:
        return format_reset(max(float(raw), 0.0))
    except ValueError:
        return raw  # already a duration string such as "6m0s"


def rate_limit_headers(params: Params, budget: RateLimitBudget, *, default_on: bool) -> list[Header]:
    """Return the ``x-ratelimit-*`` headers for a response.

    Args:
        params: Step parameters; ``ratelimit=0|1`` forces them off or on, and
            ``limit_requests``, ``remaining_requests``, ``reset_requests``,
            ``limit_tokens``, ``remaining_tokens``, ``reset_tokens`` override
            single values (resets in seconds or as duration strings).
        budget: Values used where no parameter is given.
        default_on: Whether the headers are sent when ``ratelimit`` is absent.

    Returns:
        The headers, possibly none.
    """
    if not params.flag("ratelimit", default_on):
        return []
    return [
        ("x-ratelimit-limit-requests", str(params.integer("limit_requests", budget.limit_requests))),
        ("x-ratelimit-limit-tokens", str(params.integer("limit_tokens", budget.limit_tokens))),
        (
            "x-ratelimit-remaining-requests",
            str(params.integer("remaining_requests", budget.remaining_requests)),
        ),
        ("x-ratelimit-remaining-tokens", str(params.integer("remaining_tokens", budget.remaining_tokens))),
        ("x-ratelimit-reset-requests", _reset_value(params, "reset_requests", budget.reset_requests)),
        ("x-ratelimit-reset-tokens", _reset_value(params, "reset_tokens", budget.reset_tokens)),
    ]


def retry_headers(params: Params, *, now: Callable[[], datetime] | None = None) -> list[Header]:
    """Return the retry directives a step asks for.

    Args:
        params: Step parameters: ``retry_after`` (sent verbatim as
            ``retry-after``), ``retry_after_ms`` (``retry-after-ms``),
            ``retry_after_date`` (seconds ahead, sent as an HTTP-date in
            ``retry-after``) and ``should_retry`` (``x-should-retry``).
        now: Clock for the HTTP-date, injectable for tests.

    Returns:
        The headers, possibly none.
    """
    headers: list[Header] = []
    retry_after = params.opt_text("retry_after")
    if retry_after is not None:
        headers.append(("retry-after", retry_after))
    retry_after_ms = params.opt_text("retry_after_ms")
    if retry_after_ms is not None:
        headers.append(("retry-after-ms", retry_after_ms))
    ahead = params.opt_number("retry_after_date")
    if ahead is not None:
        clock = now or (lambda: datetime.now(timezone.utc))
        when = clock() + timedelta(seconds=ahead)
        headers.append(("retry-after", email.utils.format_datetime(when, usegmt=True)))
    if "should_retry" in params:
        headers.append(("x-should-retry", "true" if params.flag("should_retry") else "false"))
    return headers
