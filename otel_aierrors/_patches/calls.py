"""The call boundary: ``request()`` of a generated SDK's client, one call span per call.

``SyncAPIClient.request`` / ``AsyncAPIClient.request`` in the SDK's
``_base_client.py`` is the single path every endpoint goes through, and it
holds the SDK's retry loop. Wrapping it gives one span per logical call; the
attempts inside it are seen by `otel_aierrors._patches.transport`. What the
call returned decides when the call ends: now for a parsed object, later for a
stream or a raw response (`otel_aierrors._streams` proxies them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from otel_aierrors._breakers import innermost_probe, note_call_target
from otel_aierrors._call import CallRecord
from otel_aierrors._context import CURRENT_CALL
from otel_aierrors._patches import Wrapper
from otel_aierrors._safety import report_internal_error
from otel_aierrors._sdks.stainless import ResultKind, call_target, error_facts, result_kind
from otel_aierrors._streams import wrap_result

if TYPE_CHECKING:
    from otel_aierrors._recording import Telemetry
    from otel_aierrors._sdks.adapters import SdkAdapter

__all__ = ["call_wrapper", "end_with_exception"]


def _start_call(
    telemetry: Telemetry, adapter: SdkAdapter, client: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> CallRecord | None:
    try:
        target = call_target(adapter, client, args, kwargs)
        if target is None:
            return None
        probe = innermost_probe()
        if probe is not None:
            note_call_target(probe, target)  # the application's circuit breakers around it learn whom they guard
        return CallRecord(telemetry, target)
    except Exception:
        report_internal_error("starting a call span")
        return None


def end_with_exception(
    call: CallRecord,
    exception: BaseException,
    facts: Callable[[BaseException], tuple[int | None, Any]] = error_facts,
) -> None:
    """End the call the host raised from; the exception's status and body (read by ``facts``: the
    SDK's error shape by default) are read on their own guard."""
    status, body = None, None
    try:
        status, body = facts(exception)
    except Exception:
        call.fault("reading a call's exception")
    try:
        call.end_with_exception(exception, status, body)
    except Exception:
        call.abort("ending a failed call")


def _end_with_result(call: CallRecord, adapter: SdkAdapter, result: Any, is_async: bool) -> Any:
    """End the call for what it returned, or hand a stream or raw response its span; never raises."""
    try:
        kind = result_kind(result)
        if kind is not ResultKind.PLAIN:
            return wrap_result(result, kind, call, adapter, is_async)  # the proxy ends the call when done with
        summary = None
        try:
            summary = adapter.summarize(result)
        except Exception:
            call.fault("summarizing a call's result")
        call.end(summary)
        return result
    except Exception:
        call.fault("ending a call")
        try:
            call.end(None)
        except Exception:
            call.abort("ending a call")
        return result


def call_wrapper(telemetry: Telemetry, adapter: SdkAdapter, is_async: bool) -> Wrapper:
    """The ``request()`` wrapper for one SDK: sync or async."""
    if is_async:

        async def traced_async_request(
            wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> Any:
            call = _start_call(telemetry, adapter, instance, args, kwargs)
            if call is None:
                return await wrapped(*args, **kwargs)
            token = CURRENT_CALL.set(call)
            try:
                result = await wrapped(*args, **kwargs)
            except BaseException as exception:
                end_with_exception(call, exception)
                raise
            finally:
                CURRENT_CALL.reset(token)
            return _end_with_result(call, adapter, result, is_async=True)

        return traced_async_request

    def traced_request(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        call = _start_call(telemetry, adapter, instance, args, kwargs)
        if call is None:
            return wrapped(*args, **kwargs)
        token = CURRENT_CALL.set(call)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exception:
            end_with_exception(call, exception)
            raise
        finally:
            CURRENT_CALL.reset(token)
        return _end_with_result(call, adapter, result, is_async=False)

    return traced_request
