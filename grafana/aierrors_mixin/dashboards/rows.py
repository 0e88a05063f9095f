"""A dashboard row: a title and its panels, laid out left to right by the SDK."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from grafana_foundation_sdk.builders import stat, table, timeseries

__all__ = ["Row"]

Panel = timeseries.Panel | stat.Panel | table.Panel


@dataclass(frozen=True)
class Row:
    """Panels under one row title; their widths add up to 24 per line."""

    title: str
    panels: Sequence[Panel]
