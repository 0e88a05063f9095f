"""What is compared: the variants, the virtual environment each runs in, and their setup.

Owns two tables read by both sides: ``VARIANTS`` (what is compared) and ``VENVS`` (the
environments: ``main`` for bare, floor and ours; one per peer; one per vendor SDK of
``_sdks.SDKS``, where ours runs over that SDK). The driver uses them to build virtual
environments and pair each instrumented variant with the bare SDK of the same
environment; the worker uses them to instrument itself. ``baseline_variant`` adds one
more, ours at an older revision (``run.py --baseline``), and ``variant_named`` finds
either kind by name. Peer packages are imported only inside ``setup()``, so importing
this module needs nothing but the standard library.
"""

from __future__ import annotations

import importlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from _scenarios import CHUNK_SCENARIOS, SCENARIOS
from _sdks import SDKS, Sdk

__all__ = [
    "OPENAI_SCENARIOS",
    "PEER_VENVS",
    "VARIANTS",
    "VENVS",
    "Installed",
    "Variant",
    "VariantUnavailable",
    "VenvSpec",
    "baseline_variant",
    "documented_setup",
    "variant_named",
]


#: What every ``openai`` venv times.
OPENAI_SCENARIOS: tuple[str, ...] = tuple(scenario.name for scenario in SCENARIOS)


class VariantUnavailable(Exception):
    """The variant cannot run here (not written yet, not importable); the run goes on."""


@dataclass
class Installed:
    """A variant after setup, with what it cost to get there."""

    #: Seconds spent importing the instrumentation package(s).
    import_s: float = 0.0
    #: Seconds spent in ``instrument()`` (or ``openlit.init()``).
    instrument_s: float = 0.0
    #: Called once per HTTP attempt by the transport (floor only).
    observer: Callable[[Any], None] | None = None
    #: Wraps a sync call (floor only).
    wrap: Callable[[Callable[[], Any]], Callable[[], Any]] | None = None
    #: Wraps an async call (floor only).
    wrap_async: Callable[[Callable[[], Any]], Callable[[], Any]] | None = None


class VenvSpec(NamedTuple):
    """A virtual environment under ``benchmarks/.venvs/<name>``."""

    #: Directory name, also used in reports.
    name: str
    #: pip requirements besides ``openai`` and ``opentelemetry-sdk`` (always installed).
    requirements: tuple[str, ...]
    #: ``openai`` caps tried in order until the peer emits spans; ``""`` means no cap.
    openai_caps: tuple[str, ...] = ("",)
    #: Put the repository root on the worker's ``sys.path`` (our package is not installed).
    repo_on_path: bool = False
    #: Scenarios timed here (``_scenarios`` names).
    scenarios: tuple[str, ...] = OPENAI_SCENARIOS
    #: Variants that run here although their home is another venv (ours over a vendor SDK).
    guests: tuple[str, ...] = ()
    #: The vendor SDK this venv exists for (``None``: an ``openai`` venv).
    sdk: Sdk | None = None

    def runs(self, variant: Variant) -> bool:
        """Whether ``variant`` has a worker in this venv."""
        return variant.venv == self.name or variant.name in self.guests


class Variant(NamedTuple):
    """One thing being timed."""

    #: Identifier for ``--only`` and reports.
    name: str
    #: Human label for the report.
    label: str
    #: ``VenvSpec.name`` this variant runs in.
    venv: str
    #: Distribution whose version the report names (``None``: nothing beyond the SDK).
    dist: str | None
    #: Setup function, looked up in this module by name so the table stays importable.
    setup: str
    #: An older revision's extracted package, imported instead of the work tree's (``--baseline``).
    tree: str = ""


def _timed_import(module: str) -> tuple[Any, float]:
    start = time.perf_counter()
    imported = importlib.import_module(module)
    return imported, time.perf_counter() - start


def _instrumentor(module: str, cls: str = "OpenAIInstrumentor") -> Callable[[Any], Installed]:
    """Setup for a ``BaseInstrumentor`` peer: import it, then ``instrument()`` it."""

    def setup(telemetry: Any) -> Installed:
        imported, import_s = _timed_import(module)
        start = time.perf_counter()
        getattr(imported, cls)().instrument(
            tracer_provider=telemetry.tracer_provider,
            meter_provider=telemetry.meter_provider,
            logger_provider=telemetry.logger_provider,
        )
        return Installed(import_s=import_s, instrument_s=time.perf_counter() - start)

    return setup


