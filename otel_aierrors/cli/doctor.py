"""``otel-aierrors doctor``: why a user sees no telemetry, one check at a time.

Seeing nothing has a handful of causes, each invisible from the application:
the SDK to instrument is missing or outside the supported range, nothing
patched it, ``opentelemetry-instrument`` cannot find the entry point, no
OpenTelemetry SDK is configured (or would be, see `otel_aierrors._setup`), the
exporter package is missing, or the collector does not answer. `diagnose`
checks each in order and says what to do; it reads the process it runs in, so
called from inside an application (``otel_aierrors.cli.doctor.diagnose()``) it
also tells whether that application is patched right now.

Every network probe is bounded: a TCP connect and one small OTLP/HTTP POST,
each with a timeout, inside a thread that is abandoned if name resolution
itself hangs.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import importlib.metadata
import importlib.util
import os
import platform
import socket
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from otel_aierrors._redaction import redact
from otel_aierrors.package import _instruments_any
from otel_aierrors.version import __version__

if TYPE_CHECKING:
    from otel_aierrors._patches.targets import PatchTarget

__all__ = [
    "Check",
    "Status",
    "diagnose",
    "exit_code",
    "module_found",
    "otlp_endpoint",
    "probe_endpoint",
    "render",
    "render_plain",
]

ENTRY_POINT_GROUP: Final = "opentelemetry_instrumentor"
ENTRY_POINT_VALUE: Final = "otel_aierrors:AIErrorsInstrumentor"
DEFAULT_TIMEOUT: Final = 1.0
_SECRET_MARKERS: Final = ("HEADERS", "KEY", "TOKEN", "SECRET", "PASSWORD", "CERTIFICATE")


class Status(str, enum.Enum):
    """How a check came out; only ``error`` makes the command fail."""

    OK = "ok"
    INFO = "info"
    WARN = "warn"
    ERROR = "error"


@dataclass(frozen=True)
class Check:
    """One finding: what was checked, how it came out, and what to do about it."""

    name: str
    status: Status
    summary: str
    #: The remedy, or more context.
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return {**asdict(self), "status": self.status.value}


def exit_code(checks: list[Check]) -> int:
    """1 when any check failed, else 0."""
    return 1 if any(check.status is Status.ERROR for check in checks) else 0


def diagnose(
    environ: Mapping[str, str] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    importable: Callable[[str], bool] | None = None,
) -> list[Check]:
    """Run every check against this process and its environment.

    Args:
        environ: The environment to read (``os.environ`` by default).
        timeout: Seconds allowed to each network probe.
        importable: Whether a module can be imported (replaceable for tests).

    Returns:
        The findings, in the order a user should read them.
    """
    env = dict(os.environ if environ is None else environ)
    can_import = importable or module_found
    checks = [
        Check(
            "otel-aierrors",
            Status.INFO,
            f"otel-aierrors {__version__} on Python {platform.python_version()} ({platform.system()})",
        )
    ]
    library_checks = [_check_library(requirement) for requirement in _instruments_any]
    sdk_ok = any(check.status is Status.OK for check in library_checks)
    for check in library_checks:
        # Any one supported SDK is enough: the others not being installed is information.
        missing = check.status is Status.ERROR and "not installed" in check.summary
        checks.append(dataclasses.replace(check, status=Status.INFO, detail="") if sdk_ok and missing else check)
    checks.extend(_check_optional_libraries())  # before `_check_targets`, which imports an SDK
    if sdk_ok:
        checks.append(_check_patched())  # before `_check_targets`, which imports an SDK
        checks.append(_check_targets())
    checks.append(_check_entry_point(env))
    checks.extend(_check_sdk(env, can_import, timeout))
    checks.append(_check_environment(env))
    return checks


# --- the instrumented libraries --------------------------------------------------------
def _check_library(requirement_text: str) -> Check:
    from packaging.requirements import Requirement

    requirement = Requirement(requirement_text)
    name = requirement.name
    try:
        installed = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return Check(
            f"{name} SDK",
            Status.ERROR,
            f"{name} is not installed: there is nothing to instrument",
            f"pip install '{requirement}'",
        )
    if not requirement.specifier.contains(installed, prereleases=True):
        return Check(
            f"{name} SDK",
            Status.ERROR,
            f"{name} {installed} is outside the supported range {requirement.specifier}: instrument() skips it",
            f"pip install '{requirement}'",
        )
    return Check(f"{name} SDK", Status.OK, f"{name} {installed} (supported: {requirement.specifier})")


def _resolve(module: str, path: str) -> Any:
    owner: Any = importlib.import_module(module)
    for part in path.split("."):
        owner = vars(owner)[part] if isinstance(owner, type) and part in vars(owner) else getattr(owner, part)
    return owner


def _check_targets() -> Check:
    """Whether the first SDK's call boundary exists in its installed release (imports that SDK)."""
    from otel_aierrors._patches.targets import HTTP, PATCH_TARGETS

    def importable(module: str) -> bool:
        try:
            importlib.import_module(module)
        except ImportError:
            return False
        return True

    first_sdk = next(target.library for target in PATCH_TARGETS if target.call_boundary)
    missing = []
    for target in PATCH_TARGETS:
        if target.library == first_sdk and target.call_boundary:
            try:
                _resolve(target.module, target.attribute)
            except (ImportError, AttributeError, KeyError):
                missing.append(f"{target.module}.{target.attribute}")
    transports = [target.library for target in PATCH_TARGETS if target.kind == HTTP and importable(target.module)]
    transports = list(dict.fromkeys(transports))
    if missing:
        return Check(
            "patch targets",
            Status.ERROR,
            "this SDK version lacks " + ", ".join(missing) + ": calls cannot be traced",
            "install a supported openai version, or report the version at the project's issue tracker",
        )
    if not transports:
        return Check(
            "patch targets",
            Status.WARN,
            "no httpx / httpx2 transport found: calls are traced, but not their HTTP attempts",
        )
    return Check(
        "patch targets", Status.OK, "SDK request path found; HTTP attempts seen through " + ", ".join(transports)
    )


