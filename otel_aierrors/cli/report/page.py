"""The report as one self-contained HTML page: styles, data, uPlot and the SVGs inlined.

Nothing is fetched when the page opens (no CDN, no font, no image): it works
from ``file://`` and offline. The time series are drawn by uPlot (vendored in
``vendor/``, 51 KB, canvas, no dependencies: the smallest maintained library
that stacks time series); the waterfalls and bar charts are static SVG
(`otel_aierrors.cli.report.svg`). Every text from the telemetry is escaped,
and the chart data is JSON in a ``<script type="application/json">`` block
with ``<`` escaped, so a span name cannot inject markup.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from html import escape
from importlib import resources
from typing import Any, Final

from otel_aierrors import _names as n
from otel_aierrors.cli.report.alerts import RULES, RUNBOOKS_URL, Crossing, evaluate, runbook_url
from otel_aierrors.cli.report.analysis import NONE, Report
from otel_aierrors.cli.report.svg import COLORS, bars, color, waterfall
from otel_aierrors.version import __version__

__all__ = ["render_page"]

_VENDOR: Final = "otel_aierrors.cli.report.vendor"
#: A fallback scope's tally key for "answered by the primary" (hop 0).
_PRIMARY: Final = "succeeded_at_hop_0"

_STYLE: Final = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --card: #f8fafc; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  background: #fff; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 36px 0 4px; padding-top: 12px; border-top: 1px solid var(--line); }
h3 { font-size: 14px; margin: 18px 0 6px; }
p.q, p.sub { color: var(--muted); margin: 0 0 12px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(118px, 1fr)); gap: 10px; margin: 18px 0 4px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.card b { display: block; font-size: 21px; white-space: nowrap; font-variant-numeric: tabular-nums; }
.card span { color: var(--muted); font-size: 12px; }
.card.bad b { color: #b91c1c; } .card.warn b { color: #b45309; }
.chart { margin: 6px 0 18px; min-height: 250px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 14px; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
td.n, th.n { text-align: right; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
.sev { font-size: 11px; font-weight: 700; padding: 1px 6px; border-radius: 8px; color: #fff; }
.sev.critical { background: #b91c1c; } .sev.warning { background: #b45309; }
.trace { margin: 14px 0 22px; overflow-x: auto; }
.trace .head { font-size: 13px; margin-bottom: 4px; }
.trace code, code { font-size: 12px; background: var(--card); padding: 1px 4px; border-radius: 4px; }
svg text { font: 12px system-ui, sans-serif; fill: var(--ink); }
svg .tick, svg .dur, svg .detail, svg .value { fill: var(--muted); font-size: 11px; }
svg .name { font-weight: 600; }
svg .grid { stroke: var(--line); } svg .stripe { fill: #f8fafc; }
.legend { font-size: 12px; color: var(--muted); margin: 4px 0; }
.legend i { display: inline-block; width: 18px; height: 10px; margin: 0 4px 0 12px; vertical-align: middle;
  border-radius: 2px; }
.hatch { background: repeating-linear-gradient(45deg, #fde68a 0 3px, #d97706 3px 5px); }
.two { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; }
.none { color: var(--muted); font-style: italic; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
"""

_SCRIPT: Final = """
(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  function stacked(id, rows, unit) {
    const el = document.getElementById(id);
    const names = Object.keys(rows);
    const times = data.timeline.times;
    if (!names.length || !times.length) { el.textContent = "no " + unit + " in this data"; return; }
    let running = times.map(() => 0);
    const tops = names.map((name) => (running = running.map((v, i) => v + rows[name][i])));
    // uPlot draws series in order: the tallest stack first, so each lower one paints over it.
    const order = names.map((_, i) => i).reverse();
    const series = [{ label: "time" }].concat(order.map((i) => ({
      label: names[i],
      stroke: data.colors[names[i]],
      fill: data.colors[names[i]],
      width: 0,
      points: { show: false },
      paths: uPlot.paths.bars({ size: [0.92, 80], align: 1 }),
      value: (u, v, s, idx) => (idx == null ? "-" : rows[names[i]][idx]),
    })));
    const opts = {
      width: Math.max(480, el.clientWidth), height: 240,
      series: series,
      scales: { x: { time: true } },
      axes: [{}, { label: unit + " per " + data.timeline.bucket + " s", size: 56 }],
      legend: { live: true },
    };
    new uPlot(opts, [times].concat(order.map((i) => tops[i])), el);
  }
  stacked("calls-chart", data.timeline.calls, "calls");
  stacked("attempts-chart", data.timeline.attempts, "attempts");
})();
"""


