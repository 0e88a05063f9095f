"""The rule files: generated, loadable, conventional, and unit-tested by promtool for every alert."""

from __future__ import annotations

import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml

from . import _assets, _promql
from ._procs import require

SEVERITIES = {"critical", "warning", "info"}
#: The labels a recording rule's level names, in order (``le`` and ``gen_ai_token_type`` are part of the series).
LEVEL_LABELS = ("job", "gen_ai_provider_name", "server_address", "gen_ai_request_model")


def _run(argv: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, cwd=cwd)


# --- generated, committed ------------------------------------------------------------
def test_committed_files_equal_the_generated_ones() -> None:
    rendered = _assets.generator().render_all()
    assert rendered, "the generator rendered nothing"
    for relative, text in rendered.items():
        path = _assets.GRAFANA / relative
        assert path.is_file(), f"{relative} is not committed; run `python grafana/generate.py`"
        assert path.read_text(encoding="utf-8") == text, f"{relative} is stale; run `python grafana/generate.py`"
    committed = {f"rules/{p.name}" for p in _assets.rule_files()} | {
        f"dashboards/{p.name}" for p in _assets.dashboard_files()
    }
    assert committed == set(rendered), "files in grafana/rules or grafana/dashboards that the generator does not make"


def test_generate_check_exits_zero_on_the_committed_files() -> None:
    result = _run([sys.executable, str(_assets.GRAFANA / "generate.py"), "--check"])
    assert result.returncode == 0, result.stderr


def _normalise_windows(text: str) -> str:
    text = re.sub(r"\[[0-9a-z]+\]", "[W]", text)
    return re.sub(r"offset [0-9a-z]+", "offset W", text)


def test_the_scaled_variant_differs_only_in_its_windows() -> None:
    generate = _assets.generator()
    production = generate.render_all()
    fast = generate.render_all(scale=Fraction(1, 60))
    for relative in production:
        if not relative.startswith("rules/"):
            assert production[relative] == fast[relative], f"{relative} must not depend on the windows scale"
            continue
        prod_groups = yaml.safe_load(production[relative])["groups"]
        fast_groups = yaml.safe_load(fast[relative])["groups"]
        assert [g["name"] for g in prod_groups] == [g["name"] for g in fast_groups]
        for prod_group, fast_group in zip(prod_groups, fast_groups, strict=True):
            for prod_rule, fast_rule in zip(prod_group["rules"], fast_group["rules"], strict=True):
                assert {k: v for k, v in prod_rule.items() if k not in ("expr", "for")} == {
                    k: v for k, v in fast_rule.items() if k not in ("expr", "for")
                }
                assert _normalise_windows(prod_rule["expr"]) == _normalise_windows(fast_rule["expr"])
    fast_rules = yaml.safe_load(fast["rules/aierrors.rules.yaml"])["groups"][0]["rules"]
    slo_1h = next(r for r in fast_rules if r["record"].endswith(":ratio_rate1h"))
    assert "[1m]" in slo_1h["expr"] and "[1h]" not in slo_1h["expr"]
    burn = yaml.safe_load(fast["rules/aierrors.alerts.yaml"])["groups"][0]["rules"][0]
    assert burn["for"] == "2s"


def test_the_objective_is_a_parameter() -> None:
    generate = _assets.generator()
    alerts = yaml.safe_load(generate.render_all(objective=0.995)["rules/aierrors.alerts.yaml"])
    burn = [r for g in alerts["groups"] for r in g["rules"] if r["alert"] == "AIErrorsErrorBudgetBurn"]
    assert [r["expr"].split(">")[1].split("\n")[0].strip() for r in burn] == [
        "(14.4 * 0.005)",
        "(6 * 0.005)",
        "(3 * 0.005)",
        "(1 * 0.005)",
    ]
    assert "99.5% objective" in burn[0]["annotations"]["description"]
    dashboard = generate.render_all(objective=0.995)["dashboards/aierrors-overview.json"]
    assert '"query": "0.995"' in dashboard
    assert generate.main(["--objective", "0.99", "--check"]) == 0
    with pytest.raises(SystemExit):
        generate.main(["--objective", "99"])


def test_durations_scale_and_render() -> None:
    sys.path.insert(0, str(_assets.GRAFANA))
    try:
        from aierrors_mixin.durations import Scale, parse_duration, render_duration
    finally:
        sys.path.remove(str(_assets.GRAFANA))
    assert parse_duration("1h30m") == 5400
    assert render_duration(Fraction(5400)) == "1h30m"
    assert render_duration(Fraction(3, 2)) == "1s500ms"
    scale = Scale(Fraction(1, 60))
    assert [scale(w) for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "0s")] == [
        "5s", "30s", "1m", "2m", "6m", "24m", "1h12m", "0s",
    ]  # fmt: skip
    with pytest.raises(ValueError):
        parse_duration("5 minutes")


