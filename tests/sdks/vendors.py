"""The generated SDKs besides ``openai``, each driven the same way against the chaos server.

A `Vendor` makes one chat call through its SDK's sync or async client, with a
fault script in the ``x-chaos-script`` header, over real HTTP on 127.0.0.1. A
vendor whose SDK is not installed is skipped (CI installs them in one
environment only).
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from otel_aierrors.chaos import ChaosServer
from tests.conftest import API_KEY

__all__ = ["VENDORS", "Vendor"]


@dataclass(frozen=True)
class Vendor:
    """One SDK: how to build its clients and make a chat call."""

    name: str
    #: The importable module of the SDK.
    module: str
    sync_client: str
    async_client: str
    #: ``gen_ai.provider.name`` expected on its spans.
    provider: str
    #: The path the SDK posts a chat call to, below the chaos server's root.
    chat_path: str
    model: str = "test-model"
    #: The call: ``chat.completions.create`` for OpenAI-shaped SDKs.
    invoke: Callable[[Any, dict[str, Any]], Any] = lambda client, kwargs: client.chat.completions.create(
        messages=[{"role": "user", "content": "hello"}], **kwargs
    )

    def sdk(self) -> Any:
        return pytest.importorskip(self.module)

    def http(self) -> Any:
        """The HTTP library the installed release sends through: ``httpx2`` (anthropic >= 1.0) or ``httpx``."""
        base_client = importlib.import_module(f"{self.module}._base_client")
        return getattr(base_client, "httpx2", None) or base_client.httpx

    def call(self, mode: str, chaos: ChaosServer, script: str, *, stream: bool = False, **options: Any) -> Any:
        """One chat call through the sync or the async client; ``options`` go to the client.

        ``stream=True`` reads the stream to its end and returns the chunks.
        """
        sdk = self.sdk()
        options.setdefault("max_retries", 2)
        options.setdefault("timeout", 10.0)
        kwargs: dict[str, Any] = {"model": self.model, "extra_headers": {"x-chaos-script": script}}
        if stream:
            kwargs["stream"] = True
        base_url = chaos.url
        if mode == "sync":
            with getattr(sdk, self.sync_client)(base_url=base_url, api_key=API_KEY, **options) as client:
                result = self.invoke(client, kwargs)
                if not stream:
                    return result
                with result:
                    return list(result)

        async def run() -> Any:
            async with getattr(sdk, self.async_client)(base_url=base_url, api_key=API_KEY, **options) as client:
                result = await self.invoke(client, kwargs)
                if not stream:
                    return result
                async with result:
                    return [chunk async for chunk in result]

        return asyncio.run(run())


def _messages(client: Any, kwargs: dict[str, Any]) -> Any:
    return client.messages.create(max_tokens=64, messages=[{"role": "user", "content": "hello"}], **kwargs)


VENDORS: dict[str, Vendor] = {
    vendor.name: vendor
    for vendor in (
        Vendor("groq", "groq", "Groq", "AsyncGroq", "groq", "/openai/v1/chat/completions"),
        Vendor("together", "together", "Together", "AsyncTogether", "together", "/v1/chat/completions"),
        Vendor(
            "cerebras",
            "cerebras.cloud.sdk",
            "Cerebras",
            "AsyncCerebras",
            "cerebras",
            "/v1/chat/completions",
        ),
        Vendor(
            "fireworks",
            "fireworks",
            "Fireworks",
            "AsyncFireworks",
            "fireworks",
            # Relative to an overridden base URL; the hosted API's absolute one is under /inference/v1.
            "/v1/chat/completions",
        ),
        Vendor(
            "anthropic",
            "anthropic",
            "Anthropic",
            "AsyncAnthropic",
            "anthropic",
            "/v1/messages",
            model="claude-sonnet-4-5",
            invoke=_messages,
        ),
    )
}
