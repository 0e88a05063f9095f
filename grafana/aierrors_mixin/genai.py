"""The GenAI client metrics under both conventions, and the PromQL that reads either.

An application exports the GenAI metrics of the core semantic conventions
(v1.41 and before: ``gen_ai.client.operation.duration``,
``gen_ai.client.token.usage``, ``gen_ai.client.operation.time_to_first_chunk``)
by default, and those of ``open-telemetry/semantic-conventions-genai`` under
``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental`` (see its
``docs/gen-ai/non-normative/migration.md``): inference and embeddings get their
own duration histograms, token usage becomes one counter per token kind plus
per-operation histograms, the streaming histograms move under
``gen_ai.client.inference.*``.

The rules and dashboards never read one name set alone: every query here is
``<old> or <new>``, aggregated first so that the two sides have the same label
sets. ``or`` keeps the left side where both exist, so an application that
emits both (a ``/dup``-style transition, or two replicas on different
switches behind one ``job``) is not counted twice.

The new names are literals: ``opentelemetry-semantic-conventions`` (0.66b2)
does not define them yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["LATEST", "LEGACY", "GenAIMetric", "either"]


@dataclass(frozen=True)
class GenAIMetric:
    """One GenAI client metric: its OpenTelemetry name and its Prometheus name."""

    name: str
    instrument: str
    unit: str
    prometheus: str


#: What the project exports by default (core semantic conventions v1.41 and before).
LEGACY: Final = {
    "duration": GenAIMetric(
        "gen_ai.client.operation.duration", "histogram", "s", "gen_ai_client_operation_duration_seconds"
    ),
    "tokens": GenAIMetric("gen_ai.client.token.usage", "histogram", "{token}", "gen_ai_client_token_usage"),
    "time_to_first_chunk": GenAIMetric(
        "gen_ai.client.operation.time_to_first_chunk",
        "histogram",
        "s",
        "gen_ai_client_operation_time_to_first_chunk_seconds",
    ),
}

#: What the project exports under ``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental``.
LATEST: Final = {
    "inference_duration": GenAIMetric(
        "gen_ai.client.inference.duration", "histogram", "s", "gen_ai_client_inference_duration_seconds"
    ),
    "embeddings_duration": GenAIMetric(
        "gen_ai.client.embeddings.duration", "histogram", "s", "gen_ai_client_embeddings_duration_seconds"
    ),
    "input_tokens": GenAIMetric(
        "gen_ai.client.inference.usage.input_tokens",
        "counter",
        "{token}",
        "gen_ai_client_inference_usage_input_tokens_total",
    ),
    "output_tokens": GenAIMetric(
        "gen_ai.client.inference.usage.output_tokens",
        "counter",
        "{token}",
        "gen_ai_client_inference_usage_output_tokens_total",
    ),
    "operation_input_tokens": GenAIMetric(
        "gen_ai.client.inference.operation.input_tokens",
        "histogram",
        "{token}",
        "gen_ai_client_inference_operation_input_tokens",
    ),
    "operation_output_tokens": GenAIMetric(
        "gen_ai.client.inference.operation.output_tokens",
        "histogram",
        "{token}",
        "gen_ai_client_inference_operation_output_tokens",
    ),
    "embeddings_input_tokens": GenAIMetric(
        "gen_ai.client.embeddings.operation.input_tokens",
        "histogram",
        "{token}",
        "gen_ai_client_embeddings_operation_input_tokens",
    ),
    "time_to_first_chunk": GenAIMetric(
        "gen_ai.client.inference.time_to_first_chunk",
        "histogram",
        "s",
        "gen_ai_client_inference_time_to_first_chunk_seconds",
    ),
}


def either(legacy: str, latest: str) -> str:
    """``legacy or latest``, each side parenthesised: the legacy series where it exists, else the latest."""
    return f"(\n  {_indent(legacy)}\n)\nor\n(\n  {_indent(latest)}\n)"


def _indent(text: str) -> str:
    return text.strip().replace("\n", "\n  ")
