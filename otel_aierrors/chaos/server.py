"""``ChaosServer``: an OpenAI-compatible HTTP server that injects faults.

It owns the wire: routing, request parsing, choosing a step (the request's
``x-chaos-script`` first, else a draw from the active profile), then putting
the fault's outcome on the socket exactly as asked, including the rude parts
(silence, resets, bodies cut mid-chunk). It also keeps a thread-safe record of
what it did, so tests can assert on the server's side of a conversation: how
many attempts arrived, what each got, and whether the client hung up early.

Built on :class:`http.server.ThreadingHTTPServer` (one thread per connection,
HTTP/1.1 keep-alive), so sync and async clients in the same process can use
it from a background thread. Routes (under ``/v1``)::

    POST /v1/chat/completions     POST /v1/completions      POST /v1/embeddings
    POST /v1/responses            POST /v1/images/generations
    GET  /v1/models               GET  /v1/models/{id}
    GET  /_chaos                  POST /_chaos   (profile, rates, latency, seed)

Any other path gets OpenAI's 404 ``Invalid URL`` error.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import json
import random
import select
import socket
import struct
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from types import TracebackType
from typing import Any

from .dialects import ErrorSpec, render_error
from .exchange import ChaosRequest, Disconnect, Endpoint, Hang, Header, Outcome, Reply, StreamReply, json_bytes
from .faults import SSE_CONTENT_TYPE, build_fault
from .headers import new_request_id
from .profiles import Profile, get_profile
from .script import RETRY_COUNT_HEADER, SCRIPT_HEADER, TAG_HEADER, Step, parse_script, step_for_attempt

__all__ = ["ChaosServer", "RequestRecord", "serve"]

#: A sink for one log line per request.
LogSink = Callable[[str], None]

_ROUTES: Mapping[tuple[str, str], Endpoint] = {
    ("POST", "/v1/chat/completions"): Endpoint.CHAT,
    ("POST", "/v1/completions"): Endpoint.COMPLETIONS,
    ("POST", "/v1/embeddings"): Endpoint.EMBEDDINGS,
    ("POST", "/v1/responses"): Endpoint.RESPONSES,
    ("POST", "/v1/images/generations"): Endpoint.IMAGES,
    ("GET", "/v1/models"): Endpoint.MODELS,
}
_MAX_BODY = 64 * 1024 * 1024
_POLL = 0.05
_CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


@dataclass(frozen=True)
class RequestRecord:
    """What the server received and did for one request."""

    method: str
    path: str
    #: Status sent, or None when no response was sent (``hang``, ``disconnect``).
    status: int | None
    #: Fault name (``ok``, ``rate_limit``...), or ``invalid_url`` / ``invalid_step`` /
    #: ``invalid_json`` / ``control`` for requests that never reached a fault.
    fault: str
    #: The full step, in script syntax.
    step: str
    #: ``x-stainless-retry-count`` of the request (0 when absent).
    retry_count: int
    #: Whether the client hung up before the server finished its answer.
    client_closed: bool
    #: Seconds from reading the request to the answer's last write (or to hanging up).
    duration: float
    #: ``x-request-id`` sent, when a response was sent.
    request_id: str | None
    #: Whether the answer was an SSE stream.
    stream: bool
    #: Model named in the request body, if any.
    model: str | None
    #: Serial number of the TCP connection (1, 2, ...).
    connection_id: int
    #: ``x-chaos-tag`` of the request, if any.
    tag: str | None
    #: Whether the step came from an ``x-chaos-script`` header.
    scripted: bool


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _HTTPServer(ThreadingHTTPServer):
    """Threading server that tracks its connections for the chaos bookkeeping."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, chaos: ChaosServer, address: tuple[str, int]) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.chaos = chaos
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the FQDN, which can stall on DNS; skip it.
        TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        connection_id = self.chaos._connection_opened(request)
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"{self.chaos.thread_prefix}conn-{connection_id}",
            daemon=True,
        )
        self.chaos._track_thread(thread)
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        self.chaos._connection_closed(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, (*_CLIENT_GONE, TimeoutError)):
            return
        self.chaos._emit("chaos server error:\n" + traceback.format_exc())


