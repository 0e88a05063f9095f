"""The files of the pipeline without Docker agree with each other (no binary needed).

* ``collector-config/builder-config.yaml`` builds exactly the components
  ``otel-collector.yaml`` uses (plus ``debug``), every module at one release;
* ``deploy/jaeger/config.yaml`` listens on 127.0.0.1 only, away from the
  collector's ports, and every address can be moved by an environment variable;
* ``deploy/prometheus/local.yml`` scrapes the collector as ``prometheus.yml``
  does, and promtool accepts it with the rule files it names.
"""

from __future__ import annotations

import re
import subprocess
from typing import Any

import yaml

from tests.monitoring import _assets
from tests.monitoring._procs import require

from . import _stack

MANIFEST = _assets.COLLECTOR_DIR / "builder-config.yaml"
LOCAL_PROMETHEUS = _assets.DEPLOY / "prometheus" / "local.yml"
#: What the manifest may add to the configuration's components.
TROUBLESHOOTING = {"exporters": {"debug"}}
#: Component types whose Go module is named otherwise (0.165: ``otlpexporter`` provides ``otlp_grpc``).
MODULE_OF_TYPE = {"otlp_grpc": "otlp"}
_ENV = re.compile(r"^\$\{env:([A-Z_]+):-([^}]+)\}$")
_PORT = re.compile(r":(\d+)\}?$")


def _load(path: Any) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _module_component(gomod: str) -> str:
    """``.../processor/memorylimiterprocessor v0.165.0`` -> ``memorylimiter``."""
    path = gomod.split()[0]
    kind = path.split("/")[-2]
    return path.rsplit("/", 1)[-1].removesuffix(kind)


def test_the_manifest_builds_exactly_the_components_the_configuration_uses() -> None:
    manifest = _load(MANIFEST)
    config = _load(_stack.COLLECTOR_CONFIG)
    for kind in ("receivers", "processors", "exporters", "extensions"):
        types = {name.split("/")[0] for name in config.get(kind, {})}
        used = {MODULE_OF_TYPE.get(type_, type_).replace("_", "") for type_ in types}
        built = {_module_component(entry["gomod"]) for entry in manifest.get(kind, [])}
        assert built == used | TROUBLESHOOTING.get(kind, set()), kind


def test_the_manifest_pins_one_release() -> None:
    manifest = _load(MANIFEST)
    components = [entry["gomod"] for kind in ("receivers", "processors", "exporters", "extensions")
                  for entry in manifest[kind]]  # fmt: skip
    assert {gomod.split()[1] for gomod in components} == {f"v{manifest['dist']['version']}"}
    providers = {entry["gomod"].split()[1] for entry in manifest["providers"]}
    assert len(providers) == 1, providers


def _listeners(node: Any) -> list[str]:
    """Every ``endpoint`` / ``host`` / ``port`` value of a configuration."""
    if isinstance(node, dict):
        found = [str(v) for k, v in node.items() if k in ("endpoint", "host", "port") and not isinstance(v, dict)]
        return found + [x for v in node.values() for x in _listeners(v)]
    if isinstance(node, list):
        return [x for v in node for x in _listeners(v)]
    return []


def test_jaeger_listens_on_localhost_away_from_the_collector_and_every_address_moves() -> None:
    values = _listeners(_load(_stack.JAEGER_CONFIG))
    assert values
    defaults: list[str] = []
    for value in values:
        match = _ENV.match(value)
        assert match, f"{value}: not overridable by an environment variable"
        defaults.append(match.group(2))
    ports = {int(default.rsplit(":", 1)[-1]) for default in defaults if default.rsplit(":", 1)[-1].isdigit()}
    hosts = {default.rsplit(":", 1)[0] for default in defaults if ":" in default or not default.isdigit()}
    assert hosts == {_stack.LOCALHOST}
    collector_ports = {int(m.group(1)) for v in _listeners(_load(_stack.COLLECTOR_CONFIG)) if (m := _PORT.search(v))}
    assert {4317, 4318, 8889, 13133} <= collector_ports
    assert not ports & (collector_ports | {8888}), "Jaeger would take a port of the collector"


def test_the_local_prometheus_scrapes_the_collector_as_the_docker_one() -> None:
    local = _load(LOCAL_PROMETHEUS)
    (job,) = local["scrape_configs"]
    docker = _stack.prometheus_config(_assets.RULES_DIR, "localhost:8889")["scrape_configs"]
    assert [job] == docker
    require("promtool")
    result = subprocess.run(
        ["promtool", "check", "config", str(LOCAL_PROMETHEUS)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(_assets.rule_files())} rule files found" in result.stdout
