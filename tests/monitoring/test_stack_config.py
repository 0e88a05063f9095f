"""Collector and compose configuration, checked as far as possible without Docker or a collector binary.

They parse; every pipeline uses defined components; ports and host names agree
across the collector, compose, Prometheus and Grafana files; compose mounts
the same dashboards and rule files the other tests check; and the Prometheus
and Alertmanager configurations pass ``promtool check config`` and ``amtool
check-config`` with the rule files resolved through the compose mounts.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from . import _assets
from ._procs import require

COMPOSE_FILE = _assets.DEPLOY / "docker-compose.yaml"
COLLECTOR_FILE = _assets.COLLECTOR_DIR / "otel-collector.yaml"


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


COMPOSE = _yaml(COMPOSE_FILE)
COLLECTOR = _yaml(COLLECTOR_FILE)
SERVICES: dict[str, Any] = COMPOSE["services"]


def _mounts(service: str) -> dict[str, Path]:
    """Container path -> host path of a service's bind mounts."""
    out = {}
    for volume in SERVICES[service].get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith("."):
            out[target] = (COMPOSE_FILE.parent / source).resolve()
    return out


def _host_path(service: str, container_path: str) -> Path:
    """Resolve a path inside a container through its bind mounts."""
    path = PurePosixPath(container_path)
    for target, source in sorted(_mounts(service).items(), key=lambda item: -len(item[0])):
        try:
            relative = path.relative_to(target)
        except ValueError:
            continue
        return source / relative
    raise AssertionError(f"{container_path} is not mounted into {service}")


def _published(service: str) -> set[int]:
    return {int(str(port).split(":")[-1].split("/")[0]) for port in SERVICES[service].get("ports", [])}


