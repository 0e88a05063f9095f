"""The interleaved timing rounds: live workers per (venv, variant), asked in turn.

Owns the A B A B schedule and the pairing of each variant with the bare SDK of its own
environment. Workers are started once and kept alive (peers cannot always uninstrument
cleanly, so nothing is ever uninstrumented); a worker that fails costs its own figures,
never the run. A ``main`` slot may be backed by several replica processes (``--replicas``):
round r runs on replica r mod N of every slot, so a bias of one process (memory layout,
hash seed) varies from round to round instead of holding for the whole run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _pool import REPO_ROOT, WorkerError, WorkerProcess, say
from _stats import differences_us, mean, median, overhead
from _variants import VARIANTS, VENVS, Variant, VenvSpec
from _venvs import VenvState

__all__ = [
    "Slot",
    "against_revision",
    "hash_seed",
    "our_logic",
    "ratio_key",
    "slot_name",
    "start_slots",
    "stop",
    "summarize",
    "timing_loop",
]


@dataclass
class Slot:
    """One (venv, variant, sampler) in the timing loop, its replica processes, and everything it measured."""

    venv: str
    variant: Variant
    #: Share of root spans the worker's sampler keeps (1.0: the SDK's default sampler).
    ratio: float = 1.0
    #: Scenarios this slot's venv times.
    scenarios: tuple[str, ...] = ()
    #: Worker processes wanted: one per replica, all running the same code.
    replicas: int = 1
    #: The live processes, replica i at index i; empty once stopped.
    workers: list[WorkerProcess] = field(default_factory=list)
    #: ``ok``, ``pending`` (ours not written yet), ``unavailable`` (a baseline revision that
    #: cannot be imported or instrumented), ``broken``, ``failed``, ``not installed``,
    #: ``skipped`` (a baseline with no working variant beside it).
    status: str = "ok"
    reason: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    probe: dict[str, Any] = field(default_factory=dict)
    #: Per-round per-call mean (ns) for each scenario, measured round r from replica r mod
    #: ``replicas``. A failed round ends the scenario for this slot, so the lists of a
    #: variant and its baseline stay aligned by index.
    means: dict[str, list[float]] = field(default_factory=dict)
    spans: dict[str, int] = field(default_factory=dict)
    logs: dict[str, int] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def start_slots(
    variants: list[Variant],
    states: dict[str, VenvState],
    logs: Path,
    scenarios: list[str],
    ratios: list[float],
    replicas: int = 1,
) -> list[Slot]:
    """Start a slot per (venv, variant, sampling ratio), plus the bare baseline of every venv used.

    The bare SDK emits no span, so one baseline serves every ratio, except for an SDK that
    traces itself (``Sdk.own_spans``): its baseline runs under each ratio too. Slots of the
    ``main`` venv get ``replicas`` processes each; every other venv's get one.
    """
    slots: list[Slot] = []
    bare = next(v for v in VARIANTS if v.name == "bare")
    for spec in VENVS:
        members = [v for v in variants if spec.runs(v)]
        wanted_scenarios = tuple(s for s in scenarios if s in spec.scenarios)
        if not members or not wanted_scenarios:
            continue
        state = states[spec.name]
        wanted = [(bare, 1.0)]
        if spec.sdk is not None and spec.sdk.own_spans:
            wanted += [(bare, ratio) for ratio in ratios if ratio != 1.0]
        wanted += [(v, ratio) for ratio in ratios for v in members if v.name != "bare"]
        for variant, ratio in wanted:
            slot = Slot(spec.name, variant, ratio, wanted_scenarios, replicas if spec.name == "main" else 1)
            slots.append(slot)
            if state.status != "ok":
                slot.status = "not installed" if state.status == "install-failed" else "broken"
                slot.reason = state.reason
                continue
            start_worker(slot, Path(state.python), spec, logs)
        in_venv = [slot for slot in slots if slot.venv == spec.name]
        _stop_if_nothing_added(in_venv)
        if spec.name != "main" and not any(s.status == "ok" for s in in_venv if s.variant.name != "bare"):
            # A baseline with nothing to compare against is wasted time.
            for slot in in_venv:
                if slot.variant.name == "bare":
                    stop(slot)
                    slot.status, slot.reason = "skipped", "no working variant in this venv"
    return slots


def _spans_per_call(slot: Slot) -> list[float]:
    return [slot.probe.get("scenarios", {}).get(s, {}).get("spans_per_call", 0.0) for s in slot.scenarios]


def _stop_if_nothing_added(in_venv: list[Slot]) -> None:
    """Stop a variant that emits no span beyond the bare SDK's own (an SDK that traces itself).

    Over anthropic, which emits a span per call by default, an instrumentation that does
    not patch the SDK yet would otherwise pass the probe and be timed as a no-op.
    """
    bare = {slot.ratio: slot for slot in in_venv if slot.variant.name == "bare" and slot.status == "ok"}
    for slot in in_venv:
        base = bare.get(slot.ratio) or bare.get(1.0)
        if slot.variant.name == "bare" or slot.status != "ok" or base is None or not any(_spans_per_call(base)):
            continue
        if all(mine <= theirs for mine, theirs in zip(_spans_per_call(slot), _spans_per_call(base), strict=True)):
            slot.status, slot.reason = "broken", "emits no span beyond the bare SDK's own; not timed"
            stop(slot)


def slot_name(slot: Slot) -> str:
    """``venv/variant`` plus the sampling ratio when it is not 1, for logs."""
    suffix = "" if slot.ratio == 1.0 else f"@{slot.ratio:g}"
    return f"{slot.venv}/{slot.variant.name}{suffix}"


def hash_seed(replica: int) -> int:
    """``PYTHONHASHSEED`` of replica ``replica``: the same for every variant, so replicas pair like with like."""
    return replica + 1


def _launch(slot: Slot, python: Path, spec: VenvSpec, logs: Path, replica: int) -> WorkerProcess:
    """Start one replica process of ``slot`` (raises ``WorkerError``)."""
    label = slot_name(slot).replace("/", "-") + (f"-r{replica}" if slot.replicas > 1 else "")
    args: tuple[str, ...] = ("--sample-ratio", f"{slot.ratio}") if slot.ratio != 1.0 else ()
    args += ("--package-tree", slot.variant.tree) if slot.variant.tree else ()
    return WorkerProcess(
        python,
        slot.variant.name,
        logs / f"worker-{label}.log",
        _pythonpath(spec, slot.variant),
        args,
        hash_seed=hash_seed(replica),
    )


def _launch_all(slot: Slot, python: Path, spec: VenvSpec, logs: Path) -> list[WorkerProcess]:
    """Start the replicas of ``slot``, a core's worth at a time; if one cannot start, close the others and raise."""
    # Starting is CPU-bound (imports): more at once than cores would not start them sooner.
    with ThreadPoolExecutor(max_workers=min(slot.replicas, os.cpu_count() or 1)) as pool:
        futures = [pool.submit(_launch, slot, python, spec, logs, replica) for replica in range(slot.replicas)]
    errors = [error for future in futures if (error := future.exception()) is not None]
    started = [future.result() for future in futures if future.exception() is None]
    if errors:
        for worker in started:
            worker.close()
        raise errors[0]
    return started


