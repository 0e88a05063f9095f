"""Lifecycle and bookkeeping of ``ChaosServer``: binding, stopping, logging, counting."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import openai
import pytest

from otel_aierrors.chaos import ChaosServer, serve

from .conftest import API_KEY, MESSAGES
from .test_profiles import Client


class TestBinding:
    @pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "::", "example.com", ""])
    def test_non_loopback_hosts_are_refused(self, host: str) -> None:
        with pytest.raises(ValueError, match=r"non-loopback.*allow_remote=True"):
            ChaosServer(host=host)

    @pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
    def test_loopback_hosts_are_accepted(self, host: str) -> None:
        assert ChaosServer(host=host).host == host

    def test_allow_remote_opts_in(self) -> None:
        assert ChaosServer(host="0.0.0.0", allow_remote=True).host == "0.0.0.0"

    def test_unknown_profile_is_refused(self) -> None:
        with pytest.raises(ValueError, match="unknown chaos profile"):
            ChaosServer(profile="nope")

    def test_urls_and_port(self, make_server: Callable[..., ChaosServer]) -> None:
        server = make_server()

        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.base_url == f"{server.url}/v1"

    def test_ipv6_loopback_url(self, make_server: Callable[..., ChaosServer]) -> None:
        if not socket.has_ipv6:
            pytest.skip("no IPv6")
        try:
            server = make_server(host="::1")
        except OSError:
            pytest.skip("IPv6 loopback unavailable")
        assert server.url == f"http://[::1]:{server.port}"
        with openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as client:
            assert client.models.list().data

    def test_port_before_start_and_double_start(self, make_server: Callable[..., ChaosServer]) -> None:
        with pytest.raises(RuntimeError, match="not started"):
            _ = ChaosServer().port
        server = make_server()
        with pytest.raises(RuntimeError, match="already started"):
            server.start()


class TestStopping:
    def test_context_manager_stops_and_frees_the_port(self) -> None:
        with ChaosServer() as server:
            port = server.port
        assert server.stopped
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()

    def test_stop_is_idempotent(self, make_server: Callable[..., ChaosServer]) -> None:
        server = make_server()
        server.stop()
        server.stop()
        assert server.wait_stopped(0)

    def test_max_seconds_stops_it_by_itself(self, make_server: Callable[..., ChaosServer]) -> None:
        logs: list[str] = []
        started = time.monotonic()
        server = make_server(max_seconds=0.2, log=logs.append)

        assert server.wait_stopped(2.0)
        assert 0.2 <= time.monotonic() - started < 2.0
        assert server.stopped
        assert any("max_seconds" in line for line in logs)
        assert not [t for t in threading.enumerate() if t.name.startswith(server.thread_prefix)]

    def test_stop_hangs_up_idle_and_busy_connections_quickly(self, make_server: Callable[..., ChaosServer]) -> None:
        server = make_server()
        idle = Client(server)
        assert idle.request()[0] == 200  # a kept-alive connection the server thread is reading from
        busy = socket.create_connection(("127.0.0.1", server.port))
        busy.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nx-chaos-script: hang;seconds=30\r\n"
            b"content-length: 2\r\n\r\n{}"
        )
        assert server.wait_for(lambda: server.open_connections == 2)
        time.sleep(0.05)

        started = time.monotonic()
        server.stop()

        assert time.monotonic() - started < 2.0
        assert server.open_connections == 0
        assert busy.recv(100) == b""
        busy.close()
        idle.close()


class TestBookkeeping:
    def test_connections_are_counted_open_and_closed(self, make_server: Callable[..., ChaosServer]) -> None:
        server = make_server()
        with openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as client:
            for _ in range(3):
                client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
            assert server.open_connections == 1
            assert len({record.connection_id for record in server.requests}) == 1

        assert server.wait_for(lambda: server.open_connections == 0)
        assert (server.connections_opened, server.connections_closed) == (1, 1)
        assert server.counters()["by_fault"] == {"ok": 3}

    def test_one_log_line_per_request(self, make_server: Callable[..., ChaosServer]) -> None:
        logs: list[str] = []
        server = make_server(log=logs.append)
        with openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=1) as client:
            client.chat.completions.create(
                model="gpt-4o", messages=MESSAGES, extra_headers={"x-chaos-script": "rate_limit;retry_after_ms=1,ok"}
            )

        assert server.wait_for(lambda: len(logs) == 3)  # lines are logged once the answer is out
        assert logs[0].startswith(f"chaos server listening on {server.base_url}")
        first, second = logs[1:]
        assert first.startswith("POST /v1/chat/completions fault=rate_limit;retry_after_ms=1 status=429 retry=0 ")
        assert second.startswith("POST /v1/chat/completions fault=ok status=200 retry=1 ")
        assert first.endswith("ms")

    def test_a_broken_log_sink_does_not_break_serving(self, make_server: Callable[..., ChaosServer]) -> None:
        def sink(line: str) -> None:
            raise RuntimeError("disk full")

        server = make_server(log=sink)
        with Client(server) as client:
            assert client.request()[0] == 200

    def test_records_can_be_tagged_waited_for_and_cleared(self, make_server: Callable[..., ChaosServer]) -> None:
        server = make_server()
        with openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as client:
            client.models.list(extra_headers={"x-chaos-tag": "mine"})
            client.models.list()

        assert [r.tag for r in server.requests] == ["mine", None]
        assert [r.path for r in server.requests_tagged("mine")] == ["/v1/models"]
        assert not server.wait_for(lambda: len(server.requests) > 2, timeout=0.05)
        server.clear()
        assert server.requests == ()
        assert server.connections_opened == 1


def test_serve_blocks_until_max_seconds() -> None:
    seen: list[ChaosServer] = []
    logs: list[str] = []
    started = time.monotonic()

    serve(port=0, profile="healthy", log=logs.append, max_seconds=0.3, on_ready=seen.append)

    assert 0.3 <= time.monotonic() - started < 2.0
    assert seen[0].stopped
    assert logs[0].startswith("chaos server listening on http://127.0.0.1:")


def test_serve_returns_on_keyboard_interrupt() -> None:
    seen: list[ChaosServer] = []

    def interrupt(server: ChaosServer) -> None:
        seen.append(server)
        raise KeyboardInterrupt

    serve(port=0, on_ready=interrupt)

    assert seen[0].stopped


def test_serve_refuses_a_remote_host() -> None:
    with pytest.raises(ValueError, match="non-loopback"):
        serve(host="0.0.0.0", port=0)
