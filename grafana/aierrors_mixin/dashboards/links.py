"""Data links from a series (or a table row) to the traces behind it, in Jaeger.

Two links per panel: Grafana Explore with the ``$tracing`` data source, and
the Jaeger UI at ``$jaeger_url``. Both search the series' service (``job``,
the ``service.name`` the collector exports) for spans with the series'
attributes (``aierrors.error.class=...``, ``server.address=...``) over the
dashboard's time range.
"""

from __future__ import annotations

import json

from grafana_foundation_sdk.builders.dashboard import DashboardLink

__all__ = ["attempt_links", "call_links", "column", "label", "trace_links"]


def label(name: str) -> str:
    """A data-link reference to a label of the clicked series."""
    return "${__field.labels." + name + "}"


def column(name: str) -> str:
    """A data-link reference to a column of the clicked table row."""
    return "${__data.fields." + name + "}"


def _quote(text: str) -> str:
    """Percent-encode what a browser would choke on, leaving ``${...}`` placeholders alone."""
    return text.replace("%", "%25").replace('"', "%22").replace(" ", "%20").replace("#", "%23")


def trace_links(service: str, tags: dict[str, str]) -> list[DashboardLink]:
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
        DashboardLink("Traces (Explore, Jaeger)").url(explore).target_blank(False),
        DashboardLink("Traces (Jaeger UI)").url(jaeger).target_blank(True),
    ]


def call_links(**extra: str) -> list[DashboardLink]:
    """Links to call spans of the clicked series' service, provider, address and model.

    ``extra`` keys are span attributes with ``__`` for ``.`` (``aierrors__error__class``).
    """
    tags = {
        "gen_ai.provider.name": label("gen_ai_provider_name"),
        "server.address": label("server_address"),
        "gen_ai.request.model": label("gen_ai_request_model"),
    }
    tags.update({key.replace("__", "."): value for key, value in extra.items()})
    return trace_links(label("job"), tags)


def attempt_links(**extra: str) -> list[DashboardLink]:
    """Links to attempt spans (which carry ``server.address`` but not the model nor the provider)."""
    tags = {"server.address": label("server_address")}
    tags.update({key.replace("__", "."): value for key, value in extra.items()})
    return trace_links(label("job"), tags)
