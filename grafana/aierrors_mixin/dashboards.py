"""Grafana dashboards, as JSON documents ready for file provisioning.

One dashboard per file, with a fixed ``uid`` (the md5 of its file name, as in
kubernetes-mixin). Every panel has a title, a description and a unit, reads
the Prometheus data source chosen in ``$datasource`` and filters on the
template variables ``$job`` (service), ``$provider`` (``server_address``) and
``$model`` (``gen_ai_request_model``).

From a bad panel to the traces behind it: series carry data links to Jaeger,
both through Grafana Explore (the ``$tracing`` data source) and to the Jaeger
UI (``$jaeger_url``), searching the service (``job``, which is the
``service.name`` the collector exports) for spans with the series' attributes
(``aierrors.error.class=...``, ``server.address=...``). Latency panels also
ask for exemplars, which carry the trace id when metrics flow through the
collector (see ``collector-config/README.md``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from . import config as c
from .rules import slo_ratio_rule, soft_failure_rule

__all__ = ["DASHBOARDS", "render"]

Json = dict[str, Any]

PROMETHEUS = {"type": "prometheus", "uid": "${datasource}"}
SELECTOR = 'job=~"$job", server_address=~"$provider", gen_ai_request_model=~"$model"'
BY = "job, server_address, gen_ai_request_model"
RATE = "$__rate_interval"
WHERE = "{{gen_ai_request_model}} @ {{server_address}} · {{job}}"


def sel(extra: str = "") -> str:
    """The dashboard's label selector, plus ``extra`` matchers."""
    return "{" + SELECTOR + (f", {extra}" if extra else "") + "}"


ERRORS = sel('aierrors_outcome="error"')
WASTED = sel('aierrors_retry_wasted="true"')
RATE_LIMITED = sel('aierrors_error_class="rate_limit"')
SOFT = sel('aierrors_outcome="soft_failure"')
FINISHED = sel('aierrors_finish_reason!=""')
INTERRUPTED = sel('aierrors_error_class="stream_interrupted"')
ABANDONED = sel('aierrors_stream_abandoned="true"')


def label(name: str) -> str:
    """A data-link reference to a label of the clicked series."""
    return "${__field.labels." + name + "}"


def column(name: str) -> str:
    """A data-link reference to a column of the clicked table row."""
    return "${__data.fields." + name + "}"


def _quote(text: str) -> str:
    """Percent-encode what a browser would choke on, leaving ``${...}`` placeholders alone."""
    return text.replace("%", "%25").replace('"', "%22").replace(" ", "%20").replace("#", "%23")


def trace_links(service: str, tags: dict[str, str]) -> list[Json]:
    """Data links to the traces behind a series: Explore with ``$tracing``, and the Jaeger UI.

    Args:
        service: Template for the Jaeger service (the ``job`` of the series).
        tags: Span attribute name (as in ``docs/telemetry.md``) to template value.
    """
    logfmt = " ".join(f"{key}={value}" for key, value in tags.items())
    query = {
        "refId": "A",
        "datasource": {"type": "jaeger", "uid": "${tracing}"},
        "queryType": "search",
        "service": service,
        "tags": logfmt,
        "limit": 20,
    }
    panes = {
        "traces": {
            "datasource": "${tracing}",
            "queries": [query],
            "range": {"from": "${__from}", "to": "${__to}"},
        }
    }
    explore = "/explore?schemaVersion=1&orgId=1&panes=" + _quote(json.dumps(panes, separators=(",", ":")))
    jaeger_tags = _quote(json.dumps(tags, separators=(",", ":")))
    jaeger = (
        f"${{jaeger_url}}/search?service={service}&tags={jaeger_tags}&start=${{__from}}000&end=${{__to}}000&limit=20"
    )
    return [
        {"title": "Traces (Explore, Jaeger)", "url": explore, "targetBlank": False},
        {"title": "Traces (Jaeger UI)", "url": jaeger, "targetBlank": True},
    ]


def call_links(**extra: str) -> list[Json]:
    """Links to call spans of the clicked series' service, provider and model."""
    tags = {"server.address": label("server_address"), "gen_ai.request.model": label("gen_ai_request_model")}
    tags.update({key.replace("__", "."): value for key, value in extra.items()})
    return trace_links(label("job"), tags)


