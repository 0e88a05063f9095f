"""The real pipeline on 127.0.0.1: Jaeger, our collector, Prometheus; each on free ports.

* Jaeger runs ``deploy/jaeger/config.yaml`` with its addresses given through
  the environment variables that file reads.
* The collector runs the shipped ``collector-config/otel-collector.yaml``
  unchanged, merged with a second configuration that holds nothing but
  addresses (:func:`collector_overlay`: the OTLP receivers, the Prometheus
  exporter, the health check, the collector's own metrics) and
  ``JAEGER_OTLP_ENDPOINT`` in its environment, which the shipped file reads.
* Prometheus runs the collector's scrape job of ``deploy/prometheus/prometheus.yml``
  (``honor_labels`` and all) with the target, the rule files and the
  intervals replaced, and exemplar storage on.

Every process runs under ``timeout`` and is stopped by its own PID
(`tests.monitoring._procs.Process`).
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.monitoring import _assets
from tests.monitoring._procs import Process, PrometheusAPI, free_port, wait_for

from . import _binaries
from ._jaeger import JaegerAPI

COLLECTOR_CONFIG = _assets.COLLECTOR_DIR / "otel-collector.yaml"
JAEGER_CONFIG = _assets.DEPLOY / "jaeger" / "config.yaml"
PROMETHEUS_CONFIG = _assets.DEPLOY / "prometheus" / "prometheus.yml"
#: The scrape job of the shipped Prometheus configuration that reads the collector.
COLLECTOR_JOB = "otel-collector"
LOCALHOST = "127.0.0.1"


def _address(port: int) -> str:
    return f"{LOCALHOST}:{port}"


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@dataclass(frozen=True)
class CollectorPorts:
    otlp_grpc: int
    otlp_http: int
    prometheus: int
    health: int
    telemetry: int

    @classmethod
    def free(cls) -> CollectorPorts:
        return cls(free_port(), free_port(), free_port(), free_port(), free_port())


def collector_overlay(ports: CollectorPorts) -> dict[str, Any]:
    """The second configuration of the collector: every listening address of the shipped file, moved."""
    return {
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": _address(ports.otlp_grpc)},
                    "http": {"endpoint": _address(ports.otlp_http)},
                }
            }
        },
        "exporters": {"prometheus": {"endpoint": _address(ports.prometheus)}},
        "extensions": {"health_check": {"endpoint": _address(ports.health)}},
        "service": {
            "telemetry": {
                "metrics": {
                    "readers": [{"pull": {"exporter": {"prometheus": {"host": LOCALHOST, "port": ports.telemetry}}}}]
                }
            }
        },
    }


def prometheus_config(rules_dir: Path, collector_metrics: str) -> dict[str, Any]:
    """The shipped Prometheus configuration's collector job, on the test's addresses and at a 1 s pace."""
    shipped = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    (job,) = (job for job in shipped["scrape_configs"] if job["job_name"] == COLLECTOR_JOB)
    job["static_configs"] = [{"targets": [collector_metrics]}]
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules_dir / "*.yaml")],
        "scrape_configs": [job],
    }


@dataclass
class Pipeline:
    """The running processes and the APIs to read them back."""

    jaeger: Process
    collector: Process
    prometheus_server: Process
    prometheus: PrometheusAPI
    traces: JaegerAPI
    ports: CollectorPorts

    @property
    def otlp_grpc_url(self) -> str:
        return f"http://{_address(self.ports.otlp_grpc)}"

    @property
    def otlp_http_url(self) -> str:
        return f"http://{_address(self.ports.otlp_http)}"

    @property
    def telemetry_url(self) -> str:
        """The collector's own metrics (Prometheus text)."""
        return f"http://{_address(self.ports.telemetry)}/metrics"

    def processes(self) -> list[Process]:
        return [self.prometheus_server, self.collector, self.jaeger]

    def diagnostics(self) -> str:
        return "".join(f"\n--- {p.name} log (tail) ---\n{p.output()[-3000:]}" for p in self.processes())

    def stop(self) -> None:
        for process in self.processes():
            process.stop()


def start(tmp: Path, rules_dir: Path, seconds: float) -> Pipeline:
    """Start Jaeger, then the collector, then Prometheus; each ready before the next. Stop on failure."""
    started: list[Process] = []

    def launch(name: str, argv: list[str], ready: Callable[[], bool]) -> Process:
        process = Process(name, argv, tmp / f"{name}.log", seconds)
        started.append(process)
        wait_for(f"{name} to be ready", lambda: ready() or not process.alive(), 60)
        assert process.alive(), f"{name} exited:\n{process.output()}"
        return process

    try:
        query_port = free_port()
        jaeger_otlp = _address(free_port())
        traces = JaegerAPI(f"http://{_address(query_port)}")
        jaeger = launch(
            "jaeger",
            [
                "env",
                f"JAEGER_OTLP_GRPC_ENDPOINT={jaeger_otlp}",
                f"JAEGER_QUERY_HTTP_ENDPOINT={_address(query_port)}",
                f"JAEGER_QUERY_GRPC_ENDPOINT={_address(free_port())}",
                f"JAEGER_METRICS_HOST={LOCALHOST}",
                f"JAEGER_METRICS_PORT={free_port()}",
                str(_binaries.jaeger()),
                "--config",
                str(JAEGER_CONFIG),
            ],
            traces.ready,
        )

        ports = CollectorPorts.free()
        overlay = tmp / "collector-addresses.yaml"
        overlay.write_text(yaml.safe_dump(collector_overlay(ports), sort_keys=False), encoding="utf-8")
        health = f"http://{_address(ports.health)}/"
        collector = launch(
            "collector",
            [
                "env",
                f"JAEGER_OTLP_ENDPOINT={jaeger_otlp}",
                str(_binaries.collector()),
                "--config",
                str(COLLECTOR_CONFIG),
                "--config",
                str(overlay),
            ],
            lambda: _answers(health),
        )

        prom_port = free_port()
        config = tmp / "prometheus.yml"
        config.write_text(
            yaml.safe_dump(prometheus_config(rules_dir, _address(ports.prometheus)), sort_keys=False),
            encoding="utf-8",
        )
        api = PrometheusAPI(f"http://{_address(prom_port)}")
        server = launch(
            "prometheus",
            [
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp / 'prometheus-data'}",
                f"--web.listen-address={_address(prom_port)}",
                "--storage.tsdb.retention.time=1h",
                "--enable-feature=exemplar-storage",
                "--log.level=warn",
            ],
            api.ready,
        )
        return Pipeline(jaeger, collector, server, api, traces, ports)
    except BaseException:
        for process in reversed(started):
            process.stop()
        raise
