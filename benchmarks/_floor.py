"""The "floor": what our telemetry contract costs in the OpenTelemetry SDK alone.

No instrumentation logic runs here: no patching, no header parsing, no taxonomy, no
stream proxy. The harness wraps the SDK call in the spans and metric records the contract
emits, so the difference between ``floor`` and ``bare`` is the price of the telemetry
itself, and the difference between ``ours`` and ``floor`` is the price of our logic.

Per logical call: one CLIENT span with 11 attributes, one record on
``gen_ai.client.operation.duration``, two on ``gen_ai.client.token.usage`` (when the
answer carries usage) and one count of ``aierrors.calls``. Per HTTP attempt (from the
transport's observer, so it nests under the call span and runs where a per-attempt hook
runs): one child span with the attributes our contract puts on it, one count of
``aierrors.attempts``, one record on ``aierrors.attempt.duration``, on a retry its
backoff added to ``aierrors.retry.backoff``, on an error with ``retry-after`` the
``aierrors.server.retry_after`` record.

Under a sampler the floor does what the contract asks and nothing more: the call span is
always started (the sampler decides there), but its attributes, and the attempt spans
with theirs, are built only when the call span records; every metric record is made on
every call. Checking ``is_recording()`` is the least any emitter must do to skip them.
The three counters (calls, attempts, backoff seconds) are observable counters in the
contract (docs/telemetry.md): the floor adds into a plain dict, keyed by the attribute
items, and reports it at collection.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from _canned import CHAT_MODEL, REQUEST_ID, CannedReply
from opentelemetry import trace
from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode

__all__ = ["Floor"]

_SERVER = "api.openai.com"
_PORT = 443
_CALL_KEYS = ("gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "server.address")


class _Count:
    """An observable counter with the least logic: a dict of counts, reported at collection."""

    def __init__(self, meter: Meter, name: str, unit: str) -> None:
        self._counts: defaultdict[tuple[tuple[str, Any], ...], float] = defaultdict(int)
        meter.create_observable_counter(name, callbacks=[self._observe], unit=unit)

    def add(self, attributes: dict[str, Any], amount: float = 1) -> None:
        self._counts[tuple(attributes.items())] += amount

    def _observe(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(count, dict(items)) for items, count in list(self._counts.items())]


class Floor:
    """Emits the contract's spans and metrics around an SDK call."""

    def __init__(self, tracer_provider: TracerProvider, meter_provider: MeterProvider) -> None:
        self._tracer = tracer_provider.get_tracer("benchmarks.floor")
        meter = meter_provider.get_meter("benchmarks.floor")
        self._duration = meter.create_histogram("gen_ai.client.operation.duration", unit="s")
        self._tokens = meter.create_histogram("gen_ai.client.token.usage", unit="{token}")
        self._calls = _Count(meter, "aierrors.calls", "{call}")
        self._attempts = _Count(meter, "aierrors.attempts", "{attempt}")
        self._attempt_duration = meter.create_histogram("aierrors.attempt.duration", unit="s")
        self._backoff = _Count(meter, "aierrors.retry.backoff", "s")
        self._retry_after = meter.create_histogram("aierrors.server.retry_after", unit="s")
        #: Attempts seen in the current call; read into the call span's attributes.
        self._attempt_index = 0

    def observe_attempt(self, reply: CannedReply) -> None:
        """Transport observer: one child span and the contract's records per HTTP attempt.

        The span carries as many attributes as ours does for the same reply (the
        rate-limit headers on every attempt; class, retryability, the provider's
        code/type/message and ``Retry-After`` on an error), and a retried attempt
        also records its backoff, an error with ``retry-after`` the delay asked for:
        the same SDK work, without the logic that derives the values.
        """
        start = time.perf_counter()
        status = reply.status
        is_error = status >= 400
        if trace.get_current_span().is_recording():
            self._attempt_span(status, is_error)
        metric_attributes: dict[str, str | int | bool] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": CHAT_MODEL,
            "server.address": _SERVER,
            "aierrors.outcome": "error" if is_error else "ok",
            "http.response.status_code": status,
        }
        if is_error:
            metric_attributes["aierrors.error.class"] = "rate_limit"
            metric_attributes["aierrors.retryable"] = True
        self._attempts.add(metric_attributes)
        self._attempt_duration.record(time.perf_counter() - start, metric_attributes)
        base = {key: metric_attributes[key] for key in _CALL_KEYS}
        if self._attempt_index:
            self._backoff.add(base, 0.0)
        if is_error:
            self._retry_after.record(1.0, base)
        self._attempt_index += 1

    def _attempt_span(self, status: int, is_error: bool) -> None:
        """The attempt span with the attributes ours sets for the same reply."""
        attributes: dict[str, Any] = {
            "aierrors.attempt.number": self._attempt_index + 1,
            "http.request.method": "POST",
            "gen_ai.operation.name": "chat",
            "server.address": _SERVER,
            "server.port": _PORT,
            "http.response.status_code": status,
            "aierrors.request_id": REQUEST_ID,
            "aierrors.ratelimit.remaining_requests": 9999,
            "aierrors.ratelimit.remaining_tokens": 29999990,
            "aierrors.ratelimit.reset_requests": 0.006,
            "aierrors.ratelimit.reset_tokens": 0.0,
        }
        if self._attempt_index:
            attributes["http.request.resend_count"] = self._attempt_index
            attributes["aierrors.attempt.backoff"] = 0.0
        if is_error:
            attributes.update(
                {
                    "aierrors.error.class": "rate_limit",
                    "aierrors.retryable": True,
                    "error.type": "rate_limit",
                    "aierrors.retry_after": 1.0,
                    "aierrors.provider.error.code": "rate_limit_exceeded",
                    "aierrors.provider.error.type": "requests",
                    "aierrors.provider.error.message": "Rate limit reached for gpt-4o-mini on requests per min (RPM).",
                }
            )
        span = self._tracer.start_span("POST chat", kind=SpanKind.CLIENT, attributes=attributes)
        if is_error:
            span.set_status(Status(StatusCode.ERROR, "rate_limit"))
        span.end()

    def _start(self) -> Any:
        self._attempt_index = 0
        return self._tracer.start_as_current_span(
            f"chat {CHAT_MODEL}",
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": CHAT_MODEL,
                "server.address": _SERVER,
                "server.port": _PORT,
            },
        )

    def _finish(self, span: Any, result: Any, start: float) -> None:
        usage = getattr(result, "usage", None)
        if span.is_recording():
            span.set_attributes(
                {
                    "aierrors.attempt.count": self._attempt_index,
                    "aierrors.retry.backoff_total": 0.0,
                    "aierrors.outcome": "ok",
                    "gen_ai.response.model": getattr(result, "model", None) or CHAT_MODEL,
                    "gen_ai.response.id": getattr(result, "id", "") or "",
                    "gen_ai.response.finish_reasons": ("stop",),
                }
            )
            if usage is not None:
                span.set_attributes(
                    {
                        "gen_ai.usage.input_tokens": usage.prompt_tokens,
                        "gen_ai.usage.output_tokens": usage.completion_tokens,
                    }
                )
        attributes = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": CHAT_MODEL,
            "server.address": _SERVER,
        }
        if usage is not None:
            self._tokens.record(usage.prompt_tokens, {**attributes, "gen_ai.token.type": "input"})
            self._tokens.record(usage.completion_tokens, {**attributes, "gen_ai.token.type": "output"})
        self._duration.record(time.perf_counter() - start, {**attributes, "server.port": _PORT})
        self._calls.add({**attributes, "aierrors.outcome": "ok", "aierrors.finish_reason": "stop"})

    def wrap(self, call: Callable[[], Any]) -> Callable[[], Any]:
        """Wrap a sync call: the call span is current while the SDK runs."""

        def traced() -> Any:
            start = time.perf_counter()
            with self._start() as span:
                result = call()
                self._finish(span, result, start)
            return result

        return traced

    def wrap_async(self, call: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[Any]]:
        """Async twin of ``wrap``."""

        async def traced() -> Any:
            start = time.perf_counter()
            with self._start() as span:
                result = await call()
                self._finish(span, result, start)
            return result

        return traced
