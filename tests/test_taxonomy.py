"""The taxonomy: one class per failure, whatever the provider's dialect."""

from __future__ import annotations

import asyncio
import inspect
import json

import openai
import pytest

from otel_aierrors._provider_errors import EMPTY_PROVIDER_ERROR, MAX_BODY_BYTES, ProviderError, parse_error_body
from otel_aierrors._taxonomy import Classification, ErrorClass, call_verdict, classify
from tests.conftest import HTTP


def verdict(status: int | None, body: object, should_retry: bool | None = None) -> tuple[str, bool]:
    raw = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
    found = classify(status=status, provider_error=parse_error_body(raw), should_retry=should_retry)
    return found.error_class.value, found.retryable


class TestDialects:
    def test_openai_insufficient_quota_429_is_quota_not_rate_limit(self) -> None:
        body = {
            "error": {
                "message": "You exceeded your current quota",
                "type": "insufficient_quota",
                "param": None,
                "code": "insufficient_quota",
            }
        }
        assert verdict(429, body) == ("quota_exhausted", False)

    def test_code_beats_a_generic_type(self) -> None:
        body = {"error": {"type": "invalid_request_error", "code": "context_length_exceeded"}}
        assert verdict(400, body) == ("context_length", False)
        body = {"error": {"type": "invalid_request_error", "code": "model_not_found"}}
        assert verdict(404, body) == ("not_found", False)

    def test_lemondata_agent_first_fields(self) -> None:
        body = {
            "error": {
                "message": "Model temporarily unavailable",
                "code": "all_channels_failed",
                "retryable": True,
                "retry_after": 30,
                "hint": "Retry in 30s",
                "alternatives": [{"id": "claude-sonnet-4-6", "status": "available", "tags": []}],
            }
        }
        parsed = parse_error_body(json.dumps(body))
        assert parsed.retry_after == 30
        assert parsed.alternatives == ("claude-sonnet-4-6",)
        assert parsed.hint == "Retry in 30s"
        assert verdict(503, body) == ("upstream_error", True)

    def test_lemondata_402_insufficient_balance(self) -> None:
        body = {"error": {"type": "insufficient_balance", "code": "insufficient_balance", "balance_usd": 0.1}}
        assert verdict(402, body) == ("quota_exhausted", False)

    def test_ofox_dialect_without_type(self) -> None:
        assert verdict(502, {"error": {"code": "upstream_error", "message": "upstream failed"}}) == (
            "upstream_error",
            True,
        )
        assert verdict(503, {"error": {"code": "x", "type": "service_unavailable"}}) == ("overloaded", True)

    def test_holysheep_quota_exceeded_429_is_not_retryable(self) -> None:
        body = {"error": {"code": "quota_exceeded", "message": "Quota exceeded", "details": []}}
        assert verdict(429, body) == ("quota_exhausted", False)

    def test_403_that_only_mentions_quota(self) -> None:
        assert verdict(403, {"error": {"message": "Monthly quota exhausted"}}) == ("quota_exhausted", False)

    def test_numeric_codes_become_strings(self) -> None:
        parsed = parse_error_body(json.dumps({"error": {"code": 503, "message": "busy"}}))
        assert parsed.code == "503"
        assert verdict(503, {"error": {"code": 503}}) == ("overloaded", True)

    def test_error_as_plain_text(self) -> None:
        assert parse_error_body('{"error": "boom"}').message == "boom"

    def test_anthropic_529_overloaded(self) -> None:
        body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
        assert verdict(529, body) == ("overloaded", True)


class TestMalformedBodies:
    @pytest.mark.parametrize(
        "body",
        [
            b"<html><body>502 Bad Gateway</body></html>",
            b"",
            b'{"error": {"mess',
            b"null",
            b"[1, 2]",
            b'{"error": 5}',
            b"\xff\xfe",
            None,
        ],
    )
    def test_falls_back_to_the_status(self, body: bytes | None) -> None:
        assert verdict(502, body) == ("upstream_error", True)

    def test_huge_bodies_are_not_parsed(self) -> None:
        huge = json.dumps({"error": {"code": "insufficient_quota", "pad": "x" * MAX_BODY_BYTES}})
        assert verdict(500, huge) == ("server_error", True)


class TestStatusAndHints:
    @pytest.mark.parametrize(
        ("status", "expected"),
        [
            (400, "invalid_request"),
            (401, "auth"),
            (402, "quota_exhausted"),
            (403, "permission"),
            (404, "not_found"),
            (408, "timeout"),
            (409, "conflict"),
            (413, "payload_too_large"),
            (418, "invalid_request"),
            (422, "invalid_request"),
            (429, "rate_limit"),
            (500, "server_error"),
            (502, "upstream_error"),
            (503, "overloaded"),
            (504, "timeout"),
            (529, "overloaded"),
            (599, "server_error"),
            (302, "unknown"),
        ],
    )
    def test_status_alone(self, status: int, expected: str) -> None:
        assert verdict(status, None)[0] == expected

    def test_x_should_retry_overrides_a_class_that_can_heal(self) -> None:
        assert verdict(500, None, should_retry=False) == ("server_error", False)
        assert verdict(400, None, should_retry=True) == ("invalid_request", False)

    def test_body_retryable_overrides_the_default(self) -> None:
        assert verdict(503, {"error": {"code": "overloaded", "retryable": False}}) == ("overloaded", False)

    def test_every_class_has_a_retryable_default(self) -> None:
        assert {c.value for c in ErrorClass if c.retryable} == {
            "rate_limit",
            "overloaded",
            "upstream_error",
            "server_error",
            "timeout",
            "connection",
            "conflict",
            "stream_interrupted",
        }


