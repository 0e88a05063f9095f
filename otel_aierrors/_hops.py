"""Fallback hops: what changed between two calls, and when a gateway swapped the model.

A hop is a call that replaces an earlier one: another provider, model or API
key, or the same again (`hop_kind`). Gateways hop on their own: a response
whose ``model`` is another model than the one requested (`is_same_model`,
which ignores dated snapshots) is a ``gateway`` hop.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from dataclasses import dataclass
from typing import Final

from otel_aierrors import _names as n

__all__ = ["HopTarget", "hop_kind", "is_gateway_hop", "is_same_model", "model_family"]

#: A trailing snapshot or alias marker: ``-2024-08-06``, ``-20241022``, ``-0613``,
#: ``-05-06``, ``-001``, ``-latest``, ``:latest``, ``@20240620``.
_VERSION_SUFFIX: Final = re.compile(r"(?:[-@](?:\d{4}-\d{2}-\d{2}|\d{8}|\d{2}-\d{2}|\d{4}|0\d{2})|[-:@]latest)$")

#: Providers whose ``model`` is a deployment name chosen by the user, so the
#: model that answers is expected to be named differently.
_DEPLOYMENT_NAMED_PROVIDERS: Final = frozenset({"azure.ai.openai"})

#: Model names longer than this are compared uncached (a hostile gateway
#: must not fill the cache with huge names).
_MAX_CACHED_MODEL_LENGTH: Final = 128

#: Mixed into key digests so that they mean nothing outside this process.
_KEY_SALT: Final = os.urandom(16)


def model_family(model: str) -> str:
    """The model without a gateway prefix (``openai/``), case, or snapshot suffix.

    Providers answer an alias with a dated snapshot (``gpt-4o`` ->
    ``gpt-4o-2024-08-06``, ``claude-3-5-sonnet-latest`` ->
    ``claude-3-5-sonnet-20241022``); that is the same model, not a fallback.
    """
    name = model.strip().lower().rsplit("/", 1)[-1]
    while True:
        stripped = _VERSION_SUFFIX.sub("", name)
        if stripped == name or not stripped:
            return name
        name = stripped


def is_same_model(requested: str, served: str) -> bool:
    """Whether ``served`` is ``requested`` itself or one of its snapshots, not another model.

    Args:
        requested: the ``model`` of the request.
        served: the ``model`` the response says answered.

    Returns:
        True for ``gpt-4o`` / ``gpt-4o-2024-08-06`` and ``openai/gpt-4o`` /
        ``gpt-4o``; False for ``gpt-4o`` / ``gpt-4o-mini``.
    """
    if requested == served:
        return True
    if len(requested) > _MAX_CACHED_MODEL_LENGTH or len(served) > _MAX_CACHED_MODEL_LENGTH:
        return model_family(requested) == model_family(served)
    return _is_same_model_cached(requested, served)


@functools.lru_cache(maxsize=512)
def _is_same_model_cached(requested: str, served: str) -> bool:
    # Cached: every call to OpenAI asks it (``gpt-4o`` is answered by ``gpt-4o-2024-08-06``).
    return model_family(requested) == model_family(served)


def is_gateway_hop(requested: str | None, served: str | None, provider: str) -> bool:
    """Whether another model answered than the one requested (a gateway's own fallback)."""
    if not requested or not served or provider in _DEPLOYMENT_NAMED_PROVIDERS:
        return False
    return not is_same_model(requested, served)


def key_digest(secrets: tuple[str, ...]) -> bytes | None:
    """A salted digest of the API key(s): enough to tell keys apart, never exported."""
    if not secrets:
        return None
    return hashlib.blake2b("\0".join(secrets).encode(), digest_size=16, key=_KEY_SALT).digest()


@dataclass(frozen=True, slots=True)
class HopTarget:
    """Where one call went: what `hop_kind` compares."""

    model: str | None
    address: str | None
    #: Salted digest of the API key; the key itself is never kept.
    key: bytes | None = None


def hop_kind(previous: HopTarget, current: HopTarget) -> str:
    """What changed between two consecutive calls: provider, model, key, or nothing (retry)."""
    if previous.address != current.address:
        return n.FALLBACK_KIND_PROVIDER
    if previous.model != current.model:
        return n.FALLBACK_KIND_MODEL
    if previous.key != current.key:
        return n.FALLBACK_KIND_KEY
    return n.FALLBACK_KIND_RETRY