def _refused(slot: Slot, workers: list[WorkerProcess]) -> bool:
    """Mark ``slot`` when a replica did not get ready (a pending or unavailable variant, a crash)."""
    hello = next((worker.hello for worker in workers if not worker.ready), None)
    if hello is None:
        return False
    for worker in workers:
        worker.close()
    if "unavailable" in hello:
        slot.status = "unavailable" if slot.variant.tree else "pending"
        slot.reason = hello["unavailable"]
    else:
        slot.status, slot.reason = "failed", str(hello.get("error", "")).strip().splitlines()[-1]
    say(f"[start] {slot_name(slot)}: {slot.status}: {slot.reason}")
    return True


def _probe(slot: Slot) -> None:
    """Probe every replica (a multiple of 10 calls, so a sampled worker exports its share exactly); keep the first's."""
    probes = [
        worker.request(op="probe", scenarios=list(slot.scenarios), calls=10, timeout=300) for worker in slot.workers
    ]
    slot.probe = probes[0]


def start_worker(slot: Slot, python: Path, spec: VenvSpec, logs: Path) -> None:
    """Start the slot's replicas, then probe: a variant that emits no span in any scenario is stopped, not timed."""
    name = slot.variant.name
    say(f"[start] {slot_name(slot)}" + (f" ({slot.replicas} replicas)" if slot.replicas > 1 else ""))
    try:
        workers = _launch_all(slot, python, spec, logs)
    except WorkerError as exc:
        slot.status, slot.reason = "failed", str(exc)
        return
    if _refused(slot, workers):
        return
    slot.workers, slot.versions = workers, workers[0].hello["versions"]
    try:
        _probe(slot)
    except WorkerError as exc:
        slot.status, slot.reason = "failed", f"probe failed: {str(exc).strip().splitlines()[-1]}"
        stop(slot)
        return
    if spec.sdk is not None and name == "bare" and slot.ratio == 1.0:
        try:
            slot.probe["chaos"] = workers[0].request(op="chaos", sdk=spec.sdk.name, timeout=120)
        except WorkerError as exc:
            slot.probe["chaos"] = {"outcome": f"check failed: {str(exc).strip().splitlines()[-1]}", "paths": []}
    emitted = [slot.probe["scenarios"][s]["spans_per_call"] for s in slot.scenarios]
    if name != "bare" and not any(emitted):
        sdk = f"{sdk_dist(spec)} {slot.versions.get(sdk_dist(spec), '')}"
        slot.status, slot.reason = "broken", f"emits 0 spans with {sdk}; not timed"
        stop(slot)
    for scenario in slot.scenarios:
        slot.means[scenario], slot.spans[scenario], slot.logs[scenario], slot.calls[scenario] = [], 0, 0, 0