def _is_ours(attribute: Any) -> bool:
    """Whether ``attribute`` is, or wraps, a wrapt wrapper installed by this package."""
    seen = 0
    while attribute is not None and seen < 16:
        wrapper = getattr(attribute, "_self_wrapper", None)
        if wrapper is not None and str(getattr(wrapper, "__module__", "")).startswith("otel_aierrors."):
            return True
        attribute = getattr(attribute, "__wrapped__", None)
        seen += 1
    return False


def _installed(distribution: str) -> bool:
    try:
        importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _check_patched() -> Check:
    """Per installed SDK and HTTP library: patched now, or waiting for its import (imports nothing).

    The frameworks, circuit breakers and retry libraries have a check each (`_check_optional_libraries`)."""
    from otel_aierrors import AIErrorsInstrumentor
    from otel_aierrors._patches.targets import HTTP, PATCH_TARGETS, SDK

    patched, watched = AIErrorsInstrumentor().patch_status()
    modules = {
        target.library: target.module for target in PATCH_TARGETS if not target.optional and target.kind in (SDK, HTTP)
    }
    installed = {library: module for library, module in modules.items() if _installed(library)}
    if not watched:
        return _check_patched_elsewhere(installed)
    now = [library for library, module in installed.items() if module in patched]
    waiting = [library for library, module in installed.items() if module not in patched and module in watched]
    broken = [library for library in waiting if installed[library] in sys.modules]
    waiting = [library for library in waiting if library not in broken]
    parts = [
        "patched now: " + (", ".join(now) or "none"),
        "waiting for their import: " + (", ".join(waiting) or "none"),
    ]
    if broken:
        return Check(
            "patched now",
            Status.WARN,
            "; ".join(parts) + "; imported but not patched: " + ", ".join(broken),
            "the log of logger 'otel_aierrors' says why",
        )
    return Check("patched now", Status.OK, "instrumented in this process; " + "; ".join(parts))


def _check_optional_libraries() -> list[Check]:
    """A check per optional library of the patch table (framework, circuit breaker, retry library: any kind
    but the SDKs and HTTP clients `_check_patched` reports), in the table's order (imports nothing)."""
    from otel_aierrors import AIErrorsInstrumentor
    from otel_aierrors._patches.targets import HTTP, PATCH_TARGETS, SDK

    _, watched = AIErrorsInstrumentor().patch_status()
    libraries: dict[tuple[str, str], list[PatchTarget]] = {}
    for target in PATCH_TARGETS:
        if target.kind not in (SDK, HTTP):
            libraries.setdefault((target.library, target.kind), []).append(target)
    return [_check_rows(library, kind, rows, bool(watched)) for (library, kind), rows in libraries.items()]


