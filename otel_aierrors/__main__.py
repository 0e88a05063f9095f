"""``python -m otel_aierrors``: the same command line as ``otel-aierrors``."""

from __future__ import annotations

from otel_aierrors._cli import main

raise SystemExit(main())
