"""Dashboard hygiene: fixed uids, every panel described and with a unit, variables, links, layout."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from . import _assets, _promql

REQUIRED_VARIABLES = {"datasource", "tracing", "job", "provider", "server", "model"}
#: Filter variable -> the label it filters on.
FILTERS = {
    "job": "job",
    "provider": "gen_ai_provider_name",
    "server": "server_address",
    "model": "gen_ai_request_model",
}
DASHBOARDS = _assets.dashboards()


def _data_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [panel for panel in _assets.panels(dashboard) if panel["type"] != "row"]


def test_there_is_an_overview_dashboard() -> None:
    assert "aierrors-overview.json" in DASHBOARDS


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_uid_is_fixed_to_the_md5_of_the_file_name(name: str) -> None:
    assert DASHBOARDS[name]["uid"] == hashlib.md5(name.encode()).hexdigest()


def test_uids_and_titles_are_unique() -> None:
    assert len({d["uid"] for d in DASHBOARDS.values()}) == len(DASHBOARDS)
    assert len({d["title"] for d in DASHBOARDS.values()}) == len(DASHBOARDS)


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_every_panel_has_a_title_a_description_and_a_unit(name: str) -> None:
    panels = _data_panels(DASHBOARDS[name])
    assert panels
    for panel in panels:
        title = panel.get("title", "")
        assert title.strip(), panel
        assert panel.get("description", "").strip(), title
        assert panel["fieldConfig"]["defaults"].get("unit", "").strip(), title
        assert panel.get("targets"), title


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_panels_read_the_chosen_data_source(name: str) -> None:
    for panel in _data_panels(DASHBOARDS[name]):
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"], panel["title"]


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_variables_for_data_source_service_provider_and_model(name: str) -> None:
    variables = _assets.variables(DASHBOARDS[name])
    assert set(variables) >= REQUIRED_VARIABLES
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["tracing"]["query"] == "jaeger"
    for key, label in FILTERS.items():
        query = variables[key]["query"]["query"]
        assert query.endswith(f", {label})"), query
        assert variables[key]["includeAll"] and variables[key]["allValue"] == ".*"


@pytest.mark.parametrize("query", _assets.queries(), ids=str)
def test_queries_filter_on_the_template_variables(query: _assets.Query) -> None:
    assert 'job=~"$job"' in query.expr, query.expr
    if "aierrors_fallback_hops_total" in query.expr:
        # Hops carry no call attributes: the model filter applies to the model fallen back from.
        assert 'aierrors_fallback_from_model=~"$model"' in query.expr
    elif "aierrors_breaker_" in query.expr:
        pass  # Breakers carry no call attributes: only the service filter applies to them.
    else:
        for variable, label in FILTERS.items():
            assert f'{label}=~"${variable}"' in query.expr, query.expr


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_panels_that_break_down_errors_link_to_traces(name: str) -> None:
    linked = {
        panel["title"]
        for panel in _data_panels(DASHBOARDS[name])
        if any("${tracing}" in url for url in _assets.link_urls(panel))
        and any("${jaeger_url}" in url for url in _assets.link_urls(panel))
    }
    for title in (
        "Call error ratio by error class",
        "Attempt error ratio by error class",
        "Stream interruptions",
        "Soft failures by kind and finish reason",
        "Fallback hops (from → to, reason)",
        "Wasted retries",
    ):
        assert title in linked
    # Every timeseries and table that groups by service can go to its traces.
    for panel in _data_panels(DASHBOARDS[name]):
        if panel["type"] in ("timeseries", "table") and "Calls by outcome" not in panel["title"]:
            assert panel["title"] in linked, panel["title"]


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_trace_links_search_the_series_service_and_time_range(name: str) -> None:
    for panel in _data_panels(DASHBOARDS[name]):
        for url in _assets.link_urls(panel):
            assert "${__field.labels.job}" in url or "${__data.fields.job}" in url, panel["title"]
            assert "${__from}" in url and "${__to}" in url, panel["title"]


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_latency_panels_ask_for_exemplars(name: str) -> None:
    latency = [p for p in _data_panels(DASHBOARDS[name]) if "latency" in p["title"].lower()]
    assert latency
    for panel in latency:
        assert all(target.get("exemplar") for target in panel["targets"]), panel["title"]


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_layout_has_unique_ids_and_no_overlap(name: str) -> None:
    panels = _assets.panels(DASHBOARDS[name])
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    cells: dict[tuple[int, int], str] = {}
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']!r} overlaps {cells[(x, y)]!r}"
                cells[(x, y)] = panel["title"]


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_every_provider_is_told_apart(name: str) -> None:
    """openai, anthropic, groq, together, cerebras and fireworks may share a gateway's address:
    every series that groups by address also groups by provider, and call links search it."""
    for query in _assets.queries():
        if query.dashboard != name or "aierrors_fallback_hops_total" in query.expr:
            continue
        grouping = _promql.names(query.expr).labels
        if "server_address" in grouping:
            assert "gen_ai_provider_name" in grouping, f"{query}: {query.expr}"
        if "server_address" in query.legend:
            assert "gen_ai_provider_name" in query.legend, str(query)
    for panel in _data_panels(DASHBOARDS[name]):
        for url in _assets.link_urls(panel):
            if "gen_ai.request.model" in url:
                assert "gen_ai.provider.name" in url, panel["title"]


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_cancelled_calls_are_shown_apart_and_never_counted_as_calls_of_a_ratio(name: str) -> None:
    titles = {panel["title"] for panel in _data_panels(DASHBOARDS[name])}
    assert "Calls cancelled by the application" in titles
    error_ratios = [
        query
        for query in _assets.queries()
        if query.dashboard == name and 'aierrors_outcome="error"' in query.expr and "/" in query.expr
    ]
    assert len(error_ratios) >= 4
    for query in error_ratios:
        numerator, denominator = query.expr.rsplit("\n/", 1)
        assert 'aierrors_outcome="error"' in numerator, str(query)
        assert 'aierrors_outcome!="cancelled"' in denominator, f"{query}: {query.expr}"


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_every_reference_to_a_variable_is_defined(name: str) -> None:
    dashboard = DASHBOARDS[name]
    values = dict.fromkeys(_assets.variables(dashboard), "x")
    values.update(dict.fromkeys(("__rate_interval", "__range", "__interval", "__from", "__to"), "x"))
    for query in _assets.queries():
        if query.dashboard == name:
            _assets.substitute(query.expr, values)  # raises KeyError on an undefined variable
