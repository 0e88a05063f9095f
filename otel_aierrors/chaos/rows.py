"""The row types of the fault table, and a row bound to one step's parameters.

A :class:`Fault` row says everything about one fault name: its default status,
the error body it renders (an :class:`ErrorBody`, for error faults), whether it
sends a rate-limit budget by default, the parameters it takes (with defaults
and one-line docs) and the function that builds its
:data:`~otel_aierrors.chaos.exchange.Outcome`. The rows themselves are in
:mod:`~otel_aierrors.chaos.faults`; the functions in
:mod:`~otel_aierrors.chaos.errors` and :mod:`~otel_aierrors.chaos.replies`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from .exchange import ChaosRequest, Outcome, Pace, Reply
from .headers import RateLimitBudget
from .script import Param, Params

__all__ = ["BODY_PARAMS", "MAX_WAIT", "Answerer", "BoundFault", "ErrorBody", "Extras", "Fault"]

#: Upper bound, in seconds, of any delay, hang or stall a step can ask for.
MAX_WAIT = 60.0
#: Step parameters that shape how any non-streamed body leaves (applied by :class:`BoundFault`).
BODY_PARAMS: tuple[Param, ...] = (
    Param("body_delay", "0", "seconds between the headers and the body"),
    Param("drip", "0", "seconds between pieces of the body"),
    Param("drip_pieces", "10", "pieces a dripped body is sent in", "integer"),
    Param("cut_body", "", "send only this many body bytes under the full content-length, then close", "integer"),
)


@dataclass(frozen=True)
class ErrorBody:
    """An error fault's body in OpenAI's terms, before a dialect renders it."""

    #: OpenAI ``type`` (None for JSON null).
    type: str | None
    #: OpenAI ``code`` (None for JSON null, as OpenAI sends for server errors).
    code: str | None
    #: Message template; ``{model}`` and ``{key}`` are filled from the request.
    message: str
    #: OpenAI ``param``.
    param: str | None = None
    #: Next-step guidance (lemondata's ``hint``).
    hint: str | None = None
    #: ``retry_after`` for bodies that carry one, when no retry parameter is given.
    retry_after: float | None = None
    #: Dialect used when the step names none (on ``/v1/messages``: ``anthropic``).
    dialect: str = "openai"
    #: Status in Anthropic's dialect when it differs (``overloaded``: 529); asking
    #: for this status also selects that dialect.
    anthropic_status: int | None = None
    #: Message in Anthropic's dialect when it differs (``Overloaded``).
    anthropic_message: str | None = None


#: Builds the outcome of a bound fault for one request.
Answerer = Callable[["BoundFault", ChaosRequest], Outcome]
#: Extra :class:`~otel_aierrors.chaos.dialects.ErrorSpec` fields a row derives from the request.
Extras = Callable[["BoundFault", ChaosRequest], dict[str, object]]


@dataclass(frozen=True)
class Fault:
    """One row of the fault table."""

    #: Name used in scripts and profiles.
    name: str
    #: Default HTTP status; None when no response is sent (``hang``, ``disconnect``).
    status: int | None
    #: One line saying what the client gets.
    doc: str
    #: Builds the outcome.
    answer: Answerer
    #: The error body, for faults that send one.
    body: ErrorBody | None = None
    #: Rate-limit budget sent by default; None sends one only on ``ratelimit=1``.
    budget: RateLimitBudget | None = None
    #: Parameters of this fault only.
    params: tuple[Param, ...] = ()
    #: Names of the shared parameter groups it also takes (see ``faults.GROUPS``).
    groups: tuple[str, ...] = ()
    #: Extra error-body fields derived from the request.
    extras: Extras | None = None


@dataclass(frozen=True)
class BoundFault:
    """A row with one step's validated parameters; call it with a request."""

    row: Fault
    params: Params

    @property
    def name(self) -> str:
        """The fault's name."""
        return self.row.name

    @property
    def delay(self) -> float:
        """Seconds to wait before answering (the ``delay`` parameter)."""
        return self.params.number("delay", 0.0, hi=MAX_WAIT)

    def __call__(self, request: ChaosRequest) -> Outcome:
        """Decide what the server sends for ``request``."""
        outcome = self.row.answer(self, request)
        return self._shape(outcome) if isinstance(outcome, Reply) else outcome

    def _shape(self, reply: Reply) -> Reply:
        """Apply ``body_delay``, ``drip`` and ``cut_body`` to a non-streamed body."""
        params = self.params
        pace = Pace(
            before=params.number("body_delay", 0.0, hi=MAX_WAIT),
            between=params.number("drip", 0.0, hi=MAX_WAIT),
            pieces=params.integer("drip_pieces", 10, lo=1, hi=100000),
        )
        if pace.slow:
            reply = dataclasses.replace(reply, pace=pace)
        keep = params.integer("cut_body", len(reply.body)) if "cut_body" in params else len(reply.body)
        if keep < len(reply.body):
            length = reply.declared_length if reply.declared_length is not None else len(reply.body)
            reply = dataclasses.replace(reply, body=reply.body[:keep], declared_length=length, cut=True)
        return reply
