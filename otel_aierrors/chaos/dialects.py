"""Error-body dialects: one error, rendered the way each provider or gateway writes it.

Faults describe an error once, in OpenAI's vocabulary, as an :class:`ErrorSpec`;
a dialect turns it into the JSON body a given service would send. The
instrumentation must classify all of them, so the shapes follow the source
documents closely:

``openai`` (default)
    ``{"error": {"message", "type", "param", "code"}}``; ``param`` and ``code``
    may be null.
``lemondata`` (agent-first gateway)
    ``message``, ``type``, ``code``, ``param`` always, plus ``retryable`` and,
    when known, ``retry_after``, ``hint``, ``did_you_mean``, ``suggestions``
    (``[{"id"}]``), ``alternatives`` (``[{"id", "status": "available",
    "tags": []}]``) and ``balance_usd``. Types are the gateway's own
    (``invalid_api_key``, ``insufficient_balance``, ``access_denied``,
    ``rate_limit_exceeded``, ``upstream_error``, ``all_channels_failed``,
    ``timeout_error``).
``ofox``
    ``{"error": {"code", "message", "type"}}`` with one type per status:
    ``invalid_request_error`` 400, ``authentication_error`` 401,
    ``permission_error`` 403, ``not_found_error`` 404, ``rate_limit_error``
    429, ``internal_error`` 500, ``upstream_error`` 502,
    ``service_unavailable`` 503.
``holysheep``
    ``{"error": {"code", "message"}}`` with no ``type``, plus ``details``
    (``[{"field", "error"}]``) when field errors are known; codes such as
    ``invalid_request``, ``server_overloaded``, ``quota_exceeded``.
``numeric``
    ``{"error": {"code": <number>, "message"}}``: the code is an integer (the
    HTTP status unless the fault's code is numeric), no type.
``anthropic`` (default on ``/v1/messages``)
    ``{"type": "error", "error": {"type", "message"}}`` with Anthropic's type
    for the status (``invalid_request_error`` 400, ``authentication_error``
    401, ``billing_error`` 402, ``permission_error`` 403, ``not_found_error``
    404, ``request_too_large`` 413, ``rate_limit_error`` 429, ``api_error``
    500, ``timeout_error`` 504, ``overloaded_error`` 529); for another status
    (an ``error`` event in a 200 stream) the fault's ``type`` when it is one of
    those. Anthropic-compatible endpoints of gateways keep these native errors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = [
    "DIALECTS",
    "Dialect",
    "ErrorSpec",
    "FieldError",
    "render_error",
]

#: One field-level validation error, ``(field, message)``.
FieldError = tuple[str, str]


@dataclass(frozen=True)
class ErrorSpec:
    """One error in OpenAI's terms, before a dialect renders it."""

    #: HTTP status the server sends.
    status: int
    message: str
    #: OpenAI ``type`` (``invalid_request_error``, ``requests``...).
    type: str | None
    #: OpenAI ``code`` (``rate_limit_exceeded``...); may be None as OpenAI sends.
    code: str | None
    param: str | None = None
    #: Whether a client should retry (lemondata's ``retryable``).
    retryable: bool = False
    #: Seconds to wait, for bodies that carry it (lemondata's ``retry_after``).
    retry_after: float | None = None
    hint: str | None = None
    did_you_mean: str | None = None
    suggestions: tuple[str, ...] = ()
    #: Models available instead (lemondata's ``alternatives``).
    alternatives: tuple[str, ...] = ()
    balance_usd: float | None = None
    #: Field errors (holysheep's ``details``).
    details: tuple[FieldError, ...] = ()


#: A renderer: spec in, JSON-ready body out.
Dialect = Callable[[ErrorSpec], dict[str, object]]


def _openai(spec: ErrorSpec) -> dict[str, object]:
    return {"error": {"message": spec.message, "type": spec.type, "param": spec.param, "code": spec.code}}


_LEMONDATA_TYPES: Mapping[str, str] = {
    "invalid_api_key": "invalid_api_key",
    "expired_api_key": "expired_api_key",
    "insufficient_balance": "insufficient_balance",
    "quota_exceeded": "quota_exceeded",
    "insufficient_quota": "quota_exceeded",
    "model_not_allowed": "access_denied",
    "access_denied": "access_denied",
    "rate_limit_exceeded": "rate_limit_exceeded",
    "upstream_error": "upstream_error",
    "all_channels_failed": "all_channels_failed",
    "timeout_error": "timeout_error",
}


