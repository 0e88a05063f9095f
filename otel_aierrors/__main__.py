"""``python -m otel_aierrors``: the same command line as ``otel-aierrors``."""

from __future__ import annotations

from otel_aierrors.cli import main

raise SystemExit(main())
