"""The clients whose own offline tests ``sdk_tests.run`` runs plain and instrumented.

One row per client: the installed distribution whose sdist holds the tests, the
dependency groups (or extras) of that sdist its tests need, what to run, and what
is left out and why (each entry with its reason, printed on every run). The
``openai`` row is the SDK itself; the others are the libraries users call it
through. Pure data and pure selection logic: nothing here installs or runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Client:
    name: str  # what --client takes
    distribution: str  # the installed distribution: its version is reported, its sdist fetched
    groups: tuple[str, ...] = ("dev",)  # dependency groups (or extras) of the sdist its tests need
    with_extras: bool = False  # also install the sdist's light extras (the openai SDK's way)
    tests: tuple[str, ...] = ("tests",)  # what pytest runs, from the sdist root
    # Paths left out, each with its reason (network, API keys, a mock server, time).
    ignore: tuple[tuple[str, str], ...] = ()
    # Test ids left out, each with its reason.
    deselect: tuple[tuple[str, str], ...] = ()
    pytest_args: tuple[str, ...] = ()
    # The instrumented run must record call spans (the suite drives the SDK over HTTP).
    # False for clients whose offline tests fake the model or the transport: the counts are
    # printed, not required.
    require_calls: bool = False
    timeout: int = 1800  # seconds per run (plain, instrumented), past which the run is stopped
    env: dict[str, str] = field(default_factory=dict)


CLIENTS: dict[str, Client] = {
    client.name: client
    for client in (
        Client("openai", "openai", groups=("dev",), with_extras=True, require_calls=True, timeout=3600),
        Client(
            "instructor",
            "instructor",
            groups=("dev",),
            ignore=(
                ("tests/llm", "calls the providers' real APIs (needs API keys and network)"),
                ("tests/docs", "runs the documentation's examples against the real APIs (keys, network)"),
            ),
            pytest_args=("-m", "not llm and not integration"),
        ),
        Client(
            "langchain-openai",
            "langchain-openai",
            groups=("test",),
            tests=("tests/unit_tests",),
            # The project's own unit-test command: no socket but unix ones (its Makefile).
            pytest_args=("--disable-socket", "--allow-unix-socket"),
        ),
        Client(
            "openai-agents",
            "openai-agents",
            groups=("dev",),
            ignore=(
                ("tests/realtime", "needs websockets to a realtime server; no HTTP call through the SDK client"),
                ("tests/voice", "needs sounddevice/numpy audio (PortAudio); no HTTP call through the SDK client"),
            ),
        ),
        Client(
            "pydantic-ai",
            "pydantic-ai-slim",
            groups=("dev",),
            tests=("tests/models/test_openai.py", "tests/models/test_openai_responses.py"),
        ),
        Client(
            "litellm",
            "litellm",
            groups=("dev",),
            tests=("tests/test_litellm",),
            env={"LITELLM_LOCAL_MODEL_COST_MAP": "True"},
        ),
    )
}


def folder_of_tests(client: Client) -> str:
    """The folder whose presence in the sdist says it ships the tests (``tests``)."""
    return client.tests[0].split("/")[0]


def selection(client: Client, root: Path) -> tuple[list[str], list[str]]:
    """pytest arguments for both runs, and one line per thing left out, with its reason.

    Paths of the client's selection the sdist lacks are named too (a later release moved them).
    """
    said: list[str] = []
    paths = [path for path in client.tests if (root / path).exists()]
    said += [f"not in this sdist: {path}" for path in client.tests if path not in paths]
    arguments = list(paths)
    for path, reason in client.ignore:
        if (root / path).exists():
            arguments.append(f"--ignore={path}")
            said.append(f"not run: {path} ({reason})")
    for node_id, reason in client.deselect:
        arguments.append(f"--deselect={node_id}")
        said.append(f"not run: {node_id} ({reason})")
    arguments += client.pytest_args
    return arguments, said
