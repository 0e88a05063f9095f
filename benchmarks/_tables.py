"""The report's comparison tables: ours against the floor and each peer, per chunk, per SDK.

Owns the tables that put two sampling ratios of one run next to each other (the ratio
table), the cost of one more stream chunk, the vendor-SDK rows and the targets. Like
``_report`` it reads only the run document, so a stored run renders the same way.
"""

from __future__ import annotations

import math
from typing import Any

from _figures import OPENAI_ORDER, added, against_baseline, baseline, entries, find, per_chunk, ratios
from _sdks import SDKS
from _targets import check_targets, verdict

__all__ = ["chunk_table", "ratio_table", "revision_table", "sdk_table", "targets_table"]


def _share(ratio: float) -> str:
    return "all" if ratio == 1.0 else f"{ratio:.0%}"


def _signed(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:+,.0f}" if abs(value) >= 100 else f"{value:+,.1f}"


def _times(mine: float, theirs: float) -> str:
    if math.isnan(mine) or math.isnan(theirs) or theirs <= 0:
        return "n/a"
    return f"{mine / theirs:.2f}"


def ratio_table(doc: dict[str, Any]) -> list[str]:
    """Ours' added µs over each other variant's, every call sampled / sampled share, per scenario."""
    shares = ratios(doc)
    scenarios = [s for s in OPENAI_ORDER if s in doc["settings"]["scenarios"]]
    others = [v["name"] for v in entries(doc, 1.0) if v["name"] != "ours"]
    heading = " / ".join(_share(r) for r in shares)
    lines = [
        f"| ours ÷ (sampled: {heading}) | " + " | ".join(scenarios) + " |",
        "|---|" + "---:|" * len(scenarios),
    ]
    for other in others:
        cells = []
        for scenario in scenarios:
            cells.append(
                " / ".join(
                    _times(added(find(doc, "ours", r), scenario), added(find(doc, other, r), scenario)) for r in shares
                )
            )
        lines.append(f"| {other} | " + " | ".join(cells) + " |")
    return lines


def revision_table(doc: dict[str, Any]) -> list[str]:
    """Ours minus the baseline revision per scenario and sampler: the paired median, its interval, rounds won."""
    rows = against_baseline(doc)
    if not rows:
        return ["Not compared: ours and the baseline were not both timed (see Not measured)."]
    units = "replicas" if doc["settings"].get("replicas", 1) > 1 else "rounds"
    lines = [
        "| Scenario | sampled | ours - baseline, µs (median) | 95 % interval | ours faster | verdict |",
        "|---|---|---:|---|---:|---|",
    ]
    for ratio, scenario, d in rows:
        interval = "n/a" if math.isnan(d.low_us) else f"{_signed(d.low_us)} to {_signed(d.high_us)}"
        lines.append(
            f"| {scenario} | {_share(ratio)} | {_signed(d.median_us)} | {interval} "
            f"| {d.faster} of {d.rounds} {units} | {verdict(d)} |"
        )
    return lines


def chunk_table(doc: dict[str, Any]) -> list[str]:
    """µs per extra chunk: the bare SDK's own, and what floor and ours add, per sampling ratio."""
    shares = ratios(doc)
    if "stream_long_sync" not in doc["settings"]["scenarios"]:
        return []
    lines = [
        "| per chunk, µs | " + " | ".join(f"sampled: {_share(r)}" for r in shares) + " |",
        "|---|" + "---:|" * len(shares),
        "| bare SDK (absolute) | " + " | ".join(f"{per_chunk(doc, 'bare', 1.0):.2f}" for _ in shares) + " |",
    ]
    for name in ("floor", "ours"):
        lines.append(f"| {name} (added) | " + " | ".join(f"{per_chunk(doc, name, r):.2f}" for r in shares) + " |")
    return lines


def _sdk_cells(doc: dict[str, Any], sdk: str, scenario: str, shares: list[float]) -> list[str]:
    base = baseline(doc, f"sdk-{sdk}")
    bare_us = (base or {}).get("scenarios", {}).get(scenario, {}).get("us", math.nan)
    cells = ["n/a" if math.isnan(bare_us) else f"{bare_us:,.0f}"]
    for ratio in shares:
        ours = find(doc, "ours", ratio, sdk)
        if ours is None:
            cells.append("not run")
        elif ours["status"] != "ok":
            cells.append(ours["status"])
        else:
            value = added(ours, scenario)
            cells.append("n/a" if math.isnan(value) else f"{_signed(value)} (x{(bare_us + value) / bare_us:.2f})")
    return cells


def sdk_table(doc: dict[str, Any]) -> tuple[list[str], list[str]]:
    """One row per vendor SDK: bare µs and ours' added µs per sampling ratio; then the notes."""
    shares = ratios(doc)
    wanted = [sdk for sdk in SDKS if any(f"{sdk.name}_" in s for s in doc["settings"]["scenarios"])]
    if not wanted:
        return [], []
    per = " | ".join(f"ours, sampled {_share(r)}" for r in shares)
    lines = [
        f"| SDK | version | 1 attempt: bare µs | {per} | 429+429+200: bare µs | {per} | spans/call | chaos server |",
        "|---|---|" + "---:|" * (2 + 2 * len(shares)) + "---|---|",
    ]
    notes = []
    for sdk in wanted:
        base = baseline(doc, f"sdk-{sdk.name}")
        if base is None or base.get("status") not in ("ok", "skipped"):
            reason = (base or {}).get("reason", "the venv was not built")
            lines.append(_skipped_row(sdk.name, shares))
            notes.append(f"- **{sdk.name}**: {_first_line(reason)}")
            continue
        ours = find(doc, "ours", 1.0, sdk.name)
        spans = ""
        if ours is not None and ours["status"] == "ok":
            results = [ours["scenarios"].get(f"{sdk.name}_{kind}", {}) for kind in ("chat", "retry")]
            spans = " / ".join(f"{r['spans_per_call']:g}" for r in results if r.get("status") == "ok")
        elif ours is not None:
            notes.append(f"- **ours over {sdk.name}**: {ours['status']}: {_first_line(ours.get('reason', ''))}")
        chaos = (base.get("chaos") or {}).get("outcome", "not checked")
        lines.append(
            f"| {sdk.name} | {base.get('sdk_version', '')} | "
            + " | ".join(_sdk_cells(doc, sdk.name, f"{sdk.name}_chat", shares))
            + " | "
            + " | ".join(_sdk_cells(doc, sdk.name, f"{sdk.name}_retry", shares))
            + f" | {spans} | {_first_line(chaos)} |"
        )
    return lines, notes


def _skipped_row(name: str, shares: list[float]) -> str:
    cells = ["", "not installed"] + [""] * (2 * (1 + len(shares)) - 1) + ["", ""]
    return f"| {name} | " + " | ".join(cells) + " |"


def _first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1].replace("|", "\\|")[:300] if lines else ""


def targets_table(doc: dict[str, Any]) -> list[str]:
    """The targets of issues 16 and 12, each met, not met or not measured, with the figure."""
    lines = ["| Target | Status | Measured |", "|---|---|---|"]
    for target in check_targets(doc):
        lines.append(f"| {target.name} | **{target.status}** | {target.measured} |")
    return lines
