"""The fault table: one row per fault name, and :func:`build_fault` to bind a step to its row.

Each :class:`~otel_aierrors.chaos.rows.Fault` row gives the name scripts and
profiles use, the default status, a one-line doc, the error body (for error
faults), the rate-limit budget sent by default, the fault's own parameters and
the shared parameter groups (:data:`GROUPS`) it takes. ``otel-aierrors chaos
--list-faults`` prints this table; the package docstring explains it in prose.
Every fault takes ``delay=<s>`` (latency before answering, at most 60 s).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from . import errors, jobs, replies
from .answer import ANSWER_PARAMS, MODELS
from .dialects import FieldError
from .errors import ECHO_TARGETS, ERROR_PARAMS, EXHAUSTED_BUDGET
from .exchange import ChaosRequest
from .headers import RATE_LIMIT_PARAMS, RETRY_PARAMS
from .jobs import JOB_PARAMS
from .replies import PARTIAL_PARAMS, STREAM_PARAMS
from .rows import BODY_PARAMS, BoundFault, ErrorBody, Fault
from .script import Param, Step

__all__ = ["FAULTS", "GROUPS", "build_fault", "describe", "parameters"]

#: Shared parameter groups, by the name rows refer to them.
GROUPS: Mapping[str, tuple[Param, ...]] = {
    "delay": (Param("delay", "0", "seconds to wait before answering (at most 60)"),),
    "answer": ANSWER_PARAMS,
    "stream": STREAM_PARAMS,
    "partial": PARTIAL_PARAMS,
    "error": ERROR_PARAMS,
    "retry": RETRY_PARAMS,
    "ratelimit": RATE_LIMIT_PARAMS,
    "body": BODY_PARAMS,
}
_OK = ("answer", "ratelimit", "stream", "body")
_ERROR = ("error", "retry", "ratelimit", "body")
_ERROR_STREAM = (*_ERROR, "stream")
_PARTIAL = (*_OK, "partial")
_SECONDS = Param("seconds", "5", "seconds of silence (at most 60)")


def _balance(bound: BoundFault, request: ChaosRequest) -> dict[str, object]:
    return {"balance_usd": 0.0}


def _closest_models(bound: BoundFault, request: ChaosRequest) -> dict[str, object]:
    close = difflib.get_close_matches(request.model, MODELS, n=2, cutoff=0.0) or ["gpt-4o-mini"]
    extras: dict[str, object] = {
        "did_you_mean": close[0],
        "suggestions": tuple(close),
        "hint": f"Did you mean '{close[0]}'? Use GET /v1/models to list all available models.",
    }
    if errors.dialect_of(bound, request) == "lemondata" and "param" not in bound.params:
        extras["param"] = "model"
    return extras


def _field_errors(bound: BoundFault, request: ChaosRequest) -> dict[str, object]:
    field = bound.params.text("param", "temperature")
    details: tuple[FieldError, ...] = ((field, f"{field} is invalid"), ("messages", "messages cannot be empty"))
    return {"details": details}


def _alternatives(bound: BoundFault, request: ChaosRequest) -> dict[str, object]:
    others = tuple(m for m in ("claude-sonnet-4-6", "gpt-5-mini", "gpt-4o-mini") if m != request.model)
    return {"alternatives": others[:2]}


def _error(name: str, status: int, doc: str, body: ErrorBody, **options: object) -> Fault:
    """A JSON error row (the common case)."""
    options.setdefault("answer", errors.json_error)
    options.setdefault("groups", _ERROR)
    return Fault(name, status, doc, body=body, **options)  # type: ignore[arg-type]


_INVALID = "invalid_request_error"
_QUOTA_MESSAGE = "You exceeded your current quota, please check your plan and billing details."
_QUOTA_HINT = "Check your plan and billing details."
_SERVER = ErrorBody("server_error", None, "The server had an error while processing your request. Sorry about that!")

_ROWS: tuple[Fault, ...] = (
    Fault("ok", 200, "the route's normal object, or a clean SSE stream", replies.ok, groups=_OK),
    Fault(
        "job",
        200,
        "a job's object (background response, video, batch) in the scripted status",
        jobs.job,
        params=JOB_PARAMS,
        groups=("answer",),
    ),
    _error(
        "rate_limit",
        429,
        "rate_limit_exceeded with an exhausted x-ratelimit budget",
        ErrorBody(
            "requests",
            "rate_limit_exceeded",
            "Rate limit reached for {model} in organization org-chaos on requests per min (RPM): "
            "Limit 60, Used 60, Requested 1. Please try again in 1s. "
            "Visit https://platform.openai.com/account/rate-limits to learn more.",
            hint="Rate limited. Retry after the delay in Retry-After. Current limit: 60/min.",
            retry_after=1.0,
        ),
        budget=EXHAUSTED_BUDGET,
    ),
    _error(
        "quota",
        429,
        "insufficient_quota: billing, not load; retrying does not help",
        ErrorBody(
            "insufficient_quota", "insufficient_quota", _QUOTA_MESSAGE, hint="Check your plan and billing details."
        ),
    ),
    _error(
        "quota_exceeded",
        429,
        "quota_exceeded, as gateways send it (status=403 as some do)",
        ErrorBody("insufficient_quota", "quota_exceeded", _QUOTA_MESSAGE, hint=_QUOTA_HINT),
    ),
    _error(
        "balance",
        402,
        "insufficient_balance: a prepaid account is empty (lemondata adds balance_usd)",
        ErrorBody(
            "insufficient_balance",
            "insufficient_balance",
            "Insufficient balance: your account balance is too low for this request. Please top up.",
            hint="Top up your balance, then retry.",
        ),
        extras=_balance,
    ),
    _error(
        "auth",
        401,
        "invalid_api_key; the message echoes the full key the client sent",
        ErrorBody(
            _INVALID,
            "invalid_api_key",
            "Incorrect API key provided: {key}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            hint="Check the API key; create a new one if it was revoked.",
        ),
    ),
    _error(
        "permission",
        403,
        "model_not_allowed (code=access_denied for the generic form)",
        ErrorBody(
            _INVALID, "model_not_allowed", "You don't have permission to access model `{model}` with this API key."
        ),
    ),
    _error(
        "not_found",
        404,
        "model_not_found; lemondata adds did_you_mean, suggestions and hint",
        ErrorBody(_INVALID, "model_not_found", "The model `{model}` does not exist or you do not have access to it."),
        extras=_closest_models,
    ),
    _error(
        "invalid_request",
        400,
        "invalid_value naming a param; holysheep lists field details",
        ErrorBody(_INVALID, "invalid_value", "Invalid request parameters", param="temperature"),
        extras=_field_errors,
    ),
    _error(
        "context_length",
        400,
        "context_length_exceeded, param messages",
        ErrorBody(
            _INVALID,
            "context_length_exceeded",
            "This model's maximum context length is 128000 tokens. However, your messages resulted in "
            "131072 tokens. Please reduce the length of the messages.",
            param="messages",
        ),
    ),
    _error(
        "payload_too_large",
        413,
        "payload_too_large",
        ErrorBody(_INVALID, "payload_too_large", "Input size exceeds maximum allowed"),
    ),
    _error(
        "content_filter",
        400,
        "content_policy_violation; soft=1 answers the 200 form (finish_reason content_filter)",
        ErrorBody(
            _INVALID,
            "content_policy_violation",
            "Your request was rejected as a result of our safety system. Your prompt may contain "
            "text that is not allowed by our safety system.",
        ),
        answer=replies.content_filter,
        params=(Param("soft", "0", "answer 200 with the filtered form instead", "flag"),),
        groups=_ERROR_STREAM,
    ),
    _error(
        "conflict",
        409,
        "conflict (the SDKs retry 409)",
        ErrorBody(
            "conflict_error", "conflict", "Another request for this resource is in progress. Please retry shortly."
        ),
    ),
    _error("server_error", 500, "server_error with a null code, as OpenAI sends", _SERVER),
    _error(
        "upstream",
        502,
        "upstream_error: the gateway's provider failed",
        ErrorBody(
            "upstream_error",
            "upstream_error",
            "The upstream provider returned an error.",
            hint="Retry, or switch to another model.",
        ),
    ),
    _error(
        "all_channels_failed",
        503,
        "lemondata's all_channels_failed, retryable, listing alternatives",
        ErrorBody(
            "all_channels_failed",
            "all_channels_failed",
            "Model {model} temporarily unavailable",
            hint="Retry in 30s or switch to an available model.",
            retry_after=30.0,
            dialect="lemondata",
        ),
        extras=_alternatives,
    ),
    _error(
        "overloaded",
        503,
        "server_overloaded; 529 overloaded_error on /v1/messages or with status=529",
        ErrorBody(
            "server_error",
            "server_overloaded",
            "That model is currently overloaded with other requests. You can retry your request, or "
            "contact us through our help center at help.openai.com if the error persists.",
            anthropic_status=529,
            anthropic_message="Overloaded",
        ),
    ),
    _error(
        "gateway_timeout",
        504,
        "timeout_error: the gateway gave up waiting for its provider",
        ErrorBody("timeout_error", "timeout_error", "Gateway timeout: the upstream provider did not respond in time."),
    ),
    _error("html", 502, "an nginx HTML error page (text/html)", _SERVER, answer=errors.html_page),
    _error("empty", 500, "no body at all (content-length 0, no content type)", _SERVER, answer=errors.empty_body),
    _error(
        "broken_json",
        500,
        'a complete HTTP body holding cut JSON: {"error": {"mess',
        _SERVER,
        answer=errors.broken_json,
    ),
    _error(
        "huge",
        500,
        "valid JSON of size bytes, nearly all message",
        _SERVER,
        answer=errors.huge_body,
        params=(Param("size", "2097152", "body size in bytes (at most 64 MiB)", "integer"),),
    ),
    _error(
        "echo",
        400,
        "an error whose message echoes the request's credentials, query string and prompt",
        ErrorBody(_INVALID, "invalid_value", ""),
        answer=errors.echo_error,
        params=(Param("what", "all", "what the message repeats", "choice", ECHO_TARGETS),),
    ),
    Fault("hang", None, "no response: silence for seconds, then close", replies.hang, params=(_SECONDS,)),
    Fault(
        "disconnect",
        None,
        "no response: close the connection at once",
        replies.disconnect,
        params=(Param("reset", "0", "send a TCP reset instead of a FIN", "flag"),),
    ),
    Fault(
        "stream_error",
        200,
        "after events, an error event (a 500 when not streamed)",
        replies.stream_error,
        params=(
            *(p for p in ERROR_PARAMS if p.name in ("message", "type", "code", "param", "dialect")),
            Param("named", "1", "send the event: error line", "flag"),
            Param("event", "both", "Responses API failure events", "choice", frozenset({"error", "failed", "both"})),
        ),
        groups=(*_PARTIAL, "retry"),
    ),
    Fault(
        "stream_cut",
        200,
        "after events, the socket closes mid-body (half a body when not streamed)",
        replies.stream_cut,
        groups=_PARTIAL,
    ),
    Fault(
        "stream_stall",
        200,
        "after events, silence for seconds, then a cut (a hang when not streamed)",
        replies.stream_stall,
        params=(_SECONDS,),
        groups=_PARTIAL,
    ),
    Fault(
        "silent_cut",
        200,
        "after events, a clean end with no terminal marker (half a body when not streamed)",
        replies.silent_cut,
        params=(Param("framing", "close", "how the body ends", "choice", frozenset({"close", "chunked"})),),
        groups=_PARTIAL,
    ),
)

#: Fault name to row.
FAULTS: Mapping[str, Fault] = {row.name: row for row in _ROWS}


def parameters(row: Fault) -> dict[str, Param]:
    """Every parameter ``row`` takes, its own and its groups' (``delay`` included), by name."""
    found: dict[str, Param] = {}
    for group in ("delay", *row.groups):
        found.update((param.name, param) for param in GROUPS[group])
    found.update((param.name, param) for param in row.params)
    return found