def setup_bare(telemetry: Any) -> Installed:
    """The SDK alone (the providers exist but nothing uses them)."""
    return Installed()


def setup_floor(telemetry: Any) -> Installed:
    """The OpenTelemetry SDK emitting our contract with no instrumentation logic."""
    from _floor import Floor

    floor = Floor(telemetry.tracer_provider, telemetry.meter_provider)
    return Installed(observer=floor.observe_attempt, wrap=floor.wrap, wrap_async=floor.wrap_async)


def setup_ours(telemetry: Any) -> Installed:
    """This project, as its README tells users to enable it."""
    try:
        imported, import_s = _timed_import("otel_aierrors")
    except Exception as exc:
        raise VariantUnavailable(f"import otel_aierrors failed: {type(exc).__name__}: {exc}") from exc
    instrumentor = getattr(imported, "AIErrorsInstrumentor", None)
    if instrumentor is None:
        raise VariantUnavailable("otel_aierrors has no AIErrorsInstrumentor yet")
    start = time.perf_counter()
    instrumentor().instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    return Installed(import_s=import_s, instrument_s=time.perf_counter() - start)


def setup_baseline(telemetry: Any) -> Installed:
    """Ours at an older revision: ``setup_ours``; old code that fails to instrument is unavailable."""
    try:
        return setup_ours(telemetry)
    except VariantUnavailable:
        raise
    except Exception as exc:
        raise VariantUnavailable(f"instrument() failed: {type(exc).__name__}: {exc}") from exc


#: The module holding each ``BaseInstrumentor`` peer's ``OpenAIInstrumentor``, by variant name.
INSTRUMENTOR_MODULES: dict[str, str] = {
    "otel-v2": "opentelemetry.instrumentation.openai_v2",
    "otel-genai": "opentelemetry.instrumentation.genai.openai",
    "openllmetry": "opentelemetry.instrumentation.openai",
    "openinference": "openinference.instrumentation.openai",
}

setup_otel_v2 = _instrumentor(INSTRUMENTOR_MODULES["otel-v2"])
setup_otel_genai = _instrumentor(INSTRUMENTOR_MODULES["otel-genai"])
setup_openllmetry = _instrumentor(INSTRUMENTOR_MODULES["openllmetry"])
setup_openinference = _instrumentor(INSTRUMENTOR_MODULES["openinference"])


def openlit_pricing_file() -> str:
    """A local pricing table for ``openlit.init(pricing_json=...)``: by default ``init()``
    downloads it, and this machine has no internet."""
    pricing = os.path.join(tempfile.gettempdir(), "otel-aierrors-bench-pricing.json")
    with open(pricing, "w", encoding="utf-8") as handle:
        json.dump({"chat": {"gpt-4o-mini": {"promptPrice": 0.00015, "completionPrice": 0.0006}}}, handle)
    return pricing


def setup_openlit(telemetry: Any) -> Installed:
    """OpenLIT as its README shows (``openlit.init()``), reusing the global providers.

    Only the pricing table is given as a local file (``openlit_pricing_file``).
    """
    pricing = openlit_pricing_file()
    openlit, import_s = _timed_import("openlit")
    start = time.perf_counter()
    openlit.init(pricing_json=pricing)
    return Installed(import_s=import_s, instrument_s=time.perf_counter() - start)


#: Virtual environments, in report order. ``main`` holds the bare/floor/ours trio.
VENVS: tuple[VenvSpec, ...] = (
    VenvSpec(
        "main",
        (),
        repo_on_path=True,
        scenarios=OPENAI_SCENARIOS + tuple(scenario.name for scenario in CHUNK_SCENARIOS),
    ),
    # openai-v2 2.4b0 asks for util-genai>=0.4b0 but imports a module that util-genai 1.x
    # renamed (its successor is genai-openai below), so util-genai stays on 0.x here.
    VenvSpec(
        "otel-v2",
        ("opentelemetry-instrumentation-openai-v2>=2.0b0", "opentelemetry-util-genai>=0.4b0,<1.0b0"),
        ("", "<3", "<2"),
    ),
    VenvSpec("otel-genai", ("opentelemetry-instrumentation-genai-openai>=1.0b0",), ("", "<3", "<2")),
    VenvSpec("openllmetry", ("opentelemetry-instrumentation-openai",), ("", "<3", "<2")),
    VenvSpec("openlit", ("openlit",), ("", "<3", "<2")),
    VenvSpec("openinference", ("openinference-instrumentation-openai",), ("", "<3", "<2")),
    # One per vendor SDK: its bare client as the baseline, ours on top, from the work tree.
    *(
        VenvSpec(
            f"sdk-{sdk.name}",
            (sdk.dist,),
            repo_on_path=True,
            scenarios=(f"{sdk.name}_chat", f"{sdk.name}_retry"),
            guests=("ours",),
            sdk=sdk,
        )
        for sdk in SDKS
    ),
)

