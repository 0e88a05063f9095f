"""The contract between faults and the server: a parsed request in, an outcome out.

Faults never touch sockets. They read a :class:`ChaosRequest` and return one
of four outcomes, which :mod:`otel_aierrors.chaos.server` puts on the wire:

::

    Outcome
     +-- Reply         a complete response (status, headers, body)
     +-- StreamReply   an SSE body sent event by event, ended cleanly, cut or closed early
     +-- Hang          accept the request, send nothing for a while, close
     +-- Disconnect    close the connection without any response

Keeping the wire out of the faults lets them be tested as plain functions and
keeps every socket detail (chunking, resets, slow readers) in one module.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "ChaosRequest",
    "Disconnect",
    "Endpoint",
    "Hang",
    "Header",
    "Outcome",
    "Pace",
    "Reply",
    "StreamReply",
    "json_bytes",
]

#: One response header, name then value.
Header = tuple[str, str]


class Endpoint(enum.Enum):
    """The OpenAI-compatible routes the chaos server answers."""

    CHAT = "chat.completions"
    #: Anthropic's Messages API (``POST /v1/messages``).
    MESSAGES = "messages"
    COMPLETIONS = "completions"
    EMBEDDINGS = "embeddings"
    RESPONSES = "responses"
    IMAGES = "images.generations"
    MODELS = "models.list"
    MODEL = "models.retrieve"
    #: ``GET /v1/responses/{id}``: a (background) response polled.
    RESPONSE = "responses.retrieve"
    VIDEOS = "videos.create"
    VIDEO = "videos.retrieve"
    BATCHES = "batches.create"
    BATCH = "batches.retrieve"
    UNKNOWN = "unknown"

    @property
    def streams(self) -> bool:
        """Whether the endpoint can answer with server-sent events."""
        return self in (Endpoint.CHAT, Endpoint.COMPLETIONS, Endpoint.RESPONSES, Endpoint.MESSAGES)


@dataclass(frozen=True)
class ChaosRequest:
    """What a fault may know about the request it answers."""

    #: HTTP method, upper case.
    method: str
    #: Request path without the query string.
    path: str
    #: Route the path maps to.
    endpoint: Endpoint
    #: Request headers with lower-cased names.
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Decoded JSON body (empty for GET or a non-object body).
    body: Mapping[str, object] = field(default_factory=dict)
    #: Value of ``x-stainless-retry-count`` (0 when absent).
    retry_count: int = 0
    #: ``http://host:port`` of the server, for URLs inside bodies.
    origin: str = "http://127.0.0.1"
    #: Model id taken from the path of ``GET /v1/models/{id}``.
    path_model: str | None = None
    #: Job id taken from the path of ``GET /v1/responses|videos|batches/{id}``.
    path_id: str | None = None
    #: The query string, without the ``?`` (empty when absent).
    query: str = ""

    @property
    def model(self) -> str:
        """The requested model, or a plausible default."""
        value = self.body.get("model")
        if isinstance(value, str) and value:
            return value
        return self.path_model or "gpt-4o-mini"

    @property
    def stream(self) -> bool:
        """Whether the client asked for server-sent events on a streaming route."""
        return self.endpoint.streams and self.body.get("stream") is True

    @property
    def include_usage(self) -> bool:
        """Whether ``stream_options.include_usage`` is true."""
        options = self.body.get("stream_options")
        return isinstance(options, Mapping) and options.get("include_usage") is True

    @property
    def api_key(self) -> str | None:
        """The bearer token the client sent, verbatim (else ``x-api-key``, else ``api-key``)."""
        auth = self.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token:
            return token.strip()
        return self.headers.get("x-api-key", self.headers.get("api-key"))


@dataclass(frozen=True)
class Pace:
    """How slowly a body leaves: a wait after the headers, then pieces with waits between."""

    #: Seconds between the headers and the first body byte.
    before: float = 0.0
    #: Seconds between two pieces of the body.
    between: float = 0.0
    #: Number of pieces the body is sent in (when :attr:`between` is set).
    pieces: int = 10

    @property
    def slow(self) -> bool:
        """Whether the body is paced at all."""
        return self.before > 0 or self.between > 0


@dataclass(frozen=True)
class Reply:
    """A complete HTTP response."""

    status: int
    body: bytes = b""
    #: ``Content-Type``; None sends no such header.
    content_type: str | None = "application/json"
    headers: tuple[Header, ...] = ()
    #: ``Content-Length`` to announce when it must differ from ``len(body)``:
    #: a larger value plus :attr:`cut` gives a body that ends early.
    declared_length: int | None = None
    #: Close the connection right after writing, without finishing the body.
    cut: bool = False
    #: Send no ``Content-Length``: the body ends when the server closes the connection.
    close_delimited: bool = False
    #: How slowly the body is sent.
    pace: Pace = Pace()


@dataclass(frozen=True)
class StreamReply:
    """An SSE response sent with ``Transfer-Encoding: chunked``, one chunk per event."""

    #: Encoded SSE events (``event: ...\\ndata: ...\\n\\n``), in order.
    events: tuple[bytes, ...]
    headers: tuple[Header, ...] = ()
    status: int = 200
    #: Seconds to wait before each event after the first; lets the server notice a
    #: client that hung up (the wait watches the socket).
    chunk_delay: float = 0.0
    #: Seconds to stall after the last event, before ending or cutting.
    stall: float = 0.0
    #: End by closing the socket without the terminating zero-length chunk, so
    #: the client sees an incomplete body rather than a clean end.
    cut: bool = False
    #: Send neither ``Content-Length`` nor chunked framing: the body ends, cleanly
    #: for the client, when the server closes the connection after the last event.
    close_delimited: bool = False


@dataclass(frozen=True)
class Hang:
    """Read the request, send nothing for ``seconds``, then close the connection."""

    seconds: float


@dataclass(frozen=True)
class Disconnect:
    """Close the connection without sending a response."""

    #: Send a TCP reset (``SO_LINGER`` 0) instead of an orderly close.
    reset: bool = False


#: Everything a fault can ask the server to do.
Outcome = Reply | StreamReply | Hang | Disconnect


def json_bytes(value: object) -> bytes:
    """Serialize a body compactly, as the real API does."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
