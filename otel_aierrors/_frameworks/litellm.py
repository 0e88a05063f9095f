"""The litellm callables this package wraps.

- The Router's endpoints and ``litellm.completion``'s fallbacks: a fallback
  scope, each deployment tried a hop, the Router's retries app-retry attempts
  (`otel_aierrors._frameworks.litellm_router`).
- LiteLLM's own HTTP handler: a call per LLM request it sends without a vendor
  SDK (anthropic, groq, xai, mistral...), recorded like an SDK call
  (`otel_aierrors._frameworks.litellm_handler`).
"""

from __future__ import annotations

from typing import Final

from otel_aierrors._frameworks.rows import FrameworkRow

_ROUTER: Final = "otel_aierrors._frameworks.litellm_router"
_HANDLER: Final = "otel_aierrors._frameworks.litellm_handler"
_HTTP: Final = "litellm.llms.custom_httpx.http_handler"

ROWS: Final[tuple[FrameworkRow, ...]] = (
    # litellm.Router delegates its endpoints to its core (litellm 1.110's Rust core);
    # ``Router.completion`` is served from there, so that is where the call is wrapped.
    FrameworkRow("litellm", "litellm.router_rust.core", "RustCore.completion", _ROUTER, "router_completion", True),
    FrameworkRow("litellm", "litellm.router_rust.core", "RustCore.acompletion", _ROUTER, "router_acompletion", True),
    # ``litellm.completion(model, fallbacks=[...])``: a scope only when there are fallbacks.
    FrameworkRow("litellm", "litellm", "completion", _ROUTER, "completion_with_fallbacks", True),
    FrameworkRow("litellm", "litellm", "acompletion", _ROUTER, "acompletion_with_fallbacks", True),
    # LiteLLM's own HTTP handler: the call boundary of what it sends without a vendor SDK.
    FrameworkRow("litellm", _HTTP, "HTTPHandler.post", _HANDLER, "handler_post"),
    FrameworkRow("litellm", _HTTP, "AsyncHTTPHandler.post", _HANDLER, "async_handler_post"),
)
