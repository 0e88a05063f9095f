"""Error answers: an error row and a step's parameters in, an HTTP error out.

The row's :class:`~otel_aierrors.chaos.rows.ErrorBody` gives the defaults,
:data:`ERROR_PARAMS` the overrides; the body is rendered in the step's dialect
(Anthropic's on ``/v1/messages``), with the retry directives and rate-limit
headers the step asks for. Beside the plain JSON error, the malformed bodies
(an HTML page, nothing, broken JSON, a huge JSON) and the hostile echo (a
message that repeats the credentials and the prompt the request carried) are
built here.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Mapping
from urllib.parse import unquote

from .dialects import DIALECTS, ErrorSpec, render_error
from .exchange import ChaosRequest, Endpoint, Header, Outcome, Reply, json_bytes
from .headers import RateLimitBudget, rate_limit_headers, retry_headers
from .rows import BoundFault, ErrorBody
from .script import Param, Params

__all__ = [
    "ECHO_TARGETS",
    "ERROR_PARAMS",
    "EXHAUSTED_BUDGET",
    "HEALTHY_BUDGET",
    "broken_json",
    "dialect_of",
    "echo_error",
    "echo_message",
    "empty_body",
    "error_headers",
    "error_spec",
    "html_page",
    "huge_body",
    "json_error",
    "nullable",
    "status_of",
]

#: Step parameters every error fault takes.
ERROR_PARAMS: tuple[Param, ...] = (
    Param("status", "", "HTTP status instead of the fault's", "integer"),
    Param("dialect", "openai", "error-body shape", "choice", frozenset(DIALECTS)),
    Param("message", "", "error message", "text"),
    Param("type", "", "error type (null for JSON null)", "text"),
    Param("code", "", "error code (null for JSON null)", "text"),
    Param("param", "", "error param (null for JSON null)", "text"),
    Param("hint", "", "lemondata hint", "text"),
    Param("did_you_mean", "", "lemondata did_you_mean", "text"),
    Param("alternatives", "", "lemondata alternatives, models separated by |", "text"),
    Param("balance_usd", "", "lemondata balance_usd"),
    Param("retryable", "", "lemondata retryable (default: by status and code)", "flag"),
)
#: What ``echo`` repeats from the request.
ECHO_TARGETS = frozenset({"all", "key", "authorization", "x-api-key", "api-key", "query", "userinfo", "prompt"})
#: Budget shown on successful answers: plenty left.
HEALTHY_BUDGET = RateLimitBudget()
#: Budget shown on a 429: no requests left for a second.
EXHAUSTED_BUDGET = RateLimitBudget(
    limit_requests=60,
    remaining_requests=0,
    reset_requests=1.0,
    limit_tokens=150000,
    remaining_tokens=148500,
    reset_tokens=0.6,
)
_QUOTA_CODES = frozenset({"insufficient_quota", "quota_exceeded", "insufficient_balance"})
_SERVER_ERROR = ErrorBody(
    "server_error", None, "The server had an error while processing your request. Sorry about that!"
)


def nullable(value: str | None) -> str | None:
    """``None`` for an absent value or the literal ``null``."""
    return None if value is None or value == "null" else value


def _body(bound: BoundFault) -> ErrorBody:
    return bound.row.body or _SERVER_ERROR


def _anthropic_default(bound: BoundFault, request: ChaosRequest) -> bool:
    native = _body(bound).anthropic_status
    asked = native is not None and bound.params.text("status", "") == str(native)
    return request.endpoint is Endpoint.MESSAGES or asked


def dialect_of(bound: BoundFault, request: ChaosRequest, default: str | None = None) -> str:
    """The step's dialect, else Anthropic's where it applies, else ``default`` or the row's."""
    fallback = "anthropic" if _anthropic_default(bound, request) else default or _body(bound).dialect
    return bound.params.choice("dialect", fallback, frozenset(DIALECTS))


def status_of(bound: BoundFault, request: ChaosRequest) -> int:
    """The step's status, else the row's (Anthropic's own on ``/v1/messages``)."""
    native = _body(bound).anthropic_status
    default = bound.row.status or 500
    if native is not None and request.endpoint is Endpoint.MESSAGES:
        default = native
    return bound.params.integer("status", default, lo=100, hi=599)


def _retry_after_seconds(params: Params, default: float | None) -> float | None:
    for key, scale in (("retry_after_ms", 0.001), ("retry_after", 1.0), ("retry_after_date", 1.0)):
        raw = params.opt_text(key)
        if raw is None:
            continue
        try:
            return float(raw) * scale
        except ValueError:
            continue
    return default


def _default_retryable(status: int, code: str | None) -> bool:
    if status == 429:
        return code not in _QUOTA_CODES
    return status >= 500 or status in (408, 409)


