"""The frameworks built on the SDKs: their fallbacks, retries and re-asks, as scopes and hops.

LiteLLM, pydantic-ai, LangChain and Instructor retry, fall back and re-ask in
their own code, above the SDK calls this package already records. Each has a
module here whose ``ROWS`` name the callables to wrap; the patch table
(`otel_aierrors._patches.targets`) reads them, so they are applied when (and
if) the application imports the framework, like every other row. A rows
module imports nothing: the wrappers live in a module of their own, imported
by the first hook that fires.
"""

from __future__ import annotations

from typing import Final

from otel_aierrors._frameworks import instructor, langchain, litellm, pydantic_ai
from otel_aierrors._frameworks.rows import FrameworkRow

__all__ = ["FRAMEWORK_ROWS", "FrameworkRow"]

#: Every framework callable this package wraps, in the order they are applied.
FRAMEWORK_ROWS: Final[tuple[FrameworkRow, ...]] = (
    *litellm.ROWS,
    *pydantic_ai.ROWS,
    *langchain.ROWS,
    *instructor.ROWS,
)
