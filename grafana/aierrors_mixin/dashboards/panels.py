"""Panels and queries, built with ``grafana-foundation-sdk``: the one module that knows its panel options.

Every panel reads the Prometheus data source chosen in ``$datasource``, has a
title, a description and a unit, and shows time series, a single stat or a
table the same way across the dashboard. Queries are PromQL in code mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import prometheus, stat, table, timeseries
from grafana_foundation_sdk.models import common, dashboard
from grafana_foundation_sdk.models.prometheus import PromQueryFormat, QueryEditorMode

__all__ = ["PROMETHEUS", "Query", "stat_panel", "table_panel", "timeseries_panel"]

PROMETHEUS = dashboard.DataSourceRef(type_val="prometheus", uid="${datasource}")

Links = Sequence[dashboard_builders.DashboardLink]
Thresholds = Sequence[tuple[float, str]]


@dataclass(frozen=True)
class Query:
    """One PromQL query of a panel."""

    expr: str
    legend: str = ""
    instant: bool = False
    #: Ask for exemplars (trace ids of the samples), for histograms read raw.
    exemplar: bool = False

    def build(self, ref: str, as_table: bool = False) -> prometheus.Dataquery:
        query = (
            prometheus.Dataquery()
            .ref_id(ref)
            .datasource(PROMETHEUS)
            .editor_mode(QueryEditorMode.CODE)
            .expr(self.expr)
            .legend_format(self.legend or "__auto")
        )
        query = query.instant() if self.instant else query.range()
        if self.exemplar:
            query = query.exemplar(True)
        if as_table:
            query = query.format(PromQueryFormat.TABLE)
        return query


def _thresholds(steps: Thresholds) -> dashboard_builders.ThresholdsConfig:
    return (
        dashboard_builders.ThresholdsConfig()
        .mode(dashboard.ThresholdsMode.ABSOLUTE)
        .steps([dashboard.Threshold(None, "green")] + [dashboard.Threshold(value, color) for value, color in steps])
    )


AnyPanel = TypeVar("AnyPanel", timeseries.Panel, stat.Panel, table.Panel)


def _framed(
    panel: AnyPanel,
    title: str,
    description: str,
    unit: str,
    queries: Sequence[Query],
    size: tuple[int, int],
    thresholds: Thresholds = (),
    as_table: bool = False,
) -> AnyPanel:
    """What every panel has: title, description, unit, data source, size, queries (A, B, ...), thresholds."""
    width, height = size
    targets = [query.build(chr(ord("A") + i), as_table) for i, query in enumerate(queries)]
    return (
        panel.title(title)
        .description(description)
        .unit(unit)
        .datasource(PROMETHEUS)
        .span(width)
        .height(height)
        .targets(targets)
        .thresholds(_thresholds(thresholds))
    )


def timeseries_panel(
    title: str,
    description: str,
    unit: str,
    queries: Sequence[Query],
    links: Links = (),
    *,
    width: int = 12,
    height: int = 8,
    min_value: float | None = None,
    thresholds: Thresholds = (),
    stack: bool = False,
) -> timeseries.Panel:
    """A time series panel: lines, a legend table with mean / max / last, a shared tooltip."""
    panel = (
        _framed(timeseries.Panel(), title, description, unit, queries, (width, height), thresholds)
        .data_links(list(links))
        .color_scheme(dashboard_builders.FieldColor().mode(dashboard.FieldColorModeId.PALETTE_CLASSIC))
        .draw_style(common.GraphDrawStyle.LINE)
        .line_width(1)
        .fill_opacity(10)
        .show_points(common.VisibilityMode.NEVER)
        .span_nulls(False)
        .stacking(
            common_builders.StackingConfig()
            .mode(common.StackingMode.NORMAL if stack else common.StackingMode.NONE)
            .group("A")
        )
        .thresholds_style(
            common_builders.GraphThresholdsStyleConfig().mode(
                common.GraphThresholdsStyleMode.DASHED if thresholds else common.GraphThresholdsStyleMode.OFF
            )
        )
        .legend(
            common_builders.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs(["mean", "max", "lastNotNull"])
        )
        .tooltip(
            common_builders.VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI).sort(common.SortOrder.DESCENDING)
        )
    )
    if min_value is not None:
        panel = panel.min(min_value)
    return panel


def stat_panel(
    title: str,
    description: str,
    unit: str,
    query: Query,
    *,
    width: int = 6,
    height: int = 5,
    thresholds: Thresholds = (),
) -> stat.Panel:
    """A single number (the last value), coloured by its thresholds."""
    return (
        _framed(stat.Panel(), title, description, unit, [query], (width, height), thresholds)
        .color_scheme(dashboard_builders.FieldColor().mode(dashboard.FieldColorModeId.THRESHOLDS))
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).fields("").values(False))
        .color_mode(common.BigValueColorMode.VALUE)
        .graph_mode(common.BigValueGraphMode.AREA)
        .justify_mode(common.BigValueJustifyMode.AUTO)
        .text_mode(common.BigValueTextMode.AUTO)
        .orientation(common.VizOrientation.AUTO)
    )


def table_panel(
    title: str, description: str, unit: str, query: Query, links: Links = (), *, width: int = 12, height: int = 8
) -> table.Panel:
    """A filterable table of one instant query, largest value first, without the time column."""
    return (
        _framed(table.Panel(), title, description, unit, [query], (width, height), as_table=True)
        .data_links(list(links))
        .align(common.FieldTextAlignment.AUTO)
        .filterable(True)
        .show_header(True)
        .cell_height(common.TableCellHeight.SM)
        .sort_by([common_builders.TableSortByFieldState().display_name("Value").desc(True)])
        .with_transformation(
            dashboard.DataTransformerConfig(
                id_val="organize", options={"excludeByName": {"Time": True}, "renameByName": {}}
            )
        )
    )
