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
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10: pip vendors the same parser.
    from pip._vendor import tomli as tomllib  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parent.parent
PLUGIN = "sdk_tests.plugin"

# Tests that need the SDK's mock server (Steady / Prism on 127.0.0.1:4010, fed an
# OpenAPI spec that neither the sdist nor a registry package ships).
NEEDS_MOCK_SERVER = ("tests/api_resources",)
# The tests that exercise the client's HTTP paths (requests, retries, raw and streamed
# responses, the lib/ helpers on top of them).
CORE = ("tests/test_client.py", "tests/test_streaming.py", "tests/test_response.py", "tests/test_legacy_response.py")
CORE_DIRS = ("tests/lib",)
# SDK lines whose whole offline suite does not fit CI's time: there only CORE and
# CORE_DIRS run, and every other file is named on every run.
CORE_ONLY = {
    "3": "3.x ships about 13,000 offline tests, too many for CI's time on 2 cores; the core and tests/lib/ (8,700) run",
}

# Dev dependencies that only lint, type-check, format or build: not needed to run tests.
NOT_FOR_TESTS = re.compile(r"^(pyright|mypy|ruff|ty|nox|black|isort|hatchling|build|twine|playwright)$|^types-|-stubs$")
# Extras too heavy or needing system libraries (numpy/pandas, PortAudio); tests that
# need them fail (or skip) in both runs alike, and the count says so.
HEAVY_EXTRAS = frozenset({"datalib", "voice-helpers"})

# Differences re-run to tell a flaky test from a real one; past this many, re-running costs
# more than it tells (the instrumentation is then plainly at fault).
MAX_RERUN = 200

PLUGIN_LINE = re.compile(r"otel-aierrors plugin: (\d+) call spans, (\d+) attempt spans recorded")


def log(message: str) -> None:
    print(f"[sdk-tests] {message}", flush=True)


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if match is None:
        raise ValueError(f"unreadable requirement: {requirement!r}")
    return normalize(match.group(1))


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "otel-aierrors" / "sdk-tests"


# -- the sdist ----------------------------------------------------------------


def fetch_sdist(version: str, cache: Path) -> Path:
    """Download and extract ``openai==version``'s sdist once; return its root."""
    root = cache / f"openai-{version}"
    marker = root / ".otel-aierrors-complete"
    if marker.exists():
        return root
    if root.exists():
        shutil.rmtree(root)
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        log(f"downloading the sdist of openai=={version} from PyPI")
        pip("download", "-q", "--no-deps", "--no-binary", "openai", f"openai=={version}", "-d", tmp)
        archives = list(Path(tmp).glob("openai-*.tar.gz"))
        if len(archives) != 1:
            raise SystemExit(f"expected one sdist of openai=={version}, pip downloaded {archives}")
        with tarfile.open(archives[0]) as archive:
            extract_all(archive, Path(tmp))
        extracted = Path(tmp) / f"openai-{version}"
        if not (extracted / "tests").is_dir():
            raise SystemExit(f"the sdist of openai=={version} has no tests/ folder")
        extracted.rename(root)
    marker.write_text(version + "\n")
    return root


def extract_all(archive: tarfile.TarFile, destination: Path) -> None:
    if hasattr(tarfile, "data_filter"):
        archive.extractall(destination, filter="data")
    else:  # Python < 3.10.12: no filters; the archive comes from PyPI over TLS.
        archive.extractall(destination)


# -- what the SDK's tests need --------------------------------------------------


def locked_versions(root: Path) -> dict[str, str]:
    """Exact versions from the sdist's lock file: requirements-dev.lock (rye) or uv.lock."""
    versions: dict[str, str] = {}
    rye_lock = root / "requirements-dev.lock"
    if rye_lock.exists():
        for line in rye_lock.read_text().splitlines():
            match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
            if match:
                versions[normalize(match.group(1))] = match.group(2)
    uv_lock = root / "uv.lock"
    if uv_lock.exists():
        data = tomllib.loads(uv_lock.read_text())
        for package in data.get("package", []):
            name, version = package.get("name"), package.get("version")
            if name and version:
                versions.setdefault(normalize(name), version)
    return versions