# --- promtool --------------------------------------------------------------------------
def test_promtool_check_rules_accepts_the_committed_files() -> None:
    require("promtool")
    result = _run(["promtool", "check", "rules", *map(str, _assets.rule_files())])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_check_rules_accepts_the_scaled_variant(tmp_path: Path) -> None:
    require("promtool")
    assert _assets.generator().main(["--windows-scale", "1/60", "--out", str(tmp_path)]) == 0
    result = _run(["promtool", "check", "rules", *map(str, sorted((tmp_path / "rules").glob("*.yaml")))])
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass() -> None:
    require("promtool")
    files = _assets.promtool_test_files()
    assert files, "no promtool tests in grafana/tests/"
    result = _run(["promtool", "test", "rules", *map(str, files)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(files), result.stdout


def _promtool_cases() -> dict[str, dict[str, int]]:
    """Alert name -> how many cases expect it to fire (``positive``) or stay silent (``negative``)."""
    cases: dict[str, dict[str, int]] = {}
    for path in _assets.promtool_test_files():
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        rule_files = {(path.parent / name).resolve() for name in document["rule_files"]}
        assert rule_files <= {p.resolve() for p in _assets.rule_files()}, f"{path.name} tests other rule files"
        for test in document["tests"]:
            for case in test.get("alert_rule_test", []):
                kind = "positive" if case.get("exp_alerts") else "negative"
                counts = cases.setdefault(case["alertname"], {"positive": 0, "negative": 0})
                counts[kind] += 1
    return cases


def test_every_alert_has_promtool_cases_that_fire_and_that_stay_silent() -> None:
    cases = _promtool_cases()
    for name in sorted(_assets.alert_names()):
        assert cases.get(name, {}).get("positive", 0) >= 1, f"no promtool case where {name} fires"
        assert cases.get(name, {}).get("negative", 0) >= 1, f"no promtool case where {name} stays silent"
    assert set(cases) <= _assets.alert_names(), "promtool cases for alerts that do not exist"


def test_promtool_cases_assert_full_annotations() -> None:
    for path in _assets.promtool_test_files():
        for test in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for case in test.get("alert_rule_test", []):
                for alert in case.get("exp_alerts") or []:
                    assert set(alert["exp_annotations"]) == {"summary", "description", "runbook_url"}, path.name
                    assert "severity" in alert["exp_labels"], path.name


# --- conventions (kubernetes-mixin) ---------------------------------------------------
def _alerts() -> list[dict[str, Any]]:
    return [rule for rule in _assets.rules() if "alert" in rule]


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes."""
    anchors = set()
    for line in markdown.splitlines():
        match = re.match(r"#{1,6}\s+(.*)", line)
        if match:
            text = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower())
            anchors.add(text.replace(" ", "-"))
    return anchors


def test_alerts_follow_the_conventions() -> None:
    anchors = _anchors(_assets.RUNBOOKS.read_text(encoding="utf-8"))
    for rule in _alerts():
        name = rule["alert"]
        assert re.fullmatch(r"AIErrors[A-Z][A-Za-z]+", name), name
        assert rule["labels"]["severity"] in SEVERITIES, name
        assert "for" in rule, f"{name}: explicit `for` expected"
        annotations = rule["annotations"]
        assert set(annotations) == {"summary", "description", "runbook_url"}, name
        assert annotations["summary"].endswith("."), name
        anchor = annotations["runbook_url"].rpartition("#")[2]
        assert annotations["runbook_url"].split("#")[0].endswith("docs/runbooks.md"), name
        assert anchor == name.lower(), name
        assert anchor in anchors, f"{name}: docs/runbooks.md has no heading for #{anchor}"


def test_alert_descriptions_name_every_label_that_locates_them() -> None:
    recorded = _recorded_labels()
    for rule in _alerts():
        used = _promql.names(rule["expr"])
        expected = set(used.labels).union(*(recorded[m] for m in used.metrics if m in recorded))
        assert expected, rule["alert"]
        for label in expected:
            assert f"$labels.{label}" in rule["annotations"]["description"], f"{rule['alert']}: {label}"


def test_recording_rules_follow_level_metric_operation() -> None:
    for group in _assets.groups():
        records = [rule for rule in group["rules"] if "record" in rule]
        alerts = [rule for rule in group["rules"] if "alert" in rule]
        assert not (records and alerts), f"group {group['name']} mixes recording and alerting rules"
        if records:
            assert group["name"].endswith(".rules"), group["name"]
        for rule in records:
            level, metric, operation = rule["record"].split(":")
            assert level and metric and operation, rule["record"]
            grouping = sorted(_promql.names(rule["expr"]).labels)
            assert level == "_".join(label for label in LEVEL_LABELS if label in grouping), rule["record"]
            assert metric.startswith(("aierrors_", "gen_ai_client_")), rule["record"]


def _recorded_labels() -> dict[str, set[str]]:
    """Recording rule name -> the labels its series keep (its grouping labels)."""
    return {rule["record"]: _promql.names(rule["expr"]).labels for rule in _assets.rules() if "record" in rule}