class _Handler(BaseHTTPRequestHandler):
    """One connection; ``_dispatch`` handles each request on it."""

    protocol_version = "HTTP/1.1"
    server_version = "otel-aierrors-chaos"
    sys_version = ""
    #: Idle keep-alive connections are closed after this many seconds.
    timeout = 120
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes; without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every small response.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log; :class:`ChaosServer` logs instead."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    # -- reading -----------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        if length > _MAX_BODY:
            raise ValueError("request body too large for the chaos server")
        return self.rfile.read(length) if length > 0 else b""

    # -- dispatch ----------------------------------------------------------------

    def _dispatch(self) -> None:
        chaos = self.server.chaos
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        headers = {key.lower(): value for key, value in self.headers.items()}
        try:
            raw = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        retry_count = _retry_count(headers.get(RETRY_COUNT_HEADER))
        note = _Note(self.command, path, retry_count, headers.get(TAG_HEADER), chaos.connection_id(self.connection))

        if path == "/_chaos":
            status, state = chaos._control(self.command, raw)
            self._reply(Reply(status, json_bytes(state)), note.done(fault="control", step="control"))
            self._finish(note)
            return

        endpoint, path_model = _route(self.command, path)
        if endpoint is Endpoint.UNKNOWN:
            spec = ErrorSpec(404, f"Invalid URL ({self.command} {path})", "invalid_request_error", None)
            self._reply(Reply(404, json_bytes(render_error(spec))), note.done(fault="invalid_url"))
            self._finish(note)
            return

        try:
            decoded = json.loads(raw) if raw.strip() else {}
        except ValueError:
            spec = ErrorSpec(
                400,
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
                "using your HTTP library correctly.)",
                "invalid_request_error",
                None,
            )
            self._reply(Reply(400, json_bytes(render_error(spec))), note.done(fault="invalid_json"))
            self._finish(note)
            return
        payload: Mapping[str, object] = decoded if isinstance(decoded, dict) else {}
        request = ChaosRequest(
            method=self.command,
            path=path,
            endpoint=endpoint,
            headers=headers,
            body=payload,
            retry_count=retry_count,
            origin=chaos.url,
            path_model=path_model,
        )
        note.model = request.model if isinstance(payload.get("model"), str) else path_model
        note.stream = request.stream

        script = headers.get(SCRIPT_HEADER)
        try:
            if script is not None:
                step = step_for_attempt(parse_script(script), retry_count)
                note.scripted = True
            else:
                step = chaos._draw_step()
            note.fault, note.step = step.name, step.spec
            fault = build_fault(step)
        except ValueError as error:
            spec = ErrorSpec(400, f"chaos: {error}", "invalid_request_error", "chaos_invalid_step")
            self._reply(Reply(400, json_bytes(render_error(spec))), note.done(fault="invalid_step", step=script))
            self._finish(note)
            return

        if fault.delay and chaos._wait(fault.delay):
            self.close_connection = True  # server stopping
            self._finish(note)
            return
        try:
            outcome: Outcome = fault(request)
        except Exception as error:  # a bug in a fault must not kill the connection thread
            chaos._emit(f"chaos fault {step.spec!r} failed: {error!r}")
            spec = ErrorSpec(500, f"chaos: fault {step.name!r} failed: {error}", "server_error", "chaos_bug")
            outcome = Reply(500, json_bytes(render_error(spec)))
        self._execute(outcome, note)
        self._finish(note)

    # -- writing -----------------------------------------------------------------

    def _execute(self, outcome: Outcome, note: _Note) -> None:
        if isinstance(outcome, Reply):
            self._reply(outcome, note)
        elif isinstance(outcome, StreamReply):
            self._stream(outcome, note)
        elif isinstance(outcome, Hang):
            note.client_closed = self._wait_or_gone(outcome.seconds)
            self.close_connection = True
        elif isinstance(outcome, Disconnect):
            self.close_connection = True
            if outcome.reset:
                with contextlib.suppress(OSError):
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    # The descriptor really closes (with a reset) once rfile/wfile are closed
                    # in finish(), before shutdown_request could send an orderly FIN.
                    self.connection.close()

    def _head(self, status: int, headers: tuple[Header, ...], note: _Note) -> bytes:
        """Compose the status line and headers, to be written together with what follows.

        One write per response (or per event) keeps small answers in one TCP segment.
        """
        request_id = new_request_id()
        note.status, note.request_id = status, request_id
        reason = self.responses.get(status, ("",))[0]
        lines = [
            f"{self.protocol_version} {status} {reason}",
            f"server: {self.version_string()}",
            f"date: {self.date_time_string()}",
            f"x-request-id: {request_id}",
            f"openai-processing-ms: {max(1, round(note.elapsed() * 1000))}",
            *(f"{name}: {value}" for name, value in headers),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _commit(self, note: _Note) -> None:
        """Publish the record before the last byte goes out, so a client never sees the end first."""
        if note.record is None:
            note.record = self.server.chaos._record(note)

    def _finish(self, note: _Note) -> None:
        """Publish the record if not done yet, and log the final version of it."""
        self._commit(note)
        assert note.record is not None
        self.server.chaos._log_record(note.record)

    def _send_last(self, data: bytes, note: _Note) -> None:
        self._commit(note)
        try:
            self.wfile.write(data)
        except _CLIENT_GONE:
            self._client_gone(note)

    def _client_gone(self, note: _Note) -> None:
        note.client_closed = True
        self.close_connection = True
        if note.record is not None:
            note.record = self.server.chaos._amend(note.record, client_closed=True)

    def _reply(self, reply: Reply, note: _Note) -> None:
        headers = list(reply.headers)
        if reply.content_type is not None:
            headers.append(("content-type", reply.content_type))
        length = reply.declared_length if reply.declared_length is not None else len(reply.body)
        headers.append(("content-length", str(length)))
        if reply.cut:
            self.close_connection = True
        self._send_last(self._head(reply.status, tuple(headers), note) + reply.body, note)

    def _stream(self, reply: StreamReply, note: _Note) -> None:
        note.stream = True
        headers = (
            *reply.headers,
            ("content-type", SSE_CONTENT_TYPE),
            ("cache-control", "no-cache"),
            ("transfer-encoding", "chunked"),
        )
        pending = self._head(reply.status, headers, note)
        try:
            for index, event in enumerate(reply.events):
                if index:
                    self.wfile.write(pending)
                    pending = b""
                    if self._wait_or_gone(reply.chunk_delay):
                        self._client_gone(note)
                        return
                pending += b"%x\r\n%s\r\n" % (len(event), event)
            if reply.stall:
                self.wfile.write(pending)
                pending = b""
                if self._wait_or_gone(reply.stall):
                    self._client_gone(note)
                    return
        except _CLIENT_GONE:
            self._client_gone(note)
            return
        if reply.cut:
            self.close_connection = True
        else:
            pending += b"0\r\n\r\n"
        self._send_last(pending, note)

    def _wait_or_gone(self, seconds: float) -> bool:
        """Wait up to ``seconds`` while watching the socket; True if the client hung up.

        Also returns (False) early when the server is stopping.
        """
        chaos = self.server.chaos
        deadline = time.monotonic() + seconds
        while True:
            try:
                readable, _, _ = select.select([self.connection], [], [], 0)
                if readable and self.connection.recv(1, socket.MSG_PEEK) == b"":
                    return True
            except _CLIENT_GONE:
                return True
            except (OSError, ValueError):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if chaos._wait(min(remaining, _POLL)):
                return False


class _Note:
    """Mutable notes taken while one request is served, frozen into a :class:`RequestRecord`."""

    def __init__(self, method: str, path: str, retry_count: int, tag: str | None, connection_id: int) -> None:
        self.method = method
        self.path = path
        self.retry_count = retry_count
        self.tag = tag
        self.connection_id = connection_id
        self.started = time.monotonic()
        self.status: int | None = None
        self.fault = "-"
        self.step = "-"
        self.client_closed = False
        self.request_id: str | None = None
        self.stream = False
        self.model: str | None = None
        self.scripted = False
        #: The record once published.
        self.record: RequestRecord | None = None

    def done(self, *, fault: str, step: str | None = None) -> _Note:
        self.fault = fault
        self.step = step or fault
        return self

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def freeze(self) -> RequestRecord:
        return RequestRecord(
            method=self.method,
            path=self.path,
            status=self.status,
            fault=self.fault,
            step=self.step,
            retry_count=self.retry_count,
            client_closed=self.client_closed,
            duration=self.elapsed(),
            request_id=self.request_id,
            stream=self.stream,
            model=self.model,
            connection_id=self.connection_id,
            tag=self.tag,
            scripted=self.scripted,
        )


def _retry_count(raw: str | None) -> int:
    try:
        return max(int(raw or 0), 0)
    except ValueError:
        return 0


def _route(method: str, path: str) -> tuple[Endpoint, str | None]:
    endpoint = _ROUTES.get((method, path))
    if endpoint is not None:
        return endpoint, None
    if method == "GET" and path.startswith("/v1/models/") and len(path) > len("/v1/models/"):
        return Endpoint.MODEL, path[len("/v1/models/") :]
    return Endpoint.UNKNOWN, None


class ChaosServer:
    """An OpenAI-compatible server on a background thread that injects faults.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`::

        with ChaosServer(profile="flaky", seed=7) as server:
            client = openai.OpenAI(base_url=server.base_url, api_key="sk-test")

    Args:
        host: Interface to bind; loopback only unless ``allow_remote``.
        port: TCP port; 0 picks a free one (see :attr:`port`).
        profile: Name in :data:`~otel_aierrors.chaos.profiles.PROFILES` or a
            :class:`~otel_aierrors.chaos.profiles.Profile`.
        seed: Seed of the random draws from the profile.
        allow_remote: Allow binding a non-loopback interface.
        log: Called with one line per request (and on internal errors).
        max_seconds: Stop by itself after this many seconds of running.

    Raises:
        ValueError: For a non-loopback host without ``allow_remote``, or an
            unknown profile.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        profile: str | Profile = "healthy",
        seed: int = 0,
        allow_remote: bool = False,
        log: LogSink | None = None,
        max_seconds: float | None = None,
    ) -> None:
        if not allow_remote and not _is_loopback(host):
            raise ValueError(
                f"refusing to serve chaos on non-loopback host {host!r}: it answers anyone with fake "
                "completions and echoes API keys; pass allow_remote=True to do it anyway"
            )
        self._host = host
        self._requested_port = port
        self._profile = get_profile(profile)
        self._seed = seed
        self._rng = random.Random(seed)
        self._log = log
        self._max_seconds = max_seconds
        self._cond = threading.Condition()
        self._records: list[RequestRecord] = []
        self._connections: dict[int, socket.socket] = {}
        self._socket_ids: dict[int, int] = {}
        self._opened = 0
        self._closed = 0
        self._threads: list[threading.Thread] = []
        self._stop_event = threading.Event()
        self._stopped_event = threading.Event()
        self._stop_lock = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._serve_thread: threading.Thread | None = None
        self._watchdog: threading.Thread | None = None
        self._started_at = 0.0

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> ChaosServer:
        """Bind and serve on a daemon thread; returns ``self``.

        Raises:
            RuntimeError: If the server was already started.
        """
        if self._httpd is not None:
            raise RuntimeError("ChaosServer already started")
        self._httpd = _HTTPServer(self, (self._host, self._requested_port))
        self._started_at = time.monotonic()
        self._serve_thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": _POLL},
            name=f"{self.thread_prefix}server",
            daemon=True,
        )
        self._serve_thread.start()
        if self._max_seconds is not None:
            self._watchdog = threading.Thread(target=self._watch, name=f"{self.thread_prefix}watchdog", daemon=True)
            self._watchdog.start()
        self._emit(f"chaos server listening on {self.base_url} (profile={self._profile.name}, seed={self._seed})")
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, hang up every connection and join the threads (at most ``timeout`` s).

        Safe to call more than once and after :attr:`max_seconds` stopped it.
        """
        self._shutdown(timeout)
        watchdog = self._watchdog
        if watchdog is not None and watchdog is not threading.current_thread():
            watchdog.join(timeout)

    def __enter__(self) -> ChaosServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _watch(self) -> None:
        assert self._max_seconds is not None
        if not self._stop_event.wait(self._max_seconds):
            self._emit(f"chaos server stopping after max_seconds={self._max_seconds:g}")
            self._shutdown(5.0)

    def _shutdown(self, timeout: float) -> None:
        with self._stop_lock:
            httpd = self._httpd
            if httpd is None or self._stopped_event.is_set():
                return
            deadline = time.monotonic() + timeout
            self._stop_event.set()
            httpd.shutdown()
            with self._cond:
                sockets = list(self._connections.values())
                threads = list(self._threads)
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            for thread in [self._serve_thread, *threads]:
                if thread is not None and thread is not threading.current_thread():
                    thread.join(max(deadline - time.monotonic(), 0.0))
            httpd.server_close()
            self._stopped_event.set()
            with self._cond:
                self._cond.notify_all()

    def wait_stopped(self, timeout: float | None = None) -> bool:
        """Block until the server has stopped; True if it did within ``timeout``."""
        return self._stopped_event.wait(timeout)

    @property
    def stopped(self) -> bool:
        """Whether the server has stopped (by :meth:`stop` or ``max_seconds``)."""
        return self._stopped_event.is_set()

    # -- addresses -----------------------------------------------------------------

    @property
    def host(self) -> str:
        """The interface served."""
        return self._host

    @property
    def port(self) -> int:
        """The bound TCP port.

        Raises:
            RuntimeError: Before :meth:`start`.
        """
        if self._httpd is None:
            raise RuntimeError("ChaosServer not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://host:port``."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def thread_prefix(self) -> str:
        """Prefix of the names of this server's threads (``chaos-<port>-``), for leak checks."""
        return f"chaos-{self.port}-"

    @property
    def base_url(self) -> str:
        """``http://host:port/v1``, the value for the SDK's ``base_url``."""
        return f"{self.url}/v1"

    # -- profile -------------------------------------------------------------------

    @property
    def profile(self) -> Profile:
        """The active profile."""
        with self._cond:
            return self._profile

    def set_profile(self, profile: str | Profile, *, seed: int | None = None) -> None:
        """Switch profile (and optionally reseed) while running.

        Raises:
            ValueError: For an unknown profile name.
        """
        resolved = get_profile(profile)
        with self._cond:
            self._profile = resolved
            if seed is not None:
                self._seed = seed
                self._rng = random.Random(seed)

    def _draw_step(self) -> Step:
        with self._cond:
            return self._profile.choose(self._rng)

    # -- records -------------------------------------------------------------------

    @property
    def requests(self) -> tuple[RequestRecord, ...]:
        """Every request answered so far, oldest first."""
        with self._cond:
            return tuple(self._records)

    def requests_tagged(self, tag: str) -> tuple[RequestRecord, ...]:
        """The requests that carried ``x-chaos-tag: tag``."""
        with self._cond:
            return tuple(record for record in self._records if record.tag == tag)

    def clear(self) -> None:
        """Forget the request records (connection counters are kept)."""
        with self._cond:
            self._records.clear()

    @property
    def open_connections(self) -> int:
        """Connections accepted and not yet closed."""
        with self._cond:
            return self._opened - self._closed

    @property
    def connections_opened(self) -> int:
        """Connections accepted since start."""
        with self._cond:
            return self._opened

    @property
    def connections_closed(self) -> int:
        """Connections closed since start (by either side)."""
        with self._cond:
            return self._closed

    def connection_id(self, sock: socket.socket) -> int:
        """Serial number of an accepted connection's socket (0 if unknown)."""
        with self._cond:
            return self._socket_ids.get(id(sock), 0)

    def is_open(self, connection_id: int) -> bool:
        """Whether connection ``connection_id`` is still open."""
        with self._cond:
            return connection_id in self._connections

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 2.0) -> bool:
        """Wait until ``predicate()`` is true, re-checking on every record or connection change.

        Args:
            predicate: Condition over this server's state, e.g.
                ``lambda: server.open_connections == 0``.
            timeout: Seconds to wait at most.

        Returns:
            Whether the predicate became true in time.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, _POLL))
            return True

    def counters(self) -> dict[str, object]:
        """Request and connection counters, JSON-ready."""
        with self._cond:
            return {
                "requests": len(self._records),
                "by_fault": dict(Counter(record.fault for record in self._records)),
                "by_status": {
                    str(status): count for status, count in Counter(record.status for record in self._records).items()
                },
                "client_closed": sum(record.client_closed for record in self._records),
                "connections_opened": self._opened,
                "connections_closed": self._closed,
                "open_connections": self._opened - self._closed,
            }

    def snapshot(self) -> dict[str, object]:
        """Profile, seed and counters: the body of ``GET /_chaos``."""
        with self._cond:
            profile = self._profile.describe()
            seed = self._seed
        return {
            "profile": profile["name"],
            "rates": profile["rates"],
            "latency": profile["latency"],
            "seed": seed,
            "uptime": round(time.monotonic() - self._started_at, 3),
            "counters": self.counters(),
        }

    # -- hooks used by the HTTP layer ----------------------------------------------

    def _connection_opened(self, sock: socket.socket) -> int:
        with self._cond:
            self._opened += 1
            self._connections[self._opened] = sock
            self._socket_ids[id(sock)] = self._opened
            self._cond.notify_all()
            return self._opened

    def _connection_closed(self, sock: socket.socket) -> None:
        with self._cond:
            connection_id = self._socket_ids.pop(id(sock), None)
            if connection_id is not None:
                self._connections.pop(connection_id, None)
                self._closed += 1
            self._threads = [thread for thread in self._threads if thread.is_alive()]
            self._cond.notify_all()

    def _track_thread(self, thread: threading.Thread) -> None:
        with self._cond:
            self._threads.append(thread)

    def _wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True if the server is stopping."""
        return self._stop_event.wait(seconds)

    def _record(self, note: _Note) -> RequestRecord:
        record = note.freeze()
        with self._cond:
            self._records.append(record)
            self._cond.notify_all()
        return record

    def _amend(self, record: RequestRecord, **changes: Any) -> RequestRecord:
        """Replace a published record (e.g. the client hung up during the last write)."""
        amended = dataclasses.replace(record, **changes)
        with self._cond:
            for index in range(len(self._records) - 1, -1, -1):
                if self._records[index] is record:
                    self._records[index] = amended
                    break
            self._cond.notify_all()
        return amended

    def _log_record(self, record: RequestRecord) -> None:
        status = record.status if record.status is not None else "-"
        flags = "".join((" stream" if record.stream else "", " client-closed" if record.client_closed else ""))
        self._emit(
            f"{record.method} {record.path} fault={record.step} status={status} "
            f"retry={record.retry_count} {record.duration * 1000:.0f}ms{flags}"
        )

    def _emit(self, line: str) -> None:
        if self._log is not None:
            with contextlib.suppress(Exception):
                self._log(line)

    def _control(self, method: str, raw: bytes) -> tuple[int, dict[str, object]]:
        """Serve ``GET /_chaos`` (state) and ``POST /_chaos`` (change profile, rates or seed)."""
        if method == "GET":
            return 200, self.snapshot()
        if method != "POST":
            return 405, {"error": {"message": "use GET or POST on /_chaos", "type": "invalid_request_error"}}
        try:
            payload = json.loads(raw or b"{}")
            if not isinstance(payload, dict):
                raise ValueError("body must be a JSON object")
            self._apply_control(payload)
        except ValueError as error:
            return 400, {"error": {"message": f"chaos: {error}", "type": "invalid_request_error"}}
        return 200, self.snapshot()

    def _apply_control(self, payload: Mapping[str, Any]) -> None:
        seed = payload.get("seed")
        if seed is not None and not isinstance(seed, int):
            raise ValueError("seed must be an integer")
        if "rates" in payload:
            rates = payload["rates"]
            latency = payload.get("latency")
            if not isinstance(rates, dict) or not all(isinstance(v, (int, float)) for v in rates.values()):
                raise ValueError("rates must map step specs to numbers")
            if latency is not None and (not isinstance(latency, list) or len(latency) != 2):
                raise ValueError("latency must be [low, high]")
            profile = Profile.from_rates(
                rates,
                latency=(float(latency[0]), float(latency[1])) if latency else None,
                default=str(payload.get("default", "ok")),
                name=str(payload.get("profile", "custom")),
            )
            self.set_profile(profile, seed=seed)
        elif "profile" in payload:
            self.set_profile(str(payload["profile"]), seed=seed)
        elif seed is not None:
            self.set_profile(self.profile, seed=seed)


def serve(
    host: str = "127.0.0.1",
    port: int = 8700,
    profile: str | Profile = "flaky",
    seed: int = 0,
    allow_remote: bool = False,
    log: LogSink | None = None,
    max_seconds: float | None = None,
    on_ready: Callable[[ChaosServer], None] | None = None,
) -> None:
    """Run a chaos server in the foreground until Ctrl-C (or ``max_seconds``).

    For the ``otel-aierrors chaos`` command.

    Args:
        host: Interface to bind (loopback unless ``allow_remote``).
        port: TCP port (0 picks one; ``on_ready`` can report it).
        profile: Profile name or object.
        seed: Seed of the profile draws.
        allow_remote: Allow a non-loopback host.
        log: Sink for the startup line and one line per request.
        max_seconds: Stop by itself after this long.
        on_ready: Called with the running server, e.g. to print its URL.

    Raises:
        ValueError: For a non-loopback host without ``allow_remote`` or an unknown profile.
    """
    server = ChaosServer(host, port, profile, seed, allow_remote, log, max_seconds)
    server.start()
    try:
        if on_ready is not None:
            on_ready(server)
        while not server.wait_stopped(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
