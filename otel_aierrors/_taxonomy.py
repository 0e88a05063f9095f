"""One closed set of error classes for every OpenAI-compatible provider.

Providers and gateways disagree on how they say the same thing: OpenAI sends
``{"error": {"type": "insufficient_quota"}}`` with a 429, LemonData sends a 402
``insufficient_balance``, OfoxAI a 502 ``upstream_error``, HolySheep a 429
``quota_exceeded`` that must not be retried. Dashboards and alerts need one
vocabulary, so every failed attempt is mapped onto exactly one class::

    ErrorClass
    ├── provider side, may heal by itself (retryable by default)
    │   ├── rate_limit          429, rate_limit_exceeded
    │   ├── overloaded          503, 529, server_overloaded, service_unavailable
    │   ├── upstream_error      502, upstream_error, all_channels_failed
    │   ├── server_error        500 and other 5xx, internal_error
    │   ├── timeout             408, 504, timeout_error, client-side timeouts
    │   ├── connection          refused / reset / dropped before a response
    │   ├── conflict            409 (lock timeouts)
    │   └── stream_interrupted  a stream that broke after it started
    ├── account side, never heals by itself (not retryable)
    │   ├── quota_exhausted     402, insufficient_quota, quota_exceeded, insufficient_balance
    │   ├── auth                401, invalid_api_key, expired_api_key
    │   └── permission          403, model_not_allowed, access_denied
    ├── request side, the same request fails everywhere (not retryable)
    │   ├── invalid_request     400, 422, invalid_request_error
    │   ├── context_length      context_length_exceeded
    │   ├── payload_too_large   413
    │   ├── content_filter      content_policy_violation
    │   └── not_found           404, model_not_found
    ├── circuit_open            the application's circuit breaker refused the call:
    │                           nothing was sent (not retryable until the breaker half-opens)
    ├── job_failed              a background job (response, video, batch) failed later,
    │                           with no error code that names a class above
    └── unknown                 nothing above matched

The most specific evidence wins: a provider code beats a provider type, which
beats the status code; the server's own ``x-should-retry`` or ``retryable``
overrides the default of a class that can heal, never of one that cannot.
Nothing here raises: malformed, empty, truncated or huge bodies fall back to
the status code.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Mapping
from typing import Final, NamedTuple

from otel_aierrors import _names as n
from otel_aierrors._provider_errors import EMPTY_PROVIDER_ERROR, ProviderError

__all__ = [
    "RETRYABLE_CLASSES",
    "UNCLASSIFIED",
    "Classification",
    "ErrorClass",
    "call_verdict",
    "classify",
    "is_cancellation",
]


class ErrorClass(str, enum.Enum):
    """The normalised error classes; the values are the exported strings."""

    RATE_LIMIT = "rate_limit"
    QUOTA_EXHAUSTED = "quota_exhausted"
    AUTH = "auth"
    PERMISSION = "permission"
    NOT_FOUND = "not_found"
    INVALID_REQUEST = "invalid_request"
    CONTEXT_LENGTH = "context_length"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    CONTENT_FILTER = "content_filter"
    CONFLICT = "conflict"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    SERVER_ERROR = "server_error"
    UPSTREAM_ERROR = "upstream_error"
    OVERLOADED = "overloaded"
    STREAM_INTERRUPTED = "stream_interrupted"
    CIRCUIT_OPEN = "circuit_open"
    JOB_FAILED = "job_failed"
    UNKNOWN = "unknown"

    @property
    def retryable(self) -> bool:
        """Whether this class may succeed when the same request is sent again."""
        return self in RETRYABLE_CLASSES

    @property
    def error_type(self) -> str:
        """The ``error.type`` value: the class, or the conventions' ``_OTHER`` for `UNKNOWN`."""
        return n.ERROR_TYPE_OTHER if self is ErrorClass.UNKNOWN else self.value

    @property
    def permanent(self) -> bool:
        """Whether no server hint can make a retry of this class worthwhile."""
        return self in _PERMANENT


