"""The "floor": what our telemetry contract costs in the OpenTelemetry SDK alone.

No instrumentation logic runs here: no patching, no header parsing, no taxonomy, no
stream proxy. The harness wraps the SDK call in the spans and metric records the contract
emits, so the difference between ``floor`` and ``bare`` is the price of the telemetry
itself, and the difference between ``ours`` and ``floor`` is the price of our logic.

Per logical call: one CLIENT span with 11 attributes, one record on
``gen_ai.client.operation.duration``, two on ``gen_ai.client.token.usage`` (when the
answer carries usage) and one add on ``aierrors.calls``. Per HTTP attempt (from the
transport's observer, so it nests under the call span and runs where a per-attempt hook
runs): one child span with 8 attributes, one add on ``aierrors.attempts`` and one record
on ``aierrors.attempt.duration``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from _canned import CHAT_MODEL, REQUEST_ID, CannedReply
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode

__all__ = ["Floor"]

_SERVER = "api.openai.com"
_PORT = 443
_URL = "https://api.openai.com/v1/chat/completions"


class Floor:
    """Emits the contract's spans and metrics around an SDK call."""

    def __init__(self, tracer_provider: TracerProvider, meter_provider: MeterProvider) -> None:
        self._tracer = tracer_provider.get_tracer("benchmarks.floor")
        meter = meter_provider.get_meter("benchmarks.floor")
        self._duration = meter.create_histogram("gen_ai.client.operation.duration", unit="s")
        self._tokens = meter.create_histogram("gen_ai.client.token.usage", unit="{token}")
        self._calls = meter.create_counter("aierrors.calls", unit="{call}")
        self._attempts = meter.create_counter("aierrors.attempts", unit="{attempt}")
        self._attempt_duration = meter.create_histogram("aierrors.attempt.duration", unit="s")
        #: Attempts seen in the current call; read into the call span's attributes.
        self._attempt_index = 0

    def observe_attempt(self, reply: CannedReply) -> None:
        """Transport observer: one child span and two metric records per HTTP attempt."""
        start = time.perf_counter()
        status = reply.status
        error_type = str(status) if status >= 400 else None
        attributes: dict[str, Any] = {
            "http.request.method": "POST",
            "url.full": _URL,
            "server.address": _SERVER,
            "server.port": _PORT,
            "http.response.status_code": status,
            "http.request.resend_count": self._attempt_index,
            "openai.request.id": REQUEST_ID,
            "aierrors.attempt.outcome": "error" if error_type else "ok",
        }
        span = self._tracer.start_span("POST", kind=SpanKind.CLIENT, attributes=attributes)
        if error_type is not None:
            span.set_attribute("error.type", error_type)
            span.set_status(Status(StatusCode.ERROR))
        span.end()
        metric_attributes: dict[str, str | int] = {
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": CHAT_MODEL,
            "http.response.status_code": status,
        }
        if error_type is not None:
            metric_attributes["error.type"] = error_type
        self._attempts.add(1, metric_attributes)
        self._attempt_duration.record(time.perf_counter() - start, metric_attributes)
        self._attempt_index += 1

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
        response_model = getattr(result, "model", None) or CHAT_MODEL
        span.set_attributes(
            {
                "gen_ai.response.model": response_model,
                "gen_ai.response.id": getattr(result, "id", "") or "",
                "gen_ai.response.finish_reasons": ("stop",),
                "aierrors.attempts": self._attempt_index,
            }
        )
        attributes = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": CHAT_MODEL,
            "gen_ai.response.model": response_model,
            "server.address": _SERVER,
            "server.port": _PORT,
        }
        usage = getattr(result, "usage", None)
        if usage is not None:
            span.set_attributes(
                {
                    "gen_ai.usage.input_tokens": usage.prompt_tokens,
                    "gen_ai.usage.output_tokens": usage.completion_tokens,
                }
            )
            self._tokens.record(usage.prompt_tokens, {**attributes, "gen_ai.token.type": "input"})
            self._tokens.record(usage.completion_tokens, {**attributes, "gen_ai.token.type": "output"})
        self._duration.record(time.perf_counter() - start, attributes)
        self._calls.add(1, {**attributes, "aierrors.outcome": "ok"})

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
