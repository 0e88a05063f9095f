"""What a rejected answer records: a count on ``aierrors.rejections`` and a short span.

`otel_aierrors._rejections` decides which call's answer the application
rejected; this part, one per instrumentation (`Telemetry.rejections`), records
it from plain values of that call, so what records knows nothing of the call
record above it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from opentelemetry.trace import Link, SpanKind

from otel_aierrors import _names as n
from otel_aierrors._cardinality import ValueLimiter

if TYPE_CHECKING:
    from collections.abc import Mapping

    from opentelemetry.metrics import Meter
    from opentelemetry.trace import SpanContext, Tracer
    from opentelemetry.util.types import AttributeValue

__all__ = ["KNOWN_REASONS", "MAX_OTHER_REASONS", "Rejections"]

#: The reasons the documentation names; others pass a limit of `MAX_OTHER_REASONS` on metrics.
KNOWN_REASONS: Final = frozenset({n.REJECTION_PARSE, n.REJECTION_SCHEMA, n.REJECTION_VALIDATION, n.REJECTION_GUARD})
MAX_OTHER_REASONS: Final = 16


class Rejections:
    """The rejection counter of one instrumentation, and what a rejection records."""

    def __init__(self, meter: Meter, tracer: Tracer) -> None:
        self._count = meter.create_counter(
            n.METRIC_REJECTIONS,
            unit="{answer}",
            description="Answers the application rejected (did not parse, wrong shape, refused by a guard).",
        )
        self._tracer = tracer
        self._limit_reason = ValueLimiter(limit=MAX_OTHER_REASONS)

    def record(
        self,
        call_attributes: Mapping[str, AttributeValue],
        response_id: str | None,
        call_span: SpanContext,
        reason: str,
    ) -> None:
        """Count the rejection under the call's metric attributes; a span linked to the call's says why."""
        label = reason if reason in KNOWN_REASONS else self._limit_reason(reason)
        attributes = {**call_attributes, n.SOFT_FAILURE: n.SOFT_INVALID_OUTPUT, n.REJECTION_REASON: label}
        self._count.add(1, attributes)
        span_attributes = {n.SOFT_FAILURE: n.SOFT_INVALID_OUTPUT, n.REJECTION_REASON: reason}
        if response_id:
            span_attributes[n.GEN_AI_RESPONSE_ID] = response_id
        span = self._tracer.start_span(
            f"{n.REJECTION_SPAN_PREFIX} {label}",
            kind=SpanKind.INTERNAL,
            attributes=span_attributes,
            links=[Link(call_span)],
        )
        span.end()
