"""The fleet of `test_fleet.py` on 127.0.0.1: Jaeger (on disk), two gateways, Prometheus.

* Jaeger runs ``deploy/jaeger/config.yaml`` with its storage on disk (badger)
  instead of in memory, so that it can be stopped and started again on the same
  ports without forgetting what it stored: the outage is Jaeger's, not its data's.
* Each gateway runs the shipped ``collector-config/gateway.yaml`` with its
  addresses moved by a second file, which also adds a witness pipeline: every
  span the gateway *receives* (before tail sampling) is written to a file by the
  ``file`` exporter, so the test sees which gateway each trace went to.
* There is no agent tier: each replica sends its OTLP straight to one gateway
  (`Fleet.gateway_otlp_http`), as ``docs/fleet.md`` deploys it.
* Prometheus scrapes both gateways with the shipped collector job.

Every process runs under ``timeout`` and is stopped by its own PID.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import yaml

from tests.monitoring import _assets
from tests.monitoring._procs import Process, PrometheusAPI, free_port, wait_for

from . import _binaries, _stack
from ._jaeger import JaegerAPI

GATEWAY_CONFIG = _assets.COLLECTOR_DIR / "gateway.yaml"
#: The oldest opentelemetry-sdk the package's dependencies install with (semantic-conventions 0.63b0 pins 1.42).
OLDEST_SDK = "1.42.0"
OLDEST_PINS = [
    f"opentelemetry-api=={OLDEST_SDK}",
    f"opentelemetry-sdk=={OLDEST_SDK}",
    f"opentelemetry-exporter-otlp-proto-http=={OLDEST_SDK}",
    "opentelemetry-instrumentation==0.63b0",
    "opentelemetry-semantic-conventions==0.63b0",
]
LOCALHOST = _stack.LOCALHOST


def _address(port: int) -> str:
    return f"{LOCALHOST}:{port}"


def oldest_sdk_pins() -> list[str]:
    """The requirements of the oldest-SDK environment, every one an exact pin.

    `OLDEST_PINS`, and ``openai`` and ``wrapt`` at this environment's versions
    (the replicas on either environment run the same SDK and the same patching).
    """
    return [*OLDEST_PINS, f"openai=={version('openai')}", f"wrapt=={version('wrapt')}"]


def oldest_sdk_python() -> Path:
    """A Python with opentelemetry-sdk `OLDEST_SDK` (no service.instance.id detector) and this checkout's deps.

    ``AIERRORS_OLDEST_SDK_PYTHON`` names one; otherwise a virtual environment is
    made once under ``~/.cache/otel-aierrors/venvs/`` from PyPI with
    `oldest_sdk_pins` and reused; its directory is named by a hash of the pins,
    so that a new ``openai`` or ``wrapt`` here makes a new one instead of reusing
    a stale one.
    """
    named = os.environ.get("AIERRORS_OLDEST_SDK_PYTHON")
    if named:
        return Path(named)
    pins = oldest_sdk_pins()
    digest = hashlib.sha256("\n".join(pins).encode()).hexdigest()[:12]
    cache = Path.home() / ".cache" / "otel-aierrors" / "venvs" / f"otel-sdk-{OLDEST_SDK}-{digest}"
    python = cache / "bin" / "python"
    if python.is_file():
        return python
    building = cache.with_name(cache.name + ".building")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(building)], check=True, timeout=120)
    subprocess.run(
        [str(building / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", *pins],
        check=True,
        timeout=600,
    )
    building.rename(cache)
    return python


@dataclass(frozen=True)
class GatewayPorts:
    otlp_grpc: int = field(default_factory=free_port)
    otlp_http: int = field(default_factory=free_port)
    prometheus: int = field(default_factory=free_port)
    health: int = field(default_factory=free_port)
    telemetry: int = field(default_factory=free_port)


def gateway_overlay(ports: GatewayPorts, witness: Path) -> dict[str, Any]:
    """The gateway's addresses, and the witness pipeline: every received span to ``witness`` (OTLP JSON lines)."""
    return {
        "receivers": {
            "otlp": {
                "protocols": {
                    "grpc": {"endpoint": _address(ports.otlp_grpc)},
                    "http": {"endpoint": _address(ports.otlp_http)},
                }
            }
        },
        "exporters": {
            "prometheus": {"endpoint": _address(ports.prometheus)},
            "file/witness": {"path": str(witness), "flush_interval": "100ms"},
        },
        "extensions": {"health_check": {"endpoint": _address(ports.health)}},
        "service": {"pipelines": {"traces/witness": {"receivers": ["otlp"], "exporters": ["file/witness"]}}},
    }


def jaeger_config(data: Path) -> dict[str, Any]:
    """``deploy/jaeger/config.yaml`` with its one storage backend on disk."""
    config = yaml.safe_load(_stack.JAEGER_CONFIG.read_text(encoding="utf-8"))
    (name,) = config["extensions"]["jaeger_storage"]["backends"]
    config["extensions"]["jaeger_storage"]["backends"][name] = {
        "badger": {
            "directories": {"keys": str(data / "keys"), "values": str(data / "values")},
            "ephemeral": False,
            "ttl": {"spans": "2h"},
        }
    }
    return config


def witnessed_trace_ids(path: Path) -> set[str]:
    """The trace ids of every span in a ``file`` exporter's OTLP JSON lines (hex, as Jaeger writes them)."""
    if not path.exists():
        return set()
    found: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        for resource in json.loads(line).get("resourceSpans", []):
            for scope in resource.get("scopeSpans", []):
                found.update(span["traceId"].lower() for span in scope.get("spans", []))
    return found


