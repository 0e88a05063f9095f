"""LiteLLM's Router and ``litellm.completion(fallbacks=...)``: one fallback scope, each deployment a hop.

Retries of one deployment are app-retry attempts.

The real litellm calls the real openai SDK (deployments ``openai/<model>``)
over HTTP against the chaos server: deployment A always answers 429, B
answers. Each deployment carries its own ``x-chaos-script`` (a one-step
script: every request gets it, whatever the SDK's retry count) and a tag of
its own, by which the test counts its requests.
"""

from __future__ import annotations

import gc
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

litellm = pytest.importorskip("litellm")

import wrapt  # noqa: E402
from opentelemetry.sdk.trace import ReadableSpan  # noqa: E402
from opentelemetry.trace import StatusCode  # noqa: E402

import otel_aierrors  # noqa: E402
from otel_aierrors.chaos import ChaosServer  # noqa: E402
from tests.conftest import Telemetry, assert_same_exception, raised  # noqa: E402

#: litellm's own warnings, raised uninstrumented too (not ours to fix): pydantic warns when it
#: builds the schemas of litellm's TypedDicts, and the sync Router leaves an event loop and its
#: sockets unclosed (``python -X dev`` on a plain ``Router.completion`` shows the same).
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*using the `ReadOnly` qualifier:UserWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture(autouse=True)
def _collect_litellms_leaks() -> Iterator[None]:
    """Collect what litellm left unclosed while this module's warning filters apply, not at exit."""
    yield
    gc.collect()


MESSAGES = [{"role": "user", "content": "hi"}]
RATE_LIMITED = "rate_limit;retry_after_ms=1"


class Deployment:
    """One deployment on the chaos server: a model, a key, a script and a tag of its own."""

    def __init__(self, chaos: ChaosServer, model: str, script: str) -> None:
        self.chaos = chaos
        self.model = model
        self.tag = uuid.uuid4().hex
        self.params: dict[str, Any] = {
            "model": f"openai/{model}",
            "api_base": chaos.base_url,
            "api_key": f"sk-{model}-dummy",
            "extra_headers": {"x-chaos-script": script, "x-chaos-tag": self.tag},
        }

    def requests(self) -> int:
        return len(self.chaos.requests_tagged(self.tag))


def router(a: Deployment, b: Deployment) -> Any:
    """A fresh Router (no cooldown left by an earlier call): group A falls back to group B, one retry."""
    return litellm.Router(
        model_list=[
            {"model_name": "A", "litellm_params": dict(a.params)},
            {"model_name": "B", "litellm_params": dict(b.params)},
        ],
        fallbacks=[{"A": ["B"]}],
        num_retries=1,
    )


def plain(telemetry: Telemetry, call: Callable[[], Any]) -> tuple[Any, BaseException | None]:
    """What ``call`` returns and raises with the instrumentation off."""
    otel_aierrors.uninstrument()
    try:
        try:
            return call(), None
        except Exception as error:
            return None, error
    finally:
        otel_aierrors.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)


def assert_same_response(instrumented: Any, uninstrumented: Any) -> None:
    assert type(instrumented) is type(uninstrumented)
    assert instrumented.model == uninstrumented.model
    assert [c.message.content for c in instrumented.choices] == [c.message.content for c in uninstrumented.choices]
    assert [c.finish_reason for c in instrumented.choices] == [c.finish_reason for c in uninstrumented.choices]


def fallback_span(telemetry: Telemetry) -> ReadableSpan:
    spans = [s for s in telemetry.spans() if s.name.startswith("fallback ")]
    assert len(spans) == 1, [s.name for s in telemetry.spans()]
    return spans[0]


def calls_under(telemetry: Telemetry, parent: ReadableSpan) -> list[ReadableSpan]:
    return telemetry.calls_under(parent)


