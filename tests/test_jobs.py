"""Jobs that fail later (background Responses, videos, batches), followed from their creation.

The real ``openai`` SDK creates each job and polls it against the chaos
server, whose ``job`` fault answers each request in the scripted state: the
story "fails after three polls" is three scripted polls.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from otel_aierrors.chaos import ChaosServer
from tests.conftest import API_KEY, Telemetry


@pytest.fixture
def client(chaos: ChaosServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=chaos.base_url, api_key=API_KEY, max_retries=0, timeout=5.0) as sdk:
        yield sdk


def _has_background() -> bool:
    """Whether this release's Responses API takes ``background`` (its request parameters say)."""
    try:
        params = importlib.import_module("openai.types.responses.response_create_params")
    except ImportError:  # no Responses API at all
        return False
    return "background" in getattr(params.ResponseCreateParamsBase, "__annotations__", {})


#: The SDK features the jobs need: older releases in the supported range have neither.
NEEDS_BACKGROUND = pytest.mark.skipif(not _has_background(), reason="this openai release has no background Responses")
NEEDS_VIDEOS = pytest.mark.skipif(not hasattr(openai.OpenAI, "videos"), reason="this openai release has no videos API")


def script(step: str) -> dict[str, Any]:
    return {"extra_headers": {"x-chaos-script": step}}


def create_response(client: openai.OpenAI) -> str:
    return client.responses.create(model="gpt-4o", input="hello", background=True, **script("job")).id


def poll_response(client: openai.OpenAI, job_id: str, step: str) -> Any:
    return client.responses.retrieve(job_id, **script(step))


def create_video(client: openai.OpenAI) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the SDK's own notice about the Sora API
        return client.videos.create(prompt="a cat", model="sora-2", **script("job")).id


