"""The performance targets (issue 16, and issue 12's "no slower than the baseline"), checked against one run.

Owns the thresholds and how each is measured, so ``BENCHMARKS.md`` and every report
state them the same way. A target is ``met``, ``not met`` (with the distance) or
``not measured`` (the run skipped what it needs); the cause of a miss is written by a
person in ``BENCHMARKS.md``, not guessed here.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from _figures import OPENAI_ORDER, added, against_baseline, entries, find, per_chunk
from _stats import PairedDifference

__all__ = ["Target", "check_targets", "verdict"]

#: Sampled share for the production-shape target.
SAMPLED = 0.1
#: Ours over the floor, fully sampled, per scenario.
MAX_FLOOR_RATIO = 1.25
#: Ours per stream chunk, µs.
MAX_CHUNK_US = 1.0
#: Second-half RSS growth of the soak that still counts as flat, MiB.
MAX_FLAT_MIB = 0.5
#: Import plus ``instrument()``, ms.
MAX_STARTUP_MS = 50.0


class Target(NamedTuple):
    """One target and what the run says about it."""

    name: str
    status: str
    measured: str


def _below_peers(doc: dict[str, Any]) -> Target:
    name = "At 10 % sampling, ours below every peer on every scenario"
    ours = find(doc, "ours", SAMPLED)
    peers = [v for v in entries(doc, SAMPLED) if v["venv"] != "main" and v["status"] == "ok"]
    if ours is None or not peers:
        return Target(name, "not measured", "no sampled ours or no sampled peer in this run")
    misses, margins = [], []
    for scenario in OPENAI_ORDER:
        mine = added(ours, scenario)
        theirs = [(added(p, scenario), p["name"]) for p in peers if not math.isnan(added(p, scenario))]
        if math.isnan(mine) or not theirs:
            continue
        best, who = min(theirs)
        margins.append(mine - best)
        if mine >= best:
            misses.append(f"{scenario}: ours {mine:+.0f} µs vs {who} {best:+.0f} µs ({mine - best:+.0f})")
    if not margins:
        return Target(name, "not measured", "no scenario measured for both")
    if misses:
        return Target(name, "not met", "; ".join(misses))
    return Target(name, "met", f"ours is {-max(margins):.0f} µs or more below the cheapest peer in every scenario")


def _floor_ratio(doc: dict[str, Any]) -> Target:
    name = f"Fully sampled, ours ≤ {MAX_FLOOR_RATIO}x the floor on every scenario (added µs over added µs)"
    ours, floor = find(doc, "ours", 1.0), find(doc, "floor", 1.0)
    figures = []
    for scenario in OPENAI_ORDER:
        mine, base = added(ours, scenario), added(floor, scenario)
        if not (math.isnan(mine) or math.isnan(base)) and base > 0:
            figures.append((mine / base, scenario))
    if not figures:
        return Target(name, "not measured", "ours or the floor did not run")
    text = ", ".join(f"{scenario} {ratio:.2f}x" for ratio, scenario in figures)
    worst, where = max(figures)
    if worst <= MAX_FLOOR_RATIO:
        return Target(name, "met", text)
    return Target(name, "not met", f"worst {where} {worst:.2f}x ({worst - MAX_FLOOR_RATIO:+.2f} over); {text}")


def _chunk(doc: dict[str, Any]) -> Target:
    name = f"< {MAX_CHUNK_US:g} µs per stream chunk (ours over bare; slope 50 -> 250 chunks, sync)"
    slope = per_chunk(doc, "ours", 1.0)
    if math.isnan(slope):
        return Target(name, "not measured", "the 250-chunk stream did not run")
    status = "met" if slope < MAX_CHUNK_US else "not met"
    sampled = per_chunk(doc, "ours", SAMPLED)
    return Target(name, status, f"{slope:.2f} µs per chunk fully sampled, {sampled:.2f} at 10 %")


def _memory(doc: dict[str, Any]) -> Target:
    name = f"Memory flat over 100,000 calls (second-half RSS growth ≤ {MAX_FLAT_MIB} MiB, every span ended)"
    memory = doc.get("memory") or {}
    ours = memory.get("variants", {}).get("ours")
    if not ours or "phases" not in ours:
        return Target(name, "not measured", "run with --memory")
    growths = []
    for phase, data in ours["phases"].items():
        points = data["checkpoints"]
        half = points[len(points) // 2 - 1]["rss_kib"] if len(points) >= 2 else data["start"]["rss_kib"]
        growths.append((phase, data["count"], (data["end_after_gc"]["rss_kib"] - half) / 1024))
    ended = ours["spans_started"] == ours["spans_ended"] == ours["spans_exported"]
    text = ", ".join(f"{phase} ({count:,}): {growth:+.1f} MiB" for phase, count, growth in growths)
    counts = (ours["spans_started"], ours["spans_ended"], ours["spans_exported"])
    text += "; spans started/ended/exported " + "/".join(f"{count:,}" for count in counts)
    small = memory.get("calls", 0) < 100_000
    flat = ended and all(growth <= MAX_FLAT_MIB for _, _, growth in growths)
    if small:
        return Target(name, "not measured", f"soak shortened to {memory.get('calls', 0):,} calls; {text}")
    return Target(name, "met" if flat else "not met", text)


def _startup(doc: dict[str, Any]) -> Target:
    name = f"import + instrument() < {MAX_STARTUP_MS:g} ms"
    ours = (doc.get("startup") or {}).get("ours")
    if not ours or "import_ms" not in ours:
        return Target(name, "not measured", (ours or {}).get("reason", "start-up not measured"))
    total = ours["import_ms"] + ours["instrument_ms"]
    status = "met" if total < MAX_STARTUP_MS else "not met"
    parts = f"import {ours['import_ms']:.1f}, instrument() {ours['instrument_ms']:.1f}"
    return Target(name, status, f"{total:.1f} ms ({parts})")


def verdict(difference: PairedDifference) -> str:
    """``slower`` or ``faster`` when the median's 95 % interval lies wholly above or below 0."""
    if math.isnan(difference.low_us):
        return "too few to judge"
    if difference.low_us > 0:
        return "slower"
    return "faster" if difference.high_us < 0 else "within noise"


