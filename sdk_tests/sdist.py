"""The sdist of an installed SDK or client (``openai``, ``instructor``, ...), and what its tests need installed.

Owns the cache (``${XDG_CACHE_HOME:-~/.cache}/otel-aierrors/sdk-tests/``), the
download and extraction of the sdist, and the installation of the test
dependencies it declares, pinned by its lock file, without changing any
version already installed in the running environment.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

try:
    from packaging.version import InvalidVersion, Version
except ImportError:  # an environment with pip alone: pip vendors the same module.
    from pip._vendor.packaging.version import InvalidVersion, Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: pip vendors the same parser.
    from pip._vendor import tomli as tomllib

# Dev dependencies that only lint, type-check, format or build: not needed to run tests.
NOT_FOR_TESTS = re.compile(
    r"^(pyright|mypy|ruff|ty|nox|black|isort|hatchling|build|twine|playwright|pre-commit|pytest-watcher"
    r"|pymdown-extensions|pynput|sounddevice)$|^types-|-stubs$|^mkdocs"
)
# Extras too heavy or needing system libraries (numpy/pandas, PortAudio); tests that
# need them fail (or skip) in both runs alike, and the count says so.
HEAVY_EXTRAS = frozenset({"datalib", "voice-helpers"})


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


class NoTests(Exception):
    """The sdist ships no tests: its suite cannot be run from it (said so, never counted as passing)."""


def fetch_sdist(version: str, cache: Path, distribution: str = "openai", tests: str = "tests") -> Path:
    """Download and extract ``distribution==version``'s sdist once; return its root.

    Raises `NoTests` when the sdist has no ``tests`` folder (the root is kept, so that the
    verdict is not downloaded again).
    """
    root = cache / f"{distribution}-{version}"
    marker = root / ".otel-aierrors-complete"
    if not marker.exists():
        if root.exists():
            shutil.rmtree(root)
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            log(f"downloading the sdist of {distribution}=={version} from PyPI")
            download_sdist(distribution, version, Path(tmp))
            archives = list(Path(tmp).glob("*.tar.gz"))
            if len(archives) != 1:
                raise SystemExit(f"expected one sdist of {distribution}=={version}, pip downloaded {archives}")
            extracted_to = Path(tmp) / "extracted"
            with tarfile.open(archives[0]) as archive:
                extract_all(archive, extracted_to)
            tops = [entry for entry in extracted_to.iterdir() if entry.is_dir()]
            if len(tops) != 1:
                raise SystemExit(f"the sdist of {distribution}=={version} has not one top folder: {tops}")
            tops[0].rename(root)
        marker.write_text(version + "\n")
    verdict = ships_no_tests(root, tests)
    if verdict is not None:
        raise NoTests(f"the sdist of {distribution} {version} {verdict}")
    return root


SIMPLE_INDEX = "https://pypi.org/simple/{name}/"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"  # PEP 691: the index pip itself reads, as JSON


def download_sdist(distribution: str, version: str, destination: Path) -> None:
    """The sdist file itself, as the package index lists it (its sha256 checked).

    Not ``pip download --no-binary``: pip builds the package's metadata from the sdist first,
    which for litellm 1.110.2 means a Rust toolchain and crates.io (maturin), neither of which
    CI has. pip is the fallback when the index does not answer in JSON (some mirrors).
    """
    request = urllib.request.Request(SIMPLE_INDEX.format(name=normalize(distribution)), headers={"Accept": SIMPLE_JSON})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            files = json.load(response).get("files", [])
    except (OSError, ValueError) as error:
        log(f"the package index did not answer in JSON ({error}); pip downloads it instead")
        pip(
            "download",
            "-q",
            "--no-deps",
            "--no-binary",
            distribution,
            f"{distribution}=={version}",
            "-d",
            str(destination),
        )
        return
    sdists = [
        entry for entry in files if sdist_of(str(entry.get("filename", ""))) == (normalize(distribution), version)
    ]
    if not sdists:
        raise NoTests(f"the release {distribution} {version} has no sdist on the package index")
    entry = sdists[0]
    target = destination / str(entry["filename"])
    digest = hashlib.sha256()
    with urllib.request.urlopen(str(entry["url"]), timeout=300) as response, target.open("wb") as sink:
        while chunk := response.read(1 << 20):
            digest.update(chunk)
            sink.write(chunk)
    expected = entry.get("hashes", {}).get("sha256")
    if expected and digest.hexdigest() != expected:
        target.unlink()
        raise SystemExit(f"the sdist of {distribution}=={version} does not match the index's sha256")


def sdist_of(filename: str) -> tuple[str, str] | None:
    """(normalized name, version) of an sdist file name (``langchain_openai-1.8.1.tar.gz``), else None."""
    if not filename.endswith(".tar.gz") or "-" not in filename:
        return None
    name, version = filename[: -len(".tar.gz")].rsplit("-", 1)
    return normalize(name), version


def ships_no_tests(root: Path, tests: str = "tests") -> str | None:
    """Why an extracted sdist cannot run its tests (``ships no tests``), or None when it ships some."""
    folder = root / tests
    if not folder.is_dir():
        return f"ships no tests (no {tests}/ folder)"
    if not any(folder.rglob("test_*.py")) and not any(folder.rglob("*_test.py")):
        return f"ships no tests (no test_*.py under {tests}/)"
    return None


def extract_all(archive: tarfile.TarFile, destination: Path) -> None:
    if hasattr(tarfile, "data_filter"):
        archive.extractall(destination, filter="data")
    else:  # Python < 3.10.12: no filters; the archive comes from PyPI over TLS.
        archive.extractall(destination)


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


def dev_requirements(pyproject: dict[str, object], groups: tuple[str, ...] = ("dev",)) -> list[str]:
    """The dev dependencies the sdist declares: rye's ``dev-dependencies``, and each of ``groups``
    as a dependency group (PEP 735, ``include-group`` followed) or else as an extra."""
    tool = pyproject.get("tool", {})
    rye = tool.get("rye", {}) if isinstance(tool, dict) else {}
    declared_groups = pyproject.get("dependency-groups", {})
    project = pyproject.get("project", {})
    extras = project.get("optional-dependencies", {}) if isinstance(project, dict) else {}
    found: list[str] = []
    if isinstance(rye, dict):
        found += [r for r in rye.get("dev-dependencies", []) if isinstance(r, str)]
    seen: set[str] = set()

    def add_group(name: str) -> None:
        if name in seen or not isinstance(declared_groups, dict):
            return
        seen.add(name)
        for entry in declared_groups.get(name, []):
            if isinstance(entry, str):
                found.append(entry)
            elif isinstance(entry, dict) and isinstance(entry.get("include-group"), str):
                add_group(entry["include-group"])

    for group in groups:
        if isinstance(declared_groups, dict) and group in declared_groups:
            add_group(group)
        elif isinstance(extras, dict):
            found += [r for r in extras.get(group, []) if isinstance(r, str)]
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


class NotInstallable(Exception):
    """The SDK's test dependencies cannot be installed here: its suite is not run (said why)."""


