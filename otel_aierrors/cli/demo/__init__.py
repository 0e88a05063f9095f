"""``otel-aierrors demo``: the instrumentation shown end to end on one machine.

The command starts the chaos server on 127.0.0.1, instruments the real
``openai`` SDK, runs the scenarios of `otel_aierrors.cli.demo.workload` for a
bounded time and prints a report counted from the exported telemetry.

Modules: ``command`` (the run, start to report), ``workload`` (the
scenarios), ``pipeline`` (SDK providers and destinations), ``exporters``
(the local OTLP JSON files, the OTLP tally), ``report`` (counting and drawing).
It needs the ``cli`` extra: rich, the OpenTelemetry SDK and exporters, openai.
"""

from __future__ import annotations

from otel_aierrors.cli.demo.command import DemoOptions, run_demo

__all__ = ["DemoOptions", "run_demo"]
