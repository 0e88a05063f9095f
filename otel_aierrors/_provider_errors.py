"""Provider error bodies, read in every dialect the seeds show.

OpenAI ``{"error": {message, type, code, param}}``, LemonData's agent-first
fields (``retryable``, ``retry_after``, ``hint``, ``did_you_mean``,
``alternatives``), OfoxAI and HolySheep shapes, codes given as numbers,
``{"error": "text"}`` and Anthropic's ``{"type": "error", "error": {...}}``.
Nothing here raises, and nothing unbounded is kept: malformed, empty,
truncated or huge bodies give an empty `ProviderError`, and the status decides.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, Final, NamedTuple

from otel_aierrors._bounds import INT64_MAX, MAX_NUMBER_TEXT, bounded_text, non_negative_seconds, report_out_of_range

__all__ = ["EMPTY_PROVIDER_ERROR", "MAX_ALTERNATIVE_LENGTH", "ProviderError", "parse_error_body"]


#: Bodies larger than this are not parsed: a 2 MiB HTML page from a proxy
#: says nothing the status code does not.
MAX_BODY_BYTES: Final = 64 * 1024


class ProviderError(NamedTuple):
    """The fields of a provider's error body, in any of the known dialects.

    NamedTuples rather than frozen dataclasses here: one is built per failed
    attempt, and a tuple is several times cheaper to build.
    """

    code: str | None = None
    type: str | None = None
    param: str | None = None
    message: str | None = None
    #: Agent-first hints (LemonData): the server's own verdict and advice.
    retryable: bool | None = None
    retry_after: float | None = None
    hint: str | None = None
    did_you_mean: str | None = None
    alternatives: tuple[str, ...] = ()


EMPTY_PROVIDER_ERROR: Final = ProviderError()


#: Longest text kept from a body field: codes, types and params are exported
#: only when they are short identifiers (see `otel_aierrors._redaction`), and
#: messages are cut again before export; this bounds what a failed call retains.
MAX_FIELD_LENGTH: Final = 1024
#: At most this many ``alternatives`` are read, each at most `MAX_ALTERNATIVE_LENGTH`.
MAX_ALTERNATIVES: Final = 16
MAX_ALTERNATIVE_LENGTH: Final = 128


def parse_error_body(body: bytes | str | Mapping[str, Any] | None) -> ProviderError:
    """Read an error body in any known dialect; never raises.

    Understands ``{"error": {...}}`` (OpenAI, LemonData, OfoxAI, HolySheep),
    ``{"error": "text"}``, a bare ``{"code": ..., "message": ...}`` and
    Anthropic's ``{"type": "error", "error": {...}}``. Codes given as numbers
    become strings. Every text field is cut to `MAX_FIELD_LENGTH` characters,
    numbers outside int64 are not codes, ``retry_after`` is finite seconds in
    ``[0, one year]`` (see `otel_aierrors._bounds`).
    """
    try:
        data: Any = body
        if isinstance(body, (bytes, bytearray, str)):
            if not body or len(body) > MAX_BODY_BYTES:
                return EMPTY_PROVIDER_ERROR
            data = json.loads(body)
        return _provider_error_from(data)
    except Exception:  # malformed, truncated, too deeply nested or exotic bodies: the status decides
        return EMPTY_PROVIDER_ERROR


def _provider_error_from(data: Any) -> ProviderError:
    if not isinstance(data, Mapping):
        return EMPTY_PROVIDER_ERROR
    inner = data.get("error", data)
    if isinstance(inner, str):
        return ProviderError(message=bounded_text(inner, MAX_FIELD_LENGTH))
    if not isinstance(inner, Mapping):
        return EMPTY_PROVIDER_ERROR
    retryable = inner.get("retryable")
    return ProviderError(
        code=_as_text(inner.get("code")),
        type=_as_text(inner.get("type")),
        param=_as_text(inner.get("param")),
        message=_as_text(inner.get("message")),
        retryable=retryable if isinstance(retryable, bool) else None,
        retry_after=_as_seconds(inner.get("retry_after")),
        hint=_as_text(inner.get("hint")),
        did_you_mean=_as_text(inner.get("did_you_mean")),
        alternatives=_alternative_ids(inner.get("alternatives")),
    )


def _as_text(value: Any) -> str | None:
    if value is None:  # most fields of most bodies
        return None
    if isinstance(value, str):
        return bounded_text(value, MAX_FIELD_LENGTH)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if -INT64_MAX <= value <= INT64_MAX else None
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    return None


def _as_seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    if isinstance(value, str) and len(value) > MAX_NUMBER_TEXT:
        return None
    try:
        seconds = float(value)
    except (ValueError, OverflowError):  # OverflowError: an int beyond any float
        report_out_of_range("error.retry_after", "not a number, dropped")
        return None
    return non_negative_seconds(seconds, "error.retry_after")


def _alternative_ids(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    ids: list[str] = []
    for item in value[:MAX_ALTERNATIVES]:
        if isinstance(item, Mapping):
            item = item.get("id")
        if isinstance(item, str) and len(item) <= MAX_ALTERNATIVE_LENGTH:
            ids.append(item)
    return tuple(ids)
