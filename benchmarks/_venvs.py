"""Benchmark virtual environments: created once, probed, and remembered.

Owns ``benchmarks/.venvs/<name>`` (gitignored). Each peer gets its own environment so
instrumentations never collide and each may pin its own ``openai``. On first use the
harness runs ``python -m venv`` and pip, then *probes*: a worker instruments itself and
makes a few calls; a peer that emits no span with the newest ``openai`` it accepts is
retried with the next cap (``openai<3``, then ``openai<2``). The outcome is written to a
stamp file, so later runs start at once; the stamp is keyed on the requirements, so a
changed ``pyproject.toml`` dependency rebuilds the ``main`` environment by itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from _pool import WorkerError, WorkerProcess
from _variants import VARIANTS, VenvSpec

__all__ = ["VenvState", "ensure_venv"]

_SCHEMA = 1
_BASE = ("opentelemetry-sdk",)
_STAMP = "bench-stamp.json"


@dataclass
class VenvState:
    """What a benchmark environment holds and whether its peer works."""

    #: ``VenvSpec.name``.
    name: str
    #: The environment's interpreter.
    python: str
    #: ``ok``, ``broken`` (installed, but the peer emits nothing) or ``install-failed``.
    status: str
    #: Why it is not ``ok``.
    reason: str = ""
    #: The ``openai`` version finally installed.
    openai: str = ""
    #: Each ``openai`` tried: ``{"cap", "openai", "outcome"}``.
    tried: list[dict[str, str]] = field(default_factory=list)
    #: The stamp key (requirements, python, schema).
    key: dict[str, Any] = field(default_factory=dict)


def _project_requirements(repo_root: Path) -> tuple[str, ...]:
    """Our runtime dependencies, read from ``pyproject.toml`` (the package runs from the tree)."""
    import tomllib  # the driver needs Python 3.11+; the project itself supports 3.10

    with open(repo_root / "pyproject.toml", "rb") as handle:
        project = tomllib.load(handle)["project"]
    return tuple(project.get("dependencies", ()))


def _requirements(spec: VenvSpec, repo_root: Path) -> list[str]:
    extra = _project_requirements(repo_root) if spec.repo_on_path else ()
    return [*spec.requirements, *extra, *_BASE, "openai"]


def _pip(python: Path, args: list[str], log: Path) -> None:
    with open(log, "ab") as handle:
        handle.write(f"\n$ pip {' '.join(args)}\n".encode())
        handle.flush()
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input", *args],
            stdout=handle,
            stderr=subprocess.STDOUT,
            timeout=1800,
            check=False,
        )
    if done.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-8:])
        raise RuntimeError(f"pip install {' '.join(args)} failed:\n{tail}")


def _installed_openai(python: Path) -> str:
    done = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('openai'))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "not installed"


def _probe(python: Path, spec: VenvSpec, logs: Path) -> str:
    """``ok`` when the environment's peer emits spans; otherwise why not."""
    peer = next(variant for variant in VARIANTS if variant.venv == spec.name)
    try:
        worker = WorkerProcess(python, peer.name, logs / f"probe-{spec.name}.log")
    except WorkerError as exc:
        return f"worker failed to start: {exc}"
    try:
        if not worker.ready:
            message = str(worker.hello.get("unavailable") or worker.hello.get("error", "?"))
            return message.strip().splitlines()[-1]
        probe = worker.request(op="probe", timeout=120)
    except WorkerError as exc:
        return f"probe failed: {str(exc).strip().splitlines()[-1]}"
    finally:
        worker.close()
    spans = probe["scenarios"]["chat_sync"]["spans_per_call"]
    return "ok" if spans > 0 else "instruments nothing (0 spans per call)"


def ensure_venv(spec: VenvSpec, venvs_dir: Path, repo_root: Path, logs: Path, rebuild: bool, say: Any) -> VenvState:
    """Create (or reuse) the environment of ``spec``; never raises for a peer's sake."""
    path = venvs_dir / spec.name
    python = path / "bin" / "python"
    requirements = _requirements(spec, repo_root)
    key = {
        "schema": _SCHEMA,
        "python": sys.version,
        "requirements": requirements,
        "openai_caps": list(spec.openai_caps),
    }
    stamp = path / _STAMP
    if stamp.exists() and not rebuild:
        saved = VenvState(**json.loads(stamp.read_text()))
        if saved.key == key and python.exists():
            return saved
    say(f"[venv] building {spec.name} in {path} (first run or requirements changed)")
    logs.mkdir(parents=True, exist_ok=True)
    pip_log = logs / f"pip-{spec.name}.log"
    pip_log.write_text("")
    state = VenvState(spec.name, str(python), "install-failed", key=key)
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(path)], check=True, timeout=300)
        _pip(python, ["--upgrade", "pip"], pip_log)
        _pip(python, requirements, pip_log)
    except (RuntimeError, subprocess.SubprocessError) as exc:
        state.reason = str(exc)
        _save(stamp, state)
        return state

    if spec.repo_on_path:
        # Our variant may not exist yet; the run reports that itself, so no probe here.
        state.status, state.openai = "ok", _installed_openai(python)
        _save(stamp, state)
        return state

    for cap in spec.openai_caps:
        try:
            if cap:
                _pip(python, [f"openai{cap}"], pip_log)
        except RuntimeError as exc:
            state.tried.append({"cap": cap, "openai": "?", "outcome": str(exc)})
            continue
        version = _installed_openai(python)
        outcome = _probe(python, spec, logs)
        state.tried.append({"cap": cap or "none", "openai": version, "outcome": outcome})
        say(f"[venv] {spec.name}: openai {version} -> {outcome.splitlines()[-1] if outcome else '?'}")
        if outcome == "ok":
            state.status, state.openai = "ok", version
            break
    else:
        state.status = "broken"
        state.openai = _installed_openai(python)
        state.reason = "; ".join(f"openai {t['openai']}: {t['outcome'].splitlines()[-1]}" for t in state.tried)
    _save(stamp, state)
    return state


def _save(stamp: Path, state: VenvState) -> None:
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps(asdict(state), indent=2))
