"""Fault strategies: one small class per way an OpenAI-compatible API answers.

Each fault is built from a step's parameters (``__init__`` validates and
stores them) and called with the request (``__call__`` returns an
:data:`~otel_aierrors.chaos.exchange.Outcome`), in tenacity's style. The name
is the contract with scripts and profiles.

Every fault accepts ``delay=<s>`` (latency before answering, at most 60 s).
Every error fault (all but ``ok``, the stream faults, ``hang`` and
``disconnect``) also accepts:

* ``status=<code>``: override the HTTP status;
* ``dialect=openai|lemondata|ofox|holysheep|numeric|anthropic``: body shape
  (see :mod:`otel_aierrors.chaos.dialects`);
* ``message=``, ``type=``, ``code=``, ``param=`` (``null`` for JSON null),
  ``hint=``, ``did_you_mean=``, ``alternatives=a|b``, ``balance_usd=``,
  ``retryable=0|1``: override body fields;
* ``retry_after=<s>`` (``retry-after``, verbatim), ``retry_after_ms=<ms>``
  (``retry-after-ms``), ``retry_after_date=<s ahead>`` (``retry-after`` as an
  HTTP-date), ``should_retry=true|false`` (``x-should-retry``);
* ``ratelimit=0|1`` and ``limit_requests``, ``remaining_requests``,
  ``reset_requests``, ``limit_tokens``, ``remaining_tokens``,
  ``reset_tokens``: the ``x-ratelimit-*`` headers (on by default for ``ok``
  and ``rate_limit``).

Every response carries ``x-request-id: req_<hex>``.

Faults, with their default status and body (openai dialect unless noted):

``ok`` 200
    The route's normal object, or a clean SSE stream when ``"stream": true``.
    ``finish_reason`` (stop|length|content_filter|tool_calls|function_call;
    content_filter empties the content), ``content`` (``content=`` for
    empty), ``refusal`` (content null), ``tool_calls=N`` (content null),
    ``model``, ``snapshot=1`` (``gpt-4o`` -> ``gpt-4o-2024-08-06``), ``n``,
    ``chunks`` (stream deltas, 5), ``chunk_delay`` (s between events),
    ``input_tokens``, ``output_tokens``, ``dims`` (embeddings).
``rate_limit`` 429
    Type ``requests``, code ``rate_limit_exceeded``; ``x-ratelimit-*`` with
    ``remaining-requests: 0``; lemondata ``retryable: true``, ``retry_after``.
``quota`` 429
    Type and code ``insufficient_quota``, "You exceeded your current quota,
    please check your plan and billing details."
``quota_exceeded`` 429
    Type ``insufficient_quota``, code ``quota_exceeded`` (``status=403`` as
    some providers send it).
``balance`` 402
    Type and code ``insufficient_balance``; lemondata adds ``balance_usd``.
``auth`` 401
    Type ``invalid_request_error``, code ``invalid_api_key``; the message
    echoes the full bearer key the client sent (redaction must catch it).
``permission`` 403
    Code ``model_not_allowed`` (``code=access_denied`` for the generic one).
``not_found`` 404
    Code ``model_not_found``; lemondata adds ``param: model``,
    ``did_you_mean``, ``suggestions`` and ``hint``.
``invalid_request`` 400
    Code ``invalid_value``, param ``temperature``; holysheep renders code
    ``invalid_request`` with a ``details`` list of field errors.
``context_length`` 400
    Code ``context_length_exceeded``, param ``messages``.
``payload_too_large`` 413
    Code ``payload_too_large``.
``content_filter`` 400
    Code ``content_policy_violation``. ``soft=1`` answers 200 instead:
    ``finish_reason: content_filter`` with null content (chat, completions),
    an ``incomplete`` response (Responses API) or an empty ``data`` array
    (images).
``conflict`` 409
    Type ``conflict_error``, code ``conflict`` (the SDK retries 409).
``server_error`` 500
    Type ``server_error``, code null, as OpenAI sends.
``upstream`` 502
    Type and code ``upstream_error``.
``all_channels_failed`` 503
    Lemondata body by default: code ``all_channels_failed``,
    ``retryable: true``, ``retry_after: 30``, ``alternatives``, ``hint``.
``overloaded`` 503
    Type ``server_error``, code ``server_overloaded``; ``status=529`` gives
    Anthropic's ``{"type": "error", "error": {"type": "overloaded_error"}}``.
``gateway_timeout`` 504
    Type and code ``timeout_error``.
``html`` 502
    An nginx HTML error page, ``content-type: text/html``.
``empty`` 500
    No body at all (``content-length: 0``, no content type).
``truncated`` 500
    ``{"error": {"mess``: a complete HTTP body holding broken JSON.
``huge`` 500
    Valid JSON of ``size`` bytes (2 MiB) with a huge message.
``hang`` (no response)
    Reads the request, sends nothing for ``seconds`` (5, at most 60), then
    closes; a client with a shorter timeout times out first.
``disconnect`` (no response)
    Closes the connection at once; ``reset=1`` sends a TCP RST, not a FIN.
``stream_error`` 200
    Streams ``after`` events (2, counted from the first chunk, the chat role
    chunk included), then an error event: ``code`` (``server_error``),
    ``type``, ``message``, ``param``, ``dialect``; ``named=0`` drops the
    ``event: error`` line; the Responses API sends ``event=error|failed|both``
    (both). A non-streamed request gets a 500 with that error.
``stream_cut`` 200
    Streams ``after`` events (2), then closes the socket in the middle of the
    chunked body. A non-streamed request gets half its JSON body under a
    longer ``content-length``, then the close.
``stream_stall`` 200
    Streams ``after`` events (2), goes silent for ``seconds`` (5), then cuts;
    a non-streamed request is treated like ``hang``.

What the openai SDK raises (2.x over ``httpx``, 3.x over ``httpx2``):
``stream_error`` gives ``openai.APIError`` on both (``event: error`` or not);
``stream_cut`` gives ``httpx.RemoteProtocolError`` on 2.x (the SDK does not
wrap errors raised while iterating) and ``openai.APIConnectionError`` on 3.x.
"""

