"""The SDK set-up for users who configured none, done by OpenTelemetry's own configurator.

`instrument()` without providers takes its tracer and meter from the global
API providers. Those are proxies until someone sets real ones, and they bind
to whatever is set later, so the application's own set-up always wins, also
when it runs after `instrument()`. Only if, by the time of the first
instrumented SDK call (`ensure_configured`), no SDK tracer or meter provider
has been set, the SDK is set up the way ``opentelemetry-instrument`` does it:
``opentelemetry.sdk._configuration``'s configurator, with the distro-style
defaults ``OTEL_TRACES_EXPORTER=otlp``, ``OTEL_METRICS_EXPORTER=otlp`` and
``OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf`` (the OTLP specification's
default; the Python SDK alone would pick gRPC) for the variables that are
unset. Every other ``OTEL_*`` variable means what it means to the SDK.

Exit time: at exit the SDK flushes what is left, and an OTLP exporter retries
with backoff until its export timeout (10 s by default) runs out, once for
spans and once for metrics, one after the other: about 12 s added to the exit
of a process whose collector is down. The auto set-up flushes the two side by
side and gives its OTLP exporters an export timeout of `EXPORT_TIMEOUT` seconds
(1 s: the exit waits at most about that much more than the bare SDK's) instead
(the exporters' ``timeout`` argument, passed through the configurator's
``exporter_args_map``), unless ``OTEL_EXPORTER_OTLP_TIMEOUT`` or its per-signal
variable says otherwise.

One process, one series: the resource of the auto set-up always has a
``service.instance.id``, which the collector's Prometheus exporter turns into
the ``instance`` label. opentelemetry-sdk 1.43 and later detect a random one
per process; for older releases in the supported range (whose resource has
none) `instance_id_attributes` mints a random UUID v4 the same way. Without it,
replicas sharing ``service.name`` would write one series and their cumulative
counters would overwrite each other. An id from ``OTEL_RESOURCE_ATTRIBUTES``
(or a detector the user named) always wins: one is added only when the
resource the SDK would build has none.

``OTEL_SDK_DISABLED=true`` or ``OTEL_AIERRORS_AUTO_SETUP=false`` turn the auto
set-up off; an application that set either provider itself owns the set-up
and nothing is added to it.
"""

from __future__ import annotations

import atexit
import importlib
import os
import threading
import time
from collections.abc import Mapping
from typing import Any, Final

from otel_aierrors._safety import logger

__all__ = [
    "DEFAULTS",
    "EXPORT_TIMEOUT",
    "NO_AUTO_SETUP",
    "SERVICE_INSTANCE_ID",
    "AutoSetup",
    "auto_setup_enabled",
    "instance_id_attributes",
    "otlp_exporter_classes",
    "sdk_configured",
    "sdk_disabled",
    "selected_exporters",
]

#: Seconds an OTLP export of the auto set-up may take, retries included (bounds the exit).
EXPORT_TIMEOUT: Final = 1.0
#: The variables the auto set-up defaults when they are unset, as ``opentelemetry-distro`` does.
DEFAULTS: Final[Mapping[str, str]] = {
    "OTEL_TRACES_EXPORTER": "otlp",
    "OTEL_METRICS_EXPORTER": "otlp",
    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
}
#: The resource attribute that tells one process of a service from another (``instance`` in Prometheus).
SERVICE_INSTANCE_ID: Final = "service.instance.id"
#: The SDK's exporter entry point for ``otlp`` per protocol.
_OTLP_ENTRY_POINTS: Final = {"grpc": "otlp_proto_grpc", "http/protobuf": "otlp_proto_http"}
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
#: The package of the OTLP/HTTP exporters.
_OTLP_HTTP_MODULE: Final = "opentelemetry.exporter.otlp.proto.http."


