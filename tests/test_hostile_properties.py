"""Property tests: whatever a server sends, the parsers return bounded, typed, in-range values.

Random header values and error bodies go through the header parser,
`parse_error_body` and the classification; random texts with planted secrets
go through `redact`. No example may raise, return an out-of-range number, an
over-long string, or keep a planted secret.
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import quote, quote_plus

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otel_aierrors._bounds import INT64_MAX, MAX_SECONDS
from otel_aierrors._headers import ALLOWED_HEADERS, MAX_REQUEST_ID_LENGTH, read_headers
from otel_aierrors._provider_errors import (
    MAX_ALTERNATIVE_LENGTH,
    MAX_ALTERNATIVES,
    MAX_FIELD_LENGTH,
    ProviderError,
    parse_error_body,
)
from otel_aierrors._redaction import MAX_TEXT_LENGTH, client_secrets, exportable_token, redact
from otel_aierrors._taxonomy import ErrorClass, classify

PROPERTIES = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

_NUMBERISH = st.sampled_from(
    [
        "18446744073709551615",
        "-18446744073709551615",
        "9223372036854775808",
        "-1",
        "-0",
        "nan",
        "NaN",
        "inf",
        "-inf",
        "1e400",
        "-5s",
        "1h2m3.5s",
        "0.000001ms",
        "99999999999999999999h",
        " 7 ",
        "1_000",
        "Mon, 01 Jan 1900 00:00:00 GMT",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "Thu, 01 Jan 1970 00:00:00 GMT",
    ]
)
_HEADER_VALUE = st.one_of(
    _NUMBERISH.map(str.encode),
    st.integers(min_value=-(2**80), max_value=2**80).map(lambda number: str(number).encode()),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda number: repr(number).encode()),
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda text: text.encode("utf-8")),
)
_HEADERS = st.lists(st.tuples(st.sampled_from(sorted(ALLOWED_HEADERS)), _HEADER_VALUE), max_size=12)


def _in_seconds_range(value: float | None) -> bool:
    return value is None or (type(value) is float and math.isfinite(value) and 0.0 <= value <= MAX_SECONDS)


def _in_int_range(value: int | None) -> bool:
    return value is None or (type(value) is int and 0 <= value <= INT64_MAX)


@PROPERTIES
@given(_HEADERS, st.booleans())
def test_header_values_are_typed_and_in_range(headers: list[tuple[bytes, bytes]], with_retry_after: bool) -> None:
    parsed = read_headers(headers, with_retry_after=with_retry_after)
    assert _in_seconds_range(parsed.retry_after)
    assert _in_seconds_range(parsed.reset_requests)
    assert _in_seconds_range(parsed.reset_tokens)
    assert _in_int_range(parsed.remaining_requests)
    assert _in_int_range(parsed.remaining_tokens)
    assert parsed.should_retry in (None, True, False)
    if parsed.request_id is not None:
        assert 0 < len(parsed.request_id) <= MAX_REQUEST_ID_LENGTH
        assert parsed.request_id.isascii() and parsed.request_id.isprintable() and " " not in parsed.request_id


_JSON_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**200), max_value=2**200),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=50),
    st.builds(lambda text, repeat: text * repeat, st.text(min_size=1, max_size=8), st.integers(200, 2000)),
)
_JSON = st.recursive(
    _JSON_SCALAR,
    lambda children: st.lists(children, max_size=20) | st.dictionaries(st.text(max_size=12), children, max_size=8),
    max_leaves=20,
)
_ERROR_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        key: _JSON for key in ("code", "type", "param", "message", "retryable", "retry_after", "hint", "did_you_mean")
    }
    | {"alternatives": st.lists(st.one_of(_JSON, st.fixed_dictionaries({"id": _JSON})), max_size=40)},
)
_BODY = st.one_of(
    _ERROR_FIELDS.map(lambda fields: {"error": fields}),
    _ERROR_FIELDS,
    _JSON,
)


def _check_provider_error(error: ProviderError) -> None:
    for text in (error.code, error.type, error.param, error.message, error.hint, error.did_you_mean):
        assert text is None or (type(text) is str and len(text) <= MAX_FIELD_LENGTH)
    assert error.retryable in (None, True, False)
    assert _in_seconds_range(error.retry_after)
    assert len(error.alternatives) <= MAX_ALTERNATIVES
    assert all(type(alt) is str and len(alt) <= MAX_ALTERNATIVE_LENGTH for alt in error.alternatives)


@PROPERTIES
@given(_BODY, st.sampled_from(["mapping", "json", "bytes"]))
def test_error_bodies_give_bounded_fields_and_never_raise(body: Any, form: str) -> None:
    if form == "mapping":
        parsed = parse_error_body(body)
    else:
        text = json.dumps(body, allow_nan=True)
        parsed = parse_error_body(text if form == "json" else text.encode())
    _check_provider_error(parsed)


@PROPERTIES
@given(st.binary(max_size=2000))
def test_garbage_bodies_never_raise(body: bytes) -> None:
    _check_provider_error(parse_error_body(body))


@PROPERTIES
@given(st.none() | st.integers(min_value=-1000, max_value=100_000), _BODY, st.sampled_from([None, True, False]))
def test_classification_always_gives_a_class_and_a_verdict(status: int | None, body: Any, should_retry: Any) -> None:
    classification = classify(status=status, provider_error=parse_error_body(body), should_retry=should_retry)
    assert isinstance(classification.error_class, ErrorClass)
    assert type(classification.retryable) is bool
    if classification.error_class.permanent:
        assert classification.retryable is False


_KEY_CHARS = st.characters(min_codepoint=33, max_codepoint=126)
_SECRET = st.text(_KEY_CHARS, min_size=12, max_size=80)
_FILLER = st.text(max_size=600)


def _forms(secret: str) -> list[str]:
    return [secret, quote(secret, safe=""), quote_plus(secret), repr(secret)[1:-1], json.dumps(secret)[1:-1]]


@PROPERTIES
@given(
    api_key=_SECRET,
    header_key=_SECRET,
    query_key=_SECRET,
    prefix=_FILLER,
    suffix=_FILLER,
    which=st.integers(min_value=0, max_value=2),
    form=st.integers(min_value=0, max_value=4),
    newline=st.booleans(),
)
def test_a_planted_secret_never_survives_redaction(
    api_key: str, header_key: str, query_key: str, prefix: str, suffix: str, which: int, form: int, newline: bool
) -> None:
    secrets = client_secrets(
        api_key + ("\n" if newline else ""), {"x-api-key": header_key}, {"key": query_key}, "https://api.example/v1"
    )
    planted = (api_key, header_key, query_key)[which]
    echoed = _forms(planted)[form]
    text = prefix + echoed + suffix
    redacted = redact(text, secrets)
    assert len(redacted) <= MAX_TEXT_LENGTH
    assert planted not in redacted
    assert echoed not in redacted
    # No 12-character piece of the secret survives, at the cut or anywhere,
    # unless the random filler itself contains it.
    for start in range(len(planted) - 11):
        piece = planted[start : start + 12]
        assert piece not in redacted or piece in prefix or piece in suffix or piece in "[REDACTED]…"


@PROPERTIES
@given(st.text(max_size=200), st.integers(min_value=1, max_value=512))
def test_redaction_output_is_bounded(text: str, limit: int) -> None:
    assert len(redact(text, (), limit)) <= limit


@PROPERTIES
@given(st.one_of(st.none(), st.text(max_size=120)))
def test_exportable_tokens_are_short_identifiers(value: str | None) -> None:
    token = exportable_token(value)
    if token is not None:
        assert token == value and len(token) <= 64
        assert not any(char.isspace() or char in "'\"`<>{}," for char in token)
