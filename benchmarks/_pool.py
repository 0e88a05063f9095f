"""Worker processes as the driver sees them: start, ask, time out, stop.

Owns the pipe protocol's client side. Each worker's stderr goes to its own log file
(never to a pipe nobody reads, which would deadlock a chatty peer), and every read has
a deadline, so a hung or crashed worker costs one variant, never the run.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["BENCH_DIR", "REPO_ROOT", "WORKER", "WorkerError", "WorkerProcess", "run_once", "say"]

#: ``benchmarks/``, and the repository it belongs to.
BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
#: The worker script, run by each virtual environment's python.
WORKER = BENCH_DIR / "worker.py"


def say(message: str) -> None:
    """Driver progress goes to stderr; stdout carries only the final report."""
    print(message, file=sys.stderr, flush=True)


class WorkerError(Exception):
    """The worker died, timed out, or answered with a traceback."""


def _environment(pythonpath: Sequence[Path], hash_seed: int | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "PYTHON"))}
    if hash_seed is not None:
        # A fixed seed per replica: workers of the same replica index hash alike, whatever their variant.
        env["PYTHONHASHSEED"] = str(hash_seed)
    # Peers phone home or print banners unless told not to; neither belongs in a timing loop.
    env.update({"TRACELOOP_TELEMETRY": "false", "OPENLIT_DISABLE_TELEMETRY": "true"})
    env["PYTHONPATH"] = os.pathsep.join(str(path) for path in (WORKER.parent, *pythonpath))
    return env


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class WorkerProcess:
    """One live worker: a variant instrumented once, answering requests in turn."""

    def __init__(
        self,
        python: Path,
        variant: str,
        log_path: Path,
        pythonpath: Sequence[Path] = (),
        extra_args: tuple[str, ...] = (),
        start_timeout: float = 120.0,
        hash_seed: int | None = None,
    ) -> None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        #: Where the worker's stderr (and anything a peer prints) ends up.
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - lives as long as the process
        self._proc = subprocess.Popen(
            [str(python), str(WORKER), "--variant", variant, *extra_args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=_environment(pythonpath, hash_seed),
            cwd=str(WORKER.parent),
        )
        self._buffer = b""
        #: The worker's first message: ``ready`` (with versions), ``unavailable`` or ``error``.
        self.hello: dict[str, Any] = self._read(start_timeout)

    @property
    def ready(self) -> bool:
        """The worker instrumented itself and waits for requests."""
        return bool(self.hello.get("ready"))

    @property
    def alive(self) -> bool:
        """The process is still running."""
        return self._proc.poll() is None

    def _read(self, timeout: float) -> dict[str, Any]:
        assert self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.close()
                raise WorkerError(f"no answer within {timeout:.0f}s; log tail:\n{_tail(self.log_path)}")
            readable, _, _ = select.select([fd], [], [], remaining)
            if not readable:
                continue
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                self._proc.wait(timeout=5)
                raise WorkerError(f"worker exited with {self._proc.returncode}; log tail:\n{_tail(self.log_path)}")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def request(self, timeout: float = 300.0, **request: Any) -> dict[str, Any]:
        """Send one request; return the reply or raise ``WorkerError``."""
        assert self._proc.stdin is not None
        if self._proc.poll() is not None:
            raise WorkerError(f"worker already exited with {self._proc.returncode}")
        try:
            self._proc.stdin.write((json.dumps(request) + "\n").encode())
            self._proc.stdin.flush()
        except BrokenPipeError as exc:
            raise WorkerError(f"worker pipe closed; log tail:\n{_tail(self.log_path)}") from exc
        reply = self._read(timeout)
        if "error" in reply:
            raise WorkerError(str(reply["error"]))
        return reply

    def close(self) -> None:
        """Ask the worker to quit; kill it if it does not."""
        if self._proc.poll() is None:
            try:
                assert self._proc.stdin is not None
                self._proc.stdin.write(b'{"op": "quit"}\n')
                self._proc.stdin.close()
                self._proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait()
        self._log.close()


def run_once(
    python: Path, variant: str, log_path: Path, pythonpath: Sequence[Path], args: tuple[str, ...], timeout: float
) -> dict[str, Any]:
    """Run a one-shot worker (``--startup``) and return its single JSON line."""
    worker = WorkerProcess(python, variant, log_path, pythonpath, args, start_timeout=timeout)
    try:
        return worker.hello
    finally:
        worker.close()
