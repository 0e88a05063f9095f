"""Prometheus durations, and the one knob that makes the rules testable in seconds.

Production rules look back over hours and days. The end-to-end test cannot
wait that long, so the generator can scale every range, offset and ``for`` by
one factor (``--windows-scale 1/60`` turns ``1h`` into ``1m`` and ``5m`` into
``5s``). Nothing else changes: the rule names keep their nominal windows
(``...:ratio_rate1h`` is still called that), so dashboards and alerts refer to
the same series in both variants.
"""

from __future__ import annotations

import re
from fractions import Fraction

__all__ = ["Scale", "parse_duration", "parse_scale", "render_duration"]

_UNITS = {"ms": Fraction(1, 1000), "s": Fraction(1), "m": Fraction(60), "h": Fraction(3600), "d": Fraction(86400)}
_PART = re.compile(r"(\d+)(ms|s|m|h|d)")


def parse_duration(text: str) -> Fraction:
    """Return a Prometheus duration such as ``1h30m`` in seconds."""
    pos = 0
    total = Fraction(0)
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += int(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return total


def render_duration(seconds: Fraction) -> str:
    """Return the shortest Prometheus duration for ``seconds`` (rounded to the millisecond)."""
    millis = round(seconds * 1000)
    if millis <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, millis = divmod(millis, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def parse_scale(text: str) -> Fraction:
    """Parse a scale factor written as ``1/60``, ``0.5`` or ``2``."""
    value = Fraction(text)
    if value <= 0:
        raise ValueError(f"the windows scale must be positive, got {text!r}")
    return value


class Scale:
    """Renders nominal durations, multiplied by a factor (1 in production)."""

    def __init__(self, factor: Fraction = Fraction(1)) -> None:
        self.factor = factor

    def __call__(self, nominal: str) -> str:
        """Return ``nominal`` (e.g. ``"5m"``) scaled, as a Prometheus duration."""
        if self.factor == 1:
            return nominal
        return render_duration(parse_duration(nominal) * self.factor)