def _lemondata(spec: ErrorSpec) -> dict[str, object]:
    code = spec.code or spec.type
    error: dict[str, object] = {
        "message": spec.message,
        "type": _LEMONDATA_TYPES.get(code or "", spec.type or "api_error"),
        "code": code,
        "param": spec.param,
        "retryable": spec.retryable,
    }
    if spec.retry_after is not None:
        error["retry_after"] = int(spec.retry_after) if spec.retry_after.is_integer() else spec.retry_after
    if spec.did_you_mean is not None:
        error["did_you_mean"] = spec.did_you_mean
    if spec.suggestions:
        error["suggestions"] = [{"id": model} for model in spec.suggestions]
    if spec.alternatives:
        error["alternatives"] = [{"id": model, "status": "available", "tags": []} for model in spec.alternatives]
    if spec.balance_usd is not None:
        error["balance_usd"] = spec.balance_usd
    if spec.hint is not None:
        error["hint"] = spec.hint
    return {"error": error}


_OFOX_TYPES: Mapping[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_balance",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    500: "internal_error",
    502: "upstream_error",
    503: "service_unavailable",
    504: "timeout_error",
}


def _ofox_type(status: int) -> str:
    if status in _OFOX_TYPES:
        return _OFOX_TYPES[status]
    return "internal_error" if status >= 500 else "invalid_request_error"


def _ofox(spec: ErrorSpec) -> dict[str, object]:
    return {
        "error": {
            "code": spec.code or _ofox_type(spec.status),
            "message": spec.message,
            "type": _ofox_type(spec.status),
        }
    }


_HOLYSHEEP_CODES: Mapping[str, str] = {
    "invalid_value": "invalid_request",
    "invalid_request_error": "invalid_request",
    "server_error": "server_error",
    "insufficient_quota": "quota_exceeded",
    "timeout_error": "timeout",
}


def _holysheep(spec: ErrorSpec) -> dict[str, object]:
    code = spec.code or spec.type or "server_error"
    error: dict[str, object] = {"code": _HOLYSHEEP_CODES.get(code, code), "message": spec.message}
    if spec.details:
        error["details"] = [{"field": field, "error": message} for field, message in spec.details]
    return {"error": error}


def _numeric(spec: ErrorSpec) -> dict[str, object]:
    code = int(spec.code) if spec.code is not None and spec.code.isdigit() else spec.status
    return {"error": {"code": code, "message": spec.message}}


_ANTHROPIC_TYPES: Mapping[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


_ANTHROPIC_KINDS = frozenset(_ANTHROPIC_TYPES.values())


def _anthropic(spec: ErrorSpec) -> dict[str, object]:
    kind = _ANTHROPIC_TYPES.get(spec.status)
    if kind is None:  # an error event in a 200 stream, or a status Anthropic does not use
        fallback = "api_error" if spec.status >= 500 else "invalid_request_error"
        kind = spec.type if spec.type in _ANTHROPIC_KINDS else fallback
    return {"type": "error", "error": {"type": kind, "message": spec.message}}


#: Dialect name (the ``dialect=`` step parameter) to renderer.
DIALECTS: Mapping[str, Dialect] = {
    "openai": _openai,
    "lemondata": _lemondata,
    "ofox": _ofox,
    "holysheep": _holysheep,
    "numeric": _numeric,
    "anthropic": _anthropic,
}


def render_error(spec: ErrorSpec, dialect: str = "openai") -> dict[str, object]:
    """Render ``spec`` as ``dialect`` writes it.

    Args:
        spec: The error.
        dialect: A key of :data:`DIALECTS`.

    Returns:
        The JSON-ready body.

    Raises:
        ValueError: For an unknown dialect.
    """
    try:
        renderer = DIALECTS[dialect]
    except KeyError:
        raise ValueError(f"unknown dialect {dialect!r}; known: {sorted(DIALECTS)}") from None
    return renderer(spec)
