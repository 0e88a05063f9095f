"""Count the module boundaries one chat call crosses inside ``otel_aierrors`` (issue 23).

What is counted: with ``instrument()`` on, one non-streamed ``chat.completions.create``
through the sync openai client against the chaos server (on 127.0.0.1, one attempt,
answered ``ok``) runs under ``sys.setprofile``. Every Python ``call`` event whose
function and whose direct caller are both in ``otel_aierrors`` modules (the chaos server
excluded: it runs on its own thread, which the profiler does not see), in two different
modules, is one crossing; its ``return`` crosses the same boundary back and is not counted
again. A function of ours called by the SDK, wrapt or the OpenTelemetry SDK is no crossing
(its caller is not ours), nor are calls inside one module. A call into a module-level
function defined in another module counts once, however small that function is.

The call measured is the third one on the client: the first loads the recording machinery
(the post-import hooks' deferred imports) and builds the metric series, which a steady
state call does not. Prints the crossings, the modules visited, and the crossings by edge::

    python benchmarks/boundaries.py [--tree DIR] [--functions]

``--tree`` imports ``otel_aierrors`` from another checkout (say ``git archive main`` into a
temporary folder) to compare before and after in the same environment.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _module(frame: FrameType | None) -> str | None:
    """The ``otel_aierrors`` module a frame runs in (not the chaos server's), else None."""
    if frame is None:
        return None
    name = frame.f_globals.get("__name__", "")
    if not isinstance(name, str) or not (name == "otel_aierrors" or name.startswith("otel_aierrors.")):
        return None
    if name.startswith("otel_aierrors.chaos"):
        return None
    return name


def count(tree: Path, functions: bool = False) -> tuple[collections.Counter[tuple[str, str]], set[str]]:
    """The crossings of one steady-state chat call, by (caller, callee), and the modules run.

    Caller and callee are modules, or with ``functions`` ``module.function``.
    """
    sys.path.insert(0, str(tree))
    import openai
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    import otel_aierrors
    from otel_aierrors.chaos import ChaosServer

    if not Path(otel_aierrors.__file__).resolve().is_relative_to(tree.resolve()):
        raise SystemExit(f"otel_aierrors was imported from {otel_aierrors.__file__}, not from {tree}")
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    otel_aierrors.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    edges: collections.Counter[tuple[str, str]] = collections.Counter()
    visited: set[str] = set()

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event != "call":
            return
        callee = _module(frame)
        if callee is None:
            return
        visited.add(callee)
        caller = _module(frame.f_back)
        if caller is not None and caller != callee:
            if functions:
                caller = f"{caller}.{frame.f_back.f_code.co_name}"  # type: ignore[union-attr]
                callee = f"{callee}.{frame.f_code.co_name}"
            edges[(caller, callee)] += 1

    try:
        with (
            ChaosServer() as server,
            openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0) as client,
        ):

            def chat() -> object:
                return client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hello"}])

            chat()
            chat()
            sys.setprofile(profile)
            try:
                chat()
            finally:
                sys.setprofile(None)
    finally:
        otel_aierrors.uninstrument()
    calls = [span for span in exporter.get_finished_spans() if span.name.startswith("chat ")]
    if len(calls) != 3:
        raise SystemExit(f"expected 3 chat call spans, got {len(calls)}: the instrumentation did not run")
    return edges, visited


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="checkout to import otel_aierrors from")
    parser.add_argument("--functions", action="store_true", help="name the functions on each side of a crossing")
    args = parser.parse_args()
    edges, visited = count(args.tree, args.functions)
    short = {name: name.removeprefix("otel_aierrors.") for name in visited | {side for edge in edges for side in edge}}
    print(f"module-boundary crossings: {sum(edges.values())}")
    print(f"modules visited ({len(visited)}): {', '.join(sorted(short[name] for name in visited))}")
    for (caller, callee), times in sorted(edges.items(), key=lambda item: (-item[1], item[0])):
        print(f"  {times:3d}  {short[caller]} -> {short[callee]}")


if __name__ == "__main__":
    main()