class AutoSetup:
    """The auto set-up one ``instrument()`` without providers asked for: done at its first call,
    only if nobody set the SDK up by then (owned by the instrumentation, read through its `Telemetry`)."""

    def __init__(self, enabled: bool) -> None:
        #: True until the first call (or ``uninstrument()``): the one check made on every call.
        self.pending = enabled
        self._lock = threading.Lock()

    @classmethod
    def armed(cls, env: Mapping[str, str]) -> AutoSetup:
        """Pending unless ``OTEL_SDK_DISABLED`` or ``OTEL_AIERRORS_AUTO_SETUP`` say no; imports nothing:
        `preload` does the one-time work, when the first SDK is imported."""
        return cls(auto_setup_enabled(env))

    def preload(self) -> None:
        """If pending, import the configurator and the exporter classes `ensure_configured` will use; never raises.

        The one-time work that does not depend on the application's own set-up (about 0.3 s),
        done when the first SDK is imported (its import costs more), so that the first call pays
        only for the set-up itself, and ``instrument()`` for nothing (issue 28).
        """
        if not self.pending:
            return
        try:
            from opentelemetry.sdk._configuration import _import_exporters

            env = {**DEFAULTS, **os.environ}
            spans, metric_exporters, _ = _import_exporters(
                selected_exporters("traces", env), selected_exporters("metrics", env), []
            )
            exporters = [*spans.values(), *metric_exporters.values()]
            if any(exporter.__module__.startswith(_OTLP_HTTP_MODULE) for exporter in exporters):
                importlib.import_module("requests")  # what the OTLP/HTTP exporters import only when built
        except Exception:  # not installed or misconfigured: the first call reports it, as before
            pass

    def ensure_configured(self) -> None:
        """Set the SDK up once, if pending and nobody did (callers check `pending` first: it is the hot path)."""
        with self._lock:
            if not self.pending:
                return
            try:
                _configure_if_unset()
            except Exception as error:  # the application's call must go on whatever the set-up does
                logger.warning("otel-aierrors: the OpenTelemetry SDK set-up failed, nothing is exported: %s", error)
            finally:
                self.pending = False

    def disarm(self) -> None:
        """Forget a pending auto set-up (``uninstrument()``)."""
        self.pending = False


#: For a `Telemetry` made without an instrumentation (tests, tools): nothing pending, ever.
NO_AUTO_SETUP: Final = AutoSetup(enabled=False)


def sdk_disabled(env: Mapping[str, str]) -> bool:
    """Whether ``OTEL_SDK_DISABLED`` is true."""
    return env.get("OTEL_SDK_DISABLED", "").strip().lower() in _TRUE


def auto_setup_enabled(env: Mapping[str, str]) -> bool:
    """Whether ``OTEL_SDK_DISABLED`` and ``OTEL_AIERRORS_AUTO_SETUP`` allow the auto set-up."""
    return env.get("OTEL_AIERRORS_AUTO_SETUP", "true").strip().lower() in _TRUE and not sdk_disabled(env)


def sdk_configured() -> tuple[bool, bool]:
    """Whether global SDK (not proxy / no-op) tracer and meter providers are set."""
    # Imported here, as the configurator below: `arm` runs in ``instrument()``, which must stay cheap (issue 28).
    from opentelemetry import metrics, trace

    tracer_set = not isinstance(trace.get_tracer_provider(), (trace.ProxyTracerProvider, trace.NoOpTracerProvider))
    meter_set = type(metrics.get_meter_provider()).__name__ not in ("_ProxyMeterProvider", "NoOpMeterProvider")
    return tracer_set, meter_set


def selected_exporters(signal: str, env: Mapping[str, str]) -> list[str]:
    """The exporter entry points the auto set-up loads for ``signal`` (``traces`` or ``metrics``).

    The SDK's own rule (``OTEL_{SIGNAL}_EXPORTER``, ``otlp`` resolved by
    ``OTEL_EXPORTER_OTLP[_{SIGNAL}]_PROTOCOL``) over `DEFAULTS`; for `doctor`,
    which must not touch the environment. A test holds it equal to what the
    configurator builds.

    Raises:
        ValueError: If the OTLP protocol is neither ``http/protobuf`` nor ``grpc``.
    """
    upper = signal.upper()
    raw = env.get(f"OTEL_{upper}_EXPORTER") or DEFAULTS[f"OTEL_{upper}_EXPORTER"]
    names = [name.strip() for name in raw.split(",") if name.strip()]
    if [name.lower() for name in names] == ["none"]:
        return []
    protocol = (
        env.get(f"OTEL_EXPORTER_OTLP_{upper}_PROTOCOL")
        or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or DEFAULTS["OTEL_EXPORTER_OTLP_PROTOCOL"]
    ).strip()
    if "otlp" in names and protocol not in _OTLP_ENTRY_POINTS:
        raise ValueError(f"unsupported OTLP protocol {protocol!r} (use http/protobuf or grpc)")
    return [_OTLP_ENTRY_POINTS[protocol] if name == "otlp" else name for name in names]


