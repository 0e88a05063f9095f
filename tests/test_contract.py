"""`docs/telemetry.md` is the contract: the code emits nothing it does not list."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import openai
import pytest

from otel_aierrors import _names
from tests.conftest import SDK, Telemetry

DOC = Path(__file__).resolve().parent.parent / "docs" / "telemetry.md"
_NAME = re.compile(r"`([a-z_]+(?:\.[a-z_0-9]+)+)`")
_VALUE_CONSTANTS = {"OVERFLOW_VALUE", "SCHEMA_URL"}


def documented_names() -> set[str]:
    return set(_NAME.findall(DOC.read_text()))


def documented_first_column() -> set[str]:
    """Names that a table row defines (its first cell), as opposed to mentions."""
    names = set()
    for line in DOC.read_text().splitlines():
        cells = line.split("|")
        if len(cells) > 2:
            names.update(_NAME.findall(cells[1]))
    return names


def code_names() -> set[str]:
    return {
        value
        for key, value in vars(_names).items()
        if key.isupper() and isinstance(value, str) and "." in value and key not in _VALUE_CONSTANTS
    }


def test_every_name_in_the_code_is_documented() -> None:
    assert code_names() - documented_names() == set()


def test_every_documented_attribute_and_metric_exists_in_the_code() -> None:
    event_attributes = {"exception.type", "exception.message"}
    assert documented_first_column() - code_names() - event_attributes == set()


def test_everything_emitted_is_documented(sdk: SDK, telemetry: Telemetry) -> None:
    for script in (
        "rate_limit;retry_after_ms=1,ok",
        "quota;retry_after_ms=1",
        "auth",
        "all_channels_failed",
        "ok;finish_reason=length",
        "hang;seconds=1",
    ):
        with contextlib.suppress(openai.OpenAIError):
            sdk.call(script=script, timeout=0.3, max_retries=2)

    documented = documented_names() | {"exception.type", "exception.message"}
    emitted: set[str] = set()
    for span in telemetry.spans():
        emitted.update(span.attributes)
        for event in span.events:
            emitted.update(event.attributes)
    data = telemetry.reader.get_metrics_data()
    assert data is not None
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                emitted.add(metric.name)
                for point in metric.data.data_points:
                    emitted.update(point.attributes)
    assert emitted - documented == set()
    assert {"aierrors.calls", "aierrors.attempts", "aierrors.retry.backoff"} <= emitted


@pytest.mark.parametrize("value", ["ok", "error", "soft_failure", "cancelled", "expired"])
def test_outcome_values_are_documented(value: str) -> None:
    assert f"`{value}`" in DOC.read_text()
