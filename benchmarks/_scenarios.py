"""The calls a benchmark round repeats, one per scenario, for sync and async clients.

Owns what "one call" means in each scenario and the SDK clients that make it. Importing
this module does not import ``openai``: the driver, which runs outside the benchmark
virtual environments, reads the scenario table from here too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from _canned import CHAT_MODEL, CannedReply, chat_reply, make_transport, rate_limited_reply, stream_reply

__all__ = [
    "MEMORY_SCENARIOS",
    "SCENARIOS",
    "Scenario",
    "build_call",
    "disable_retry_sleep",
]

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
    #: Whether the call uses ``AsyncOpenAI``.
    is_async: bool
    #: HTTP attempts the SDK makes per logical call (the canned script length).
    attempts: int
    #: Stream the answer (``stream=True``).
    stream: bool = False
    #: Stop after the first chunk and drop the stream without closing it.
    abandon: bool = False

    def script(self) -> tuple[CannedReply, ...]:
        """The replies served, in order, to the attempts of one logical call."""
        if self.stream:
            return (stream_reply(),)
        return (rate_limited_reply(),) * (self.attempts - 1) + (chat_reply(),)


#: Scenarios timed by the interleaved rounds, in report order.
SCENARIOS: tuple[Scenario, ...] = (
    Scenario("chat_sync", "chat, 1 attempt (sync)", False, 1),
    Scenario("chat_async", "chat, 1 attempt (async)", True, 1),
    Scenario("retry_sync", "chat, 429+429+200 (sync)", False, 3),
    Scenario("retry_async", "chat, 429+429+200 (async)", True, 3),
    Scenario("stream_sync", "stream, 50 chunks (sync)", False, 1, stream=True),
    Scenario("stream_async", "stream, 50 chunks (async)", True, 1, stream=True),
)

#: Extra scenarios only the memory run uses.
MEMORY_SCENARIOS: tuple[Scenario, ...] = (
    Scenario("stream_abandon_sync", "stream abandoned after 1 chunk (sync)", False, 1, True, True),
    Scenario("stream_abandon_async", "stream abandoned after 1 chunk (async)", True, 1, True, True),
)


class _WithoutSleep:
    """A module as ``openai._base_client`` sees it, with ``sleep`` replaced."""

    def __init__(self, real: Any, sleep: Callable[[float], Any]) -> None:
        self._real = real
        self.sleep = sleep

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _skip_sleep(seconds: float) -> None:
    """Skip the backoff: the benchmark times the client, not the server's patience."""


async def _skip_async_sleep(seconds: float) -> None:
    """Async twin of ``_skip_sleep``."""


def disable_retry_sleep() -> None:
    """Patch the SDK's backoff sleeps to no-ops, for sync and async clients alike.

    ``retry-after: 0`` would not do: the SDK ignores non-positive hints and falls back to
    its exponential backoff, so the sleep is replaced where the SDK looks it up
    (``time.sleep`` and ``anyio.sleep`` as seen from ``openai._base_client``), leaving
    the real modules untouched for everyone else.
    """
    import openai._base_client as base_client

    base_client.time = _WithoutSleep(base_client.time, _skip_sleep)  # type: ignore[attr-defined,assignment]
    base_client.anyio = _WithoutSleep(base_client.anyio, _skip_async_sleep)  # type: ignore[attr-defined,assignment]


def _client(scenario: Scenario, observer: Callable[[CannedReply], None] | None) -> Any:
    import openai

    transport = make_transport(scenario.script(), observer)
    common: dict[str, Any] = {
        "api_key": "sk-bench",
        "base_url": "https://api.openai.com/v1",
        "max_retries": 2,
    }
    if scenario.is_async:
        return openai.AsyncOpenAI(http_client=openai.DefaultAsyncHttpxClient(transport=transport), **common)
    return openai.OpenAI(http_client=openai.DefaultHttpxClient(transport=transport), **common)


def build_call(
    scenario: Scenario, observer: Callable[[CannedReply], None] | None = None
) -> Callable[[], Any] | Callable[[], Awaitable[Any]]:
    """A zero-argument callable making one logical call; it returns the last object seen.

    The client is created once here, as an application creates it once, and reused by
    every call. ``observer`` is forwarded to the transport (see ``make_transport``).
    """
    client = _client(scenario, observer)
    create = client.chat.completions.create

    if not scenario.is_async:
        if not scenario.stream:
            return lambda: create(model=CHAT_MODEL, messages=_MESSAGES)

        def stream_call() -> Any:
            last = None
            for chunk in create(model=CHAT_MODEL, messages=_MESSAGES, stream=True):
                last = chunk
                if scenario.abandon:
                    break
            return last

        return stream_call

    if not scenario.stream:

        async def chat_call() -> Any:
            return await create(model=CHAT_MODEL, messages=_MESSAGES)

        return chat_call

    async def astream_call() -> Any:
        last = None
        async for chunk in await create(model=CHAT_MODEL, messages=_MESSAGES, stream=True):
            last = chunk
            if scenario.abandon:
                break
        return last

    return astream_call
