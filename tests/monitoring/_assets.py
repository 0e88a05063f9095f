"""The monitoring assets as the tests see them: rule files, dashboards, their queries and links."""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from ._contract import ROOT

GRAFANA = ROOT / "grafana"
RULES_DIR = GRAFANA / "rules"
DASHBOARDS_DIR = GRAFANA / "dashboards"
PROMTOOL_TESTS_DIR = GRAFANA / "tests"
RUNBOOKS = ROOT / "docs" / "runbooks.md"
DEPLOY = ROOT / "deploy"
COLLECTOR_DIR = ROOT / "collector-config"
TRAFFIC_APP = DEPLOY / "demo" / "traffic.py"

_LINK_LABEL = re.compile(r"\$\{__(?:field\.labels|data\.fields)\.([a-zA-Z_][a-zA-Z0-9_]*)\}")
_LEGEND_LABEL = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")
_LINK_ATTRIBUTE = re.compile(r"([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)(?==|%22:)")


def generator() -> ModuleType:
    """Import ``grafana/generate.py`` (it is a script, not a package module)."""
    spec = importlib.util.spec_from_file_location("aierrors_grafana_generate", GRAFANA / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mixin_module(name: str) -> ModuleType:
    """Import ``grafana/aierrors_mixin/<name>.py`` (the generator's sources)."""
    generator()  # puts grafana/ on sys.path, as generate.py does
    return importlib.import_module(f"aierrors_mixin.{name}")


def rule_files() -> list[Path]:
    return sorted(RULES_DIR.glob("*.yaml"))


def dashboard_files() -> list[Path]:
    return sorted(DASHBOARDS_DIR.glob("*.json"))


def promtool_test_files() -> list[Path]:
    return sorted(PROMTOOL_TESTS_DIR.glob("*.yaml"))


def rules(paths: list[Path] | None = None) -> list[dict[str, Any]]:
    """Every rule (recording and alerting) of the rule files."""
    out = []
    for path in paths or rule_files():
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            out.extend(group["rules"])
    return out


def groups(paths: list[Path] | None = None) -> list[dict[str, Any]]:
    out = []
    for path in paths or rule_files():
        out.extend(yaml.safe_load(path.read_text(encoding="utf-8"))["groups"])
    return out


def alert_names() -> set[str]:
    return {rule["alert"] for rule in rules() if "alert" in rule}


def dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text(encoding="utf-8")) for path in dashboard_files()}


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, rows included, nested row panels too."""
    out = []
    for panel in dashboard.get("panels", []):
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


@dataclass
class Query:
    dashboard: str
    panel: str
    ref: str
    expr: str
    legend: str
    instant: bool
    #: Labels the panel's data links read from the clicked series (or table row).
    link_labels: set[str] = field(default_factory=set)

    @property
    def legend_labels(self) -> set[str]:
        return set(_LEGEND_LABEL.findall(self.legend))

    def __str__(self) -> str:
        return f"{self.dashboard} / {self.panel!r} / {self.ref}"


def link_urls(panel: dict[str, Any]) -> list[str]:
    links = panel.get("fieldConfig", {}).get("defaults", {}).get("links", [])
    return [link["url"] for link in links] + [link["url"] for link in panel.get("links", [])]


def link_attributes(panel: dict[str, Any]) -> set[str]:
    """Span attribute names the panel's trace links search for."""
    return {name for url in link_urls(panel) for name in _LINK_ATTRIBUTE.findall(url)}


def queries() -> list[Query]:
    out = []
    for name, dashboard in dashboards().items():
        for panel in panels(dashboard):
            link_labels = {label for url in link_urls(panel) for label in _LINK_LABEL.findall(url)}
            for target in panel.get("targets", []):
                out.append(
                    Query(
                        name,
                        panel["title"],
                        target["refId"],
                        target["expr"],
                        target.get("legendFormat", ""),
                        bool(target.get("instant")),
                        link_labels,
                    )
                )
    return out


def variables(dashboard: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {variable["name"]: variable for variable in dashboard["templating"]["list"]}


def substitute(expr: str, values: dict[str, str]) -> str:
    """Replace Grafana variables (``$name``, ``${name}``, ``${name:fmt}``) with ``values``."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise KeyError(f"no value for ${name} in {expr!r}")
        return values[name]

    return re.sub(r"\$\{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-z]+)?\}|\$([a-zA-Z_][a-zA-Z0-9_]*)", replace, expr)
