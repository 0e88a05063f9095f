"""The calls a benchmark round repeats, one per scenario, for sync and async clients.

Owns what "one call" means in each scenario and the SDK clients that make it: the
``openai`` scenarios every variant runs, a long stream that gives the cost per chunk, and
a chat and a retry scenario per vendor SDK of ``_sdks.SDKS``. Importing this module does
not import any SDK: the driver, which runs outside the benchmark virtual environments,
reads the scenario table from here too.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from _canned import (
    CHAT_MODEL,
    STREAM_CHUNKS,
    CannedReply,
    chat_reply,
    make_transport,
    messages_rate_limited_reply,
    messages_reply,
    rate_limited_reply,
    stream_reply,
)
from _sdks import SDKS, sdk_named

__all__ = [
    "ALL_SCENARIOS",
    "CHUNK_SCENARIOS",
    "MEMORY_SCENARIOS",
    "SCENARIOS",
    "SDK_SCENARIOS",
    "Scenario",
    "build_call",
    "disable_retry_sleep",
    "request_call",
]

_ANTHROPIC_MODEL = "claude-haiku-4-5"
_MESSAGES = [
    {"role": "system", "content": "You are a terse assistant."},
    {"role": "user", "content": "Say hello."},
]


class Scenario(NamedTuple):
    """One kind of logical call."""

    #: Identifier used on the command line, in the pipe protocol and in reports.
    name: str
    #: Human label for the report.
    label: str
    #: Whether the call uses the SDK's async client.
    is_async: bool
    #: HTTP attempts the SDK makes per logical call (the canned script length).
    attempts: int
    #: Stream the answer (``stream=True``).
    stream: bool = False
    #: Stop after the first chunk and drop the stream without closing it.
    abandon: bool = False
    #: ``_sdks.Sdk.name`` of the SDK making the call.
    sdk: str = "openai"
    #: Chunks in a streamed answer.
    chunks: int = STREAM_CHUNKS

    def script(self) -> tuple[CannedReply, ...]:
        """The replies served, in order, to the attempts of one logical call."""
        if self.stream:
            return (stream_reply(self.chunks),)
        if sdk_named(self.sdk).dialect == "messages":
            return (messages_rate_limited_reply(),) * (self.attempts - 1) + (messages_reply(),)
        return (rate_limited_reply(),) * (self.attempts - 1) + (chat_reply(),)


#: Scenarios timed by the interleaved rounds in every ``openai`` venv, in report order.
SCENARIOS: tuple[Scenario, ...] = (
    Scenario("chat_sync", "chat, 1 attempt (sync)", False, 1),
    Scenario("chat_async", "chat, 1 attempt (async)", True, 1),
    Scenario("retry_sync", "chat, 429+429+200 (sync)", False, 3),
    Scenario("retry_async", "chat, 429+429+200 (async)", True, 3),
    Scenario("stream_sync", "stream, 50 chunks (sync)", False, 1, stream=True),
    Scenario("stream_async", "stream, 50 chunks (async)", True, 1, stream=True),
)

#: A stream five times longer, timed in the main venv only: the slope between it and the
#: 50-chunk stream is the cost of one more chunk, apart from what every stream pays once.
CHUNK_SCENARIOS: tuple[Scenario, ...] = (
    Scenario("stream_long_sync", "stream, 250 chunks (sync)", False, 1, stream=True, chunks=5 * STREAM_CHUNKS),
)

#: Per vendor SDK: one attempt, and 429+429+200, sync (``<sdk>_chat``, ``<sdk>_retry``).
SDK_SCENARIOS: tuple[Scenario, ...] = tuple(
    scenario
    for sdk in SDKS
    for scenario in (
        Scenario(f"{sdk.name}_chat", f"{sdk.name}, 1 attempt", False, 1, sdk=sdk.name),
        Scenario(f"{sdk.name}_retry", f"{sdk.name}, 429+429+200", False, 3, sdk=sdk.name),
    )
)

#: Extra scenarios only the memory run uses.
MEMORY_SCENARIOS: tuple[Scenario, ...] = (
    Scenario("stream_abandon_sync", "stream abandoned after 1 chunk (sync)", False, 1, True, True),
    Scenario("stream_abandon_async", "stream abandoned after 1 chunk (async)", True, 1, True, True),
)

#: Every scenario a worker can be asked for.
ALL_SCENARIOS: tuple[Scenario, ...] = SCENARIOS + CHUNK_SCENARIOS + SDK_SCENARIOS + MEMORY_SCENARIOS


class _WithoutSleep:
    """A module as an SDK's ``_base_client`` sees it, with ``sleep`` replaced."""

    def __init__(self, real: Any, sleep: Callable[[float], Any]) -> None:
        self._real = real
        self.sleep = sleep

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _skip_sleep(seconds: float) -> None:
    """Skip the backoff: the benchmark times the client, not the server's patience."""