def install_test_dependencies(
    root: Path,
    version: str,
    logs: Path,
    distribution: str = "openai",
    groups: tuple[str, ...] = ("dev",),
    with_extras: bool = True,
) -> None:
    """Add what the tests need; pin from the lock; never change an installed version.

    A lock pin the package index does not serve is moved to the nearest served version (one
    line says so); when they clash with what is installed, they are installed one by one and
    those that cannot be are left out (one line names them).
    pip's output goes to ``logs``; only the end of it is shown, and only when nothing worked.
    Raises `NotInstallable` when neither installs.
    """
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    locked = locked_versions(root)
    present = installed()
    declared: list[str] = []
    for requirement in dev_requirements(pyproject, groups):
        name = requirement_name(requirement)
        if not NOT_FOR_TESTS.search(name) and name not in present:
            declared.append(requirement)
    extras = light_extras(pyproject) if with_extras else []
    if extras:
        declared.append(f"{distribution}[{','.join(extras)}]=={version}")
    stamp = root / ".otel-aierrors-deps"
    key = json.dumps({"python": sys.executable, "declared": sorted(declared)})
    if not declared or (stamp.exists() and stamp.read_text() == key):
        return
    logs.mkdir(parents=True, exist_ok=True)
    logfile = logs / "pip-test-dependencies.log"
    logfile.unlink(missing_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as constraints:
        # Pin everything already installed: the environment under test stays as it is.
        pins = (f"{name}=={ver}\n" for name, ver in sorted(present.items()) if name != "otel-aierrors")
        constraints.write("".join(pins))
    try:
        log("installing the SDK's test dependencies, as its lock pins them (pip's output: " + str(logfile) + ")")
        if not _install_locked(declared, locked, constraints.name, logfile, distribution):
            # Some clash with what is installed here (never changed): install them one by one, each
            # at its lock pin or else its declared range, and leave out those that cannot be; the
            # tests that need them then fail in both runs alike, and are counted so.
            log("they do not install together here; one by one, each at its lock pin or else its declared range")
            left_out = [
                requirement
                for requirement in declared
                if not _install_locked([requirement], locked, constraints.name, logfile, distribution)
                and pip("install", "-q", "-c", constraints.name, requirement, check=False, log=logfile) != 0
            ]
            if len(left_out) == len(declared):
                raise NotInstallable(f"its test dependencies do not install here: {_last_error(logfile)}")
            if left_out:
                log(f"left out, as they clash with what is installed here (see the log): {' '.join(left_out)}")
    finally:
        os.unlink(constraints.name)
    stamp.write_text(key)


# pip's words for a pin the index does not serve, with what it does serve.
UNSERVED = re.compile(
    r"Could not find a version that satisfies the requirement (\S+)==(\S+) \(from versions: ([^)]*)\)"
)
# How many unserved pins one install may move before it gives up (each move is one more pip run).
MAX_MOVES = 5


def _install_locked(
    declared: list[str], locked: dict[str, str], constraints: str, logfile: Path, distribution: str = "openai"
) -> bool:
    """Install ``declared`` at the lock's versions, moving unserved pins; False when pip still refuses."""
    locked = dict(locked)
    for _ in range(MAX_MOVES + 1):
        pinned = [pin(requirement, locked, distribution) for requirement in declared]
        attempt_log = logfile.with_suffix(".attempt.log")
        attempt_log.unlink(missing_ok=True)
        status = pip("install", "-q", "-c", constraints, *pinned, check=False, log=attempt_log)
        output = attempt_log.read_text(errors="replace")
        with logfile.open("a") as sink:
            sink.write(output)
        attempt_log.unlink()
        if status == 0:
            return True
        unserved = UNSERVED.search(output)
        if unserved is None:
            return False
        name, wanted, served = normalize(unserved.group(1)), unserved.group(2), unserved.group(3)
        moved = nearest_version(wanted, [v.strip() for v in served.split(",") if v.strip()])
        if moved is None or locked.get(name) != wanted:
            return False
        log(f"the lock pins {name}=={wanted}, which the package index does not serve: using {name}=={moved}")
        locked[name] = moved
    return False


def nearest_version(wanted: str, served: list[str]) -> str | None:
    """The served version nearest ``wanted``: the newest below it in its release series
    (major.minor), else the oldest above it in that series, else the newest below it; None
    when nothing fits. Below first, as the lock was tested with nothing newer."""
    try:
        target = Version(wanted)
        versions = sorted({Version(v) for v in served if not _unparsable(v)})
    except InvalidVersion:
        return None
    series = [v for v in versions if v.release[:2] == target.release[:2] and not v.is_prerelease]
    below = [v for v in series if v < target]
    above = [v for v in series if v > target]
    older = [v for v in versions if v < target and not v.is_prerelease]
    chosen = below[-1] if below else above[0] if above else older[-1] if older else None
    return str(chosen) if chosen is not None else None


def _unparsable(version: str) -> bool:
    try:
        Version(version)
    except InvalidVersion:
        return True
    return False


def _last_error(logfile: Path) -> str:
    """pip's last ERROR line, cut to one line of reasonable length."""
    lines = [line for line in logfile.read_text(errors="replace").splitlines() if line.startswith("ERROR")]
    return (lines[-1] if lines else "pip failed (see " + str(logfile) + ")")[:300]


def pin(requirement: str, locked: dict[str, str], distribution: str = "openai") -> str:
    name = requirement_name(requirement)
    if name == normalize(distribution) or name not in locked:
        return requirement
    return f"{name}=={locked[name]}"


def pip(*args: str, check: bool = True, log: Path | None = None) -> int:
    """Run pip in this environment; with ``log``, its output goes there instead of the terminal."""
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    if log is None:
        return subprocess.run(command, check=check).returncode
    with log.open("a") as sink:
        return subprocess.run(command, check=check, stdout=sink, stderr=subprocess.STDOUT).returncode
