"""Start-up cost of ``import otel_aierrors; otel_aierrors.instrument()``: the median of fresh processes.

Not part of the harness (`run.py`): one command, about a minute. Each sample is
a new interpreter run from ``--root`` (so that checkout's package is imported)
that times the import and ``instrument()`` with ``perf_counter``, and the whole
process's wall time against ``python -c pass`` run the same way, interleaved.
A third process per sample times importing only the modules other than this
package's that ``import otel_aierrors; instrument()`` loads: since issue 28,
standard-library modules only (``typing``, ``re``, ``logging`` ...), the floor
this package's own modules stand on.

    python benchmarks/startup.py [--root DIR] [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

#: Times the import and ``instrument()`` inside the process, in milliseconds.
PROBE = (
    "import time; t = time.perf_counter(); import otel_aierrors; otel_aierrors.instrument(); "
    "print((time.perf_counter() - t) * 1000)"
)


#: Prints the modules other than this package's that the import and ``instrument()`` load.
LISTER = (
    "import sys; before = set(sys.modules); import otel_aierrors; otel_aierrors.instrument(); "
    "print(' '.join(sorted(name for name in set(sys.modules) - before if not name.startswith('otel_aierrors'))))"
)


def _wall(command: list[str], root: Path, environment: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=root, env=environment, capture_output=True, text=True, timeout=60, check=True)
    return (time.perf_counter() - start) * 1000, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--runs", type=int, default=20)
    options = parser.parse_args()
    # No OTEL_* from the caller, and no SDK set-up: instrument() alone is measured.
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    environment["OTEL_AIERRORS_AUTO_SETUP"] = "false"
    stdlib = _wall([sys.executable, "-c", LISTER], options.root, environment)[1].split()
    floor_probe = (
        "import importlib, time; t = time.perf_counter(); "
        f"[importlib.import_module(name) for name in {stdlib!r}]; print((time.perf_counter() - t) * 1000)"
    )
    inside, walls, bare, floor = [], [], [], []
    for _ in range(options.runs):
        wall, out = _wall([sys.executable, "-c", PROBE], options.root, environment)
        inside.append(float(out.strip()))
        walls.append(wall)
        bare.append(_wall([sys.executable, "-c", "pass"], options.root, environment)[0])
        floor.append(float(_wall([sys.executable, "-c", floor_probe], options.root, environment)[1].strip()))
    print(f"root {options.root}, {options.runs} processes, load average {os.getloadavg()[0]:.2f}")
    print(f"import + instrument() inside the process: median {statistics.median(inside):.1f} ms")
    print(f"the {len(stdlib)} other modules it loads, alone: median {statistics.median(floor):.1f} ms")
    print(
        f"whole process: median {statistics.median(walls):.1f} ms, python -c pass {statistics.median(bare):.1f} ms, "
        f"difference {statistics.median(walls) - statistics.median(bare):.1f} ms"
    )


if __name__ == "__main__":
    main()
