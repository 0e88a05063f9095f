"""Time ours' own four phases per call, in one process: a low-noise A/B of two package trees.

The interleaved rounds of ``run.py`` compare whole calls in separate processes, whose
constant gap (±100-400 µs per call here) hides a change of a few tens of µs. This script
times only the instrumentation's own phases around the SDK's work, in one process per
tree, alternating the trees::

    benchmarks/.venvs/main/bin/python benchmarks/phases.py --tree . --tree benchmarks/.baselines/<sha>

Phases: the call's start (``_start_call``) and end (``_end_with_result``) around
``request()``, and the attempt's start (``_start_attempt``) and end
(``_end_with_response``) around the transport's ``send``. Each is a module-level function
the wrappers look up at call time, so a timing wrapper replaces it for the run (about
0.2 µs per phase, the same for every tree). A tree from before the redesign keeps the call
phases in ``otel_aierrors._patches.openai_sdk``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
#: (module, function) of each phase; the first module that exists is used.
PHASES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("otel_aierrors._patches.calls", "otel_aierrors._patches.openai_sdk"), "_start_call"),
    (("otel_aierrors._patches.calls", "otel_aierrors._patches.openai_sdk"), "_end_with_result"),
    (("otel_aierrors._patches.transport",), "_start_attempt"),
    (("otel_aierrors._patches.transport",), "_end_with_response"),
)


def _module(candidates: tuple[str, ...]) -> ModuleType:
    for name in candidates:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise SystemExit(f"none of {candidates} in this tree")


def _timed(function: Callable[..., Any], totals: dict[str, int], name: str) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter_ns()
        try:
            return function(*args, **kwargs)
        finally:
            totals[name] += time.perf_counter_ns() - start

    return timed


def measure(scenario_name: str, rounds: int, calls: int, sample_ratio: float = 1.0) -> dict[str, float]:
    """Median over rounds of each phase's µs per call, in this process (the worker side)."""
    sys.path.insert(0, str(BENCH_DIR))
    from _scenarios import SCENARIOS, build_call
    from _telemetry import install_telemetry

    import otel_aierrors

    telemetry = install_telemetry(sample_ratio=sample_ratio)
    otel_aierrors.AIErrorsInstrumentor().instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    totals: dict[str, int] = {}
    for candidates, name in PHASES:
        module = _module(candidates)
        totals[name] = 0
        setattr(module, name, _timed(getattr(module, name), totals, name))
    scenario = {s.name: s for s in SCENARIOS}[scenario_name]
    if scenario.is_async:
        raise SystemExit("phases.py times sync scenarios only")
    call = build_call(scenario)
    for _ in range(calls):  # warm-up
        call()
    telemetry.flush()
    samples: dict[str, list[float]] = {name: [] for name in totals}
    for _ in range(rounds):
        for name in totals:
            totals[name] = 0
        for _ in range(calls):
            call()
        telemetry.flush()  # outside the phases: exporting is not ours
        for name, total in totals.items():
            samples[name].append(total / calls / 1000)
    return {name: statistics.median(values) for name, values in samples.items()}


def _run_tree(tree: Path, scenario: str, rounds: int, calls: int, sample_ratio: float) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), str(BENCH_DIR)])}
    command = [sys.executable, __file__, "--worker", scenario, "--rounds", str(rounds), "--calls", str(calls)]
    command += ["--sample-ratio", str(sample_ratio)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tree", action="append", type=Path, help="a directory holding otel_aierrors/ (repeat)")
    parser.add_argument("--scenario", default="chat_sync", help="a sync scenario of _scenarios.SCENARIOS")
    parser.add_argument("--processes", type=int, default=3, help="processes per tree, alternating the trees")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=200, help="calls per round")
    parser.add_argument("--sample-ratio", type=float, default=1.0, help="ParentBased(TraceIdRatioBased(R)) below 1")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args.worker, args.rounds, args.calls, args.sample_ratio)))
        return
    trees = [tree.resolve() for tree in args.tree or [BENCH_DIR.parent]]
    for tree in trees:
        if not (tree / "otel_aierrors").is_dir():
            raise SystemExit(f"{tree} holds no otel_aierrors/")
    results: dict[Path, list[dict[str, float]]] = {tree: [] for tree in trees}
    for _ in range(args.processes):
        for tree in trees:
            results[tree].append(_run_tree(tree, args.scenario, args.rounds, args.calls, args.sample_ratio))
    names = [name for _, name in PHASES]
    sampled = f"{args.sample_ratio:.0%} of traces sampled"
    medians = f"median over {args.processes} processes of their medians over rounds"
    print(f"{args.scenario}, {sampled}: µs per call, {medians}")
    print("| tree | " + " | ".join(names) + " | total |")
    print("|---|" + "---:|" * (len(names) + 1))
    for tree, runs in results.items():
        medians = [statistics.median(run[name] for run in runs) for name in names]
        print(f"| {tree} | " + " | ".join(f"{m:.1f}" for m in medians) + f" | {sum(medians):.1f} |")


if __name__ == "__main__":
    main()