def assert_fell_back_after_two_rate_limits(
    telemetry: Telemetry, name: str, sdk_attempts: tuple[int, int, int] = (1, 1, 1)
) -> None:
    """One scope: A tried twice (attempts 1 and 2, hop 0), then one hop A→B for rate_limit, and B answered.

    ``sdk_attempts``: the openai SDK's own attempts in each of the three calls.
    """
    scope = fallback_span(telemetry)
    assert scope.name == f"fallback {name}"
    assert scope.status.status_code is StatusCode.UNSET
    assert scope.attributes["aierrors.fallback.name"] == name
    assert scope.attributes["aierrors.outcome"] == "ok"
    assert scope.attributes["aierrors.fallback.hops"] == 2
    assert scope.attributes["aierrors.fallback.succeeded_hop"] == 1
    assert len(telemetry.call_spans()) == 3, "every call of the walk nests under the one scope"

    first, retry, fallback = calls_under(telemetry, scope)
    for call, model, attempt, hop, outcome in (
        (first, "model-a", 1, 0, "error"),
        (retry, "model-a", 2, 0, "error"),
        (fallback, "model-b", 1, 1, "ok"),
    ):
        assert call.attributes["gen_ai.request.model"] == model
        assert call.attributes["aierrors.app_retry.attempt"] == attempt
        assert call.attributes["aierrors.app_retry.library"] == "litellm"
        assert call.attributes["aierrors.fallback.hop"] == hop
        assert call.attributes["aierrors.outcome"] == outcome
    assert first.attributes["aierrors.error.class"] == retry.attributes["aierrors.error.class"] == "rate_limit"
    # A retry of the same deployment is not a hop.
    assert "aierrors.fallback.kind" not in first.attributes
    assert "aierrors.fallback.kind" not in retry.attributes
    assert fallback.attributes["aierrors.fallback.kind"] == "model"
    assert fallback.attributes["aierrors.fallback.reason"] == "rate_limit"
    assert fallback.attributes["aierrors.fallback.from_model"] == "model-a"
    assert fallback.attributes["aierrors.fallback.to_model"] == "model-b"
    assert fallback.attributes["aierrors.fallback.from_provider"] == "127.0.0.1"
    assert fallback.attributes["aierrors.fallback.to_provider"] == "127.0.0.1"
    assert tuple(c.attributes["aierrors.attempt.count"] for c in (first, retry, fallback)) == sdk_attempts
    assert telemetry.count("aierrors.fallback.hops", aierrors__fallback__reason="rate_limit") == 1


def assert_backoff_is_a_gap(telemetry: Telemetry) -> None:
    """LiteLLM's wait before its retry is the time between A's two calls, inside the scope."""
    scope = fallback_span(telemetry)
    first, retry, _ = calls_under(telemetry, scope)
    assert first.end_time is not None and retry.start_time is not None
    assert retry.start_time > first.end_time
    assert scope.start_time is not None and scope.end_time is not None
    assert all(scope.start_time <= c.start_time and c.end_time <= scope.end_time for c in calls_under(telemetry, scope))  # type: ignore[operator]


@pytest.fixture
def deployments(chaos: ChaosServer) -> tuple[Deployment, Deployment]:
    return Deployment(chaos, "model-a", RATE_LIMITED), Deployment(chaos, "model-b", "ok")


def test_router_completion_falling_back_after_429s_is_one_scope_with_two_attempts_on_a_and_one_hop(
    telemetry: Telemetry, deployments: tuple[Deployment, Deployment]
) -> None:
    a, b = deployments
    response = router(a, b).completion(model="A", messages=MESSAGES)

    assert (a.requests(), b.requests()) == (2, 1)
    assert_fell_back_after_two_rate_limits(telemetry, "A")
    assert_backoff_is_a_gap(telemetry)
    expected, error = plain(telemetry, lambda: router(a, b).completion(model="A", messages=MESSAGES))
    assert error is None
    assert_same_response(response, expected)


