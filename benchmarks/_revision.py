"""An older revision of the package, timed beside the work tree's (``run.py --baseline REV``).

Owns ``benchmarks/.baselines/<full sha>/`` (gitignored): the package alone, as it was at
that commit (``git archive REV otel_aierrors``), extracted once and reused. Its worker
runs in the ``main`` environment with that directory ahead of the work tree on
``PYTHONPATH``, so ``import otel_aierrors`` loads the old code in the same rounds as ours.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from pathlib import Path

__all__ = ["PACKAGE", "extract", "resolve"]

#: The directory ``git archive`` takes out of the revision.
PACKAGE = "otel_aierrors"


def resolve(rev: str, repo_root: Path) -> str:
    """The full commit sha ``rev`` names in ``repo_root``; exits with a message when it names none."""
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"--baseline {rev}: not a commit in {repo_root}")
    return done.stdout.strip()


def extract(sha: str, repo_root: Path, into: Path) -> Path:
    """``into/<sha>``, holding the package as it was at ``sha``; an earlier extraction is reused.

    The archive is unpacked next to its destination and renamed into place, so a directory
    named after a commit is always a whole extraction.
    """
    tree = into / sha
    if tree.is_dir():
        return tree
    done = subprocess.run(["git", "archive", sha, PACKAGE], cwd=repo_root, capture_output=True, check=False)
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip()
        raise SystemExit(f"--baseline: git archive {sha} {PACKAGE} failed: {message}")
    into.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{sha[:7]}-", dir=into))
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        archive.extractall(staging, filter="data")
    staging.rename(tree)
    return tree