def _check_rows(library: str, kind: str, rows: list[PatchTarget], instrumented: bool) -> Check:
    """One optional library: not installed (information, not a fault), or its version and which of its rows
    are applied now; a row whose module is imported but whose callable is not ours is a warning."""
    name = f"{library} {kind}"
    try:
        version = importlib.metadata.version(library)
    except importlib.metadata.PackageNotFoundError:
        return Check(
            name, Status.INFO, f"{library} is not installed (optional: instrumented if the application uses it)"
        )
    if not instrumented:
        return Check(name, Status.INFO, f"{library} {version}: not patched in this process")
    waiting = [row for row in rows if row.module not in sys.modules]
    if len(waiting) == len(rows):
        return Check(name, Status.OK, f"{library} {version}: waiting for its import ({len(rows)} patches)")
    applied: list[PatchTarget] = []
    absent: list[PatchTarget] = []
    unpatched: list[PatchTarget] = []
    for row in rows:
        if row.module not in sys.modules:
            continue
        try:
            attribute = _resolve(row.module, row.attribute)
        except (ImportError, AttributeError, KeyError):
            (absent if row.optional else unpatched).append(row)
            continue
        (applied if _is_ours(attribute) else unpatched).append(row)
    parts = [f"{len(applied)} of {len(rows)} patches applied"]
    if waiting:
        parts.append(f"{len(waiting)} waiting for the import of " + ", ".join(dict.fromkeys(r.module for r in waiting)))
    if absent:
        parts.append(f"{len(absent)} absent from this release")
    summary = f"{library} {version}: " + "; ".join(parts)
    if unpatched:
        return Check(
            name,
            Status.WARN,
            f"{summary}; imported but not patched: " + ", ".join(f"{r.module}.{r.attribute}" for r in unpatched),
            "the log of logger 'otel_aierrors' says why",
        )
    return Check(name, Status.OK, summary)


def _check_patched_elsewhere(installed: Mapping[str, str]) -> Check:
    """Not instrumented by this package here: say whether another instrumentation wrapped the SDKs it imported."""
    from otel_aierrors._patches.targets import PATCH_TARGETS

    for target in PATCH_TARGETS:
        if not target.call_boundary or target.library not in installed or target.module not in sys.modules:
            continue
        try:
            attribute = _resolve(target.module, target.attribute)
        except (ImportError, AttributeError, KeyError):
            continue
        if hasattr(attribute, "__wrapped__") and not _is_ours(attribute):
            return Check(
                "patched now",
                Status.INFO,
                f"{target.module}.{target.attribute} is wrapped, but by another instrumentation, not otel_aierrors",
            )
    return Check(
        "patched now",
        Status.INFO,
        "not patched in this process (expected for a standalone doctor)",
        "in your app call otel_aierrors.instrument() at start-up, or run it under opentelemetry-instrument; "
        "`opentelemetry-instrument otel-aierrors doctor` checks auto-instrumentation",
    )


def _check_entry_point(env: Mapping[str, str]) -> Check:
    found = [
        entry_point
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        if entry_point.value == ENTRY_POINT_VALUE
    ]
    if not found:
        return Check(
            "entry point",
            Status.ERROR,
            f"no {ENTRY_POINT_GROUP} entry point for {ENTRY_POINT_VALUE}: opentelemetry-instrument will not load it",
            "install the package (pip install otel-aierrors), not just put its source on sys.path",
        )
    disabled = {name.strip() for name in env.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "").split(",")}
    if found[0].name in disabled or "*" in disabled:
        return Check(
            "entry point",
            Status.ERROR,
            f"registered as {found[0].name!r} but disabled by OTEL_PYTHON_DISABLED_INSTRUMENTATIONS",
            f"remove {found[0].name!r} from OTEL_PYTHON_DISABLED_INSTRUMENTATIONS",
        )
    return Check("entry point", Status.OK, f"registered as {found[0].name!r} in {ENTRY_POINT_GROUP}")


# --- the OpenTelemetry SDK and where it sends ------------------------------------------
#: The package that registers each OTLP exporter entry point.
_PACKAGES: Final = {
    "otlp_proto_http": "opentelemetry-exporter-otlp-proto-http",
    "otlp_proto_grpc": "opentelemetry-exporter-otlp-proto-grpc",
}