@dataclass
class Fleet:
    tmp: Path
    seconds: float
    jaeger_ports: tuple[int, int, int, int] = field(
        default_factory=lambda: (free_port(), free_port(), free_port(), free_port())
    )
    gateway_ports: list[GatewayPorts] = field(default_factory=lambda: [GatewayPorts(), GatewayPorts()])
    prometheus_port: int = field(default_factory=free_port)
    jaeger: Process | None = None
    gateways: list[Process] = field(default_factory=list)
    prometheus_server: Process | None = None
    jaeger_starts: int = 0

    @property
    def traces(self) -> JaegerAPI:
        return JaegerAPI(f"http://{_address(self.jaeger_ports[1])}")

    @property
    def prometheus(self) -> PrometheusAPI:
        return PrometheusAPI(f"http://{_address(self.prometheus_port)}")

    def gateway_otlp_http(self, index: int) -> str:
        """The OTLP/HTTP endpoint of gateway ``index`` (what a replica's ``OTEL_EXPORTER_OTLP_ENDPOINT`` names)."""
        return f"http://{_address(self.gateway_ports[index].otlp_http)}"

    def witness(self, index: int) -> Path:
        return self.tmp / f"gateway-{index}-received.jsonl"

    def gateway_telemetry(self, index: int) -> str:
        return f"http://{_address(self.gateway_ports[index].telemetry)}/metrics"

    def _launch(self, name: str, argv: list[str], ready: Callable[[], bool], env: dict[str, str]) -> Process:
        process = Process(name, argv, self.tmp / f"{name}.log", self.seconds, env={**os.environ, **env})
        wait_for(f"{name} to be ready", lambda: ready() or not process.alive(), 60)
        assert process.alive(), f"{name} exited:\n{process.output()}"
        return process

    def start_jaeger(self) -> None:
        otlp, query, grpc, metrics = self.jaeger_ports
        config = self.tmp / "jaeger.yaml"
        config.write_text(yaml.safe_dump(jaeger_config(self.tmp / "jaeger-data"), sort_keys=False), encoding="utf-8")
        self.jaeger_starts += 1
        self.jaeger = self._launch(
            f"jaeger-{self.jaeger_starts}",
            [str(_binaries.jaeger()), "--config", str(config)],
            self.traces.ready,
            {
                "JAEGER_OTLP_GRPC_ENDPOINT": _address(otlp),
                "JAEGER_QUERY_HTTP_ENDPOINT": _address(query),
                "JAEGER_QUERY_GRPC_ENDPOINT": _address(grpc),
                "JAEGER_METRICS_HOST": LOCALHOST,
                "JAEGER_METRICS_PORT": str(metrics),
            },
        )

    def stop_jaeger(self) -> None:
        assert self.jaeger is not None
        self.jaeger.stop()
        self.jaeger = None

    def start(self) -> None:
        self.start_jaeger()
        for index, ports in enumerate(self.gateway_ports):
            overlay = self.tmp / f"gateway-{index}-addresses.yaml"
            overlay.write_text(yaml.safe_dump(gateway_overlay(ports, self.witness(index))), encoding="utf-8")
            self.gateways.append(
                self._launch(
                    f"gateway-{index}",
                    [str(_binaries.collector()), "--config", str(GATEWAY_CONFIG), "--config", str(overlay)],
                    lambda ports=ports: _stack._answers(f"http://{_address(ports.health)}/"),
                    {
                        "JAEGER_OTLP_ENDPOINT": _address(self.jaeger_ports[0]),
                        "AIERRORS_QUEUE_DIR": str(self.tmp / f"gateway-{index}-queue"),
                        "AIERRORS_DECISION_WAIT": "5s",
                        "OTELCOL_TELEMETRY_PORT": str(ports.telemetry),
                    },
                )
            )
        config = _stack.prometheus_config(_assets.RULES_DIR, _address(self.gateway_ports[0].prometheus))
        (job,) = config["scrape_configs"]
        job["static_configs"] = [{"targets": [_address(ports.prometheus) for ports in self.gateway_ports]}]
        path = self.tmp / "prometheus.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        self.prometheus_server = self._launch(
            "prometheus",
            [
                "prometheus",
                f"--config.file={path}",
                f"--storage.tsdb.path={self.tmp / 'prometheus-data'}",
                f"--web.listen-address={_address(self.prometheus_port)}",
                "--storage.tsdb.retention.time=1h",
                "--log.level=warn",
            ],
            self.prometheus.ready,
            {},
        )

    def kill_gateway(self, index: int) -> None:
        """SIGKILL the collector of gateway ``index`` (under ``timeout``, which would only forward a SIGTERM)."""
        gateway = self.gateways[index]
        children = Path(f"/proc/{gateway.pid}/task/{gateway.pid}/children").read_text(encoding="utf-8").split()
        os.kill(int(children[0]), signal.SIGKILL)
        wait_for(f"gateway {index} to die", lambda: not gateway.alive(), 15)

    def processes(self) -> list[Process]:
        found = [self.prometheus_server, *self.gateways, self.jaeger]
        return [process for process in found if process is not None]

    def diagnostics(self) -> str:
        return "".join(f"\n--- {p.name} log (tail) ---\n{p.output()[-2000:]}" for p in self.processes())

    def stop(self) -> None:
        for process in self.processes():
            process.stop()