def attempt_links(**extra: str) -> list[Json]:
    """Links to attempt spans (which carry ``server.address`` but not the model)."""
    tags = {"server.address": label("server_address")}
    tags.update({key.replace("__", "."): value for key, value in extra.items()})
    return trace_links(label("job"), tags)


@dataclass
class Target:
    expr: str
    legend: str = ""
    instant: bool = False
    exemplar: bool = False
    table: bool = False

    def render(self, ref: str) -> Json:
        out: Json = {
            "refId": ref,
            "datasource": PROMETHEUS,
            "editorMode": "code",
            "expr": self.expr,
            "legendFormat": self.legend or "__auto",
            "range": not self.instant,
            "instant": self.instant,
        }
        if self.exemplar:
            out["exemplar"] = True
        if self.table:
            out["format"] = "table"
        return out


@dataclass
class Panel:
    title: str
    description: str
    unit: str
    targets: list[Target]
    kind: str = "timeseries"
    links: list[Json] = field(default_factory=list)
    width: int = 12
    height: int = 8
    min: float | None = None
    max: float | None = None
    thresholds: list[tuple[float, str]] | None = None
    stack: bool = False

    def render(self, pid: int, x: int, y: int) -> Json:
        defaults: Json = {"unit": self.unit, "links": self.links}
        if self.min is not None:
            defaults["min"] = self.min
        if self.max is not None:
            defaults["max"] = self.max
        steps = [{"color": "green", "value": None}] + [
            {"color": color, "value": value} for value, color in (self.thresholds or [])
        ]
        defaults["thresholds"] = {"mode": "absolute", "steps": steps}
        options: Json
        if self.kind == "timeseries":
            defaults["custom"] = {
                "drawStyle": "line",
                "lineWidth": 1,
                "fillOpacity": 10,
                "showPoints": "never",
                "spanNulls": False,
                "stacking": {"mode": "normal" if self.stack else "none", "group": "A"},
                "thresholdsStyle": {"mode": "dashed" if self.thresholds else "off"},
            }
            defaults["color"] = {"mode": "palette-classic"}
            options = {
                "legend": {"displayMode": "table", "placement": "bottom", "calcs": ["mean", "max", "lastNotNull"]},
                "tooltip": {"mode": "multi", "sort": "desc"},
            }
        elif self.kind == "stat":
            defaults["color"] = {"mode": "thresholds"}
            options = {
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "colorMode": "value",
                "graphMode": "area",
                "justifyMode": "auto",
                "textMode": "auto",
                "orientation": "auto",
            }
        elif self.kind == "table":
            defaults["custom"] = {"align": "auto", "filterable": True}
            options = {"showHeader": True, "cellHeight": "sm", "sortBy": [{"displayName": "Value", "desc": True}]}
        else:
            raise ValueError(f"unknown panel kind {self.kind!r}")
        panel: Json = {
            "id": pid,
            "type": self.kind,
            "title": self.title,
            "description": self.description,
            "datasource": PROMETHEUS,
            "gridPos": {"x": x, "y": y, "w": self.width, "h": self.height},
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": options,
            "targets": [target.render(chr(ord("A") + i)) for i, target in enumerate(self.targets)],
        }
        if self.kind == "table":
            panel["transformations"] = [
                {"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": {}}}
            ]
        return panel


class Dashboard:
    """Panels laid out left to right, top to bottom, in rows."""

    def __init__(self, file_name: str, title: str, description: str) -> None:
        self.file_name = file_name
        self.title = title
        self.description = description
        self._panels: list[Json] = []
        self._x = 0
        self._y = 0
        self._row_height = 0

    def _next_id(self) -> int:
        return len(self._panels) + 1

    def row(self, title: str) -> None:
        self._newline()
        self._panels.append(
            {
                "id": self._next_id(),
                "type": "row",
                "title": title,
                "collapsed": False,
                "gridPos": {"x": 0, "y": self._y, "w": 24, "h": 1},
                "panels": [],
            }
        )
        self._y += 1

    def _newline(self) -> None:
        if self._x:
            self._y += self._row_height
        self._x = 0
        self._row_height = 0

    def add(self, panel: Panel) -> None:
        if self._x + panel.width > 24:
            self._newline()
        self._panels.append(panel.render(self._next_id(), self._x, self._y))
        self._x += panel.width
        self._row_height = max(self._row_height, panel.height)

    @property
    def uid(self) -> str:
        return hashlib.md5(self.file_name.encode()).hexdigest()

    def render(self, objective: float) -> Json:
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": ["aierrors", "openai", "genai"],
            "editable": True,
            "graphTooltip": 1,
            "schemaVersion": 39,
            "version": 1,
            "refresh": "30s",
            "time": {"from": "now-6h", "to": "now"},
            "timepicker": {},
            "timezone": "",
            "fiscalYearStartMonth": 0,
            "liveNow": False,
            "weekStart": "",
            "annotations": {
                "list": [
                    {
                        "builtIn": 1,
                        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                        "enable": True,
                        "hide": True,
                        "iconColor": "rgba(0, 211, 255, 1)",
                        "name": "Annotations & Alerts",
                        "type": "dashboard",
                    }
                ]
            },
            "links": _dashboard_links(),
            "templating": {"list": _variables(objective)},
            "panels": self._panels,
        }