RETRYABLE_CLASSES: Final = frozenset(
    {
        ErrorClass.RATE_LIMIT,
        ErrorClass.OVERLOADED,
        ErrorClass.UPSTREAM_ERROR,
        ErrorClass.SERVER_ERROR,
        ErrorClass.TIMEOUT,
        ErrorClass.CONNECTION,
        ErrorClass.CONFLICT,
        ErrorClass.STREAM_INTERRUPTED,
    }
)
_PERMANENT: Final = frozenset(
    {
        ErrorClass.QUOTA_EXHAUSTED,
        ErrorClass.AUTH,
        ErrorClass.PERMISSION,
        ErrorClass.INVALID_REQUEST,
        ErrorClass.CONTEXT_LENGTH,
        ErrorClass.PAYLOAD_TOO_LARGE,
        ErrorClass.CONTENT_FILTER,
        ErrorClass.NOT_FOUND,
    }
)

#: Provider codes and types, lower-cased, with a specificity: a specific code
#: such as ``context_length_exceeded`` (3) beats a generic family such as
#: ``invalid_request_error`` (1) even when the family arrives in ``code``.
_TOKENS: Final[Mapping[str, tuple[ErrorClass, int]]] = {
    # quota and billing: never retryable although they arrive as 429
    "insufficient_quota": (ErrorClass.QUOTA_EXHAUSTED, 3),
    "quota_exceeded": (ErrorClass.QUOTA_EXHAUSTED, 3),
    "insufficient_balance": (ErrorClass.QUOTA_EXHAUSTED, 3),
    "insufficient_balance_error": (ErrorClass.QUOTA_EXHAUSTED, 3),
    "billing_hard_limit_reached": (ErrorClass.QUOTA_EXHAUSTED, 3),
    "billing_not_active": (ErrorClass.QUOTA_EXHAUSTED, 3),
    "payment_required": (ErrorClass.QUOTA_EXHAUSTED, 2),
    # request shape
    "context_length_exceeded": (ErrorClass.CONTEXT_LENGTH, 3),
    "string_above_max_length": (ErrorClass.CONTEXT_LENGTH, 2),
    "payload_too_large": (ErrorClass.PAYLOAD_TOO_LARGE, 3),
    "request_too_large": (ErrorClass.PAYLOAD_TOO_LARGE, 3),
    "content_policy_violation": (ErrorClass.CONTENT_FILTER, 3),
    "content_filter": (ErrorClass.CONTENT_FILTER, 3),
    "content_filtered": (ErrorClass.CONTENT_FILTER, 3),
    "model_not_found": (ErrorClass.NOT_FOUND, 3),
    "not_found_error": (ErrorClass.NOT_FOUND, 2),
    "not_found": (ErrorClass.NOT_FOUND, 2),
    "invalid_request_error": (ErrorClass.INVALID_REQUEST, 1),
    "invalid_request": (ErrorClass.INVALID_REQUEST, 1),
    "invalid_parameter": (ErrorClass.INVALID_REQUEST, 2),
    "validation_error": (ErrorClass.INVALID_REQUEST, 2),
    # identity
    "invalid_api_key": (ErrorClass.AUTH, 3),
    "expired_api_key": (ErrorClass.AUTH, 3),
    "invalid_authentication": (ErrorClass.AUTH, 3),
    "authentication_error": (ErrorClass.AUTH, 2),
    "model_not_allowed": (ErrorClass.PERMISSION, 3),
    "access_denied": (ErrorClass.PERMISSION, 2),
    "permission_denied": (ErrorClass.PERMISSION, 2),
    "permission_error": (ErrorClass.PERMISSION, 2),
    # provider capacity
    "rate_limit_exceeded": (ErrorClass.RATE_LIMIT, 2),
    "rate_limit_error": (ErrorClass.RATE_LIMIT, 2),
    "rate_limit": (ErrorClass.RATE_LIMIT, 2),
    "too_many_requests": (ErrorClass.RATE_LIMIT, 2),
    "server_overloaded": (ErrorClass.OVERLOADED, 3),
    "overloaded_error": (ErrorClass.OVERLOADED, 3),
    "overloaded": (ErrorClass.OVERLOADED, 3),
    "service_unavailable": (ErrorClass.OVERLOADED, 2),
    "temporary_unavailable": (ErrorClass.OVERLOADED, 2),
    "engine_overloaded": (ErrorClass.OVERLOADED, 3),
    "upstream_error": (ErrorClass.UPSTREAM_ERROR, 3),
    "all_channels_failed": (ErrorClass.UPSTREAM_ERROR, 3),
    "bad_gateway": (ErrorClass.UPSTREAM_ERROR, 2),
    "timeout_error": (ErrorClass.TIMEOUT, 2),
    "timeout": (ErrorClass.TIMEOUT, 2),
    "request_timeout": (ErrorClass.TIMEOUT, 2),
    "gateway_timeout": (ErrorClass.TIMEOUT, 2),
    "connection_reset": (ErrorClass.CONNECTION, 2),
    "internal_error": (ErrorClass.SERVER_ERROR, 1),
    "server_error": (ErrorClass.SERVER_ERROR, 1),
    "internal_server_error": (ErrorClass.SERVER_ERROR, 1),
    "api_error": (ErrorClass.SERVER_ERROR, 1),
}

