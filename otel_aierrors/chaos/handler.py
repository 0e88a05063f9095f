"""The HTTP layer: accept connections, read each request, pick its step, hand the outcome to the wire.

Built on :class:`http.server.ThreadingHTTPServer` (one thread per connection,
HTTP/1.1 keep-alive). For each request the handler routes the path
(:func:`~otel_aierrors.chaos.routes.route`), parses the JSON body, chooses the
step (the request's ``x-chaos-script`` first, else a draw from the active
profile), binds it to its fault row, waits the step's ``delay`` and gives the
outcome to a :class:`~otel_aierrors.chaos.wire.Wire`. What it needs from the
server comes in one :class:`Backend`, passed at construction.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any

from .dialects import ErrorSpec, render_error
from .exchange import ChaosRequest, Endpoint, Outcome, Reply, json_bytes
from .faults import build_fault
from .records import Ledger, Note, RequestRecord
from .routes import CONTROL_PATH, route
from .script import (
    RETRY_COUNT_HEADER,
    SCRIPT_HEADER,
    SEQUENCE_HEADER,
    TAG_HEADER,
    Step,
    parse_script,
    step_for_attempt,
)
from .wire import CLIENT_GONE, Wire

__all__ = ["Backend", "ChaosHTTPServer"]

_MAX_BODY = 64 * 1024 * 1024
_BAD_JSON = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
    "using your HTTP library correctly.)"
)


@dataclass(frozen=True)
class Backend:
    """What the HTTP layer needs from the server that owns it."""

    ledger: Ledger
    #: Set when the server is stopping: waits end early.
    stopping: threading.Event
    #: ``http://host:port`` of the server.
    origin: Callable[[], str]
    #: Prefix of connection thread names.
    thread_prefix: Callable[[], str]
    #: Draws the step of an unscripted request from the active profile.
    draw_step: Callable[[], Step]
    #: Serves the control endpoint: method and body in, status and JSON out.
    control: Callable[[str, bytes], tuple[int, dict[str, object]]]
    #: Writes one log line.
    emit: Callable[[str], None]
    #: Logs the final record of a request.
    log_record: Callable[[RequestRecord], None]


class ChaosHTTPServer(ThreadingHTTPServer):
    """Threading server that tracks its connections for the chaos bookkeeping."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, backend: Backend, address: tuple[str, int]) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.backend = backend
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the FQDN, which can stall on DNS; skip it.
        TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        connection_id = self.backend.ledger.opened(request)
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"{self.backend.thread_prefix()}conn-{connection_id}",
            daemon=True,
        )
        self.backend.ledger.track(thread)
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        self.backend.ledger.closed(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, (*CLIENT_GONE, TimeoutError)):
            return
        self.backend.emit("chaos server error:\n" + traceback.format_exc())


class _Handler(BaseHTTPRequestHandler):
    """One connection; ``_dispatch`` handles each request on it."""

    protocol_version = "HTTP/1.1"
    server_version = "otel-aierrors-chaos"
    sys_version = ""
    #: Idle keep-alive connections are closed after this many seconds.
    timeout = 120
    server: ChaosHTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes; without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every small response.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log; the server logs one line per request instead."""

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

    def _dispatch(self) -> None:
        backend = self.server.backend
        path, _, query = self.path.partition("?")
        path = path.rstrip("/") or "/"
        headers = {key.lower(): value for key, value in self.headers.items()}
        try:
            raw = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        retry_count = _retry_count(headers.get(RETRY_COUNT_HEADER))
        connection_id = backend.ledger.connection_id(self.connection)
        note = Note(self.command, path, retry_count, headers.get(TAG_HEADER), connection_id)
        wire = Wire(self, backend.ledger, backend.stopping)
        try:
            outcome = self._outcome(backend, note, path, query, headers, raw)
            if outcome is not None:
                wire.send(outcome, note)
        finally:
            wire.finish(note)
            assert note.record is not None
            backend.log_record(note.record)

    def _outcome(
        self,
        backend: Backend,
        note: Note,
        path: str,
        query: str,
        headers: Mapping[str, str],
        raw: bytes,
    ) -> Outcome | None:
        """Decide the answer; None when there is nothing to send (the server is stopping)."""
        if path == CONTROL_PATH:
            status, state = backend.control(self.command, raw)
            note.done(fault="control", step="control")
            return Reply(status, json_bytes(state))
        endpoint, path_model = route(self.command, path)
        if endpoint is Endpoint.UNKNOWN:
            note.done(fault="invalid_url")
            return _refusal(404, f"Invalid URL ({self.command} {path})", None)
        if endpoint is Endpoint.MESSAGES:
            note.request_id_header = "request-id"
        try:
            multipart = headers.get("content-type", "").startswith("multipart/form-data")
            decoded = json.loads(raw) if raw.strip() and not multipart else {}  # videos.create sends a form
        except ValueError:
            note.done(fault="invalid_json")
            return _refusal(400, _BAD_JSON, None)
        payload: Mapping[str, object] = decoded if isinstance(decoded, dict) else {}
        request = ChaosRequest(
            method=self.command,
            path=path,
            endpoint=endpoint,
            headers=headers,
            body=payload,
            retry_count=note.retry_count,
            origin=backend.origin(),
            path_model=path_model if endpoint is Endpoint.MODEL else None,
            path_id=path_model if endpoint is not Endpoint.MODEL else None,
            query=query,
        )
        note.model = request.model if isinstance(payload.get("model"), str) else request.path_model
        note.stream = request.stream
        script = headers.get(SCRIPT_HEADER)
        try:
            if script is not None:
                steps = parse_script(script)
                sequence = headers.get(SEQUENCE_HEADER)
                index = backend.ledger.next_in_sequence(sequence) if sequence else note.retry_count
                step = step_for_attempt(steps, index)
                note.scripted = True
            else:
                step = backend.draw_step()
            note.fault, note.step = step.name, step.spec
            fault = build_fault(step)
        except ValueError as error:
            note.done(fault="invalid_step", step=script)
            return _refusal(400, f"chaos: {error}", "chaos_invalid_step")
        if fault.delay and backend.stopping.wait(fault.delay):
            self.close_connection = True  # server stopping
            return None
        try:
            return fault(request)
        except Exception as error:  # a bug in a fault must not kill the connection thread
            backend.emit(f"chaos fault {step.spec!r} failed: {error!r}")
            spec = ErrorSpec(500, f"chaos: fault {step.name!r} failed: {error}", "server_error", "chaos_bug")
            return Reply(500, json_bytes(render_error(spec)))


def _refusal(status: int, message: str, code: str | None) -> Reply:
    """An OpenAI-style error for a request that never reached a fault."""
    return Reply(status, json_bytes(render_error(ErrorSpec(status, message, "invalid_request_error", code))))


def _retry_count(raw: str | None) -> int:
    try:
        return max(int(raw or 0), 0)
    except ValueError:
        return 0
