"""Fresh Python processes for tests of what happens at start-up and across imports."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def fresh_python(
    *arguments: str, launcher: str | None = None, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a fresh interpreter with ``arguments`` (under ``launcher``) from the repository root,
    without the caller's ``OTEL_*`` variables, and return what it did."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    environment.update(extra_env or {})
    return subprocess.run(
        [*([launcher] if launcher else []), sys.executable, *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def run_code(
    code: str, *flags: str, launcher: str | None = None, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`fresh_python` running ``code`` (dedented) with the interpreter ``flags`` (``-X importtime``)."""
    return fresh_python(*flags, "-c", textwrap.dedent(code), launcher=launcher, extra_env=extra_env)
