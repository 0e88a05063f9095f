"""Fixtures for the command-line tests: subprocesses that are always killed,
a fake OTLP/HTTP collector, and readers for the demo's OTLP JSON files.

Nothing here reaches beyond 127.0.0.1, and every wait has a deadline.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without any OTEL_* variable (a user's collector must not leak in)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@pytest.fixture
def no_otel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("OTEL_"):
            monkeypatch.delenv(key)


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Running:
    """A subprocess whose output lines are collected by reader threads."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
        self.process = subprocess.Popen(
            args,
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        self.lines: queue.Queue[tuple[str, str]] = queue.Queue()
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, "stdout", self.stdout), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, "stderr", self.stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: Any, name: str, into: list[str]) -> None:
        for line in stream:
            into.append(line)
            self.lines.put((name, line))
        stream.close()

    def wait_for_line(self, needle: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                _, line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None and self.lines.empty():
                    break
                continue
            if needle in line:
                return line
        raise AssertionError(
            f"no line with {needle!r} within {timeout} s; stdout={''.join(self.stdout)!r} "
            f"stderr={''.join(self.stderr)!r}"
        )

    def wait(self, timeout: float) -> int:
        code = self.process.wait(timeout)
        for reader in self._readers:
            reader.join(5)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        for reader in self._readers:
            reader.join(5)


@pytest.fixture
def spawn() -> Iterator[Any]:
    """Start ``python -m otel_aierrors ARGS``; every process is killed at teardown."""
    started: list[Running] = []

    def start(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Running:
        running = Running([sys.executable, "-m", "otel_aierrors", *args], env or clean_env(), cwd)
        started.append(running)
        return running

    yield start
    for running in started:
        running.kill()


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60) -> Any:
    """Run ``python -m otel_aierrors ARGS`` to completion (killed after ``timeout``)."""
    return subprocess.run(
        [sys.executable, "-m", "otel_aierrors", *args],
        env=env or clean_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )


# --- a fake OTLP/HTTP collector -----------------------------------------------------------
class FakeCollector:
    """Accepts OTLP/HTTP exports on 127.0.0.1 and keeps their bodies, by path."""

    def __init__(self) -> None:
        self.received: dict[str, list[bytes]] = defaultdict(list)
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                known = self.path in ("/v1/traces", "/v1/metrics")
                if known:
                    collector.received[self.path].append(body)
                self.send_response(200 if known else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def collector() -> Iterator[FakeCollector]:
    fake = FakeCollector()
    fake.thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()
        fake.thread.join(5)


# --- reading OTLP JSON -----------------------------------------------------------------------
def any_value(value: dict[str, Any]) -> Any:
    """The Python value of an OTLP JSON ``AnyValue``."""
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return value["boolValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "arrayValue" in value:
        return [any_value(item) for item in value["arrayValue"].get("values", [])]
    return None


def attributes_of(item: dict[str, Any]) -> dict[str, Any]:
    return {pair["key"]: any_value(pair["value"]) for pair in item.get("attributes", [])}


def read_spans(path: Path) -> list[dict[str, Any]]:
    """Every span of a traces.jsonl, with its attributes decoded under ``attrs``."""
    spans = []
    for line in path.read_text(encoding="utf-8").splitlines():
        for resource_spans in json.loads(line)["resourceSpans"]:
            for scope_spans in resource_spans["scopeSpans"]:
                for span in scope_spans["spans"]:
                    spans.append({**span, "attrs": attributes_of(span)})
    return spans


def read_last_metrics(path: Path) -> dict[str, list[dict[str, Any]]]:
    """The data points of the last export of a metrics.jsonl (cumulative, so the totals), by metric."""
    last = path.read_text(encoding="utf-8").splitlines()[-1]
    points: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for resource_metrics in json.loads(last)["resourceMetrics"]:
        for scope_metrics in resource_metrics["scopeMetrics"]:
            for metric in scope_metrics["metrics"]:
                data = metric.get("sum") or metric.get("histogram") or metric.get("gauge") or {}
                for point in data.get("dataPoints", []):
                    points[metric["name"]].append({**point, "attrs": attributes_of(point)})
    return points


def point_value(point: dict[str, Any]) -> float:
    if "asInt" in point:
        return int(point["asInt"])
    return float(point.get("asDouble", 0.0))
