"""One replica of the fleet test (`tests/pipeline/test_fleet.py`), run as its own process.

The real ``openai`` SDK against its own chaos server on 127.0.0.1, instrumented
with ``otel_aierrors.instrument()`` and the auto set-up (OTLP/HTTP to the gateway
named by ``OTEL_EXPORTER_OTLP_ENDPOINT``, head sampler on every call). Each unit
of work runs in an application span ``work {kind}``, whose trace id is written
with the kind, the SDK calls it made and the spans its trace must hold, one JSON
line per unit, to ``--out``. The first unit is a warm-up call that sets the SDK
up (the application span of a unit needs a real tracer); it is counted too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import time
from collections.abc import Callable
from typing import Any

import openai
from opentelemetry import trace

import otel_aierrors
from otel_aierrors.chaos import ChaosServer, script_headers

MESSAGES = [{"role": "user", "content": "hi"}]
#: kind -> (weight in the mix, the spans its trace holds: application span + scopes + calls + attempts)
KINDS: dict[str, tuple[int, int]] = {
    "ok": (55, 3),
    "retried": (9, 4),  # 429 then 200: one call, two attempts
    "failed": (9, 5),  # 500 three times: one call, three attempts
    "soft": (9, 3),  # finish_reason length: one call, one attempt, no error status
    "fallback": (9, 6),  # a scope, the primary's 502 and the backup's 200: two calls, two attempts
    "cut_stream": (9, 3),  # a stream whose connection breaks after 3 chunks
}


def _chat(client: openai.OpenAI, model: str, *steps: str, **extra: Any) -> Any:
    return client.chat.completions.create(model=model, messages=MESSAGES, extra_headers=script_headers(*steps), **extra)


def _unit(kind: str, retrying: openai.OpenAI, single: openai.OpenAI) -> int:
    """Run one unit of ``kind``; return the SDK calls it made."""
    if kind == "ok":
        _chat(single, "gpt-4o", "ok")
    elif kind == "retried":
        _chat(retrying, "gpt-4o", "rate_limit;retry_after_ms=20", "ok")
    elif kind == "failed":
        with contextlib.suppress(openai.APIError):
            _chat(retrying, "gpt-4o", *["server_error;retry_after_ms=20"] * 3)
    elif kind == "soft":
        _chat(single, "gpt-4o", "ok;finish_reason=length")
    elif kind == "fallback":
        steps = {"gpt-4o": "upstream", "gpt-4o-mini": "ok"}
        call: Callable[[openai.OpenAI, str], Any] = lambda client, model: _chat(client, model, steps[model])  # noqa: E731
        otel_aierrors.with_fallback([(single, "gpt-4o"), (single, "gpt-4o-mini")], call)
        return 2
    elif kind == "cut_stream":
        with contextlib.suppress(openai.APIError):
            for _ in _chat(single, "gpt-4o", "stream_cut;after=3", stream=True):
                pass
    return 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, required=True)
    parser.add_argument("--duration", type=float, required=True, help="seconds the units are spread over")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    kinds = list(KINDS)
    weights = [KINDS[kind][0] for kind in kinds]
    otel_aierrors.instrument()
    tracer = trace.get_tracer("fleet-app")
    with ChaosServer() as server, open(args.out, "w", encoding="utf-8") as out:
        retrying = openai.OpenAI(base_url=server.base_url, api_key="sk-fleet", max_retries=2)
        single = openai.OpenAI(base_url=server.base_url, api_key="sk-fleet", max_retries=0)
        _chat(single, "gpt-4o", "ok")  # sets the SDK up
        out.write(json.dumps({"kind": "warmup", "trace_id": None, "calls": 1, "spans": 0}) + "\n")
        print("FLEET-APP-READY", flush=True)
        started = time.monotonic()
        for index in range(args.units):
            kind = rng.choices(kinds, weights)[0]
            with tracer.start_as_current_span(f"work {kind}") as span:
                calls = _unit(kind, retrying, single)
            trace_id = format(span.get_span_context().trace_id, "032x")
            out.write(json.dumps({"kind": kind, "trace_id": trace_id, "calls": calls, "spans": KINDS[kind][1]}) + "\n")
            out.flush()
            time.sleep(max(0.0, started + (index + 1) * args.duration / args.units - time.monotonic()))
        retrying.close()
        single.close()
    print("FLEET-APP-DONE", flush=True)


if __name__ == "__main__":
    main()
