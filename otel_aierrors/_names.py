"""Every attribute, metric and enumerated value this package emits.

`docs/telemetry.md` is the contract that dashboards, alert rules and users rely
on; this module is its mirror in code. A test parses the document and fails
when a name here is missing there (or the other way round), so nothing is ever
emitted under a name the document does not list. GenAI semantic-convention
names are used wherever the conventions have one; the rest live under
``aierrors.*``.
"""

from __future__ import annotations

from typing import Final

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as _gen_ai
from opentelemetry.semconv._incubating.attributes import openai_attributes as _openai
from opentelemetry.semconv._incubating.metrics import gen_ai_metrics as _gen_ai_metrics
from opentelemetry.semconv.attributes import error_attributes as _error
from opentelemetry.semconv.attributes import http_attributes as _http
from opentelemetry.semconv.attributes import server_attributes as _server
from opentelemetry.semconv.schemas import Schemas

# --- OpenTelemetry semantic conventions, from the opentelemetry-semantic-conventions package ---

#: The conventions version whose names the default (non opt-in) mode emits.
SCHEMA_URL: Final = Schemas.V1_37_0.value

GEN_AI_OPERATION_NAME: Final = _gen_ai.GEN_AI_OPERATION_NAME
GEN_AI_PROVIDER_NAME: Final = _gen_ai.GEN_AI_PROVIDER_NAME
GEN_AI_REQUEST_MODEL: Final = _gen_ai.GEN_AI_REQUEST_MODEL
GEN_AI_REQUEST_MAX_TOKENS: Final = _gen_ai.GEN_AI_REQUEST_MAX_TOKENS
GEN_AI_REQUEST_TEMPERATURE: Final = _gen_ai.GEN_AI_REQUEST_TEMPERATURE
GEN_AI_REQUEST_TOP_P: Final = _gen_ai.GEN_AI_REQUEST_TOP_P
GEN_AI_REQUEST_TOP_K: Final = _gen_ai.GEN_AI_REQUEST_TOP_K
GEN_AI_REQUEST_SEED: Final = _gen_ai.GEN_AI_REQUEST_SEED
GEN_AI_REQUEST_FREQUENCY_PENALTY: Final = _gen_ai.GEN_AI_REQUEST_FREQUENCY_PENALTY
GEN_AI_REQUEST_PRESENCE_PENALTY: Final = _gen_ai.GEN_AI_REQUEST_PRESENCE_PENALTY
GEN_AI_REQUEST_CHOICE_COUNT: Final = _gen_ai.GEN_AI_REQUEST_CHOICE_COUNT
GEN_AI_REQUEST_STREAM: Final = _gen_ai.GEN_AI_REQUEST_STREAM
GEN_AI_RESPONSE_MODEL: Final = _gen_ai.GEN_AI_RESPONSE_MODEL
GEN_AI_RESPONSE_ID: Final = _gen_ai.GEN_AI_RESPONSE_ID
GEN_AI_RESPONSE_FINISH_REASONS: Final = _gen_ai.GEN_AI_RESPONSE_FINISH_REASONS
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: Final = _gen_ai.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK
GEN_AI_USAGE_INPUT_TOKENS: Final = _gen_ai.GEN_AI_USAGE_INPUT_TOKENS
GEN_AI_USAGE_OUTPUT_TOKENS: Final = _gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = _gen_ai.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = _gen_ai.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = _gen_ai.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS
GEN_AI_TOKEN_TYPE: Final = _gen_ai.GEN_AI_TOKEN_TYPE
OPENAI_RESPONSE_SYSTEM_FINGERPRINT: Final = _openai.OPENAI_RESPONSE_SYSTEM_FINGERPRINT
OPENAI_RESPONSE_SERVICE_TIER: Final = _openai.OPENAI_RESPONSE_SERVICE_TIER
SERVER_ADDRESS: Final = _server.SERVER_ADDRESS
SERVER_PORT: Final = _server.SERVER_PORT
ERROR_TYPE: Final = _error.ERROR_TYPE
#: ``error.type`` of a failure no error class names (the conventions' fallback value).
ERROR_TYPE_OTHER: Final = _error.ErrorTypeValues.OTHER.value
HTTP_REQUEST_METHOD: Final = _http.HTTP_REQUEST_METHOD
HTTP_REQUEST_RESEND_COUNT: Final = _http.HTTP_REQUEST_RESEND_COUNT
HTTP_RESPONSE_STATUS_CODE: Final = _http.HTTP_RESPONSE_STATUS_CODE

