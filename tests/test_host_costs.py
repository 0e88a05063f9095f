"""The end path costs the host nothing it would not pay: time and memory, against the bare SDK.

Each test runs the same small application twice or more in fresh processes, bare
and instrumented (the auto set-up, as ``instrument()`` without providers, with
OTLP to a closed port on 127.0.0.1: the collector is down), in the same run, and
compares what the application waits for or holds.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from otel_aierrors.chaos import ChaosServer

ROOT = Path(__file__).resolve().parent.parent


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(code: str, instrumented: bool, **env: str) -> tuple[str, float]:
    """Run ``code`` in a fresh interpreter; its stdout and the seconds until the process exited."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    environment.update(
        {
            "PYTHONPATH": str(ROOT),
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{_closed_port()}",
            "OTEL_SERVICE_NAME": "host-costs",
            **env,
        }
    )
    prelude = "import otel_aierrors\notel_aierrors.instrument()\n" if instrumented else ""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, result.stderr
    return result.stdout, elapsed


#: The first call of a process: a stream whose first answer is a 503 whose body never
#: arrives (the SDK retries without reading it), then a good stream.
FIRST_CALL = """
    import os, time
    import openai
    client = openai.OpenAI(base_url="{base_url}", api_key="sk-test", max_retries=2)
    start = time.perf_counter()
    stream = client.chat.completions.create(
        model="gpt-4o", messages=[{{"role": "user", "content": "hi"}}], stream=True,
        extra_headers={{"x-chaos-script": "overloaded;body_delay=30;retry_after_ms=1,ok;chunks=2"}},
    )
    chunks = sum(1 for _ in stream)
    print(chunks, time.perf_counter() - start)
    os._exit(0)  # the call's time only: the exit is another test's
"""


def test_a_hanging_error_body_on_the_first_call_adds_no_wait(chaos: ChaosServer) -> None:
    """The 503's body would take 30 s: none of it is waited for. What the first call still pays is the
    auto set-up itself (providers and exporters built, by design at the first call, so that an
    application's own set-up after ``instrument()`` wins): about 0.1 s, more on a loaded machine.
    Its imports happen when the SDK is imported (before: +0.1 to +0.4 s more at the first call)."""
    code = FIRST_CALL.format(base_url=chaos.base_url)
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(3):
        for instrumented in (False, True):
            stdout, _ = _run(code, instrumented)
            chunks, seconds = stdout.split()
            assert int(chunks) > 0
            times[instrumented].append(float(seconds))

    bare, ours = statistics.median(times[False]), statistics.median(times[True])
    assert ours - bare < 0.5, times


#: A call whose error body is 20 MB of JSON; the peak of Python allocations during the call.
BIG_ERROR_BODY = """
    import gc, os, tracemalloc
    import openai
    if {instrumented}:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        tracer_provider = TracerProvider()
        exporter = InMemorySpanExporter()
        tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
        otel_aierrors.instrument(tracer_provider=tracer_provider, meter_provider=MeterProvider())
    client = openai.OpenAI(base_url="{base_url}", api_key="sk-test", max_retries={retries})
    chat = dict(model="gpt-4o", messages=[{{"role": "user", "content": "hi"}}])
    client.chat.completions.create(extra_headers={{"x-chaos-script": "ok"}}, **chat)  # warm: imports, pools
    # The SDK's error bodies stay in reference cycles (exception, traceback, frames) until the cycle
    # collector runs, and when it runs depends on how many objects were allocated: with it on, the
    # peak moves by whole 20 MB bodies from run to run, bare or not. Off in both runs, every body
    # the SDK drops is kept alike, and only a body the instrumentation holds would make a difference.
    gc.disable()
    tracemalloc.start()
    try:
        client.chat.completions.create(extra_headers={{"x-chaos-script": "{script}"}}, **chat)
    except openai.InternalServerError:
        pass
    print(tracemalloc.get_traced_memory()[1])
    os._exit(0)
"""


@pytest.mark.parametrize("retries", [0, 2], ids=["one-attempt", "three-attempts"])
def test_a_20_mb_error_body_costs_no_more_memory_than_bare(chaos: ChaosServer, retries: int) -> None:
    script = "huge;size=20971520;retry_after_ms=1"
    peaks: dict[bool, int] = {}
    for instrumented in (False, True):
        code = BIG_ERROR_BODY.format(
            instrumented=instrumented,
            base_url=chaos.base_url,
            retries=retries,
            script=script,
        )
        stdout, _ = _run("import otel_aierrors\n" + textwrap.dedent(code), instrumented=False)
        peaks[instrumented] = int(stdout)

    assert peaks[False] > 20_000_000  # the SDK itself holds the body
    assert peaks[True] - peaks[False] < 10_000_000, peaks