def _dashboard_links() -> list[Json]:
    common = {"type": "link", "targetBlank": True, "asDropdown": False, "includeVars": False, "keepTime": False}
    links: list[Json] = [
        {"title": "Jaeger", "url": "${jaeger_url}/search", "icon": "external link", "tooltip": "Search traces"}
    ]
    # A relative runbook URL would resolve against Grafana's own address: only link an absolute one.
    if c.RUNBOOK_URL.startswith(("http://", "https://")):
        links.append({"title": "Runbooks", "url": c.RUNBOOK_URL, "icon": "doc", "tooltip": "What to do per alert"})
    return [{**link, **common, "tags": []} for link in links]


def _query_variable(name: str, label_text: str, query: str) -> Json:
    return {
        "name": name,
        "label": label_text,
        "type": "query",
        "datasource": PROMETHEUS,
        "definition": query,
        "query": {"query": query, "refId": f"{name}-variable"},
        "refresh": 2,
        "regex": "",
        "sort": 1,
        "multi": True,
        "includeAll": True,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "options": [],
        "hide": 0,
    }


def _variables(objective: float) -> list[Json]:
    return [
        {
            "name": "datasource",
            "label": "Metrics",
            "type": "datasource",
            "query": "prometheus",
            "regex": "",
            "current": {},
            "options": [],
            "hide": 0,
            "refresh": 1,
        },
        {
            "name": "tracing",
            "label": "Traces",
            "type": "datasource",
            "query": "jaeger",
            "regex": "",
            "current": {},
            "options": [],
            "hide": 0,
            "refresh": 1,
        },
        _query_variable("job", "Service", f"label_values({c.CALLS}, job)"),
        _query_variable("provider", "Provider", f'label_values({c.CALLS}{{job=~"$job"}}, server_address)'),
        _query_variable(
            "model",
            "Model",
            f'label_values({c.CALLS}{{job=~"$job", server_address=~"$provider"}}, gen_ai_request_model)',
        ),
        {
            "name": "jaeger_url",
            "label": "Jaeger UI",
            "type": "textbox",
            "query": "http://localhost:16686",
            "current": {"text": "http://localhost:16686", "value": "http://localhost:16686"},
            "options": [],
            "hide": 0,
        },
        {
            "name": "objective",
            "label": "Objective",
            "description": "Share of calls that must succeed; the one grafana/generate.py rendered the rules with.",
            "type": "constant",
            "query": f"{objective:g}",
            "current": {"text": f"{objective:g}", "value": f"{objective:g}"},
            "options": [],
            "hide": 2,
        },
    ]


def _ratio(numerator: str, denominator: str, by: str = BY) -> str:
    return f"sum by ({by}) ({numerator})\n/\nsum by ({by}) ({denominator})"


def _quantiles(metric: str, name: str) -> list[Target]:
    return [
        Target(
            f"histogram_quantile({q}, sum by (le, {BY}) (rate({metric}_bucket{sel()}[{RATE}])))",
            f"{name} p{int(q * 100)} · {WHERE}",
            exemplar=True,
        )
        for q in (0.5, 0.95, 0.99)
    ]


