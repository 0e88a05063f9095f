"""Start-up cost of ``import otel_aierrors; otel_aierrors.instrument()``: the median of fresh processes.

Not part of the harness (`run.py`): one command, about a minute. Each sample is
a new interpreter run from ``--root`` (so that checkout's package is imported)
that times the import and ``instrument()`` with ``perf_counter``, and the whole
process's wall time against ``python -c pass`` run the same way, interleaved.
A third process per sample times importing only the modules other than this
package's that ``import otel_aierrors; instrument()`` loads: since issue 28,
standard-library modules only (``typing``, ``re``, ``logging`` ...), the floor
this package's own modules stand on.

    python benchmarks/startup.py [--root DIR] [--runs 20]

``--peers`` instead puts ours beside each peer of ``_variants.VARIANTS``, each in its own
virtual environment ``benchmarks/.venvs/startup-<name>`` (built once, rebuilt when its
requirements or the pins change) holding the six SDKs of ``_sdks`` at the versions of
``.ci/pins/openai3.txt`` (``pip -c``), the OpenTelemetry SDK and the variant. Each sample
is a fresh interpreter per variant, interleaved, timing the variant's documented set-up
(``_variants.documented_setup``) and saying which SDK modules it left in ``sys.modules``.
A pin that clashes with a peer's requirements is dropped for that peer, and said so; if
the set-up then fails (pip may fall back to an old peer written for an older OpenTelemetry
API), that peer's environment is rebuilt without the ``opentelemetry-*`` pins too.

    python benchmarks/startup.py --peers [--runs 10]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _pool import _environment
from _sdks import OPENAI, SDKS
from _variants import PEER_VENVS, VARIANTS, VENVS, Variant, documented_setup
from _venvs import _requirements

#: Times the import and ``instrument()`` inside the process, in milliseconds.
PROBE = (
    "import time; t = time.perf_counter(); import otel_aierrors; otel_aierrors.instrument(); "
    "print((time.perf_counter() - t) * 1000)"
)


#: Prints the modules other than this package's that the import and ``instrument()`` load.
LISTER = (
    "import sys; before = set(sys.modules); import otel_aierrors; otel_aierrors.instrument(); "
    "print(' '.join(sorted(name for name in set(sys.modules) - before if not name.startswith('otel_aierrors'))))"
)


def _wall(command: list[str], root: Path, environment: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=root, env=environment, capture_output=True, text=True, timeout=60, check=True)
    return (time.perf_counter() - start) * 1000, done.stdout


#: The top-level module of each SDK whose presence after a set-up is reported.
SDK_MODULES: tuple[str, ...] = tuple(sdk.module.split(".")[0] for sdk in (OPENAI, *SDKS))

#: Times a documented set-up (``{setup}``) and names the SDK modules it left loaded, on a
#: line of its own: a peer's exporters may print to stdout when the process exits.
PEER_PROBE = (
    "import sys, time; t = time.perf_counter(); {setup}; ms = (time.perf_counter() - t) * 1000; "
    "print('startup-probe', ms, *[name for name in {modules!r} if name in sys.modules], flush=True)"
)

#: How pip names a pin of the constraints file in a conflict it cannot resolve.
_CONSTRAINT = re.compile(r"The user requested \(constraint\) ([A-Za-z0-9][A-Za-z0-9._-]*)\s*==")


def clashing_pins(pip_output: str) -> set[str]:
    """The pinned distributions pip blames for a conflict (normalised names), from its output."""
    return {_normalise(name) for name in _CONSTRAINT.findall(pip_output)}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def without_pins(pins: str, dropped: set[str]) -> str:
    """The constraints file ``pins`` minus the lines pinning a distribution of ``dropped``."""
    kept = []
    for line in pins.splitlines():
        name = re.split(r"[=<>!~\[; ]", line.strip(), maxsplit=1)[0]
        if not name or _normalise(name) not in dropped:
            kept.append(line)
    return "\n".join(kept) + "\n"


def _startup_variants() -> list[Variant]:
    """Ours, then each peer, in report order."""
    return [variant for variant in VARIANTS if variant.name == "ours" or variant.venv in PEER_VENVS]


def _pip(python: Path, args: list[str], log: Path) -> tuple[bool, str]:
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input", *args],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(f"\n$ pip install {' '.join(args)}\n{done.stdout}{done.stderr}")
    return done.returncode == 0, done.stdout + done.stderr


def _dist_versions(python: Path, dists: list[str]) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json, sys\n"
        "found = {}\n"
        "for name in sys.argv[1:]:\n"
        "    try: found[name] = m.version(name)\n"
        "    except m.PackageNotFoundError: found[name] = 'not installed'\n"
        "print(json.dumps(found))"
    )
    done = subprocess.run([str(python), "-c", code, *dists], capture_output=True, text=True, check=True)
    versions: dict[str, str] = json.loads(done.stdout)
    return versions


def ensure_startup_venv(variant: Variant, root: Path, pins_file: Path, environment: dict[str, str]) -> dict[str, Any]:
    """``benchmarks/.venvs/startup-<name>``: the six SDKs at their pins, the OTel SDK, the variant.

    Reused while its key (requirements, pins, python) is unchanged. A pin pip blames for a
    conflict is dropped and the install retried. If the variant's set-up then fails (pip
    can pick an old peer whose code needs an older OpenTelemetry API than the pinned one),
    the environment is rebuilt without the ``opentelemetry-*`` pins too. The stamp lists
    what was dropped and why.
    """
    spec = next(spec for spec in VENVS if spec.name == variant.venv)
    requirements = [*_requirements(spec, root), *(sdk.dist for sdk in SDKS)]
    pins = pins_file.read_text()
    key = {"python": sys.version, "requirements": requirements, "pins": hashlib.sha256(pins.encode()).hexdigest()}
    path = root / "benchmarks" / ".venvs" / f"startup-{variant.name}"
    stamp = path / "startup-stamp.json"
    if stamp.exists() and (path / "bin" / "python").exists():
        saved: dict[str, Any] = json.loads(stamp.read_text())
        if saved.get("key") == key and saved.get("status") == "ok":
            return saved
    dropped: set[str] = set()
    notes: list[str] = []
    while True:
        print(f"[venv] building {path.name} (first run or requirements changed)", file=sys.stderr, flush=True)
        state = _build(path, requirements, pins, dropped)
        state.update(key=key, notes=notes)
        if state["status"] != "ok":
            break
        probe = PEER_PROBE.format(setup=documented_setup(variant), modules=SDK_MODULES)
        error = _sample(Path(state["python"]), probe, root, environment)[1]
        if not error:
            break
        family = {_normalise(name) for name in _pinned_names(pins) if name.lower().startswith("opentelemetry")}
        if family <= dropped:
            state.update(status="broken", reason=error)
            break
        notes.append(f"set-up failed with the opentelemetry-* pins ({error}): rebuilt without them")
        dropped = set(state["unpinned"]) | family
    stamp.write_text(json.dumps(state, indent=2))
    return state


def _pinned_names(pins: str) -> list[str]:
    return [re.split(r"[=<>!~\[; ]", line.strip(), maxsplit=1)[0] for line in pins.splitlines() if line.strip()]


def _build(path: Path, requirements: list[str], pins: str, dropped: set[str]) -> dict[str, Any]:
    """A fresh venv at ``path`` with ``requirements`` under ``pins`` minus ``dropped`` and what pip blames."""
    python = path / "bin" / "python"
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(path)], check=True, timeout=300)
    log = path.with_name(f"{path.name}.pip.log")  # beside the venv: `venv --clear` empties it
    constraints = path / "constraints.txt"
    dropped = set(dropped)
    state: dict[str, Any] = {"python": str(python), "status": "install-failed", "unpinned": []}
    constraints.write_text(pins)
    _pip(python, ["-c", str(constraints), "--upgrade", "pip"], log)
    for _ in range(5):
        constraints.write_text(without_pins(pins, dropped))
        ok, output = _pip(python, ["-c", str(constraints), *requirements], log)
        if ok:
            state["status"] = "ok"
            break
        blamed = clashing_pins(output) - dropped
        if not blamed:
            state["reason"] = output.strip().splitlines()[-1] if output.strip() else "pip failed"
            break
        dropped |= blamed
    state["unpinned"] = sorted(dropped)
    return state


def _sample(
    python: Path, probe: str, root: Path, environment: dict[str, str]
) -> tuple[tuple[float, tuple[str, ...]] | None, str]:
    """One fresh process of ``probe``: (milliseconds, SDK modules loaded), or why it failed."""
    done = subprocess.run(
        [str(python), "-c", probe], cwd=root, env=environment, capture_output=True, text=True, timeout=120, check=False
    )
    line = next((row for row in done.stdout.splitlines() if row.startswith("startup-probe ")), None)
    if line is None:
        return None, (done.stderr.strip().splitlines() or ["no output"])[-1]
    fields = line.split()[1:]
    return (float(fields[0]), tuple(fields[1:])), ""


def _dists(variant: Variant) -> list[str]:
    """The six SDKs, the OpenTelemetry SDK and the variant's own distributions (ours runs from the tree)."""
    spec = next(spec for spec in VENVS if spec.name == variant.venv)
    own = (
        []
        if spec.repo_on_path
        else [re.split(r"[=<>!~\[; ]", requirement, maxsplit=1)[0] for requirement in spec.requirements]
    )
    return [OPENAI.dist, *(sdk.dist for sdk in SDKS), "opentelemetry-sdk", *own]