class TestExceptions:
    @pytest.mark.parametrize(
        ("exception", "expected"),
        [
            (HTTP.ReadTimeout("t"), "timeout"),
            (HTTP.ConnectTimeout("t"), "timeout"),
            (HTTP.ConnectError("c"), "connection"),
            (HTTP.RemoteProtocolError("r"), "connection"),
            (TimeoutError(), "timeout"),
            (ConnectionResetError(), "connection"),
            (ValueError(), "unknown"),
        ],
    )
    def test_transport_exceptions(self, exception: BaseException, expected: str) -> None:
        assert classify(exception=exception).error_class.value == expected

    def test_every_openai_exception_is_mapped(self) -> None:
        """Fails when an SDK release adds an exception class the taxonomy cannot place."""
        request = HTTP.Request("POST", "https://api.openai.com/v1/chat/completions")
        unmapped = []
        # The exported names only: touching every module attribute makes openai 1.x build its default client.
        exported = ((name, getattr(openai, name)) for name in openai.__all__)
        for name, cls in ((name, value) for name, value in exported if inspect.isclass(value)):
            if not issubclass(cls, openai.OpenAIError) or cls in (openai.OpenAIError, openai.APIError):
                continue
            if issubclass(cls, openai.APIStatusError):
                status = _status_of(cls)
                if status is None:
                    continue  # the generic base: its status decides
                if classify(status=status).error_class is ErrorClass.UNKNOWN:
                    unmapped.append(name)
            elif issubclass(cls, openai.APIConnectionError):
                exception = cls(request=request)
                if classify(exception=exception).error_class is ErrorClass.UNKNOWN:
                    unmapped.append(name)
        assert unmapped == []


def _status_of(cls: type) -> int | None:
    status = getattr(cls, "status_code", None)
    return status if isinstance(status, int) else None


class TestCallVerdict:
    """`call_verdict`: which evidence decides how a whole call failed (pure, no server)."""

    RATE_LIMITED = Classification(ErrorClass.RATE_LIMIT, True)
    NOT_RETRYABLE_RATE_LIMIT = Classification(ErrorClass.RATE_LIMIT, False)

    @staticmethod
    def unread() -> ProviderError:
        raise AssertionError("the body was parsed although the attempt's verdict wins")

    def test_a_cancellation_is_no_failure(self) -> None:
        for exception in (asyncio.CancelledError(), KeyboardInterrupt(), SystemExit(0)):
            assert call_verdict(exception, 429, self.unread, self.RATE_LIMITED, True) is None

    def test_the_last_attempt_wins_when_it_read_the_body(self) -> None:
        assert call_verdict(Exception(), 400, self.unread, self.RATE_LIMITED, True) is self.RATE_LIMITED

    def test_the_body_the_sdk_read_decides_when_the_attempt_read_none(self) -> None:
        body = ProviderError(code="insufficient_quota")
        found = call_verdict(Exception(), 429, body, self.RATE_LIMITED, False)
        assert found == Classification(ErrorClass.QUOTA_EXHAUSTED, False)

    def test_the_body_is_parsed_lazily_and_only_when_it_decides(self) -> None:
        parsed: list[bool] = []

        def body() -> ProviderError:
            parsed.append(True)
            return ProviderError(code="server_overloaded")

        assert call_verdict(Exception(), 503, body, None, False) == Classification(ErrorClass.OVERLOADED, True)
        assert parsed == [True]

    def test_the_attempt_headers_keep_their_say_on_retrying_a_class_that_can_heal(self) -> None:
        found = call_verdict(Exception(), 429, EMPTY_PROVIDER_ERROR, self.NOT_RETRYABLE_RATE_LIMIT, False)
        assert found == Classification(ErrorClass.RATE_LIMIT, False)

    def test_a_permanent_class_from_the_body_is_never_retryable(self) -> None:
        found = call_verdict(Exception(), 401, EMPTY_PROVIDER_ERROR, self.RATE_LIMITED, False)
        assert found == Classification(ErrorClass.AUTH, False)

    def test_with_no_attempt_verdict_the_status_decides(self) -> None:
        assert call_verdict(Exception(), 500, EMPTY_PROVIDER_ERROR, None, False) == Classification(
            ErrorClass.SERVER_ERROR, True
        )

    def test_a_transport_exception_takes_the_last_attempt_verdict(self) -> None:
        timeout = Classification(ErrorClass.TIMEOUT, False)  # the headers said not to retry
        assert call_verdict(TimeoutError(), None, self.unread, timeout, False) is timeout

    def test_a_transport_exception_without_an_attempt_is_classified_by_itself(self) -> None:
        assert call_verdict(TimeoutError(), None, self.unread, None, False) == Classification(ErrorClass.TIMEOUT, True)

    def test_an_exception_of_no_known_kind_is_unknown_whatever_the_last_attempt_said(self) -> None:
        found = call_verdict(ValueError("the application's own"), None, self.unread, self.RATE_LIMITED, False)
        assert found == Classification(ErrorClass.UNKNOWN, False)

    def test_an_in_band_failure_is_classified_by_its_code(self) -> None:
        found = call_verdict(None, None, ProviderError(code="content_filter"), None, False)
        assert found == Classification(ErrorClass.CONTENT_FILTER, False)

    def test_an_in_band_failure_without_a_known_code_takes_the_default(self) -> None:
        assert call_verdict(None, None, ProviderError(code="weird"), None, False) == Classification(
            ErrorClass.SERVER_ERROR, True
        )
        found = call_verdict(None, None, ProviderError(code=None), None, False, ErrorClass.JOB_FAILED)
        assert found == Classification(ErrorClass.JOB_FAILED, False)
