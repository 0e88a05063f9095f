"""The same telemetry whether the application imports its SDK before ``instrument()`` or after it.

Each order runs in a fresh process (`tests.import_order_app`): sync and async
chat through two 429s, a finished and a cut stream, an auth and a server
error with openai, a retried Messages call with anthropic.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from otel_aierrors.chaos import ChaosServer
from tests.import_order_app import SDKS
from tests.processes import fresh_python

ROOT = Path(__file__).resolve().parent.parent
ORDERS = ("before", "after")


def _run(order: str, url: str) -> dict[str, Any]:
    result = fresh_python("-m", "tests.import_order_app", order, url)
    assert result.returncode == 0, result.stderr
    exported: dict[str, Any] = json.loads(result.stdout)
    return exported


@pytest.fixture(scope="module")
def exported_by_order(chaos: ChaosServer) -> dict[str, dict[str, Any]]:
    return {order: _run(order, chaos.url) for order in ORDERS}


@pytest.fixture(params=ORDERS)
def exported(request: pytest.FixtureRequest, exported_by_order: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return exported_by_order[request.param]


def _call_spans(exported: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        span
        for span in exported["spans"]
        if span["kind"] == "CLIENT" and "aierrors.attempt.number" not in span["attributes"]
    ]


def test_the_sdks_are_loaded_by_the_application_only(exported_by_order: dict[str, dict[str, Any]]) -> None:
    assert exported_by_order["before"]["loaded"]["after_instrument"] == sorted(SDKS)
    assert exported_by_order["after"]["loaded"] == {"at_instrument": [], "after_instrument": []}


def test_the_core_calls_are_recorded_in_either_order(exported: dict[str, Any]) -> None:
    calls = [
        (
            span["name"],
            span["attributes"]["aierrors.attempt.count"],
            span["attributes"].get("aierrors.error.class", ""),
            span["attributes"].get("aierrors.stream", False),
        )
        for span in _call_spans(exported)
    ]
    assert sorted(calls) == sorted(
        [
            ("chat gpt-4o", 3, "", False),  # sync, 429, 429, 200
            ("chat gpt-4o", 1, "", True),  # sync stream
            ("chat gpt-4o", 1, "auth", False),
            ("chat gpt-4o", 3, "", False),  # async, 429, 429, 200
            ("chat gpt-4o", 1, "stream_interrupted", True),  # async stream cut after 3 chunks
            ("chat gpt-4o", 1, "server_error", False),
            *([("chat claude-sonnet-4-5", 2, "", False)] if "anthropic" in SDKS else []),
        ]
    )
    attempts = [span for span in exported["spans"] if "aierrors.attempt.number" in span["attributes"]]
    assert len(attempts) == 10 + (2 if "anthropic" in SDKS else 0)
    assert {point["metric"] for point in exported["points"]} >= {"aierrors.calls", "aierrors.attempts"}


def test_the_same_spans_and_metrics_before_and_after(exported_by_order: dict[str, dict[str, Any]]) -> None:
    before, after = exported_by_order["before"], exported_by_order["after"]
    assert after["spans"] == before["spans"]
    assert after["points"] == before["points"]