from __future__ import annotations

import abc
import dataclasses
import difflib
from collections.abc import Mapping
from typing import ClassVar

from .dialects import DIALECTS, ErrorSpec, FieldError, render_error
from .exchange import ChaosRequest, Disconnect, Endpoint, Hang, Header, Outcome, Reply, StreamReply, json_bytes
from .headers import RATE_LIMIT_PARAMS, RETRY_PARAMS, RateLimitBudget, rate_limit_headers, retry_headers
from .payloads import (
    ANSWER_PARAMS,
    MODELS,
    Answer,
    chat_completion,
    embeddings,
    images,
    model_object,
    models_list,
    response_object,
    text_completion,
)
from .script import Params, Step
from .streams import StreamPlan, chat_stream, completion_stream, responses_stream

__all__ = [
    "FAULTS",
    "MAX_WAIT",
    "SSE_CONTENT_TYPE",
    "AllChannelsFailed",
    "Auth",
    "Balance",
    "Conflict",
    "ContentFilter",
    "ContextLength",
    "Disconnection",
    "Empty",
    "ErrorFault",
    "Fault",
    "GatewayTimeout",
    "Hanging",
    "Html",
    "Huge",
    "InvalidRequest",
    "NotFound",
    "Ok",
    "Overloaded",
    "PayloadTooLarge",
    "Permission",
    "Quota",
    "QuotaExceeded",
    "RateLimit",
    "ServerError",
    "StreamCut",
    "StreamError",
    "StreamStall",
    "Truncated",
    "Upstream",
    "build_fault",
]

#: Upper bound, in seconds, of any delay, hang or stall a step can ask for.
MAX_WAIT = 60.0
#: ``Content-Type`` of streamed answers.
SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"

_ERROR_PARAMS = frozenset(
    {
        "status",
        "dialect",
        "message",
        "type",
        "code",
        "param",
        "hint",
        "did_you_mean",
        "alternatives",
        "balance_usd",
        "retryable",
    }
)
_QUOTA_CODES = frozenset({"insufficient_quota", "quota_exceeded", "insufficient_balance"})
#: Budget shown on successful answers: plenty left.
_HEALTHY_BUDGET = RateLimitBudget()
#: Budget shown on a 429: no requests left for a second.
_EXHAUSTED_BUDGET = RateLimitBudget(
    limit_requests=60,
    remaining_requests=0,
    reset_requests=1.0,
    limit_tokens=150000,
    remaining_tokens=148500,
    reset_tokens=0.6,
)


