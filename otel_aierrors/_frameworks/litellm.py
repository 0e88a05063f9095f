"""The litellm callables this package wraps."""

from __future__ import annotations

from typing import Final

from otel_aierrors._frameworks.rows import FrameworkRow

_HANDLER: Final = "otel_aierrors._frameworks.litellm_handler"

ROWS: Final[tuple[FrameworkRow, ...]] = (
    # LiteLLM's own HTTP handler (issue 27): a call per LLM request it sends without a vendor SDK
    # (anthropic, groq, xai, mistral...), recorded like an SDK call; see `litellm_handler`.
    FrameworkRow("litellm", "litellm.llms.custom_httpx.http_handler", "HTTPHandler.post", _HANDLER, "handler_post"),
    FrameworkRow(
        "litellm", "litellm.llms.custom_httpx.http_handler", "AsyncHTTPHandler.post", _HANDLER, "async_handler_post"
    ),
)
