"""pydantic-ai's output retries as one application retry (`otel_aierrors._frameworks.pydantic_ai` names the rows).

An agent asks the model again when it rejects the answer itself: an output
validator or an output function raises ``ModelRetry``, the output's
arguments do not validate, the response has no usable output. Every such
retry, on the text path and on the output-tool path alike, adds one to the
run state's ``output_retries_used``, and pydantic-ai raises
``UnexpectedModelBehavior`` ("Exceeded maximum output retries") once they
are used up. So:

- one ``Agent.run`` (``run_sync`` goes through it) is one `AgentRunScope`, an
  `AppRetryScope` with library ``pydantic-ai``, span ``retry {agent name}``;
  it keeps the run's ``GraphAgentState`` (the first one built inside it);
- when a model request starts and ``output_retries_used`` grew since the
  last one, the answer before was rejected: the call whose response id is
  the latest ``ModelResponse``'s ``provider_response_id`` (found among the
  calls the scope saw end, so whichever task validated it; else the last
  call that ended in this context, when a scope inside the run owned the
  call). Reason ``schema`` when the retry sends back validation errors (a
  list), else ``validation`` (a validator's message). The request is attempt
  ``output_retries_used + 1``, so a run that calls tools makes several calls
  in one attempt;
- a run that raises that ``UnexpectedModelBehavior`` rejects its last answer
  too, and the scope's error is ``invalid_output``.

Not covered: ``run_stream`` and ``iter`` used directly (no scope; their
calls are plain calls). Exceptions, return values and the run's behaviour
are pydantic-ai's, unchanged; this module's own failures are reported and
swallowed. It imports nothing from pydantic-ai.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from opentelemetry import trace

from otel_aierrors import _names as n
from otel_aierrors._app_retries import AppRetryScope
from otel_aierrors._call import CallRecord, current_observer, last_ended_call
from otel_aierrors._patches import Wrapper
from otel_aierrors._recording import Attributes
from otel_aierrors._rejections import reject_call
from otel_aierrors._safety import report_internal_error, swallow
from otel_aierrors._taxonomy import ErrorClass

if TYPE_CHECKING:
    from otel_aierrors._recording import Telemetry

__all__ = ["AgentRunScope", "agent_run", "graph_state_init"]


#: Calls of one run remembered by response id (a run that calls tools in a loop makes many).
MAX_REMEMBERED_CALLS: Final = 256
#: How ``UnexpectedModelBehavior`` says that the output retries ran out.
_RAN_OUT: Final = "Exceeded maximum output retries"


class AgentRunScope(AppRetryScope):
    """One agent run: its output retries are the attempts, each rejecting the answer it asks again about."""

    def __init__(self, function: str) -> None:
        super().__init__(n.APP_RETRY_PYDANTIC_AI, function)
        #: The run's ``GraphAgentState`` (the first one built inside the scope).
        self.state: Any = None
        #: ``state.output_retries_used`` when the scope last looked.
        self._retries_seen = 0
        self._by_response: dict[str, CallRecord] = {}

    def attempt_started(self, call: CallRecord) -> None:
        """A model request starts: when output retries were spent since the last one, its answer was rejected."""
        with swallow("recording a pydantic-ai output retry"):
            used = _output_retries_used(self.state)
            if used is not None and used > self._retries_seen:
                self._retries_seen = used
                self._reject_latest_answer()
                self.attempt = used + 1

    def call_started(self, call: CallRecord) -> Attributes:
        self.attempt_started(call)
        return super().call_started(call)

    def call_ended(self, call: CallRecord) -> None:
        super().call_ended(call)
        with swallow("remembering a pydantic-ai call"):
            if call.response_id:
                self._by_response[call.response_id] = call
                while len(self._by_response) > MAX_REMEMBERED_CALLS:
                    del self._by_response[next(iter(self._by_response))]

    def _reject_latest_answer(self) -> None:
        """Reject the call that gave the run's latest ``ModelResponse``, under the scope's span."""
        response_id = _last_response_id(self.state)
        call = self._by_response.get(response_id) if response_id else self._last_call
        if call is None:
            last = last_ended_call()  # the call ran in a scope of its own inside the run (a fallback)
            call = last if last is not None and response_id and last.response_id == response_id else None
        if call is None:
            return
        reason = _reason(self.state)
        span = self.open_span
        if span is None:
            reject_call(call, reason)
            return
        with trace.use_span(span, end_on_exit=False):
            reject_call(call, reason)

    def failure(self, exception: BaseException) -> ErrorClass | str:
        if _output_retries_ran_out(exception):
            self._reject_latest_answer()
            return n.SOFT_INVALID_OUTPUT
        return super().failure(exception)


def _output_retries_used(state: Any) -> int | None:
    used = getattr(state, "output_retries_used", None)
    return used if isinstance(used, int) and not isinstance(used, bool) else None


def _output_retries_ran_out(exception: BaseException) -> bool:
    """pydantic-ai's ``UnexpectedModelBehavior`` for output retries used up (a validator's last ``ModelRetry``)."""
    exceptions = sys.modules.get("pydantic_ai.exceptions")  # imported: the run that raised is pydantic-ai's
    unexpected = getattr(exceptions, "UnexpectedModelBehavior", None)
    if not isinstance(unexpected, type) or not isinstance(exception, unexpected):
        return False
    if str(getattr(exception, "message", "")).startswith(_RAN_OUT):
        return True
    retries = tuple(
        kind
        for kind in (getattr(exceptions, "ModelRetry", None), getattr(exceptions, "ToolRetryError", None))
        if isinstance(kind, type)
    )
    return bool(retries) and isinstance(exception.__cause__, retries)


def _last_response_id(state: Any) -> str | None:
    """``provider_response_id`` of the latest ``ModelResponse`` in the run's history."""
    history = getattr(state, "message_history", None)
    if not isinstance(history, list):
        return None
    for message in reversed(history[-8:]):
        if getattr(message, "kind", None) == "response":
            response_id = getattr(message, "provider_response_id", None)
            return response_id if isinstance(response_id, str) and response_id else None
    return None


def _reason(state: Any) -> str:
    """``schema`` when the retry sends back validation errors (a list), else ``validation`` (a message)."""
    history = getattr(state, "message_history", None)
    if isinstance(history, list) and history:
        for part in getattr(history[-1], "parts", ()) or ():
            if isinstance(getattr(part, "content", None), list):
                return n.REJECTION_SCHEMA
    return n.REJECTION_VALIDATION


def _run_name(agent: object) -> str:
    name = getattr(agent, "name", None)
    return name if isinstance(name, str) and name else "agent"


def agent_run(telemetry: Telemetry) -> Wrapper:
    """The wrapper of ``AbstractAgent.run``: one `AgentRunScope` around the run."""

    async def traced_run(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        scope: AgentRunScope | None = None
        if telemetry.enabled:
            try:
                scope = AgentRunScope(_run_name(instance))
            except Exception:
                report_internal_error("starting a pydantic-ai run span")
        if scope is None:
            return await wrapped(*args, **kwargs)
        async with scope:
            return await wrapped(*args, **kwargs)

    return traced_run


def graph_state_init(telemetry: Telemetry) -> Wrapper:
    """The wrapper of ``GraphAgentState.__init__``: the run scope around it keeps the first state built."""

    def traced_init(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        result = wrapped(*args, **kwargs)
        with swallow("finding a pydantic-ai run's state"):
            scope = current_observer()
            if isinstance(scope, AgentRunScope) and scope.state is None:
                scope.state = instance
        return result

    return traced_init