def overview() -> Dashboard:
    d = Dashboard(
        "aierrors-overview.json",
        "AI errors / Overview",
        "Calls of the openai SDK by service, provider and model: errors by class, retries, rate limits, "
        "soft failures, streams, fallbacks and latency (otel-aierrors).",
    )
    calls, attempts = c.CALLS, c.ATTEMPTS

    d.row("Overview")
    d.add(
        Panel(
            "Call error ratio",
            "Share of logical SDK calls (retries included in one call) that ended in an error, over the "
            "selected time range. Soft failures (truncated, filtered, empty answers) are not errors.",
            "percentunit",
            [
                Target(
                    f"(sum(increase({calls}{ERRORS}[$__range])) "
                    f"or vector(0))\n/\nsum(increase({calls}{sel()}[$__range]))",
                    instant=True,
                )
            ],
            kind="stat",
            width=6,
            height=5,
            thresholds=[(0.01, "orange"), (0.05, "red")],
        )
    )
    d.add(
        Panel(
            "Attempt error ratio",
            "Share of HTTP attempts, the SDK's retries included, that failed over the selected time range. "
            "Higher than the call error ratio when retries rescue calls.",
            "percentunit",
            [
                Target(
                    f"(sum(increase({attempts}{ERRORS}"
                    f"[$__range])) or vector(0))\n/\nsum(increase({attempts}{sel()}[$__range]))",
                    instant=True,
                )
            ],
            kind="stat",
            width=6,
            height=5,
            thresholds=[(0.05, "orange"), (0.2, "red")],
        )
    )
    d.add(
        Panel(
            "Attempts per call",
            "HTTP attempts per logical call over the selected time range: 1 means no retry at all. "
            "The provider sees this many times the application's traffic.",
            "suffix: attempts/call",
            [
                Target(
                    f"sum(increase({attempts}{sel()}[$__range]))\n/\nsum(increase({calls}{sel()}[$__range]))",
                    instant=True,
                )
            ],
            kind="stat",
            width=6,
            height=5,
            thresholds=[(1.2, "orange"), (c.THRESHOLDS.attempts_per_call, "red")],
        )
    )
    d.add(
        Panel(
            "Error budget burn rate (1h)",
            "How many times faster than the objective allows the worst selected model spent its error budget "
            "over the last hour (recording rule of grafana/rules). 14.4 pages when the last 5 minutes agree.",
            "suffix:x",
            [Target(f"max({slo_ratio_rule('1h')}{sel()}) / (1 - $objective)", instant=True)],
            kind="stat",
            width=6,
            height=5,
            thresholds=[(1, "orange"), (14.4, "red")],
        )
    )
    d.add(
        Panel(
            "Calls by outcome",
            "Logical SDK calls per second by final outcome: ok, error, soft_failure.",
            "reqps",
            [
                Target(
                    f"sum by (job, aierrors_outcome) (rate({calls}{sel()}[{RATE}]))", "{{aierrors_outcome}} · {{job}}"
                )
            ],
            width=24,
            stack=True,
        )
    )

    d.row("Errors by class")
    d.add(
        Panel(
            "Call error ratio by error class",
            "Share of calls that failed, by the normalised error class of docs/telemetry.md, per service, "
            "provider and model. Click a series for the failed calls' traces in Jaeger.",
            "percentunit",
            [
                Target(
                    f"sum by ({BY}, aierrors_error_class) (rate({calls}{ERRORS}[{RATE}]))\n"
                    f"/ ignoring (aierrors_error_class) group_left\n"
                    f"sum by ({BY}) (rate({calls}{sel()}[{RATE}]))",
                    "{{aierrors_error_class}} · " + WHERE,
                )
            ],
            links=call_links(aierrors__error__class=label("aierrors_error_class")),
            min=0,
        )
    )
    d.add(
        Panel(
            "Attempt error ratio by error class",
            "Share of HTTP attempts (retries included) that failed, by error class. A class that shows here "
            "but not in the call error ratio is being rescued by retries.",
            "percentunit",
            [
                Target(
                    f"sum by ({BY}, aierrors_error_class) (rate({attempts}{ERRORS}[{RATE}]))\n"
                    f"/ ignoring (aierrors_error_class) group_left\n"
                    f"sum by ({BY}) (rate({attempts}{sel()}[{RATE}]))",
                    "{{aierrors_error_class}} · " + WHERE,
                )
            ],
            links=attempt_links(aierrors__error__class=label("aierrors_error_class")),
            min=0,
        )
    )
    d.add(
        Panel(
            "Error budget burn rate",
            "Call error ratio divided by the error budget (1 - objective), over the windows of the burn-rate "
            "alerts: 14.4 over 1h and 5m or 6 over 6h and 30m pages; 3 over 1d and 2h or 1 over 3d and 6h "
            "opens a ticket.",
            "suffix:x",
            [
                Target(f"{slo_ratio_rule(window)}{sel()} / (1 - $objective)", f"{window} · {WHERE}")
                for window in ("5m", "1h", "6h", "3d")
            ],
            links=call_links(aierrors__outcome="error"),
            min=0,
            thresholds=[(1, "orange"), (14.4, "red")],
        )
    )
    d.add(
        Panel(
            "Failed calls by class and operation (selected range)",
            "Failed calls over the selected time range by service, provider, model, operation and error class. "
            "Click a row for those calls' traces in Jaeger.",
            "short",
            [
                Target(
                    f"sum by ({BY}, gen_ai_operation_name, aierrors_error_class) "
                    f"(increase({calls}{ERRORS}[$__range])) > 0",
                    instant=True,
                    table=True,
                )
            ],
            kind="table",
            links=trace_links(
                column("job"),
                {
                    "server.address": column("server_address"),
                    "gen_ai.request.model": column("gen_ai_request_model"),
                    "gen_ai.operation.name": column("gen_ai_operation_name"),
                    "aierrors.error.class": column("aierrors_error_class"),
                },
            ),
        )
    )

    d.row("Retries and rate limits")
    d.add(
        Panel(
            "Retry amplification (attempts per call)",
            "HTTP attempts per logical call: 1 is no retry; the openai SDK's default max_retries=2 allows 3. "
            f"The AIErrorsRetryStorm alert fires above {c.THRESHOLDS.attempts_per_call:g}.",
            "suffix: attempts/call",
            [Target(_ratio(f"rate({attempts}{sel()}[{RATE}])", f"rate({calls}{sel()}[{RATE}])"), WHERE)],
            links=call_links(),
            thresholds=[(c.THRESHOLDS.attempts_per_call, "red")],
        )
    )
    d.add(
        Panel(
            "Time lost to backoff per call",
            "Average seconds a call spent waiting between its attempts (the SDK's backoff sleeps, honouring "
            "Retry-After).",
            "s",
            [
                Target(
                    _ratio(f"rate(aierrors_retry_backoff_seconds_sum{sel()}[{RATE}])", f"rate({calls}{sel()}[{RATE}])"),
                    WHERE,
                )
            ],
            links=call_links(),
        )
    )
    d.add(
        Panel(
            "Share of call time spent in backoff",
            "Seconds spent waiting before retries divided by the seconds calls took in total: latency the "
            "users pay for retries alone.",
            "percentunit",
            [
                Target(
                    _ratio(
                        f"rate(aierrors_retry_backoff_seconds_sum{sel()}[{RATE}])",
                        f"rate(gen_ai_client_operation_duration_seconds_sum{sel()}[{RATE}])",
                    ),
                    WHERE,
                )
            ],
            links=call_links(),
            min=0,
        )
    )
    d.add(
        Panel(
            "Wasted retries",
            "Retries sent after an attempt whose class cannot succeed when sent again (e.g. the SDK retrying a "
            '429 insufficient_quota), by the class the retry ended in (aierrors_retry_wasted="true").',
            "reqps",
            [
                Target(
                    f"sum by ({BY}, aierrors_error_class) (rate({attempts}{WASTED}[{RATE}]))",
                    "{{aierrors_error_class}} · " + WHERE,
                )
            ],
            links=attempt_links(aierrors__retry__wasted="true"),
        )
    )
    d.add(
        Panel(
            "Retry-After asked for",
            "Delay the servers asked for in retry-after-ms / retry-after / the body's retry_after, median and "
            "95th percentile.",
            "s",
            [
                Target(
                    f"histogram_quantile({q}, sum by (le, {BY}) "
                    f"(rate(aierrors_server_retry_after_seconds_bucket{sel()}[{RATE}])))",
                    f"p{int(q * 100)} · {WHERE}",
                )
                for q in (0.5, 0.95)
            ],
            links=attempt_links(aierrors__error__class="rate_limit"),
        )
    )
    d.add(
        Panel(
            "Responses asking for a delay",
            "Responses per second that carried a Retry-After (or retry-after-ms, or a body retry_after).",
            "reqps",
            [Target(f"sum by ({BY}) (rate(aierrors_server_retry_after_seconds_count{sel()}[{RATE}]))", WHERE)],
            links=attempt_links(aierrors__error__class="rate_limit"),
        )
    )
    d.add(
        Panel(
            "Rate-limit headroom",
            "Lowest remaining budget the provider reported in x-ratelimit-remaining-requests / -tokens, by kind. "
            "Zero means the next request is throttled.",
            "short",
            [
                Target(
                    f"min by ({BY}, aierrors_ratelimit_kind) (aierrors_ratelimit_remaining{sel()})",
                    "{{aierrors_ratelimit_kind}} · " + WHERE,
                )
            ],
            links=attempt_links(aierrors__error__class="rate_limit"),
            min=0,
        )
    )
    d.add(
        Panel(
            "Rate-limited attempts",
            "Share of HTTP attempts answered with a rate limit (429 rate_limit). "
            f"AIErrorsRateLimitSaturation fires above {c.THRESHOLDS.rate_limited_ratio:.0%}.",
            "percentunit",
            [
                Target(
                    f"sum by ({BY}) (rate({attempts}{RATE_LIMITED}"
                    f"[{RATE}]))\n/\nsum by ({BY}) (rate({attempts}{sel()}[{RATE}]))",
                    WHERE,
                )
            ],
            links=attempt_links(aierrors__error__class="rate_limit"),
            min=0,
            thresholds=[(c.THRESHOLDS.rate_limited_ratio, "red")],
        )
    )

    d.row("Answers and streams")
    d.add(
        Panel(
            "Soft failures by kind and finish reason",
            "HTTP 200 answers that are not what was asked for: truncated (finish_reason length), "
            "content_filter, empty, refusal, with the first choice's finish reason.",
            "reqps",
            [
                Target(
                    f"sum by ({BY}, aierrors_soft_failure, aierrors_finish_reason) (rate({calls}{SOFT}[{RATE}]))",
                    "{{aierrors_soft_failure}} ({{aierrors_finish_reason}}) · " + WHERE,
                )
            ],
            links=call_links(aierrors__soft_failure=label("aierrors_soft_failure")),
        )
    )
    d.add(
        Panel(
            "Content-filtered and truncated share",
            "Share of calls whose answer was content-filtered (soft failure or content_filter error) or "
            "truncated, over 15m and over the last day: the spike alerts compare the two.",
            "percentunit",
            [
                Target(f"{soft_failure_rule(kind, window)}{sel()}", f"{kind} {window} · {WHERE}")
                for kind in ("content_filtered", "truncated")
                for window in (c.THRESHOLDS.ratio_window, c.THRESHOLDS.baseline_window)
            ],
            links=call_links(),
            min=0,
        )
    )
    d.add(
        Panel(
            "Finish reasons",
            "Calls per second by the first choice's finish reason (stop, length, content_filter, tool_calls, "
            "or the provider's own value).",
            "reqps",
            [
                Target(
                    f"sum by ({BY}, aierrors_finish_reason) (rate({calls}{FINISHED}[{RATE}]))",
                    "{{aierrors_finish_reason}} · " + WHERE,
                )
            ],
            links=call_links(),
            stack=True,
        )
    )
    d.add(
        Panel(
            "Stream interruptions",
            "Streamed calls per second that broke after they had started "
            '(aierrors_error_class="stream_interrupted"): connection dropped or an error event mid-stream.',
            "reqps",
            [
                Target(
                    f"sum by ({BY}) (rate({calls}{INTERRUPTED}[{RATE}]))",
                    WHERE,
                )
            ],
            links=call_links(aierrors__error__class="stream_interrupted"),
        )
    )
    d.add(
        Panel(
            "Abandoned streams",
            "Streams the caller closed, broke out of, never iterated or dropped before their end, by outcome "
            '(aierrors_stream_abandoned="true"): tokens paid for and never read.',
            "reqps",
            [
                Target(
                    f"sum by ({BY}, aierrors_outcome) (rate({calls}{ABANDONED}[{RATE}]))",
                    "{{aierrors_outcome}} · " + WHERE,
                )
            ],
            links=call_links(aierrors__stream__abandoned="true"),
        )
    )
    d.add(
        Panel(
            "Time to first chunk (streams)",
            "Seconds from the call to the first chunk of a streamed answer, median and 95th percentile.",
            "s",
            [
                Target(
                    f"histogram_quantile({q}, sum by (le, {BY}) "
                    f"(rate(gen_ai_client_operation_time_to_first_chunk_seconds_bucket{sel()}[{RATE}])))",
                    f"p{int(q * 100)} · {WHERE}",
                    exemplar=True,
                )
                for q in (0.5, 0.95)
            ],
            links=call_links(),
        )
    )

    d.row("Fallbacks")
    hops = c.FALLBACK_HOPS + '{job=~"$job", aierrors_fallback_from_model=~"$model"}'
    hop_labels = (
        "job, aierrors_fallback_kind, aierrors_fallback_from_model, aierrors_fallback_to_model, "
        "aierrors_fallback_reason"
    )
    d.add(
        Panel(
            "Fallback hops (from → to, reason)",
            "Fallback hops per second from one model to the next, with the kind of hop and the error class "
            "that caused it. The model filter applies to the model fallen back from.",
            "cps",
            [
                Target(
                    f"sum by ({hop_labels}) (rate({hops}[{RATE}]))",
                    "{{aierrors_fallback_from_model}} → {{aierrors_fallback_to_model}} "
                    "({{aierrors_fallback_kind}}, {{aierrors_fallback_reason}}) · {{job}}",
                )
            ],
            links=trace_links(
                label("job"),
                {
                    "aierrors.fallback.from_model": label("aierrors_fallback_from_model"),
                    "aierrors.fallback.to_model": label("aierrors_fallback_to_model"),
                    "aierrors.fallback.reason": label("aierrors_fallback_reason"),
                },
            ),
        )
    )
    d.add(
        Panel(
            "Fallback hops (selected range)",
            "Fallback hops over the selected time range, by service, from and to model, kind and reason.",
            "short",
            [Target(f"sum by ({hop_labels}) (increase({hops}[$__range])) > 0", instant=True, table=True)],
            kind="table",
            links=trace_links(
                column("job"),
                {
                    "aierrors.fallback.from_model": column("aierrors_fallback_from_model"),
                    "aierrors.fallback.to_model": column("aierrors_fallback_to_model"),
                    "aierrors.fallback.reason": column("aierrors_fallback_reason"),
                },
            ),
        )
    )

    d.row("Latency and tokens")
    d.add(
        Panel(
            "Call vs attempt latency",
            "p50, p95 and p99 of whole calls (retries and backoff included) against single HTTP attempts. "
            "The gap is the time retries cost. Exemplars (dots) open the trace.",
            "s",
            _quantiles("gen_ai_client_operation_duration_seconds", "call")
            + _quantiles("aierrors_attempt_duration_seconds", "attempt"),
            links=call_links(),
            width=24,
            height=10,
        )
    )
    d.add(
        Panel(
            "Tokens",
            "Tokens per second by type (input, output), as the responses reported them.",
            "suffix: tokens/s",
            [
                Target(
                    f"sum by ({BY}, gen_ai_token_type) (rate(gen_ai_client_token_usage_sum{sel()}[{RATE}]))",
                    "{{gen_ai_token_type}} · " + WHERE,
                )
            ],
            links=call_links(),
            stack=True,
        )
    )
    d.add(
        Panel(
            "Calls per second by operation",
            "Logical calls per second by GenAI operation (chat, embeddings, ...).",
            "reqps",
            [
                Target(
                    f"sum by ({BY}, gen_ai_operation_name) (rate({calls}{sel()}[{RATE}]))",
                    "{{gen_ai_operation_name}} · " + WHERE,
                )
            ],
            links=call_links(),
            stack=True,
        )
    )
    return d


#: File name to builder.
DASHBOARDS = {"aierrors-overview.json": overview}


def render(name: str, objective: float) -> str:
    """Return the JSON text of dashboard ``name``."""
    dashboard = DASHBOARDS[name]()
    if dashboard.file_name != name:
        raise ValueError(f"dashboard {name!r} names itself {dashboard.file_name!r}")
    return json.dumps(dashboard.render(objective), indent=2, ensure_ascii=False) + "\n"
