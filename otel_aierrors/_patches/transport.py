"""The per-attempt hook: ``send`` of ``httpx`` and ``httpx2`` clients.

The OpenAI SDK (and the Anthropic SDK, built by the same generator) retries
inside one ``request()`` call, and every attempt goes through exactly one
``Client.send``: the 1.x/2.x lines through ``httpx``, the 3.x line through
``httpx2``. Hooking ``send`` therefore sees every attempt, including those that
end in a timeout or a refused connection, without touching the SDK's retry
loop. The hook does nothing unless an instrumented SDK call is in progress in
the current context *and* the client sending is that call's own HTTP client,
so the application's other HTTP traffic is left alone.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Final

from otel_aierrors._headers import lowered_items
from otel_aierrors._recording import AttemptRecord, current_call
from otel_aierrors._safety import report_internal_error

__all__ = ["TRANSPORT_TARGETS"]

_RETRY_COUNT_HEADER: Final = "x-stainless-retry-count"


def _start_attempt(instance: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> AttemptRecord | None:
    call = current_call()
    if call is None or call.ended or call.target.http_client is not instance:
        return None
    try:
        request = args[0] if args else kwargs["request"]
        retry_count = request.headers.get(_RETRY_COUNT_HEADER)
        resend_count = int(retry_count) if retry_count and retry_count.isdigit() else None
        return call.start_attempt(request.method, resend_count)
    except Exception:
        report_internal_error("starting an attempt span")
        return None


def _end_with_response(attempt: AttemptRecord, response: Any, body: bytes | None) -> None:
    try:
        attempt.end_response(response.status_code, lowered_items(response.headers), body)
    except Exception:
        report_internal_error("ending an attempt span")


def _end_with_exception(attempt: AttemptRecord, exception: BaseException) -> None:
    try:
        attempt.end_exception(exception)
    except Exception:
        report_internal_error("ending a failed attempt span")


def _error_body(response: Any) -> bytes | None:
    """The body of an error response, read if the SDK asked for a stream.

    Reading it here is what the SDK does itself before raising, and httpx
    caches the content, so the SDK's later read returns the same bytes.
    """
    if response.status_code < 400:
        return None
    try:
        body = response.read()
        return body if isinstance(body, bytes) else None
    except Exception:
        return None


async def _async_error_body(response: Any) -> bytes | None:
    if response.status_code < 400:
        return None
    try:
        body = await response.aread()
        return body if isinstance(body, bytes) else None
    except Exception:
        return None


def traced_send(wrapped: Callable[..., Any], instance: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    attempt = _start_attempt(instance, args, kwargs)
    if attempt is None:
        return wrapped(*args, **kwargs)
    token = attempt.activate()
    try:
        response = wrapped(*args, **kwargs)
    except BaseException as exception:
        _end_with_exception(attempt, exception)
        raise
    finally:
        attempt.deactivate(token)
    _end_with_response(attempt, response, _error_body(response))
    return response


async def traced_async_send(
    wrapped: Callable[..., Any], instance: object, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    attempt = _start_attempt(instance, args, kwargs)
    if attempt is None:
        return await wrapped(*args, **kwargs)
    token = attempt.activate()
    try:
        response = await wrapped(*args, **kwargs)
    except BaseException as exception:
        _end_with_exception(attempt, exception)
        raise
    finally:
        attempt.deactivate(token)
    _end_with_response(attempt, response, await _async_error_body(response))
    return response


#: (module, attribute path, wrapper). A module that does not import is skipped:
#: ``httpx2`` exists only beside openai 3.x, ``httpx`` only beside older lines.
TRANSPORT_TARGETS: Final = (
    ("httpx", "Client.send", traced_send),
    ("httpx", "AsyncClient.send", traced_async_send),
    ("httpx2", "Client.send", traced_send),
    ("httpx2", "AsyncClient.send", traced_async_send),
)


def importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True
