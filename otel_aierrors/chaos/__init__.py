"""An OpenAI-compatible HTTP server that fails on purpose.

The instrumentation is only as good as the failures it has seen. This package
reproduces them over real HTTP on 127.0.0.1, so the real ``openai`` SDK (and
its retries, timeouts and stream parsing) runs unchanged against it.

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

Modules: :mod:`~otel_aierrors.chaos.script` (the ``x-chaos-script`` syntax),
:mod:`~otel_aierrors.chaos.faults` (every fault, its status, body and
headers), :mod:`~otel_aierrors.chaos.dialects` (error-body shapes),
:mod:`~otel_aierrors.chaos.profiles` (named mixes),
:mod:`~otel_aierrors.chaos.server` (the server).
"""

from __future__ import annotations

from .dialects import DIALECTS, ErrorSpec, render_error
from .exchange import ChaosRequest, Disconnect, Endpoint, Hang, Outcome, Reply, StreamReply
from .faults import FAULTS, ErrorFault, Fault, build_fault
from .profiles import PROFILES, Profile, get_profile
from .script import (
    RETRY_COUNT_HEADER,
    SCRIPT_HEADER,
    TAG_HEADER,
    Params,
    Step,
    parse_script,
    parse_step,
    script_headers,
)
from .server import ChaosServer, RequestRecord, serve

__all__ = [
    "DIALECTS",
    "FAULTS",
    "PROFILES",
    "RETRY_COUNT_HEADER",
    "SCRIPT_HEADER",
    "TAG_HEADER",
    "ChaosRequest",
    "ChaosServer",
    "Disconnect",
    "Endpoint",
    "ErrorFault",
    "ErrorSpec",
    "Fault",
    "Hang",
    "Outcome",
    "Params",
    "Profile",
    "Reply",
    "RequestRecord",
    "Step",
    "StreamReply",
    "build_fault",
    "get_profile",
    "parse_script",
    "parse_step",
    "render_error",
    "script_headers",
    "serve",
]
