"""The litellm callables this package wraps: the Router's endpoints and ``litellm.completion``'s fallbacks.

The wrappers are in `otel_aierrors._frameworks.litellm_router`, imported when
a row's module is imported.
"""

from __future__ import annotations

from typing import Final

from otel_aierrors._frameworks.rows import FrameworkRow

_ROUTER = "otel_aierrors._frameworks.litellm_router"

ROWS: Final[tuple[FrameworkRow, ...]] = (
    # litellm.Router delegates its endpoints to its core (litellm 1.110's Rust core);
    # ``Router.completion`` is served from there, so that is where the call is wrapped.
    FrameworkRow("litellm", "litellm.router_rust.core", "RustCore.completion", _ROUTER, "router_completion", True),
    FrameworkRow("litellm", "litellm.router_rust.core", "RustCore.acompletion", _ROUTER, "router_acompletion", True),
    # ``litellm.completion(model, fallbacks=[...])``: a scope only when there are fallbacks.
    FrameworkRow("litellm", "litellm", "completion", _ROUTER, "completion_with_fallbacks", True),
    FrameworkRow("litellm", "litellm", "acompletion", _ROUTER, "acompletion_with_fallbacks", True),
)
