"""Template variables and dashboard links shared by the dashboards.

Data sources (``$datasource`` Prometheus, ``$tracing`` Jaeger), the filters
(``$job``, ``$provider``, ``$server``, ``$model``: multi-value, *All* by
default), ``$jaeger_url`` for links to the Jaeger UI, and the hidden constant
``$objective`` the rules were rendered with.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as builders
from grafana_foundation_sdk.models import dashboard

from .. import config as c
from .panels import PROMETHEUS

__all__ = ["dashboard_links", "variables"]

JAEGER_UI = "http://localhost:16686"


def _filter(name: str, label_text: str, query: str) -> builders.QueryVariable:
    return (
        builders.QueryVariable(name)
        .label(label_text)
        .datasource(PROMETHEUS)
        .query({"query": query, "refId": f"{name}-variable"})
        .refresh(dashboard.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dashboard.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .current(dashboard.VariableOption(selected=True, text=["All"], value=["$__all"]))
    )


def variables(
    objective: float,
) -> list[builders.QueryVariable | builders.DatasourceVariable | builders.TextBoxVariable | builders.ConstantVariable]:
    """Every variable of a dashboard, in display order."""
    calls = c.CALLS
    value = f"{objective:g}"
    return [
        builders.DatasourceVariable("datasource").label("Metrics").type("prometheus"),
        builders.DatasourceVariable("tracing").label("Traces").type("jaeger"),
        _filter("job", "Service", f"label_values({calls}, job)"),
        _filter("provider", "Provider", f'label_values({calls}{{job=~"$job"}}, gen_ai_provider_name)'),
        _filter(
            "server",
            "Server",
            f'label_values({calls}{{job=~"$job", gen_ai_provider_name=~"$provider"}}, server_address)',
        ),
        _filter(
            "model",
            "Model",
            f'label_values({calls}{{job=~"$job", gen_ai_provider_name=~"$provider", server_address=~"$server"}}, '
            "gen_ai_request_model)",
        ),
        builders.TextBoxVariable("jaeger_url").label("Jaeger UI").default_value(JAEGER_UI),
        builders.ConstantVariable("objective")
        .label("Objective")
        .description("Share of calls that must succeed; the one grafana/generate.py rendered the rules with.")
        .value(value),
    ]


def dashboard_links() -> list[builders.DashboardLink]:
    """Jaeger's search, and the runbooks once their URL is absolute."""
    links = [
        builders.DashboardLink("Jaeger").url("${jaeger_url}/search").icon("external link").tooltip("Search traces")
    ]
    # A relative runbook URL would resolve against Grafana's own address: only link an absolute one.
    if c.RUNBOOK_URL.startswith(("http://", "https://")):
        links.append(builders.DashboardLink("Runbooks").url(c.RUNBOOK_URL).icon("doc").tooltip("What to do per alert"))
    return [link.type(dashboard.DashboardLinkType.LINK).target_blank(True) for link in links]