def build_fault(step: Step) -> BoundFault:
    """Bind the fault a step names to the step's parameters, checking them.

    Args:
        step: A parsed script or profile step.

    Returns:
        The fault, ready to be called with a request.

    Raises:
        ValueError: For an unknown fault, an unknown parameter or a bad value.
    """
    try:
        row = FAULTS[step.name]
    except KeyError:
        raise ValueError(f"unknown chaos fault {step.name!r}; known: {', '.join(sorted(FAULTS))}") from None
    known = parameters(row)
    unknown = sorted({key for key, _ in step.params} - set(known))
    if unknown:
        raise ValueError(f"fault {step.name!r} does not take {', '.join(map(repr, unknown))}")
    params = step.param_map()
    for key, raw in params.items():
        known[key].check(raw)
    return BoundFault(row, params)


def describe() -> list[str]:
    """The table as text, one fault per paragraph, then the shared parameter groups.

    What ``otel-aierrors chaos --list-faults`` prints.
    """
    lines: list[str] = []
    for row in _ROWS:
        status = str(row.status) if row.status is not None else "-"
        lines.append(f"{row.name:20} {status:>3}  {row.doc}")
        lines.extend(f"    {param.describe()}" for param in row.params)
        lines.append(f"    + {', '.join(('delay', *row.groups))} parameters")
    lines.append("")
    lines.append("Parameter groups:")
    for group, params in GROUPS.items():
        lines.append(f"  {group}:")
        lines.extend(f"    {param.describe()}" for param in params)
    return lines