_STATUS: Final[Mapping[int, ErrorClass]] = {
    400: ErrorClass.INVALID_REQUEST,
    401: ErrorClass.AUTH,
    402: ErrorClass.QUOTA_EXHAUSTED,
    403: ErrorClass.PERMISSION,
    404: ErrorClass.NOT_FOUND,
    408: ErrorClass.TIMEOUT,
    409: ErrorClass.CONFLICT,
    413: ErrorClass.PAYLOAD_TOO_LARGE,
    422: ErrorClass.INVALID_REQUEST,
    429: ErrorClass.RATE_LIMIT,
    500: ErrorClass.SERVER_ERROR,
    502: ErrorClass.UPSTREAM_ERROR,
    503: ErrorClass.OVERLOADED,
    504: ErrorClass.TIMEOUT,
    529: ErrorClass.OVERLOADED,
}


class Classification(NamedTuple):
    """The verdict for one failed attempt or call."""

    error_class: ErrorClass
    retryable: bool


#: What a failure is when classifying it raised inside the instrumentation.
UNCLASSIFIED: Final = Classification(ErrorClass.UNKNOWN, False)


def classify(
    *,
    status: int | None = None,
    provider_error: ProviderError = EMPTY_PROVIDER_ERROR,
    should_retry: bool | None = None,
    exception: BaseException | None = None,
    default: ErrorClass = ErrorClass.UNKNOWN,
) -> Classification:
    """Classify one failure from whatever evidence there is; the most specific wins.

    Args:
        status: the HTTP status, or None when no response arrived.
        provider_error: the parsed error body (see `parse_error_body`), or a
            failure reported inside a 200 (its code).
        should_retry: the server's ``x-should-retry``, if it sent one.
        exception: what was raised when no response arrived (timeouts,
            refused or dropped connections), classified by its class names.
        default: the class when nothing above says more (``server_error`` for
            an in-band failure, ``stream_interrupted`` for a broken stream).
    """
    error_class = _class_from_tokens(provider_error)
    if error_class is None:
        error_class = _class_from_message(status, provider_error.message)
    if error_class is None and status is not None:
        error_class = _class_from_status(status)
    if error_class is None and exception is not None:
        error_class = _class_from_exception(exception)
    if error_class is None:
        error_class = default
    return Classification(error_class, _retryable(error_class, provider_error.retryable, should_retry))


def call_verdict(
    exception: BaseException | None,
    status: int | None,
    provider_error: ProviderError | Callable[[], ProviderError],
    last: Classification | None,
    last_read_body: bool,
    default: ErrorClass = ErrorClass.SERVER_ERROR,
) -> Classification | None:
    """How a whole call failed, from the evidence it ended with; None when the application cancelled it.

    Pure: the caller gathers the evidence, this decides which of it wins.

    Args:
        exception: what the SDK raised, or None for a failure reported inside a 200
            (an in-band failure: ``provider_error`` holds its code, ``default`` its class
            when the code names none: ``server_error``, ``job_failed`` for a job).
        status: the HTTP status the exception carries, if any.
        provider_error: the error body the exception carries, parsed; or a function that
            parses it, called only when the body decides (the last attempt read none).
        last: how the call's last attempt failed (None: it succeeded, or none was made).
        last_read_body: whether that attempt classified an error body it held in memory.

    The last attempt's verdict wins when it saw the body, having seen the headers too; else
    the body the SDK read names the class, the attempt's headers keeping their say on
    retrying (unless the class is permanent). An exception without a status (a timeout,
    a refused connection) takes the last attempt's verdict when it names a class itself.
    """
    if exception is None:
        return classify(provider_error=_evidence(provider_error), default=default)
    if is_cancellation(exception):
        return None
    if status is not None:
        if last is not None and last_read_body:
            return last
        found = classify(status=status, provider_error=_evidence(provider_error))
        return found if last is None or found.error_class.permanent else found._replace(retryable=last.retryable)
    found = classify(exception=exception)
    if found.error_class is not ErrorClass.UNKNOWN and last is not None:
        return last
    return found


