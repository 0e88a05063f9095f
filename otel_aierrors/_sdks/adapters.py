"""Each SDK row's adapter: the row's facts and its shapes module's readers, in one object.

Built when the row's SDK is imported (the patch table's hook for its call
boundary), never by ``instrument()``: the shapes modules and `_results` load
only then (issue 28).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from otel_aierrors._patches import Wrapper
from otel_aierrors._results import ResponseSummary, StreamSummary
from otel_aierrors._sdks import SDK_ROWS, SdkRow

__all__ = ["ADAPTERS", "ChunkReader", "SdkAdapter", "Wrapper", "adapter_of", "extra_patch"]

#: Client classes whose provider one adapter remembers (an SDK has a handful).
_CLIENT_CLASSES: Final = 64
#: Reads one streamed chunk into the summary.
ChunkReader = Callable[[StreamSummary, Any], None]


@dataclass(frozen=True, slots=True)
class SdkAdapter:
    """What one SDK family needs beyond the shared generated-SDK mechanics."""

    #: The table's row: requirement, modules, provider, internal paths, other clouds' clients.
    row: SdkRow
    #: Summarizes what a non-streamed call returned (never reads content).
    summarize: Callable[[Any], ResponseSummary | None]
    #: Folds one streamed chunk or event into the stream's summary.
    read_chunk: ChunkReader

    @property
    def requirement(self) -> str:
        return self.row.requirement

    @property
    def base_client_module(self) -> str:
        return self.row.base_client_module

    @property
    def provider(self) -> str:
        return self.row.provider

    #: The provider of a client of this SDK, by the client's class (`provider_of_class`, cached:
    #: a call looks it up without running any Python).
    provider_of_class: Callable[[type], str]


def provider_of_class(row: SdkRow, client_class: type) -> str:
    """A client class's provider: the class's own GenAI name, else its module's, else the row's.

    anthropic's ``AnthropicBedrock`` / ``AnthropicVertex`` share the base client; 2.x
    names their providers in ``_gen_ai_provider_name``, older releases only by module.
    """
    name = getattr(client_class, "_gen_ai_provider_name", None)
    if isinstance(name, str) and name:
        return name
    module = client_class.__module__
    for prefix, provider in row.client_modules:
        if module.startswith(prefix):
            return provider
    return row.provider


def _shapes(row: SdkRow) -> Any:
    return importlib.import_module(f"otel_aierrors._sdks.{row.shapes}")


@functools.cache
def adapter_of(row: SdkRow) -> SdkAdapter:
    """The row's adapter, made once."""
    shapes = _shapes(row)
    # ``lru_cache`` over ``partial``: both C, so a cached class costs no Python frame.
    by_class = functools.lru_cache(maxsize=_CLIENT_CLASSES)(functools.partial(provider_of_class, row))
    return SdkAdapter(row, shapes.summarize, shapes.read_chunk, by_class)


def extra_patch(row: SdkRow, name: str) -> Wrapper:
    """The wrapper ``name`` of the row's shapes module (an ``extra_patches`` entry)."""
    wrapper: Wrapper = getattr(_shapes(row), name)
    return wrapper


#: The adapter of every row, in table order (loads every shapes module).
ADAPTERS: Final = tuple(adapter_of(row) for row in SDK_ROWS)
