"""What every generated (Stainless) SDK shares: its request options, clients, errors and responses.

The call boundary is ``request(cast_to, options, *, stream=...)`` of the
SDK's ``SyncAPIClient`` / ``AsyncAPIClient``; the attempts go through the
client's ``_client`` (an ``httpx`` or ``httpx2`` client); errors are
``APIStatusError`` (``.status_code``, ``.body``, ``.response``) and
``APIConnectionError`` / ``APITimeoutError``. This module is the only reader of
those objects, and of the HTTP library's responses and requests.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Callable, Mapping
from typing import Any, Final, NamedTuple, Protocol, TypeGuard
from urllib.parse import urlsplit

from otel_aierrors import _names as n
from otel_aierrors._redaction import Credentials
from otel_aierrors._sdks import SdkRow
from otel_aierrors._target import CallTarget

__all__ = [
    "CallFilter",
    "ErrorFacts",
    "RequestFacts",
    "ResultKind",
    "call_target",
    "client_facts",
    "error_facts",
    "lowered_headers",
    "operation_of",
    "path_of",
    "provider_for_host",
    "request_facts",
    "response_body_in_memory",
    "response_headers",
    "response_status",
    "result_kind",
    "retry_count_of",
    "server_of",
]

#: Sent by the generated SDKs on every attempt: 0 for the first, n for the n-th retry.
_RETRY_COUNT_HEADER: Final = b"x-stainless-retry-count"

#: Request paths to GenAI operation names, after any API prefix (``/v1``,
#: ``/openai/v1``, ``/inference/v1``). Other paths are named by their first segment.
_OPERATIONS: Final[Mapping[str, str]] = {
    "chat/completions": "chat",
    "completions": "text_completion",
    "responses": "chat",
    "messages": "chat",
    "embeddings": "embeddings",
    "images/generations": "generate_content",
    "images/edits": "generate_content",
    "images/variations": "generate_content",
}
#: A version segment ends the API prefix: ``v1``, ``v2beta``.
_VERSION_SEGMENT: Final = re.compile(r"v\d+[a-z0-9]*")
#: Segments longer than this are ids, not operation names.
_MAX_OPERATION_LENGTH: Final = 40


class RequestFacts(NamedTuple):
    """What a ``request()`` call says before anything is sent."""

    operation: str
    #: The request path (of an absolute URL too), checked against the row's ``internal_paths``.
    path: str
    request_model: str | None
    stream: bool
    #: ``gen_ai.request.*`` attribute names to the request's values (``max_tokens``, ``temperature``...).
    parameters: Mapping[str, Any]


class ErrorFacts(NamedTuple):
    """What an exception raised by an SDK says about the provider."""

    #: The HTTP status of an ``APIStatusError``, None when no response arrived.
    status: int | None
    #: The error body the SDK read (a mapping, text or bytes), None if it read none.
    body: Any


def operation_of(url: object) -> str:
    """The GenAI operation name of a request path or absolute URL (never the scheme or host)."""
    segments = [segment for segment in path_of(url).split("/") if segment]
    for index, segment in enumerate(segments[:3]):
        if _VERSION_SEGMENT.fullmatch(segment):
            segments = segments[index + 1 :]
            break
    rest = "/".join(segments)
    operation = _OPERATIONS.get(rest)
    if operation is not None:
        return operation
    first = segments[0] if segments else ""
    return first if 0 < len(first) <= _MAX_OPERATION_LENGTH else "unknown"


def path_of(url: object) -> str:
    """The path of a request path or absolute URL, without its query."""
    text = str(url)
    return urlsplit(text).path if "://" in text else text.split("?", 1)[0]


#: Request parameters exported as ``gen_ai.request.*`` attributes.
_PARAMETERS: Final[Mapping[str, str]] = {
    "max_tokens": n.GEN_AI_REQUEST_MAX_TOKENS,
    "max_completion_tokens": n.GEN_AI_REQUEST_MAX_TOKENS,
    "max_output_tokens": n.GEN_AI_REQUEST_MAX_TOKENS,
    "temperature": n.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": n.GEN_AI_REQUEST_TOP_P,
    "top_k": n.GEN_AI_REQUEST_TOP_K,
    "seed": n.GEN_AI_REQUEST_SEED,
    "frequency_penalty": n.GEN_AI_REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": n.GEN_AI_REQUEST_PRESENCE_PENALTY,
    "n": n.GEN_AI_REQUEST_CHOICE_COUNT,
}


#: Bound of the per-path, per-host and per-URL caches below; a client uses a handful of each.
_CACHE_SIZE: Final = 256


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _route(url: str) -> tuple[str, str]:
    """(path, operation) of a request URL, cached: the SDK sends the same few paths again and again."""
    return path_of(url), operation_of(url)


def request_facts(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> RequestFacts:
    """Read ``request(cast_to, options, *, stream=...)``'s arguments."""
    options = args[1] if len(args) > 1 else kwargs["options"]
    json_data = options.json_data
    model = None
    parameters: dict[str, Any] = {}
    if type(json_data) is dict or isinstance(json_data, Mapping):
        model = json_data.get("model")
        # The request's few keys, not the ten names: a chat request has two or three.
        for name, value in json_data.items():
            convention = _PARAMETERS.get(name)
            if (
                convention is not None
                and convention not in parameters
                and isinstance(value, (int, float))
                and type(value) is not bool  # nor a NotGiven sentinel
            ):
                parameters[convention] = value
    url = options.url
    path, operation = _route(url if type(url) is str else str(url))
    return RequestFacts(  # positional: a NamedTuple built from keywords costs twice as much
        operation,
        path,
        model if isinstance(model, str) and model else None,
        bool(kwargs.get("stream", False)),
        parameters,
    )


