"""The command line itself: entry points, version, usage, and the hint when the cli extra is missing."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

import otel_aierrors.cli._main as cli
from otel_aierrors import __version__
from otel_aierrors.cli._main import EXIT_MISSING_DEPENDENCY, main

from .conftest import run_cli

pytestmark = pytest.mark.timeout(60)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"otel-aierrors {__version__}"


def test_python_m_is_the_console_script() -> None:
    via_module = run_cli("--version")
    assert via_module.returncode == 0
    assert via_module.stdout.strip() == f"otel-aierrors {__version__}"
    script = Path(sys.executable).parent / "otel-aierrors"
    if not script.exists():
        found = shutil.which("otel-aierrors")
        if found is None:
            pytest.skip("the otel-aierrors console script is not installed next to this Python")
        script = Path(found)
    import subprocess

    via_script = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=30, check=False)
    assert (via_script.returncode, via_script.stdout) == (via_module.returncode, via_module.stdout)


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    err = capsys.readouterr().err
    for command in ("demo", "chaos", "doctor"):
        assert command in err


def test_every_command_has_help() -> None:
    for command in ("demo", "chaos", "doctor"):
        result = run_cli(command, "--help")
        assert result.returncode == 0
        assert f"usage: otel-aierrors {command}" in result.stdout


def test_unknown_command_is_a_usage_error() -> None:
    result = run_cli("explode")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_demo_without_rich_prints_the_install_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "_missing", lambda *modules: "rich" if "rich" in modules else None)
    assert main(["demo", "--duration", "1"]) == 3
    err = capsys.readouterr().err
    assert "rich is not installed" in err
    assert "pip install 'otel-aierrors[cli]'" in err


def test_demo_litellm_without_litellm_exits_3_with_one_line_saying_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # None in sys.modules makes litellm unimportable, also where it is installed (the frameworks environment).
    monkeypatch.setitem(sys.modules, "litellm", None)
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--litellm", "--scenarios", "1", "--no-progress"]) == EXIT_MISSING_DEPENDENCY
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert "--litellm needs litellm" in captured.err
    assert "pip install 'otel-aierrors[litellm]'" in captured.err
    assert not (tmp_path / "aierrors-demo").exists(), "nothing ran"


def test_missing_module_is_detected() -> None:
    assert cli._missing("json", "otel_aierrors_no_such_module") == "otel_aierrors_no_such_module"
    assert cli._missing("json") is None
