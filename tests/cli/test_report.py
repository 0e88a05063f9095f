"""`build_report` over telemetry whose content is known exactly."""

from __future__ import annotations

import io
from typing import Any

import openai
import pytest
from rich.console import Console

import otel_aierrors
from otel_aierrors.chaos import ChaosServer, script_headers
from otel_aierrors.cli.demo.pipeline import ExportedTelemetry
from otel_aierrors.cli.demo.report import build_report, render_report

pytestmark = pytest.mark.timeout(60)

MESSAGES = [{"role": "user", "content": "hi"}]


def exported(telemetry: Any) -> ExportedTelemetry:
    return ExportedTelemetry(tuple(telemetry.spans()), telemetry.reader.get_metrics_data())


def test_counts_of_a_known_workload(telemetry: Any, chaos: ChaosServer) -> None:
    with openai.OpenAI(base_url=chaos.base_url, api_key="sk-test-0123456789abcdef", max_retries=2) as client:
        chat = client.chat.completions
        chat.create(
            model="gpt-4o", messages=MESSAGES, extra_headers=script_headers("rate_limit;retry_after_ms=20", "ok")
        )
        with pytest.raises(openai.RateLimitError):
            chat.create(model="gpt-4o", messages=MESSAGES, extra_headers=script_headers("quota;retry_after_ms=10"))
        chat.create(model="gpt-4o", messages=MESSAGES, extra_headers=script_headers("ok;finish_reason=length"))
        if hasattr(otel_aierrors, "fallback_scope"):
            with otel_aierrors.fallback_scope("test"):
                with pytest.raises(openai.InternalServerError):
                    chat.create(
                        model="gpt-4o", messages=MESSAGES, extra_headers=script_headers("upstream;retry_after_ms=5")
                    )
                chat.create(model="gpt-4o-mini", messages=MESSAGES, extra_headers=script_headers("ok"))

    report = build_report(exported(telemetry))
    fallback = hasattr(otel_aierrors, "fallback_scope")
    groups = {(group.outcome, group.kind): (group.calls, group.attempts) for group in report.calls}
    expected = {
        ("ok", "-"): (2 if fallback else 1, 3 if fallback else 2),
        ("soft_failure", "truncated"): (1, 1),
        ("error", "quota_exhausted"): (1, 3),
    }
    if fallback:
        expected[("error", "upstream_error")] = (1, 3)
    assert groups == expected
    retries = report.retries
    assert (retries.calls, retries.attempts) == (
        sum(c for c, _ in expected.values()),
        sum(a for _, a in expected.values()),
    )
    assert retries.wasted_retries == 2  # the two retries of insufficient_quota
    assert retries.backoff_waits == (5 if fallback else 3)  # one wait before each retry
    assert retries.backoff_seconds > 0  # the spans' own sum agrees with it (see the agreements below)
    assert report.soft_failures == {"truncated": 1}
    assert [
        (a.error_class, a.status, a.attempts, a.wasted) for a in report.attempts if a.error_class == "quota_exhausted"
    ] == [("quota_exhausted", "429", 3, 2)]
    if fallback:
        assert [(h.kind, h.reason, h.from_model, h.to_model, h.hops) for h in report.fallback_hops] == [
            ("model", "upstream_error", "gpt-4o", "gpt-4o-mini", 1)
        ]
        assert report.fallback_scopes == {"test": {"scopes": 1, "succeeded_at_hop_1": 1}}
    assert all(agreement.agrees for agreement in report.agreements)
    assert len(report.slowest) == (4 if fallback else 3)  # one trace per call, one for the scope

    out = io.StringIO()
    render_report(report, Console(file=out, width=120))
    text = out.getvalue()
    assert "quota_exhausted" in text and "truncated" in text
    assert report.slowest[0].trace_id in text


def test_empty_telemetry_gives_an_empty_report() -> None:
    report = build_report(ExportedTelemetry((), None))
    assert report.calls == [] and report.retries.calls == 0 and report.retries.amplification == 0.0
    render_report(report, Console(file=io.StringIO()))
