"""Nothing in the parsers grows with hostile strings: 1,000 unique 100 KB values retain < 10 MB."""

from __future__ import annotations

import gc
import json
import os
import sys
from collections.abc import Callable

import openai
import pytest

from otel_aierrors._cardinality import PortLimiter, ValueLimiter
from otel_aierrors._headers import ALLOWED_HEADERS, parse_duration, read_headers
from otel_aierrors._provider_errors import parse_error_body
from otel_aierrors._redaction import client_secrets, exportable_token, redact
from otel_aierrors._taxonomy import classify
from otel_aierrors.chaos import ChaosServer
from tests.conftest import API_KEY, Telemetry

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")

VALUE_SIZE = 100 * 1024
CALLS = 1_000
MAX_GROWTH = 10 * 1024 * 1024


def _rss() -> int:
    gc.collect()
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _unique(index: int, size: int = VALUE_SIZE) -> str:
    # Digits and duration units, so that every parser gets as far as it can.
    head = f"{index}h{index}m{index}s"
    return head + "7" * (size - len(head))


def _growth(run: Callable[[int], None]) -> int:
    for index in range(50):  # warm up allocator pools and lazy imports
        run(-index - 1)
    before = _rss()
    for index in range(CALLS):
        run(index)
    return _rss() - before


def test_unique_huge_header_values_are_not_retained() -> None:
    def run(index: int) -> None:
        value = _unique(index).encode()
        headers = [(name, value) for name in sorted(ALLOWED_HEADERS)]
        read_headers(headers, with_retry_after=True)
        parse_duration(value.decode())

    assert _growth(run) < MAX_GROWTH


def test_unique_huge_model_names_are_not_retained() -> None:
    requested, served, servers = ValueLimiter(), ValueLimiter(), ValueLimiter()
    ports = PortLimiter()

    def run(index: int) -> None:
        model = _unique(index)
        requested(model)
        served(model + "-served")
        servers(model)
        ports(servers(model), index % 65535 + 1)
        exportable_token(model)

    assert _growth(run) < MAX_GROWTH


def test_unique_huge_error_bodies_are_not_retained() -> None:
    secrets = client_secrets("sk-proj-MemoryTestKey0123456789", {"x-api-key": "gw-Memory-0123456789"})

    def run(index: int) -> None:
        text = _unique(index, 60 * 1024)
        body = json.dumps({"error": {"message": text, "code": text[:30_000], "hint": text}}).encode()[:64_000]
        classify(status=429, provider_error=parse_error_body(body))
        classify(status=400, provider_error=parse_error_body({"error": {"message": text, "param": text}}))
        redact(_unique(index), secrets)

    assert _growth(run) < MAX_GROWTH


def test_a_thousand_real_calls_with_unique_huge_headers_and_models_retain_little(
    chaos: ChaosServer, telemetry: Telemetry
) -> None:
    """End to end: the real SDK, unique rate-limit values and unique 100 KB served model names.

    The HTTP library refuses a response whose headers pass about 16 KB ("Receive
    buffer too long"), so 100 KB header values never reach the instrumentation
    through it; they are 2 KB here (100 KB in the parser tests above).
    """
    script = f"ok;huge_headers=2048;unique=1;random_model={VALUE_SIZE};random_id=64"
    with openai.OpenAI(base_url=chaos.base_url, api_key=API_KEY, max_retries=0) as client:

        def call(_: int) -> None:
            client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}], extra_headers={"x-chaos-script": script}
            )
            telemetry.exporter.clear()  # the exported spans are the test's, not the instrumentation's, memory

        growth = _growth(call)

    assert telemetry.count("aierrors.calls") == CALLS + 50
    assert growth < MAX_GROWTH, f"RSS grew {growth / 2**20:.1f} MiB over {CALLS} calls"