def _commit(root: Path) -> str:
    """The work tree's commit, with ``+changes`` when it differs from it."""
    git = ["git", "-C", str(root)]
    sha = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "otel_aierrors"], capture_output=True, text=True, check=False
    )
    return (sha.stdout.strip() or "?") + (" +changes" if dirty.stdout.strip() else "")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def peers(root: Path, runs: int, pins_file: Path) -> None:
    """Ours beside each peer, each in its pinned six-SDK environment; see the module docstring."""
    print(
        f"machine: {_cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"load average (1, 5, 15 min) at start: {_load()}"
    )
    # The environment's own OTEL_* are dropped (and peers told not to phone home), as for the harness's workers.
    environment = _environment((root,), None)
    environment["OTEL_AIERRORS_AUTO_SETUP"] = "false"
    states = {
        variant.name: ensure_startup_venv(variant, root, pins_file, environment) for variant in _startup_variants()
    }
    versions: dict[str, dict[str, str]] = {}
    for variant in _startup_variants():
        if states[variant.name]["status"] == "ok":
            versions[variant.name] = _dist_versions(Path(states[variant.name]["python"]), _dists(variant))
    ready = [variant for variant in _startup_variants() if states[variant.name]["status"] == "ok"]
    probes = {
        variant.name: PEER_PROBE.format(setup=documented_setup(variant), modules=SDK_MODULES) for variant in ready
    }
    samples: dict[str, list[float]] = {variant.name: [] for variant in ready}
    loaded: dict[str, set[tuple[str, ...]]] = {variant.name: set() for variant in ready}
    failed: dict[str, str] = {}
    print(f"load average after building the environments: {_load()}")
    for _ in range(runs):
        for variant in ready:
            if variant.name in failed:
                continue
            sample, error = _sample(Path(states[variant.name]["python"]), probes[variant.name], root, environment)
            if sample is None:
                failed[variant.name] = error
                continue
            samples[variant.name].append(sample[0])
            loaded[variant.name].add(sample[1])
    print(f"{runs} fresh processes per variant, interleaved; load average at end: {_load()}")
    header = " | ".join(SDK_MODULES)
    print(f"| variant | median import + set-up | {header} | versions |")
    print("|---|---:|" + "---|" * len(SDK_MODULES) + "---|")
    for variant in _startup_variants():
        state = states[variant.name]
        if variant.name not in samples or variant.name in failed:
            reason = failed.get(variant.name) or state.get("reason", "?")
            print(f"| {variant.label} | not measured: {reason} |" + " |" * len(SDK_MODULES) + " |")
            continue
        runs_seen = [set(names) for names in loaded[variant.name]]
        always, ever = set.intersection(*runs_seen), set.union(*runs_seen)
        marks = " | ".join(
            "yes" if name in always else "in some runs" if name in ever else "no" for name in SDK_MODULES
        )
        own = ", ".join(f"{name} {versions[variant.name][name]}" for name in _dists(variant)[len(SDK_MODULES) + 1 :])
        own = own or f"work tree at {_commit(root)}"
        unpinned = [name for name in state.get("unpinned", ()) if not name.startswith("opentelemetry")]
        family = len(state.get("unpinned", ())) - len(unpinned)
        unpinned += [f"opentelemetry-* ({family} pins)"] if family else []
        note = f"; pins dropped: {', '.join(unpinned)}" if unpinned else ""
        note += "".join(f"; {text}" for text in state.get("notes", ()))
        print(f"| {variant.label} | {statistics.median(samples[variant.name]):.1f} ms | {marks} | {own}{note} |")
    print("SDK versions per environment:")
    for name, found in versions.items():
        print(f"  {name}: " + ", ".join(f"{dist} {version}" for dist, version in found.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--peers", action="store_true", help="ours beside each peer, six SDKs installed in each venv")
    parser.add_argument("--pins", type=Path, default=None, help="constraints file (default: .ci/pins/openai3.txt)")
    options = parser.parse_args()
    if options.peers:
        peers(options.root, options.runs, options.pins or options.root / ".ci" / "pins" / "openai3.txt")
        return
    # No OTEL_* from the caller, and no SDK set-up: instrument() alone is measured.
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    environment["OTEL_AIERRORS_AUTO_SETUP"] = "false"
    stdlib = _wall([sys.executable, "-c", LISTER], options.root, environment)[1].split()
    floor_probe = (
        "import importlib, time; t = time.perf_counter(); "
        f"[importlib.import_module(name) for name in {stdlib!r}]; print((time.perf_counter() - t) * 1000)"
    )
    inside, walls, bare, floor = [], [], [], []
    for _ in range(options.runs):
        wall, out = _wall([sys.executable, "-c", PROBE], options.root, environment)
        inside.append(float(out.strip()))
        walls.append(wall)
        bare.append(_wall([sys.executable, "-c", "pass"], options.root, environment)[0])
        floor.append(float(_wall([sys.executable, "-c", floor_probe], options.root, environment)[1].strip()))
    print(f"root {options.root}, {options.runs} processes, load average {os.getloadavg()[0]:.2f}")
    print(f"import + instrument() inside the process: median {statistics.median(inside):.1f} ms")
    print(f"the {len(stdlib)} other modules it loads, alone: median {statistics.median(floor):.1f} ms")
    print(
        f"whole process: median {statistics.median(walls):.1f} ms, python -c pass {statistics.median(bare):.1f} ms, "
        f"difference {statistics.median(walls) - statistics.median(bare):.1f} ms"
    )


if __name__ == "__main__":
    main()
