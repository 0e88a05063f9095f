"""Answers that are not plain errors: the 200 of each route, streams that fail, silence.

``ok`` renders an :class:`~otel_aierrors.chaos.answer.Answer` for the route
(a JSON object, or an SSE stream when the request asks for one); the stream
faults send part of that stream and then misbehave: an error event
(``stream_error``), a socket closed mid-body (``stream_cut``), silence then a
cut (``stream_stall``), or a clean end with no terminal marker
(``silent_cut``: no ``finish_reason``, ``[DONE]``, ``response.completed`` or
``message_stop``; close-delimited by default, as a proxy that buffers and
closes sends it). ``hang`` and ``disconnect`` send no response at all.
"""

from __future__ import annotations

import dataclasses

from .answer import Answer
from .dialects import ErrorSpec, render_error
from .errors import HEALTHY_BUDGET, dialect_of, json_error, nullable
from .exchange import ChaosRequest, Disconnect, Endpoint, Hang, Header, Outcome, Reply, StreamReply, json_bytes
from .headers import rate_limit_headers, retry_headers
from .jobs import JOB_ENDPOINTS, job_object
from .messages import message_object, messages_stream
from .payloads import chat_completion, embeddings, images, model_object, models_list, text_completion
from .responses import response_object, responses_stream
from .rows import MAX_WAIT, BoundFault
from .script import Param, Params
from .streams import StreamPlan, chat_stream, completion_stream

__all__ = [
    "PARTIAL_PARAMS",
    "STREAM_PARAMS",
    "content_filter",
    "disconnect",
    "hang",
    "ok",
    "silent_cut",
    "stream_cut",
    "stream_error",
    "stream_stall",
]

#: Step parameters of every fault that can stream.
STREAM_PARAMS: tuple[Param, ...] = (Param("chunk_delay", "0", "seconds between stream events (at most 5)"),)
#: Step parameters of the faults that send part of a stream.
PARTIAL_PARAMS: tuple[Param, ...] = (
    Param("after", "2", "events sent before the fault, counted from the first", "integer"),
)
_SERVER_ERROR_MESSAGE = "The server had an error while processing your request. Sorry about that!"


def _answer(bound: BoundFault) -> Answer:
    return Answer.from_params(bound.params)


def _partial_answer(bound: BoundFault) -> Answer:
    """The answer with enough chunks that ``after`` events never reach the clean ending."""
    answer = _answer(bound)
    return dataclasses.replace(answer, chunks=max(answer.chunks, _after(bound) + 1))


def _after(bound: BoundFault) -> int:
    return bound.params.integer("after", 2, hi=10000)


def _chunk_delay(params: Params) -> float:
    return params.number("chunk_delay", 0.0, hi=5.0)


def ok_headers(bound: BoundFault, request: ChaosRequest) -> tuple[Header, ...]:
    """Rate-limit headers with plenty of budget left (unless the step overrides)."""
    anthropic = request.endpoint is Endpoint.MESSAGES
    return tuple(rate_limit_headers(bound.params, HEALTHY_BUDGET, default_on=True, anthropic=anthropic))


def plan(bound: BoundFault, request: ChaosRequest, answer: Answer, *, dialect: str = "openai") -> StreamPlan:
    """Plan the stream of ``answer`` for the request's route."""
    endpoint, params = request.endpoint, bound.params
    if endpoint is Endpoint.RESPONSES:
        return responses_stream(answer, request, failure_events=params.text("event", "both"))
    if endpoint is Endpoint.MESSAGES:
        return messages_stream(answer, request, dialect=dialect)
    named = params.flag("named", True)
    if endpoint is Endpoint.COMPLETIONS:
        return completion_stream(answer, request, dialect=dialect, named=named)
    return chat_stream(answer, request, dialect=dialect, named=named)


def body_of(answer: Answer, request: ChaosRequest) -> dict[str, object]:
    """The non-streamed object for the request's route."""
    endpoint = request.endpoint
    if endpoint is Endpoint.COMPLETIONS:
        return text_completion(answer, request)
    if endpoint is Endpoint.EMBEDDINGS:
        return embeddings(answer, request)
    if endpoint is Endpoint.RESPONSES:
        return response_object(answer, request)
    if endpoint is Endpoint.MESSAGES:
        return message_object(answer, request)
    if endpoint is Endpoint.IMAGES:
        return images(answer, request)
    if endpoint is Endpoint.MODELS:
        return models_list()
    if endpoint is Endpoint.MODEL:
        return model_object(request.path_model or request.model)
    if endpoint in JOB_ENDPOINTS:
        return job_object(request, answer)
    return chat_completion(answer, request)