def _vendor(name: str) -> str:
    return resources.files(_VENDOR).joinpath(name).read_text(encoding="utf-8")


def _json_for_script(document: Any) -> str:
    return json.dumps(document, separators=(",", ":")).replace("<", "\\u003c")


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: int = 0) -> str:
    """A table; the last ``numeric`` columns are right-aligned. Cells are HTML already."""

    def cells(tag: str, values: Sequence[str]) -> str:
        first = len(values) - numeric
        return "".join(f"<{tag}{' class=n' if i >= first else ''}>{v}</{tag}>" for i, v in enumerate(values))

    body = "".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
    return f"<table><thead><tr>{cells('th', headers)}</tr></thead><tbody>{body}</tbody></table>"


def _swatch(name: str) -> str:
    return f'<span class="swatch" style="background:{color(name)}"></span>{escape(name)}'


def render_page(report: Report, sources: Sequence[str], runbooks: str = RUNBOOKS_URL) -> str:
    """The whole page for one report.

    Args:
        report: what `analysis.analyse` counted.
        sources: the input files' names, shown in the header.
        runbooks: base of the runbook links (``docs/runbooks.md`` of the published repository).

    Returns:
        The HTML document.
    """
    totals = report.totals
    failed = sum(group.calls for group in report.groups if group.outcome == n.OUTCOME_ERROR)
    soft = sum(report.soft_failures.values())
    hops = sum(flow.hops for flow in report.flows)
    crossings = evaluate(report.series, runbooks)
    start, end = report.window
    when = (
        f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(start))} to {time.strftime('%H:%M:%S', time.gmtime(end))}"
        f" UTC ({end - start:.1f} s)"
        if end
        else "no spans"
    )
    names = {*report.timeline.calls, *report.timeline.attempts}
    data = {
        "timeline": {
            "bucket": report.timeline.bucket_seconds,
            "times": report.timeline.times,
            "calls": report.timeline.calls,
            "attempts": report.timeline.attempts,
        },
        "colors": {name: color(name) for name in sorted(names)},
        "totals": {
            "calls": totals.calls,
            "attempts": totals.attempts,
            "backoff_seconds": totals.backoff_seconds,
            "soft_failures": soft,
            "fallback_hops": hops,
            "alerts": len(crossings),
        },
    }
    cards = [
        ("calls", _number(totals.calls), ""),
        ("failed calls", f"{_number(failed)} ({100 * failed / totals.calls:.0f}%)" if totals.calls else "0", "bad"),
        ("soft failures", _number(soft), "warn" if soft else ""),
        ("HTTP attempts", _number(totals.attempts), ""),
        ("attempts per call", f"{totals.amplification:.2f}", "warn" if totals.amplification > 1.5 else ""),
        ("lost to backoff", f"{totals.backoff_seconds:.1f} s", ""),
        ("fallback hops", _number(hops), ""),
        ("alert thresholds crossed", _number(len(crossings)), "bad" if crossings else ""),
    ]
    head = "".join(
        f'<div class="card {style}" data-total="{escape(key)}"><b>{escape(value)}</b><span>{escape(key)}</span></div>'
        for key, value, style in cards
    )
    body = [
        "<main>",
        "<h1>otel-aierrors report</h1>",
        f'<p class="sub">{escape(when)} · {report.spans:,} spans from {escape(", ".join(sources))}</p>',
        f'<div class="cards">{head}</div>',
        _timeline_section(),
        _waterfall_section(report),
        _retry_section(report),
        _answers_section(report),
        _alerts_section(crossings, runbooks),
        "<footer>Counted from the input's OTLP spans and metric points by otel-aierrors "
        f"{escape(__version__)}; the numbers are those of the demo's terminal report. Charts: uPlot 1.6.32 (MIT), "
        "inlined; waterfalls and bars: SVG. Nothing on this page is fetched from the network.</footer>",
        "</main>",
    ]
    return "".join(
        [
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            "<title>otel-aierrors report</title>",
            f"<style>{_vendor('uPlot.min.css')}{_STYLE}</style></head><body>",
            *body,
            f'<script type="application/json" id="report-data">{_json_for_script(data)}</script>',
            f"<script>{_vendor('uPlot.iife.min.js')}</script>",
            f"<script>{_SCRIPT}</script>",
            "</body></html>\n",
        ]
    )


