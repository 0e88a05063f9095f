"""The demo's LiteLLM stories (``otel-aierrors demo --litellm``), told beside the default ones.

Two scenarios, each scripted through the chaos server so it happens the same
way every time:

- ``litellm_router_fallback``: a ``litellm.Router`` over two OpenAI-compatible
  deployments of the embedded server (model groups ``litellm-primary`` and
  ``litellm-backup``). The primary answers 429, LiteLLM retries it and gets a
  503, then falls back to the backup, which answers: one ``fallback
  litellm-primary`` scope, two app-retry attempts (library ``litellm``) on the
  primary and one hop to the backup, counted in ``aierrors.fallback.hops``.
  An ``x-chaos-sequence`` key of its own gives each of the primary's
  requests its step (the Router's clients send no retry count).
- ``litellm_anthropic``: ``litellm.completion(model="anthropic/...")``, which
  LiteLLM sends with its own HTTP handler against the server's Anthropic
  Messages dialect: 529 overloaded, then LiteLLM's retry (``num_retries=1``)
  gets the answer: two call spans, each with its attempt span.

litellm is an optional extra and slow to import (5 to 20 s): this module does
not import it at its top; `import_litellm` does, once, before the workload.
"""

from __future__ import annotations

import importlib
import os
import uuid
from types import ModuleType
from typing import Any, Final

from otel_aierrors.chaos import script_headers
from otel_aierrors.cli.demo.workload import Scenario, Workbench

__all__ = [
    "ANTHROPIC_MODEL",
    "BACKUP_GROUP",
    "BACKUP_MODEL",
    "LITELLM_SCENARIOS",
    "PRIMARY_GROUP",
    "PRIMARY_MODEL",
    "import_litellm",
]

#: Without it litellm fetches its model cost map from the network when imported.
_LOCAL_COST_MAP: Final = "LITELLM_LOCAL_MODEL_COST_MAP"
#: The Router's model groups: the fallback scope is named after the primary one.
PRIMARY_GROUP: Final = "litellm-primary"
BACKUP_GROUP: Final = "litellm-backup"
#: The deployments' models: distinct from the default workload's, so the hop stands out in the report.
PRIMARY_MODEL: Final = "gpt-4.1"
BACKUP_MODEL: Final = "gpt-4.1-mini"
ANTHROPIC_MODEL: Final = "claude-sonnet-4-5"
_MESSAGES: Final[Any] = [{"role": "user", "content": "Say hello."}]
#: Per-request timeout, as the default workload's.
_TIMEOUT: Final = 10.0


def import_litellm() -> ModuleType:
    """Import litellm with its bundled model cost map (unless the user chose otherwise): the demo runs offline.

    Raises:
        ImportError: If litellm is not installed.
    """
    os.environ.setdefault(_LOCAL_COST_MAP, "True")
    return importlib.import_module("litellm")


def router_fallback(bench: Workbench) -> None:
    """The primary deployment answers 429, then 503; the Router falls back to the backup, which answers."""
    litellm = import_litellm()  # imported already, before the workload: a lookup
    sequence = uuid.uuid4().hex
    primary = _deployment(
        bench,
        PRIMARY_MODEL,
        f"rate_limit;retry_after_ms={bench.delay_ms()}",
        f"overloaded;retry_after_ms={bench.delay_ms()}",
        sequence=sequence,
    )
    # A Router of its own each time: a shared one would put the primary in cooldown after
    # its failures and skip it on the next run, and the story would not be told again.
    router = litellm.Router(
        model_list=[
            {"model_name": PRIMARY_GROUP, "litellm_params": primary},
            {"model_name": BACKUP_GROUP, "litellm_params": _deployment(bench, BACKUP_MODEL, "ok")},
        ],
        fallbacks=[{PRIMARY_GROUP: [BACKUP_GROUP]}],
        num_retries=1,
        timeout=_TIMEOUT,
    )
    router.completion(model=PRIMARY_GROUP, messages=_MESSAGES)


def anthropic_via_handler(bench: Workbench) -> None:
    """LiteLLM's own handler meets a 529 overloaded; its retry gets the answer."""
    litellm = import_litellm()  # imported already, before the workload: a lookup
    litellm.completion(
        model=f"anthropic/{ANTHROPIC_MODEL}",
        api_base=bench.base_url.removesuffix("/v1"),
        api_key="sk-ant-demo-0123456789abcdef",
        messages=_MESSAGES,
        max_tokens=64,
        num_retries=1,
        timeout=_TIMEOUT,
        extra_headers=script_headers(f"overloaded;retry_after_ms={bench.delay_ms()}", "ok", sequence=uuid.uuid4().hex),
    )


def _deployment(bench: Workbench, model: str, *steps: str, sequence: str | None = None) -> dict[str, Any]:
    """One OpenAI-compatible deployment on the embedded server, answering ``steps``."""
    return {
        "model": f"openai/{model}",
        "api_base": bench.base_url,
        "api_key": f"sk-demo-{model}-0123456789abcdef",
        "extra_headers": script_headers(*steps, sequence=sequence),
    }


LITELLM_SCENARIOS: Final = (
    Scenario("litellm_router_fallback", router_fallback),
    Scenario("litellm_anthropic", anthropic_via_handler),
)