class CallFilter(Protocol):
    """What `call_target` asks of an SDK's adapter (`otel_aierrors._sdks.adapters.SdkAdapter` is one)."""

    #: The SDK's row: its ``internal_paths`` are its own housekeeping, not calls.
    @property
    def row(self) -> SdkRow: ...
    #: The provider of a client, by its class.
    @property
    def provider_of_class(self) -> Callable[[type], str]: ...


def call_target(
    adapter: CallFilter, client: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> CallTarget | None:
    """What a ``request()`` call of ``client`` targets, read once from the generated SDK's shapes.

    None for a request that is the SDK's own housekeeping (a path of the row's ``internal_paths``).
    """
    facts = request_facts(args, kwargs)
    if facts.path in adapter.row.internal_paths:
        return None
    base_url, http_client, api_key, headers, query = client_facts(client)
    address, port = server_of(base_url)
    return CallTarget(  # positional: a NamedTuple built from keywords costs twice as much
        facts.operation,  # operation
        provider_for_host(address, adapter.provider_of_class(type(client))),  # provider
        facts.request_model,  # request_model
        address,  # server_address
        port,  # server_port
        facts.stream,  # stream
        Credentials(api_key, headers, query, base_url),  # credentials
        http_client,  # http_client
        facts.parameters,  # parameters
    )


def client_facts(client: Any) -> tuple[Any, object | None, str | None, Mapping[str, Any], Mapping[str, Any]]:
    """(base URL, HTTP client, API key, custom headers, custom query) of an SDK client."""
    api_key = getattr(client, "api_key", None)
    headers = getattr(client, "_custom_headers", None)
    query = getattr(client, "_custom_query", None)
    # ``_base_url`` is what the ``base_url`` property returns; openai 3.x's property imports a module per read.
    base_url = getattr(client, "_base_url", None)
    return (
        client.base_url if base_url is None else base_url,
        getattr(client, "_client", None),
        api_key if isinstance(api_key, str) else None,
        headers if type(headers) is dict or isinstance(headers, Mapping) else {},  # dict: skips the ABC check
        query if type(query) is dict or isinstance(query, Mapping) else {},
    )


#: Hosts whose provider has a GenAI semantic-convention name. Any other host
#: keeps the SDK's own provider (``openai`` for an OpenAI-compatible gateway),
#: and its ``server.address`` tells gateways apart.
_PROVIDERS_BY_HOST_SUFFIX: Final = (
    (".openai.azure.com", "azure.ai.openai"),
    ("api.deepseek.com", "deepseek"),
    ("api.groq.com", "groq"),
    ("api.x.ai", "x_ai"),
    ("api.mistral.ai", "mistral_ai"),
    ("api.perplexity.ai", "perplexity"),
    ("generativelanguage.googleapis.com", "gcp.gemini"),
    ("api.anthropic.com", "anthropic"),
)

_server_cache: dict[int, tuple[object, str, int | None]] = {}


def server_of(base_url: Any) -> tuple[str, int | None]:
    """(address, port) of a client's base URL, cached by URL object."""
    cached = _server_cache.get(id(base_url))
    if cached is not None and cached[0] is base_url:
        return cached[1], cached[2]
    host = str(base_url.host)
    port = base_url.port or (443 if base_url.scheme == "https" else 80)
    if len(_server_cache) >= _CACHE_SIZE:
        _server_cache.clear()
    _server_cache[id(base_url)] = (base_url, host, port)
    return host, port


def provider_for_host(host: str, default: str) -> str:
    """The GenAI provider name a host implies, else the SDK's own."""
    provider = _provider_of_host(host)
    return default if provider is None else provider


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _provider_of_host(host: str) -> str | None:
    return next((name for suffix, name in _PROVIDERS_BY_HOST_SUFFIX if host.endswith(suffix)), None)


def error_facts(exception: BaseException) -> ErrorFacts:
    """The status and body an SDK exception carries (both None for anything else)."""
    status = getattr(exception, "status_code", None)
    # ``.body`` is the whole error body or its ``error`` member; the taxonomy reads both.
    body = getattr(exception, "body", None)
    if body is None and isinstance(status, int):
        body = _content_if_read(getattr(exception, "response", None))
    return ErrorFacts(status if isinstance(status, int) and not isinstance(status, bool) else None, body)


class ResultKind(enum.Enum):
    """What ``request()`` returned, as the call's end depends on it."""

    #: A parsed object (a pydantic model, a list, a string...): the call ends now.
    PLAIN = "plain"
    #: An SDK ``Stream`` / ``AsyncStream``: the call ends when the stream does.
    STREAM = "stream"
    #: A ``with_raw_response`` / ``with_streaming_response`` object: the call ends when it is parsed or closed.
    RAW_RESPONSE = "raw_response"


#: Result types seen, to their kind: a type's instances share one shape, and a
#: ``hasattr`` that misses on a pydantic model raises inside ``__getattr__``
#: (about 2 µs each, twice per call before this cache).
_result_kinds: dict[type, ResultKind] = {}


def result_kind(value: Any) -> ResultKind:
    """Whether ``value`` is a plain result, a stream or a raw response (decided once per type)."""
    kind = _result_kinds.get(type(value))
    if kind is None:
        if hasattr(value, "response") and (hasattr(value, "__next__") or hasattr(value, "__anext__")):
            kind = ResultKind.STREAM
        elif hasattr(value, "parse") and hasattr(value, "http_response"):
            kind = ResultKind.RAW_RESPONSE
        else:
            kind = ResultKind.PLAIN
        # A proxy's class (wrapt's ``ObjectProxy``) may wrap anything: decided per instance.
        if len(_result_kinds) < _CACHE_SIZE and not hasattr(type(value), "__wrapped__"):
            _result_kinds[type(value)] = kind
    return kind


def retry_count_of(request: Any) -> int | None:
    """The SDK's own retry counter on an outgoing HTTP request."""
    headers = request.headers
    items = getattr(headers, "_list", None)
    if _is_lowered_list(items):  # see `response_headers`; ``get`` would decode every header first
        value = None
        for _, lowered, found in items:
            if lowered == _RETRY_COUNT_HEADER:
                value = found
                break
    else:
        text = headers.get(_RETRY_COUNT_HEADER.decode())
        value = text.encode() if isinstance(text, str) else None
    return int(value) if value and value.isdigit() else None


def response_status(response: Any) -> int:
    """The status of an ``httpx`` / ``httpx2`` response."""
    status = response.status_code
    if not isinstance(status, int):
        raise TypeError(f"status_code is a {type(status).__qualname__}")
    return status


def response_headers(response: Any) -> list[tuple[bytes, bytes]]:
    """The (lower-cased name, value) header pairs of an ``httpx`` / ``httpx2`` response.

    Both libraries keep the lower-cased names they already computed in
    ``Headers._list``; reusing them saves lower-casing every header of every
    response again. Should a release drop that private list, ``raw`` is used.
    """
    return lowered_headers(response.headers)


def lowered_headers(headers: Any) -> list[tuple[bytes, bytes]]:
    """(lower-cased name, value) pairs of an ``httpx`` / ``httpx2`` ``Headers`` (see above)."""
    items = getattr(headers, "_list", None)
    if _is_lowered_list(items):
        return [(lowered, value) for _, lowered, value in items]
    return [(name.lower(), value) for name, value in headers.raw]


def _is_lowered_list(items: object) -> TypeGuard[list[tuple[bytes, bytes, bytes]]]:
    """Whether ``items`` is the (raw name, lower-cased name, value) list of an httpx ``Headers``."""
    return isinstance(items, list) and (not items or len(items[0]) == 3)


def response_body_in_memory(response: Any) -> bytes | None:
    """The body of a response the HTTP library has already read, else None; never reads."""
    return _content_if_read(response)


def _content_if_read(response: Any) -> bytes | None:
    if response is None:
        return None
    try:
        content = response.content  # raises ResponseNotRead, reads nothing, when the body is not in memory
    except Exception:
        return None
    return content if isinstance(content, bytes) else None