def _port(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


def _env_default(value: str) -> str:
    """``${env:NAME:-default}`` -> ``default`` (the collector's syntax)."""
    match = re.fullmatch(r"\$\{env:[A-Z_]+:-(.+)\}", value)
    return match.group(1) if match else value


# --- the collector -------------------------------------------------------------------
def test_collector_pipelines_use_defined_components() -> None:
    service = COLLECTOR["service"]
    for kind in ("receivers", "processors", "exporters"):
        assert COLLECTOR.get(kind), f"no {kind}"
    used: dict[str, set[str]] = {"receivers": set(), "processors": set(), "exporters": set()}
    for name, pipeline in service["pipelines"].items():
        for kind in used:
            for component in pipeline.get(kind, []):
                assert component in COLLECTOR[kind], f"pipeline {name}: {kind[:-1]} {component!r} is not defined"
                used[kind].add(component)
        assert pipeline["processors"][0] == "memory_limiter", f"{name}: memory_limiter must come first"
        assert pipeline["processors"][-1] == "batch", f"{name}: batch must come last"
    for kind, names in used.items():
        assert set(COLLECTOR[kind]) == names, f"{kind} defined but unused: {set(COLLECTOR[kind]) - names}"
    for extension in service.get("extensions", []):
        assert extension in COLLECTOR["extensions"]
    assert set(service["pipelines"]) == {"traces", "metrics"}
    assert service["pipelines"]["traces"]["exporters"] == ["otlp_grpc/jaeger"]
    assert service["pipelines"]["metrics"]["exporters"] == ["prometheus"]


def test_collector_receives_otlp_on_the_standard_ports() -> None:
    protocols = COLLECTOR["receivers"]["otlp"]["protocols"]
    assert _port(protocols["grpc"]["endpoint"]) == 4317
    assert _port(protocols["http"]["endpoint"]) == 4318


def test_collector_exports_prometheus_names_like_the_python_exporter() -> None:
    prometheus = COLLECTOR["exporters"]["prometheus"]
    assert prometheus["translation_strategy"] == "UnderscoreEscapingWithSuffixes"
    assert prometheus["resource_to_telemetry_conversion"]["enabled"] is False
    assert "namespace" not in prometheus and "const_labels" not in prometheus
    assert prometheus.get("without_scope_info", False) is False
    assert prometheus["enable_open_metrics"] is True  # exemplars


def test_collector_sends_traces_to_the_jaeger_service() -> None:
    endpoint = _env_default(COLLECTOR["exporters"]["otlp_grpc/jaeger"]["endpoint"])
    host, port = endpoint.rsplit(":", 1)
    assert host in SERVICES
    assert SERVICES["otel-collector"]["environment"]["JAEGER_OTLP_ENDPOINT"] == endpoint
    # Jaeger's config (below) listens where its environment says.
    assert SERVICES[host]["environment"]["JAEGER_OTLP_GRPC_ENDPOINT"] == f"0.0.0.0:{port}"


# --- compose --------------------------------------------------------------------------
def test_compose_has_the_whole_stack() -> None:
    assert {"otel-collector", "jaeger", "prometheus", "alertmanager", "grafana"} <= set(SERVICES)
    for name, service in SERVICES.items():
        image = service.get("image")
        if image:
            assert ":" in image and not image.endswith(":latest"), f"{name}: pin the image version"
        for dependency in service.get("depends_on", []):
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"


def test_compose_publishes_the_documented_ports() -> None:
    protocols = COLLECTOR["receivers"]["otlp"]["protocols"]
    assert {_port(protocols["grpc"]["endpoint"]), _port(protocols["http"]["endpoint"])} <= _published("otel-collector")
    assert 16686 in _published("jaeger")
    assert 9090 in _published("prometheus")
    assert 9093 in _published("alertmanager")
    assert 3000 in _published("grafana")


def test_compose_mounts_the_collector_config_that_is_checked_here() -> None:
    command = " ".join(SERVICES["otel-collector"]["command"])
    config = re.search(r"--config=(\S+)", command)
    assert config
    assert _host_path("otel-collector", config.group(1)) == COLLECTOR_FILE.resolve()


def test_compose_jaeger_runs_the_config_the_pipeline_tests_run() -> None:
    command = " ".join(SERVICES["jaeger"]["command"])
    config = re.search(r"--config=(\S+)", command)
    assert config
    path = _host_path("jaeger", config.group(1))
    assert path == (_assets.DEPLOY / "jaeger" / "config.yaml").resolve()
    # Every address the config reads from the environment is set to one the other containers reach.
    wanted = set(re.findall(r"\$\{env:(\w+(?:ENDPOINT|HOST)):-", path.read_text()))
    assert wanted == set(SERVICES["jaeger"]["environment"])
    assert all(value.startswith("0.0.0.0") for value in SERVICES["jaeger"]["environment"].values())


def test_compose_mounts_the_rules_and_dashboards_the_tests_check() -> None:
    mounted = set(_mounts("prometheus").values()) | set(_mounts("grafana").values())
    assert _assets.RULES_DIR.resolve() in mounted
    assert _assets.DASHBOARDS_DIR.resolve() in mounted


def _prometheus_config() -> tuple[Path, dict[str, Any]]:
    command = " ".join(SERVICES["prometheus"]["command"])
    config = re.search(r"--config\.file=(\S+)", command)
    assert config
    path = _host_path("prometheus", config.group(1))
    return path, _yaml(path)


def test_prometheus_loads_every_rule_file_through_the_mount() -> None:
    _, config = _prometheus_config()
    loaded: set[Path] = set()
    for pattern in config["rule_files"]:
        host_pattern = _host_path("prometheus", pattern)
        loaded |= {p.resolve() for p in host_pattern.parent.glob(host_pattern.name)}
    assert loaded == {p.resolve() for p in _assets.rule_files()}
    assert "--enable-feature=exemplar-storage" in SERVICES["prometheus"]["command"]


def test_prometheus_scrapes_the_collector_keeping_its_job_labels() -> None:
    _, config = _prometheus_config()
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    collector = jobs["otel-collector"]
    assert collector["honor_labels"] is True
    targets = [t for sc in collector["static_configs"] for t in sc["targets"]]
    assert targets == [f"otel-collector:{_port(COLLECTOR['exporters']['prometheus']['endpoint'])}"]


def test_prometheus_sends_alerts_to_the_alertmanager_service() -> None:
    _, config = _prometheus_config()
    targets = [t for am in config["alerting"]["alertmanagers"] for sc in am["static_configs"] for t in sc["targets"]]
    assert targets == [f"alertmanager:{min(_published('alertmanager'))}"]


def test_promtool_check_config_with_the_rules_resolved_through_the_mounts(tmp_path: Path) -> None:
    require("promtool")
    path, config = _prometheus_config()
    rules = tmp_path / "rules"
    rules.mkdir()
    for rule_file in _assets.rule_files():
        shutil.copy(rule_file, rules / rule_file.name)
    config["rule_files"] = [str(rules / PurePosixPath(p).name) for p in config["rule_files"]]
    checked = tmp_path / path.name
    checked.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    result = subprocess.run(
        ["promtool", "check", "config", str(checked)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") >= 1 + len(_assets.rule_files()), result.stdout


def test_amtool_accepts_the_alertmanager_config() -> None:
    require("amtool")
    command = " ".join(SERVICES["alertmanager"]["command"])
    config = re.search(r"--config\.file=(\S+)", command)
    assert config
    path = _host_path("alertmanager", config.group(1))
    result = subprocess.run(
        ["amtool", "check-config", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    document = _yaml(path)
    receivers = {r["name"] for r in document["receivers"]}
    routed = {document["route"]["receiver"]} | {r["receiver"] for r in document["route"].get("routes", [])}
    assert routed <= receivers
    severities = {alert["labels"]["severity"] for alert in _assets.rules() if "alert" in alert}
    assert any('severity="critical"' in m for r in document["route"]["routes"] for m in r["matchers"])
    assert severities <= {"critical", "warning"}


def test_alertmanager_inhibitions_name_existing_alerts() -> None:
    path = _host_path("alertmanager", "/etc/alertmanager/alertmanager.yml")
    names = _assets.alert_names()
    for rule in _yaml(path).get("inhibit_rules", []):
        for matcher in rule["source_matchers"] + rule["target_matchers"]:
            match = re.fullmatch(r'alertname=~?"(.+)"', matcher)
            assert match, matcher
            for name in match.group(1).split("|"):
                assert name in names, name


# --- Grafana provisioning ---------------------------------------------------------------
def _provisioning(kind: str) -> list[dict[str, Any]]:
    directory = _host_path("grafana", f"/etc/grafana/provisioning/{kind}")
    documents = [_yaml(path) for path in sorted(directory.glob("*.yaml"))]
    assert documents, f"no {kind} provisioning file"
    return documents


def test_grafana_data_sources_point_at_the_stack() -> None:
    sources = {s["uid"]: s for doc in _provisioning("datasources") for s in doc["datasources"]}
    assert sources["prometheus"]["type"] == "prometheus"
    assert sources["prometheus"]["url"] == f"http://prometheus:{min(_published('prometheus'))}"
    assert sources["jaeger"]["type"] == "jaeger"
    assert sources["jaeger"]["url"] == "http://jaeger:16686"
    destinations = sources["prometheus"]["jsonData"]["exemplarTraceIdDestinations"]
    assert destinations == [{"name": "trace_id", "datasourceUid": "jaeger"}]
    assert sources["alertmanager"]["url"] == f"http://alertmanager:{min(_published('alertmanager'))}"


def test_grafana_provisions_the_dashboards_the_tests_check() -> None:
    (provider,) = [p for doc in _provisioning("dashboards") for p in doc["providers"]]
    assert _host_path("grafana", provider["options"]["path"]) == _assets.DASHBOARDS_DIR.resolve()
    home = SERVICES["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert _host_path("grafana", home).is_file()


@pytest.mark.parametrize("name", sorted(_assets.dashboards()))
def test_dashboard_defaults_match_the_provisioned_data_sources(name: str) -> None:
    variables = _assets.variables(_assets.dashboards()[name])
    types = {s["type"] for doc in _provisioning("datasources") for s in doc["datasources"]}
    assert variables["datasource"]["query"] in types
    assert variables["tracing"]["query"] in types
    jaeger_port = re.search(r":(\d+)$", variables["jaeger_url"]["query"])
    assert jaeger_port and int(jaeger_port.group(1)) in _published("jaeger")


def test_the_demo_service_runs_the_traffic_app_the_e2e_test_runs() -> None:
    demo = SERVICES["demo"]
    assert demo["profiles"] == ["demo"]
    script = next(arg for arg in demo["command"] if arg.endswith(".py"))
    assert (_assets.ROOT / script).resolve() == _assets.TRAFFIC_APP.resolve()
    assert demo["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4317"
    dockerfile = _assets.ROOT / demo["build"]["dockerfile"]
    assert dockerfile.is_file()
    assert (COMPOSE_FILE.parent / demo["build"]["context"]).resolve() == _assets.ROOT
    ignore = dockerfile.with_name(dockerfile.name + ".dockerignore").read_text(encoding="utf-8")
    allowed = {line[1:].rstrip("/") for line in ignore.splitlines() if line.startswith("!")}
    for line in dockerfile.read_text(encoding="utf-8").splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert source.rstrip("/") in allowed, f"{source} is excluded from the build context"
