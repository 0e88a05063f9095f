"""The instructor callables this package wraps: its re-ask loop, one application retry per ``create``.

Instructor 1.17 runs every ``create(response_model=..., max_retries=N)``
through ``retry_sync_v2`` / ``retry_async_v2``, which ``instructor.v2.core.patch``
imports by name: the rows wrap those names there (the ones ``create`` looks
up). Wrappers: `otel_aierrors._frameworks.instructor_hooks`.
"""

from __future__ import annotations

from typing import Final

from otel_aierrors._frameworks.rows import FrameworkRow

_HOOKS: Final = "otel_aierrors._frameworks.instructor_hooks"

ROWS: Final[tuple[FrameworkRow, ...]] = (
    FrameworkRow("instructor", "instructor.v2.core.patch", "retry_sync_v2", _HOOKS, "retry_sync", optional=True),
    FrameworkRow("instructor", "instructor.v2.core.patch", "retry_async_v2", _HOOKS, "retry_async", optional=True),
)
