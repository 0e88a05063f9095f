"""Rendering a run: the machine it ran on, the Markdown tables, the change since last time.

Owns presentation only. Everything here reads the JSON document ``run.py`` assembles
(also written next to the Markdown), so a past run can be re-rendered from its JSON.
"""

from __future__ import annotations

import math
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from _figures import OPENAI_ORDER, entries, logic, ratio_of, ratios
from _tables import chunk_table, ratio_table, revision_table, sdk_table, targets_table

__all__ = ["git_state", "machine", "render"]


def machine() -> dict[str, Any]:
    """CPU model, cores, memory and OS of this machine."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory_gib = math.nan
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            memory_gib = int(handle.readline().split()[1]) / 1024 / 1024
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_gib, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def git_state(repo_root: Path) -> dict[str, Any]:
    """The commit the tree is on and whether the package itself has uncommitted changes."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=repo_root, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    return {
        "commit": git("rev-parse", "--short", "HEAD") or "unknown",
        "dirty": bool(git("status", "--porcelain", "--", "otel_aierrors")),
    }


def _one_line(text: str) -> str:
    """The last line of a message (tracebacks and pip logs end with the point)."""
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1].replace("|", "\\|") if lines else ""


def _us(value: float) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"


def _signed(value: float) -> str:
    text = _us(value)
    return text if text.startswith("-") or text == "n/a" else f"+{text}"


def _scenarios(doc: dict[str, Any]) -> list[str]:
    chosen = doc["settings"]["scenarios"]
    return [name for name in OPENAI_ORDER if name in chosen]


def _cell(result: dict[str, Any]) -> str:
    """A summary cell: added µs and ratio, or why there is no number."""
    if result["status"] != "ok":
        return f"{result['status']}"
    overhead = result["overhead"]
    return f"{_signed(overhead['added_us'])} (x{overhead['ratio']:.2f})"


def _variant_title(variant: dict[str, Any]) -> str:
    version = variant.get("dist_version")
    return f"{variant['label']} {version}" if version else variant["label"]


def _spans(variant: dict[str, Any], scenarios: list[str]) -> str:
    """Spans per call in each scenario kind (chat / retry / stream), e.g. ``2 / 4 / 2``."""
    seen: dict[str, str] = {}
    for name in scenarios:
        result = variant["scenarios"].get(name, {})
        kind = name.split("_")[0]
        if result.get("status") == "ok" and kind not in seen:
            seen[kind] = f"{result['spans_per_call']:g}"
    return " / ".join(seen.values())


def _summary(doc: dict[str, Any], ratio: float) -> list[str]:
    """Added µs per call of every ``openai`` variant timed under ``ratio``, against its bare SDK."""
    scenarios = _scenarios(doc)
    labels = {scenario["name"]: scenario["label"] for scenario in doc["settings"]["scenario_labels"]}
    lines = [
        "| Variant | openai | " + " | ".join(labels[name] for name in scenarios) + " | spans/call |",
        "|---|---|" + "---:|" * len(scenarios) + "---|",
    ]
    for baseline in doc["baselines"]:
        if baseline.get("sdk", "openai") != "openai" or ratio_of(baseline) != 1.0 or not baseline["scenarios"]:
            continue
        cells = [_us(baseline["scenarios"].get(name, {}).get("us", math.nan)) for name in scenarios]
        lines.append(
            f"| bare SDK, µs per call ({baseline['venv']} venv) | {baseline['openai']} | "
            + " | ".join(cells)
            + " | 0 |"
        )
    missing = {"status": "n/a"}
    for variant in entries(doc, ratio):
        if variant["status"] != "ok":
            cells = [variant["status"]] * len(scenarios)
        else:
            cells = [_cell(variant["scenarios"].get(name, missing)) for name in scenarios]
        lines.append(
            f"| {_variant_title(variant)} | {variant.get('openai', '')} | "
            + " | ".join(cells)
            + f" | {_spans(variant, scenarios)} |"
        )
    paired = logic(doc, ratio)
    if paired:
        cells = [_cell(paired[name]) if name in paired else "n/a" for name in scenarios]
        lines.append("| our logic alone (ours minus floor, paired) | | " + " | ".join(cells) + " | |")
    return lines