async def test_router_acompletion_falling_back_after_429s_is_one_scope_with_two_attempts_on_a_and_one_hop(
    telemetry: Telemetry, deployments: tuple[Deployment, Deployment]
) -> None:
    a, b = deployments
    response = await router(a, b).acompletion(model="A", messages=MESSAGES)

    assert (a.requests(), b.requests()) == (2, 1)
    assert_fell_back_after_two_rate_limits(telemetry, "A")
    assert_backoff_is_a_gap(telemetry)
    otel_aierrors.uninstrument()
    try:
        expected = await router(a, b).acompletion(model="A", messages=MESSAGES)
    finally:
        otel_aierrors.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    assert_same_response(response, expected)


async def test_router_acompletion_streamed_falls_back_inside_one_scope_and_streams_what_litellm_streams(
    telemetry: Telemetry, deployments: tuple[Deployment, Deployment]
) -> None:
    a, b = deployments

    async def streamed() -> list[str | None]:
        stream = await router(a, b).acompletion(model="A", messages=MESSAGES, stream=True)
        return [chunk.choices[0].delta.content async for chunk in stream]

    text = await streamed()

    scope = fallback_span(telemetry)
    assert scope.attributes["aierrors.outcome"] == "ok"
    assert scope.attributes["aierrors.fallback.succeeded_hop"] == 1
    calls = calls_under(telemetry, scope)
    assert [c.attributes["gen_ai.request.model"] for c in calls] == ["model-a", "model-a", "model-b"]
    assert calls[-1].attributes["aierrors.fallback.reason"] == "rate_limit"
    assert calls[-1].attributes["aierrors.outcome"] == "ok"
    otel_aierrors.uninstrument()
    try:
        expected = await streamed()
    finally:
        otel_aierrors.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    assert text == expected


def test_router_completion_that_fails_everywhere_raises_what_litellm_raises_and_ends_the_scope_in_error(
    telemetry: Telemetry, chaos: ChaosServer
) -> None:
    a, b = Deployment(chaos, "model-a", RATE_LIMITED), Deployment(chaos, "model-b", "server_error")

    error = raised(lambda: router(a, b).completion(model="A", messages=MESSAGES))

    scope = fallback_span(telemetry)
    assert scope.attributes["aierrors.outcome"] == "error"
    assert scope.status.status_code is StatusCode.ERROR
    assert "aierrors.fallback.succeeded_hop" not in scope.attributes
    calls = calls_under(telemetry, scope)
    assert [c.attributes["gen_ai.request.model"] for c in calls][:3] == ["model-a", "model-a", "model-b"]
    assert calls[2].attributes["aierrors.fallback.reason"] == "rate_limit"
    assert scope.attributes["aierrors.error.class"] == calls[-1].attributes["aierrors.error.class"]
    assert_same_exception(
        error, telemetry.uninstrumented(lambda: router(a, b).completion(model="A", messages=MESSAGES))
    )


def completion_with_fallbacks(a: Deployment, b: Deployment) -> Any:
    return litellm.completion(messages=MESSAGES, fallbacks=[dict(b.params)], num_retries=1, **a.params)


def test_litellm_completion_with_fallbacks_is_one_scope_with_a_hop_for_rate_limit(
    telemetry: Telemetry, deployments: tuple[Deployment, Deployment]
) -> None:
    a, b = deployments
    response = completion_with_fallbacks(a, b)

    # litellm.acompletion retries A once (num_retries=1, through tenacity), then falls back to B.
    # Its first call also hands num_retries to the SDK (max_retries=1), whose own retry is an
    # attempt of that call: three requests on A, two calls.
    assert (a.requests(), b.requests()) == (3, 1)
    assert_fell_back_after_two_rate_limits(telemetry, "openai/model-a", sdk_attempts=(2, 1, 1))
    assert_backoff_is_a_gap(telemetry)
    assert not [s for s in telemetry.spans() if s.name.startswith("retry ")], "tenacity inside litellm adds no span"
    expected, error = plain(telemetry, lambda: completion_with_fallbacks(a, b))
    assert error is None
    assert_same_response(response, expected)


