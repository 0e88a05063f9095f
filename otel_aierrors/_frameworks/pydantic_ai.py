"""The pydantic_ai callables this package wraps (none yet)."""

from __future__ import annotations

from typing import Final

from otel_aierrors._frameworks.rows import FrameworkRow

ROWS: Final[tuple[FrameworkRow, ...]] = ()