def _timeline_section() -> str:
    return (
        '<section id="timeline"><h2>What is failing, since when</h2>'
        '<p class="q">Calls by how they ended, and HTTP attempts by error class, per time bucket (stacked; '
        "hover for the counts).</p>"
        '<h3>Calls, by final outcome or class</h3><div class="chart" id="calls-chart"></div>'
        '<h3>HTTP attempts, by error class</h3><div class="chart" id="attempts-chart"></div></section>'
    )


def _waterfall_section(report: Report) -> str:
    parts = [
        '<section id="waterfalls"><h2>Where the time went</h2>',
        '<p class="q">The slowest traces, then failing ones: the call span, each HTTP attempt as a bar with '
        "its status and class, the backoff before a retry hatched, fallback scopes with their hops: the tree "
        "a tracing UI shows.</p>",
        '<div class="legend">'
        + "".join(
            f'<i style="background:{fill}"></i>{label}'
            for label, fill in (
                ("ok", "#3fa55b"),
                ("error", "#dc2626"),
                ("soft failure", "#eab308"),
                ("fallback scope", "#6366f1"),
                ("other span", "#94a3b8"),
            )
        )
        + '<i class="hatch"></i>backoff before a retry</div>',
    ]
    if not report.waterfalls:
        parts.append('<p class="none">no traces in this data</p>')
    for trace in report.waterfalls:
        story = f" · calls ended: {escape(trace.story)}" if trace.story else ""
        cut = f" · first {len(trace.rows)} spans of {len(trace.rows) + trace.cut}" if trace.cut else ""
        parts.append(
            f'<div class="trace" data-trace="{escape(trace.trace_id)}"><div class="head"><b>{escape(trace.title)}</b> '
            f"({escape(trace.why)}, {trace.seconds:.3f} s){story}{cut} · trace <code>{escape(trace.trace_id)}</code>"
            f"</div>{waterfall(trace)}</div>"
        )
    parts.append("</section>")
    return "".join(parts)


def _retry_section(report: Report) -> str:
    totals = report.totals
    costs = report.costs
    rows = [
        [
            _swatch(cost.error_class),
            _number(cost.failures),
            _number(cost.retries),
            f"{cost.backoff_seconds:.2f}",
            _number(cost.wasted) if cost.wasted else "",
        ]
        for cost in costs
    ]
    group_rows = [
        [
            escape(group.outcome),
            _swatch(group.kind if group.kind != NONE else group.outcome),
            _number(group.calls),
            _number(group.attempts),
            f"{group.attempts / group.calls:.2f}" if group.calls else "-",
        ]
        for group in report.groups
    ]
    group_rows.append(
        ["<b>all</b>", "", _number(totals.calls), _number(totals.attempts), f"<b>{totals.amplification:.2f}</b>"]
    )
    return "".join(
        [
            '<section id="retries"><h2>What retries cost</h2>',
            f'<p class="q">{totals.amplification:.2f} HTTP attempts per call; {totals.backoff_seconds:.2f} s spent '
            f"waiting in {totals.backoff_waits} backoffs (servers asked for {totals.retry_after_seconds:.2f} s in "
            f"{totals.retry_after_responses} Retry-After headers); {totals.wasted_retries} retries of a failure "
            "that cannot heal. Each retry is charged to the class of the attempt it retried.</p>",
            '<div class="two"><div><h3>Time lost to backoff, by class</h3>',
            bars([(c.error_class, c.backoff_seconds, f"{c.backoff_seconds:.2f}") for c in costs if c.retries], " s"),
            "</div><div><h3>Retries, by the class they retried</h3>",
            bars([(c.error_class, float(c.retries), str(c.retries)) for c in costs if c.retries]),
            "</div></div>",
            _table(["error class", "failed attempts", "retries", "backoff (s)", "wasted"], rows, numeric=4),
            "<h3>Retry amplification, by how calls ended <code>aierrors.calls</code></h3>",
            _table(["outcome", "class / kind", "calls", "attempts", "per call"], group_rows, numeric=3),
            "</section>",
        ]
    )


