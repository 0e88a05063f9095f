"""``aierrors.app_retry.reason``: the first call of attempt 2 and later says why the attempt before was retried.

tenacity and backoff around a real openai call against the chaos server; the
SDK's own retries are off, so every attempt is the application's.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import backoff
import openai
import pytest
import tenacity

import otel_aierrors
from otel_aierrors.chaos import ChaosServer, script_headers
from tests.conftest import API_KEY, Telemetry

MESSAGES: Any = [{"role": "user", "content": "hello"}]


def retried(library: str, function: Callable[[], Any]) -> Callable[[], Any]:
    if library == "tenacity":
        return tenacity.retry(stop=tenacity.stop_after_attempt(3), retry=tenacity.retry_if_exception_type(Exception))(
            function
        )
    return backoff.on_exception(backoff.constant, Exception, max_tries=3, interval=0)(function)


@pytest.mark.parametrize("library", ["tenacity", "backoff"])
def test_each_later_attempt_says_why_the_one_before_was_retried(
    library: str, chaos: ChaosServer, telemetry: Telemetry
) -> None:
    headers = script_headers("server_error", "rate_limit;retry_after_ms=1", "ok", sequence=uuid.uuid4().hex)
    with openai.OpenAI(base_url=chaos.base_url, api_key=API_KEY, max_retries=0) as client:

        def ask() -> Any:
            return client.chat.completions.create(model="gpt-4o", messages=MESSAGES, extra_headers=headers)

        retried(library, ask)()

    calls = sorted(telemetry.call_spans(), key=lambda s: s.start_time or 0)
    assert [c.attributes["aierrors.app_retry.attempt"] for c in calls] == [1, 2, 3]
    assert [c.attributes.get("aierrors.app_retry.reason") for c in calls] == [None, "server_error", "rate_limit"]


def test_a_rejected_answer_makes_the_next_attempts_reason_invalid_output(
    chaos: ChaosServer, telemetry: Telemetry
) -> None:
    answers = iter(["not json", '{"ok": true}'])
    with openai.OpenAI(base_url=chaos.base_url, api_key=API_KEY, max_retries=0) as client:

        @tenacity.retry(stop=tenacity.stop_after_attempt(2), reraise=True)
        def ask() -> Any:
            result = client.chat.completions.create(
                model="gpt-4o", messages=MESSAGES, extra_headers=script_headers("ok;content=" + next(answers))
            )
            with otel_aierrors.answer_check(result, reason="parse"):
                return json.loads(result.choices[0].message.content or "")

        assert ask() == {"ok": True}

    calls = sorted(telemetry.call_spans(), key=lambda s: s.start_time or 0)
    assert [c.attributes.get("aierrors.app_retry.reason") for c in calls] == [None, "invalid_output"]