def _nullable(value: str | None) -> str | None:
    return None if value is None or value == "null" else value


class Fault(abc.ABC):
    """Base of all faults: stores the step parameters and the common ``delay``."""

    #: Name used in scripts and profiles.
    name: ClassVar[str]
    #: Parameters this class adds to those of its bases.
    accepts: ClassVar[frozenset[str]] = frozenset({"delay"})

    def __init__(self, params: Params | None = None) -> None:
        #: The step's raw parameters.
        self.params = params if params is not None else Params()
        #: Seconds to wait before answering.
        self.delay = self.params.number("delay", 0.0, hi=MAX_WAIT)

    @classmethod
    def allowed_params(cls) -> frozenset[str]:
        """Every parameter the fault understands (its own and its bases')."""
        names: set[str] = set()
        for klass in cls.__mro__:
            names |= vars(klass).get("accepts", frozenset())
        return frozenset(names)

    @abc.abstractmethod
    def __call__(self, request: ChaosRequest) -> Outcome:
        """Decide what the server sends for ``request``."""


class Ok(Fault):
    """200 with the route's normal object, or a clean SSE stream when ``stream`` is true."""

    name = "ok"
    accepts = ANSWER_PARAMS | RATE_LIMIT_PARAMS | {"chunk_delay"}

    def __init__(self, params: Params | None = None) -> None:
        super().__init__(params)
        #: What the model says.
        self.answer = Answer.from_params(self.params)
        #: Seconds between stream events.
        self.chunk_delay = self.params.number("chunk_delay", 0.0, hi=5.0)

    def headers(self) -> tuple[Header, ...]:
        """Rate-limit headers with plenty of budget left (unless the step overrides)."""
        return tuple(rate_limit_headers(self.params, _HEALTHY_BUDGET, default_on=True))

    def plan(self, request: ChaosRequest, *, dialect: str = "openai", named: bool = True) -> StreamPlan:
        """Plan the stream for a streaming request."""
        if request.endpoint is Endpoint.RESPONSES:
            return responses_stream(self.answer, request, failure_events=self.params.text("event", "both"))
        if request.endpoint is Endpoint.COMPLETIONS:
            return completion_stream(self.answer, request, dialect=dialect, named=named)
        return chat_stream(self.answer, request, dialect=dialect, named=named)

    def body(self, request: ChaosRequest) -> dict[str, object]:
        """The non-streamed object for the request's route."""
        endpoint = request.endpoint
        if endpoint is Endpoint.COMPLETIONS:
            return text_completion(self.answer, request)
        if endpoint is Endpoint.EMBEDDINGS:
            return embeddings(self.answer, request)
        if endpoint is Endpoint.RESPONSES:
            return response_object(self.answer, request)
        if endpoint is Endpoint.IMAGES:
            return images(self.answer, request)
        if endpoint is Endpoint.MODELS:
            return models_list()
        if endpoint is Endpoint.MODEL:
            return model_object(request.path_model or request.model)
        return chat_completion(self.answer, request)

    def __call__(self, request: ChaosRequest) -> Outcome:
        if request.stream:
            return StreamReply(self.plan(request).complete(), self.headers(), chunk_delay=self.chunk_delay)
        return Reply(200, json_bytes(self.body(request)), headers=self.headers())


