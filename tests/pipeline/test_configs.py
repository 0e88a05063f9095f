"""The files of the pipeline without Docker agree with each other (no binary needed).

* ``collector-config/builder-config.yaml`` builds exactly the components the
  shipped configurations use (``otel-collector.yaml``, the fleet's
  ``gateway.yaml`` and the ``file-export.yaml`` overlay; plus ``debug``, the
  manifest's troubleshooting exporter), every module at one release;
* every shipped collector binds 127.0.0.1 unless ``OTELCOL_LISTEN_HOST`` opens
  it, and its own metrics' address is configurable;
* ``deploy/jaeger/config.yaml`` listens on 127.0.0.1 only, away from the
  collector's ports, and every address can be moved by an environment variable;
* ``deploy/prometheus/local.yml`` scrapes the collector as ``prometheus.yml``
  does, and promtool accepts it with the rule files it names.
"""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest
import yaml

from tests.monitoring import _assets
from tests.monitoring._procs import require

from . import _stack

MANIFEST = _assets.COLLECTOR_DIR / "builder-config.yaml"
LOCAL_PROMETHEUS = _assets.DEPLOY / "prometheus" / "local.yml"
#: The collector configurations we ship to run as a service (the single node, and the fleet's gateway).
SERVICE_CONFIGS = [_stack.COLLECTOR_CONFIG, _assets.COLLECTOR_DIR / "gateway.yaml"]
#: Overlays merged over a service configuration (``--config base.yaml --config overlay.yaml``).
OVERLAYS = [_assets.COLLECTOR_DIR / "file-export.yaml"]
#: What the manifest adds to the configurations' components: ``debug``, switched on with ``--set`` when
#: troubleshooting (builder-config.yaml says how), so that no configuration has to name it.
TROUBLESHOOTING = {"exporters": {"debug"}}
#: Component types whose Go module is named otherwise (0.165: ``otlpexporter`` provides ``otlp_grpc``).
MODULE_OF_TYPE = {"otlp_grpc": "otlp"}
_ENV = re.compile(r"^\$\{env:([A-Z_]+):-([^}]+)\}$")
_PORT = re.compile(r":(\d+)\}?$")


def _load(path: Any) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _module_component(gomod: str) -> str:
    """``.../processor/memorylimiterprocessor v0.165.0`` -> ``memorylimiter``; ``.../filestorage`` stays."""
    name = gomod.split()[0].rsplit("/", 1)[-1]
    for kind in ("receiver", "processor", "exporter", "extension", "connector"):
        name = name.removesuffix(kind)
    return name


def test_the_manifest_builds_exactly_the_components_the_configurations_use() -> None:
    manifest = _load(MANIFEST)
    configs = [_load(path) for path in [*SERVICE_CONFIGS, *OVERLAYS]]
    for kind in ("receivers", "processors", "exporters", "extensions"):
        types = {name.split("/")[0] for config in configs for name in config.get(kind, {})}
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


_LISTEN_HOST = "${env:OTELCOL_LISTEN_HOST:-127.0.0.1}"


def _server_endpoints(config: dict[str, Any]) -> list[str]:
    """The addresses a collector configuration listens on: receivers and extensions (and the prometheus exporter)."""
    found = _listeners(config.get("receivers", {})) + _listeners(config.get("extensions", {}))
    for name, exporter in config.get("exporters", {}).items():
        if name.split("/")[0] == "prometheus":
            found.append(str(exporter["endpoint"]))
    return found


@pytest.mark.parametrize("path", SERVICE_CONFIGS, ids=lambda path: path.name)
def test_the_collector_binds_loopback_unless_told_otherwise(path: Any) -> None:
    config = _load(path)
    endpoints = _server_endpoints(config)
    assert endpoints
    for endpoint in endpoints:
        assert endpoint.startswith(_LISTEN_HOST + ":"), f"{path.name}: {endpoint} does not default to 127.0.0.1"
    (reader,) = config["service"]["telemetry"]["metrics"]["readers"]
    own = reader["pull"]["exporter"]["prometheus"]
    assert own["host"] == "${env:OTELCOL_TELEMETRY_HOST:-127.0.0.1}"
    assert own["port"] == "${env:OTELCOL_TELEMETRY_PORT:-8888}"


def test_compose_opens_the_collector_inside_its_container() -> None:
    compose = _load(_assets.DEPLOY / "docker-compose.yaml")
    assert compose["services"]["otel-collector"]["environment"]["OTELCOL_LISTEN_HOST"] == "0.0.0.0"


def test_jaeger_does_not_trace_itself_into_the_pipeline() -> None:
    """Its query service would send its own spans to localhost:4317, the collector's port."""
    assert _load(_stack.JAEGER_CONFIG)["extensions"]["jaeger_query"]["enable_tracing"] is False


def test_every_shipped_collector_configuration_is_read_above() -> None:
    """No configuration in collector-config/ escapes the manifest check (the manifest itself aside)."""
    shipped = set(_assets.COLLECTOR_DIR.glob("*.yaml")) - {MANIFEST}
    assert shipped == {*SERVICE_CONFIGS, *OVERLAYS}
