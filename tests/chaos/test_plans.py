"""Stream plans as plain data: what each fault puts in the SSE body, without a socket."""

from __future__ import annotations

from otel_aierrors.chaos.exchange import ChaosRequest, Endpoint, StreamReply
from otel_aierrors.chaos.faults import build_fault
from otel_aierrors.chaos.script import parse_step
from otel_aierrors.chaos.streams import decode_events

CHAT = ChaosRequest(
    "POST",
    "/v1/chat/completions",
    Endpoint.CHAT,
    body={"model": "gpt-4o", "stream": True, "stream_options": {"include_usage": True}},
)


def _events(step: str, request: ChaosRequest = CHAT) -> tuple[StreamReply, list[tuple[str | None, object]]]:
    outcome = build_fault(parse_step(step))(request)
    assert isinstance(outcome, StreamReply)
    return outcome, decode_events(b"".join(outcome.events))


def test_ok_ends_with_usage_then_done() -> None:
    reply, events = _events("ok;chunks=2")

    assert not reply.cut
    assert [name for name, _ in events] == [None] * 6  # role, 2 deltas, finish, usage, [DONE]
    assert events[-1] == (None, "[DONE]")
    usage = events[-2][1]
    assert isinstance(usage, dict) and usage["choices"] == [] and usage["usage"]["total_tokens"] > 0


def test_stream_error_counts_events_from_the_role_chunk() -> None:
    _, events = _events("stream_error;after=3;dialect=holysheep")

    assert len(events) == 4
    assert events[-1] == ("error", {"error": {"code": "server_error", "message": events[-1][1]["error"]["message"]}})  # type: ignore[index]


def test_stream_cut_and_stall_stop_before_the_tail() -> None:
    cut, cut_events = _events("stream_cut;after=2")
    stall, stall_events = _events("stream_stall;after=1;seconds=0.5")

    assert cut.cut and len(cut_events) == 2 and (None, "[DONE]") not in cut_events
    assert (stall.cut, stall.stall, len(stall_events)) == (True, 0.5, 1)


def test_after_beyond_the_content_sends_everything_but_the_tail() -> None:
    _, events = _events("stream_error;after=500;chunks=3;content=abc")

    assert [name for name, _ in events] == [None, None, None, None, "error"]


def test_responses_failure_continues_the_sequence_numbers() -> None:
    request = ChaosRequest("POST", "/v1/responses", Endpoint.RESPONSES, body={"model": "gpt-4o", "stream": True})
    _, events = _events("stream_error;after=6", request)

    assert [name for name, _ in events][-2:] == ["error", "response.failed"]
    assert [data["sequence_number"] for _, data in events] == list(range(8))  # type: ignore[index]