def otlp_exporter_classes(env: Mapping[str, str]) -> tuple[list[type[Any]], list[type[Any]]]:
    """The OTLP span and metric exporter classes the configurator loads for ``env`` (the demo uses them).

    Raises:
        ValueError: If the OTLP protocol is not supported.
        RuntimeError: If the exporter package is not installed (the SDK's own message).
    """
    otlp = set(_OTLP_ENTRY_POINTS.values())
    from opentelemetry.sdk._configuration import _import_exporters

    spans, metric_exporters, _ = _import_exporters(
        [name for name in selected_exporters("traces", env) if name in otlp],
        [name for name in selected_exporters("metrics", env) if name in otlp],
        [],
    )
    return list(spans.values()), list(metric_exporters.values())


def _configure_if_unset() -> None:
    if any(sdk_configured()):
        return
    try:
        from opentelemetry.sdk._configuration import (
            _get_exporter_names,
            _import_exporters,
            _initialize_components,
            _OTelSDKConfigurator,
        )
    except ImportError:
        logger.warning(
            "otel-aierrors: no OpenTelemetry SDK is configured and opentelemetry-sdk is not installed; "
            "install 'otel-aierrors[sdk]' or configure providers to see telemetry"
        )
        return
    import inspect

    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)
    arguments: dict[str, Any] = {}
    if "exporter_args_map" in inspect.signature(_initialize_components).parameters:
        span_exporters, metric_exporters, _ = _import_exporters(
            _get_exporter_names("traces"), _get_exporter_names("metrics"), []
        )
        arguments["exporter_args_map"] = {
            exporter: {"timeout": EXPORT_TIMEOUT}
            for signal, exporters in (("TRACES", span_exporters), ("METRICS", metric_exporters))
            for exporter in exporters.values()
            if exporter.__module__.startswith("opentelemetry.exporter.otlp.") and not _timeout_set(signal)
        }
    arguments["resource_attributes"] = instance_id_attributes()
    _OTelSDKConfigurator().configure(**arguments)  # type: ignore[no-untyped-call]
    _flush_side_by_side_at_exit()


def _flush_side_by_side_at_exit() -> None:
    """Shut the set-up's tracer and meter providers down at exit side by side, not one after the other.

    Each provider registers its own ``shutdown`` at exit, and each flush is bounded by its
    exporter's timeout: run in turn, a collector that is down costs the exit twice that.
    Run together, the exit waits for the slower one only, and at most `EXPORT_TIMEOUT`
    unless the application chose the OTLP timeout itself (then as long as that takes).
    """
    from opentelemetry import metrics, trace

    providers = [trace.get_tracer_provider(), metrics.get_meter_provider()]
    shutdowns = [getattr(provider, "shutdown", None) for provider in providers]
    if not all(callable(shutdown) for shutdown in shutdowns):
        return
    for shutdown in shutdowns:
        atexit.unregister(shutdown)  # type: ignore[arg-type]
    budget = None if _timeout_set("TRACES") or _timeout_set("METRICS") else EXPORT_TIMEOUT
    atexit.register(_run_side_by_side, shutdowns, budget)


def _run_side_by_side(actions: list[Any], budget: float | None) -> None:
    """Run ``actions`` in daemon threads; wait for them all, or until ``budget`` seconds have passed."""
    threads = [threading.Thread(target=action, name="otel-aierrors-exit-flush", daemon=True) for action in actions]
    for thread in threads:
        thread.start()
    deadline = None if budget is None else time.monotonic() + budget
    for thread in threads:
        thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))


def instance_id_attributes() -> dict[str, str]:
    """The resource attributes the auto set-up adds: a ``service.instance.id`` if the SDK's resource has none.

    The resource the SDK builds from its detectors and ``OTEL_RESOURCE_ATTRIBUTES``
    is looked at first, so the user's id and the SDK's own detector (1.43 and
    later) win; only an SDK or a configuration that gives none gets a random
    UUID v4, what the SDK's detector would give.

    Returns:
        ``{"service.instance.id": <uuid4>}``, or an empty dict when the resource has one.
    """
    from opentelemetry.sdk.resources import Resource

    if SERVICE_INSTANCE_ID in Resource.create().attributes:
        return {}
    import uuid  # here: at import it would load platform too, and instrument() must stay light (issue 28)

    return {SERVICE_INSTANCE_ID: str(uuid.uuid4())}


def _timeout_set(signal: str) -> bool:
    """Whether the user chose the OTLP export timeout of ``signal`` (``TRACES`` / ``METRICS``)."""
    return bool(os.environ.get(f"OTEL_EXPORTER_OTLP_{signal}_TIMEOUT") or os.environ.get("OTEL_EXPORTER_OTLP_TIMEOUT"))
