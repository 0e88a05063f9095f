"""Each dialect renders one error the way its service writes it."""

from __future__ import annotations

import pytest

from otel_aierrors.chaos.dialects import DIALECTS, ErrorSpec, render_error

RATE_LIMIT = ErrorSpec(
    status=429,
    message="Rate limit: 60 rpm exceeded",
    type="requests",
    code="rate_limit_exceeded",
    retryable=True,
    retry_after=8.0,
    hint="Rate limited. Retry after 8s.",
)


def test_openai_has_exactly_the_four_fields() -> None:
    assert render_error(RATE_LIMIT) == {
        "error": {
            "message": "Rate limit: 60 rpm exceeded",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }


def test_lemondata_adds_agent_first_fields_and_gateway_types() -> None:
    error = render_error(RATE_LIMIT, "lemondata")["error"]
    assert error == {
        "message": "Rate limit: 60 rpm exceeded",
        "type": "rate_limit_exceeded",
        "code": "rate_limit_exceeded",
        "param": None,
        "retryable": True,
        "retry_after": 8,
        "hint": "Rate limited. Retry after 8s.",
    }


def test_lemondata_alternatives_suggestions_and_balance() -> None:
    spec = ErrorSpec(
        503,
        "Model x temporarily unavailable",
        "all_channels_failed",
        "all_channels_failed",
        retryable=True,
        alternatives=("claude-sonnet-4-6", "gpt-5-mini"),
        suggestions=("gpt-4o",),
        did_you_mean="gpt-4o",
        balance_usd=0.0,
    )
    error = render_error(spec, "lemondata")["error"]
    assert error["alternatives"] == [
        {"id": "claude-sonnet-4-6", "status": "available", "tags": []},
        {"id": "gpt-5-mini", "status": "available", "tags": []},
    ]
    assert error["suggestions"] == [{"id": "gpt-4o"}]
    assert error["did_you_mean"] == "gpt-4o"
    assert error["balance_usd"] == 0.0
    assert "retry_after" not in error


@pytest.mark.parametrize(
    ("status", "code", "expected_type"),
    [
        (400, "invalid_value", "invalid_request_error"),
        (401, "invalid_api_key", "authentication_error"),
        (403, "model_not_allowed", "permission_error"),
        (404, "model_not_found", "not_found_error"),
        (429, "rate_limit_exceeded", "rate_limit_error"),
        (500, None, "internal_error"),
        (502, "upstream_error", "upstream_error"),
        (503, "server_overloaded", "service_unavailable"),
        (599, None, "internal_error"),
    ],
)
def test_ofox_types_follow_the_status(status: int, code: str | None, expected_type: str) -> None:
    error = render_error(ErrorSpec(status, "m", "whatever", code), "ofox")["error"]
    assert error == {"code": code or expected_type, "message": "m", "type": expected_type}


def test_holysheep_has_no_type_and_lists_details() -> None:
    spec = ErrorSpec(
        400,
        "Invalid request parameters",
        "invalid_request_error",
        "invalid_value",
        details=(("messages", "messages cannot be empty"),),
    )
    assert render_error(spec, "holysheep") == {
        "error": {
            "code": "invalid_request",
            "message": "Invalid request parameters",
            "details": [{"field": "messages", "error": "messages cannot be empty"}],
        }
    }
    assert "details" not in render_error(RATE_LIMIT, "holysheep")["error"]


def test_numeric_codes_are_numbers() -> None:
    assert render_error(RATE_LIMIT, "numeric") == {"error": {"code": 429, "message": "Rate limit: 60 rpm exceeded"}}
    assert render_error(ErrorSpec(500, "m", None, "1003"), "numeric")["error"]["code"] == 1003


def test_anthropic_wraps_its_own_types() -> None:
    assert render_error(ErrorSpec(529, "Overloaded", None, None), "anthropic") == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }


def test_every_dialect_renders_every_status() -> None:
    for name in DIALECTS:
        for status in (400, 401, 402, 403, 404, 409, 413, 429, 500, 502, 503, 504, 529):
            assert render_error(ErrorSpec(status, "m", "t", None), name)


def test_unknown_dialect_is_refused() -> None:
    with pytest.raises(ValueError, match="klingon"):
        render_error(RATE_LIMIT, "klingon")
