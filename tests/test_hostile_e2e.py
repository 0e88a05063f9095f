"""End to end with the real openai SDK: hostile servers cannot leak a secret or break the export.

A client configured with credentials in every place the SDK accepts them (the
API key, ``default_headers``, ``default_query``, URL userinfo) calls servers
that echo them, and the prompt, in their errors. Nothing of them may appear in
the exported spans, events, metric points or in the log records of this
package. Rate-limit headers with u64-max, ``nan``, ``inf`` and negative values
must leave every metric export (through the real OTLP protobuf encoder)
succeeding and every exported number in range.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import math
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import quote, quote_plus

import openai
import pytest
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics

import otel_aierrors
from otel_aierrors._bounds import INT64_MAX, MAX_SECONDS
from otel_aierrors._redaction import CAPTURE_CONTENT_ENV
from otel_aierrors.chaos import ChaosServer
from otel_aierrors.chaos.script import script_headers
from tests.conftest import Telemetry

API_KEY = "sk-proj-HostileKey0123456789abcdefPLANTED"
HEADER_KEY = "gwXApiKey7Hq2LmXp9RtY4vB"
AZURE_KEY = "azApiKey0123abcd4567efgh"
QUERY_KEY = "AIzaQueryKey0987654321zyxw"
URL_USER = "alice"
URL_PASSWORD = "p@ssw0rd-Url-Secret"
PROMPT = "My social security number is 078-05-1120, please remember it"
PLANTED = (API_KEY, HEADER_KEY, AZURE_KEY, QUERY_KEY, URL_PASSWORD)


def _basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _echo_of_everything() -> str:
    """What a careless gateway says back: every credential, in the forms it has on the wire."""
    return (
        f"Incorrect API key provided: {API_KEY}. x-api-key={HEADER_KEY} api-key: {AZURE_KEY} "
        f"url /v1/chat/completions?key={QUERY_KEY} ({quote(QUERY_KEY)}) "
        f"auth Basic {_basic(URL_USER, URL_PASSWORD)} user {URL_USER}:{quote(URL_PASSWORD, safe='')} "
        f"and {json.dumps(HEADER_KEY)} and {quote_plus(AZURE_KEY)}"
    )


def _step(fault: str, **params: str) -> str:
    return ";".join([fault, *(f"{key}={quote(value, safe='')}" for key, value in params.items())])


def _forbidden() -> list[str]:
    forms = []
    for secret in PLANTED:
        forms += [secret, secret[:12], secret[-12:], quote(secret, safe="")]
    return [*forms, _basic(URL_USER, URL_PASSWORD), PROMPT, PROMPT[:24], "078-05-1120"]


def _client(chaos: ChaosServer, **overrides: Any) -> openai.OpenAI:
    options: dict[str, Any] = {
        "base_url": chaos.base_url.replace("http://", f"http://{URL_USER}:{quote(URL_PASSWORD, safe='')}@"),
        "api_key": API_KEY,
        "default_headers": {"x-api-key": HEADER_KEY, "api-key": AZURE_KEY},
        "default_query": {"key": QUERY_KEY},
        "max_retries": 0,
        "timeout": 10.0,
    }
    options.update(overrides)
    return openai.OpenAI(**options)


_HOSTILE_STEPS = [
    _step("auth", message=_echo_of_everything()),
    _step("auth"),  # the fault's own echo of the bearer key
    _step("auth", dialect="lemondata", message=_echo_of_everything(), hint=_echo_of_everything()),
    _step(
        "invalid_request",
        message=f"Invalid 'messages[0].content': '{PROMPT}'",
        param=PROMPT,
        code=PROMPT,
        type=f"invalid_request_error: {PROMPT}",
    ),
    _step("not_found", dialect="lemondata", did_you_mean=PROMPT, hint=f"Try again with {PROMPT}", alternatives=PROMPT),
    _step("server_error", message=f"upstream said: {PROMPT} {API_KEY}", code=API_KEY, param=HEADER_KEY),
]


def _run_hostile_calls(chaos: ChaosServer) -> None:
    with _client(chaos) as client:
        for step in _HOSTILE_STEPS:
            with pytest.raises(openai.APIStatusError):
                client.chat.completions.create(
                    model="gpt-4o", messages=[{"role": "user", "content": PROMPT}], extra_headers=script_headers(step)
                )
        # A key read from a file with its newline: the HTTP library refuses the header.
        with (
            _client(chaos, base_url=chaos.base_url, api_key=API_KEY + "\n") as broken,
            pytest.raises(openai.APIConnectionError),
        ):
            broken.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": PROMPT}])


def _log_text(records: list[logging.LogRecord]) -> str:
    formatter = logging.Formatter("%(message)s")
    return "\n".join(formatter.format(record) for record in records)


def _assert_nothing_planted_in(telemetry: Telemetry, caplog: pytest.LogCaptureFixture) -> None:
    exported = telemetry.exported_text()
    logged = _log_text(caplog.records)
    for form in _forbidden():
        assert form not in exported, form
        assert form not in logged, form


def test_planted_credentials_and_an_echoed_prompt_are_exported_nowhere(
    chaos: ChaosServer, telemetry: Telemetry, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="otel_aierrors"):
        _run_hostile_calls(chaos)

    _assert_nothing_planted_in(telemetry, caplog)
    attempts = telemetry.attempt_spans()
    assert len(attempts) == len(_HOSTILE_STEPS) + 1
    # Codes that are identifiers are kept; prose and keys are not codes.
    codes = [span.attributes.get("aierrors.provider.error.code") for span in attempts]
    assert codes[:3] == ["invalid_api_key"] * 3
    assert codes[3] is None and codes[5] is None
    for span in attempts:
        assert "aierrors.provider.error.message" not in span.attributes
        assert "aierrors.provider.hint" not in span.attributes
        assert "aierrors.provider.did_you_mean" not in span.attributes
    messages = [event.attributes["exception.message"] for span in telemetry.spans() for event in span.events]
    assert messages and all(message for message in messages)


@pytest.fixture
def capturing_telemetry(monkeypatch: pytest.MonkeyPatch) -> Iterator[Telemetry]:
    monkeypatch.setenv(CAPTURE_CONTENT_ENV, "SPAN_ONLY")
    recorded = Telemetry()
    otel_aierrors.instrument(tracer_provider=recorded.tracer_provider, meter_provider=recorded.meter_provider)
    try:
        yield recorded
    finally:
        otel_aierrors.uninstrument()


def test_with_content_capture_on_messages_are_exported_with_every_credential_redacted(
    chaos: ChaosServer, capturing_telemetry: Telemetry, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="otel_aierrors"):
        _run_hostile_calls(chaos)

    messages = [span.attributes.get("aierrors.provider.error.message") for span in capturing_telemetry.attempt_spans()]
    assert messages[0] and "[REDACTED]" in messages[0]
    exported = capturing_telemetry.exported_text()
    logged = _log_text(caplog.records)
    for secret in PLANTED:
        for form in (secret, secret[:12], quote(secret, safe="")):
            assert form not in exported, form
            assert form not in logged, form


# --- numbers ---------------------------------------------------------------

_HOSTILE_NUMBER_STEPS = [
    "rate_limit;retry_after=nan;reset_tokens=nan;reset_requests=inf",
    "rate_limit;retry_after=inf;retry_after_ms=nan;reset_tokens=-5s",
    "rate_limit;retry_after=-5;reset_requests=1e400",
    "rate_limit;retry_after=18446744073709551615",
    "rate_limit;retry_after_ms=-1e309",
    "ok;reset_tokens=nan;reset_requests=99999999999999999999h",
]


_DELAYS = frozenset({"aierrors.retry_after", "aierrors.ratelimit.reset_requests", "aierrors.ratelimit.reset_tokens"})


def _assert_span_numbers_in_range(telemetry: Telemetry) -> None:
    for span in telemetry.spans():
        for name, value in span.attributes.items():
            for item in value if isinstance(value, tuple) else (value,):
                if isinstance(item, bool) or not isinstance(item, (int, float)):
                    continue
                assert math.isfinite(item), name
                assert -INT64_MAX - 1 <= item <= INT64_MAX, name
                if name.startswith(("aierrors.ratelimit.", "aierrors.retry_after")):
                    assert item >= 0, name
                if name in _DELAYS:
                    assert item <= MAX_SECONDS, name


def _assert_metrics_encode(telemetry: Telemetry) -> None:
    data = telemetry.reader.get_metrics_data()
    assert data is not None
    encoded = encode_metrics(data)  # raises on a value an OTLP int cannot carry
    assert encoded.ByteSize() > 0
    for point in telemetry.points("aierrors.server.retry_after", data):
        assert math.isfinite(point.sum) and point.min >= 0 and point.max <= MAX_SECONDS


def test_nan_inf_and_negative_delays_from_the_chaos_server_stay_out_of_spans_and_metrics(
    chaos: ChaosServer, telemetry: Telemetry
) -> None:
    with openai.OpenAI(base_url=chaos.base_url, api_key=API_KEY, max_retries=0, timeout=10.0) as client:
        for step in _HOSTILE_NUMBER_STEPS:
            with contextlib.suppress(openai.RateLimitError):
                client.chat.completions.create(
                    model="gpt-4o", messages=[{"role": "user", "content": "hi"}], extra_headers=script_headers(step)
                )
            _assert_metrics_encode(telemetry)  # every collection, not only the last

    _assert_span_numbers_in_range(telemetry)
    attempts = telemetry.attempt_spans()
    assert len(attempts) == len(_HOSTILE_NUMBER_STEPS)
    assert [span.attributes.get("aierrors.retry_after") for span in attempts[:5]] == [
        None,
        None,
        None,
        MAX_SECONDS,
        None,
    ]
    assert attempts[5].attributes["aierrors.ratelimit.reset_requests"] == MAX_SECONDS
    assert "aierrors.ratelimit.reset_tokens" not in attempts[5].attributes


class _FixedHeadersHandler(BaseHTTPRequestHandler):
    """Answers every request with a 429 and the headers the test set on the server.

    Hand-written (the standard library's server) because the chaos server clamps
    ``remaining_*`` to [0, 2**30] today; replace with its hostile-header fault.
    """

    server: _FixedHeadersServer

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        body = json.dumps({"error": {"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}})
        self.send_response(429)
        for name, value in self.server.reply_headers:
            self.send_header(name, value)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _FixedHeadersServer(ThreadingHTTPServer):
    daemon_threads = True
    reply_headers: ClassVar[list[tuple[str, str]]] = []


@pytest.fixture
def fixed_headers_server() -> Iterator[_FixedHeadersServer]:
    server = _FixedHeadersServer(("127.0.0.1", 0), _FixedHeadersHandler)
    server.timeout = 5
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize(
    ("remaining", "expected"),
    [
        ("18446744073709551615", INT64_MAX),  # u64 max: "unlimited" on some gateways
        ("-5", None),
        ("nan", None),
        ("inf", None),
        ("1e3", None),
    ],
)
def test_hostile_remaining_budgets_leave_every_metric_export_succeeding(
    fixed_headers_server: _FixedHeadersServer, telemetry: Telemetry, remaining: str, expected: int | None
) -> None:
    fixed_headers_server.reply_headers = [
        ("x-ratelimit-remaining-requests", remaining),
        ("x-ratelimit-remaining-tokens", remaining),
        ("retry-after", remaining),
        ("x-ratelimit-reset-tokens", remaining),
    ]
    base_url = f"http://127.0.0.1:{fixed_headers_server.server_address[1]}/v1"
    with openai.OpenAI(base_url=base_url, api_key=API_KEY, max_retries=0, timeout=10.0) as client:
        for _ in range(2):  # the gauge keeps its last value: two collections must both encode
            with pytest.raises(openai.RateLimitError):
                client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
            _assert_metrics_encode(telemetry)

    _assert_span_numbers_in_range(telemetry)
    attempt = telemetry.attempt_spans()[0]
    assert attempt.attributes.get("aierrors.ratelimit.remaining_requests") == expected
    assert attempt.attributes.get("aierrors.ratelimit.remaining_tokens") == expected
    gauge = [point.value for point in telemetry.points("aierrors.ratelimit.remaining")]
    assert gauge == ([expected, expected] if expected is not None else [])
