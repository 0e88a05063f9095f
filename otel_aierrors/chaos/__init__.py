"""An OpenAI- and Anthropic-compatible HTTP server that fails on purpose.

The instrumentation is only as good as the failures it has seen. This package
reproduces them over real HTTP on 127.0.0.1, so the real SDKs (and their
retries, timeouts and stream parsing) run unchanged against it.

Usage in tests, with a scripted story per call::

    from otel_aierrors.chaos import ChaosServer, script_headers

    with ChaosServer() as server, openai.OpenAI(base_url=server.base_url, api_key="sk-test") as client:
        client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "hi"}],
            extra_headers=script_headers("rate_limit;retry_after_ms=1", "ok"),
        )
        assert [r.fault for r in server.requests] == ["rate_limit", "ok"]

Usage for a whole app, with a weighted profile: ``serve(profile="flaky")``
(what ``otel-aierrors chaos --profile flaky`` runs), then point the app's
``base_url`` at ``http://127.0.0.1:8700/v1``.

The public surface
------------------
``ChaosServer``
    The server on a background thread: a context manager with ``base_url``,
    ``url``, ``requests`` (each a ``RequestRecord``), ``requests_tagged``,
    ``wait_for``, ``set_profile``.
``RequestRecord``
    What the server received and did for one request.
``serve``
    Run a server in the foreground until Ctrl-C or ``max_seconds``.
``script_headers``
    The ``extra_headers`` that script one call, one step per attempt; with
    ``sequence=key`` (the ``x-chaos-sequence`` header), one step per request
    sent with that key, for a framework's re-asks made as new calls.
``SCRIPT_HEADER``, ``TAG_HEADER``
    The ``x-chaos-script`` and ``x-chaos-tag`` request header names.
``Profile``, ``PROFILES``, ``get_profile``
    Weighted fault mixes for unscripted requests, and the named ones.
``FAULTS``
    The fault table: one row per fault, with status, doc and parameters
    (what ``otel-aierrors chaos --list-faults`` prints).

Routes and dialects
-------------------
Every endpoint answers under any path prefix (``/v1/...`` for openai,
anthropic, together and cerebras; ``/openai/v1/...`` for groq;
``/inference/v1/...`` for fireworks): chat completions, completions,
embeddings, responses, images, models, the jobs (``GET /v1/responses/{id}``,
``POST /v1/videos``, ``GET /v1/videos/{id}``, ``POST /v1/batches``,
``GET /v1/batches/{id}``), and Anthropic's ``/v1/messages``
(JSON, or SSE with ``message_start``, ``content_block_start``, ``ping``,
``content_block_delta``, ``content_block_stop``, ``message_delta`` with
``stop_reason`` and usage, ``message_stop``). On ``/v1/messages`` errors are
Anthropic's (``{"type": "error", "error": {"type": "overloaded_error", ...}}``,
529 for ``overloaded``), the request id header is ``request-id`` and the
budget headers are ``anthropic-ratelimit-{requests,tokens,input-tokens,
output-tokens}-{limit,remaining,reset}`` (resets as RFC 3339 times). Other
error-body dialects (``dialect=openai|lemondata|ofox|holysheep|numeric|
anthropic``) are in :mod:`~otel_aierrors.chaos.dialects`.

Faults (script syntax ``name;key=value;...``)
---------------------------------------------
``ok`` (200; ``finish_reason``, ``stop_reason``, ``content``, ``refusal``,
``tool_calls``, ``n``, ``chunks``, ``usage_chunk``, ``model``,
``random_model``, ``random_id``...), ``job`` (a job's object in the
scripted ``state``, with ``code``, ``failed``, ``total``), the errors ``rate_limit``, ``quota``,
``quota_exceeded``, ``balance``, ``auth``, ``permission``, ``not_found``,
``invalid_request``, ``context_length``, ``payload_too_large``,
``content_filter``, ``conflict``, ``server_error``, ``upstream``,
``all_channels_failed``, ``overloaded``, ``gateway_timeout``, the malformed
bodies ``html``, ``empty``, ``broken_json`` (a 500 with cut JSON; not the
soft failure *truncated*, which is ``ok;finish_reason=length``) and ``huge``,
the hostile ``echo`` (a message repeating the request's ``Authorization``,
``x-api-key``, ``api-key``, query string, Basic credential and prompt), no
response at all (``hang``, ``disconnect``), and the stream faults
``stream_error``, ``stream_cut``, ``stream_stall`` and ``silent_cut`` (a clean,
close-delimited end without ``finish_reason``, ``[DONE]``,
``response.completed`` or ``message_stop``). Any non-streamed body can be slow
(``body_delay``, ``drip``) or broken partway (``cut_body``); rate-limit
values are sent verbatim (``remaining_requests=18446744073709551615``,
``nan``, ``inf``, ``-5``) or huge (``huge_headers=102400;unique=1``). Every
fault, its parameters and their defaults: :data:`FAULTS`, or
``otel-aierrors chaos --list-faults``.

Modules: :mod:`~otel_aierrors.chaos.script` (the ``x-chaos-script`` syntax),
:mod:`~otel_aierrors.chaos.faults` (the table), :mod:`~otel_aierrors.chaos.rows`
(its row types), :mod:`~otel_aierrors.chaos.errors` and
:mod:`~otel_aierrors.chaos.replies` (what the faults send),
:mod:`~otel_aierrors.chaos.answer`, :mod:`~otel_aierrors.chaos.payloads`,
:mod:`~otel_aierrors.chaos.responses`, :mod:`~otel_aierrors.chaos.messages`,
:mod:`~otel_aierrors.chaos.streams` (bodies per route), :mod:`~otel_aierrors.chaos.jobs`
(background responses, videos and batches in a scripted state),
:mod:`~otel_aierrors.chaos.headers`, :mod:`~otel_aierrors.chaos.dialects`,
:mod:`~otel_aierrors.chaos.exchange` (outcomes), :mod:`~otel_aierrors.chaos.profiles`,
and the server: :mod:`~otel_aierrors.chaos.server`,
:mod:`~otel_aierrors.chaos.handler`, :mod:`~otel_aierrors.chaos.routes`,
:mod:`~otel_aierrors.chaos.wire`, :mod:`~otel_aierrors.chaos.records`,
:mod:`~otel_aierrors.chaos.control`. Tests import what they need beyond the
public surface from these modules.
"""

from __future__ import annotations

from .faults import FAULTS
from .profiles import PROFILES, Profile, get_profile
from .records import RequestRecord
from .script import SCRIPT_HEADER, TAG_HEADER, script_headers
from .server import ChaosServer, serve

__all__ = [
    "FAULTS",
    "PROFILES",
    "SCRIPT_HEADER",
    "TAG_HEADER",
    "ChaosServer",
    "Profile",
    "RequestRecord",
    "get_profile",
    "script_headers",
    "serve",
]
