"""API keys never leave the process, even when a provider echoes them."""

from __future__ import annotations

import pytest

from otel_aierrors._redaction import MAX_TEXT_LENGTH, redact


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


def test_plain_messages_pass_and_long_ones_are_cut() -> None:
    assert redact("Rate limit reached for gpt-4o") == "Rate limit reached for gpt-4o"
    assert len(redact("x" * 1000)) == MAX_TEXT_LENGTH
