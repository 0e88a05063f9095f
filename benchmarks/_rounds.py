"""The interleaved timing rounds: one live worker per (venv, variant), asked in turn.

Owns the A B A B schedule and the pairing of each variant with the bare SDK of its own
environment. Workers are started once and kept alive (peers cannot always uninstrument
cleanly, so nothing is ever uninstrumented); a worker that fails costs its own figures,
never the run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _pool import REPO_ROOT, WorkerError, WorkerProcess, say
from _stats import mean, median, overhead
from _variants import VARIANTS, VENVS, Variant, VenvSpec
from _venvs import VenvState

__all__ = ["Slot", "our_logic", "start_slots", "stop", "summarize", "timing_loop"]


@dataclass
class Slot:
    """One worker process in the timing loop and everything it measured."""

    venv: str
    variant: Variant
    worker: WorkerProcess | None = None
    #: ``ok``, ``pending`` (ours not written yet), ``broken``, ``failed``, ``not installed``,
    #: ``skipped`` (a baseline with no working variant beside it).
    status: str = "ok"
    reason: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    probe: dict[str, Any] = field(default_factory=dict)
    #: Per-round per-call mean (ns) for each scenario. A failed round ends the scenario
    #: for this worker, so the lists of a variant and its baseline stay aligned by index.
    means: dict[str, list[float]] = field(default_factory=dict)
    spans: dict[str, int] = field(default_factory=dict)
    logs: dict[str, int] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def start_slots(variants: list[Variant], states: dict[str, VenvState], logs: Path, scenarios: list[str]) -> list[Slot]:
    """Start one worker per (venv, variant), plus the bare baseline of every venv used."""
    slots: list[Slot] = []
    bare = next(v for v in VARIANTS if v.name == "bare")
    for spec in VENVS:
        members = [v for v in variants if v.venv == spec.name]
        if not members:
            continue
        state = states[spec.name]
        wanted = [bare] + [v for v in members if v.name != "bare"]
        for variant in wanted:
            slot = Slot(spec.name, variant)
            slots.append(slot)
            if state.status != "ok":
                slot.status = "not installed" if state.status == "install-failed" else "broken"
                slot.reason = state.reason
                continue
            start_worker(slot, Path(state.python), spec, logs, scenarios)
        in_venv = [slot for slot in slots if slot.venv == spec.name]
        if spec.name != "main" and not any(s.status == "ok" for s in in_venv if s.variant.name != "bare"):
            # A baseline with nothing to compare against is wasted time.
            stop(in_venv[0])
            in_venv[0].status, in_venv[0].reason = "skipped", "no working peer in this venv"
    return slots


def start_worker(slot: Slot, python: Path, spec: VenvSpec, logs: Path, scenarios: list[str]) -> None:
    """Start, then probe: a peer that emits no span in any scenario is stopped, not timed."""
    name = slot.variant.name
    say(f"[start] {spec.name}/{name}")
    try:
        worker = WorkerProcess(
            python, name, logs / f"worker-{spec.name}-{name}.log", REPO_ROOT if spec.repo_on_path else None
        )
    except WorkerError as exc:
        slot.status, slot.reason = "failed", str(exc)
        return
    if not worker.ready:
        worker.close()
        if "unavailable" in worker.hello:
            slot.status, slot.reason = "pending", worker.hello["unavailable"]
        else:
            slot.status, slot.reason = "failed", str(worker.hello.get("error", "")).strip().splitlines()[-1]
        say(f"[start] {spec.name}/{name}: {slot.status}: {slot.reason}")
        return
    slot.worker, slot.versions = worker, worker.hello["versions"]
    try:
        slot.probe = worker.request(op="probe", timeout=300)
    except WorkerError as exc:
        slot.status, slot.reason = "failed", f"probe failed: {str(exc).strip().splitlines()[-1]}"
        stop(slot)
        return
    emitted = [slot.probe["scenarios"][s]["spans_per_call"] for s in scenarios]
    if name != "bare" and not any(emitted):
        slot.status, slot.reason = "broken", "emits 0 spans with this openai version; not timed"
        stop(slot)
    for scenario in scenarios:
        slot.means[scenario], slot.spans[scenario], slot.logs[scenario], slot.calls[scenario] = [], 0, 0, 0


def stop(slot: Slot) -> None:
    """Stop a slot's worker, if it still has one."""
    if slot.worker is not None:
        slot.worker.close()
        slot.worker = None


