"""Series stay within budget whatever ports and model names callers and gateways use."""

from __future__ import annotations

import openai
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

from otel_aierrors._call import CallRecord
from otel_aierrors._cardinality import DEFAULT_LIMIT, DEFAULT_MAX_LENGTH, PORT_LIMIT, PortLimiter, ValueLimiter
from otel_aierrors._names import OVERFLOW_VALUE
from otel_aierrors._recording import Telemetry
from otel_aierrors._target import CallTarget
from otel_aierrors.chaos import ChaosServer
from otel_aierrors.chaos.script import script_headers
from tests.conftest import API_KEY
from tests.conftest import Telemetry as Recorded

#: The documented budget of gen_ai.client.operation.duration series for one
#: operation, provider and outcome when every call has a new port and model.
DURATION_SERIES_BUDGET = 2 * (DEFAULT_LIMIT + 1)


def test_the_port_limiter_admits_a_bounded_number_of_pairs() -> None:
    limit = PortLimiter(limit=3)
    assert [limit("api.example", port) for port in (1, 2, 3, 4, 1)] == [1, 2, 3, None, 1]
    assert limit(OVERFLOW_VALUE, 443) is None  # no address, no port
    assert limit("api.example", 0) is None and limit("api.example", 70000) is None and limit("a", None) is None


def test_the_value_limiter_bounds_count_and_length() -> None:
    limit = ValueLimiter(limit=2, max_length=8)
    assert [limit(value) for value in ("a", "b", "c", "a")] == ["a", "b", OVERFLOW_VALUE, "a"]
    assert ValueLimiter()("m" * (DEFAULT_MAX_LENGTH + 1)) == OVERFLOW_VALUE


def test_requested_and_served_models_have_separate_budgets() -> None:
    telemetry = Telemetry(TracerProvider().get_tracer("t"), MeterProvider().get_meter("t"))
    for index in range(DEFAULT_LIMIT * 2):
        telemetry.limit_response_model(f"random-{index}")
    assert telemetry.limit_model("gpt-4o") == "gpt-4o"


def test_distinct_ports_and_models_stay_within_the_duration_series_budget() -> None:
    reader = InMemoryMetricReader()
    telemetry = Telemetry(TracerProvider().get_tracer("t"), MeterProvider(metric_readers=[reader]).get_meter("t"))
    for port in range(1, 5_001):
        call = CallRecord(telemetry, CallTarget("chat", "openai", f"model-{port}", "gateway.example", port, False))
        call.end(None)
    data = reader.get_metrics_data()
    series = [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "gen_ai.client.operation.duration"
        for point in metric.data.data_points
    ]
    assert len(series) <= DURATION_SERIES_BUDGET
    assert sum(1 for point in series if "server.port" in point.attributes) <= PORT_LIMIT


def test_a_gateway_answering_with_random_models_leaves_requested_models_their_names(
    chaos: ChaosServer, telemetry: Recorded
) -> None:
    with openai.OpenAI(base_url=chaos.base_url, api_key=API_KEY, max_retries=0) as client:
        for index in range(DEFAULT_LIMIT + 20):
            client.chat.completions.create(
                model="gpt-4o",
                messages=[{"role": "user", "content": "hi"}],
                extra_headers=script_headers(f"ok;model=random-{index}"),
            )
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])

    assert telemetry.count("aierrors.calls", gen_ai__request__model="gpt-4o-mini") == 1


def test_a_target_keeps_its_metric_attributes_on_every_call_before_and_after_the_budget_fills() -> None:
    reader = InMemoryMetricReader()
    telemetry = Telemetry(TracerProvider().get_tracer("t"), MeterProvider(metric_readers=[reader]).get_meter("t"))

    def call(model: str) -> None:
        CallRecord(telemetry, CallTarget("chat", "openai", model, "gateway.example", 443, False)).end(None)

    call("admitted")
    for index in range(DEFAULT_LIMIT - 1):  # the budget is full from here on
        call(f"filler-{index}")
    call("refused")
    call("admitted")
    call("refused")

    calls: dict[object, int] = {}
    for resource in reader.get_metrics_data().resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == "aierrors.calls":
                    for point in metric.data.data_points:
                        model = point.attributes["gen_ai.request.model"]
                        calls[model] = calls.get(model, 0) + point.value
    assert calls["admitted"] == 2
    assert calls[OVERFLOW_VALUE] == 2
    assert "refused" not in calls
