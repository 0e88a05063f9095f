"""sdk_tests runs the clients' own tests: which it runs, what it leaves out (and says why), which
dependency groups it installs, and the honest verdict when an sdist ships no tests."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sdk_tests.clients import CLIENTS, Client, folder_of_tests, selection
from sdk_tests.run import NOT_RUN, REPO, STARTUP, run_client
from sdk_tests.sdist import NoTests, dev_requirements, fetch_sdist, sdist_of, ships_no_tests


def fake_sdist(root: Path, files: list[str]) -> Path:
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "fake"\n')
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("def test_it() -> None:\n    pass\n")
    return root


def test_an_sdist_without_a_tests_folder_ships_no_tests(tmp_path: Path) -> None:
    root = fake_sdist(tmp_path / "fake-1.0", ["fake/__init__.py"])
    assert ships_no_tests(root) == "ships no tests (no tests/ folder)"


def test_an_sdist_whose_tests_folder_holds_no_test_module_ships_no_tests(tmp_path: Path) -> None:
    root = fake_sdist(tmp_path / "fake-1.0", ["tests/__init__.py", "tests/conftest.py"])
    assert ships_no_tests(root) == "ships no tests (no test_*.py under tests/)"


def test_an_sdist_with_a_test_module_ships_tests(tmp_path: Path) -> None:
    root = fake_sdist(tmp_path / "fake-1.0", ["tests/unit/test_a.py"])
    assert ships_no_tests(root) is None


def test_a_cached_sdist_without_tests_raises_no_tests_naming_it(tmp_path: Path) -> None:
    """The verdict comes from the extracted sdist in the cache; nothing is downloaded again."""
    root = fake_sdist(tmp_path / "pydantic-ai-slim-2.78.0", ["pydantic_ai/__init__.py"])
    (root / ".otel-aierrors-complete").write_text("2.78.0\n")
    with pytest.raises(NoTests, match=r"^the sdist of pydantic-ai-slim 2\.78\.0 ships no tests \(no tests/ folder\)$"):
        fetch_sdist("2.78.0", tmp_path, "pydantic-ai-slim")


def test_a_client_whose_sdist_ships_no_tests_is_said_not_run_never_ok(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A client row for an installed distribution (pytest), its sdist already in the cache, without tests.
    version = importlib.metadata.version("pytest")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    root = fake_sdist(tmp_path / "otel-aierrors" / "sdk-tests" / f"pytest-{version}", ["src/pytest/__init__.py"])
    (root / ".otel-aierrors-complete").write_text(version + "\n")
    status = run_client(Client("fake-client", "pytest"), workers=1, pytest_args=[])
    printed = capsys.readouterr().out
    assert status == NOT_RUN
    assert (
        f"client tests fake-client {version}: not run, because the sdist of pytest {version} ships no tests" in printed
    )
    assert " ok" not in printed and "0 differ" not in printed


def test_the_selection_names_every_path_left_out_with_its_reason(tmp_path: Path) -> None:
    root = fake_sdist(
        tmp_path / "instructor-1.17.0", ["tests/test_a.py", "tests/llm/test_b.py", "tests/docs/test_c.py"]
    )
    arguments, said = selection(CLIENTS["instructor"], root)
    assert arguments == ["tests", "--ignore=tests/llm", "--ignore=tests/docs", "-m", "not llm and not integration"]
    assert said == [
        "not run: tests/llm (calls the providers' real APIs (needs API keys and network))",
        "not run: tests/docs (runs the documentation's examples against the real APIs (keys, network))",
    ]


def test_a_selected_path_the_sdist_lacks_is_named(tmp_path: Path) -> None:
    root = fake_sdist(tmp_path / "pydantic_ai_slim-9.0.0", ["tests/models/test_openai.py"])
    arguments, said = selection(CLIENTS["pydantic-ai"], root)
    assert arguments == ["tests/models/test_openai.py"]
    assert said == ["not in this sdist: tests/models/test_openai_responses.py"]


def test_every_client_names_its_tests_folder() -> None:
    assert {name: folder_of_tests(client) for name, client in CLIENTS.items()} == dict.fromkeys(CLIENTS, "tests")


def test_dependency_groups_follow_include_group_and_fall_back_to_extras() -> None:
    pyproject: dict[str, object] = {
        "dependency-groups": {
            "test": ["pytest>=9", {"include-group": "mocks"}],
            "mocks": ["pytest-mock"],
            "lint": ["ruff"],
        },
        "project": {"optional-dependencies": {"dev": ["pytest-asyncio", "jsonref"], "docs": ["mkdocs"]}},
    }
    assert dev_requirements(pyproject, ("test",)) == ["pytest>=9", "pytest-mock"]
    assert dev_requirements(pyproject, ("dev",)) == ["pytest-asyncio", "jsonref"]  # an extra named dev
    assert dev_requirements(pyproject, ("test", "dev")) == ["pytest>=9", "pytest-mock", "pytest-asyncio", "jsonref"]


@pytest.mark.parametrize(
    ("filename", "parsed"),
    [
        ("langchain_openai-1.8.1.tar.gz", ("langchain-openai", "1.8.1")),
        ("litellm-1.110.2.tar.gz", ("litellm", "1.110.2")),
        ("pydantic_ai_slim-2.78.0.tar.gz", ("pydantic-ai-slim", "2.78.0")),
        ("openai-3.63.0-py3-none-any.whl", None),
    ],
)
def test_an_sdist_file_name_gives_its_distribution_and_version(filename: str, parsed: tuple[str, str] | None) -> None:
    assert sdist_of(filename) == parsed


def test_a_core_only_client_runs_its_core_and_names_every_other_file_and_the_command_for_all(tmp_path: Path) -> None:
    client = Client(
        "fake",
        "fake",
        ignore=(("tests/realtime", "websockets"),),
        core=("tests/models", "tests/test_client.py"),
        core_reason="too many for CI",
    )
    root = fake_sdist(
        tmp_path / "fake-1.0",
        [
            "tests/models/test_m.py",
            "tests/test_client.py",
            "tests/test_loop.py",
            "tests/realtime/test_r.py",
            "tests/fixtures/data.py",
        ],
    )
    arguments, said = selection(client, root)
    assert arguments == ["tests/models", "tests/test_client.py", "--ignore=tests/realtime"]
    assert said == [
        "not run, for time (too many for CI): 1 other files and folders: tests/test_loop.py",
        "to run them too: python -m sdk_tests.run --client fake -- tests --ignore=tests/realtime",
        "not run: tests/realtime (websockets)",
    ]


def test_the_startup_folder_instruments_a_fresh_process_before_its_own_code_and_imports_no_sdk() -> None:
    """What instructor's subprocess checks run under: instrument() already done, openai not imported."""
    script = (
        "import sys; print('otel_aierrors._patches.on_import' in sys.modules, "
        "sorted(m for m in sys.modules if m.split('.')[0] in ('openai', 'anthropic', 'httpx')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": os.pathsep.join((str(STARTUP), str(REPO)))},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip() == "True []", done.stderr


def test_instructors_lazy_import_checks_run_again_instrumented_at_startup() -> None:
    assert CLIENTS["instructor"].startup == ("tests/test_import_lazy_openai.py",)