# --- aierrors.*: call span -------------------------------------------------
OUTCOME: Final = "aierrors.outcome"
#: The class of an exception raised inside the instrumentation while ending the span (call, attempt).
INTERNAL_ERROR: Final = "aierrors.internal_error"
ERROR_CLASS: Final = "aierrors.error.class"
RETRYABLE: Final = "aierrors.retryable"
ATTEMPT_COUNT: Final = "aierrors.attempt.count"
RETRY_BACKOFF_TOTAL: Final = "aierrors.retry.backoff_total"
RETRY_WASTED: Final = "aierrors.retry.wasted"
RETRY_WASTED_COUNT: Final = "aierrors.retry.wasted_count"
FINISH_REASON: Final = "aierrors.finish_reason"
SOFT_FAILURE: Final = "aierrors.soft_failure"
STREAM: Final = "aierrors.stream"
STREAM_CHUNKS: Final = "aierrors.stream.chunks"
STREAM_ABANDONED: Final = "aierrors.stream.abandoned"

# --- aierrors.*: attempt span ----------------------------------------------
ATTEMPT_NUMBER: Final = "aierrors.attempt.number"
ATTEMPT_BACKOFF: Final = "aierrors.attempt.backoff"
RETRY_AFTER: Final = "aierrors.retry_after"
SERVER_SHOULD_RETRY: Final = "aierrors.server.should_retry"
REQUEST_ID: Final = "aierrors.request_id"
PROVIDER_ERROR_CODE: Final = "aierrors.provider.error.code"
PROVIDER_ERROR_TYPE: Final = "aierrors.provider.error.type"
PROVIDER_ERROR_PARAM: Final = "aierrors.provider.error.param"
PROVIDER_ERROR_MESSAGE: Final = "aierrors.provider.error.message"
PROVIDER_HINT: Final = "aierrors.provider.hint"
PROVIDER_DID_YOU_MEAN: Final = "aierrors.provider.did_you_mean"
PROVIDER_ALTERNATIVES: Final = "aierrors.provider.alternatives"
RATELIMIT_REMAINING_REQUESTS: Final = "aierrors.ratelimit.remaining_requests"
RATELIMIT_REMAINING_TOKENS: Final = "aierrors.ratelimit.remaining_tokens"
RATELIMIT_RESET_REQUESTS: Final = "aierrors.ratelimit.reset_requests"
RATELIMIT_RESET_TOKENS: Final = "aierrors.ratelimit.reset_tokens"
RATELIMIT_KIND: Final = "aierrors.ratelimit.kind"

# --- aierrors.*: fallback scope and hops -----------------------------------
FALLBACK_HOP: Final = "aierrors.fallback.hop"
FALLBACK_HOPS: Final = "aierrors.fallback.hops"
FALLBACK_KIND: Final = "aierrors.fallback.kind"
FALLBACK_REASON: Final = "aierrors.fallback.reason"
FALLBACK_FROM_MODEL: Final = "aierrors.fallback.from_model"
FALLBACK_TO_MODEL: Final = "aierrors.fallback.to_model"
FALLBACK_FROM_PROVIDER: Final = "aierrors.fallback.from_provider"
FALLBACK_TO_PROVIDER: Final = "aierrors.fallback.to_provider"
FALLBACK_SUCCEEDED_HOP: Final = "aierrors.fallback.succeeded_hop"
FALLBACK_NAME: Final = "aierrors.fallback.name"
APP_RETRY_ATTEMPT: Final = "aierrors.app_retry.attempt"
APP_RETRY_LIBRARY: Final = "aierrors.app_retry.library"
APP_RETRY_REASON: Final = "aierrors.app_retry.reason"

# --- aierrors.*: circuit breakers (the application's pybreaker / purgatory) ---
BREAKER_NAME: Final = "aierrors.breaker.name"
BREAKER_LIBRARY: Final = "aierrors.breaker.library"
BREAKER_STATE: Final = "aierrors.breaker.state"
BREAKER_FROM_STATE: Final = "aierrors.breaker.from_state"
BREAKER_TO_STATE: Final = "aierrors.breaker.to_state"
#: The span event of a breaker's state change, on the span current when it changed.
EVENT_BREAKER_STATE_CHANGE: Final = "aierrors.breaker.state_change"

# --- aierrors.*: answers the application rejected (`otel_aierrors.reject`) ---
REJECTION_REASON: Final = "aierrors.rejection.reason"
#: The span of a rejection: ``invalid_output {reason}``, linked to the call that gave the answer.
REJECTION_SPAN_PREFIX: Final = "invalid_output"

# --- aierrors.*: jobs that end later (background responses, videos, batches) ---
JOB_KIND: Final = "aierrors.job.kind"
JOB_ID: Final = "aierrors.job.id"
JOB_STATUS: Final = "aierrors.job.status"
JOB_FAILED_REQUESTS: Final = "aierrors.job.failed_requests"