def timing_loop(slots: list[Slot], calls: dict[str, int], warmup: int, rounds: int) -> None:
    """Interleave rounds: per round, per scenario, per venv, each live worker in turn."""
    by_venv: dict[str, list[Slot]] = {}
    for slot in slots:
        by_venv.setdefault(slot.venv, []).append(slot)
    total = warmup + rounds
    started = time.monotonic()
    for index in range(total):
        warm = index < warmup
        for scenario in calls:
            for group in by_venv.values():
                # A B C / C B A: each variant runs as often first as last.
                for slot in group if index % 2 == 0 else reversed(group):
                    if slot.worker is None or scenario in slot.errors:
                        continue
                    try:
                        reply = slot.worker.request(op="round", scenario=scenario, calls=calls[scenario])
                    except WorkerError as exc:
                        slot.errors[scenario] = str(exc).strip().splitlines()[-1]
                        say(f"[round] {slot.venv}/{slot.variant.name}/{scenario} failed: {slot.errors[scenario]}")
                        if not slot.worker.alive:
                            slot.status, slot.reason = "failed", slot.errors[scenario]
                            stop(slot)
                        continue
                    if warm:
                        continue
                    slot.means[scenario].append(mean(reply["samples_ns"]))
                    slot.spans[scenario] += reply["spans"]
                    slot.logs[scenario] += reply["logs"]
                    slot.calls[scenario] += calls[scenario]
        elapsed = time.monotonic() - started
        eta = elapsed / (index + 1) * (total - index - 1)
        label = "warm-up" if warm else "measured"
        say(f"[round {index + 1}/{total} {label}] {elapsed:.0f} s elapsed, ~{eta:.0f} s left")


def summarize(
    slots: list[Slot], scenarios: list[str], states: dict[str, VenvState]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Baselines (bare per venv) and per-variant results, as JSON-ready dicts."""
    baselines: list[dict[str, Any]] = []
    variants: list[dict[str, Any]] = []
    bare_of = {slot.venv: slot for slot in slots if slot.variant.name == "bare"}
    for venv, bare in bare_of.items():
        if bare.status != "ok":
            continue
        baselines.append(
            {
                "venv": venv,
                "openai": bare.versions.get("openai", ""),
                "scenarios": {s: {"us": median(bare.means[s]) / 1000} for s in scenarios if bare.means.get(s)},
            }
        )
    for slot in slots:
        if slot.variant.name == "bare" and slot.venv != "main":
            continue
        entry: dict[str, Any] = {
            "name": slot.variant.name,
            "label": slot.variant.label,
            "venv": slot.venv,
            "openai": slot.versions.get("openai") or states[slot.venv].openai,
            "dist_version": slot.versions.get(slot.variant.dist or "", ""),
            "status": slot.status,
            "reason": slot.reason,
            "versions": slot.versions,
            "probe": slot.probe,
            "scenarios": {},
        }
        bare = bare_of[slot.venv]
        if slot.status == "ok":
            for scenario in scenarios:
                entry["scenarios"][scenario] = scenario_result(slot, bare, scenario)
        variants.append(entry)
    return baselines, variants


def our_logic(slots: list[Slot], scenarios: list[str]) -> dict[str, Any]:
    """Ours minus floor, paired by round: what our instrumentation logic costs on its own."""
    found = {slot.variant.name: slot for slot in slots if slot.venv == "main"}
    ours, floor = found.get("ours"), found.get("floor")
    if ours is None or floor is None or ours.status != "ok" or floor.status != "ok":
        return {}
    return {
        scenario: scenario_result(ours, floor, scenario)
        for scenario in scenarios
        if scenario not in ours.errors and scenario not in floor.errors
    }


def scenario_result(slot: Slot, bare: Slot, scenario: str) -> dict[str, Any]:
    """Compare ``slot`` with a baseline slot (normally the bare SDK of the same venv)."""
    calls = slot.calls.get(scenario, 0)
    spans = slot.spans.get(scenario, 0) / calls if calls else 0.0
    logs = slot.logs.get(scenario, 0) / calls if calls else 0.0
    if scenario in slot.errors:
        return {"status": "failed", "reason": slot.errors[scenario]}
    if bare.status != "ok" or scenario in bare.errors:
        return {"status": "failed", "reason": f"bare baseline failed: {bare.errors.get(scenario, bare.reason)}"}
    if slot.variant.name != "bare" and spans == 0:
        return {"status": "broken", "reason": "0 spans emitted in this scenario", "spans_per_call": 0.0}
    pairs = [(v, b) for v, b in zip(slot.means[scenario], bare.means[scenario], strict=False) if v and b]
    result = overhead([v for v, _ in pairs], [b for _, b in pairs])
    return {"status": "ok", "overhead": result._asdict(), "spans_per_call": spans, "logs_per_call": logs}
