"""Putting an outcome on the socket, exactly as asked, including the rude parts.

:class:`Wire` writes one request's :data:`~otel_aierrors.chaos.exchange.Outcome`
over the handler's connection: a reply (paced, cut, or close-delimited), an
SSE stream (chunked, cut, stalled, or close-delimited), silence, or a
disconnect with or without a TCP reset. While it waits it watches the socket,
so a client that hangs up is noticed and recorded; the request record is
published before the last byte leaves, so a client never sees the end first.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler

from .exchange import Disconnect, Hang, Header, Outcome, Reply, StreamReply
from .headers import new_request_id
from .records import Ledger, Note

__all__ = ["CLIENT_GONE", "SSE_CONTENT_TYPE", "Wire"]

#: ``Content-Type`` of streamed answers.
SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"
#: What a write raises when the client has hung up.
CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)
_POLL = 0.05


class Wire:
    """Writes the answer to one request over ``handler``'s connection."""

    def __init__(self, handler: BaseHTTPRequestHandler, ledger: Ledger, stopping: threading.Event) -> None:
        self._handler = handler
        self._ledger = ledger
        self._stopping = stopping

    def send(self, outcome: Outcome, note: Note) -> None:
        """Put ``outcome`` on the wire and record it in ``note``."""
        if isinstance(outcome, Reply):
            self._reply(outcome, note)
        elif isinstance(outcome, StreamReply):
            self._stream(outcome, note)
        elif isinstance(outcome, Hang):
            note.client_closed = self.wait_or_gone(outcome.seconds)
            self._close()
        elif isinstance(outcome, Disconnect):
            self._close()
            if outcome.reset:
                connection = self._handler.connection
                with contextlib.suppress(OSError):
                    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    # The descriptor really closes (with a reset) once rfile/wfile are closed
                    # in finish(), before shutdown_request could send an orderly FIN.
                    connection.close()

    def finish(self, note: Note) -> None:
        """Publish the record if not done yet."""
        if note.record is None:
            note.record = self._ledger.publish(note)

    # -- replies -----------------------------------------------------------------

    def _close(self) -> None:
        self._handler.close_connection = True

    def _head(self, status: int, headers: tuple[Header, ...], note: Note) -> bytes:
        """Compose the status line and headers, to be written together with what follows.

        One write per response (or per event) keeps small answers in one TCP segment.
        """
        handler = self._handler
        request_id = new_request_id()
        note.status, note.request_id = status, request_id
        reason = handler.responses.get(status, ("",))[0]
        lines = [
            f"{handler.protocol_version} {status} {reason}",
            f"server: {handler.version_string()}",
            f"date: {handler.date_time_string()}",
            f"{note.request_id_header}: {request_id}",
            f"openai-processing-ms: {max(1, round(note.elapsed() * 1000))}",
            *(f"{name}: {value}" for name, value in headers),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _write(self, data: bytes) -> None:
        self._handler.wfile.write(data)

    def _send_last(self, data: bytes, note: Note) -> None:
        self.finish(note)
        try:
            self._write(data)
        except CLIENT_GONE:
            self._client_gone(note)

    def _client_gone(self, note: Note) -> None:
        note.client_closed = True
        self._close()
        if note.record is not None:
            note.record = self._ledger.amend(note.record, client_closed=True)

    def _reply(self, reply: Reply, note: Note) -> None:
        headers = list(reply.headers)
        if reply.content_type is not None:
            headers.append(("content-type", reply.content_type))
        if reply.close_delimited:
            headers.append(("connection", "close"))
            self._close()
        else:
            length = reply.declared_length if reply.declared_length is not None else len(reply.body)
            headers.append(("content-length", str(length)))
        if reply.cut:
            self._close()
        head = self._head(reply.status, tuple(headers), note)
        pace = reply.pace
        if not pace.slow:
            self._send_last(head + reply.body, note)
            return
        pieces = _split(reply.body, pace.pieces if pace.between else 1)
        try:
            self._write(head)
            for index, piece in enumerate(pieces):
                wait = pace.before if index == 0 else pace.between
                if wait and self.wait_or_gone(wait):
                    self._client_gone(note)
                    return
                if index == len(pieces) - 1:
                    break
                self._write(piece)
        except CLIENT_GONE:
            self._client_gone(note)
            return
        self._send_last(pieces[-1] if pieces else b"", note)

    def _stream(self, reply: StreamReply, note: Note) -> None:
        note.stream = True
        framing: tuple[Header, ...] = (("connection", "close"),)
        if not reply.close_delimited:
            framing = (("transfer-encoding", "chunked"),)
        headers = (*reply.headers, ("content-type", SSE_CONTENT_TYPE), ("cache-control", "no-cache"), *framing)
        if reply.close_delimited:
            self._close()

        def frame(event: bytes) -> bytes:
            return event if reply.close_delimited else b"%x\r\n%s\r\n" % (len(event), event)

        pending = self._head(reply.status, headers, note)
        try:
            for index, event in enumerate(reply.events):
                if index:
                    self._write(pending)
                    pending = b""
                    if self.wait_or_gone(reply.chunk_delay):
                        self._client_gone(note)
                        return
                pending += frame(event)
            if reply.stall:
                self._write(pending)
                pending = b""
                if self.wait_or_gone(reply.stall):
                    self._client_gone(note)
                    return
        except CLIENT_GONE:
            self._client_gone(note)
            return
        if reply.cut:
            self._close()
        elif not reply.close_delimited:
            pending += b"0\r\n\r\n"
        self._send_last(pending, note)

    def wait_or_gone(self, seconds: float) -> bool:
        """Wait up to ``seconds`` while watching the socket; True if the client hung up.

        Also returns (False) early when the server is stopping.
        """
        connection = self._handler.connection
        deadline = time.monotonic() + seconds
        while True:
            try:
                readable, _, _ = select.select([connection], [], [], 0)
                if readable and connection.recv(1, socket.MSG_PEEK) == b"":
                    return True
            except (OSError, ValueError):  # CLIENT_GONE included
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self._stopping.wait(min(remaining, _POLL)):
                return False


def _split(body: bytes, pieces: int) -> list[bytes]:
    """``body`` in ``pieces`` parts of near-equal size (at least one, possibly empty)."""
    count = max(1, min(pieces, len(body)))
    bounds = [len(body) * i // count for i in range(count + 1)]
    return [body[bounds[i] : bounds[i + 1]] for i in range(count)]