def _no_slower(doc: dict[str, Any]) -> Target:
    revision = doc.get("revision")
    if not revision:
        return Target("No scenario slower than the baseline (issue 12)", "not measured", "run with --baseline REV")
    name = f"No scenario slower than the baseline {revision['sha'][:7]} (issue 12)"
    rows = [(verdict(d), f"{scenario} at {ratio:.0%}", d) for ratio, scenario, d in against_baseline(doc)]
    if not rows:
        entry = find(doc, revision["name"], 1.0)
        why = f"{entry['status']}: {entry['reason']}" if entry else "not timed"
        return Target(name, "not measured", f"the baseline {why}")
    if any(row[0] == "too few to judge" for row in rows):
        units = "replicas" if doc["settings"].get("replicas", 1) > 1 else "rounds"
        return Target(name, "not measured", f"{rows[0][2].rounds} {units}; a 95 % interval of the median needs 6")
    slower = [(where, d) for kind, where, d in rows if kind == "slower"]
    if slower:
        return Target(name, "not met", "slower: " + "; ".join(_difference(where, d) for where, d in slower))
    _, where, d = max(rows, key=lambda row: row[2].median_us)
    return Target(name, "met", f"{len(rows)} scenario/sampler pairs, none slower; highest: {_difference(where, d)}")


def _difference(where: str, d: PairedDifference) -> str:
    return f"{where} {d.median_us:+.1f} µs (interval {d.low_us:+.1f} to {d.high_us:+.1f})"


#: Above this 1-minute load per core, timings are someone else's scheduling as much as ours.
MAX_LOAD_PER_CORE = 1.5
#: Targets judged on timings; the memory soak counts bytes and spans, which load does not change.
_TIMED = ("peer", "floor", "chunk", "startup", "baseline")


def _overloaded(doc: dict[str, Any]) -> str:
    """Why the run's timings cannot judge a target (the machine was shared), or ``""``."""
    loads = [*doc.get("load", []), *doc.get("load_rounds", [])]
    cores = (doc.get("machine") or {}).get("cores") or 1
    peak = max(loads, default=0.0)
    return f"load average up to {peak:.1f} on {cores} cores" if peak > MAX_LOAD_PER_CORE * cores else ""


def check_targets(doc: dict[str, Any]) -> list[Target]:
    """Every target, in the order of issue 16, then issue 12's; a timed one on an overloaded machine is not judged."""
    targets = [_below_peers(doc), _floor_ratio(doc), _chunk(doc), _memory(doc), _startup(doc), _no_slower(doc)]
    busy = _overloaded(doc)
    if not busy:
        return targets
    return [
        target._replace(status=f"not judged ({busy})")
        if kind in _TIMED and target.status in ("met", "not met")
        else target
        for kind, target in zip(("peer", "floor", "chunk", "memory", "startup", "baseline"), targets, strict=True)
    ]
