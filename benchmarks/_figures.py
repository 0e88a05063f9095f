"""Reading figures out of a run document: one variant's result under one sampling ratio.

Owns the lookups the report and the targets share, so both read a run the same way.
A run written before sampled variants existed has no ``ratio`` (every call was sampled)
and its ``logic`` is keyed by scenario; both are read as ratio 1.
"""

from __future__ import annotations

import math
from typing import Any

from _stats import PairedDifference, paired_difference, per_replica

__all__ = [
    "OPENAI_ORDER",
    "added",
    "against_baseline",
    "baseline",
    "entries",
    "find",
    "logic",
    "per_chunk",
    "ratio_of",
    "ratios",
]

#: The ``openai`` scenarios every variant runs, in report order.
OPENAI_ORDER = ("chat_sync", "chat_async", "retry_sync", "retry_async", "stream_sync", "stream_async")
#: The long stream and the stream it is compared with, and their chunk counts.
_LONG, _SHORT, _CHUNKS_LONG, _CHUNKS_SHORT = "stream_long_sync", "stream_sync", 250, 50


def ratio_of(entry: dict[str, Any]) -> float:
    """The sampling ratio of a variant or baseline entry."""
    return float(entry.get("ratio", 1.0))


def ratios(doc: dict[str, Any]) -> list[float]:
    """The sampling ratios a run timed, every call sampled first."""
    return sorted({ratio_of(v) for v in doc.get("variants", [])} | {1.0}, reverse=True)


def entries(doc: dict[str, Any], ratio: float, sdk: str = "openai") -> list[dict[str, Any]]:
    """Variant entries (bare excluded) timed under ``ratio`` over ``sdk``."""
    return [
        v
        for v in doc.get("variants", [])
        if v["name"] != "bare" and ratio_of(v) == ratio and v.get("sdk", "openai") == sdk
    ]


def find(doc: dict[str, Any], name: str, ratio: float, sdk: str = "openai") -> dict[str, Any] | None:
    """The entry of variant ``name`` under ``ratio`` over ``sdk``, if it ran."""
    return next((v for v in entries(doc, ratio, sdk) if v["name"] == name), None)


def added(entry: dict[str, Any] | None, scenario: str) -> float:
    """Median added µs per call of a variant in a scenario; NaN when not measured."""
    if entry is None or entry.get("status") != "ok":
        return math.nan
    result = entry["scenarios"].get(scenario, {})
    return float(result["overhead"]["added_us"]) if result.get("status") == "ok" else math.nan


def baseline(doc: dict[str, Any], venv: str, ratio: float = 1.0) -> dict[str, Any] | None:
    """The bare baseline of a venv under ``ratio`` (falling back to the unsampled one)."""
    found = {ratio_of(b): b for b in doc.get("baselines", []) if b["venv"] == venv}
    return found.get(ratio) or found.get(1.0)


def logic(doc: dict[str, Any], ratio: float) -> dict[str, Any]:
    """Ours minus floor, paired per round, under ``ratio``."""
    found = doc.get("logic") or {}
    if any(key in OPENAI_ORDER for key in found):
        found = {"1": found}
    result: dict[str, Any] = found.get(f"{ratio:g}", {})
    return result


def against_baseline(doc: dict[str, Any]) -> list[tuple[float, str, PairedDifference]]:
    """Ours minus the ``--baseline`` revision, per sampling ratio and scenario in report order.

    Read from each round's stored difference, so a stored run gives the same figures. With
    replica processes the units are the replicas (each one's median over its rounds).
    """
    found = (doc.get("revision") or {}).get("differences_us", {})
    replicas = doc["settings"].get("replicas", 1)
    return [
        (ratio, scenario, paired_difference(per_replica(found[f"{ratio:g}"][scenario], replicas)))
        for ratio in ratios(doc)
        for scenario in doc["settings"]["scenarios"]
        if scenario in found.get(f"{ratio:g}", {})
    ]


def per_chunk(doc: dict[str, Any], name: str, ratio: float) -> float:
    """What one more stream chunk adds, in µs: the slope between the 250- and 50-chunk streams.

    For ``bare`` it is the SDK's own cost per chunk; for a variant, the cost it adds on
    top, apart from everything a stream pays once (spans, metric records, set-up).
    """
    if name == "bare":
        base = baseline(doc, "main")
        if base is None:
            return math.nan
        long_us = base["scenarios"].get(_LONG, {}).get("us", math.nan)
        short_us = base["scenarios"].get(_SHORT, {}).get("us", math.nan)
        return float(long_us - short_us) / (_CHUNKS_LONG - _CHUNKS_SHORT)
    entry = find(doc, name, ratio)
    return (added(entry, _LONG) - added(entry, _SHORT)) / (_CHUNKS_LONG - _CHUNKS_SHORT)