class ErrorFault(Fault):
    """An HTTP error with a JSON body in a dialect; subclasses set the class attributes."""

    accepts = _ERROR_PARAMS | RETRY_PARAMS | RATE_LIMIT_PARAMS

    #: Default HTTP status.
    status: ClassVar[int] = 500
    #: OpenAI ``type``.
    error_type: ClassVar[str | None] = "server_error"
    #: OpenAI ``code``.
    code: ClassVar[str | None] = None
    #: Message template; ``{model}`` and ``{key}`` are filled from the request.
    message: ClassVar[str] = "The server had an error while processing your request. Sorry about that!"
    #: OpenAI ``param``.
    param: ClassVar[str | None] = None
    #: Default dialect.
    dialect: ClassVar[str] = "openai"
    #: Whether ``x-ratelimit-*`` headers are sent by default.
    rate_limited: ClassVar[bool] = False
    #: ``retry_after`` in bodies that carry one, when no retry parameter is given.
    body_retry_after: ClassVar[float | None] = None
    #: Next-step guidance (lemondata's ``hint``).
    hint: ClassVar[str | None] = None

    def __init__(self, params: Params | None = None) -> None:
        super().__init__(params)
        #: HTTP status to send.
        self.status_code = self.params.integer("status", self.status, lo=100, hi=599)
        #: Dialect to render the body in.
        self.dialect_name = self.params.choice("dialect", self.default_dialect(), frozenset(DIALECTS))
        self.params.opt_number("balance_usd")  # validate early

    def default_dialect(self) -> str:
        """The dialect used when the step gives none."""
        return self.dialect

    def retry_after_seconds(self) -> float | None:
        """Seconds to wait as the step's retry parameters say, else the class default."""
        params = self.params
        for key, scale in (("retry_after_ms", 0.001), ("retry_after", 1.0), ("retry_after_date", 1.0)):
            raw = params.opt_text(key)
            if raw is None:
                continue
            try:
                return float(raw) * scale
            except ValueError:
                continue
        return self.body_retry_after

    def default_retryable(self, code: str | None) -> bool:
        """Whether a client should retry, by status and code."""
        if self.status_code == 429:
            return code not in _QUOTA_CODES
        return self.status_code >= 500 or self.status_code in (408, 409)

    def details(self, request: ChaosRequest) -> tuple[FieldError, ...]:
        """Field errors for dialects that list them."""
        return ()

    def extras(self, request: ChaosRequest) -> dict[str, object]:
        """Extra :class:`ErrorSpec` fields a subclass fills from the request."""
        return {}

    def spec(self, request: ChaosRequest) -> ErrorSpec:
        """Describe the error in OpenAI's terms, with the step's overrides applied."""
        params = self.params
        code = _nullable(params.text("code", self.code or "null"))
        message = params.opt_text("message")
        if message is None:
            message = self.message.format(model=request.model, key=request.api_key or "")
        spec = ErrorSpec(
            status=self.status_code,
            message=message,
            type=_nullable(params.text("type", self.error_type or "null")),
            code=code,
            param=_nullable(params.text("param", self.param or "null")),
            retryable=params.flag("retryable", self.default_retryable(code)),
            retry_after=self.retry_after_seconds(),
            hint=self.hint,
            details=self.details(request),
        )
        spec = dataclasses.replace(spec, **self.extras(request))  # type: ignore[arg-type]
        overrides: dict[str, object] = {}
        if "hint" in params:
            overrides["hint"] = params.text("hint", "")
        if "did_you_mean" in params:
            overrides["did_you_mean"] = params.text("did_you_mean", "")
        if "alternatives" in params:
            overrides["alternatives"] = tuple(m for m in params.text("alternatives", "").split("|") if m)
        if "balance_usd" in params:
            overrides["balance_usd"] = params.number("balance_usd", 0.0, lo=float("-inf"))
        return dataclasses.replace(spec, **overrides)  # type: ignore[arg-type]

    def headers(self) -> tuple[Header, ...]:
        """Retry directives and, where relevant, rate-limit headers."""
        budget = _EXHAUSTED_BUDGET if self.rate_limited else _HEALTHY_BUDGET
        limits = rate_limit_headers(self.params, budget, default_on=self.rate_limited)
        return tuple(retry_headers(self.params) + limits)

    def __call__(self, request: ChaosRequest) -> Outcome:
        body = render_error(self.spec(request), self.dialect_name)
        return Reply(self.status_code, json_bytes(body), headers=self.headers())


class RateLimit(ErrorFault):
    """429 ``rate_limit_exceeded`` with an exhausted ``x-ratelimit-*`` budget."""

    name = "rate_limit"
    status = 429
    error_type = "requests"
    code = "rate_limit_exceeded"
    message = (
        "Rate limit reached for {model} in organization org-chaos on requests per min (RPM): "
        "Limit 60, Used 60, Requested 1. Please try again in 1s. "
        "Visit https://platform.openai.com/account/rate-limits to learn more."
    )
    rate_limited = True
    body_retry_after = 1.0
    hint = "Rate limited. Retry after the delay in Retry-After. Current limit: 60/min."


class Quota(ErrorFault):
    """429 ``insufficient_quota``: billing, not load; retrying does not help."""

    name = "quota"
    status = 429
    error_type = "insufficient_quota"
    code = "insufficient_quota"
    message = "You exceeded your current quota, please check your plan and billing details."
    hint = "Check your plan and billing details."


