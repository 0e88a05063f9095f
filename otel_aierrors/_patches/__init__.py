"""Where an SDK calls into this package: the wrappers patched onto it.

- `otel_aierrors._patches.calls`: ``request()`` of each SDK's client, the
  call boundary (one call span, the SDK's retry loop inside it);
- `otel_aierrors._patches.transport`: ``send`` of the ``httpx`` / ``httpx2``
  clients, once per HTTP attempt;
- `otel_aierrors._patches.breakers`: the application's circuit breakers
  (pybreaker, aiobreaker, purgatory), their passes and state changes;
- `otel_aierrors._patches.app_retries`: the application's retry libraries
  (tenacity, backoff), each run of a retried function a scope.

`otel_aierrors._patches.targets` names them all in one table, applied on
import by `otel_aierrors._patches.on_import`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Wrapper"]

#: A ``wrapt`` function wrapper, (wrapped, instance, args, kwargs) -> result: what every row
#: of the patch table builds.
Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]