# --- metrics ---------------------------------------------------------------
METRIC_OPERATION_DURATION: Final = _gen_ai_metrics.GEN_AI_CLIENT_OPERATION_DURATION
METRIC_TOKEN_USAGE: Final = _gen_ai_metrics.GEN_AI_CLIENT_TOKEN_USAGE
METRIC_TIME_TO_FIRST_CHUNK: Final = _gen_ai_metrics.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK
# Under OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental, instead of the three above
# (semantic-conventions-genai; not yet in the opentelemetry-semantic-conventions package).
METRIC_INFERENCE_DURATION: Final = "gen_ai.client.inference.duration"
METRIC_EMBEDDINGS_DURATION: Final = "gen_ai.client.embeddings.duration"
METRIC_INFERENCE_USAGE_INPUT_TOKENS: Final = "gen_ai.client.inference.usage.input_tokens"
METRIC_INFERENCE_USAGE_OUTPUT_TOKENS: Final = "gen_ai.client.inference.usage.output_tokens"
METRIC_INFERENCE_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.client.inference.usage.cache_read.input_tokens"
METRIC_INFERENCE_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.client.inference.usage.cache_write.input_tokens"
METRIC_INFERENCE_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.client.inference.usage.reasoning.output_tokens"
METRIC_INFERENCE_OPERATION_INPUT_TOKENS: Final = "gen_ai.client.inference.operation.input_tokens"
METRIC_INFERENCE_OPERATION_OUTPUT_TOKENS: Final = "gen_ai.client.inference.operation.output_tokens"
METRIC_EMBEDDINGS_OPERATION_INPUT_TOKENS: Final = "gen_ai.client.embeddings.operation.input_tokens"
METRIC_INFERENCE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.inference.time_to_first_chunk"
METRIC_INFERENCE_TIME_PER_OUTPUT_CHUNK: Final = "gen_ai.client.inference.time_per_output_chunk"
METRIC_CALLS: Final = "aierrors.calls"
METRIC_ATTEMPTS: Final = "aierrors.attempts"
METRIC_ATTEMPT_DURATION: Final = "aierrors.attempt.duration"
METRIC_RETRY_BACKOFF: Final = "aierrors.retry.backoff"
METRIC_RETRY_AFTER: Final = "aierrors.server.retry_after"
METRIC_RATELIMIT_REMAINING: Final = "aierrors.ratelimit.remaining"
METRIC_FALLBACK_HOPS: Final = "aierrors.fallback.hops"
METRIC_BREAKER_STATUS: Final = "aierrors.breaker.status"
METRIC_BREAKER_TRANSITIONS: Final = "aierrors.breaker.transitions"
METRIC_REJECTIONS: Final = "aierrors.rejections"
METRIC_JOBS: Final = "aierrors.jobs"
METRIC_JOB_DURATION: Final = "aierrors.job.duration"

# --- enumerated values -----------------------------------------------------
OUTCOME_OK: Final = "ok"
OUTCOME_ERROR: Final = "error"
OUTCOME_SOFT_FAILURE: Final = "soft_failure"
#: The application stopped the call itself (task cancelled, its own timeout): not a provider failure.
OUTCOME_CANCELLED: Final = "cancelled"
#: A job (a batch) that the provider let expire before it ran to its end.
OUTCOME_EXPIRED: Final = "expired"

FALLBACK_KIND_MODEL: Final = "model"
FALLBACK_KIND_PROVIDER: Final = "provider"
FALLBACK_KIND_KEY: Final = "key"
FALLBACK_KIND_RETRY: Final = "retry"
FALLBACK_KIND_GATEWAY: Final = "gateway"

RATELIMIT_KIND_REQUESTS: Final = "requests"
RATELIMIT_KIND_TOKENS: Final = "tokens"

APP_RETRY_TENACITY: Final = "tenacity"
APP_RETRY_BACKOFF: Final = "backoff"
APP_RETRY_INSTRUCTOR: Final = "instructor"
APP_RETRY_PYDANTIC_AI: Final = "pydantic-ai"
APP_RETRY_LANGCHAIN: Final = "langchain"
APP_RETRY_LITELLM: Final = "litellm"

BREAKER_STATE_CLOSED: Final = "closed"
BREAKER_STATE_OPEN: Final = "open"
BREAKER_STATE_HALF_OPEN: Final = "half_open"
BREAKER_PYBREAKER: Final = "pybreaker"
BREAKER_PURGATORY: Final = "purgatory"
BREAKER_AIOBREAKER: Final = "aiobreaker"

#: The soft-failure kind of an answer the application rejected, and the hop reason after it.
SOFT_INVALID_OUTPUT: Final = "invalid_output"
REJECTION_PARSE: Final = "parse"
REJECTION_SCHEMA: Final = "schema"
REJECTION_VALIDATION: Final = "validation"
REJECTION_GUARD: Final = "guard"

JOB_KIND_RESPONSE: Final = "response"
JOB_KIND_VIDEO: Final = "video"
JOB_KIND_BATCH: Final = "batch"

#: The value used for any free-form metric attribute (a model name) once the
#: cardinality limit is reached, so a misbehaving caller cannot explode series.
OVERFLOW_VALUE: Final = "_other"
