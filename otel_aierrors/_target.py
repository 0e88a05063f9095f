"""What a call is aimed at (`CallTarget`), and the metric series its records share (`CallSeries`).

Their own module, below the records and what records them: the call
(`otel_aierrors._call`) and its attempts, the metric records
(`otel_aierrors._recording`, which builds a target's series once,
`otel_aierrors._genai_metrics`, `otel_aierrors._jobs`), the circuit breakers
and the fallback scopes all read them, and none of them may import another
just for these types.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from otel_aierrors._redaction import NO_CREDENTIALS, Credentials

if TYPE_CHECKING:
    from collections.abc import Mapping

    from opentelemetry.util.types import AttributeValue

__all__ = ["CallSeries", "CallTarget"]


class CallTarget(NamedTuple):
    """What is known about a call before it is sent (a NamedTuple: one is built per call)."""

    operation: str
    provider: str
    request_model: str | None
    server_address: str | None
    server_port: int | None
    stream: bool
    #: The client's credentials, masked wherever they appear.
    credentials: Credentials = NO_CREDENTIALS
    #: The HTTP client the SDK sends through, to tell its attempts from other traffic.
    http_client: object | None = None
    #: ``gen_ai.request.*`` parameters (``max_tokens``, ``temperature``...).
    parameters: Mapping[str, Any] | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        """Exact strings to mask wherever they appear, computed on first use."""
        return self.credentials.secrets


class CallSeries(NamedTuple):
    """The bounded metric attributes of the calls to one target; shared, so never mutated."""

    #: ``base``'s values: targets that share them (two models both beyond the limit) share a series.
    key: tuple[AttributeValue, ...]
    #: What every metric record of the call starts from.
    base: Mapping[str, AttributeValue]
    #: ``base`` with ``server.port``: the ``gen_ai.client.*`` metrics.
    genai: Mapping[str, AttributeValue]
    #: The rate-limit gauge's series, by kind.
    ratelimit_requests: Mapping[str, AttributeValue]
    ratelimit_tokens: Mapping[str, AttributeValue]
