"""The SDKs a benchmark call can go through: one row per SDK.

Owns what differs between SDKs for the harness: the distribution to install, the module
and client classes, the API dialect (OpenAI's chat completions or Anthropic's Messages),
and constructor arguments that keep a client from talking to the network by itself.
``_scenarios`` builds a chat and a retry scenario per row and ``_variants`` a virtual
environment per row, so measuring one more SDK is one more row in ``SDKS``. Importing
this module needs nothing but the standard library.
"""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["OPENAI", "SDKS", "Sdk", "sdk_named"]


class Sdk(NamedTuple):
    """One SDK, as the harness builds its clients."""

    #: Identifier in scenario and venv names (``groq`` -> ``groq_chat``, venv ``sdk-groq``).
    name: str
    #: pip requirement installing it.
    dist: str
    #: Module holding the client classes and ``DefaultHttpxClient``.
    module: str
    #: Sync and async client classes in ``module``.
    client: str
    async_client: str
    #: ``chat`` (``client.chat.completions.create``) or ``messages`` (``client.messages.create``).
    dialect: str = "chat"
    #: Extra constructor arguments, as pairs.
    client_kwargs: tuple[tuple[str, Any], ...] = ()
    #: The SDK emits OpenTelemetry spans of its own (its bare baseline is sampled too).
    own_spans: bool = False

    @property
    def base_client(self) -> str:
        """The module whose ``time`` and ``anyio`` the SDK's retry loop sleeps with."""
        return f"{self.module}._base_client"


OPENAI = Sdk("openai", "openai", "openai", "OpenAI", "AsyncOpenAI")

#: Vendor SDKs measured bare and with ours on top (issue 13), in report order.
SDKS: tuple[Sdk, ...] = (
    # anthropic 2.x traces itself by default (ANTHROPIC_OPEN_TELEMETRY=false turns it off);
    # the default is kept, so its bare baseline emits a span per call.
    Sdk("anthropic", "anthropic", "anthropic", "Anthropic", "AsyncAnthropic", "messages", own_spans=True),
    Sdk("groq", "groq", "groq", "Groq", "AsyncGroq"),
    Sdk("together", "together", "together", "Together", "AsyncTogether"),
    # Cerebras opens a connection to its API when a client is built (warm_tcp_connection);
    # here that request would take a canned reply meant for a timed call.
    Sdk(
        "cerebras",
        "cerebras-cloud-sdk",
        "cerebras.cloud.sdk",
        "Cerebras",
        "AsyncCerebras",
        client_kwargs=(("warm_tcp_connection", False),),
    ),
    Sdk("fireworks", "fireworks-ai", "fireworks", "Fireworks", "AsyncFireworks"),
)


def sdk_named(name: str) -> Sdk:
    """The row called ``name`` (``openai`` included)."""
    return next(sdk for sdk in (OPENAI, *SDKS) if sdk.name == name)
