"""benchmarks/startup.py --peers drops, for one peer's environment, exactly the pins pip
blames for a conflict with that peer's requirements, and keeps every other pin."""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.append(str(BENCHMARKS))

from startup import clashing_pins, without_pins  # noqa: E402

# What pip 26 says when a peer's requirement and a constraint cannot both hold.
PIP_SAYS = (
    "ERROR: Cannot install openlit==1.36.0 and openai==3.63.0 because these package versions "
    "have conflicting dependencies.\n\n"
    "The conflict is caused by:\n"
    "    The user requested openai\n"
    "    The user requested (constraint) openai==3.63.0\n"
    "    openlit 1.36.0 depends on openai<2.0.0 and >=1.92.0\n"
    "    The user requested (constraint) opentelemetry_sdk==1.45.2\n\n"
    "To fix this you could try to:\n"
    "1. loosen the range of package versions you've specified\n"
)

PINS = "anthropic==2.17.0\nopenai==3.63.0\nopentelemetry-sdk==1.45.2\nwrapt==2.5.2\n"


def test_the_pins_pip_blames_are_named_normalised() -> None:
    assert clashing_pins(PIP_SAYS) == {"openai", "opentelemetry-sdk"}


def test_no_conflict_blames_no_pin() -> None:
    assert clashing_pins("ERROR: No matching distribution found for nothing-such==1.0\n") == set()


def test_only_the_blamed_pins_are_dropped() -> None:
    assert without_pins(PINS, {"openai", "opentelemetry-sdk"}) == "anthropic==2.17.0\nwrapt==2.5.2\n"


def test_nothing_blamed_keeps_every_pin() -> None:
    assert without_pins(PINS, set()) == PINS
