"""``otel-aierrors demo --litellm``: the LiteLLM stories reach the report, and the default demo never imports litellm.

The demo runs in-process for the module (one full first round of the plan, so
both LiteLLM scenarios run once, whatever the seed's order), its OTLP JSON files and
``report.json`` in a temporary directory; the tests read them with the CLI
tests' readers.
"""

from __future__ import annotations

import gc
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("litellm", reason="litellm is not installed")
pytest.importorskip("rich", reason="the demo needs the cli extra")

from rich.console import Console

from otel_aierrors.cli.demo import DemoOptions, run_demo
from otel_aierrors.cli.demo.litellm_workload import (
    ANTHROPIC_MODEL,
    BACKUP_MODEL,
    LITELLM_SCENARIOS,
    PRIMARY_GROUP,
    PRIMARY_MODEL,
)
from otel_aierrors.cli.demo.workload import SCENARIOS
from tests.cli.conftest import read_last_metrics, read_spans

# litellm's own warnings (see test_litellm_router.py): not this package's.
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*using the `ReadOnly` qualifier:UserWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.timeout(120),
]

ROOT = Path(__file__).parents[2]


class LiteLLMDemo:
    def __init__(self, directory: Path, printed: str, code: int) -> None:
        self.printed = printed
        self.code = code
        self.report: dict[str, Any] = json.loads((directory / "report.json").read_text(encoding="utf-8"))
        self.spans = read_spans(directory / "traces.jsonl")
        self.metrics = read_last_metrics(directory / "metrics.jsonl")
        self.html = (directory / "report.html").read_text(encoding="utf-8")

    def children(self, parent: dict[str, Any]) -> list[dict[str, Any]]:
        found = [s for s in self.spans if s.get("parentSpanId") == parent["spanId"]]
        return sorted(found, key=lambda s: int(s["startTimeUnixNano"]))

    def scenario(self, name: str) -> dict[str, Any]:
        (root,) = [s for s in self.spans if s["attrs"].get("demo.scenario") == name]
        return root


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> LiteLLMDemo:
    directory = tmp_path_factory.mktemp("litellm-demo")
    with pytest.MonkeyPatch.context() as patch:
        for key in [key for key in os.environ if key.startswith("OTEL_")]:
            patch.delenv(key)  # a user's collector must not receive the test's telemetry
        out = io.StringIO()
        code = run_demo(
            DemoOptions(
                scenarios=len(SCENARIOS) + len(LITELLM_SCENARIOS),
                seed=3,
                output_dir=directory,
                progress=False,
                litellm=True,
            ),
            Console(file=out, width=160),
            Console(file=io.StringIO()),
        )
        gc.collect()  # what litellm left unclosed, collected while this module's warning filters apply
    return LiteLLMDemo(directory, out.getvalue(), code)


def test_both_litellm_scenarios_run_beside_the_default_ones(demo: LiteLLMDemo) -> None:
    assert demo.code == 0
    assert set(demo.report["scenarios"]) == {s.name for s in SCENARIOS + LITELLM_SCENARIOS}
    assert demo.report["run"]["litellm"] not in (None, "unknown")
    assert all(agreement["agrees"] for agreement in demo.report["agreements"])


def test_the_router_scope_hops_from_a_to_b_after_a_429_then_a_503(demo: LiteLLMDemo) -> None:
    (scope,) = demo.children(demo.scenario("litellm_router_fallback"))
    assert scope["name"] == f"fallback {PRIMARY_GROUP}"
    assert scope["attrs"]["aierrors.fallback.succeeded_hop"] == 1
    calls = demo.children(scope)
    assert [c["attrs"]["gen_ai.request.model"] for c in calls] == [PRIMARY_MODEL, PRIMARY_MODEL, BACKUP_MODEL]
    assert [c["attrs"].get("aierrors.error.class") for c in calls] == ["rate_limit", "overloaded", None]
    assert [c["attrs"]["aierrors.app_retry.attempt"] for c in calls] == [1, 2, 1]
    assert {c["attrs"]["aierrors.app_retry.library"] for c in calls} == {"litellm"}
    statuses = [a["attrs"].get("http.response.status_code") for c in calls for a in demo.children(c)]
    assert statuses == [429, 503, 200]

    hop = {"kind": "model", "reason": "overloaded", "from_model": PRIMARY_MODEL, "to_model": BACKUP_MODEL, "hops": 1}
    assert hop in demo.report["fallback_hops"]
    assert demo.report["fallback_scopes"][PRIMARY_GROUP] == {"scopes": 1, "succeeded_at_hop_1": 1}
    # The metric the Grafana fallback panels query, with the labels they group by.
    (point,) = [
        p for p in demo.metrics["aierrors.fallback.hops"] if p["attrs"]["aierrors.fallback.from_model"] == PRIMARY_MODEL
    ]
    assert point["attrs"]["aierrors.fallback.to_model"] == BACKUP_MODEL
    assert point["attrs"]["aierrors.fallback.reason"] == "overloaded"
    assert point["attrs"]["aierrors.fallback.kind"] == "model"


def test_the_printed_and_html_reports_show_the_hop_the_scope_and_the_app_retries(demo: LiteLLMDemo) -> None:
    lines = demo.printed.splitlines()
    assert any(
        "model" in line and "overloaded" in line and f"{PRIMARY_MODEL} → {BACKUP_MODEL}" in line for line in lines
    ), demo.printed
    assert f"fallback '{PRIMARY_GROUP}': 1 scopes, 1 answered after 1 fallback" in demo.printed
    assert {"library": "litellm", "calls": 3, "retries": 1, "failed": 2} in demo.report["app_retries"]
    assert any(line.split()[:4] == ["litellm", "3", "1", "2"] for line in lines), demo.printed
    # The HTML report: the scope in its fallback table, each of LiteLLM's tries in the waterfall.
    assert PRIMARY_GROUP in demo.html
    assert "litellm try 2" in demo.html


def test_the_anthropic_call_through_litellms_handler_has_attempt_spans(demo: LiteLLMDemo) -> None:
    root = demo.scenario("litellm_anthropic")
    calls = [s for s in demo.spans if s["traceId"] == root["traceId"] and "aierrors.attempt.count" in s["attrs"]]
    calls.sort(key=lambda s: int(s["startTimeUnixNano"]))
    assert [c["attrs"]["gen_ai.provider.name"] for c in calls] == ["anthropic", "anthropic"]
    assert [c["attrs"]["gen_ai.request.model"] for c in calls] == [ANTHROPIC_MODEL, ANTHROPIC_MODEL]
    assert [c["attrs"]["aierrors.outcome"] for c in calls] == ["error", "ok"]
    attempts = [demo.children(c) for c in calls]
    assert [[a["attrs"].get("http.response.status_code") for a in group] for group in attempts] == [[529], [200]]
    assert attempts[0][0]["attrs"]["aierrors.error.class"] == "overloaded"
    anthropic = next(p for p in demo.report["providers"] if p["provider"] == "anthropic")
    assert anthropic == {"provider": "anthropic", "calls": 2, "attempts": 2, "failed_attempts": 1}


def test_the_default_demo_does_not_import_litellm(tmp_path: Path) -> None:
    """Run from the checkout (its directory first on sys.path), the switch off: litellm stays out."""
    program = (
        "import sys\n"
        "from otel_aierrors.cli._main import main\n"
        f"code = main(['demo', '--scenarios', '2', '--no-progress', '--quiet', '--output-dir', {str(tmp_path)!r}])\n"
        "assert code == 0, code\n"
        "print('litellm' in sys.modules)\n"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    result = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"