class QuotaExceeded(Quota):
    """429 (or ``status=403``) ``quota_exceeded``, as gateways and older APIs send."""

    name = "quota_exceeded"
    code = "quota_exceeded"


class Balance(ErrorFault):
    """402 ``insufficient_balance`` (a prepaid gateway's account is empty)."""

    name = "balance"
    status = 402
    error_type = "insufficient_balance"
    code = "insufficient_balance"
    message = "Insufficient balance: your account balance is too low for this request. Please top up."
    hint = "Top up your balance, then retry."

    def extras(self, request: ChaosRequest) -> dict[str, object]:
        return {"balance_usd": 0.0}


class Auth(ErrorFault):
    """401 ``invalid_api_key`` whose message echoes the full key the client sent."""

    name = "auth"
    status = 401
    error_type = "invalid_request_error"
    code = "invalid_api_key"
    message = (
        "Incorrect API key provided: {key}. You can find your API key at https://platform.openai.com/account/api-keys."
    )
    hint = "Check the API key; create a new one if it was revoked."


class Permission(ErrorFault):
    """403 ``model_not_allowed`` (``code=access_denied`` for the generic form)."""

    name = "permission"
    status = 403
    error_type = "invalid_request_error"
    code = "model_not_allowed"
    message = "You don't have permission to access model `{model}` with this API key."


class NotFound(ErrorFault):
    """404 ``model_not_found``, with a suggestion of the closest listed model."""

    name = "not_found"
    status = 404
    error_type = "invalid_request_error"
    code = "model_not_found"
    message = "The model `{model}` does not exist or you do not have access to it."

    def extras(self, request: ChaosRequest) -> dict[str, object]:
        close = difflib.get_close_matches(request.model, MODELS, n=2, cutoff=0.0) or ["gpt-4o-mini"]
        extras: dict[str, object] = {
            "did_you_mean": close[0],
            "suggestions": tuple(close),
            "hint": f"Did you mean '{close[0]}'? Use GET /v1/models to list all available models.",
        }
        if self.dialect_name == "lemondata" and "param" not in self.params:
            extras["param"] = "model"
        return extras


class InvalidRequest(ErrorFault):
    """400 ``invalid_value`` naming a ``param``; holysheep lists field ``details``."""

    name = "invalid_request"
    status = 400
    error_type = "invalid_request_error"
    code = "invalid_value"
    param = "temperature"
    message = "Invalid request parameters"

    def details(self, request: ChaosRequest) -> tuple[FieldError, ...]:
        field = self.params.text("param", self.param or "request")
        return ((field, f"{field} is invalid"), ("messages", "messages cannot be empty"))


class ContextLength(ErrorFault):
    """400 ``context_length_exceeded``."""

    name = "context_length"
    status = 400
    error_type = "invalid_request_error"
    code = "context_length_exceeded"
    param = "messages"
    message = (
        "This model's maximum context length is 128000 tokens. However, your messages resulted in "
        "131072 tokens. Please reduce the length of the messages."
    )


class PayloadTooLarge(ErrorFault):
    """413 ``payload_too_large``."""

    name = "payload_too_large"
    status = 413
    error_type = "invalid_request_error"
    code = "payload_too_large"
    message = "Input size exceeds maximum allowed"


class ContentFilter(ErrorFault):
    """400 ``content_policy_violation``; ``soft=1`` gives the 200 form of the same block."""

    name = "content_filter"
    status = 400
    error_type = "invalid_request_error"
    code = "content_policy_violation"
    message = (
        "Your request was rejected as a result of our safety system. Your prompt may contain "
        "text that is not allowed by our safety system."
    )
    accepts = frozenset({"soft", "chunk_delay"})

    def __call__(self, request: ChaosRequest) -> Outcome:
        if not self.params.flag("soft"):
            return super().__call__(request)
        keep = {key: value for key, value in self.params.items() if key in ("delay", "chunk_delay", "model")}
        return Ok(Params({**keep, "finish_reason": "content_filter", "soft": "1"}))(request)


class Conflict(ErrorFault):
    """409 ``conflict`` (the SDK retries it, like 429 and 5xx)."""

    name = "conflict"
    status = 409
    error_type = "conflict_error"
    code = "conflict"
    message = "Another request for this resource is in progress. Please retry shortly."


