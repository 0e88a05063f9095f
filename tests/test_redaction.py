"""No credential the client knows leaves the process, in any form a server echoes it in."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import quote, quote_plus

import pytest

from otel_aierrors._redaction import (
    CAPTURE_CONTENT_ENV,
    MAX_TEXT_LENGTH,
    REDACTED,
    client_secrets,
    content_capture_enabled,
    exportable_token,
    redact,
)

API_KEY = "sk-proj-TestKey0123456789abcdefSECRET"
GATEWAY_KEY = "gw7Hq2LmXp9RtY4vBn8Kc"
AZURE_KEY = "0123abcd4567efgh8901ijkl"
QUERY_KEY = "AIzaSyQueryKey0987654321zyx"
URL_PASSWORD = "p@ss/w0rd-Secret!"
COOKIE = "sess-91f2a7c3e5b8d0"


@pytest.mark.parametrize(
    "text",
    [
        "Incorrect API key provided: sk-proj-abcdef1234567890XYZ. You can find your API key at ...",
        "Incorrect API key provided: sk-abc1********************wxyz.",
        "invalid x-api-key sk-ant-api03-AAAABBBBCCCC",
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload",
        'bad request {"api_key": "hs-123456789"}',
        "api-key=abcdef123456 rejected",
    ],
)
def test_key_shapes_are_redacted(text: str) -> None:
    redacted = redact(text)
    assert "[REDACTED]" in redacted
    for secret in ("sk-proj-abcdef", "sk-abc1", "sk-ant-api03", "eyJhbGci", "hs-123456789", "abcdef123456"):
        assert secret not in redacted


def test_the_clients_own_key_is_redacted_whatever_its_shape() -> None:
    assert redact("key ZZZ-custom-gateway-key-999 is invalid", ("ZZZ-custom-gateway-key-999",)) == (
        "key [REDACTED] is invalid"
    )


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("https://collector.example:4318/v1/traces?token=c0ll3ct0r-T0ken", "c0ll3ct0r-T0ken"),
        ("https://otel:hunter2hunter2@collector.example:4318", "hunter2hunter2"),
        ("https://sometokenvalue99@collector.example", "sometokenvalue99"),
        ("https://x.blob.core.windows.net/c?sv=2024&sig=AbCdEf%2Bsig%3D", "AbCdEf"),
    ],
)
def test_credentials_in_urls_are_redacted_without_knowing_them(url: str, secret: str) -> None:
    # What `doctor` shows of OTEL_EXPORTER_OTLP_ENDPOINT goes through the same function.
    redacted = redact(url)
    assert secret not in redacted and REDACTED in redacted
    assert "collector.example" in redacted or "windows.net" in redacted


def test_plain_messages_pass_and_long_ones_are_cut() -> None:
    assert redact("Rate limit reached for gpt-4o") == "Rate limit reached for gpt-4o"
    assert redact("Basic Authentication failed for gpt-4o") == "Basic Authentication failed for gpt-4o"
    assert len(redact("x" * 1000)) == MAX_TEXT_LENGTH


def _configured_secrets() -> tuple[str, ...]:
    return client_secrets(
        API_KEY + "\n",  # read from a file with its newline
        {
            "x-api-key": GATEWAY_KEY,
            "api-key": AZURE_KEY,
            "Cookie": f"theme=dark; session={COOKIE}",
            "X-Title": "my app",
        },
        {"key": QUERY_KEY, "api-version": "2024-10-21"},
        f"https://alice:{quote(URL_PASSWORD, safe='')}@gateway.example:8443/v1",
    )


def _basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    "echo",
    [
        f"Incorrect API key provided: {API_KEY}",
        f"Illegal header value b'Bearer {API_KEY}\\n'",  # h11 / httpx on a key with a newline
        "Illegal header value " + repr(b"Bearer " + API_KEY.encode() + b"\n"),
        f"invalid x-api-key: {GATEWAY_KEY}",
        f"api-key {AZURE_KEY} is not valid for this resource",
        f"GET /v1/models?key={QUERY_KEY} 401",
        f"url {quote(QUERY_KEY)} and {quote_plus(GATEWAY_KEY)}",
        f"cookie {COOKIE} expired",
        f"basic credential {_basic('alice', URL_PASSWORD)} refused",
        f"user alice:{URL_PASSWORD} unknown",
        f"user alice:{quote(URL_PASSWORD, safe='')} unknown",
        f"json {json.dumps({'key': API_KEY})}",
        f"key sent was {API_KEY[:20]}... (truncated by the provider)",
    ],
)
def test_every_configured_credential_is_redacted_in_every_echoed_form(echo: str) -> None:
    redacted = redact(echo, _configured_secrets())
    for secret in (API_KEY, GATEWAY_KEY, AZURE_KEY, QUERY_KEY, URL_PASSWORD, COOKIE, _basic("alice", URL_PASSWORD)):
        for form in (secret, quote(secret, safe=""), secret[:12]):
            assert form not in redacted, (echo, redacted)
    assert REDACTED in redacted


def test_headers_without_credential_names_are_not_secrets() -> None:
    secrets = client_secrets(None, {"X-Title": "my application name", "OpenAI-Beta": "assistants=v2"}, None, None)
    assert secrets == ()


def test_an_authorization_header_gives_its_credential_and_the_decoded_basic_pair() -> None:
    bearer = client_secrets(None, {"Authorization": "Bearer tok_0123456789abcdef"})
    assert "tok_0123456789abcdef" in bearer
    basic = client_secrets(None, {"authorization": f"Basic {_basic('svc-user', 'hunter2hunter2')}"})
    assert "svc-user:hunter2hunter2" in basic
    assert "hunter2hunter2" in basic


def test_random_looking_query_values_are_secrets_whatever_their_name() -> None:
    assert "Zx9Qw8Er7Ty6Ui5Op4" in client_secrets(None, None, {"ak": "Zx9Qw8Er7Ty6Ui5Op4"})
    assert client_secrets(None, None, {"api-version": "2024-10-21", "format": "json"}) == ()


def test_a_secret_straddling_the_cut_leaves_no_prefix() -> None:
    secrets = (GATEWAY_KEY,)
    for start in range(MAX_TEXT_LENGTH - len(GATEWAY_KEY) - 2, MAX_TEXT_LENGTH + 2):
        text = "x" * start + GATEWAY_KEY + "y" * 5000
        redacted = redact(text, secrets)
        assert len(redacted) <= MAX_TEXT_LENGTH
        # Not even a 4-character prefix of the key survives the cut.
        assert GATEWAY_KEY[:4] not in redacted, start


def test_a_key_shape_straddling_the_cut_leaves_no_prefix() -> None:
    key = "sk-proj-" + "A1b2C3d4" * 8
    for start in range(MAX_TEXT_LENGTH - 12, MAX_TEXT_LENGTH + 2):
        redacted = redact("x" * start + " " + key + " tail" * 2000)
        assert "sk-p" not in redacted and "A1b2" not in redacted, start


def test_many_secrets_shrinking_the_text_do_not_pull_a_cut_secret_in() -> None:
    # Each 21-character key becomes 10 characters: text from far beyond the
    # cut would move before it if the redaction ran on more than it keeps.
    text = (GATEWAY_KEY + " ") * 40 + AZURE_KEY
    redacted = redact(text, (GATEWAY_KEY, AZURE_KEY))
    assert GATEWAY_KEY[:6] not in redacted and AZURE_KEY[:6] not in redacted


def test_the_cost_does_not_depend_on_the_size_of_the_text() -> None:
    secrets = _configured_secrets()
    short = "Incorrect API key provided: " + API_KEY
    huge = short + " filler" * 3_000_000  # about 20 MB

    def cost(text: str) -> float:
        started = time.perf_counter()
        for _ in range(20):
            redact(text, secrets)
        return time.perf_counter() - started

    cost(short)
    assert cost(huge) < cost(short) * 5 + 0.05


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("invalid_api_key", "invalid_api_key"),
        ("messages[0].content", "messages[0].content"),
        ("1001", "1001"),
        ("rate_limit_exceeded", "rate_limit_exceeded"),
        ("Tell me a secret about my account", None),  # prose: an echoed prompt
        ("'messages'", None),
        ("x" * 65, None),
        ("sk-proj-abcdef1234567890XYZ", None),  # a key is not a code
        ("gwXApiKey7Hq2LmXp9RtY4vB", None),  # nor is a key of any other shape
        ("0123abcd4567efgh8901ijkl", None),
        ("meta-llama/Llama-3.3-70B-Instruct-Turbo", "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
        ("response_format.json_schema", "response_format.json_schema"),
        ("", None),
        (None, None),
    ],
)
def test_only_identifiers_are_exportable_tokens(value: str | None, expected: str | None) -> None:
    assert exportable_token(value) == expected


def test_a_configured_secret_is_not_an_exportable_token() -> None:
    assert exportable_token(GATEWAY_KEY, _configured_secrets()) is None


@pytest.mark.parametrize(
    ("value", "enabled"),
    [
        ("true", True),
        ("TRUE", True),
        ("SPAN_ONLY", True),
        ("span_and_event", True),
        ("EVENT_ONLY", False),
        ("NO_CONTENT", False),
        ("false", False),
        ("1", False),
        ("", False),
    ],
)
def test_the_content_capture_switch(value: str, enabled: bool) -> None:
    assert content_capture_enabled({CAPTURE_CONTENT_ENV: value}) is enabled
    assert content_capture_enabled({}) is False
