"""Size a gateway of the fleet (collector-config/gateway.yaml) on this machine: the table of docs/fleet.md.

    python benchmarks/gateway_sizing.py --collector .bin/otelcol-aierrors [--requests 1500]

Runs the shipped gateway configuration on 127.0.0.1 with one core
(``GOMAXPROCS=1`` and ``taskset`` to CPU 0), its traces sent to the ``debug``
exporter instead of Jaeger (the sampler is measured, not Jaeger), and sends it
OTLP/HTTP requests built here: traces shaped like the instrumentation's (an
application span, a call span, two attempt spans; one trace in ten with an
error), each request 250 traces with fresh random ids. Prints:

* throughput: spans per second the gateway accepted while its one core was
  saturated (``otelcol_receiver_accepted_spans`` over the sending time), with the
  CPU it used;
* memory: resident memory per 1,000 traces held in the decision window (a long
  ``decision_wait``, a known number of traces sent, RSS before and after);
* what a gateway killed mid-run costs: the traces in its window, counted as the
  traces it received in the last ``decision_wait`` (no sampling decision yet).

Hand-written on the OTLP protobuf classes: a load generator would need a Go
build (telemetrygen), which this machine's budget does not allow.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

ROOT = Path(__file__).resolve().parent.parent
GATEWAY = ROOT / "collector-config" / "gateway.yaml"
TRACES_PER_REQUEST = 250
SPANS_PER_TRACE = 4


def _attribute(key: str, value: str | int) -> KeyValue:
    any_value = AnyValue(int_value=value) if isinstance(value, int) else AnyValue(string_value=value)
    return KeyValue(key=key, value=any_value)


def request(rng: random.Random) -> bytes:
    """One export request: TRACES_PER_REQUEST traces of SPANS_PER_TRACE spans, fresh ids."""
    spans = []
    now = time.time_ns()
    for _ in range(TRACES_PER_REQUEST):
        trace_id = rng.randbytes(16)
        failed = rng.random() < 0.1
        ids = [rng.randbytes(8) for _ in range(SPANS_PER_TRACE)]
        for index, span_id in enumerate(ids):
            parent = b"" if index == 0 else ids[0 if index == 1 else 1]
            attributes = [_attribute("gen_ai.request.model", "gpt-4o")]
            if index == 1:
                attributes += [
                    _attribute("aierrors.outcome", "error" if failed else "ok"),
                    _attribute("aierrors.attempt.count", 2),
                ]
            status = Status(code=Status.STATUS_CODE_ERROR if failed and index == 2 else Status.STATUS_CODE_UNSET)
            spans.append(
                Span(
                    trace_id=trace_id,
                    span_id=span_id,
                    parent_span_id=parent,
                    name=["work", "chat gpt-4o", "POST chat", "POST chat"][index],
                    kind=Span.SPAN_KIND_CLIENT if index >= 2 else Span.SPAN_KIND_INTERNAL,
                    start_time_unix_nano=now - 50_000_000,
                    end_time_unix_nano=now,
                    attributes=attributes,
                    status=status,
                )
            )
    resource = Resource(attributes=[_attribute("service.name", "sizing")])
    body = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[ScopeSpans(spans=spans)])]
    )
    return body.SerializeToString()


def _post(url: str, body: bytes) -> None:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/x-protobuf"}, method="POST")
    with urllib.request.urlopen(req, timeout=30) as response:
        response.read()


def _metric(url: str, name: str) -> float:
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{"))


def _collector_pid(process: subprocess.Popen[bytes]) -> int:
    """The collector under ``timeout`` (which forks it; ``taskset`` execs it in place)."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    return int(children[0])


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _gateway(collector: str, tmp: Path, decision_wait: str, port: int) -> subprocess.Popen[bytes]:
    overlay = {
        "receivers": {
            "otlp": {
                "protocols": {"http": {"endpoint": f"127.0.0.1:{port}"}, "grpc": {"endpoint": f"127.0.0.1:{port + 1}"}}
            }
        },
        "exporters": {"prometheus": {"endpoint": f"127.0.0.1:{port + 2}"}, "debug": {"verbosity": "basic"}},
        "extensions": {"health_check": {"endpoint": f"127.0.0.1:{port + 3}"}},
        "service": {"pipelines": {"traces": {"exporters": ["debug"]}}},
    }
    path = tmp / "overlay.yaml"
    path.write_text(yaml.safe_dump(overlay), encoding="utf-8")
    env = {
        **os.environ,
        "GOMAXPROCS": "1",
        "AIERRORS_DECISION_WAIT": decision_wait,
        "AIERRORS_QUEUE_DIR": str(tmp / "queue"),
        "OTELCOL_TELEMETRY_PORT": str(port + 4),
    }
    argv = ["timeout", "300", "taskset", "-c", "0", collector, "--config", str(GATEWAY), "--config", str(path)]
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port + 3}/", timeout=1).close()
            return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("the gateway did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--collector", default=str(ROOT / ".bin" / "otelcol-aierrors"))
    parser.add_argument("--requests", type=int, default=1500, help="requests of the throughput run, each used once")
    parser.add_argument("--window-traces", type=int, default=50_000, help="traces held for the memory run")
    parser.add_argument("--port", type=int, default=47310)
    parser.add_argument("--senders", type=int, default=4, help="threads sending at once")
    args = parser.parse_args()
    rng = random.Random(0)
    bodies = [request(rng) for _ in range(args.requests)]  # every trace id fresh: no decision-cache hits
    url = f"http://127.0.0.1:{args.port}/v1/traces"
    telemetry = f"http://127.0.0.1:{args.port + 4}/metrics"

    with tempfile.TemporaryDirectory() as tmp:
        # Throughput: a short window (decisions keep up), one core, sent as fast as it accepts.
        gateway = _gateway(args.collector, Path(tmp), "5s", args.port)
        try:
            cpu0, accepted0, started, sent = (
                _cpu_seconds(_collector_pid(gateway)),
                _metric(telemetry, "otelcol_receiver_accepted_spans"),
                time.monotonic(),
                0,
            )

            with ThreadPoolExecutor(args.senders) as pool:
                sent = len(list(pool.map(lambda body: _post(url, body), bodies)))
            elapsed = time.monotonic() - started
            accepted = _metric(telemetry, "otelcol_receiver_accepted_spans") - accepted0
            cpu = _cpu_seconds(_collector_pid(gateway)) - cpu0
        finally:
            gateway.terminate()
            gateway.wait(30)
        print(f"requests sent: {sent:,}")
        print(
            f"throughput: {accepted / elapsed:,.0f} spans/s accepted on one core ({cpu / elapsed:.0%} of it busy), "
            f"{accepted / elapsed / SPANS_PER_TRACE:,.0f} traces/s of {SPANS_PER_TRACE} spans"
        )

    with tempfile.TemporaryDirectory() as tmp:
        # Memory: a window long enough to hold everything sent, RSS before and after.
        gateway = _gateway(args.collector, Path(tmp), "600s", args.port)
        try:
            time.sleep(2)
            before = _rss_mib(_collector_pid(gateway))
            requests = args.window_traces // TRACES_PER_REQUEST
            for _ in range(requests):
                _post(url, request(rng))
            time.sleep(3)
            after = _rss_mib(_collector_pid(gateway))
        finally:
            gateway.terminate()
            gateway.wait(30)
        held = requests * TRACES_PER_REQUEST
        per_thousand = (after - before) / held * 1000
        print(f"memory: {after - before:.1f} MiB for {held:,} traces in the window", end=" ")
        print(
            f"({per_thousand:.2f} MiB per 1,000 traces of {SPANS_PER_TRACE} spans; RSS {before:.0f} -> {after:.0f} MiB)"
        )


if __name__ == "__main__":
    sys.exit(main())