def _pythonpath(spec: VenvSpec, variant: Variant) -> tuple[Path, ...]:
    """Where a worker imports from beside its venv: a baseline revision's package, then the work tree."""
    tree = (Path(variant.tree),) if variant.tree else ()
    return tree + ((REPO_ROOT,) if spec.repo_on_path else ())


def sdk_dist(spec: VenvSpec) -> str:
    """The distribution of the SDK a venv's calls go through."""
    return spec.sdk.dist if spec.sdk else "openai"


def stop(slot: Slot) -> None:
    """Stop a slot's replica processes, if it still has them."""
    for worker in slot.workers:
        worker.close()
    slot.workers = []


def timing_loop(slots: list[Slot], calls: dict[str, int], warmup: int, rounds: int) -> list[float]:
    """Interleave rounds: per round, per scenario, per venv, each live slot in turn.

    Warm-up round w runs on replica w mod N, measured round r on replica r mod N: give
    at least N warm-up rounds to warm every replica. Returns the 1-minute load average
    after each measured round: other work on the machine shows there (not after warm-up
    rounds, whose load still holds the workers' own start-up).
    """
    loads: list[float] = []
    by_venv: dict[str, list[Slot]] = {}
    for slot in slots:
        by_venv.setdefault(slot.venv, []).append(slot)
    total = warmup + rounds
    started = time.monotonic()
    for index in range(total):
        warm = index < warmup
        replica = index if warm else index - warmup
        for scenario in calls:
            for group in by_venv.values():
                # A B C / C B A: each variant runs as often first as last.
                for slot in group if index % 2 == 0 else reversed(group):
                    if slot.workers and scenario in slot.scenarios and scenario not in slot.errors:
                        _one_round(slot, replica % len(slot.workers), scenario, calls[scenario], warm)
        elapsed = time.monotonic() - started
        eta = elapsed / (index + 1) * (total - index - 1)
        label = "warm-up" if warm else "measured"
        load = os.getloadavg()[0]
        loads += [] if warm else [load]
        say(f"[round {index + 1}/{total} {label}] {elapsed:.0f} s elapsed, ~{eta:.0f} s left, load {load:.2f}")
    return loads


def _one_round(slot: Slot, replica: int, scenario: str, calls: int, warm: bool) -> None:
    """One round of ``scenario`` on one replica of ``slot``; a failure ends the scenario for the slot."""
    worker = slot.workers[replica]
    try:
        reply = worker.request(op="round", scenario=scenario, calls=calls)
    except WorkerError as exc:
        slot.errors[scenario] = str(exc).strip().splitlines()[-1]
        say(f"[round] {slot_name(slot)}/{scenario} failed on replica {replica}: {slot.errors[scenario]}")
        if not worker.alive:
            slot.status, slot.reason = "failed", slot.errors[scenario]
            stop(slot)
        return
    if warm:
        return
    slot.means[scenario].append(mean(reply["samples_ns"]))
    slot.spans[scenario] += reply["spans"]
    slot.logs[scenario] += reply["logs"]
    slot.calls[scenario] += calls


