"""The langchain callables this package wraps: ``with_fallbacks`` and ``with_retry``.

A `RunnableWithFallbacks` run is one fallback scope named ``langchain``; a
`RunnableRetry` run is one application retry (library ``langchain``), its
attempt number read from the per-attempt config patch
(`otel_aierrors._frameworks.langchain_hooks`).
"""

from __future__ import annotations

from typing import Final

from otel_aierrors._frameworks.rows import FrameworkRow

_HOOKS: Final = "otel_aierrors._frameworks.langchain_hooks"
_LIBRARY: Final = "langchain-core"
_FALLBACKS: Final = "langchain_core.runnables.fallbacks"
_RETRY: Final = "langchain_core.runnables.retry"

ROWS: Final[tuple[FrameworkRow, ...]] = (
    FrameworkRow(_LIBRARY, _FALLBACKS, "RunnableWithFallbacks.invoke", _HOOKS, "fallbacks_invoke"),
    FrameworkRow(_LIBRARY, _FALLBACKS, "RunnableWithFallbacks.ainvoke", _HOOKS, "fallbacks_ainvoke"),
    FrameworkRow(_LIBRARY, _FALLBACKS, "RunnableWithFallbacks.stream", _HOOKS, "fallbacks_stream", optional=True),
    FrameworkRow(_LIBRARY, _FALLBACKS, "RunnableWithFallbacks.astream", _HOOKS, "fallbacks_astream", optional=True),
    FrameworkRow(_LIBRARY, _RETRY, "RunnableRetry.invoke", _HOOKS, "retry_invoke"),
    FrameworkRow(_LIBRARY, _RETRY, "RunnableRetry.ainvoke", _HOOKS, "retry_ainvoke"),
    FrameworkRow(_LIBRARY, _RETRY, "RunnableRetry._sync_retrying", _HOOKS, "retry_retrying", optional=True),
    FrameworkRow(_LIBRARY, _RETRY, "RunnableRetry._async_retrying", _HOOKS, "retry_retrying", optional=True),
)
