"""``otel-aierrors chaos``: the fault server on its own, for any application."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

import openai
import pytest

from otel_aierrors.chaos import PROFILES
from otel_aierrors.cli._main import _chaos_profile, build_parser, main

from .conftest import run_cli

pytestmark = pytest.mark.timeout(90)

URL = re.compile(r"base URL: (http://127\.0\.0\.1:\d+/v1)")


def test_serves_the_plain_openai_sdk_with_the_flaky_profile(spawn: Any) -> None:
    running = spawn("chaos", "--profile", "flaky", "--port", "0", "--seed", "3", "--max-seconds", "120")
    line = running.wait_for_line("base URL:")
    match = URL.search(line)
    assert match, line
    base_url = match.group(1)
    assert "OPENAI_BASE_URL=" + base_url in running.wait_for_line("OPENAI_BASE_URL")
    with openai.OpenAI(base_url=base_url, api_key="sk-chaos", max_retries=5, timeout=10) as client:
        for _ in range(12):
            reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
            assert reply.choices[0].message.content
        client.embeddings.create(model="text-embedding-3-small", input="hi")
    running.wait_for_line("POST /v1/embeddings fault=ok status=200")
    logged = [line for line in running.stdout if line.startswith("POST /v1/chat/completions")]
    assert len(logged) >= 12

    root = base_url.removesuffix("/v1")
    with urllib.request.urlopen(f"{root}/_chaos", timeout=5) as response:
        state = json.load(response)
    assert state["profile"] == "flaky" and state["seed"] == 3
    change = urllib.request.Request(f"{root}/_chaos", data=json.dumps({"profile": "quota"}).encode(), method="POST")
    with urllib.request.urlopen(change, timeout=5) as response:
        assert json.load(response)["profile"] == "quota"
    with (
        openai.OpenAI(base_url=base_url, api_key="sk-chaos", max_retries=0, timeout=10) as client,
        pytest.raises(openai.RateLimitError),
    ):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])

    running.process.terminate()  # SIGTERM, by PID
    assert running.wait(15) == 0


def test_refuses_a_non_loopback_host_without_allow_remote() -> None:
    result = run_cli("chaos", "--host", "0.0.0.0", "--port", "0", "--max-seconds", "5", timeout=30)
    assert result.returncode == 2
    assert "--allow-remote" in result.stderr
    assert "base URL" not in result.stdout


def test_refusal_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chaos", "--host", "192.0.2.1"]) == 2
    assert "refusing" in capsys.readouterr().err


def test_a_busy_port_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["chaos", "--port", str(port), "--quiet", "--max-seconds", "1"]) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def profile_of(*argv: str) -> Any:
    return _chaos_profile(build_parser().parse_args(["chaos", *argv]))


def test_rates_build_a_custom_profile() -> None:
    profile = profile_of("--rate", "rate_limit=0.2", "--rate", "server_error;retry_after=1=5%")
    assert profile.name == "custom"
    assert profile.rates() == {"rate_limit": 0.2, "server_error;retry_after=1": 0.05, "ok": 0.75}


def test_rates_extend_a_named_profile_and_latency_applies() -> None:
    profile = profile_of("--profile", "outage", "--rate", "upstream=0.1", "--latency", "0.1-0.3")
    assert profile.name == "outage+rates"
    assert profile.rates()["upstream"] == 0.1
    assert profile.rates()["overloaded"] == PROFILES["outage"].rates()["overloaded"]
    assert profile.latency == (0.1, 0.3)


def test_named_profile_is_used_as_is() -> None:
    assert profile_of("--profile", "rate-limited") is PROFILES["rate-limited"]
    assert profile_of() is PROFILES["flaky"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rate", "teapot=0.5"], "unknown chaos fault"),
        (["--rate", "rate_limit=1.5"], "between 0 and 1"),
        (["--rate", "rate_limit=0.7", "--rate", "server_error=0.7"], "sum"),
        (["--profile", "nope"], "unknown chaos profile"),
    ],
)
def test_bad_profiles_are_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chaos", "--port", "0", *argv]) == 2
    assert message in capsys.readouterr().err


def test_lists_profiles(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chaos", "--list-profiles"]) == 0
    listed = capsys.readouterr().out
    for name in ("healthy", "flaky", "rate-limited", "outage", "quota", "slow", "stream-cuts"):
        assert re.search(rf"^{re.escape(name)}\s", listed, re.MULTILINE)