def _evidence(provider_error: ProviderError | Callable[[], ProviderError]) -> ProviderError:
    return provider_error if isinstance(provider_error, ProviderError) else provider_error()


def is_cancellation(exception: BaseException) -> bool:
    """Whether the application itself stopped the call (task cancelled, Ctrl-C, exit): not a failure."""
    return isinstance(exception, (asyncio.CancelledError, KeyboardInterrupt, SystemExit))


def _class_from_status(status: int) -> ErrorClass | None:
    error_class = _STATUS.get(status)
    if error_class is None:
        if 500 <= status < 600:
            return ErrorClass.SERVER_ERROR
        if 400 <= status < 500:
            return ErrorClass.INVALID_REQUEST
    return error_class


def _retryable(error_class: ErrorClass, body_says: bool | None, header_says: bool | None) -> bool:
    if error_class.permanent:
        return False
    if header_says is not None:
        return header_says
    if body_says is not None:
        return body_says
    return error_class.retryable


def _class_from_tokens(provider_error: ProviderError) -> ErrorClass | None:
    best: tuple[ErrorClass, int] | None = None
    # ``code`` is consulted first so that it wins a tie with ``type``.
    for token in (provider_error.code, provider_error.type):
        if not token:
            continue
        found = _TOKENS.get(token.lower())
        if found is not None and (best is None or found[1] > best[1]):
            best = found
    return best[0] if best else None


def _class_from_message(status: int | None, message: str | None) -> ErrorClass | None:
    """Last resort for bodies without codes: the seeds show 403/429 quota errors
    that only say "quota" in prose, and 400s that only say "context length"."""
    if not message or status not in (400, 403, 429):
        return None
    lowered = message[:512].lower()
    if status in (403, 429) and ("quota" in lowered or "billing" in lowered or "balance" in lowered):
        return ErrorClass.QUOTA_EXHAUSTED
    if status == 400 and ("context length" in lowered or "context window" in lowered):
        return ErrorClass.CONTEXT_LENGTH
    return None


#: Exception class names (anywhere in the MRO) that say what went wrong when
#: no response arrived. Names, not classes, so that neither ``httpx``,
#: ``httpx2`` nor an SDK has to be imported; the first match in MRO order wins,
#: so the most derived class decides.
_EXCEPTION_NAMES: Final[Mapping[str, ErrorClass]] = {
    "APITimeoutError": ErrorClass.TIMEOUT,
    "TimeoutException": ErrorClass.TIMEOUT,
    "TimeoutError": ErrorClass.TIMEOUT,
    "ReadTimeout": ErrorClass.TIMEOUT,
    "ConnectTimeout": ErrorClass.TIMEOUT,
    "WriteTimeout": ErrorClass.TIMEOUT,
    "PoolTimeout": ErrorClass.TIMEOUT,
    "RemoteProtocolError": ErrorClass.CONNECTION,
    "ConnectError": ErrorClass.CONNECTION,
    "ReadError": ErrorClass.CONNECTION,
    "WriteError": ErrorClass.CONNECTION,
    "NetworkError": ErrorClass.CONNECTION,
    "TransportError": ErrorClass.CONNECTION,
    "APIConnectionError": ErrorClass.CONNECTION,
    "ConnectionError": ErrorClass.CONNECTION,
    "OSError": ErrorClass.CONNECTION,
    # the application's circuit breaker refused (pybreaker; purgatory raises its OpenedState)
    "CircuitBreakerError": ErrorClass.CIRCUIT_OPEN,
    "OpenedState": ErrorClass.CIRCUIT_OPEN,
}


def _class_from_exception(exception: BaseException) -> ErrorClass | None:
    for cls in type(exception).__mro__:
        found = _EXCEPTION_NAMES.get(cls.__name__)
        if found is not None:
            return found
    return None
