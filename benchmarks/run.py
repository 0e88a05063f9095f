"""Benchmark harness for otel-aierrors: ``python benchmarks/run.py`` (see BENCHMARKS.md).

The real ``openai`` SDK talks to an in-process transport serving canned answers, so the
SDK and the instrumentation are all that runs. Every variant lives in its own worker
process, started once in its own virtual environment and kept alive; the driver asks the
workers for a round each in turn (A B A B ...), and a variant's cost is its per-call time
minus that of the bare SDK in the same environment and round. Start-up cost and (with
``--memory``) a long memory soak are measured in fresh processes.

Not part of the test suite: it takes minutes and its figures depend on the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from _oneshot import measure_memory, measure_startup
from _pool import BENCH_DIR, REPO_ROOT, say
from _report import git_state, machine, render
from _revision import extract, resolve
from _rounds import (
    Slot,
    against_revision,
    hash_seed,
    our_logic,
    start_slots,
    stop,
    summarize,
    timing_loop,
)
from _scenarios import CHUNK_SCENARIOS, SCENARIOS, SDK_SCENARIOS
from _variants import VARIANTS, VENVS, Variant, baseline_variant
from _venvs import VenvState, ensure_venv

#: Calls per round for each scenario: about 0.1 s of bare SDK work on the reference machine,
#: and a multiple of 10, so that a 10 %-sampled round samples exactly a tenth of its calls.
CALLS_PER_ROUND = {
    "chat_sync": 200,
    "chat_async": 200,
    "retry_sync": 100,
    "retry_async": 100,
    "stream_sync": 30,
    "stream_async": 30,
    "stream_long_sync": 10,
    **{scenario.name: 200 if scenario.attempts == 1 else 100 for scenario in SDK_SCENARIOS},
}
#: Every scenario the rounds can time, in report order.
TIMED_SCENARIOS = tuple(s.name for s in SCENARIOS + CHUNK_SCENARIOS + SDK_SCENARIOS)
PEER_NAMES = tuple(v.name for v in VARIANTS if v.venv != "main")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    names = ", ".join(v.name for v in VARIANTS)
    parser.add_argument("--only", help=f"comma-separated variants ({names}; 'peers' = all peers)")
    parser.add_argument("--scenarios", help="comma-separated scenarios: " + ", ".join(TIMED_SCENARIOS))
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also time the package as it was at git revision REV, beside ours in the main venv's rounds",
    )
    parser.add_argument(
        "--replicas",
        type=int,
        help="worker processes behind each main-venv variant and sampler, used in turn by successive rounds "
        "(default 10 with --baseline, else 1)",
    )
    parser.add_argument(
        "--sampling",
        default="1,0.1",
        help="comma-separated trace sampling ratios, each timed in its own workers (default 1,0.1)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 short rounds, 1 start-up sample")
    parser.add_argument(
        "--fast",
        action="store_true",
        help="a third of a full run: 10 measured rounds of full length after 2 warm-up, 3 start-up samples",
    )
    parser.add_argument("--rounds", type=int, help="measured rounds (default 30; --quick: 3)")
    parser.add_argument("--warmup", type=int, help="warm-up rounds, discarded (default 3; --quick: 1)")
    parser.add_argument("--scale", type=float, help="multiply calls per round (default 1; --quick: 0.25)")
    parser.add_argument("--startup-samples", type=int, help="fresh processes per variant (default 5)")
    parser.add_argument("--no-startup", action="store_true", help="skip the start-up measurement")
    parser.add_argument("--no-timing", action="store_true", help="skip the interleaved rounds")
    parser.add_argument("--memory", action="store_true", help="also run the memory soak (a few minutes)")
    parser.add_argument("--memory-calls", type=int, help="non-streamed calls in the soak (default 100000)")
    parser.add_argument("--memory-streams", type=int, help="streams in the soak (default 10000)")
    parser.add_argument(
        "--memory-variants", default="bare,ours", help="variants soaked, each in a fresh process (default bare,ours)"
    )
    parser.add_argument("--rebuild", action="store_true", help="recreate the virtual environments")
    parser.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results")
    parser.add_argument("--render", type=Path, metavar="JSON", help="print the report of a stored run and exit")
    args = parser.parse_args(argv)
    quick, fast = args.quick, args.fast
    args.rounds = args.rounds if args.rounds is not None else (3 if quick else 10 if fast else 30)
    # The baseline's verdict counts replicas, not rounds, and its interval needs 6 of them.
    args.replicas = args.replicas if args.replicas is not None else (10 if args.baseline else 1)
    if args.replicas < 1:
        parser.error("--replicas takes 1 or more")
    warmup = args.warmup if args.warmup is not None else (1 if quick else 2 if fast else 3)
    # Warm-up round w runs on replica w mod N: at least N of them warm every replica.
    args.warmup = max(warmup, args.replicas)
    args.scale = args.scale if args.scale is not None else (0.25 if quick else 1.0)
    args.startup_samples = args.startup_samples or (1 if quick else 3 if fast else 5)
    args.memory_calls = args.memory_calls or (5_000 if quick else 100_000)
    args.memory_streams = args.memory_streams or (500 if quick else 10_000)
    return args


def calls_per_round(scenario: str, scale: float) -> int:
    """Calls per round after ``--scale``, kept a multiple of 10 (see ``CALLS_PER_ROUND``)."""
    return max(10, round(CALLS_PER_ROUND[scenario] * scale / 10) * 10)


def selected_variants(only: str | None) -> list[Variant]:
    if not only:
        return list(VARIANTS)
    wanted: set[str] = set()
    for name in only.split(","):
        name = name.strip()
        wanted.update(PEER_NAMES if name == "peers" else (name,))
    unknown = wanted - {v.name for v in VARIANTS}
    if unknown:
        raise SystemExit(f"unknown variant(s): {', '.join(sorted(unknown))}")
    return [v for v in VARIANTS if v.name in wanted]


def baseline_of(rev: str) -> Variant:
    """The ``--baseline`` variant: ours at ``rev``, extracted under ``benchmarks/.baselines/``."""
    sha = resolve(rev, REPO_ROOT)
    tree = extract(sha, REPO_ROOT, BENCH_DIR / ".baselines")
    say(f"[baseline] {rev} is {sha}; otel_aierrors from {tree}")
    return baseline_variant(sha, str(tree))


def start_workers(
    variants: list[Variant],
    states: dict[str, VenvState],
    logs: Path,
    scenarios: list[str],
    ratios: list[float],
    replicas: int,
) -> list[Slot]:
    """``start_slots``, then say how many processes it started and how long that took."""
    began = time.monotonic()
    slots = start_slots(variants, states, logs, scenarios, ratios, replicas)
    live = [slot for slot in slots if slot.workers]
    main = sum(len(slot.workers) for slot in live if slot.venv == "main")
    others = sum(len(slot.workers) for slot in live if slot.venv != "main")
    seeds = f"{hash_seed(0)}..{hash_seed(replicas - 1)}" if replicas > 1 else f"{hash_seed(0)}"
    say(
        f"[start] {main + others} worker processes in {time.monotonic() - began:.0f} s: {main} in main "
        f"({replicas} per variant and sampler, PYTHONHASHSEED {seeds}), {others} in other venvs "
        f"(1 each, PYTHONHASHSEED {hash_seed(0)})"
    )
    return slots


def revision_entry(rev: str, variant: Variant, slots: list[Slot]) -> dict[str, Any]:
    """What the report needs to put ours against the baseline revision: who, and each round's difference."""
    return {
        "rev": rev,
        "sha": Path(variant.tree).name,
        "name": variant.name,
        "differences_us": against_revision(slots, variant.name),
    }


