"""Hostile answers: out-of-range and huge header values, random served names, huge and echoing errors.

What a provider or gateway outside the user's control may send; the
instrumentation's hostile-input tests plant secrets in the request and check
that what the server echoes never reaches telemetry.
"""

from __future__ import annotations

import base64
import json
import socket
from typing import Any

import openai
import pytest

from otel_aierrors.chaos import ChaosServer
from tests.conftest import HTTP  # httpx, or httpx2 beside openai 3.x

from .conftest import API_KEY, MESSAGES, Caller, Tagged

PROMPT = "my secret prompt 4242"


def test_rate_limit_values_are_sent_verbatim(caller: Caller, tagged: Tagged) -> None:
    raw = caller(
        "chat.completions.with_raw_response.create",
        model="gpt-4o",
        messages=MESSAGES,
        extra_headers=tagged.headers(
            "ok;remaining_requests=18446744073709551615;limit_requests=inf;remaining_tokens=-5;reset_tokens=nan"
            ";reset_requests=-5"
        ),
    )

    headers = raw.headers
    assert headers["x-ratelimit-remaining-requests"] == "18446744073709551615"
    assert headers["x-ratelimit-limit-requests"] == "inf"
    assert headers["x-ratelimit-remaining-tokens"] == "-5"
    assert headers["x-ratelimit-reset-tokens"] == "nan"
    assert headers["x-ratelimit-reset-requests"] == "-5"
    assert raw.parse().choices


def test_retry_directives_are_sent_verbatim(caller: Caller, tagged: Tagged) -> None:
    error = caller.error(headers=tagged.headers("rate_limit;retry_after=-5;retry_after_ms=nan"))

    assert isinstance(error, openai.RateLimitError)
    assert (error.response.headers["retry-after"], error.response.headers["retry-after-ms"]) == ("-5", "nan")


def _head(server: ChaosServer, script: str) -> dict[str, str]:
    """The response headers of one request, read from a raw socket (no client limits on header size)."""
    body = json.dumps({"model": "gpt-4o", "messages": MESSAGES}).encode()
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nconnection: close\r\nx-chaos-script: {script}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, data[:200]
            data += chunk
    lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
    return {name.lower(): value for name, _, value in (line.partition(": ") for line in lines)}


def test_huge_header_values_unique_per_response(chaos_server: ChaosServer) -> None:
    first = _head(chaos_server, "ok;huge_headers=102400;unique=1")
    second = _head(chaos_server, "ok;huge_headers=102400;unique=1")
    same = _head(chaos_server, "ok;huge_headers=1000")

    names = [name for name in first if name.startswith("x-ratelimit-")]
    assert len(names) == 6
    assert all(len(first[name]) == 102400 for name in names)
    assert first["x-ratelimit-reset-tokens"] != second["x-ratelimit-reset-tokens"]
    assert same["x-ratelimit-reset-tokens"] == "9" * 1000


def test_random_served_model_names_and_ids(caller: Caller, tagged: Tagged) -> None:
    first = caller.chat(headers=tagged.headers("ok;random_model=5000;random_id=3000"))
    second = caller.chat(headers=tagged.headers("ok;random_model=5000;random_id=3000"))

    assert len(first.model) == 5000 and len(first.id) == 3000
    assert first.model != second.model and first.id != second.id
    assert first.id.startswith("chatcmpl-")


def test_a_twenty_megabyte_error_message(caller: Caller, tagged: Tagged) -> None:
    error = caller.error(headers=tagged.headers("huge;size=20971520"))

    assert isinstance(error, openai.InternalServerError) and isinstance(error.body, dict)
    assert len(error.response.content) >= 20971520
    assert len(error.body["message"]) > 20_000_000


def _echo(server: ChaosServer, headers: dict[str, str], **options: Any) -> openai.BadRequestError:
    """The 400 an ``echo`` step gives a chat call carrying ``PROMPT``, through a client with ``options``."""
    with (
        openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0, **options) as client,
        pytest.raises(openai.BadRequestError) as raised,
    ):
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": PROMPT}], extra_headers=headers
        )
    return raised.value


class TestEcho:
    def test_every_credential_the_request_carried_comes_back(self, chaos_server: ChaosServer, tagged: Tagged) -> None:
        error = _echo(
            chaos_server,
            tagged.headers("echo"),
            default_headers={"x-api-key": "xak-planted-1111", "api-key": "azk-planted-2222"},
            default_query={"key": "qk-planted-3333"},
        )

        for planted in (API_KEY, f"Bearer {API_KEY}", "xak-planted-1111", "azk-planted-2222", "qk-planted-3333"):
            assert planted in error.message, planted
        assert f"Invalid 'messages[0].content': '{PROMPT}'" in error.message
        assert isinstance(error.body, dict) and error.body["code"] == "invalid_value"

    @pytest.mark.parametrize(
        ("what", "expected"),
        [
            ("prompt", f"Invalid 'messages[0].content': '{PROMPT}'"),
            ("key", f"Incorrect API key provided: {API_KEY}."),
            ("authorization", f"Bearer {API_KEY}"),
            ("query", "Invalid query: token=tk-planted-4444"),
            ("x-api-key", "(the request carried no x-api-key)"),
        ],
    )
    def test_one_target_at_a_time(self, chaos_server: ChaosServer, tagged: Tagged, what: str, expected: str) -> None:
        error = _echo(chaos_server, tagged.headers(f"echo;what={what}"), default_query={"token": "tk-planted-4444"})

        assert isinstance(error.body, dict) and error.body["message"] == expected

    def test_a_basic_credential_from_url_userinfo(self, chaos_server: ChaosServer) -> None:
        credential = base64.b64encode(b"alice:pw-planted-5555").decode()
        with HTTP.Client(timeout=5.0) as client:
            response = client.post(
                f"http://alice:pw-planted-5555@127.0.0.1:{chaos_server.port}/v1/chat/completions",
                json={"model": "gpt-4o", "messages": MESSAGES},
                headers={"x-chaos-script": "echo;what=userinfo"},
            )
            everything = client.post(
                f"{chaos_server.base_url}/chat/completions",
                json={"model": "gpt-4o", "messages": MESSAGES},
                headers={"x-chaos-script": "echo", "authorization": f"Basic {credential}"},
            )

        assert response.status_code == 400
        assert response.json()["error"]["message"] == "alice:pw-planted-5555"
        assert "Basic credential for alice:pw-planted-5555" in everything.json()["error"]["message"]
        assert f"Authorization: Basic {credential}" in everything.json()["error"]["message"]

    @pytest.mark.parametrize("dialect", ["anthropic", "lemondata", "holysheep"])
    def test_echoes_in_every_dialect_and_on_messages(self, chaos_server: ChaosServer, dialect: str) -> None:
        payload: dict[str, Any] = {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": PROMPT}]}
        with HTTP.Client(base_url=chaos_server.url, timeout=5.0) as client:
            chat = client.post(
                "/v1/chat/completions", json=payload, headers={"x-chaos-script": f"echo;what=prompt;dialect={dialect}"}
            )
            messages = client.post(
                "/v1/messages", json=payload, headers={"x-chaos-script": "echo", "x-api-key": "sk-ant-planted-6666"}
            )

        assert f"'{PROMPT}'" in json.dumps(chat.json())
        body = messages.json()
        assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
        assert "x-api-key: sk-ant-planted-6666" in body["error"]["message"]
        assert "Incorrect API key provided: sk-ant-planted-6666." in body["error"]["message"]
        assert PROMPT in body["error"]["message"]
