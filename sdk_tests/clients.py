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
    # For CI's time: run only these paths, and name every other file and folder of the tests
    # on every run with this reason (as for openai 3.x, sdk_tests/run.py CORE_ONLY).
    core: tuple[str, ...] = ()
    core_reason: str = ""
    # Tests that check fresh subprocesses (which the plugin cannot instrument): run a third
    # time with otel_aierrors instrumenting at start-up in every process (sdk_tests/startup/);
    # each must end as in the plain run.
    startup: tuple[str, ...] = ()
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
            # Issue 28: with instrument() at start-up, importing instructor still imports no openai.
            startup=("tests/test_import_lazy_openai.py",),
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
            # The tests that build an OpenAI client and send through it (the models, and the
            # top-level files that construct AsyncOpenAI / OpenAI or a transport).
            core=(
                "tests/models",
                "tests/test_openai_provider_client_options.py",
                "tests/test_agent_prompt.py",
                "tests/test_config.py",
                "tests/test_error_logging_redaction.py",
                "tests/test_hosted_mcp_connectors_example.py",
                "tests/test_local_shell_tool.py",
                "tests/test_provider_span_errors.py",
                "tests/test_responses_tracing.py",
                "tests/test_run_config.py",
                "tests/test_run_state_pending_input.py",
                "tests/test_runner_model_provider_lifecycle.py",
                "tests/test_trace_processor.py",
            ),
            core_reason=(
                "0.25.0 ships 10,800 offline tests (a plain run here reached 83% in 12 min, then waited idle on a "
                "test), most of them the agent loop on a fake model with no SDK call; the files that build an "
                "OpenAI client run"
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
    wanted = client.core or client.tests
    paths = [path for path in wanted if (root / path).exists()]
    said += [f"not in this sdist: {path}" for path in wanted if path not in paths]
    arguments = list(paths)
    if client.core:
        ignored = {path for path, _ in client.ignore}
        others = sorted(
            str(entry.relative_to(root))
            for folder in client.tests
            if (root / folder).is_dir()
            for entry in (root / folder).iterdir()
            if str(entry.relative_to(root)) not in (*paths, *ignored)
            and ((entry.is_file() and entry.name.startswith("test_") and entry.suffix == ".py") or entry.is_dir())
            and any(entry.rglob("test_*.py") if entry.is_dir() else [entry])
        )
        said.append(
            f"not run, for time ({client.core_reason}): {len(others)} other files and folders: {', '.join(others)}"
        )
        everything = [*client.tests, *(f"--ignore={path}" for path in sorted(ignored)), *client.pytest_args]
        said.append(f"to run them too: python -m sdk_tests.run --client {client.name} -- {' '.join(everything)}")
    for path, reason in client.ignore:
        if (root / path).exists():
            arguments.append(f"--ignore={path}")
            said.append(f"not run: {path} ({reason})")
    for node_id, reason in client.deselect:
        arguments.append(f"--deselect={node_id}")
        said.append(f"not run: {node_id} ({reason})")
    arguments += client.pytest_args
    return arguments, said
