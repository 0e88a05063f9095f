"""The pydantic_ai callables this package wraps: `FallbackModel`'s two request paths.

A `FallbackModel` request is one fallback scope named ``pydantic-ai``, each
model it tries a hop (`otel_aierrors._frameworks.pydantic_ai_hooks`).
"""

from __future__ import annotations

from typing import Final

from otel_aierrors._frameworks.rows import FrameworkRow

_HOOKS: Final = "otel_aierrors._frameworks.pydantic_ai_hooks"

ROWS: Final[tuple[FrameworkRow, ...]] = (
    FrameworkRow("pydantic-ai-slim", "pydantic_ai.models.fallback", "FallbackModel.request", _HOOKS, "request"),
    FrameworkRow(
        "pydantic-ai-slim",
        "pydantic_ai.models.fallback",
        "FallbackModel.request_stream",
        _HOOKS,
        "request_stream",
        optional=True,
    ),
)