def dev_requirements(pyproject: dict[str, object]) -> list[str]:
    """The dev dependencies the sdist declares: rye's ``dev-dependencies`` or the ``dev`` group."""
    tool = pyproject.get("tool", {})
    rye = tool.get("rye", {}) if isinstance(tool, dict) else {}
    groups = pyproject.get("dependency-groups", {})
    found: list[str] = []
    if isinstance(rye, dict):
        found += [r for r in rye.get("dev-dependencies", []) if isinstance(r, str)]
    if isinstance(groups, dict):
        found += [r for r in groups.get("dev", []) if isinstance(r, str)]
    return found


def light_extras(pyproject: dict[str, object]) -> list[str]:
    project = pyproject.get("project", {})
    extras = project.get("optional-dependencies", {}) if isinstance(project, dict) else {}
    return sorted(name for name in extras if normalize(name) not in HEAVY_EXTRAS)


def installed() -> dict[str, str]:
    return {
        normalize(dist.metadata["Name"]): dist.version
        for dist in importlib.metadata.distributions()
        if dist.metadata["Name"]
    }


def install_test_dependencies(root: Path, version: str) -> None:
    """Add what the tests need; pin from the lock; never change an installed version."""
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    locked = locked_versions(root)
    present = installed()
    declared: list[str] = []
    for requirement in dev_requirements(pyproject):
        name = requirement_name(requirement)
        if not NOT_FOR_TESTS.search(name) and name not in present:
            declared.append(requirement)
    extras = light_extras(pyproject)
    if extras:
        declared.append(f"openai[{','.join(extras)}]=={version}")
    pinned = [pin(requirement, locked) for requirement in declared]
    stamp = root / ".otel-aierrors-deps"
    key = json.dumps({"python": sys.executable, "declared": sorted(declared)})
    if not declared or (stamp.exists() and stamp.read_text() == key):
        return
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as constraints:
        # Pin everything already installed: the environment under test stays as it is.
        pins = (f"{name}=={ver}\n" for name, ver in sorted(present.items()) if name != "otel-aierrors")
        constraints.write("".join(pins))
    try:
        log("installing the SDK's test dependencies, as its lock pins them: " + " ".join(pinned))
        if pip("install", "-q", "-c", constraints.name, *pinned, check=False) != 0:
            # A lock pin can be unsatisfiable here (yanked, or clashing with what is installed).
            log("the lock's pins do not install here; installing the declared ranges: " + " ".join(declared))
            pip("install", "-q", "-c", constraints.name, *declared)
    finally:
        os.unlink(constraints.name)
    stamp.write_text(key)


def pin(requirement: str, locked: dict[str, str]) -> str:
    name = requirement_name(requirement)
    if name == "openai" or name not in locked:
        return requirement
    return f"{name}=={locked[name]}"


def pip(*args: str, check: bool = True) -> int:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    return subprocess.run(command, check=check).returncode


# -- running and comparing ----------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status: str  # passed, failed, error, skipped
    message: str


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


def read_junit(path: Path) -> dict[str, Outcome]:
    outcomes: dict[str, Outcome] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        node_id = junit_node_id(case.get("file", ""), case.get("classname", ""), case.get("name", ""))
        outcome = Outcome("passed", "")
        for tag in ("error", "failure", "skipped"):
            element = case.find(tag)
            if element is not None:
                status = {"failure": "failed"}.get(tag, tag)
                outcome = Outcome(status, first_lines(element.get("message", ""), element.text or ""))
                break
        previous = outcomes.get(node_id)
        if previous is None or rank(outcome) > rank(previous):
            outcomes[node_id] = outcome
    return outcomes


def rank(outcome: Outcome) -> int:
    return {"passed": 0, "skipped": 1, "failed": 2, "error": 3}[outcome.status]