#: Environments whose only purpose is a peer (they get a bare baseline of their own).
PEER_VENVS: tuple[str, ...] = tuple(spec.name for spec in VENVS if spec.name != "main" and spec.sdk is None)

#: Every variant, in report order. Each venv also runs ``bare`` (its own baseline).
VARIANTS: tuple[Variant, ...] = (
    Variant("bare", "bare SDK (no instrumentation)", "main", None, "setup_bare"),
    Variant("floor", "floor (OTel SDK emitting our contract)", "main", None, "setup_floor"),
    Variant("ours", "otel-aierrors (this project)", "main", "otel-aierrors", "setup_ours"),
    Variant(
        "otel-v2",
        "OpenTelemetry openai-v2",
        "otel-v2",
        "opentelemetry-instrumentation-openai-v2",
        "setup_otel_v2",
    ),
    Variant(
        "otel-genai",
        "OpenTelemetry genai-openai",
        "otel-genai",
        "opentelemetry-instrumentation-genai-openai",
        "setup_otel_genai",
    ),
    Variant(
        "openllmetry",
        "OpenLLMetry",
        "openllmetry",
        "opentelemetry-instrumentation-openai",
        "setup_openllmetry",
    ),
    Variant("openlit", "OpenLIT", "openlit", "openlit", "setup_openlit"),
    Variant(
        "openinference",
        "OpenInference",
        "openinference",
        "openinference-instrumentation-openai",
        "setup_openinference",
    ),
)


#: How a baseline variant's name starts: ``ours@<sha7>``.
_BASELINE_PREFIX = "ours@"


def documented_setup(variant: Variant) -> str:
    """The variant's set-up as its documentation shows it, as source for ``python -c``.

    What ``benchmarks/startup.py --peers`` times in a fresh interpreter: nothing imported
    before it (the worker imports ``openai`` and the OpenTelemetry SDK first and installs
    providers, so it cannot say which SDK modules a set-up loads), no provider passed (the
    global ones, as a user who calls it first gets). Ours is ``instrument()`` as the
    README shows; OpenLIT is ``init()`` with only the local pricing table, so its own
    exporters (console, as no endpoint is configured) export nothing during set-up.
    """
    if variant.name == "ours":
        return "import otel_aierrors; otel_aierrors.instrument()"
    if variant.name == "openlit":
        return f"import openlit; openlit.init(pricing_json={openlit_pricing_file()!r})"
    module = INSTRUMENTOR_MODULES.get(variant.name)
    if module is None:
        raise KeyError(f"no documented set-up for {variant.name!r}")
    return f"from {module} import OpenAIInstrumentor; OpenAIInstrumentor().instrument()"


def baseline_variant(sha: str, tree: str) -> Variant:
    """Ours at commit ``sha``, imported from ``tree`` (its extraction), in the ``main`` venv.

    No distribution is named: the commit says what ran, and the ``main`` venv's version row
    stays the work tree's.
    """
    short = sha[:7]
    return Variant(
        f"{_BASELINE_PREFIX}{short}", f"otel-aierrors at {short} (baseline)", "main", None, "setup_baseline", tree
    )


def variant_named(name: str, tree: str = "") -> Variant | None:
    """The variant a worker was started as: one of ``VARIANTS``, or a baseline ``ours@<sha7>`` from ``tree``.

    A baseline without its tree is unknown: it would time the work tree under the old name.
    """
    if name.startswith(_BASELINE_PREFIX):
        return baseline_variant(name.removeprefix(_BASELINE_PREFIX), tree) if tree else None
    return next((variant for variant in VARIANTS if variant.name == name), None)
