"""The dashboard's label selectors, groupings and legends, on the template variables.

``$job`` is the service, ``$provider`` the GenAI provider
(``gen_ai_provider_name``: ``openai``, ``anthropic``, ``groq``, ``together``,
``cerebras``, ``fireworks``...), ``$server`` the address called
(``server_address``; SDKs behind one gateway share it) and ``$model`` the
model asked for.
"""

from __future__ import annotations

from .. import config as c

__all__ = ["BY", "RATE", "WHERE", "ratio", "sel"]

SELECTOR = 'job=~"$job", gen_ai_provider_name=~"$provider", server_address=~"$server", gen_ai_request_model=~"$model"'
BY = ", ".join(c.SLO_LABELS)
RATE = "$__rate_interval"
WHERE = "{{gen_ai_request_model}} @ {{gen_ai_provider_name}} ({{server_address}}) · {{job}}"


def sel(*extra: str) -> str:
    """The dashboard's label selector, plus ``extra`` matchers."""
    return "{" + ", ".join((SELECTOR, *extra)) + "}"


def ratio(numerator: str, denominator: str, by: str = BY) -> str:
    """``numerator / denominator``, each summed by ``by``."""
    return f"sum by ({by}) ({numerator})\n/\nsum by ({by}) ({denominator})"
