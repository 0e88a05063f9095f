"""sdk_tests installs an SDK's test dependencies even when its lock pins a version the
package index does not serve (openai 3.63.0's lock pins botocore 1.44.9, never served)."""

from __future__ import annotations

import subprocess
import textwrap
import venv
from pathlib import Path

import pytest

from sdk_tests.sdist import UNSERVED, nearest_version

REPO = Path(__file__).resolve().parents[2]

# What pip 25 says for such a pin (the list cut short).
PIP_SAYS = (
    "ERROR: Could not find a version that satisfies the requirement botocore==1.44.9 "
    "(from versions: 0.4.1, 1.44.7, 1.44.8, 1.44.13, 1.45.0)\n"
    "ERROR: No matching distribution found for botocore==1.44.9\n"
)


def test_pips_refusal_names_the_pin_and_what_is_served() -> None:
    match = UNSERVED.search(PIP_SAYS)
    assert match is not None
    assert match.group(1, 2) == ("botocore", "1.44.9")
    assert "1.44.13" in match.group(3)


@pytest.mark.parametrize(
    ("wanted", "served", "chosen"),
    [
        ("1.44.9", ["0.4.1", "1.44.7", "1.44.8", "1.44.13", "1.45.0"], "1.44.8"),  # newest below, same series
        ("1.44.9", ["1.43.2", "1.44.13", "1.45.0"], "1.44.13"),  # else the oldest above in the series
        ("1.44.9", ["1.43.2", "1.45.0"], "1.43.2"),  # else the newest below
        ("1.44.9", ["1.45.0", "2.0.0"], None),  # nothing older, nothing in the series
        ("1.44.9", ["1.44.10rc1", "1.44.3"], "1.44.3"),  # no pre-release
    ],
)
def test_the_nearest_served_version(wanted: str, served: list[str], chosen: str | None) -> None:
    assert nearest_version(wanted, served) == chosen


def test_a_lock_pin_the_index_does_not_serve_moves_to_the_nearest_and_installs(tmp_path: Path) -> None:
    """Against the real package index: a fresh environment, a lock pinning ``six==1.16.99``."""
    env = tmp_path / "env"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    script = textwrap.dedent(
        """
        from pathlib import Path
        from sdk_tests.sdist import _install_locked
        log = Path("install.log")
        print("installed:", _install_locked(["six"], {"six": "1.16.99"}, "constraints.txt", log))
        """
    )
    (tmp_path / "constraints.txt").write_text("")
    done = subprocess.run(
        [python, "-c", script], cwd=tmp_path, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "the lock pins six==1.16.99, which the package index does not serve: using six==1.16.0" in done.stdout
    assert "installed: True" in done.stdout
    version = subprocess.run(
        [python, "-c", "import importlib.metadata as m; print(m.version('six'))"],
        capture_output=True, text=True, check=True,
    )
    assert version.stdout.strip() == "1.16.0"
    # pip's list of every version ever served stays in the log, not in the output.
    assert "from versions:" not in done.stdout
    assert "from versions:" in (tmp_path / "install.log").read_text()
