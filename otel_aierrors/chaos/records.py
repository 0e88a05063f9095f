"""What the server did, for tests to assert on: request records and connection counts.

:class:`Note` collects what happens while one request is served; frozen, it
becomes a :class:`RequestRecord`. The :class:`Ledger` keeps the records and
the open connections under one condition variable, so a test can wait for a
state (``server.wait_for(lambda: server.open_connections == 0)``) instead of
sleeping.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Ledger", "Note", "RequestRecord"]

_POLL = 0.05
#: ``x-chaos-sequence`` keys remembered at once.
MAX_SEQUENCES = 10_000


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
    #: Request id sent (``x-request-id``, or ``request-id`` on ``/v1/messages``), when a response was sent.
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


class Note:
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
        #: Header carrying the request id: ``x-request-id``, or ``request-id`` for Anthropic.
        self.request_id_header = "x-request-id"
        self.stream = False
        self.model: str | None = None
        self.scripted = False
        #: The record once published.
        self.record: RequestRecord | None = None

    def done(self, *, fault: str, step: str | None = None) -> Note:
        """Name what answered the request (a fault, or ``control``, ``invalid_url``...)."""
        self.fault = fault
        self.step = step or fault
        return self

    def elapsed(self) -> float:
        """Seconds since the request was read."""
        return time.monotonic() - self.started

    def freeze(self) -> RequestRecord:
        """The record of what happened so far."""
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


class Ledger:
    """The records and connections of one server, thread-safe, with waiting on changes."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._records: list[RequestRecord] = []
        self._connections: dict[int, socket.socket] = {}
        self._socket_ids: dict[int, int] = {}
        self._opened = 0
        self._closed = 0
        self._threads: list[threading.Thread] = []
        #: Requests seen per ``x-chaos-sequence`` key, the oldest keys dropped past `MAX_SEQUENCES`.
        self._sequences: dict[str, int] = {}

    # -- records -------------------------------------------------------------------

    def records(self, tag: str | None = None) -> tuple[RequestRecord, ...]:
        """Every record, oldest first (only those with ``tag`` when given)."""
        with self._cond:
            return tuple(record for record in self._records if tag is None or record.tag == tag)

    def clear(self) -> None:
        """Forget the records and the sequences (connection counters are kept)."""
        with self._cond:
            self._records.clear()
            self._sequences.clear()

    def next_in_sequence(self, key: str) -> int:
        """How many requests came before this one with the ``x-chaos-sequence`` ``key`` (0 for the first)."""
        with self._cond:
            seen = self._sequences.pop(key, 0)
            self._sequences[key] = seen + 1
            while len(self._sequences) > MAX_SEQUENCES:
                del self._sequences[next(iter(self._sequences))]
            return seen

    def publish(self, note: Note) -> RequestRecord:
        """Freeze ``note`` and add its record."""
        record = note.freeze()
        with self._cond:
            self._records.append(record)
            self._cond.notify_all()
        return record

    def amend(self, record: RequestRecord, **changes: Any) -> RequestRecord:
        """Replace a published record (e.g. the client hung up during the last write)."""
        amended = dataclasses.replace(record, **changes)
        with self._cond:
            for index in range(len(self._records) - 1, -1, -1):
                if self._records[index] is record:
                    self._records[index] = amended
                    break
            self._cond.notify_all()
        return amended

    # -- connections ---------------------------------------------------------------

    def opened(self, sock: socket.socket) -> int:
        """Count a new connection; returns its serial number."""
        with self._cond:
            self._opened += 1
            self._connections[self._opened] = sock
            self._socket_ids[id(sock)] = self._opened
            self._cond.notify_all()
            return self._opened

    def closed(self, sock: socket.socket) -> None:
        """Count a closed connection and forget finished threads."""
        with self._cond:
            connection_id = self._socket_ids.pop(id(sock), None)
            if connection_id is not None:
                self._connections.pop(connection_id, None)
                self._closed += 1
            self._threads = [thread for thread in self._threads if thread.is_alive()]
            self._cond.notify_all()

    def track(self, thread: threading.Thread) -> None:
        """Remember a connection thread, to join it on shutdown."""
        with self._cond:
            self._threads.append(thread)

    def live(self) -> tuple[list[socket.socket], list[threading.Thread]]:
        """The open sockets and the connection threads, for shutdown."""
        with self._cond:
            return list(self._connections.values()), list(self._threads)

    def connection_id(self, sock: socket.socket) -> int:
        """Serial number of an accepted connection's socket (0 if unknown)."""
        with self._cond:
            return self._socket_ids.get(id(sock), 0)

    def is_open(self, connection_id: int) -> bool:
        """Whether connection ``connection_id`` is still open."""
        with self._cond:
            return connection_id in self._connections

    def connection_counts(self) -> tuple[int, int]:
        """Connections opened and closed since start."""
        with self._cond:
            return self._opened, self._closed

    # -- waiting -------------------------------------------------------------------

    def notify(self) -> None:
        """Wake every :meth:`wait_for` (e.g. when the server stops)."""
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``predicate()`` is true, re-checking on every change; False on timeout."""
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
            records = list(self._records)
            opened, closed = self._opened, self._closed
        return {
            "requests": len(records),
            "by_fault": dict(Counter(record.fault for record in records)),
            "by_status": {str(status): count for status, count in Counter(r.status for r in records).items()},
            "client_closed": sum(record.client_closed for record in records),
            "connections_opened": opened,
            "connections_closed": closed,
            "open_connections": opened - closed,
        }
