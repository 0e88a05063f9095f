"""The collector's opt-in file export (``collector-config/file-export.yaml``) feeds ``otel-aierrors report``.

The static test needs no binary: merged over the shipped file, the overlay
keeps every exporter of each pipeline and adds ``file``. The end-to-end test
(markers ``e2e`` and ``pipeline``) runs the built collector with both files
(addresses moved by a third, as ``_stack`` does), sends it a demo run over
OTLP/HTTP, and draws the lines the ``file`` exporter wrote: the page's numbers
are the demo's own report's. It is skipped, with the command that fixes it,
when the collector in ``.bin/`` is missing or was built before the manifest
had the ``file`` exporter.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from otel_aierrors.cli.report import analyse, read_files
from tests.cli.conftest import clean_env, closed_port, run_cli
from tests.monitoring import _assets
from tests.monitoring._procs import Process, wait_for

from . import _binaries, _stack

FILE_EXPORT = _assets.COLLECTOR_DIR / "file-export.yaml"
ROOT = Path(__file__).resolve().parents[2]


def test_the_file_export_adds_file_to_every_pipeline_and_keeps_the_shipped_exporters() -> None:
    shipped = yaml.safe_load(_stack.COLLECTOR_CONFIG.read_text(encoding="utf-8"))
    overlay = yaml.safe_load(FILE_EXPORT.read_text(encoding="utf-8"))
    assert overlay["exporters"]["file"]["format"] == "json"
    assert set(overlay["service"]["pipelines"]) == set(shipped["service"]["pipelines"])
    for name, pipeline in shipped["service"]["pipelines"].items():
        assert overlay["service"]["pipelines"][name]["exporters"] == [*pipeline["exporters"], "file"], name


def _collector_with_file_exporter() -> Path:
    try:
        binary = _binaries.collector()
    except AssertionError as missing:
        pytest.skip(str(missing))
    components = subprocess.run(
        [str(binary), "components"], capture_output=True, text=True, timeout=60, check=False
    ).stdout
    if "fileexporter" not in components:
        pytest.skip(f"{binary} was built without the file exporter: rebuild it with `{_binaries.BUILD_COMMAND}`")
    return binary


@pytest.mark.e2e
@pytest.mark.pipeline
@pytest.mark.timeout(240)
def test_the_collector_writes_otlp_json_that_the_report_draws(tmp_path: Path) -> None:
    binary = _collector_with_file_exporter()
    ports = _stack.CollectorPorts.free()
    addresses = tmp_path / "addresses.yaml"
    addresses.write_text(yaml.safe_dump(_stack.collector_overlay(ports)), encoding="utf-8")
    exported = tmp_path / "aierrors-otlp.jsonl"
    env = {
        **clean_env(),
        # Nothing listens there: the traces pipeline's Jaeger exporter fails, the file exporter must not care.
        "JAEGER_OTLP_ENDPOINT": f"127.0.0.1:{closed_port()}",
        "AIERRORS_FILE_EXPORT_PATH": str(exported),
    }
    configs = [_stack.COLLECTOR_CONFIG, FILE_EXPORT, addresses]
    flags = [f"--config={path}" for path in configs]
    validate = subprocess.run(
        [str(binary), "validate", *flags], capture_output=True, text=True, timeout=60, check=False, env=env
    )
    assert validate.returncode == 0, validate.stdout + validate.stderr
    collector = Process("collector", [str(binary), *flags], tmp_path / "collector.log", limit=200, env=env)
    try:
        health = f"http://127.0.0.1:{ports.health}/"
        wait_for("the collector to be ready", lambda: _stack._answers(health) or not collector.alive(), 60)
        assert collector.alive(), collector.output()[-3000:]
        demo_dir = tmp_path / "demo"
        result = run_cli(
            "demo",
            "--scenarios",
            "20",
            "--seed",
            "3",
            "--no-progress",
            "--output-dir",
            str(demo_dir),
            env=clean_env(
                PYTHONPATH=str(ROOT),
                OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{ports.otlp_http}",
                OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
            ),
            cwd=tmp_path,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        terminal = json.loads((demo_dir / "report.json").read_text(encoding="utf-8"))
        retries = terminal["retries"]

        def complete() -> bool | None:
            if not exported.exists():
                return None
            totals = analyse(read_files([exported])).totals
            spans_done = len(read_files([exported]).spans) >= retries["calls"] + retries["attempts"]
            return (totals.calls == retries["calls"] and spans_done) or None

        wait_for("the file exporter to hold the whole run", complete, 60)
    finally:
        collector.stop()
    page = tmp_path / "page.html"
    drawn = run_cli("report", str(exported), "--output", str(page), env=clean_env(PYTHONPATH=str(ROOT)))
    assert drawn.returncode == 0, drawn.stderr
    report = analyse(read_files([exported]))
    assert report.totals.calls == retries["calls"]
    assert report.totals.attempts == retries["attempts"]
    assert report.totals.backoff_seconds == pytest.approx(retries["backoff_seconds"])
    assert report.soft_failures == terminal["soft_failures"]
    assert sum(flow.hops for flow in report.flows) == sum(hop["hops"] for hop in terminal["fallback_hops"])
    assert report.waterfalls and '<svg class="waterfall"' in page.read_text(encoding="utf-8")