async def _skip_async_sleep(seconds: float) -> None:
    """Async twin of ``_skip_sleep``."""


_PATCHED: set[str] = set()


def disable_retry_sleep(base_client_module: str = "openai._base_client") -> None:
    """Patch an SDK's backoff sleeps to no-ops, for sync and async clients alike.

    ``retry-after: 0`` would not do: the SDK ignores non-positive hints and falls back to
    its exponential backoff, so the sleep is replaced where the SDK looks it up
    (``time.sleep`` and ``anyio.sleep`` as seen from its ``_base_client``), leaving the
    real modules untouched for everyone else. Every SDK here shares that generated loop.
    """
    if base_client_module in _PATCHED:
        return
    base_client = importlib.import_module(base_client_module)
    base_client.time = _WithoutSleep(base_client.time, _skip_sleep)  # type: ignore[attr-defined]
    base_client.anyio = _WithoutSleep(base_client.anyio, _skip_async_sleep)  # type: ignore[attr-defined]
    _PATCHED.add(base_client_module)


def _client(scenario: Scenario, observer: Callable[[CannedReply], None] | None) -> Any:
    sdk = sdk_named(scenario.sdk)
    module = importlib.import_module(sdk.module)
    disable_retry_sleep(sdk.base_client)
    transport = make_transport(scenario.script(), observer, sdk.module)
    common: dict[str, Any] = {"api_key": "sk-bench", "max_retries": 2, **dict(sdk.client_kwargs)}
    if sdk.name == "openai":
        common["base_url"] = "https://api.openai.com/v1"
    if scenario.is_async:
        http_client = module.DefaultAsyncHttpxClient(transport=transport)
        return getattr(module, sdk.async_client)(http_client=http_client, **common)
    return getattr(module, sdk.client)(http_client=module.DefaultHttpxClient(transport=transport), **common)


def request_call(sdk_name: str, client: Any) -> Callable[..., Any]:
    """The SDK method one call goes through, with the request's arguments bound."""
    if sdk_named(sdk_name).dialect == "messages":
        messages = client.messages.create
        return lambda **extra: messages(model=_ANTHROPIC_MODEL, max_tokens=256, messages=_MESSAGES[1:], **extra)
    create = client.chat.completions.create
    return lambda **extra: create(model=CHAT_MODEL, messages=_MESSAGES, **extra)


def build_call(
    scenario: Scenario, observer: Callable[[CannedReply], None] | None = None
) -> Callable[[], Any] | Callable[[], Awaitable[Any]]:
    """A zero-argument callable making one logical call; it returns the last object seen.

    The client is created once here, as an application creates it once, and reused by
    every call. ``observer`` is forwarded to the transport (see ``make_transport``).
    """
    create = request_call(scenario.sdk, _client(scenario, observer))

    if not scenario.is_async:
        if not scenario.stream:
            return create

        def stream_call() -> Any:
            last = None
            for chunk in create(stream=True):
                last = chunk
                if scenario.abandon:
                    break
            return last

        return stream_call

    if not scenario.stream:

        async def chat_call() -> Any:
            return await create()

        return chat_call

    async def astream_call() -> Any:
        last = None
        async for chunk in await create(stream=True):
            last = chunk
            if scenario.abandon:
                break
        return last

    return astream_call
