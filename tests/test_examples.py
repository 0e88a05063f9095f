"""The examples run as their headers say, and show what they promise.

Each example's docstring ends its "Run it" block with the command to run; the
tests take the environment variables and the script from that very command,
with the test's interpreter (the CI environment) and a free port instead of
8700.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def header_command(example: Path) -> str:
    """The last command of the example's header block (continuation lines joined)."""
    header = example.read_text(encoding="utf-8").split('"""')[1]
    block = header.split("::", 1)[1].split("\n\n", 2)[1]
    return block.replace("\\\n", " ").strip().splitlines()[-1].strip()


def clean_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "OPENAI_"))}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def test_every_example_is_tested() -> None:
    assert sorted(path.name for path in EXAMPLES.glob("*.py")) == ["console.py", "fallback.py"]


def test_fallback_example(tmp_path: Path) -> None:
    command = header_command(EXAMPLES / "fallback.py")
    assert command == ".venv/bin/python examples/fallback.py"
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "fallback.py")],
        env=clean_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "spans (attempt spans are the POST children):" in result.stdout
    assert "retry summarize" in result.stdout  # tenacity is in the test environment
    assert re.search(r"fallback answer\s+\[UNSET\]", result.stdout), result.stdout
    assert "1 x {'kind': 'gateway'" in result.stdout


def test_console_example_prints_spans_with_the_auto_setup(tmp_path: Path) -> None:
    command = header_command(EXAMPLES / "console.py")
    variables = dict(re.findall(r"(\w+)=(\S+)", command))
    assert variables["OTEL_TRACES_EXPORTER"] == "console"
    assert command.endswith("examples/console.py")
    with subprocess.Popen(
        [sys.executable, "-m", "otel_aierrors", "chaos", "--profile", "flaky", "--port", "0", "--max-seconds", "90"],
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as server:
        try:
            assert server.stdout is not None
            base_url = ""
            deadline = time.monotonic() + 30
            while not base_url and time.monotonic() < deadline:
                line = server.stdout.readline()
                if line.startswith("base URL:"):
                    base_url = line.split()[-1]
            assert base_url, "the chaos server printed no base URL"
            variables["OPENAI_BASE_URL"] = variables["OPENAI_BASE_URL"].replace("http://127.0.0.1:8700/v1", base_url)
            result = subprocess.run(
                [sys.executable, str(EXAMPLES / "console.py")],
                env=clean_env(**variables),
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=90,
                check=False,
            )
        finally:
            server.terminate()
            server.wait(15)
    assert result.returncode == 0, result.stderr
    spans = [json.loads(chunk) for chunk in re.findall(r"^\{\n.*?^\}$", result.stdout, re.MULTILINE | re.DOTALL)]
    calls = [span for span in spans if span["name"] == "chat gpt-4o-mini"]
    assert len(calls) == 5, result.stdout
    assert sum(span["name"] == "POST chat" for span in spans) >= 5
    assert "Overriding" not in result.stderr
