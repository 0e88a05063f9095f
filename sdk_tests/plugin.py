"""A pytest plugin that runs a test suite with ``otel_aierrors`` instrumenting the SDK.

Load it with ``-p sdk_tests.plugin``. Before any conftest or test module is
imported it calls ``otel_aierrors.instrument()`` with an SDK tracer provider
(always-on sampler, a simple processor into an in-memory exporter) and a meter
provider with an in-memory reader, so every SDK call the tests make goes
through the real instrumentation and produces real telemetry. It counts the
call and attempt spans, empties the span exporter after every test (memory
stays flat over thousands of tests), prints one closing line with the counts
and fails the run when nothing was recorded, so that a comparison against a
plain run can never pass because the instrumentation was not active.

Under pytest-xdist each worker instruments its own process and hands its
counts to the controller through ``workeroutput``.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import SpanKind

import otel_aierrors

SCOPE = "otel_aierrors"
ATTEMPT_MARKER = "aierrors.attempt.number"
OUTPUT_KEY = "otel_aierrors_spans"
# Set (to 1) for a client's suite whose offline tests send nothing through the SDK's HTTP
# client (fakes, stubbed transports): the counts are then printed, not required.
ALLOW_NO_CALLS = "OTEL_AIERRORS_SDK_TESTS_ALLOW_NO_CALLS"


def calls_required() -> bool:
    return os.environ.get(ALLOW_NO_CALLS, "") not in ("1", "true")


class Recorder:
    """The providers handed to the instrumentation, and the spans they have seen so far."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.reader = InMemoryMetricReader()
        self.tracer_provider = TracerProvider(sampler=ALWAYS_ON)
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.calls = 0
        self.attempts = 0
        self.metric_points = 0

    def drain(self) -> None:
        """Count the finished spans of the instrumentation, then drop them all."""
        spans = self.exporter.get_finished_spans()
        self.exporter.clear()
        for span in spans:
            scope = span.instrumentation_scope
            if scope is None or scope.name != SCOPE or span.kind is not SpanKind.CLIENT:
                continue
            if span.attributes and ATTEMPT_MARKER in span.attributes:
                self.attempts += 1
            else:
                self.calls += 1

    def count_metric_points(self) -> None:
        data = self.reader.get_metrics_data()
        self.metric_points = 0
        if data is None:
            return
        for resource_metrics in data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                if scope_metrics.scope.name != SCOPE:
                    continue
                for metric in scope_metrics.metrics:
                    self.metric_points += len(list(metric.data.data_points))

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


RECORDER = pytest.StashKey[Recorder]()
TOTALS = pytest.StashKey[list[int]]()


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    # The earliest hook a -p plugin gets: before the suite's conftests import the SDK.
    recorder = Recorder()
    otel_aierrors.instrument(tracer_provider=recorder.tracer_provider, meter_provider=recorder.meter_provider)
    early_config.stash[RECORDER] = recorder
    early_config.stash[TOTALS] = [0, 0, 0]


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    recorder = item.config.stash.get(RECORDER, None)
    if recorder is not None:
        recorder.drain()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """On the xdist controller: add up what a worker recorded."""
    counts = getattr(node, "workeroutput", {}).get(OUTPUT_KEY)
    if counts is not None:
        totals = node.config.stash[TOTALS]
        for index, value in enumerate(counts):
            totals[index] += int(value)


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    recorder = config.stash.get(RECORDER, None)
    if recorder is None:
        return
    recorder.drain()
    recorder.count_metric_points()
    counts = [recorder.calls, recorder.attempts, recorder.metric_points]
    if is_worker(config):
        config.workeroutput[OUTPUT_KEY] = counts  # type: ignore[attr-defined]
        return
    totals = config.stash[TOTALS]
    for index, value in enumerate(counts):
        totals[index] += value
    if calls_required() and (totals[0] == 0 or totals[2] == 0):
        session.exitstatus = pytest.ExitCode.INTERNAL_ERROR


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    totals = config.stash.get(TOTALS, None)
    if totals is None or is_worker(config):
        return
    calls, attempts, points = totals
    terminalreporter.write_line(
        f"otel-aierrors plugin: {calls} call spans, {attempts} attempt spans recorded ({points} metric points)"
    )
    if calls_required() and (calls == 0 or points == 0):
        terminalreporter.write_line(
            "otel-aierrors plugin: ERROR: the instrumentation recorded no telemetry; a comparison would be vacuous",
            red=True,
            bold=True,
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    recorder = config.stash.get(RECORDER, None)
    if recorder is None:
        return
    otel_aierrors.uninstrument()
    recorder.shutdown()
