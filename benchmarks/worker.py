"""Benchmark worker: one variant, one process, driven over a pipe by ``run.py``.

Run by a benchmark virtual environment's python, never imported by the driver. A worker
instruments itself once and then answers JSON requests, one per line on stdin, with one
JSON line each on the protocol stream (the original stdout; anything a peer prints goes
to stderr instead, so it cannot corrupt the protocol).

Requests: ``{"op": "round", "scenario": S, "calls": N}`` times N calls and returns the
per-call samples plus the spans and log records exported during the round;
``{"op": "probe", "scenarios": [...], "calls": N}`` makes N calls per scenario and says
what came out; ``{"op": "chaos", "sdk": S}`` makes one call with SDK S over real HTTP
to ``otel_aierrors.chaos.ChaosServer`` and says whether the server understood it;
``{"op": "memory", ...}`` runs the long memory soak; ``{"op": "quit"}`` ends it.

``--startup`` instead measures import and ``instrument()`` time once and exits: start-up
cost needs a fresh interpreter per sample.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hashlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from importlib import import_module, metadata
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

# openai and the OpenTelemetry SDK are imported before any variant, as an application
# would have them, so start-up figures are the instrumentation's own cost.
import openai  # noqa: F401
from _canned import httpx_module
from _scenarios import ALL_SCENARIOS, SCENARIOS, Scenario, build_call, disable_retry_sleep, request_call
from _sdks import SDKS, sdk_named
from _telemetry import LiveSpanCounter, Telemetry, install_telemetry
from _variants import Installed, Variant, VariantUnavailable, variant_named

_SCENARIOS_BY_NAME = {scenario.name: scenario for scenario in ALL_SCENARIOS}

#: Soak calls between flushes. A tight loop with no I/O starves the BatchSpanProcessor's
#: thread of the GIL (5 ms switch interval), so without a flush the queue overflows (2,048
#: spans) and drops most spans; a real application's network waits let that thread run.
_FLUSH_EVERY = 200


def _versions(dist: str | None) -> dict[str, str]:
    names = ["openai", httpx_module().__name__, "opentelemetry-api", "opentelemetry-sdk"]
    if dist:
        names.append(dist)
    found = {"python": sys.version.split()[0]}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = _tree_version(name)
    for sdk in SDKS:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[sdk.dist] = metadata.version(sdk.dist)
    return found


def _tree_version(dist: str) -> str:
    """Our package runs from the work tree (not installed): its version and a source digest.

    The tree is shared and edited while a run goes on, so the digest of the sources this
    process imported says exactly what was measured, whatever the commit.
    """
    if dist != "otel-aierrors":
        return "not installed"
    try:
        import otel_aierrors
        from otel_aierrors.version import __version__
    except ImportError:
        return "not importable"
    digest = hashlib.sha256()
    for path in sorted(Path(otel_aierrors.__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return f"{__version__} (work tree, sources {digest.hexdigest()[:10]})"


def _rss_kib() -> dict[str, int]:
    """Current and peak resident set size, from /proc (Linux)."""
    values = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return {"rss_kib": values.get("VmRSS", 0), "peak_rss_kib": values.get("VmHWM", 0)}


class Worker:
    """Holds the instrumented clients and answers the driver's requests."""

    def __init__(self, variant: Variant, count_live_spans: bool, sample_ratio: float = 1.0) -> None:
        self.variant = variant
        self.telemetry: Telemetry = install_telemetry(count_live_spans, sample_ratio)
        disable_retry_sleep()
        self.installed = _install(variant, self.telemetry)
        self.loop = asyncio.new_event_loop()
        self._calls: dict[str, Callable[[], Any]] = {}

    def call_for(self, scenario: Scenario) -> Callable[[], Any]:
        """The (possibly floor-wrapped) call of a scenario, built once per worker."""
        if scenario.name not in self._calls:
            call: Any = build_call(scenario, self.installed.observer)
            if scenario.is_async and self.installed.wrap_async is not None:
                call = self.installed.wrap_async(call)
            elif not scenario.is_async and self.installed.wrap is not None:
                call = self.installed.wrap(call)
            self._calls[scenario.name] = call
        return self._calls[scenario.name]

    def timed(self, scenario: Scenario, calls: int) -> list[int]:
        """Make ``calls`` calls; return each one's duration in nanoseconds."""
        call = self.call_for(scenario)
        samples = [0] * calls
        clock = time.perf_counter_ns
        if not scenario.is_async:
            for index in range(calls):
                start = clock()
                call()
                samples[index] = clock() - start
            return samples

        async def run() -> None:
            for index in range(calls):
                start = clock()
                await call()
                samples[index] = clock() - start

        self.loop.run_until_complete(run())
        return samples

    def close(self) -> None:
        """Finish pending async generators so the loop closes quietly, then flush."""
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()
        self.telemetry.flush()

    def op_round(self, scenario: str, calls: int) -> dict[str, Any]:
        self.telemetry.start_round()
        samples = self.timed(_SCENARIOS_BY_NAME[scenario], calls)
        spans, logs = self.telemetry.flush()
        return {"samples_ns": samples, "spans": spans, "logs": logs}

    def op_probe(self, scenarios: list[str] | None = None, calls: int = 10) -> dict[str, Any]:
        per_scenario = {}
        for name in scenarios or [scenario.name for scenario in SCENARIOS]:
            scenario = _SCENARIOS_BY_NAME[name]
            self.telemetry.start_round()
            self.timed(scenario, calls)
            spans, logs = self.telemetry.flush()
            per_scenario[scenario.name] = {"spans_per_call": spans / calls, "logs_per_call": logs / calls}
        return {"scenarios": per_scenario, "metrics": self.telemetry.metric_names()}

    def op_chaos(self, sdk: str) -> dict[str, Any]:
        """One call with ``sdk``'s own client over real HTTP to the chaos server.

        The client keeps the path of its default base URL (``/v1`` for openai, none for
        SDKs whose paths carry their own prefix), so the request lands where the vendor's
        API would have it; the outcome says what the server made of it.
        """
        try:
            from otel_aierrors.chaos import ChaosServer
        except ImportError as exc:
            return {"outcome": f"no chaos server: {exc}", "paths": []}
        spec = sdk_named(sdk)
        module = import_module(spec.module)
        with ChaosServer(max_seconds=60) as server:
            root = server.base_url.rsplit("/v1", 1)[0]
            kwargs: dict[str, Any] = {"api_key": "sk-bench", "max_retries": 0, "timeout": 10.0}
            kwargs.update(spec.client_kwargs)
            client_class = getattr(module, spec.client)
            default = client_class(**kwargs)
            path = urlsplit(str(default.base_url)).path.rstrip("/")
            default.close()
            client = client_class(base_url=root + path, **kwargs)
            try:
                result = request_call(sdk, client)()
                outcome = f"ok ({type(result).__name__})"
            except Exception as exc:
                outcome = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            finally:
                client.close()
            paths = [record.path for record in server.requests]
        return {"outcome": outcome, "paths": paths}

    def op_memory(self, calls: int, streams: int, checkpoints: int = 10) -> dict[str, Any]:
        """RSS over ``calls`` chat calls, then ``streams`` streams.

        Streams rotate through sync and async clients, consumed to the end or abandoned
        after the first chunk (dropped unclosed): half of them are abandoned.
        """
        chat = _SCENARIOS_BY_NAME["chat_sync"]
        names = ("stream_sync", "stream_abandon_sync", "stream_async", "stream_abandon_async")
        stream_kinds = [_SCENARIOS_BY_NAME[name] for name in names]
        self.timed(chat, 1_000)
        for kind in stream_kinds:
            self.timed(kind, 100)
        phases: dict[str, Any] = {}
        for phase, total, kinds in (("calls", calls, [chat]), ("streams", streams, stream_kinds)):
            self.telemetry.flush()
            gc.collect()
            start_rss = _rss_kib()
            start_objects = len(gc.get_objects())
            points = []
            step = max(1, total // checkpoints)
            done = 0
            started = time.perf_counter()
            while done < total:
                batch = min(step, total - done)
                for index in range(batch):
                    self.timed(kinds[(done + index) % len(kinds)], 1)
                    if index % _FLUSH_EVERY == _FLUSH_EVERY - 1:
                        self.telemetry.flush()
                done += batch
                self.telemetry.flush()
                points.append({"done": done, **_rss_kib()})
            elapsed = time.perf_counter() - started
            self.telemetry.flush()
            gc.collect()
            end_rss = _rss_kib()
            phases[phase] = {
                "count": total,
                "seconds": elapsed,
                "start": start_rss,
                "end_after_gc": end_rss,
                "checkpoints": points,
                "gc_objects_growth": len(gc.get_objects()) - start_objects,
            }
        live = self.telemetry.live_spans
        waited = _wait_until_ended(live) if live else 0.0
        self.telemetry.flush()
        return {
            "phases": phases,
            # Seconds waited after the last gc.collect() for every started span to end.
            "spans_end_wait_s": waited,
            "spans_started": live.started.value if live else None,
            "spans_ended": live.ended.value if live else None,
            # Fewer exported than ended: the BatchSpanProcessor queue overflowed and dropped.
            "spans_exported": self.telemetry.span_exporter.count.value,
            **_rss_kib(),
        }


def _wait_until_ended(live: LiveSpanCounter, timeout_s: float = 5.0, poll_s: float = 0.05) -> float:
    """Wait, at most ``timeout_s``, until every span started has ended; return the seconds waited.

    The instrumentation ends an abandoned stream's spans from a queue that a daemon thread
    drains within about a second of the stream being collected, so the last ones may still
    be open right after ``gc.collect()``.
    """
    started = time.monotonic()
    while live.started.value != live.ended.value and time.monotonic() - started < timeout_s:
        time.sleep(poll_s)
    return time.monotonic() - started


def _install(variant: Variant, telemetry: Telemetry) -> Installed:
    """Run the variant's setup; a baseline revision must have imported the package from its tree."""
    import _variants

    installed: Installed = getattr(_variants, variant.setup)(telemetry)
    if variant.tree:
        _check_imported_from(Path(variant.tree))
    return installed


def _check_imported_from(tree: Path) -> None:
    """Fail loudly unless ``otel_aierrors`` was loaded from ``tree`` (the work tree's would be timed twice)."""
    module = sys.modules.get("otel_aierrors")
    where = Path(getattr(module, "__file__", None) or "nowhere").resolve()
    if not where.is_relative_to(tree.resolve()):
        raise RuntimeError(f"otel_aierrors was imported from {where}, not from the baseline revision in {tree}")


def _startup(variant: Variant) -> dict[str, Any]:
    installed = _install(variant, install_telemetry())
    return {"import_s": installed.import_s, "instrument_s": installed.instrument_s}


def _protocol_stream() -> IO[str]:
    """Keep the real stdout for the protocol; point fd 1 (and ``print``) at stderr."""
    stream = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return stream


def _serve(worker: Worker, out: IO[str]) -> None:
    for line in sys.stdin:
        request = json.loads(line)
        op = request.pop("op")
        if op == "quit":
            break
        try:
            reply = getattr(worker, f"op_{op}")(**request)
        except Exception:
            reply = {"error": traceback.format_exc()}
        out.write(json.dumps(reply) + "\n")
    worker.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--variant", required=True)
    parser.add_argument("--startup", action="store_true", help="measure start-up cost once and exit")
    parser.add_argument("--count-live-spans", action="store_true", help="count started/ended spans")
    parser.add_argument("--sample-ratio", type=float, default=1.0, help="ParentBased(TraceIdRatioBased(R))")
    parser.add_argument(
        "--package-tree", default="", help="an older revision's extraction, where otel_aierrors must come from"
    )
    args = parser.parse_args()
    out = _protocol_stream()
    variant = variant_named(args.variant, args.package_tree)
    if variant is None:
        out.write(json.dumps({"error": f"unknown variant {args.variant!r}"}) + "\n")
        return 2
    try:
        if args.startup:
            out.write(json.dumps(_startup(variant)) + "\n")
            return 0
        worker = Worker(variant, args.count_live_spans, args.sample_ratio)
    except VariantUnavailable as exc:
        out.write(json.dumps({"unavailable": str(exc)}) + "\n")
        return 0
    except Exception:
        out.write(json.dumps({"error": traceback.format_exc()}) + "\n")
        return 1
    out.write(json.dumps({"ready": True, "versions": _versions(variant.dist)}) + "\n")
    _serve(worker, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