def poll_video(client: openai.OpenAI, job_id: str, step: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return client.videos.retrieve(job_id, **script(step))


def create_batch(client: openai.OpenAI) -> str:
    batch = client.batches.create(
        completion_window="24h", endpoint="/v1/chat/completions", input_file_id="file-abc", **script("job")
    )
    return batch.id


def poll_batch(client: openai.OpenAI, job_id: str, step: str) -> Any:
    return client.batches.retrieve(job_id, **script(step))


KINDS: dict[str, tuple[Callable[[openai.OpenAI], str], Callable[[openai.OpenAI, str, str], Any]]] = {
    "response": (create_response, poll_response),
    "video": (create_video, poll_video),
    "batch": (create_batch, poll_batch),
}


def by_start(spans: list[ReadableSpan]) -> list[ReadableSpan]:
    return sorted(spans, key=lambda span: span.start_time or 0)


@pytest.mark.parametrize(
    "kind",
    [pytest.param("response", marks=NEEDS_BACKGROUND), pytest.param("video", marks=NEEDS_VIDEOS), "batch"],
)
def test_a_job_that_fails_at_the_third_poll_is_one_error_linked_to_its_creation(
    telemetry: Telemetry, client: openai.OpenAI, kind: str
) -> None:
    create, poll = KINDS[kind]
    job_id = create(client)
    poll(client, job_id, "job;state=in_progress")
    poll(client, job_id, "job;state=in_progress")
    result = poll(client, job_id, "job;state=failed;code=server_error")
    assert result.status == "failed"  # the SDK's object, as it was

    creation, *polls = by_start(telemetry.call_spans())
    assert len(polls) == 3
    assert [p.attributes["aierrors.outcome"] for p in polls] == ["ok", "ok", "error"]
    failed = polls[-1]
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes["aierrors.error.class"] == "server_error"
    assert failed.attributes["aierrors.job.kind"] == kind
    assert failed.attributes["aierrors.job.id"] == job_id
    assert failed.attributes["aierrors.job.status"] == "failed"
    assert [link.context.span_id for link in failed.links] == [creation.context.span_id]
    assert creation.attributes["aierrors.outcome"] == "ok"
    assert creation.attributes["aierrors.job.id"] == job_id
    assert all(not p.links for p in polls[:2])

    assert telemetry.count("aierrors.jobs", aierrors__job__kind=kind, aierrors__job__status="failed") == 1
    assert telemetry.count("aierrors.job.duration", aierrors__job__kind=kind) == 1
    assert telemetry.count("aierrors.calls", aierrors__outcome="error") == 1


@NEEDS_VIDEOS
def test_a_failure_without_a_known_code_is_job_failed(telemetry: Telemetry, client: openai.OpenAI) -> None:
    job_id = create_video(client)
    poll_video(client, job_id, "job;state=failed;code=moderation_blocked")

    failed = by_start(telemetry.call_spans())[-1]
    assert failed.attributes["aierrors.error.class"] == "job_failed"
    assert failed.attributes["aierrors.retryable"] is False


@NEEDS_BACKGROUND
def test_a_completed_job_is_not_an_error_and_is_counted_completed(telemetry: Telemetry, client: openai.OpenAI) -> None:
    job_id = create_response(client)
    poll_response(client, job_id, "job;state=in_progress")
    poll_response(client, job_id, "job;state=completed")

    assert [s.attributes["aierrors.outcome"] for s in by_start(telemetry.call_spans())] == ["ok", "ok", "ok"]
    assert telemetry.count("aierrors.jobs", aierrors__job__status="completed") == 1
    assert telemetry.count("aierrors.jobs", aierrors__job__status="failed") == 0
    assert telemetry.count("aierrors.calls", aierrors__outcome="error") == 0


def test_polls_that_stop_before_the_end_count_no_job(telemetry: Telemetry, client: openai.OpenAI) -> None:
    job_id = create_batch(client)
    poll_batch(client, job_id, "job;state=in_progress")

    assert telemetry.points("aierrors.jobs") == []
    assert telemetry.count("aierrors.calls", aierrors__outcome="error") == 0


def test_expired_and_cancelled_batches_are_their_own_outcomes(telemetry: Telemetry, client: openai.OpenAI) -> None:
    expired, cancelled = create_batch(client), create_batch(client)
    poll_batch(client, expired, "job;state=expired;failed=3;total=10")
    poll_batch(client, cancelled, "job;state=cancelled")

    outcomes = {s.attributes["aierrors.job.id"]: s for s in telemetry.call_spans() if "aierrors.job.id" in s.attributes}
    polls = [s for s in by_start(telemetry.call_spans()) if s.links]
    assert [p.attributes["aierrors.outcome"] for p in polls] == ["expired", "cancelled"]
    assert polls[0].attributes["aierrors.job.failed_requests"] == 3
    assert "aierrors.error.class" not in polls[0].attributes
    assert set(outcomes) == {expired, cancelled}
    assert telemetry.count("aierrors.jobs", aierrors__job__kind="batch", aierrors__job__status="expired") == 1
    assert telemetry.count("aierrors.jobs", aierrors__job__kind="batch", aierrors__job__status="cancelled") == 1
    assert telemetry.count("aierrors.calls", aierrors__outcome="expired") == 1


@NEEDS_BACKGROUND
def test_polling_a_failed_job_again_is_not_a_second_error(telemetry: Telemetry, client: openai.OpenAI) -> None:
    job_id = create_response(client)
    poll_response(client, job_id, "job;state=failed;code=server_error")
    poll_response(client, job_id, "job;state=failed;code=server_error")

    assert [s.attributes["aierrors.outcome"] for s in by_start(telemetry.call_spans())] == ["ok", "error", "ok"]
    assert telemetry.count("aierrors.jobs") == 1


@NEEDS_VIDEOS
def test_a_job_first_seen_failed_is_one_error_without_a_duration(telemetry: Telemetry, client: openai.OpenAI) -> None:
    poll_video(client, "video_created_elsewhere", "job;state=failed;code=server_error")

    [call] = telemetry.call_spans()
    assert call.attributes["aierrors.outcome"] == "error"
    assert not call.links
    assert telemetry.count("aierrors.jobs", aierrors__job__status="failed") == 1
    assert telemetry.points("aierrors.job.duration") == []


# --- the tracker's bounds ---------------------------------------------------------------
class _Call:
    """The parts of a `CallRecord` the tracker reads."""

    def __init__(self) -> None:
        from opentelemetry.trace import INVALID_SPAN

        self.span = INVALID_SPAN
        self.series = type("Series", (), {"base": {"gen_ai.request.model": "gpt-4o"}})()


def _summary(job_id: str, status: str) -> Any:
    from otel_aierrors._results import ResponseSummary

    return ResponseSummary(job_kind="batch", job_id=job_id, job_status=status)


def test_the_tracker_forgets_the_oldest_job_beyond_its_bound_and_expired_ones() -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from otel_aierrors._jobs import JobTracker

    reader = InMemoryMetricReader()
    now = [0.0]
    tracker = JobTracker(
        MeterProvider(metric_readers=[reader]).get_meter("t"), max_jobs=2, ttl=100.0, clock=lambda: now[0]
    )
    call: Any = _Call()
    for job_id in ("a", "b", "c"):  # "a" is forgotten: never counted, its end seen as a first sighting
        tracker.observe(call, _summary(job_id, "in_progress"))
    verdict = tracker.observe(call, _summary("a", "failed"))
    assert verdict is not None and verdict.created_by is None
    now[0] = 150.0  # "b" and "c" expired
    verdict = tracker.observe(call, _summary("b", "completed"))
    assert verdict is not None and verdict.created_by is None
    durations = [
        point
        for metric in reader.get_metrics_data().resource_metrics[0].scope_metrics[0].metrics
        if metric.name == "aierrors.job.duration"
        for point in metric.data.data_points
    ]
    assert durations == []  # no job was followed from its creation to its end