def ok(bound: BoundFault, request: ChaosRequest) -> Outcome:
    """200 with the route's object, or a clean SSE stream when the request streams."""
    answer, headers = _answer(bound), ok_headers(bound, request)
    if request.stream:
        events = plan(bound, request, answer).complete()
        return StreamReply(events, headers, chunk_delay=_chunk_delay(bound.params))
    return Reply(200, json_bytes(body_of(answer, request)), headers=headers)


def content_filter(bound: BoundFault, request: ChaosRequest) -> Outcome:
    """The 400 block, or with ``soft=1`` the 200 form of it (``finish_reason: content_filter``)."""
    if not bound.params.flag("soft"):
        return json_error(bound, request)
    keep = {key: value for key, value in bound.params.items() if key in ("delay", "chunk_delay", "model")}
    soft = Params({**keep, "finish_reason": "content_filter", "soft": "1"})
    return ok(dataclasses.replace(bound, params=soft), request)


def hang(bound: BoundFault, request: ChaosRequest) -> Outcome:
    """Read the request, send nothing for ``seconds``, then close."""
    return Hang(bound.params.number("seconds", 5.0, hi=MAX_WAIT))


def disconnect(bound: BoundFault, request: ChaosRequest) -> Outcome:
    """Close the connection at once (``reset=1``: with a TCP reset)."""
    return Disconnect(reset=bound.params.flag("reset"))


def _stream_error_spec(bound: BoundFault, request: ChaosRequest, status: int) -> ErrorSpec:
    params = bound.params
    anthropic = request.endpoint is Endpoint.MESSAGES
    kind, message = ("overloaded_error", "Overloaded") if anthropic else ("server_error", _SERVER_ERROR_MESSAGE)
    return ErrorSpec(
        status=status,
        message=params.text("message", message),
        type=nullable(params.text("type", kind)),
        code=nullable(params.text("code", "server_error")),
        param=nullable(params.opt_text("param")),
        retryable=True,
    )


def stream_error(bound: BoundFault, request: ChaosRequest) -> Outcome:
    """``after`` events, then an error event (a 500 with that error when not streamed)."""
    dialect = dialect_of(bound, request, "openai")
    headers = ok_headers(bound, request)
    if not request.stream:
        body = json_bytes(render_error(_stream_error_spec(bound, request, 500), dialect))
        return Reply(500, body, headers=tuple(retry_headers(bound.params)) + headers)
    stream = plan(bound, request, _partial_answer(bound), dialect=dialect)
    sent = stream.failure_point(_after(bound))
    events = stream.partial(sent) + stream.failure(_stream_error_spec(bound, request, 200), sent)
    return StreamReply(events, headers, chunk_delay=_chunk_delay(bound.params))


def stream_cut(bound: BoundFault, request: ChaosRequest) -> Outcome:
    """``after`` events, then a closed socket with no final chunk (half a body when not streamed)."""
    answer, headers = _partial_answer(bound), ok_headers(bound, request)
    if not request.stream:
        body = json_bytes(body_of(answer, request))
        return Reply(200, body[: len(body) // 2], headers=headers, declared_length=len(body), cut=True)
    events = plan(bound, request, answer).partial(_after(bound))
    return StreamReply(events, headers, chunk_delay=_chunk_delay(bound.params), cut=True)


def stream_stall(bound: BoundFault, request: ChaosRequest) -> Outcome:
    """``after`` events, silence for ``seconds``, then a cut (a hang when not streamed)."""
    seconds = bound.params.number("seconds", 5.0, hi=MAX_WAIT)
    if not request.stream:
        return Hang(seconds)
    events = plan(bound, request, _partial_answer(bound)).partial(_after(bound))
    headers = ok_headers(bound, request)
    return StreamReply(events, headers, chunk_delay=_chunk_delay(bound.params), stall=seconds, cut=True)


def silent_cut(bound: BoundFault, request: ChaosRequest) -> Outcome:
    """``after`` events and a clean end without the terminal marker: the client sees no error.

    ``framing=close`` (default) sends a close-delimited body (no length, no chunking)
    and closes; ``framing=chunked`` ends the chunked body properly. Not streamed: half
    the JSON body, close-delimited.
    """
    answer, headers = _partial_answer(bound), ok_headers(bound, request)
    close = bound.params.choice("framing", "close", frozenset({"close", "chunked"})) == "close"
    if not request.stream:
        body = json_bytes(body_of(answer, request))
        return Reply(200, body[: len(body) // 2], headers=headers, close_delimited=True)
    events = plan(bound, request, answer).partial(_after(bound))
    return StreamReply(events, headers, chunk_delay=_chunk_delay(bound.params), close_delimited=close)