async def test_litellm_acompletion_with_fallbacks_is_one_scope_with_a_hop_for_rate_limit(
    telemetry: Telemetry, deployments: tuple[Deployment, Deployment]
) -> None:
    a, b = deployments
    response = await litellm.acompletion(messages=MESSAGES, fallbacks=[dict(b.params)], num_retries=1, **a.params)

    assert (a.requests(), b.requests()) == (3, 1)
    assert_fell_back_after_two_rate_limits(telemetry, "openai/model-a", sdk_attempts=(2, 1, 1))
    otel_aierrors.uninstrument()
    try:
        expected = await litellm.acompletion(messages=MESSAGES, fallbacks=[dict(b.params)], num_retries=1, **a.params)
    finally:
        otel_aierrors.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    assert_same_response(response, expected)


def test_litellm_completion_whose_fallbacks_all_fail_raises_what_litellm_raises_and_ends_the_scope_in_error(
    telemetry: Telemetry, chaos: ChaosServer
) -> None:
    a, b = Deployment(chaos, "model-a", RATE_LIMITED), Deployment(chaos, "model-b", "server_error")

    error = raised(lambda: completion_with_fallbacks(a, b))

    scope = fallback_span(telemetry)
    assert scope.attributes["aierrors.outcome"] == "error"
    assert scope.status.status_code is StatusCode.ERROR
    assert "aierrors.fallback.succeeded_hop" not in scope.attributes
    calls = calls_under(telemetry, scope)
    assert len(calls) == len(telemetry.call_spans())
    # A twice, B twice (num_retries=1 each); litellm.completion then retries the whole walk once
    # more (A, B), each a new hop from the one before.
    models = [c.attributes["gen_ai.request.model"] for c in calls]
    assert models == ["model-a", "model-a", "model-b", "model-b", "model-a", "model-b"]
    assert [c.attributes["aierrors.fallback.hop"] for c in calls] == [0, 0, 1, 1, 2, 3]
    assert [c.attributes["aierrors.app_retry.attempt"] for c in calls] == [1, 2, 1, 2, 1, 1]
    assert [c.attributes.get("aierrors.fallback.reason") for c in calls] == [
        None,
        None,
        "rate_limit",
        None,
        "server_error",
        "rate_limit",
    ]
    # litellm ends with an APIConnectionError of its own wrapping the last failure; the scope's
    # class is the last call's.
    assert isinstance(error, litellm.APIConnectionError)
    assert scope.attributes["aierrors.error.class"] == calls[-1].attributes["aierrors.error.class"] == "server_error"
    assert_same_exception(error, telemetry.uninstrumented(lambda: completion_with_fallbacks(a, b)))


def test_litellm_completion_without_fallbacks_opens_no_scope(telemetry: Telemetry, chaos: ChaosServer) -> None:
    b = Deployment(chaos, "model-b", "ok")
    litellm.completion(messages=MESSAGES, **b.params)

    call = telemetry.call_span()
    assert not [s for s in telemetry.spans() if s.name.startswith("fallback ")]
    assert "aierrors.fallback.hop" not in call.attributes
    assert "aierrors.app_retry.library" not in call.attributes


def _litellm_callables() -> dict[str, Any]:
    from litellm.router_rust.core import RustCore

    return {
        "RustCore.completion": vars(RustCore)["completion"],
        "RustCore.acompletion": vars(RustCore)["acompletion"],
        "litellm.completion": litellm.completion,
        "litellm.acompletion": litellm.acompletion,
    }


def test_uninstrument_puts_litellms_originals_back(telemetry: Telemetry) -> None:
    instrumented = _litellm_callables()
    assert all(isinstance(f, wrapt.FunctionWrapper) for f in instrumented.values()), instrumented

    otel_aierrors.uninstrument()
    try:
        originals = _litellm_callables()
        assert not any(isinstance(f, wrapt.FunctionWrapper) for f in originals.values()), originals
        assert {name: f.__wrapped__ for name, f in instrumented.items()} == originals
    finally:
        otel_aierrors.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