def _answers_section(report: Report) -> str:
    soft = [(kind, float(count), str(count)) for kind, count in report.soft_failures.items()]
    if report.rejected:
        soft.append(("rejected by the app", float(report.rejected), str(report.rejected)))
    flows = [
        [
            escape(flow.kind),
            "model swapped by the gateway" if flow.kind == n.FALLBACK_KIND_GATEWAY else _swatch(flow.reason),
            f"{escape(flow.from_model)} → {escape(flow.to_model)}",
            _number(flow.hops),
        ]
        for flow in report.flows
    ]
    scopes = [
        [
            escape(name),
            _number(tally.get("scopes", 0)),
            _number(tally.get(_PRIMARY, 0)),
            _number(sum(v for k, v in tally.items() if k.startswith("succeeded_at_hop_")) - tally.get(_PRIMARY, 0)),
            _number(tally.get("no_hop_succeeded", 0)),
        ]
        for name, tally in report.scopes.items()
    ]
    flow_bars = bars(
        [(f"{f.from_model} → {f.to_model}", float(f.hops), f"{f.hops} ({f.kind})") for f in report.flows],
        colors={f"{f.from_model} → {f.to_model}": "#6366f1" for f in report.flows},
    )
    return "".join(
        [
            '<section id="answers"><h2>Answers that were not answers, and where fallbacks went</h2>',
            '<div class="two"><div><h3>Soft failures, by kind</h3>'
            '<p class="sub">HTTP 200, but not what was asked (<code>aierrors.soft_failure</code>), and answers '
            "the application rejected (a fallback hop after a call that did not fail).</p>",
            bars(soft, colors=COLORS),
            '</div><div><h3>Fallback hops, by flow</h3><p class="sub">From → to '
            "(<code>aierrors.fallback.hops</code>).</p>",
            flow_bars,
            "</div></div>",
            _table(["kind", "reason", "from → to", "hops"], flows, numeric=1)
            if flows
            else '<p class="none">no fallback hops</p>',
            _table(["fallback scope", "scopes", "answered by the primary", "after a fallback", "no answer"], scopes, 4)
            if scopes
            else "",
            "</section>",
        ]
    )


def _alerts_section(crossings: Sequence[Crossing], runbooks: str) -> str:
    rows = [
        [
            f'<span class="sev {escape(c.rule.severity)}">{escape(c.rule.severity)}</span>',
            f'<a href="{escape(c.runbook)}">{escape(c.rule.name)}</a>'
            + (f" <small>({escape(c.rule.window)})</small>" if c.rule.window else ""),
            escape(c.where),
            escape(c.rule.what),
            _value(c.value, c.rule.percent),
            "&gt; " + _value(c.rule.threshold, c.rule.percent),
        ]
        for c in crossings
    ]
    quiet = sorted({rule.name for rule in RULES} - {c.rule.name for c in crossings})
    quiet_links = ", ".join(f'<a href="{escape(runbook_url(name, runbooks))}">{escape(name)}</a>' for name in quiet)
    return "".join(
        [
            '<section id="alerts"><h2>Alerts that would have fired</h2>',
            '<p class="q">The shipped alert rules\' thresholds, each computed over the whole input as one window '
            "(Prometheus also needs the rule's window and <code>for:</code> duration of history). Each name links "
            "to its runbook.</p>",
            _table(["severity", "alert", "where", "what", "value", "threshold"], rows, numeric=2)
            if rows
            else '<p class="none">no threshold was crossed</p>',
            f'<p class="sub">Not crossed: {quiet_links}.</p>' if quiet else "",
            "</section>",
        ]
    )


def _value(value: float, percent: bool) -> str:
    return f"{100 * value:.1f}%" if percent else f"{value:g}" if value == int(value) else f"{value:.2f}"
