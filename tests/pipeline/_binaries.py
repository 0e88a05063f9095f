"""Where the end-to-end pipeline test finds the collector and Jaeger binaries.

``tools/build-binaries.sh`` builds them (cached by version outside the
checkout) and links them into ``.bin/``; ``OTELCOL_AIERRORS_BIN`` and
``JAEGER_BIN`` name other copies. A missing binary fails the test with the
command that builds it: never a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.monitoring._contract import ROOT

BUILD_COMMAND = "tools/build-binaries.sh"


def _binary(variable: str, name: str) -> Path:
    path = Path(os.environ.get(variable) or ROOT / ".bin" / name)
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise AssertionError(
            f"{name} not found at {path}: build it with `{BUILD_COMMAND}` (Go 1.26, the Go module proxy), "
            f"or name a copy in ${variable}"
        )
    return path


def collector() -> Path:
    """Our collector distribution, ``collector-config/builder-config.yaml``."""
    return _binary("OTELCOL_AIERRORS_BIN", "otelcol-aierrors")


def jaeger() -> Path:
    """Jaeger v2 (``cmd/jaeger``), in-memory storage and query API."""
    return _binary("JAEGER_BIN", "jaeger")
