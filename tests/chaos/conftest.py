"""Fixtures for the chaos server's own tests.

One :class:`ChaosServer` serves the whole session (``chaos_server``); tests
that change the profile or stop the server build their own through
``make_server``, which stops them and checks that no server thread survives.
Clients are always closed, because unclosed sockets are ResourceWarnings and
warnings are errors here.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import openai
import pytest

from otel_aierrors.chaos import ChaosServer, RequestRecord, script_headers

API_KEY = "sk-proj-chaosTEST0123456789abcdefSECRET"
MESSAGES = [{"role": "user", "content": "hello"}]


@pytest.fixture(scope="session")
def chaos_server() -> Iterator[ChaosServer]:
    with ChaosServer(seed=1234, max_seconds=1800) as server:
        yield server
    assert server.stopped
    assert not [t.name for t in threading.enumerate() if t.name.startswith(server.thread_prefix)]


@pytest.fixture
def make_server() -> Iterator[Callable[..., ChaosServer]]:
    """Factory of dedicated servers, stopped (and checked for leaked threads) after the test."""
    servers: list[ChaosServer] = []

    def make(**kwargs: Any) -> ChaosServer:
        server = ChaosServer(**kwargs).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
        assert server.stopped
        leaked = [t.name for t in threading.enumerate() if t.name.startswith(server.thread_prefix)]
        assert not leaked, leaked


class Tagged:
    """A unique tag per test and the headers that carry it, to find this test's requests."""

    def __init__(self, server: ChaosServer) -> None:
        self.server = server
        self.tag = uuid.uuid4().hex

    def headers(self, *steps: str) -> dict[str, str]:
        """``extra_headers`` running ``steps`` and tagging the request."""
        if not steps:
            return {"x-chaos-tag": self.tag}
        return script_headers(*steps, tag=self.tag)

    def requests(self) -> tuple[RequestRecord, ...]:
        """This test's requests, as the server recorded them."""
        return self.server.requests_tagged(self.tag)

    def wait(self, count: int, timeout: float = 2.0) -> tuple[RequestRecord, ...]:
        """Wait until the server has recorded ``count`` of this test's requests."""
        assert self.server.wait_for(lambda: len(self.requests()) >= count, timeout), self.requests()
        return self.requests()


@pytest.fixture
def tagged(chaos_server: ChaosServer) -> Tagged:
    return Tagged(chaos_server)


@pytest.fixture
def client(chaos_server: ChaosServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=chaos_server.base_url, api_key=API_KEY, max_retries=0, timeout=5.0) as sdk:
        yield sdk


@pytest.fixture
async def aclient(chaos_server: ChaosServer) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=chaos_server.base_url, api_key=API_KEY, max_retries=0, timeout=5.0) as sdk:
        yield sdk


class Caller:
    """Makes one SDK call through a fresh sync or async client (closed afterwards).

    Tests written against a ``Caller`` run twice, once per client flavour, the way
    the httpx test-suite runs one abstract case through sync and async subclasses.
    """

    def __init__(self, mode: str, server: ChaosServer) -> None:
        self.mode = mode
        self.server = server

    def __call__(self, method: str, *args: Any, max_retries: int = 0, timeout: float = 5.0, **kwargs: Any) -> Any:
        """Run ``client.<method>(**kwargs)`` where ``method`` is a dotted path like ``chat.completions.create``."""
        options = {"base_url": self.server.base_url, "api_key": API_KEY, "max_retries": max_retries, "timeout": timeout}
        if self.mode == "sync":
            with openai.OpenAI(**options) as sdk:
                return _resolve(sdk, method)(*args, **kwargs)

        async def run() -> Any:
            async with openai.AsyncOpenAI(**options) as sdk:
                return await _resolve(sdk, method)(*args, **kwargs)

        return asyncio.run(run())

    def chat(self, *, headers: dict[str, str], **kwargs: Any) -> Any:
        """``chat.completions.create`` with a default model and messages."""
        kwargs.setdefault("model", "gpt-4o")
        kwargs.setdefault("messages", MESSAGES)
        return self("chat.completions.create", extra_headers=headers, **kwargs)

    def error(self, *, headers: dict[str, str], **kwargs: Any) -> openai.OpenAIError:
        """Run :meth:`chat` and return the exception it must raise."""
        try:
            self.chat(headers=headers, **kwargs)
        except openai.OpenAIError as error:
            return error
        raise AssertionError("the call did not fail")


def _resolve(sdk: Any, method: str) -> Callable[..., Any]:
    target = sdk
    for part in method.split("."):
        target = getattr(target, part)
    return target


@pytest.fixture(params=["sync", "async"])
def caller(request: pytest.FixtureRequest, chaos_server: ChaosServer) -> Caller:
    return Caller(request.param, chaos_server)
