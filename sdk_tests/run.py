"""Run an SDK's or a client's own offline tests plain and instrumented, and compare outcomes.

For the ``openai`` version (or, with ``--client``, the client's version: instructor,
langchain-openai, openai-agents, pydantic-ai, litellm; sdk_tests/clients.py) installed
in the running interpreter this fetches that exact version's sdist from PyPI (cached, extracted, outside the repo),
installs what its tests need (the sdist's dev dependencies and light extras,
pinned by its lock file; nothing already installed is changed), runs its tests
twice from the sdist root with the SDK's own pytest configuration: once plain,
once with ``-p sdk_tests.plugin`` (``otel_aierrors`` instrumenting into
in-memory exporters), and prints every test whose outcome differs.

Exit status 1 when a test's outcome differs, when a run collected nothing, when
a run broke (pytest usage or internal error, or past the client's time bound) or
when the instrumented run of the openai SDK recorded no telemetry (clients whose
offline tests fake the transport print their counts instead). Tests that fail in
both runs are counted, not failed. Exit status 10 (and nothing else wrong) when a
client's sdist ships no tests or its test dependencies do not install: it is said
"not run, because ...", never "ok".

Usage: ``python -m sdk_tests.run`` (from the repository root, in the
environment to check), ``python -m sdk_tests.run --client instructor [--client ...]``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sdk_tests.clients import CLIENTS, Client, folder_of_tests, selection
from sdk_tests.outcomes import Differences, Outcome, compare, read_junit
from sdk_tests.sdist import NoTests, NotInstallable, cache_root, fetch_sdist, install_test_dependencies, log

REPO = Path(__file__).resolve().parent.parent
PLUGIN = "sdk_tests.plugin"
STARTUP = REPO / "sdk_tests" / "startup"  # a sitecustomize that instruments every process at start-up

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

# Exit status when a client's suite could not be run (its sdist ships no tests, or its test
# dependencies do not install here), and nothing differed: CI shows it "not run", not "ok".
NOT_RUN = 10
# What a run of the tests must not see: no credentials (the suites' key-needing tests then
# skip, by their own logic), and no CI=true (with which some suites check repository files).
CREDENTIALS = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_ENDPOINT",
    "ANTHROPIC_API_KEY",
    "GROQ_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "MISTRAL_API_KEY",
    "COHERE_API_KEY",
    "TOGETHER_API_KEY",
    "FIREWORKS_API_KEY",
    "CEREBRAS_API_KEY",
    "XAI_API_KEY",
    "LITELLM_API_KEY",
    "CI",
)

TIMED_OUT = -9  # the return code of a run stopped at the client's time bound

PLUGIN_LINE = re.compile(r"otel-aierrors plugin: (\d+) call spans, (\d+) attempt spans recorded")


@dataclass(frozen=True)
class Run:
    name: str
    returncode: int
    outcomes: dict[str, Outcome]
    output: str
    seconds: float


def run_pytest(
    root: Path,
    name: str,
    selection: Sequence[str],
    workers: int,
    extra: Sequence[str],
    out: Path,
    client: Client = CLIENTS["openai"],
    startup: bool = False,
) -> Run:
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
    first = (str(STARTUP), str(REPO)) if startup else (str(REPO),)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (*first, env.get("PYTHONPATH", "")) if p)
    # Run as on a developer's machine: no credentials, and no CI=true, with which the
    # SDK's own repository-policy tests check files that only its git checkout has.
    for variable in CREDENTIALS:
        env.pop(variable, None)
    env.update(client.env)
    if not client.require_calls:
        env["OTEL_AIERRORS_SDK_TESTS_ALLOW_NO_CALLS"] = "1"
    log(f"{name} run: {' '.join(command[1:])}")
    started = time.monotonic()
    with logfile.open("w") as sink:
        # Its own session, so that a run past the bound is stopped with its xdist workers.
        process = subprocess.Popen(
            command, cwd=root, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            returncode = process.wait(timeout=client.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            returncode = TIMED_OUT
        except BaseException:  # Ctrl-C: its session would outlive this process
            os.killpg(process.pid, signal.SIGKILL)
            raise
            sink.write(f"\n[sdk-tests] stopped: the run took longer than {client.timeout} s\n")
    seconds = time.monotonic() - started
    output = logfile.read_text(errors="replace")
    outcomes = read_junit(junit) if junit.exists() else {}
    summary = re.compile(r"^(=+ .*\b(passed|failed|errors?|skipped|no tests ran)\b.*=+|otel-aierrors plugin: .*)$")
    tail = [line for line in output.splitlines() if summary.match(line)]
    for line in tail:
        log(f"  {line}")
    log(f"{name} run: exit {returncode}, {len(outcomes)} tests, {seconds:.0f} s (log: {logfile})")
    return Run(name, returncode, outcomes, output, seconds)


def confirm(
    differ: Differences, root: Path, workers: int, out: Path, client: Client = CLIENTS["openai"]
) -> tuple[Differences, list[str]]:
    """Run the differing tests again, both ways: (confirmed differences, those that did not differ again).

    A test whose outcome depends on load (a timeout on a busy machine) must not fail CI by
    chance; one that cannot be re-run alone (its id not found) stays a difference.
    """
    if not differ or len(differ) > MAX_RERUN:
        return differ, []
    ids = sorted(differ)
    # The client's own options (markers, no sockets) hold for the re-run too; not its paths.
    plain = run_pytest(root, "plain-rerun", ids, workers, client.pytest_args, out, client)
    instrumented = run_pytest(
        root, "instrumented-rerun", ids, workers, [*client.pytest_args, "-p", PLUGIN], out, client
    )
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
        if run.returncode == TIMED_OUT:
            found.append(f"the {run.name} run was stopped past its time bound")
        elif run.returncode not in (0, 1):
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
        "--client",
        action="append",
        choices=sorted(CLIENTS),
        help="whose tests to run (repeatable; default openai, the SDK itself)",
    )
    parser.add_argument(
        "pytest_args",
        nargs="*",
        help="pytest arguments for both runs after --, replacing the default selection (e.g. -- tests/test_client.py)",
    )
    args = parser.parse_args(argv)
    names = args.client or ["openai"]
    statuses = [run_client(CLIENTS[name], args.workers, args.pytest_args) for name in names]
    if len(names) > 1:
        print(
            "clients: " + ", ".join(f"{name} {VERDICTS[status]}" for name, status in zip(names, statuses, strict=True))
        )
    return 1 if 1 in statuses else NOT_RUN if NOT_RUN in statuses else 0


VERDICTS = {0: "ok", 1: "FAILED", NOT_RUN: "not run"}


def run_client(client: Client, workers: int, pytest_args: Sequence[str]) -> int:
    """One client's suite, plain and instrumented: 0, 1 (a difference or a broken run) or NOT_RUN."""
    label = "sdk tests" if client.name == "openai" else "client tests"
    try:
        version = importlib.metadata.version(client.distribution)
    except importlib.metadata.PackageNotFoundError:
        print(f"{label} {client.name}: not run, because {client.distribution} is not installed here")
        return NOT_RUN
    cache = cache_root()
    try:
        root = fetch_sdist(version, cache, client.distribution, folder_of_tests(client))
    except NoTests as reason:
        print(f"{label} {client.name} {version}: not run, because {reason}")
        return NOT_RUN
    out = cache / "runs" / f"{client.distribution}-{version}"
    out.mkdir(parents=True, exist_ok=True)
    try:
        install_test_dependencies(root, version, out, client.distribution, client.groups, client.with_extras)
    except NotInstallable as reason:
        # Not a fault of the instrumentation: the suite is said to be not run, and the other
        # lines' results stand (a CI step fails only for what the comparison found).
        print(f"{label} {client.name} {version}: not run, because {reason}")
        return NOT_RUN

    if pytest_args:
        chosen = list(pytest_args)
    elif client.name == "openai":
        chosen = default_selection(root, version)
    else:
        chosen, said = selection(client, root)
        for line in said:
            log(line)
    plain = run_pytest(root, "plain", chosen, workers, [], out, client)
    instrumented = run_pytest(root, "instrumented", chosen, workers, ["-p", PLUGIN], out, client)

    differ, both_failed = compare(plain.outcomes, instrumented.outcomes)
    differ, unconfirmed = confirm(differ, root, workers, out, client)
    # The subprocess checks the plain run ran, once more, every process instrumented at start-up.
    checked = {node: outcome for node, outcome in plain.outcomes.items() if node.split("::")[0] in client.startup}
    startup_paths = sorted({node.split("::")[0] for node in checked})
    if startup_paths:
        at_startup = run_pytest(root, "instrumented-at-startup", startup_paths, workers, [], out, client, startup=True)
        startup_differ, _ = compare(checked, at_startup.outcomes)
        for node_id, outcomes in startup_differ.items():
            differ[f"{node_id} (instrumented at start-up)"] = outcomes
        log(
            f"instrumented at start-up: {len(at_startup.outcomes)} tests of {', '.join(startup_paths)}, "
            f"{len(startup_differ)} differ from the plain run"
        )
        if not at_startup.outcomes:
            differ["(instrumented at start-up: no test ran)"] = (Outcome("passed", ""), Outcome("absent", "not run"))
    report(differ, unconfirmed)
    failures = problems((plain, instrumented))
    counts = plugin_counts(instrumented)
    if client.require_calls and (counts is None or counts[0] == 0):
        failures.append("the instrumented run recorded no call span: the instrumentation was not active")
    elif counts is None:
        failures.append("the instrumented run printed no plugin line: the instrumentation was not loaded")
    total = len(plain.outcomes.keys() | instrumented.outcomes.keys())
    for failure in failures:
        print(f"ERROR: {failure}")
    spans = f", {counts[0]} call spans, {counts[1]} attempt spans" if counts else ""
    print(
        f"{label} {client.name} {version}: {total} tests, {len(differ)} differ, {both_failed} fail in both runs, "
        f"{len(unconfirmed)} flaky{spans} ({plain.seconds + instrumented.seconds:.0f} s)"
    )
    return 1 if differ or failures else 0


if __name__ == "__main__":
    sys.exit(main())
