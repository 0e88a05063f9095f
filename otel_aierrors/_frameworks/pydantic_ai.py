"""The pydantic_ai callables this package wraps.

- `FallbackModel`'s two request paths: a request is one fallback scope named
  ``pydantic-ai``, each model it tries a hop
  (`otel_aierrors._frameworks.pydantic_ai_hooks`).
- Output validators (`otel_aierrors._frameworks.pydantic_ai_rejections`): a
  run is one application retry (``AbstractAgent.run``, which ``run_sync``
  goes through), whose state (``GraphAgentState.__init__``) counts the output
  retries; each rejects the answer it asks again about.
"""

from __future__ import annotations

from typing import Final

from otel_aierrors._frameworks.rows import FrameworkRow

_HOOKS: Final = "otel_aierrors._frameworks.pydantic_ai_hooks"
_REJECTIONS: Final = "otel_aierrors._frameworks.pydantic_ai_rejections"

ROWS: Final[tuple[FrameworkRow, ...]] = (
    # --- FallbackModel: a request is a fallback scope, each model tried a hop ---
    FrameworkRow("pydantic-ai-slim", "pydantic_ai.models.fallback", "FallbackModel.request", _HOOKS, "request"),
    FrameworkRow(
        "pydantic-ai-slim",
        "pydantic_ai.models.fallback",
        "FallbackModel.request_stream",
        _HOOKS,
        "request_stream",
        optional=True,
    ),
    # --- output validators: a run is an app retry, an output retry a rejection ---
    FrameworkRow(
        "pydantic-ai-slim", "pydantic_ai.agent.abstract", "AbstractAgent.run", _REJECTIONS, "agent_run", optional=True
    ),
    FrameworkRow(
        "pydantic-ai-slim",
        "pydantic_ai._agent_graph",
        "GraphAgentState.__init__",
        _REJECTIONS,
        "graph_state_init",
        optional=True,
    ),
)