class ServerError(ErrorFault):
    """500 ``server_error`` with a null code, as OpenAI sends."""

    name = "server_error"


class Upstream(ErrorFault):
    """502 ``upstream_error``: the gateway's provider failed."""

    name = "upstream"
    status = 502
    error_type = "upstream_error"
    code = "upstream_error"
    message = "The upstream provider returned an error."
    hint = "Retry, or switch to another model."


class AllChannelsFailed(ErrorFault):
    """503 ``all_channels_failed`` in lemondata's shape, listing ``alternatives``."""

    name = "all_channels_failed"
    status = 503
    error_type = "all_channels_failed"
    code = "all_channels_failed"
    message = "Model {model} temporarily unavailable"
    dialect = "lemondata"
    body_retry_after = 30.0
    hint = "Retry in 30s or switch to an available model."

    def extras(self, request: ChaosRequest) -> dict[str, object]:
        others = tuple(m for m in ("claude-sonnet-4-6", "gpt-5-mini", "gpt-4o-mini") if m != request.model)
        return {"alternatives": others[:2]}


class Overloaded(ErrorFault):
    """503 ``server_overloaded``; ``status=529`` gives Anthropic's ``overloaded_error``."""

    name = "overloaded"
    status = 503
    error_type = "server_error"
    code = "server_overloaded"
    message = (
        "That model is currently overloaded with other requests. You can retry your request, or "
        "contact us through our help center at help.openai.com if the error persists."
    )

    def default_dialect(self) -> str:
        return "anthropic" if self.params.text("status", "") == "529" else self.dialect

    def spec(self, request: ChaosRequest) -> ErrorSpec:
        spec = super().spec(request)
        if self.status_code == 529 and "message" not in self.params:
            spec = dataclasses.replace(spec, message="Overloaded", type="overloaded_error")
        return spec


class GatewayTimeout(ErrorFault):
    """504 ``timeout_error``: the gateway gave up waiting for its provider."""

    name = "gateway_timeout"
    status = 504
    error_type = "timeout_error"
    code = "timeout_error"
    message = "Gateway timeout: the upstream provider did not respond in time."


class Html(ErrorFault):
    """502 with an nginx HTML page, as a proxy in front of the API sends."""

    name = "html"
    status = 502

    def __call__(self, request: ChaosRequest) -> Outcome:
        title = f"{self.status_code} Bad Gateway" if self.status_code == 502 else f"{self.status_code} Error"
        page = (
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        )
        return Reply(self.status_code, page.encode(), "text/html; charset=utf-8", self.headers())


class Empty(ErrorFault):
    """500 with no body at all."""

    name = "empty"

    def __call__(self, request: ChaosRequest) -> Outcome:
        return Reply(self.status_code, b"", None, self.headers())


class Truncated(ErrorFault):
    """500 whose JSON body stops mid-key (the HTTP body itself is complete)."""

    name = "truncated"

    def __call__(self, request: ChaosRequest) -> Outcome:
        return Reply(self.status_code, b'{"error": {"mess', headers=self.headers())


