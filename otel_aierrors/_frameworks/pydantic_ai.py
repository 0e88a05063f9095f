"""The pydantic_ai callables this package wraps.

Output validators (`otel_aierrors._frameworks.pydantic_ai_rejections`): a
run is one application retry (``AbstractAgent.run``, which ``run_sync``
goes through), whose state (``GraphAgentState.__init__``) counts the output
retries; each rejects the answer it asks again about.
"""

from __future__ import annotations

from typing import Final

from otel_aierrors._frameworks.rows import FrameworkRow

_REJECTIONS: Final = "otel_aierrors._frameworks.pydantic_ai_rejections"

ROWS: Final[tuple[FrameworkRow, ...]] = (
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