def _protocol(env: Mapping[str, str], signal: str) -> str:
    return env.get(
        f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL", env.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    ).strip()


def _check_sdk(env: Mapping[str, str], can_import: Callable[[str], bool], timeout: float) -> list[Check]:
    """The providers, the exporters the SDK's configurator selects, and whether their collector answers.

    The destination is checked in every mode: providers set by the application
    or by ``opentelemetry-instrument`` export per the same ``OTEL_*`` variables.
    """
    from otel_aierrors._setup import auto_setup_enabled, sdk_configured, sdk_disabled, selected_exporters

    if sdk_disabled(env):
        return [
            Check(
                "OpenTelemetry SDK",
                Status.ERROR,
                "OTEL_SDK_DISABLED=true: every span and metric is dropped",
                "unset OTEL_SDK_DISABLED",
            )
        ]
    if not can_import("opentelemetry.sdk"):
        return [
            Check(
                "OpenTelemetry SDK",
                Status.ERROR,
                "opentelemetry-sdk is not installed: the API alone records nothing",
                "pip install 'otel-aierrors[sdk]'",
            )
        ]
    checks = [_check_providers(sdk_configured(), auto_setup_enabled(env))]
    instance = _check_instance_id()
    if instance is not None:
        checks.append(instance)
    try:
        signals = {signal: selected_exporters(signal, env) for signal in ("traces", "metrics")}
    except ValueError as error:
        checks.append(
            Check(
                "OTLP protocol",
                Status.ERROR,
                f"{error}: the SDK set-up fails and nothing is exported",
                "set OTEL_EXPORTER_OTLP_PROTOCOL to http/protobuf (the default) or grpc",
            )
        )
        return checks
    for signal, names in signals.items():
        checks.append(_check_exporters(signal, names, can_import))
    if not any(signals.values()):
        checks.append(
            Check(
                "destination",
                Status.ERROR,
                "OTEL_TRACES_EXPORTER and OTEL_METRICS_EXPORTER are both 'none': nothing leaves the process",
                "unset them (otlp is the default) or set them to otlp or console",
            )
        )
        return checks
    #: (scheme, host, port, protocol) to the first URL there and the signals sent to it.
    collectors: dict[tuple[str, str, int, str], tuple[str, list[str]]] = {}
    for signal, names in signals.items():
        if any(name.startswith("otlp_proto_") for name in names):
            endpoint, protocol = _endpoint(env, signal), _protocol(env, signal)
            variable = _endpoint_variable(env, signal)
            if protocol != "grpc" and variable and "://" not in env[variable]:
                value = env[variable].strip()
                checks.append(
                    Check(
                        f"{signal} destination",
                        Status.ERROR,
                        f"{variable}={value} has no http:// or https://: the OTLP/HTTP exporter cannot send to it",
                        f"set {variable}=http://{value}",
                    )
                )
                continue
            collectors.setdefault((*_address(endpoint, protocol), protocol), (endpoint, []))[1].append(signal)
            default = "" if variable else " (the default; OTEL_EXPORTER_OTLP_ENDPOINT is unset)"
            checks.append(Check(f"{signal} destination", Status.INFO, f"OTLP {protocol} to {endpoint}{default}"))
        if "console" in names:
            checks.append(Check(f"{signal} destination", Status.INFO, "the console (stdout) exporter"))
    for (_, _, _, protocol), (endpoint, sent) in collectors.items():
        check = probe_endpoint(endpoint, protocol, timeout=timeout)
        if len(collectors) > 1:
            check = replace(check, name=f"collector ({', '.join(sent)})")
        checks.append(check)
    return checks


def _check_providers(configured: tuple[bool, bool], auto_setup: bool) -> Check:
    tracer_set, meter_set = configured
    if tracer_set and meter_set:
        return Check(
            "OpenTelemetry SDK",
            Status.OK,
            "tracer and meter providers are set in this process (by the application or opentelemetry-instrument)",
        )
    if tracer_set or meter_set:
        missing = "meter" if tracer_set else "tracer"
        return Check(
            "OpenTelemetry SDK",
            Status.WARN,
            f"only the {'tracer' if tracer_set else 'meter'} provider is set: the application owns the set-up and "
            f"no {missing} provider is added, so {'metrics' if tracer_set else 'spans'} are dropped",
            f"set a {missing} provider too, or pass it to instrument({missing}_provider=...)",
        )
    if not auto_setup:
        return Check(
            "OpenTelemetry SDK",
            Status.WARN,
            "no SDK providers are set in this process and OTEL_AIERRORS_AUTO_SETUP=false: "
            "telemetry is dropped unless the application sets providers before its first AI call",
            "configure TracerProvider/MeterProvider at start-up, or unset OTEL_AIERRORS_AUTO_SETUP",
        )
    return Check(
        "OpenTelemetry SDK",
        Status.OK,
        "no providers set yet: unless the application sets them, the first instrumented call sets up the SDK "
        "from OTEL_* (OpenTelemetry's own configurator, see otel_aierrors._setup)",
    )


def _check_instance_id() -> Check | None:
    """Whether the application's own meter provider tells this process from its replicas (None: not set)."""
    from opentelemetry import metrics

    from otel_aierrors._setup import SERVICE_INSTANCE_ID

    config = getattr(metrics.get_meter_provider(), "_sdk_config", None)
    resource = getattr(config, "resource", None)
    attributes = getattr(resource, "attributes", None)
    if attributes is None:
        return None  # no SDK meter provider yet: the auto set-up adds an id if the SDK has none
    if SERVICE_INSTANCE_ID in attributes:
        return Check("service.instance.id", Status.OK, f"{attributes[SERVICE_INSTANCE_ID]} (one series per process)")
    return Check(
        "service.instance.id",
        Status.WARN,
        "the application's resource has no service.instance.id: replicas of one service write one series "
        "and their cumulative counters overwrite each other",
        "build the resource with Resource.create({...}) (opentelemetry-sdk 1.43 and later add one), "
        "or add 'service.instance.id': str(uuid.uuid4()) to it, "
        "or set OTEL_RESOURCE_ATTRIBUTES=service.instance.id=...",
    )


def _check_exporters(signal: str, names: list[str], can_import: Callable[[str], bool]) -> Check:
    """Whether each exporter entry point the configurator will load is installed."""
    variable = f"OTEL_{signal.upper()}_EXPORTER"
    if not names:
        return Check(f"{signal} exporter", Status.WARN, f"{variable}=none: no {signal} are exported")
    group = f"opentelemetry_{signal}_exporter"
    for name in names:
        found = list(importlib.metadata.entry_points(group=group, name=name))
        module = found[0].value.partition(":")[0] if found else None
        if module is None or not can_import(module):
            package = _PACKAGES.get(name)
            summary = (
                f"the {name} exporter is missing ({package} is not installed): {signal} are dropped"
                if package
                else f"{variable} names {name!r}, which no installed package provides: the SDK set-up fails"
            )
            remedy = "pip install 'otel-aierrors[sdk]'" if package else "install its package or use otlp or console"
            return Check(f"{signal} exporter", Status.ERROR, summary, remedy)
    return Check(f"{signal} exporter", Status.OK, ", ".join(names))


def _endpoint_variable(env: Mapping[str, str], signal: str) -> str | None:
    for variable in (f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        if env.get(variable, "").strip():
            return variable
    return None


def otlp_endpoint(signal: str, environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(URL, protocol) the OTLP exporter of ``signal`` (``traces`` or ``metrics``) sends to."""
    env = os.environ if environ is None else environ
    return _endpoint(env, signal), _protocol(env, signal)


def _endpoint(env: Mapping[str, str], signal: str) -> str:
    """The URL the OTLP exporter of ``signal`` sends to, as the exporters compute it."""
    grpc = _protocol(env, signal) == "grpc"
    specific = env.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT", "").strip()
    if specific:
        return specific
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if grpc:
        return base or "http://localhost:4317"
    base = base or "http://localhost:4318"
    return base.rstrip("/") + f"/v1/{signal}"


def probe_endpoint(endpoint: str, protocol: str, *, timeout: float = DEFAULT_TIMEOUT) -> Check:
    """Whether ``endpoint`` answers: a TCP connect, then for OTLP/HTTP an empty export request.

    Runs in a daemon thread joined with a deadline, so even a name lookup that
    hangs cannot hold the command.
    """
    result: list[Check] = []
    worker = threading.Thread(
        target=lambda: result.append(_probe(endpoint, protocol, timeout)), name="doctor-probe", daemon=True
    )
    worker.start()
    worker.join(3 * timeout + 0.5)
    if result:
        return result[0]
    return Check(
        "collector",
        Status.ERROR,
        f"{endpoint} did not answer within {3 * timeout + 0.5:g} s (name resolution or connect hangs)",
        "check the host name and that a collector runs there",
    )


def _probe(endpoint: str, protocol: str, timeout: float) -> Check:
    _, host, port = _address(endpoint, protocol)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as error:
        return Check(
            "collector",
            Status.ERROR,
            f"nothing answers at {host}:{port} ({_reason(error)}): exports fail and telemetry is dropped",
            "start a collector there (e.g. the compose stack) or point OTEL_EXPORTER_OTLP_ENDPOINT at one",
        )
    if protocol == "grpc":
        return Check(
            "collector", Status.OK, f"{host}:{port} accepts connections (gRPC; the export itself is not tried)"
        )
    request = urllib.request.Request(
        endpoint, data=b"", method="POST", headers={"Content-Type": "application/x-protobuf"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (OSError, ValueError) as error:
        hint = " (4317 is the gRPC port: set OTEL_EXPORTER_OTLP_PROTOCOL=grpc or use 4318)" if port == 4317 else ""
        return Check(
            "collector",
            Status.ERROR,
            f"{host}:{port} accepts connections but did not answer as OTLP/HTTP ({_reason(error)}){hint}",
            "check the port and OTEL_EXPORTER_OTLP_PROTOCOL",
        )
    if 200 <= status < 300:
        return Check("collector", Status.OK, f"{endpoint} accepted an empty OTLP export (HTTP {status})")
    if status == 404:
        return Check(
            "collector",
            Status.ERROR,
            f"{endpoint} answered 404: nothing serves OTLP on that path",
            "OTEL_EXPORTER_OTLP_ENDPOINT is the base URL (http://host:4318); the exporter appends /v1/traces itself",
        )
    return Check(
        "collector",
        Status.WARN,
        f"{endpoint} answered HTTP {status} to an empty OTLP export",
        "a proxy or an authenticating gateway may sit in front of the collector (OTEL_EXPORTER_OTLP_HEADERS)",
    )


def _address(endpoint: str, protocol: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an endpoint URL, with the OTLP default ports."""
    parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    default_port = 443 if parts.scheme == "https" else 4317 if protocol == "grpc" else 4318
    try:
        port = parts.port or default_port
    except ValueError:
        port = default_port
    return parts.scheme, parts.hostname or "localhost", port


def _reason(error: BaseException) -> str:
    if isinstance(error, urllib.error.URLError) and error.reason is not None:
        return str(error.reason)
    return str(error) or type(error).__name__


def _check_environment(env: Mapping[str, str]) -> Check:
    names = sorted(name for name in env if name.startswith("OTEL_") and not name.startswith("_"))
    if not names:
        return Check("environment", Status.INFO, "no OTEL_* variables are set (defaults apply)")
    shown = [f"{name}={_shown_value(name, env[name])}" for name in names]
    return Check("environment", Status.INFO, f"{len(names)} OTEL_* variables set", "\n".join(shown))


def _shown_value(name: str, value: str) -> str:
    if any(marker in name for marker in _SECRET_MARKERS):
        return "[REDACTED]" if value else ""
    return redact(value)


def module_found(module: str) -> bool:
    """Whether ``module`` can be found without importing it (the CLI's dependency check uses it too)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


# --- printing ------------------------------------------------------------------------------
_MARKS: Final = {Status.OK: "✓", Status.INFO: "·", Status.WARN: "!", Status.ERROR: "✗"}
_COLORS: Final = {Status.OK: "green", Status.INFO: "blue", Status.WARN: "yellow", Status.ERROR: "red"}


def render(checks: list[Check], console: Any) -> None:
    """Print the checks as a rich table, then a one-line verdict."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_header=True)
    table.add_column("", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("finding")
    for check in checks:
        color = _COLORS[check.status]
        finding = escape(check.summary)
        if check.detail:
            finding += f"\n[dim]{escape(check.detail)}[/dim]"
        table.add_row(f"[{color}]{_MARKS[check.status]}[/{color}]", check.name, finding)
    console.print(table)
    console.print(_verdict(checks))


def render_plain(checks: list[Check], write: Callable[[str], None]) -> None:
    """The same as `render`, without rich."""
    for check in checks:
        write(f"[{check.status.value}] {check.name}: {check.summary}")
        for line in check.detail.splitlines():
            write(f"        {line}")
    write(_verdict(checks))


def _verdict(checks: list[Check]) -> str:
    errors = [check.name for check in checks if check.status is Status.ERROR]
    if errors:
        return f"{len(errors)} problem(s) found: {', '.join(errors)}"
    return "no problems found"
