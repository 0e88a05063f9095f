"""``x-chaos-sequence``: step i answers the i-th request sent with the same key, not the i-th retry.

A framework that re-asks (Instructor, pydantic-ai) sends each re-ask as a new
SDK call, with the same headers and a retry count of 0; a sequence gives each
its own step: valid JSON of the wrong shape first, a good answer next.
"""

from __future__ import annotations

import json
import uuid

import openai

from otel_aierrors.chaos import SCRIPT_HEADER, TAG_HEADER, ChaosServer, script_headers
from otel_aierrors.chaos.script import SEQUENCE_HEADER

from .conftest import MESSAGES, Caller, Tagged

WRONG_SHAPE = "ok;content=" + json.dumps({"town": "Paris"}).replace(",", "%2C")
GOOD = "ok;content=" + json.dumps({"city": "Paris", "population": 2}).replace(",", "%2C")


def test_script_headers_carry_the_sequence_key() -> None:
    assert script_headers("ok", sequence="s1") == {SCRIPT_HEADER: "ok", SEQUENCE_HEADER: "s1"}


def test_calls_with_the_same_sequence_walk_its_steps_and_repeat_the_last(caller: Caller, tagged: Tagged) -> None:
    headers = {**script_headers(WRONG_SHAPE, GOOD, sequence=uuid.uuid4().hex), TAG_HEADER: tagged.tag}
    answers = [caller.chat(headers=headers).choices[0].message.content for _ in range(3)]

    assert [json.loads(answer) for answer in answers] == [
        {"town": "Paris"},  # valid JSON, the wrong shape
        {"city": "Paris", "population": 2},
        {"city": "Paris", "population": 2},
    ]
    assert [r.retry_count for r in tagged.wait(3)] == [0, 0, 0]  # three calls, no SDK retry


def test_each_sequence_key_counts_its_own_requests(chaos_server: ChaosServer) -> None:
    first, second = uuid.uuid4().hex, uuid.uuid4().hex
    with openai.OpenAI(base_url=chaos_server.base_url, api_key="sk-test", max_retries=0, timeout=5.0) as client:

        def ask(key: str) -> str | None:
            completion = client.chat.completions.create(
                model="gpt-4o", messages=MESSAGES, extra_headers=script_headers(WRONG_SHAPE, GOOD, sequence=key)
            )
            return completion.choices[0].message.content

        assert [ask(first), ask(second), ask(first)] == [
            json.dumps({"town": "Paris"}),
            json.dumps({"town": "Paris"}),
            json.dumps({"city": "Paris", "population": 2}),
        ]


def test_without_a_sequence_every_call_starts_at_the_first_step(caller: Caller, tagged: Tagged) -> None:
    answers = [caller.chat(headers=tagged.headers(WRONG_SHAPE, GOOD)).choices[0].message.content for _ in range(2)]
    assert answers == [json.dumps({"town": "Paris"})] * 2
