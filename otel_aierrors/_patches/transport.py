"""The per-attempt hook: ``send`` of ``httpx`` and ``httpx2`` clients.

The generated SDKs retry inside one ``request()`` call, and every attempt
goes through exactly one ``Client.send`` of the SDK's HTTP client (``httpx``
for openai 1.x/2.x and most SDKs, ``httpx2`` for openai 3.x and anthropic
2.x). Hooking ``send`` sees every attempt, those that end in a timeout or a
refused connection included, without touching the SDK's retry loop. The hook
does nothing unless an instrumented call is in progress in the current context
*and* the client sending is that call's own HTTP client, so the application's
other HTTP traffic is left alone.

The hook never reads a body: an error body is classified only when the HTTP
library already holds it in memory (a non-streamed request); a streamed
error body is read by the SDK itself, when and if it wants to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from opentelemetry.context import attach, detach

from otel_aierrors._context import CURRENT_CALL
from otel_aierrors._safety import report_internal_error
from otel_aierrors._sdks.stainless import (
    response_body_in_memory,
    response_headers,
    response_status,
    retry_count_of,
)

if TYPE_CHECKING:
    from otel_aierrors._attempt import AttemptRecord

__all__ = ["TRANSPORT_TARGETS"]


def _start_attempt(instance: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> AttemptRecord | None:
    call = CURRENT_CALL.get()
    if call is None or call.ended or call.target.http_client is not instance:
        return None
    try:
        request = args[0] if args else kwargs["request"]
        return call.start_attempt(request.method, retry_count_of(request))
    except Exception:
        report_internal_error("starting an attempt")
        return None


def _end_with_response(attempt: AttemptRecord, response: Any) -> None:
    """Read the status, the headers and a body in memory, each guarded on its own, then end the attempt.

    Plain try blocks, not `swallow`: this runs on every attempt. Whatever raises, the span ends.
    """
    fault: str | None = None
    status: int | None = None
    headers: list[tuple[bytes, bytes]] = []
    body: bytes | None = None
    try:
        status = response_status(response)
    except Exception:
        fault = report_internal_error("reading an attempt's status")
    try:
        headers = response_headers(response)
    except Exception:
        fault = fault or report_internal_error("reading an attempt's headers")
    if status is not None and status >= 400:
        try:
            body = response_body_in_memory(response)
        except Exception:
            fault = fault or report_internal_error("reading an attempt's error body")
    try:
        attempt.end_response(status, headers, body, fault)
    except Exception:
        attempt.abort(report_internal_error("ending an attempt"))


def _end_with_exception(attempt: AttemptRecord, exception: BaseException) -> None:
    try:
        attempt.end_exception(exception)
    except Exception:
        attempt.abort(report_internal_error("ending a failed attempt"))


def traced_send(wrapped: Callable[..., Any], instance: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    attempt = _start_attempt(instance, args, kwargs)
    if attempt is None:
        return wrapped(*args, **kwargs)
    # The attempt span current (when there is one), so HTTP-level instrumentations nest under it.
    token = attach(attempt.context) if attempt.span is not None else None
    try:
        response = wrapped(*args, **kwargs)
    except BaseException as exception:
        _end_with_exception(attempt, exception)
        raise
    finally:
        if token is not None:
            detach(token)
    _end_with_response(attempt, response)
    return response


async def traced_async_send(
    wrapped: Callable[..., Any], instance: object, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    attempt = _start_attempt(instance, args, kwargs)
    if attempt is None:
        return await wrapped(*args, **kwargs)
    # The attempt span current (when there is one), so HTTP-level instrumentations nest under it.
    token = attach(attempt.context) if attempt.span is not None else None
    try:
        response = await wrapped(*args, **kwargs)
    except BaseException as exception:
        _end_with_exception(attempt, exception)
        raise
    finally:
        if token is not None:
            detach(token)
    _end_with_response(attempt, response)
    return response


#: (module, attribute path, wrapper). A module that does not import is skipped:
#: ``httpx2`` exists only beside SDKs that send through it.
TRANSPORT_TARGETS: Final = (
    ("httpx", "Client.send", traced_send),
    ("httpx", "AsyncClient.send", traced_async_send),
    ("httpx2", "Client.send", traced_send),
    ("httpx2", "AsyncClient.send", traced_async_send),
)