class Huge(ErrorFault):
    """500 with a valid but huge JSON error (``size`` bytes, 2 MiB by default)."""

    name = "huge"
    accepts = frozenset({"size"})

    def __call__(self, request: ChaosRequest) -> Outcome:
        size = self.params.integer("size", 2 * 1024 * 1024, lo=128, hi=64 * 1024 * 1024)
        spec = dataclasses.replace(self.spec(request), message="")
        shell = json_bytes(render_error(spec, self.dialect_name))
        filler = ("The server had an error. " * (size // 24 + 1))[: max(size - len(shell), 0)]
        body = json_bytes(render_error(dataclasses.replace(spec, message=filler), self.dialect_name))
        return Reply(self.status_code, body, headers=self.headers())


class Hanging(Fault):
    """No response: hold the connection silent for ``seconds``, then close it."""

    name = "hang"
    accepts = frozenset({"seconds"})

    def __call__(self, request: ChaosRequest) -> Outcome:
        return Hang(self.params.number("seconds", 5.0, hi=MAX_WAIT))


class Disconnection(Fault):
    """No response: close the connection at once (``reset=1`` for a TCP reset)."""

    name = "disconnect"
    accepts = frozenset({"reset"})

    def __call__(self, request: ChaosRequest) -> Outcome:
        return Disconnect(reset=self.params.flag("reset"))


class _PartialStream(Ok):
    """Base of the faults that stream ``after`` events and then misbehave."""

    accepts = frozenset({"after"})

    def __init__(self, params: Params | None = None) -> None:
        super().__init__(params)
        #: Events (chunks) sent before the fault, counted from the first one.
        self.after = self.params.integer("after", 2, hi=10000)
        self.answer = dataclasses.replace(self.answer, chunks=max(self.answer.chunks, self.after + 1))


class StreamError(_PartialStream):
    """A stream that sends an error event after ``after`` events (a 500 when not streamed)."""

    name = "stream_error"
    accepts = frozenset({"code", "type", "message", "param", "dialect", "named", "event"}) | RETRY_PARAMS

    def __init__(self, params: Params | None = None) -> None:
        super().__init__(params)
        self.dialect_name = self.params.choice("dialect", "openai", frozenset(DIALECTS))
        self.params.choice("event", "both", frozenset({"error", "failed", "both"}))

    def spec(self, status: int) -> ErrorSpec:
        """The error carried by the event (or the 500)."""
        params = self.params
        return ErrorSpec(
            status=status,
            message=params.text("message", ServerError.message),
            type=_nullable(params.text("type", "server_error")),
            code=_nullable(params.text("code", "server_error")),
            param=_nullable(params.opt_text("param")),
            retryable=True,
        )

    def __call__(self, request: ChaosRequest) -> Outcome:
        if not request.stream:
            body = json_bytes(render_error(self.spec(500), self.dialect_name))
            return Reply(500, body, headers=tuple(retry_headers(self.params)) + self.headers())
        plan = self.plan(request, dialect=self.dialect_name, named=self.params.flag("named", True))
        sent = plan.failure_point(self.after)
        events = plan.partial(sent) + plan.failure(self.spec(200), sent)
        return StreamReply(events, self.headers(), chunk_delay=self.chunk_delay)


class StreamCut(_PartialStream):
    """A body that stops early: ``after`` events then a closed socket, no final chunk."""

    name = "stream_cut"

    def __call__(self, request: ChaosRequest) -> Outcome:
        if not request.stream:
            body = json_bytes(self.body(request))
            return Reply(200, body[: len(body) // 2], headers=self.headers(), declared_length=len(body), cut=True)
        events = self.plan(request).partial(self.after)
        return StreamReply(events, self.headers(), chunk_delay=self.chunk_delay, cut=True)


class StreamStall(_PartialStream):
    """A stream that goes silent after ``after`` events for ``seconds``, then is cut."""

    name = "stream_stall"
    accepts = frozenset({"seconds"})

    def __call__(self, request: ChaosRequest) -> Outcome:
        seconds = self.params.number("seconds", 5.0, hi=MAX_WAIT)
        if not request.stream:
            return Hang(seconds)
        events = self.plan(request).partial(self.after)
        return StreamReply(events, self.headers(), chunk_delay=self.chunk_delay, stall=seconds, cut=True)


#: Fault name to class.
FAULTS: Mapping[str, type[Fault]] = {
    cls.name: cls
    for cls in (
        Ok,
        RateLimit,
        Quota,
        QuotaExceeded,
        Balance,
        Auth,
        Permission,
        NotFound,
        InvalidRequest,
        ContextLength,
        PayloadTooLarge,
        ContentFilter,
        Conflict,
        ServerError,
        Upstream,
        AllChannelsFailed,
        Overloaded,
        GatewayTimeout,
        Html,
        Empty,
        Truncated,
        Huge,
        Hanging,
        Disconnection,
        StreamError,
        StreamCut,
        StreamStall,
    )
}


def build_fault(step: Step) -> Fault:
    """Instantiate the fault a step names, checking its parameters.

    Args:
        step: A parsed script or profile step.

    Returns:
        The fault, ready to be called with a request.

    Raises:
        ValueError: For an unknown fault, an unknown parameter or a bad value.
    """
    try:
        cls = FAULTS[step.name]
    except KeyError:
        raise ValueError(f"unknown chaos fault {step.name!r}; known: {', '.join(sorted(FAULTS))}") from None
    unknown = sorted({key for key, _ in step.params} - cls.allowed_params())
    if unknown:
        raise ValueError(f"fault {step.name!r} does not take {', '.join(map(repr, unknown))}")
    return cls(step.param_map())
