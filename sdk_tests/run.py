"""Run the ``openai`` SDK's own offline tests plain and instrumented, and compare outcomes.

For the ``openai`` version installed in the running interpreter this fetches
that exact version's sdist from PyPI (cached, extracted, outside the repo),
installs what its tests need (the sdist's dev dependencies and light extras,
pinned by its lock file; nothing already installed is changed), runs its tests
twice from the sdist root with the SDK's own pytest configuration: once plain,
once with ``-p sdk_tests.plugin`` (``otel_aierrors`` instrumenting into
in-memory exporters), and prints every test whose outcome differs.

Exit status 1 when a test's outcome differs, when a run collected nothing, when
a run broke (pytest usage or internal error) or when the instrumented run
recorded no telemetry. Tests that fail in both runs are counted, not failed.

Usage: ``python -m sdk_tests.run`` (from the repository root, in the
environment to check).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sdk_tests.outcomes import Differences, Outcome, compare, read_junit
from sdk_tests.sdist import NotInstallable, cache_root, fetch_sdist, install_test_dependencies, log

REPO = Path(__file__).resolve().parent.parent
PLUGIN = "sdk_tests.plugin"

# Tests that need the SDK's mock server (Steady / Prism on 127.0.0.1:4010, fed an
# OpenAPI spec that the sdist does not ship and the SDK's scripts fetch from elsewhere).
NEEDS_MOCK_SERVER = ("tests/api_resources", "tests/lib/test_fine_tuning_positional_arguments.py")
# The tests that exercise the client's HTTP paths (requests, retries, raw and streamed
# responses, the lib/ helpers on top of them).
CORE = ("tests/test_client.py", "tests/test_streaming.py", "tests/test_response.py", "tests/test_legacy_response.py")
CORE_DIRS = ("tests/lib",)
# SDK lines whose whole offline suite does not fit CI's time: there only CORE and
# CORE_DIRS run, and every other file is named on every run.
CORE_ONLY = {
    "3": "3.x ships about 13,000 offline tests, too many for CI's time on 2 cores; the core and tests/lib/ (8,700) run",
}

# Differences re-run to tell a flaky test from a real one; past this many, re-running costs
# more than it tells (the instrumentation is then plainly at fault).
MAX_RERUN = 200

PLUGIN_LINE = re.compile(r"otel-aierrors plugin: (\d+) call spans, (\d+) attempt spans recorded")


@dataclass(frozen=True)
class Run:
    name: str
    returncode: int
    outcomes: dict[str, Outcome]
    output: str
    seconds: float


def run_pytest(root: Path, name: str, selection: Sequence[str], workers: int, extra: Sequence[str], out: Path) -> Run:
    junit = out / f"{name}.xml"
    logfile = out / f"{name}.log"
    junit.unlink(missing_ok=True)  # never read a previous run's results
    command = [
        sys.executable,
        "-m",
        "pytest",
        *selection,
        "--continue-on-collection-errors",
        "-p",
        "no:cacheprovider",
        "-n",
        str(workers),
        "-o",
        "junit_family=xunit1",
        f"--junitxml={junit}",
        *extra,
    ]
    env = dict(os.environ)
    # The plugin is imported from this repository; the SDK's tests from the sdist root.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    # Run as on a developer's machine: no credentials, and no CI=true, with which the
    # SDK's own repository-policy tests check files that only its git checkout has.
    for variable in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "CI"):
        env.pop(variable, None)
    log(f"{name} run: {' '.join(command[1:])}")
    started = time.monotonic()
    with logfile.open("w") as sink:
        completed = subprocess.run(command, cwd=root, env=env, stdout=sink, stderr=subprocess.STDOUT, check=False)
    seconds = time.monotonic() - started
    output = logfile.read_text(errors="replace")
    outcomes = read_junit(junit) if junit.exists() else {}
    summary = re.compile(r"^(=+ .*\b(passed|failed|errors?|skipped|no tests ran)\b.*=+|otel-aierrors plugin: .*)$")
    tail = [line for line in output.splitlines() if summary.match(line)]
    for line in tail:
        log(f"  {line}")
    log(f"{name} run: exit {completed.returncode}, {len(outcomes)} tests, {seconds:.0f} s (log: {logfile})")
    return Run(name, completed.returncode, outcomes, output, seconds)


def confirm(differ: Differences, root: Path, workers: int, out: Path) -> tuple[Differences, list[str]]:
    """Run the differing tests again, both ways: (confirmed differences, those that did not differ again).

    A test whose outcome depends on load (a timeout on a busy machine) must not fail CI by
    chance; one that cannot be re-run alone (its id not found) stays a difference.
    """
    if not differ or len(differ) > MAX_RERUN:
        return differ, []
    ids = sorted(differ)
    plain = run_pytest(root, "plain-rerun", ids, workers, [], out)
    instrumented = run_pytest(root, "instrumented-rerun", ids, workers, ["-p", PLUGIN], out)
    confirmed: Differences = {}
    unconfirmed: list[str] = []
    for node_id in ids:
        before, after = plain.outcomes.get(node_id), instrumented.outcomes.get(node_id)
        if before is None or after is None or before.status != after.status:
            confirmed[node_id] = differ[node_id]
        else:
            unconfirmed.append(node_id)
    return confirmed, unconfirmed


def report(differ: Differences, unconfirmed: Sequence[str]) -> None:
    for node_id, (before, after) in differ.items():
        print(f"DIFFERS {node_id}: plain {before.status}, instrumented {after.status}")
        for line in (after.message or before.message).splitlines():
            print(f"    {line}")
    for node_id in unconfirmed:
        print(f"differed once, not on a re-run (a flaky test, not counted): {node_id}")


def plugin_counts(run: Run) -> tuple[int, int] | None:
    match = PLUGIN_LINE.search(run.output)
    return (int(match.group(1)), int(match.group(2))) if match else None


def problems(runs: Iterable[Run]) -> list[str]:
    found: list[str] = []
    for run in runs:
        if not run.outcomes:
            found.append(f"the {run.name} run collected no test (exit {run.returncode})")
        if run.returncode not in (0, 1):
            found.append(f"the {run.name} run broke: pytest exit {run.returncode}")
    return found


def default_selection(root: Path, version: str) -> list[str]:
    """``tests/`` without what needs the mock server; on a CORE_ONLY line, the core only. Says what is left out."""
    mock = [path for path in NEEDS_MOCK_SERVER if (root / path).exists()]
    for path in mock:
        log(f"not run: {path} (needs the SDK's mock server, see the README)")
    ignores = [f"--ignore={path}" for path in mock]
    reason = CORE_ONLY.get(version.split(".")[0])
    if reason is None:
        return ["tests", *ignores]
    core = [path for path in (*CORE, *CORE_DIRS) if (root / path).exists()]
    skipped = sorted(
        str(entry.relative_to(root))
        for entry in (root / "tests").iterdir()
        if str(entry.relative_to(root)) not in (*core, *mock)
        and ((entry.is_file() and entry.name.startswith("test_") and entry.suffix == ".py") or entry.is_dir())
        and any(entry.rglob("test_*.py") if entry.is_dir() else [entry])
    )
    log(f"not run, for time ({reason}): {len(skipped)} other files and folders: {', '.join(skipped)}")
    log("to run them too: python -m sdk_tests.run -- tests " + " ".join(ignores))
    return [*core, *ignores]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers per run (default 2)")
    parser.add_argument(
        "pytest_args",
        nargs="*",
        help="pytest arguments for both runs after --, replacing the default selection (e.g. -- tests/test_client.py)",
    )
    args = parser.parse_args(argv)

    version = importlib.metadata.version("openai")
    cache = cache_root()
    root = fetch_sdist(version, cache)
    out = cache / "runs" / f"openai-{version}"
    out.mkdir(parents=True, exist_ok=True)
    try:
        install_test_dependencies(root, version, out)
    except NotInstallable as reason:
        # Not a fault of the instrumentation: the line is said to be not run, and the other
        # lines' results stand (a CI step fails only for what the comparison found).
        print(f"sdk tests openai {version}: not run, because {reason}")
        return 0

    selection = args.pytest_args or default_selection(root, version)
    plain = run_pytest(root, "plain", selection, args.workers, [], out)
    instrumented = run_pytest(root, "instrumented", selection, args.workers, ["-p", PLUGIN], out)

    differ, both_failed = compare(plain.outcomes, instrumented.outcomes)
    differ, unconfirmed = confirm(differ, root, args.workers, out)
    report(differ, unconfirmed)
    failures = problems((plain, instrumented))
    counts = plugin_counts(instrumented)
    if counts is None or counts[0] == 0:
        failures.append("the instrumented run recorded no call span: the instrumentation was not active")
    total = len(plain.outcomes.keys() | instrumented.outcomes.keys())
    for failure in failures:
        print(f"ERROR: {failure}")
    spans = f", {counts[0]} call spans, {counts[1]} attempt spans" if counts else ""
    print(
        f"sdk tests openai {version}: {total} tests, {len(differ)} differ, {both_failed} fail in both runs, "
        f"{len(unconfirmed)} flaky{spans} ({plain.seconds + instrumented.seconds:.0f} s)"
    )
    return 1 if differ or failures else 0


if __name__ == "__main__":
    sys.exit(main())
