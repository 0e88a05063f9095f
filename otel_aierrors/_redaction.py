"""Keep credentials, prompts and unbounded text out of exported telemetry.

Providers and gateways echo what they received: the API key ("Incorrect API
key provided: ..."), other headers, the prompt ("Invalid 'messages[0].content':
'...'"). This module owns what free text may leave the process:

* `client_secrets` collects every credential a client was configured with (the
  API key, credential-like default headers and query values, URL userinfo),
  with the encodings under which they get echoed (stripped, URL-encoded, Basic
  base64, ``repr`` / JSON escaped);
* `redact` masks those and the generic key shapes in a text, cutting it first
  so that its cost does not depend on the text's size;
* `exportable_token` admits provider codes, types and params only when they
  look like identifiers, not prose;
* `content_capture_enabled` reads the GenAI conventions' content-capture
  switch, the only way provider messages are exported at all.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Final
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

__all__ = [
    "CAPTURE_CONTENT_ENV",
    "MAX_TEXT_LENGTH",
    "MAX_TOKEN_LENGTH",
    "NO_CREDENTIALS",
    "REDACTED",
    "Credentials",
    "client_secrets",
    "content_capture_enabled",
    "exportable_token",
    "redact",
]

#: Longest free-form value exported (messages, hints); the rest is cut.
MAX_TEXT_LENGTH: Final = 256
#: Longest provider code, type or param exported.
MAX_TOKEN_LENGTH: Final = 64
REDACTED: Final = "[REDACTED]"

#: The GenAI conventions' content-capture switch (opentelemetry-python-contrib's
#: util-genai and openai-v2 instrumentation read the same variable).
CAPTURE_CONTENT_ENV: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
#: Values that turn capture on for span data: the boolean form of the
#: openai-v2 instrumentation and the enum of util-genai's experimental mode.
#: ``EVENT_ONLY`` asks for log events, which this package does not emit.
_CAPTURE_ON: Final = frozenset({"true", "span_only", "span_and_event"})

#: Values shorter than this are not matched by value: too likely to match
#: ordinary words. Their encoded forms (a Basic credential) are long enough.
_MIN_SECRET_LENGTH: Final = 8
#: A run of 12 or more key characters that is part of a known secret is masked:
#: providers echo truncated keys ("sk-proj-abcd...wxyz").
_MIN_FRAGMENT_LENGTH: Final = 12
#: How far past the cut the generic patterns need to see to match a key that
#: starts before it (the longest minimum match, with margin).
_GENERIC_REACH: Final = 64
#: At most this many secret forms per client are kept (their number is set by
#: the application's configuration, not by servers).
_MAX_SECRET_FORMS: Final = 256

#: Key shapes of OpenAI-compatible providers (``sk-``, ``sk-proj-``, ``sk-ant-``,
#: ``rk-``, ``pk-`` ...), masked forms included (``sk-abc1****wxyz``), bearer and
#: Basic credentials, ``api_key=`` pairs, URL userinfo, credential query
#: parameters (``?key=``, ``&token=``, ``&sig=``) and JWTs.
_GENERIC: Final = re.compile(
    r"""
    \b(?:sk|rk|pk|ak|key)[-_][A-Za-z0-9_\-\*\.]{6,}
    | (?i:bearer)\s+[A-Za-z0-9_\-\.\*=+/~]{6,}
    | (?i:basic)\s+(?=[A-Za-z0-9+/=][a-z0-9+/=]*[A-Z0-9+/=])[A-Za-z0-9+/=]{8,}  # not "Basic Authentication"
    | (?i:api[-_]?key|access[-_]?token|secret|password|passwd)["']?\s{0,4}[:=]\s{0,4}["']?[^\s"',}&]{6,}
    | (?<=://)[^/\s@]{1,256}(?=@)
    | (?<=[?&;])(?i:key|token|sig|signature|auth|code|password|secret|api[-_]?key|access[-_]?token)=[^&#\s"']{4,}
    | \beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{4,}(?:\.[A-Za-z0-9_\-]*)?
    """,
    re.VERBOSE,
)
_FRAGMENT: Final = re.compile(rf"[A-Za-z0-9_\-.~+/=]{{{_MIN_FRAGMENT_LENGTH},}}")

#: Header and query names that carry credentials: substrings, and whole
#: ``-``/``_`` separated parts for the short ones.
_CREDENTIAL_NAME_PARTS: Final = ("auth", "key", "token", "secret", "passw", "cookie", "session", "credential", "signa")
_CREDENTIAL_NAME_WORDS: Final = frozenset({"sig", "pwd", "pass", "code", "jwt", "sas"})
_SCHEME: Final = re.compile(r"([A-Za-z][A-Za-z0-9_\-]*)\s+(\S+)\s*\Z")
#: A query value that looks random: long, no spaces, letters and digits mixed.
_RANDOM_LOOKING: Final = re.compile(r"(?=.*[A-Za-z])(?=.*[0-9])[A-Za-z0-9_\-.~+/=]{16,}\Z")

#: Provider codes, types and params: identifiers, not prose (no whitespace,
#: no quotes). ``messages[0].content`` and ``invalid_api_key`` pass.
_TOKEN: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/\-\[\]]*\Z")
#: A part of an identifier that looks like a key rather than a word: 16 or more
#: letters and digits mixed, with no separator (``gwXApiKey7Hq2LmXp9RtY4vB``).
_SEPARATORS: Final = re.compile(r"[_.:/\-\[\]]+")
_KEY_LIKE_PART: Final = re.compile(r"(?=[A-Za-z0-9]{16})(?=[a-zA-Z]*[0-9])(?=[0-9]*[a-zA-Z])")


def content_capture_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the user opted in to exporting provider message text.

    ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` set to ``true``,
    ``SPAN_ONLY`` or ``SPAN_AND_EVENT`` (case-insensitive) turns it on; any
    other value, or none, leaves it off. Read once, when instrumenting.
    """
    value = (os.environ if environ is None else environ).get(CAPTURE_CONTENT_ENV, "")
    return value.strip().lower() in _CAPTURE_ON


def client_secrets(
    api_key: object = None,
    headers: Mapping[str, object] | None = None,
    query: Mapping[str, object] | None = None,
    base_url: object = None,
) -> tuple[str, ...]:
    """Every credential a client was configured with, in every form it may be echoed in.

    Args:
        api_key: the client's API key (``client.api_key``).
        headers: the client's default headers; values under credential-like
            names (``authorization``, ``api-key``, ``x-api-key``, ``*-key``,
            ``*-token``, ``cookie``...) are collected, and the credential of an
            ``Authorization: <scheme> <credential>`` value on its own.
        query: the client's default query; values under credential-like names
            (``key``, ``api_key``, ``token``, ``sig``...) and values that look
            random are collected.
        base_url: the client's base URL (text or an ``httpx`` URL): userinfo and
            credential-like query values.

    Returns:
        The forms to mask, longest first, for `redact`.
    """
    header_items = _string_items(headers)
    query_items = _string_items(query)
    key = api_key if isinstance(api_key, str) else None
    return _client_secrets(key, header_items, query_items, _url_text(base_url))


class Credentials:
    """A client's credential sources, turned into `client_secrets` forms only when first needed.

    Most calls succeed and mask nothing, so what every call pays is four references;
    a failed one pays `client_secrets` once (and its cache makes that cheap too).
    """

    __slots__ = ("_secrets", "_sources")

    def __init__(
        self,
        api_key: object = None,
        headers: Mapping[str, object] | None = None,
        query: Mapping[str, object] | None = None,
        base_url: object = None,
    ) -> None:
        self._sources = (api_key, headers, query, base_url)
        self._secrets: tuple[str, ...] | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        """The forms to mask (see `client_secrets`)."""
        if self._secrets is None:
            self._secrets = client_secrets(*self._sources)
        return self._secrets


#: A call with no known credentials (masks only the generic key shapes).
NO_CREDENTIALS: Final = Credentials()


def _url_text(base_url: object) -> str:
    """The URL as text, or "" when it has no userinfo and no query to take credentials from."""
    if base_url is None or isinstance(base_url, str):
        return base_url or ""
    # An httpx / httpx2 URL: its parts are cheap, its text is not (~8 us), and
    # this runs on every call.
    userinfo, query = getattr(base_url, "userinfo", None), getattr(base_url, "query", None)
    if userinfo is not None and query is not None and not userinfo and not query:
        return ""
    return str(base_url)


def _string_items(mapping: Mapping[str, object] | None) -> tuple[tuple[str, str], ...]:
    if not mapping:
        return ()
    items: list[tuple[str, str]] = []
    for name, value in mapping.items():
        values = value if isinstance(value, (list, tuple)) else (value,)
        for item in values:
            if isinstance(item, (str, int)) and not isinstance(item, bool):
                items.append((str(name), str(item)))
    return tuple(items)


@functools.lru_cache(maxsize=64)
def _client_secrets(
    api_key: str | None, headers: tuple[tuple[str, str], ...], query: tuple[tuple[str, str], ...], base_url: str
) -> tuple[str, ...]:
    # Cached: a client's configuration does not change between its calls. The
    # keys come from the application's configuration, not from servers.
    raw: list[str] = []
    if api_key:
        raw.append(api_key)
    for name, value in headers:
        if _is_credential_name(name):
            raw.extend(_header_credentials(value))
    raw.extend(_query_credentials(query))
    if base_url:
        raw.extend(_url_credentials(base_url))
    forms: dict[str, None] = {}
    for secret in raw:
        for form in _forms(secret):
            if len(form) >= _MIN_SECRET_LENGTH:
                forms[form] = None
    return tuple(sorted(forms, key=len, reverse=True)[:_MAX_SECRET_FORMS])


def _is_credential_name(name: str) -> bool:
    lowered = name.lower()
    if any(part in lowered for part in _CREDENTIAL_NAME_PARTS):
        return True
    return any(word in _CREDENTIAL_NAME_WORDS for word in re.split(r"[-_.\s]+", lowered))


def _header_credentials(value: str) -> Iterator[str]:
    yield value
    for part in value.split(";"):  # cookies: name=value; name2=value2
        _, sep, cookie = part.partition("=")
        if sep and cookie.strip():
            yield cookie.strip()
    scheme = _SCHEME.match(value.strip())
    if scheme is not None:
        credential = scheme.group(2)
        yield credential
        if scheme.group(1).lower() == "basic":
            yield from _basic_decoded(credential)


def _basic_decoded(credential: str) -> Iterator[str]:
    try:
        decoded = base64.b64decode(credential, validate=True).decode("utf-8")
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        return
    yield decoded
    _, sep, password = decoded.partition(":")
    if sep and password:
        yield password


def _query_credentials(items: Iterable[tuple[str, str]]) -> Iterator[str]:
    for name, value in items:
        if _is_credential_name(name) or _RANDOM_LOOKING.match(value):
            yield value


def _url_credentials(url: str) -> Iterator[str]:
    try:
        parts = urlsplit(url)
        username, password = parts.username, parts.password
    except ValueError:  # an invalid port or bracket: the SDK would refuse it anyway
        return
    if password:
        user = unquote(username or "")
        yield unquote(password)
        yield f"{user}:{unquote(password)}"
        yield f"{username or ''}:{password}"  # as written, percent-encoded
        yield base64.b64encode(f"{user}:{unquote(password)}".encode()).decode("ascii")  # HTTP Basic
    elif username:
        yield unquote(username)
    yield from _query_credentials(parse_qsl(parts.query, keep_blank_values=True))


def _forms(secret: str) -> Iterator[str]:
    """``secret`` and the forms it takes when echoed: stripped, URL-encoded, escaped."""
    for value in {secret, secret.strip()}:
        yield value
        yield quote(value, safe="")
        yield quote_plus(value)
        yield repr(value)[1:-1]
        yield json.dumps(value)[1:-1]
        yield repr(value.encode("utf-8"))[2:-1]


def redact(text: str, secrets: tuple[str, ...] = (), limit: int = MAX_TEXT_LENGTH) -> str:
    """``text`` cut to ``limit`` characters, with every secret in it masked.

    The text is cut *before* it is searched, so a 20 MB message costs what a
    short one does. The window searched reaches past the cut by the longest
    secret form, and nothing from that margin is kept: a secret that starts
    before the cut is matched whole and masked, and no prefix of one that
    straddles the cut survives.

    Args:
        text: a provider message, hint or exception message.
        secrets: forms to mask wherever they appear (see `client_secrets`),
            whatever their shape; generic key shapes are masked as well.
        limit: the longest result; a cut result ends with ``…``.
    """
    reach = max(_GENERIC_REACH, max(map(len, secrets), default=0))
    cut = len(text) > limit + reach
    window = text[: limit + reach] if cut else text
    keep_until = limit if cut else len(window)
    spans = _secret_spans(window, secrets)
    parts: list[str] = []
    position = 0
    for start, end in spans:
        if start >= keep_until:
            break
        parts.append(window[position:start])
        parts.append(REDACTED)
        position = end
    if position < keep_until:
        parts.append(window[position:keep_until])
    result = "".join(parts)
    if cut or len(result) > limit:
        result = result[: limit - 1] + "…"
    return result


def _secret_spans(window: str, secrets: tuple[str, ...]) -> list[tuple[int, int]]:
    """The merged (start, end) ranges of ``window`` that hold a secret, in order."""
    spans: list[tuple[int, int]] = [match.span() for match in _GENERIC.finditer(window)]
    for secret in secrets:
        start = window.find(secret)
        while start != -1:
            spans.append((start, start + len(secret)))
            start = window.find(secret, start + 1)
    if secrets:
        for match in _FRAGMENT.finditer(window):
            fragment = match.group()
            if any(fragment in secret for secret in secrets):
                spans.append(match.span())
    if not spans:
        return spans
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        last_start, last_end = merged[-1]
        if start <= last_end:
            merged[-1] = (last_start, max(last_end, end))
        else:
            merged.append((start, end))
    return merged


def exportable_token(value: str | None, secrets: tuple[str, ...] = (), limit: int = MAX_TOKEN_LENGTH) -> str | None:
    """``value`` if it looks like an identifier (a provider code, type, param, model id), else None.

    At most ``limit`` characters of letters, digits and ``_ . : / - [ ]``:
    prose, quotes and whitespace (an echoed prompt) do not pass, nor does
    anything that holds a secret or a run of 16 letters and digits mixed
    (a key the client did not know it sent).
    """
    if value is None or len(value) > limit:
        return None
    return _exportable_token(value, secrets, limit)


@functools.lru_cache(maxsize=256)
def _exportable_token(value: str, secrets: tuple[str, ...], limit: int) -> str | None:
    # Cached: the same few codes ("rate_limit_exceeded") arrive on every retry of every call.
    if not _TOKEN.match(value):
        return None
    if any(_KEY_LIKE_PART.match(part) for part in _SEPARATORS.split(value)):
        return None
    if redact(value, secrets, limit) != value:
        return None
    return value
