"""Measurements that need a fresh interpreter: start-up cost and the memory soak.

Owns the one-shot workers. Start-up is sampled over several fresh processes because an
import can only be timed once per process; the soak gets a fresh process per variant so
that its RSS belongs to nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from _pool import REPO_ROOT, WorkerError, WorkerProcess, run_once, say
from _rounds import Slot
from _stats import median
from _variants import VENVS, Variant
from _venvs import VenvState

__all__ = ["measure_memory", "measure_startup"]


def measure_startup(
    variants: list[Variant], states: dict[str, VenvState], slots: list[Slot], samples: int, logs: Path
) -> dict[str, Any]:
    """Import + ``instrument()`` time, median over ``samples`` fresh processes per variant."""
    results: dict[str, Any] = {}
    status = {(s.venv, s.variant.name): s for s in slots}
    for variant in variants:
        if variant.name == "bare":
            continue
        state = states[variant.venv]
        slot = status.get((variant.venv, variant.name))
        if state.status != "ok" or (slot is not None and slot.status in ("pending", "failed")):
            reason = f"{slot.status}: {slot.reason}" if slot else f"{state.status}: {state.reason}"
            results[variant.name] = {"reason": reason}
            continue
        spec = next(s for s in VENVS if s.name == variant.venv)
        say(f"[startup] {variant.name}: {samples} fresh processes")
        imports, instruments = [], []
        for _ in range(samples):
            try:
                reply = run_once(
                    Path(state.python),
                    variant.name,
                    logs / f"startup-{variant.name}.log",
                    (REPO_ROOT,) if spec.repo_on_path else (),
                    ("--startup",),
                    timeout=300,
                )
            except WorkerError as exc:
                reply = {"error": str(exc)}
            if "import_s" not in reply:
                reason = reply.get("unavailable") or str(reply.get("error", "?")).strip().splitlines()[-1]
                results[variant.name] = {"reason": f"pending: {reason}" if "unavailable" in reply else reason}
                break
            imports.append(reply["import_s"] * 1000)
            instruments.append(reply["instrument_s"] * 1000)
        else:
            results[variant.name] = {
                "import_ms": median(imports),
                "instrument_ms": median(instruments),
                "samples": samples,
            }
    return results


def measure_memory(
    states: dict[str, VenvState], calls: int, streams: int, logs: Path, variants: list[str]
) -> dict[str, Any]:
    """The soak: each variant (normally bare and ours) in a fresh process of the main venv."""
    results: dict[str, Any] = {}
    state = states.get("main")
    for name in variants:
        if state is None or state.status != "ok":
            results[name] = {"reason": "main venv not available"}
            continue
        say(f"[memory] {name}: {calls:,} calls, {streams:,} streams")
        try:
            worker = WorkerProcess(
                Path(state.python), name, logs / f"memory-{name}.log", (REPO_ROOT,), ("--count-live-spans",)
            )
        except WorkerError as exc:
            results[name] = {"reason": f"failed: {exc}"}
            continue
        try:
            if not worker.ready:
                reason = worker.hello.get("unavailable") or worker.hello.get("error", "?")
                results[name] = {"reason": f"pending: {reason}" if "unavailable" in worker.hello else reason}
                continue
            results[name] = worker.request(op="memory", calls=calls, streams=streams, timeout=3600)
            results[name]["versions"] = worker.hello["versions"]
        except WorkerError as exc:
            results[name] = {"reason": f"failed: {str(exc).strip().splitlines()[-1]}"}
        finally:
            worker.close()
    return {"calls": calls, "streams": streams, "variants": results}
