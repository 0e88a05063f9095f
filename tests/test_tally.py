"""`otel_aierrors._tally`: calls and attempts counted in-process, reported as observable counters."""

from __future__ import annotations

import threading
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_aierrors._tally import MAX_TALLY_SERIES, OVERFLOW_ATTRIBUTES, tally


def _points(reader: InMemoryMetricReader, name: str) -> dict[frozenset[tuple[str, Any]], int]:
    data = reader.get_metrics_data()
    assert data is not None
    return {
        frozenset(point.attributes.items()): point.value
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
    }


def _meter() -> tuple[InMemoryMetricReader, Any]:
    reader = InMemoryMetricReader()
    return reader, MeterProvider(metric_readers=[reader]).get_meter("test")


def test_counts_per_attribute_set_are_cumulative_monotonic_sums() -> None:
    reader, meter = _meter()
    counter = tally(meter, "aierrors.calls", "{call}", "calls")
    for _ in range(3):
        counter.add({"aierrors.outcome": "ok"})
    counter.add({"aierrors.outcome": "error", "aierrors.error.class": "rate_limit"})

    assert _points(reader, "aierrors.calls") == {
        frozenset({("aierrors.outcome", "ok")}): 3,
        frozenset({("aierrors.outcome", "error"), ("aierrors.error.class", "rate_limit")}): 1,
    }
    counter.add({"aierrors.outcome": "ok"})
    assert _points(reader, "aierrors.calls")[frozenset({("aierrors.outcome", "ok")})] == 4


def test_the_same_set_built_in_another_order_is_one_series() -> None:
    reader, meter = _meter()
    counter = tally(meter, "aierrors.calls", "{call}", "calls")
    counter.add({"a": "1", "b": "2"})
    counter.add({"b": "2", "a": "1"})

    assert _points(reader, "aierrors.calls") == {frozenset({("a", "1"), ("b", "2")}): 2}


def test_a_meter_keeps_one_tally_per_name_so_counting_again_on_it_is_reported() -> None:
    """The SDK ignores the callbacks of a second observable instrument of the same name."""
    reader, meter = _meter()
    first = tally(meter, "aierrors.attempts", "{attempt}", "attempts")
    first.add({"x": "1"})
    again = tally(meter, "aierrors.attempts", "{attempt}", "attempts")
    again.add({"x": "1"})

    assert again is first
    assert _points(reader, "aierrors.attempts") == {frozenset({("x", "1")}): 2}


def test_attribute_sets_beyond_the_limit_are_counted_in_the_overflow_series() -> None:
    reader, meter = _meter()
    counter = tally(meter, "aierrors.calls", "{call}", "calls")
    for index in range(MAX_TALLY_SERIES + 5):
        counter.add({"n": index})

    points = _points(reader, "aierrors.calls")
    assert len(points) == MAX_TALLY_SERIES + 1
    assert points[frozenset(OVERFLOW_ATTRIBUTES.items())] == 5
    assert sum(points.values()) == MAX_TALLY_SERIES + 5


def test_adds_from_many_threads_are_all_counted() -> None:
    reader, meter = _meter()
    counter = tally(meter, "aierrors.calls", "{call}", "calls")
    attributes = {"aierrors.outcome": "ok"}
    start = threading.Barrier(8)

    def add_many() -> None:
        start.wait()
        for _ in range(20_000):
            counter.add(attributes)

    threads = [threading.Thread(target=add_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert _points(reader, "aierrors.calls") == {frozenset(attributes.items()): 160_000}
