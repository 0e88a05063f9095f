"""The instrumented call in progress in this context, for the hooks below it.

A context variable, so that threads and asyncio tasks each see their own. The
transport hook reads it to know that a ``send`` is one of the call's attempts;
anthropic's own call-span hook, that the call span is ours. Kept apart from
`otel_aierrors._call` (which holds the scopes observing calls and the last call
ended): ``instrument()`` loads the anthropic hook, which must not load the
recording machinery (issue 28).
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from otel_aierrors._call import CallRecord

__all__ = ["CURRENT_CALL"]


#: The call whose HTTP attempts are being made in this context: the transport
#: hook reads it to know that a ``send`` is an attempt of an instrumented call.
#: Used as is (``CURRENT_CALL.get()``, ``.set(call)``, ``.reset(token)``), with no
#: function around it: the call boundary sets and resets it, and the transport
#: reads it, on every call.
CURRENT_CALL: contextvars.ContextVar[CallRecord | None] = contextvars.ContextVar(
    "otel_aierrors_current_call", default=None
)
