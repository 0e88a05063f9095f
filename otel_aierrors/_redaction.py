"""Keep secrets and unbounded text out of exported telemetry.

Providers echo API keys in error messages (``Incorrect API key provided:
sk-proj-abc...``), gateways echo them in hints, and both can be long. Every
free-form string that leaves this package passes through `redact`.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["MAX_TEXT_LENGTH", "redact"]

#: Longest free-form value exported (messages, hints); the rest is cut.
MAX_TEXT_LENGTH: Final = 256

#: Key shapes of OpenAI-compatible providers (``sk-``, ``sk-proj-``, ``sk-ant-``,
#: ``rk-``, ``pk-`` ...), masked forms included (``sk-abc1****wxyz``), bearer
#: tokens and ``api_key=`` pairs. Only applied on error paths.
_SECRET_PATTERNS: Final = re.compile(
    r"""
    \b(?:sk|rk|pk|ak|key)[-_][A-Za-z0-9_\-\*\.]{6,}   # provider keys, masked or not
    | (?i:bearer)\s+[A-Za-z0-9_\-\.\*=]{6,}            # bearer tokens
    | (?i:api[-_]?key)["']?\s*[:=]\s*["']?[^\s"',}]{6,}  # api_key=... / "api-key": "..."
    """,
    re.VERBOSE,
)
REDACTED: Final = "[REDACTED]"


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Mask API keys in ``text`` and cut it to `MAX_TEXT_LENGTH` characters.

    Args:
        text: a provider message, hint or exception message.
        secrets: exact values to mask as well, such as the client's own API key,
            whatever their shape.
    """
    for secret in secrets:
        if secret and len(secret) >= 8 and secret in text:
            text = text.replace(secret, REDACTED)
    text = _SECRET_PATTERNS.sub(REDACTED, text)
    if len(text) > MAX_TEXT_LENGTH:
        text = text[: MAX_TEXT_LENGTH - 1] + "…"
    return text