def error_spec(bound: BoundFault, request: ChaosRequest, *, message: str | None = None) -> ErrorSpec:
    """Describe the error in OpenAI's terms, with the step's overrides applied.

    Args:
        bound: The error fault and its parameters.
        request: The request being answered.
        message: Message to use instead of the row's (the step's ``message`` still wins).
    """
    params, body = bound.params, _body(bound)
    status = status_of(bound, request)
    code = nullable(params.text("code", body.code or "null"))
    text = params.opt_text("message")
    if text is None:
        native = body.anthropic_message if dialect_of(bound, request) == "anthropic" else None
        text = message or native or body.message.format(model=request.model, key=request.api_key or "")
    spec = ErrorSpec(
        status=status,
        message=text,
        type=nullable(params.text("type", body.type or "null")),
        code=code,
        param=nullable(params.text("param", body.param or "null")),
        retryable=params.flag("retryable", _default_retryable(status, code)),
        retry_after=_retry_after_seconds(params, body.retry_after),
        hint=body.hint,
    )
    if bound.row.extras is not None:
        spec = dataclasses.replace(spec, **bound.row.extras(bound, request))  # type: ignore[arg-type]
    overrides: dict[str, object] = {}
    for key in ("hint", "did_you_mean"):
        if key in params:
            overrides[key] = params.text(key, "")
    if "alternatives" in params:
        overrides["alternatives"] = tuple(m for m in params.text("alternatives", "").split("|") if m)
    if "balance_usd" in params:
        overrides["balance_usd"] = params.number("balance_usd", 0.0, lo=float("-inf"))
    return dataclasses.replace(spec, **overrides)  # type: ignore[arg-type]


def error_headers(bound: BoundFault, request: ChaosRequest) -> tuple[Header, ...]:
    """Retry directives and, where the row or the step asks, rate-limit headers."""
    budget = bound.row.budget
    limits = rate_limit_headers(
        bound.params,
        budget or HEALTHY_BUDGET,
        default_on=budget is not None,
        anthropic=request.endpoint is Endpoint.MESSAGES,
    )
    return tuple(retry_headers(bound.params) + limits)


def json_error(bound: BoundFault, request: ChaosRequest, *, message: str | None = None) -> Outcome:
    """The error as a JSON body in the step's dialect (``message`` instead of the row's)."""
    body = render_error(error_spec(bound, request, message=message), dialect_of(bound, request))
    return Reply(status_of(bound, request), json_bytes(body), headers=error_headers(bound, request))


def html_page(bound: BoundFault, request: ChaosRequest) -> Outcome:
    """An nginx HTML error page, as a proxy in front of the API sends."""
    status = status_of(bound, request)
    title = f"{status} Bad Gateway" if status == 502 else f"{status} Error"
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    return Reply(status, page.encode(), "text/html; charset=utf-8", error_headers(bound, request))


def empty_body(bound: BoundFault, request: ChaosRequest) -> Outcome:
    """No body at all: no content type, ``content-length: 0``."""
    return Reply(status_of(bound, request), b"", None, error_headers(bound, request))


def broken_json(bound: BoundFault, request: ChaosRequest) -> Outcome:
    """A complete HTTP body holding JSON that stops mid-key."""
    return Reply(status_of(bound, request), b'{"error": {"mess', headers=error_headers(bound, request))


def huge_body(bound: BoundFault, request: ChaosRequest) -> Outcome:
    """Valid JSON of ``size`` bytes, nearly all of it the message."""
    size = bound.params.integer("size", 2 * 1024 * 1024, lo=128, hi=64 * 1024 * 1024)
    dialect = dialect_of(bound, request)
    spec = dataclasses.replace(error_spec(bound, request), message="")
    shell = json_bytes(render_error(spec, dialect))
    filler = ("The server had an error. " * (size // 24 + 1))[: max(size - len(shell), 0)]
    body = json_bytes(render_error(dataclasses.replace(spec, message=filler), dialect))
    return Reply(status_of(bound, request), body, headers=error_headers(bound, request))


def _prompt(request: ChaosRequest) -> tuple[str, str]:
    """The field holding the prompt and its text, as providers quote it."""
    body: Mapping[str, object] = request.body
    messages = body.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[0], Mapping):
        content = messages[0].get("content")
        if isinstance(content, list):
            parts = [part.get("text") for part in content if isinstance(part, Mapping)]
            content = " ".join(part for part in parts if isinstance(part, str))
        return "messages[0].content", str(content)
    for field in ("input", "prompt"):
        if field in body:
            value = body[field]
            return field, value if isinstance(value, str) else str(value)
    return "messages[0].content", ""


def _userinfo(request: ChaosRequest) -> str | None:
    """``user:password`` of a Basic credential (what URL userinfo becomes on the wire)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        return base64.b64decode(token.strip(), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return token


def _echoes(request: ChaosRequest) -> dict[str, str | None]:
    field, prompt = _prompt(request)
    return {
        "key": f"Incorrect API key provided: {request.api_key}." if request.api_key else None,
        "authorization": request.headers.get("authorization"),
        "x-api-key": request.headers.get("x-api-key"),
        "api-key": request.headers.get("api-key"),
        "query": f"Invalid query: {unquote(request.query)}" if request.query else None,
        "userinfo": _userinfo(request),
        "prompt": f"Invalid '{field}': '{prompt}'",
    }


def echo_message(bound: BoundFault, request: ChaosRequest) -> str:
    """The message repeating what ``what`` names (``all``: everything the request carried)."""
    what = bound.params.choice("what", "all", ECHO_TARGETS)
    echoes = _echoes(request)
    if what != "all":
        return echoes[what] or f"(the request carried no {what})"
    labels = {"authorization": "Authorization: ", "x-api-key": "x-api-key: ", "api-key": "api-key: "}
    labels["userinfo"] = "Basic credential for "
    parts = [labels.get(name, "") + value for name, value in echoes.items() if value is not None]
    return " | ".join(parts)


def echo_error(bound: BoundFault, request: ChaosRequest) -> Outcome:
    """A JSON error whose message echoes credentials, query string and prompt of the request."""
    return json_error(bound, request, message=echo_message(bound, request))
