"""Response headers the way OpenAI-compatible and Anthropic servers send them.

Three families matter to clients and to the instrumentation that watches them:

* a request id on every response, success or error: ``x-request-id``
  (``req_<32 hex>``), or ``request-id`` on Anthropic's ``/v1/messages``;
* the rate-limit budget: OpenAI's ``x-ratelimit-{limit,remaining,reset}-
  {requests,tokens}``, whose reset values use Go duration strings (``20ms``,
  ``1s``, ``6m0s``, ``1h2m3s``, see :func:`format_reset`), and Anthropic's
  ``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-
  {limit,remaining,reset}``, whose resets are RFC 3339 times;
* the retry directives ``retry-after`` (seconds or an HTTP-date),
  ``retry-after-ms`` and ``x-should-retry``, which the generated SDKs obey.

Faults choose values through their step parameters (:data:`RETRY_PARAMS`,
:data:`RATE_LIMIT_PARAMS`); this module only formats. A value given as a
parameter is sent verbatim unless it is a finite, non-negative reset delay in
seconds, so hostile values (``18446744073709551615``, ``nan``, ``inf``,
``-5``) reach the client as written; ``huge_headers=N`` (``unique=1`` for a
random value per response) replaces every budget value with N characters.
"""

from __future__ import annotations

import email.utils
import math
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .exchange import Header
from .script import Param, Params

__all__ = [
    "RATE_LIMIT_PARAMS",
    "RETRY_PARAMS",
    "RateLimitBudget",
    "format_reset",
    "format_rfc3339",
    "new_request_id",
    "rate_limit_headers",
    "retry_headers",
]

#: Step parameters read by :func:`retry_headers`.
RETRY_PARAMS: tuple[Param, ...] = (
    Param("retry_after", "", "retry-after header, sent verbatim (seconds, or anything)", "text"),
    Param("retry_after_ms", "", "retry-after-ms header, sent verbatim", "text"),
    Param("retry_after_date", "", "retry-after as an HTTP-date this many seconds ahead"),
    Param("should_retry", "", "x-should-retry: true or false", "flag"),
)
#: The budget kinds: OpenAI sends the first two, Anthropic all four.
_KINDS = ("requests", "tokens", "input_tokens", "output_tokens")
#: Step parameters read by :func:`rate_limit_headers`.
RATE_LIMIT_PARAMS: tuple[Param, ...] = (
    Param("ratelimit", "", "send (1) or omit (0) the rate-limit headers", "flag"),
    *(
        Param(f"{field}_{kind}", "", f"{field} of the {kind.replace('_', ' ')} budget, verbatim", "text")
        for kind in _KINDS
        for field in ("limit", "remaining")
    ),
    *(
        Param(f"reset_{kind}", "", f"reset of the {kind.replace('_', ' ')} budget: seconds, or verbatim", "text")
        for kind in _KINDS
    ),
    Param("huge_headers", "0", "make every rate-limit value this many characters long", "integer"),
    Param("unique", "0", "with huge_headers: a random value per response", "flag"),
)
_MAX_HEADER = 16 * 1024 * 1024


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
    """Default rate-limit values for one kind of response (resets in seconds)."""

    limit_requests: int = 10000
    remaining_requests: int = 9999
    reset_requests: float = 0.006
    limit_tokens: int = 2000000
    remaining_tokens: int = 1999980
    reset_tokens: float = 0.0
    limit_input_tokens: int = 2000000
    remaining_input_tokens: int = 1999990
    reset_input_tokens: float = 0.0
    limit_output_tokens: int = 400000
    remaining_output_tokens: int = 399990
    reset_output_tokens: float = 0.0


def format_rfc3339(moment: datetime) -> str:
    """Format a UTC time as Anthropic does in ``anthropic-ratelimit-*-reset`` (``2025-01-02T03:04:05Z``)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(raw: str) -> float | None:
    """``raw`` as a finite, non-negative number of seconds, else None (sent verbatim)."""
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def rate_limit_headers(
    params: Params,
    budget: RateLimitBudget,
    *,
    default_on: bool,
    anthropic: bool = False,
    now: Callable[[], datetime] | None = None,
) -> list[Header]:
    """Return the rate-limit headers for a response.

    Args:
        params: Step parameters (see :data:`RATE_LIMIT_PARAMS`): ``ratelimit=0|1``
            forces them off or on; ``limit_*``, ``remaining_*`` and ``reset_*``
            override single values.
        budget: Values used where no parameter is given.
        default_on: Whether the headers are sent when ``ratelimit`` is absent.
        anthropic: Send Anthropic's ``anthropic-ratelimit-*`` family (resets as
            RFC 3339 times) instead of OpenAI's ``x-ratelimit-*``.
        now: Clock for the RFC 3339 resets, injectable for tests.

    Returns:
        The headers, possibly none.
    """
    if not params.flag("ratelimit", default_on):
        return []
    clock = now or (lambda: datetime.now(timezone.utc))
    size = params.integer("huge_headers", 0, hi=_MAX_HEADER)
    fill = (secrets.token_hex(size // 2 + 1)[:size] if params.flag("unique") else "9" * size) if size else ""

    def reset(kind: str) -> str:
        raw = params.opt_text(f"reset_{kind}")
        seconds = getattr(budget, f"reset_{kind}") if raw is None else _seconds(raw)
        if seconds is None:
            return str(raw)
        return format_rfc3339(clock() + timedelta(seconds=seconds)) if anthropic else format_reset(seconds)

    def value(field: str, kind: str) -> str:
        if fill:
            return fill
        if field == "reset":
            return reset(kind)
        return params.text(f"{field}_{kind}", str(getattr(budget, f"{field}_{kind}")))

    if anthropic:
        return [
            (f"anthropic-ratelimit-{kind.replace('_', '-')}-{field}", value(field, kind))
            for kind in _KINDS
            for field in ("limit", "remaining", "reset")
        ]
    return [
        (f"x-ratelimit-{field}-{kind}", value(field, kind))
        for field in ("limit", "remaining", "reset")
        for kind in _KINDS[:2]
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