def ratio_key(ratio: float) -> str:
    """A sampling ratio as a JSON key: ``"1"``, ``"0.1"``."""
    return f"{ratio:g}"


def summarize(slots: list[Slot], states: dict[str, VenvState]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Baselines (bare per venv) and per-variant results, as JSON-ready dicts."""
    baselines: list[dict[str, Any]] = []
    variants: list[dict[str, Any]] = []
    bare_of = {(slot.venv, slot.ratio): slot for slot in slots if slot.variant.name == "bare"}
    sdk_of = {spec.name: spec.sdk.name if spec.sdk else "openai" for spec in VENVS}
    dist_of = {spec.name: sdk_dist(spec) for spec in VENVS}
    for (venv, ratio), bare in bare_of.items():
        entry: dict[str, Any] = {
            "venv": venv,
            "ratio": ratio,
            "sdk": sdk_of[venv],
            "sdk_version": bare.versions.get(dist_of[venv], ""),
            "openai": bare.versions.get("openai", ""),
            "status": bare.status,
            "reason": bare.reason,
            "scenarios": {s: {"us": median(bare.means[s]) / 1000} for s in bare.scenarios if bare.means.get(s)},
        }
        if bare.probe.get("chaos"):
            entry["chaos"] = bare.probe["chaos"]
        baselines.append(entry)
    for slot in slots:
        if slot.variant.name == "bare" and (slot.venv != "main" or slot.ratio != 1.0):
            continue
        entry = {
            "name": slot.variant.name,
            "label": slot.variant.label,
            "venv": slot.venv,
            "ratio": slot.ratio,
            "sdk": sdk_of[slot.venv],
            "sdk_version": slot.versions.get(dist_of[slot.venv], ""),
            "openai": slot.versions.get("openai") or states[slot.venv].openai,
            "dist_version": slot.versions.get(slot.variant.dist or "", ""),
            "status": slot.status,
            "reason": slot.reason,
            "versions": slot.versions,
            "probe": slot.probe,
            "scenarios": {},
        }
        bare = bare_of.get((slot.venv, slot.ratio)) or bare_of[(slot.venv, 1.0)]
        if slot.status == "ok":
            for scenario in slot.scenarios:
                entry["scenarios"][scenario] = scenario_result(slot, bare, scenario)
        variants.append(entry)
    return baselines, variants


def our_logic(slots: list[Slot]) -> dict[str, Any]:
    """Ours minus floor, paired by round, per sampling ratio: what our logic costs on its own."""
    return _ours_against(slots, "floor", scenario_result)


def against_revision(slots: list[Slot], name: str) -> dict[str, Any]:
    """Ours minus the baseline revision ``name``, per sampling ratio and scenario: each round's difference in µs."""
    return _ours_against(slots, name, round_differences)


def _ours_against(slots: list[Slot], other: str, measure: Callable[[Slot, Slot, str], Any]) -> dict[str, Any]:
    """``measure(ours, other, scenario)`` for each sampling ratio and scenario both timed in ``main``."""
    paired: dict[str, Any] = {}
    found = {(slot.variant.name, slot.ratio): slot for slot in slots if slot.venv == "main"}
    for (name, ratio), ours in found.items():
        theirs = found.get((other, ratio))
        if name != "ours" or theirs is None or ours.status != "ok" or theirs.status != "ok":
            continue
        paired[ratio_key(ratio)] = {
            scenario: measure(ours, theirs, scenario)
            for scenario in ours.scenarios
            if scenario not in ours.errors and scenario not in theirs.errors
        }
    return paired


def _paired_means(slot: Slot, other: Slot, scenario: str) -> tuple[list[float], list[float]]:
    """Both slots' per-round means in a scenario, rounds with a figure on both sides only."""
    pairs = [(v, b) for v, b in zip(slot.means[scenario], other.means[scenario], strict=False) if v and b]
    return [v for v, _ in pairs], [b for _, b in pairs]


def round_differences(slot: Slot, other: Slot, scenario: str) -> list[float]:
    """``slot`` minus ``other`` in each round of a scenario, in µs per call."""
    return differences_us(*_paired_means(slot, other, scenario))


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
    result = overhead(*_paired_means(slot, bare, scenario))
    return {"status": "ok", "overhead": result._asdict(), "spans_per_call": spans, "logs_per_call": logs}
