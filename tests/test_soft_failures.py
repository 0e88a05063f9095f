"""A 200 is not always a success: finish reasons and soft failures on non-streamed calls."""

from __future__ import annotations

import pytest
from opentelemetry.trace import StatusCode

from tests.conftest import SDK, Telemetry


@pytest.mark.parametrize(
    ("method", "script", "soft_failure", "finish_reason"),
    [
        ("chat", "ok;finish_reason=length", "truncated", "length"),
        ("chat", "ok;finish_reason=content_filter", "content_filter", "content_filter"),
        ("chat", "ok;content=", "empty", "stop"),
        ("chat", "ok;refusal=I+cannot+help", "refusal", "stop"),
        ("completions", "ok;finish_reason=length", "truncated", "length"),
        ("responses", "ok;finish_reason=length", "truncated", "length"),
        ("responses", "ok;finish_reason=content_filter", "content_filter", "content_filter"),
        ("images", "content_filter;soft=1", "content_filter", None),
    ],
)
def test_soft_failures_are_counted_but_are_not_errors(
    sdk: SDK, telemetry: Telemetry, method: str, script: str, soft_failure: str, finish_reason: str | None
) -> None:
    sdk.call(method, script=script)

    call = telemetry.call_span()
    assert call.attributes["aierrors.outcome"] == "soft_failure"
    assert call.attributes["aierrors.soft_failure"] == soft_failure
    assert call.status.status_code is StatusCode.UNSET
    assert "error.type" not in call.attributes
    expected = {"aierrors__outcome": "soft_failure", "aierrors__soft_failure": soft_failure}
    if finish_reason:
        expected["aierrors__finish_reason"] = finish_reason
    assert telemetry.count("aierrors.calls", **expected) == 1
    assert telemetry.count("aierrors.calls", aierrors__outcome="ok") == 0


def test_tool_calls_with_null_content_are_a_success(sdk: SDK, telemetry: Telemetry) -> None:
    sdk.call(script="ok;tool_calls=1;finish_reason=tool_calls")

    call = telemetry.call_span()
    assert call.attributes["aierrors.outcome"] == "ok"
    assert call.attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert telemetry.count("aierrors.calls", aierrors__outcome="ok", aierrors__finish_reason="tool_calls") == 1


def test_finish_reasons_of_every_choice_are_recorded(sdk: SDK, telemetry: Telemetry) -> None:
    sdk.call(script="ok;n=2", n=2)

    assert telemetry.call_span().attributes["gen_ai.response.finish_reasons"] == ("stop", "stop")
