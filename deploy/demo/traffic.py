#!/usr/bin/env python3
"""Steady demo traffic for the dashboards and alerts: the real openai SDK against the chaos server.

It produces every kind of data the dashboards show, every round:

* calls that go well (chat, streams read to the end, with usage) and calls
  rescued by a retry (``rate_limit`` with ``retry-after-ms``, ``server_error``);
* soft failures (``finish_reason`` ``length`` and ``content_filter``), and an
  answer of the wrong shape that the application rejects (``answer_check``);
* streams cut mid-way (``stream_interrupted``) and streams the caller abandons;
* a key whose quota is gone, which the SDK retries anyway (a wasted retry);
* a fallback hop from ``gpt-4o`` to ``gpt-4o-mini`` inside
  ``otel_aierrors.fallback_scope`` (when this version of the package has it).
* a background response that fails at its second poll, and a batch that completes;
* a circuit breaker (``pybreaker``, when installed) that keeps its upstream
  failing: it opens, refuses calls (``circuit_open``), half-opens after 0.2 s
  and opens again at the failed trial, every round.

Those calls script their own story with ``x-chaos-script`` (the helpers are
the ``otel-aierrors demo`` workload's). The *SLO traffic*
(model ``gpt-4o-mini``, no script, no retry) follows the chaos server's
profile instead, and it is what the incident changes: during an incident the
profile is ``outage`` and a second key is rejected (``auth``), so the
burn-rate and authentication alerts fire; back to healthy, they resolve.

The phase comes from ``--control FILE`` (JSON ``{"phase": "healthy"}`` or
``{"phase": "incident"}``, read every round: the end-to-end test writes it),
or from ``--cycle SECONDS`` (an incident of a fifth of the cycle at the end of
every cycle: the Docker demo), else it stays healthy.

Metrics go to a Prometheus endpoint (``--prometheus-port``) or, without it,
to OTLP like traces (``OTEL_EXPORTER_OTLP_ENDPOINT``, the collector of
``deploy/docker-compose.yaml``). Once serving, it prints one line
``AIERRORS-TRAFFIC-READY {json}`` with the chaos server's URL.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import openai
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

import otel_aierrors
from otel_aierrors.chaos import ChaosServer, script_headers
from otel_aierrors.cli.demo.workload import expected_failure, fallback_scope

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

READY = "AIERRORS-TRAFFIC-READY"
#: The model of the SLO traffic, the one the incident hurts.
SLO_MODEL = "gpt-4o-mini"
#: The model most scripted stories use.
STORY_MODEL = "gpt-4o"
MESSAGES: Any = [{"role": "user", "content": "Say hello."}]


class Traffic:
    """The clients and the stories of one round.

    Each story runs in an application span ``demo <story>``: the call spans are
    its children, and the metrics recorded meanwhile carry its trace id as an
    exemplar (the SDK's trace-based exemplar filter needs a current span).
    """

    def __init__(self, base_url: str, tracer: Tracer) -> None:
        self.tracer = tracer
        self.story = openai.OpenAI(base_url=base_url, api_key="sk-demo-story-0000", max_retries=2, timeout=10)
        self.quota = openai.OpenAI(base_url=base_url, api_key="sk-demo-quota-0000", max_retries=1, timeout=10)
        self.slo = openai.OpenAI(base_url=base_url, api_key="sk-demo-slo-0000", max_retries=0, timeout=10)
        self.revoked = openai.OpenAI(base_url=base_url, api_key="sk-demo-revoked-0000", max_retries=0, timeout=10)
        self.breaker = _breaker()

    def close(self) -> None:
        for client in (self.story, self.quota, self.slo, self.revoked):
            client.close()

    def chat(self, client: openai.OpenAI, *steps: str, model: str = STORY_MODEL, **params: Any) -> Any:
        headers = script_headers(*steps) if steps else None
        return client.chat.completions.create(model=model, messages=MESSAGES, extra_headers=headers, **params)

    @contextlib.contextmanager
    def scene(self, name: str, *, fails: bool = False) -> Iterator[None]:
        """An application span around one story; ``fails``: swallow the failure it provokes on purpose."""
        swallow = expected_failure() if fails else contextlib.nullcontext()
        with self.tracer.start_as_current_span(f"demo {name}"), swallow:
            yield

    def stories(self) -> None:
        """One of each story; they do not depend on the phase."""
        with self.scene("ok"):
            self.chat(self.story, "ok")
        with self.scene("rate_limit_then_ok"):
            self.chat(self.story, "rate_limit;retry_after_ms=1", "ok")
        with self.scene("server_error_then_ok"):
            self.chat(self.story, "server_error;retry_after_ms=1", "ok")
        with self.scene("rejected"):
            answer = self.chat(self.story, "ok;content=" + quote('{"town": "Paris"}', safe=""))
            with contextlib.suppress(KeyError), otel_aierrors.answer_check(answer, reason="schema"):
                json.loads(answer.choices[0].message.content or "{}")["city"]  # the application's own check
        with self.scene("truncated"):
            self.chat(self.story, "ok;finish_reason=length")
        with self.scene("content_filter"):
            self.chat(self.story, "ok;finish_reason=content_filter")
        with self.scene("quota", fails=True):
            self.chat(self.quota, "quota;retry_after_ms=1")
        with self.scene("stream"):
            for _ in self.chat(self.story, "ok;chunks=4", stream=True, stream_options={"include_usage": True}):
                pass
        with self.scene("stream_cut", fails=True):
            for _ in self.chat(self.story, "stream_cut;after=2", stream=True):
                pass
        with self.scene("stream_abandoned"):
            abandoned = self.chat(self.story, "ok;chunks=6", stream=True)
            with abandoned:
                for _ in abandoned:
                    break
        with self.scene("fallback"), fallback_scope("answer"):
            try:
                self.chat(self.story.with_options(max_retries=0), "overloaded")
            except openai.APIError:
                self.chat(self.story, "ok", model=SLO_MODEL)

    def breaker_story(self) -> None:
        """Calls through a breaker whose upstream keeps failing (skipped without ``pybreaker``)."""
        if self.breaker is None:
            return
        client = self.story.with_options(max_retries=0)
        for script in ("upstream", "upstream", "ok"):  # trips (or fails its trial), then refused
            with self.scene("breaker", fails=True):
                self.breaker.call(self.chat, client, script)

    def job_story(self) -> None:
        """A background response that fails at its second poll, and a batch that completes."""
        with self.scene("background_response"):
            job = self.story.responses.create(
                model=STORY_MODEL, input="Say hello.", background=True, extra_headers=script_headers("job")
            )
            for step in ("job;state=in_progress", "job;state=failed;code=server_error"):
                self.story.responses.retrieve(job.id, extra_headers=script_headers(step))
        with self.scene("batch"):
            batch = self.story.batches.create(
                completion_window="24h",
                endpoint="/v1/chat/completions",
                input_file_id="file-demo",
                extra_headers=script_headers("job"),
            )
            self.story.batches.retrieve(batch.id, extra_headers=script_headers("job;state=completed"))

    def slo_calls(self, incident: bool, count: int = 4) -> None:
        """Unscripted calls that follow the server's profile; plus a revoked key during an incident."""
        for _ in range(count):
            with self.scene("slo", fails=True):
                self.chat(self.slo, model=SLO_MODEL)
        if incident:
            with self.scene("revoked_key", fails=True):
                self.chat(self.revoked, "auth", model=SLO_MODEL)


def _breaker() -> Any:
    """A pybreaker breaker opening at the second failure and half-opening after 0.2 s, if installed.

    A round lasts longer than that: each round's first call through it is a trial, which fails.
    """
    try:
        import pybreaker
    except ImportError:
        return None
    return pybreaker.CircuitBreaker(fail_max=2, reset_timeout=0.2, name="demo-upstream")


def _phase(control: Path | None, cycle: float | None, started: float) -> str:
    if control is not None:
        with contextlib.suppress(OSError, ValueError):
            return str(json.loads(control.read_text(encoding="utf-8")).get("phase", "healthy"))
        return "healthy"
    if cycle:
        return "incident" if (time.monotonic() - started) % cycle >= cycle * 0.8 else "healthy"
    return "healthy"


def _providers(args: argparse.Namespace) -> tuple[TracerProvider, MeterProvider]:
    resource = Resource.create({"service.name": args.service})
    tracer_provider = TracerProvider(resource=resource)
    if args.prometheus_port is not None:
        import prometheus_client
        from opentelemetry.exporter.prometheus import PrometheusMetricReader

        reader: Any = PrometheusMetricReader()
        prometheus_client.start_http_server(args.prometheus_port, addr=args.prometheus_addr)
    else:
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        reader = PeriodicExportingMetricReader(OTLPMetricExporter(), export_interval_millis=5000)
        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return tracer_provider, MeterProvider(resource=resource, metric_readers=[reader])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--service", default=os.environ.get("OTEL_SERVICE_NAME", "aierrors-demo"))
    parser.add_argument("--prometheus-port", type=int, help="serve /metrics on this port instead of OTLP")
    parser.add_argument("--prometheus-addr", default="127.0.0.1")
    parser.add_argument("--control", type=Path, help='JSON file {"phase": "healthy"|"incident"}, read every round')
    parser.add_argument("--cycle", type=float, help="seconds per healthy+incident cycle (without --control)")
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--pause", type=float, default=0.05, help="seconds between rounds")
    args = parser.parse_args(argv)

    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    tracer_provider, meter_provider = _providers(args)
    otel_aierrors.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    started = time.monotonic()
    deadline = started + args.duration if args.duration else None
    with ChaosServer(profile="healthy", seed=0, max_seconds=args.duration) as server:
        traffic = Traffic(server.base_url, tracer_provider.get_tracer("aierrors-demo"))
        ready = {
            "chaos": server.base_url,
            "prometheus_port": args.prometheus_port,
            "fallback_scope": hasattr(otel_aierrors, "fallback_scope"),
            "pid": os.getpid(),
        }
        print(f"{READY} {json.dumps(ready)}", flush=True)
        current = "healthy"
        rounds = 0
        try:
            while not stop and (deadline is None or time.monotonic() < deadline):
                phase = _phase(args.control, args.cycle, started)
                if phase != current:
                    server.set_profile("outage" if phase == "incident" else "healthy")
                    print(f"phase {phase} after {rounds} rounds", flush=True)
                    current = phase
                traffic.stories()
                traffic.breaker_story()
                traffic.job_story()
                traffic.slo_calls(incident=phase == "incident")
                rounds += 1
                time.sleep(args.pause)
        finally:
            traffic.close()
            meter_provider.shutdown()
            tracer_provider.shutdown()
    print(f"stopped after {rounds} rounds", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