def _details(doc: dict[str, Any]) -> list[str]:
    lines = [
        "| Variant | sampled | Scenario | bare µs | variant µs | added µs median | added µs p95 | ratio "
        "| spans/call | log records/call | rounds x calls |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    calls = doc["settings"]["calls_per_round"]
    for variant in doc["variants"]:
        if variant["name"] == "bare" or variant["status"] != "ok":
            continue
        who, share = _who(variant), f"{ratio_of(variant):.0%}"
        for name, result in variant["scenarios"].items():
            if result["status"] != "ok":
                lines.append(f"| {who} | {share} | {name} | | | {result['status']} | | | | | |")
                continue
            o = result["overhead"]
            lines.append(
                f"| {who} | {share} | {name} | {_us(o['bare_us'])} | {_us(o['variant_us'])} "
                f"| {_signed(o['added_us'])} | {_signed(o['added_p95_us'])} | {o['ratio']:.2f} "
                f"| {result['spans_per_call']:.1f} | {result['logs_per_call']:.1f} "
                f"| {o['rounds']} x {calls.get(name, '?')} |"
            )
    return lines


def _who(variant: dict[str, Any]) -> str:
    """A variant's short name, with the SDK it runs over when that is not ``openai``."""
    sdk = variant.get("sdk", "openai")
    return variant["name"] if sdk == "openai" else f"{variant['name']} over {sdk}"


def _problems(doc: dict[str, Any]) -> list[str]:
    lines = []
    for variant in doc["variants"]:
        who = f"{_who(variant)} at {ratio_of(variant):.0%}"
        if variant["status"] != "ok":
            lines.append(f"- **{who}** — {variant['status']}: {_one_line(variant.get('reason', ''))}")
            continue
        for name, result in variant["scenarios"].items():
            if result["status"] != "ok":
                lines.append(f"- **{who}** / {name} — {result['status']}: {_one_line(result.get('reason', ''))}")
    return lines


def _startup(doc: dict[str, Any]) -> list[str]:
    lines = [
        "| Variant | import (ms) | instrument() (ms) | total (ms) | samples |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, entry in doc["startup"].items():
        if "reason" in entry:
            lines.append(f"| {name} | {_one_line(entry['reason'])} | | | |")
            continue
        total = entry["import_ms"] + entry["instrument_ms"]
        lines.append(
            f"| {name} | {entry['import_ms']:.1f} | {entry['instrument_ms']:.1f} | {total:.1f} | {entry['samples']} |"
        )
    return lines


def _versions(doc: dict[str, Any]) -> list[str]:
    lines = [
        "| venv | openai | httpx | opentelemetry-sdk | instrumentation | openai versions tried |",
        "|---|---|---|---|---|---|",
    ]
    for venv in doc["venvs"]:
        versions = venv.get("versions", {})
        httpx = next((f"{k} {v}" for k, v in versions.items() if k.startswith("httpx")), "")
        peer = ", ".join(
            f"{k} {v}"
            for k, v in versions.items()
            if k not in ("python", "openai", "opentelemetry-api", "opentelemetry-sdk") and not k.startswith("httpx")
        )
        tried = "; ".join(f"{t['openai']}: {_one_line(t['outcome'])}" for t in venv.get("tried", []))
        tried = tried or "newest (no probe)"
        if venv["status"] != "ok":
            tried = f"{venv['status']}: {_one_line(venv.get('reason', ''))}"
        lines.append(
            f"| {venv['name']} | {venv.get('openai', '')} | {httpx} "
            f"| {versions.get('opentelemetry-sdk', '')} | {peer} | {tried} |"
        )
    return lines


def _mib(kib: int) -> str:
    return f"{kib / 1024:.1f}"


def _memory(doc: dict[str, Any]) -> list[str]:
    memory = doc.get("memory")
    if not memory:
        return []
    lines = [
        "",
        "## Memory",
        "",
        f"{memory['calls']:,} non-streamed sync calls, then {memory['streams']:,} streams (sync and async "
        "clients in turn; every other stream abandoned after its first chunk and dropped unclosed), "
        "in one fresh process per variant, after a warm-up of 1,000 calls and 400 streams. "
        "RSS is read from /proc; growth is measured after `gc.collect()`; the second-half figure "
        "(RSS at the end minus RSS at the half-way checkpoint) is the one that reveals a leak.",
        "",
        *(
            f"Measured: otel-aierrors {entry['versions']['otel-aierrors']}."
            for entry in memory["variants"].values()
            if "otel-aierrors" in entry.get("versions", {})
        ),
        "",
        "| Variant | phase | count | s | RSS start MiB | RSS end MiB | growth MiB | 2nd-half growth MiB "
        "| peak RSS MiB | gc objects growth | spans started / ended / exported |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, entry in memory["variants"].items():
        if "reason" in entry:
            lines.append(f"| {name} | {_one_line(entry['reason'])} | | | | | | | | | |")
            continue
        for phase, data in entry["phases"].items():
            points = data["checkpoints"]
            half = points[len(points) // 2 - 1]["rss_kib"] if len(points) >= 2 else data["start"]["rss_kib"]
            end = data["end_after_gc"]["rss_kib"]
            spans = ""
            if phase == "streams":
                exported = entry.get("spans_exported")
                spans = f"{entry['spans_started']:,} / {entry['spans_ended']:,}"
                spans += f" / {exported:,}" if exported is not None else ""
            lines.append(
                f"| {name} | {phase} | {data['count']:,} | {data['seconds']:.0f} | {_mib(data['start']['rss_kib'])} "
                f"| {_mib(end)} | {_mib(end - data['start']['rss_kib'])} | {_mib(end - half)} "
                f"| {_mib(entry['peak_rss_kib'])} | {data['gc_objects_growth']:,} | {spans} |"
            )
    return lines


def _changes(doc: dict[str, Any]) -> list[str]:
    previous = doc.get("previous")
    if not doc["settings"].get("timing", True):
        return []
    if not previous:
        return ["", "## Change since the previous run", "", "No previous timed run in this results directory."]
    lines = [
        "",
        "## Change since the previous run",
        "",
        f"Previous: {previous['date']} (commit {previous['git']['commit']}). Added µs per call, median.",
        "",
        "| Variant | Scenario | previous | now | change |",
        "|---|---|---:|---:|---:|",
    ]
    before = {
        (_who(v), ratio_of(v), s): r["overhead"]["added_us"]
        for v in previous.get("variants", [])
        for s, r in v.get("scenarios", {}).items()
        if r.get("status") == "ok"
    }
    for variant in doc["variants"]:
        if variant["name"] == "bare":
            continue
        who, ratio = _who(variant), ratio_of(variant)
        for name, result in variant.get("scenarios", {}).items():
            old = before.get((who, ratio, name))
            if old is None or result["status"] != "ok":
                continue
            now = result["overhead"]["added_us"]
            lines.append(f"| {who} at {ratio:.0%} | {name} | {_signed(old)} | {_signed(now)} | {_signed(now - old)} |")
    return lines


def _dirty(git: dict[str, Any]) -> str:
    return " (otel_aierrors/ has uncommitted changes)" if git["dirty"] else ""


def _moved(doc: dict[str, Any]) -> str:
    """Flag a HEAD that moved during the run (the tree is shared with people at work)."""
    end = doc.get("git_end")
    if not end or end["commit"] == doc["git"]["commit"]:
        return ""
    return f"; HEAD moved to {end['commit']} during the run (see the source digests under Versions)"


def _against_baseline(doc: dict[str, Any]) -> list[str]:
    """The section putting ours against the ``--baseline`` revision, timed in the same rounds."""
    revision = doc["revision"]
    return [
        f"### Ours against the baseline ({revision['rev']}, commit {revision['sha'][:10]})",
        "",
        "Ours' per-call mean minus the baseline's in the same round (both in the main venv, interleaved), "
        "median over rounds. Noise: a scenario is slower only when the 95 % confidence interval of that median "
        "(distribution-free, from the sign test) lies wholly above 0; " + _process_noise(doc),
        "",
        *revision_table(doc),
    ]


def _process_noise(doc: dict[str, Any]) -> str:
    """What the interval covers of the gap between two processes running the same code, given the replicas."""
    replicas = doc["settings"].get("replicas", 1)
    if replicas == 1:
        return (
            "taken over the rounds, it covers round-to-round noise, not a constant gap between two processes "
            "running the same code "
            "(`--baseline HEAD` on a clean tree measures that)."
        )
    return (
        f"each side ran in {replicas} replica processes, round r on replica r mod {replicas} (the same replica "
        "index, and so the same hash seed, on both sides). Rounds of one pair of processes share that pair's gap, "
        "so the median and its interval are taken over the replicas (each one's median over its rounds), which "
        "covers a gap between two processes running the same code; 6 replicas at least."
    )


def _replicas_line(settings: dict[str, Any]) -> list[str]:
    """The header line on replica processes, when a main-venv slot had more than one."""
    replicas = settings.get("replicas", 1)
    if replicas == 1:
        return []
    seeds = ", ".join(str(seed) for seed in settings.get("hash_seeds", []))
    return [
        f"- Replicas: {replicas} worker processes behind each main-venv variant and sampler, measured round r "
        f"(and warm-up round w) on replica r mod {replicas}; PYTHONHASHSEED {seeds} by replica index, the same "
        "for every variant; other venvs 1 process each"
    ]


def render(doc: dict[str, Any]) -> str:
    """The whole Markdown report of one run."""
    settings = doc["settings"]
    m = doc["machine"]
    git = doc["git"]
    calls = ", ".join(f"{name} {n}" for name, n in settings["calls_per_round"].items())
    lines = [
        f"# otel-aierrors benchmark — {doc['date']}",
        "",
        f"- Command: `{doc['command']}`",
        f"- Commit: {git['commit']}{_dirty(git)} at start{_moved(doc)}",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}, Python {m['python']}",
        f"- Wall time: {doc['wall_seconds']:.0f} s",
    ]
    if doc.get("load"):
        start, end = doc["load"][:2]
        peak = max([start, end, *doc.get("load_rounds", [])])
        lines[-1] += f"; load average (1 min) at start {start:.2f}, at end {end:.2f}, highest seen {peak:.2f}"
        # The run itself keeps about one core busy; more than that is someone else's work.
        if start > 0.5 or peak > 1.5:
            lines[-1] += " (other work shared the machine: expect noisier figures)"
    if settings.get("timing", True):
        lines += [
            f"- Rounds: {settings['warmup']} warm-up + {settings['rounds']} measured, interleaved "
            f"(A B A B, order reversed every other round); calls per round: {calls}",
            *_replicas_line(settings),
            "",
            "## Added time per call",
            "",
            "Median over rounds of (variant's per-call mean - the bare SDK's per-call mean in the same "
            "venv and round), in µs; (xN) = 1 + added / bare median, the same figure as a factor. The bare rows are "
            "absolute µs per call; one bare baseline serves both samplers (the bare SDK emits no span).",
            "",
            "### Every call sampled (the SDK's default sampler)",
            "",
            *_summary(doc, 1.0),
        ]
        for ratio in ratios(doc)[1:]:
            lines += [
                "",
                f"### {ratio:.0%} of traces sampled: `ParentBased(TraceIdRatioBased({ratio:g}))`, "
                "metrics on every call",
                "",
                "The same sampler in every worker (floor, ours, each peer); trace ids from a seeded generator "
                f"that puts exactly one root in {round(1 / ratio)} under the sampler's bound, replayed each round, "
                "so every variant samples the same calls.",
                "",
                *_summary(doc, ratio),
            ]
        lines += [
            "",
            "### Ours against the floor and each peer",
            "",
            "Ours' added µs divided by the other variant's added µs (each against the bare SDK of its own "
            "venv), every call sampled / sampled share. Below 1: ours costs less.",
            "",
            *ratio_table(doc),
        ]
        if doc.get("revision"):
            lines += ["", *_against_baseline(doc)]
        chunks = chunk_table(doc)
        if chunks:
            lines += [
                "",
                "### Cost of one more stream chunk",
                "",
                "(added µs on the 250-chunk stream - added µs on the 50-chunk stream) / 200, sync client: "
                "what a chunk costs apart from what every stream pays once.",
                "",
                *chunks,
            ]
        sdk_rows, sdk_notes = sdk_table(doc)
        if sdk_rows:
            lines += [
                "",
                "### Vendor SDKs: bare SDK and ours on top",
                "",
                "Each SDK in its own venv, with its own bare baseline; the chaos-server column is one real HTTP "
                "call from the bare client to `otel_aierrors.chaos.ChaosServer` on 127.0.0.1.",
                "",
                *sdk_rows,
            ]
            if sdk_notes:
                lines += ["", *sdk_notes]
        lines += ["", "## Targets (issues 16 and 12)", "", *targets_table(doc)]
        problems = _problems(doc)
        if problems:
            lines += ["", "Not measured:", "", *problems]
        lines += [
            "",
            "## Details",
            "",
            "`added µs p95` is the 95th percentile of the per-round paired differences (one per round, "
            "each a mean over the round's calls), not a per-call latency percentile.",
            "",
            *_details(doc),
        ]
    if doc.get("startup"):
        lines += [
            "",
            "## Start-up cost",
            "",
            "Median over fresh processes; `openai` and the OpenTelemetry SDK are imported first, "
            "so only the instrumentation's import and its `instrument()` are counted.",
            "",
            *_startup(doc),
        ]
    lines += ["", "## Versions", "", *_versions(doc)]
    lines += _memory(doc)
    lines += _changes(doc)
    return "\n".join(lines) + "\n"
