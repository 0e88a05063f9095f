"""``ChaosServer``: the fault-injecting server's lifecycle, addresses, profile and records.

The server binds (loopback only unless ``allow_remote``), serves on a daemon
thread, stops by itself after ``max_seconds`` if asked, and on :meth:`stop`
hangs up every connection and joins its threads. The HTTP work is in
:mod:`~otel_aierrors.chaos.handler` and :mod:`~otel_aierrors.chaos.wire`,
the records in :mod:`~otel_aierrors.chaos.records`, the ``/_chaos`` endpoint
in :mod:`~otel_aierrors.chaos.control`. Routes (under any path prefix, see
:mod:`~otel_aierrors.chaos.routes`)::

    POST /v1/chat/completions     POST /v1/completions      POST /v1/embeddings
    POST /v1/responses            POST /v1/images/generations
    POST /v1/messages             (Anthropic's Messages API)
    GET  /v1/models               GET  /v1/models/{id}
    GET  /_chaos                  POST /_chaos   (profile, rates, latency, seed)

Any other path gets OpenAI's 404 ``Invalid URL`` error.
"""

from __future__ import annotations

import contextlib
import ipaddress
import random
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

from .control import control
from .handler import Backend, ChaosHTTPServer
from .profiles import Profile, get_profile
from .records import Ledger, RequestRecord
from .script import Step

__all__ = ["ChaosServer", "LogSink", "is_loopback", "serve"]

#: A sink for one log line per request.
LogSink = Callable[[str], None]

_POLL = 0.05


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name, an address, or a bracketed IPv6 address) is a loopback interface."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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
        if not allow_remote and not is_loopback(host):
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
        self._profile_lock = threading.Lock()
        self._ledger = Ledger()
        self._stop_event = threading.Event()
        self._stopped_event = threading.Event()
        self._stop_lock = threading.Lock()
        self._httpd: ChaosHTTPServer | None = None
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
        backend = Backend(
            ledger=self._ledger,
            stopping=self._stop_event,
            origin=lambda: self.url,
            thread_prefix=lambda: self.thread_prefix,
            draw_step=self._draw_step,
            control=lambda method, raw: control(self, method, raw),
            emit=self._emit,
            log_record=self._log_record,
        )
        self._httpd = ChaosHTTPServer(backend, (self._host, self._requested_port))
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
            sockets, threads = self._ledger.live()
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            for thread in [self._serve_thread, *threads]:
                if thread is not None and thread is not threading.current_thread():
                    thread.join(max(deadline - time.monotonic(), 0.0))
            httpd.server_close()
            self._stopped_event.set()
            self._ledger.notify()

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
        with self._profile_lock:
            return self._profile

    def set_profile(self, profile: str | Profile, *, seed: int | None = None) -> None:
        """Switch profile (and optionally reseed) while running.

        Raises:
            ValueError: For an unknown profile name.
        """
        resolved = get_profile(profile)
        with self._profile_lock:
            self._profile = resolved
            if seed is not None:
                self._seed = seed
                self._rng = random.Random(seed)

    def _draw_step(self) -> Step:
        with self._profile_lock:
            return self._profile.choose(self._rng)

    # -- records -------------------------------------------------------------------

    @property
    def requests(self) -> tuple[RequestRecord, ...]:
        """Every request answered so far, oldest first."""
        return self._ledger.records()

    def requests_tagged(self, tag: str) -> tuple[RequestRecord, ...]:
        """The requests that carried ``x-chaos-tag: tag``."""
        return self._ledger.records(tag)

    def clear(self) -> None:
        """Forget the request records (connection counters are kept)."""
        self._ledger.clear()

    @property
    def open_connections(self) -> int:
        """Connections accepted and not yet closed."""
        opened, closed = self._ledger.connection_counts()
        return opened - closed

    @property
    def connections_opened(self) -> int:
        """Connections accepted since start."""
        return self._ledger.connection_counts()[0]

    @property
    def connections_closed(self) -> int:
        """Connections closed since start (by either side)."""
        return self._ledger.connection_counts()[1]

    def connection_id(self, sock: socket.socket) -> int:
        """Serial number of an accepted connection's socket (0 if unknown)."""
        return self._ledger.connection_id(sock)

    def is_open(self, connection_id: int) -> bool:
        """Whether connection ``connection_id`` is still open."""
        return self._ledger.is_open(connection_id)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 2.0) -> bool:
        """Wait until ``predicate()`` is true, re-checking on every record or connection change.

        Args:
            predicate: Condition over this server's state, e.g.
                ``lambda: server.open_connections == 0``.
            timeout: Seconds to wait at most.

        Returns:
            Whether the predicate became true in time.
        """
        return self._ledger.wait_for(predicate, timeout)

    def counters(self) -> dict[str, object]:
        """Request and connection counters, JSON-ready."""
        return self._ledger.counters()

    def snapshot(self) -> dict[str, object]:
        """Profile, seed and counters: the body of ``GET /_chaos``."""
        with self._profile_lock:
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

    # -- hooks handed to the HTTP layer ---------------------------------------------

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