def venv_entries(
    states: dict[str, VenvState], slots: list[Slot], memory: dict[str, Any] | None
) -> list[dict[str, Any]]:
    entries = []
    for name, state in states.items():
        versions: dict[str, str] = {}
        for slot in slots:
            if slot.venv == name:
                versions.update(slot.versions)
        if name == "main" and memory and not versions:
            for result in memory["variants"].values():
                versions.update(result.get("versions", {}))
        entries.append(
            {
                "name": name,
                "status": state.status,
                "reason": state.reason,
                "openai": versions.get("openai") or state.openai,
                "tried": state.tried,
                "versions": versions,
            }
        )
    return entries


def previous_timed_run(results_dir: Path) -> dict[str, Any] | None:
    """The newest earlier run with at least one timed figure (memory-only runs are skipped)."""
    for path in sorted(results_dir.glob("run-*.json"), reverse=True):
        try:
            previous: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if any(r.get("status") == "ok" for v in previous.get("variants", []) for r in v["scenarios"].values()):
            previous.pop("previous", None)
            return previous
    return None


def write_results(doc: dict[str, Any], results_dir: Path) -> str:
    """Write ``latest.md``, ``latest.json`` and a dated JSON copy; return the Markdown."""
    results_dir.mkdir(parents=True, exist_ok=True)
    latest = results_dir / "latest.json"
    doc["previous"] = previous_timed_run(results_dir)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    text = json.dumps(doc, indent=1)
    latest.write_text(text)
    (results_dir / f"run-{stamp}.json").write_text(text)
    # The figures are safe on disk before rendering: a report bug costs a --render, not a run.
    markdown = render(doc)
    (results_dir / "latest.md").write_text(markdown)
    return markdown


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        print(render(json.loads(args.render.read_text())))
        return 0
    wall = time.monotonic()
    load_start = os.getloadavg()[0]
    git_start = git_state(REPO_ROOT)
    variants = selected_variants(args.only)
    revision = baseline_of(args.baseline) if args.baseline else None
    timed_variants = variants + ([revision] if revision else [])
    ratios = sorted({float(r) for r in args.sampling.split(",")}, reverse=True)
    if any(not 0 < r <= 1 for r in ratios) or 1.0 not in ratios:
        raise SystemExit("--sampling takes ratios in (0, 1] and must include 1")
    scenarios = list(TIMED_SCENARIOS)
    if args.scenarios:
        scenarios = [name.strip() for name in args.scenarios.split(",")]
        unknown = set(scenarios) - set(CALLS_PER_ROUND)
        if unknown:
            raise SystemExit(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    logs = args.results_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    timed = {
        spec.name
        for spec in VENVS
        if any(spec.runs(v) for v in timed_variants) and set(spec.scenarios) & set(scenarios)
    }
    needed = (
        (set() if args.no_timing else timed)
        | (set() if args.no_startup else {v.venv for v in variants})
        | ({"main"} if args.memory else set())
    )
    states = {
        spec.name: ensure_venv(spec, BENCH_DIR / ".venvs", REPO_ROOT, logs, args.rebuild, say)
        for spec in VENVS
        if spec.name in needed
    }
    slots: list[Slot] = []
    loads: list[float] = []
    try:
        if not args.no_timing:
            slots = start_workers(timed_variants, states, logs, scenarios, ratios, args.replicas)
            calls = {name: calls_per_round(name, args.scale) for name in scenarios}
            loads = timing_loop(slots, calls, args.warmup, args.rounds)
    finally:
        for slot in slots:
            stop(slot)
    baselines, results = summarize(slots, states)
    startup = {} if args.no_startup else measure_startup(variants, states, slots, args.startup_samples, logs)
    memory = (
        measure_memory(states, args.memory_calls, args.memory_streams, logs, args.memory_variants.split(","))
        if args.memory
        else None
    )
    labels = {s.name: s.label for s in SCENARIOS + CHUNK_SCENARIOS + SDK_SCENARIOS}
    doc: dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python benchmarks/run.py" + "".join(f" {shlex.quote(a)}" for a in (argv or sys.argv[1:])),
        "git": git_start,
        "git_end": git_state(REPO_ROOT),
        "machine": machine(),
        "settings": {
            "rounds": args.rounds,
            "warmup": args.warmup,
            "replicas": args.replicas,
            "hash_seeds": [hash_seed(replica) for replica in range(args.replicas)],
            "calls_per_round": {s: calls_per_round(s, args.scale) for s in scenarios},
            "sampling": ratios,
            "scenarios": scenarios,
            "scenario_labels": [{"name": s, "label": labels[s]} for s in scenarios],
            "timing": not args.no_timing,
        },
        "venvs": venv_entries(states, slots, memory),
        "baselines": baselines,
        "variants": results,
        "logic": our_logic(slots),
        "revision": revision_entry(args.baseline, revision, slots) if revision else None,
        "startup": startup,
        "memory": memory,
        "previous": None,
    }
    doc["wall_seconds"] = time.monotonic() - wall
    doc["load"] = [load_start, os.getloadavg()[0]]
    doc["load_rounds"] = loads
    markdown = write_results(doc, args.results_dir)
    print(markdown)
    say(f"[done] {args.results_dir / 'latest.md'} and latest.json written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