def junit_node_id(file: str, classname: str, name: str) -> str:
    """pytest's node id back from a junit (xunit1) test case: ``path::Class::name``."""
    module = file[: -len(".py")].replace("/", ".") if file.endswith(".py") else ""
    if file and classname.startswith(module):
        rest = classname[len(module) :].lstrip(".")
        return "::".join(part for part in (file, *rest.split("."), name) if part)
    return f"{classname}::{name}"


def first_lines(message: str, text: str, limit: int = 6) -> str:
    lines = [line for line in (message or text).splitlines() if line.strip()]
    if not message:
        # The traceback's last lines carry the error; its first ones only the test's source.
        errors = [line for line in lines if line.lstrip().startswith("E ")]
        lines = errors or lines[-limit:]
    return "\n".join(lines[:limit])


def compare(plain: Run, instrumented: Run) -> tuple[dict[str, tuple[Outcome, Outcome]], int]:
    """The tests whose outcome differs (plain, instrumented), and the count failing in both runs."""
    differ: dict[str, tuple[Outcome, Outcome]] = {}
    both_failed = 0
    for node_id in sorted(plain.outcomes.keys() | instrumented.outcomes.keys()):
        before = plain.outcomes.get(node_id, Outcome("absent", "not run"))
        after = instrumented.outcomes.get(node_id, Outcome("absent", "not run"))
        if before.status in ("failed", "error") and after.status in ("failed", "error"):
            both_failed += 1
        elif before.status != after.status:
            differ[node_id] = (before, after)
    return differ, both_failed


def confirm(
    differ: dict[str, tuple[Outcome, Outcome]], root: Path, workers: int, out: Path
) -> tuple[dict[str, tuple[Outcome, Outcome]], list[str]]:
    """Run the differing tests again, both ways: (confirmed differences, those that did not differ again).

    A test whose outcome depends on load (a timeout on a busy machine) must not fail CI by
    chance; one that cannot be re-run alone (its id not found) stays a difference.
    """
    if not differ or len(differ) > MAX_RERUN:
        return differ, []
    ids = sorted(differ)
    plain = run_pytest(root, "plain-rerun", ids, workers, [], out)
    instrumented = run_pytest(root, "instrumented-rerun", ids, workers, ["-p", PLUGIN], out)
    confirmed: dict[str, tuple[Outcome, Outcome]] = {}
    unconfirmed: list[str] = []
    for node_id in ids:
        before, after = plain.outcomes.get(node_id), instrumented.outcomes.get(node_id)
        if before is None or after is None or before.status != after.status:
            confirmed[node_id] = differ[node_id]
        else:
            unconfirmed.append(node_id)
    return confirmed, unconfirmed


def report(differ: dict[str, tuple[Outcome, Outcome]], unconfirmed: Sequence[str]) -> None:
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
    for path in NEEDS_MOCK_SERVER:
        log(f"not run: {path} (needs the SDK's mock server, see the README)")
    reason = CORE_ONLY.get(version.split(".")[0])
    if reason is None:
        return ["tests", *(f"--ignore={path}" for path in NEEDS_MOCK_SERVER)]
    core = [path for path in (*CORE, *CORE_DIRS) if (root / path).exists()]
    skipped = sorted(
        str(entry.relative_to(root))
        for entry in (root / "tests").iterdir()
        if str(entry.relative_to(root)) not in (*core, *NEEDS_MOCK_SERVER)
        and ((entry.is_file() and entry.name.startswith("test_") and entry.suffix == ".py") or entry.is_dir())
        and any(entry.rglob("test_*.py") if entry.is_dir() else [entry])
    )
    log(f"not run, for time ({reason}): {len(skipped)} other files and folders: {', '.join(skipped)}")
    log("to run them too: python -m sdk_tests.run -- tests --ignore=tests/api_resources")
    return core


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
    install_test_dependencies(root, version)
    out = cache / "runs" / f"openai-{version}"
    out.mkdir(parents=True, exist_ok=True)

    selection = args.pytest_args or default_selection(root, version)
    plain = run_pytest(root, "plain", selection, args.workers, [], out)
    instrumented = run_pytest(root, "instrumented", selection, args.workers, ["-p", PLUGIN], out)

    differ, both_failed = compare(plain, instrumented)
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
