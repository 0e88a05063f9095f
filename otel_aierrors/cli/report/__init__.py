"""``otel-aierrors report``: the failures in OTLP JSON files as one self-contained HTML page.

Reads what ``otel-aierrors demo`` writes (``traces.jsonl``, ``metrics.jsonl``)
and what the collector's ``file`` exporter writes
(``collector-config/file-export.yaml``), and writes one HTML file that needs
no network to open: calls and attempts over time by error class, waterfalls
of the slowest and failing traces, what retries cost by class, soft failures
and fallback flows, and the alert thresholds the data crossed, with their
runbook links.

Modules: ``otlp`` (reading the files), ``analysis`` (counting), ``alerts``
(the shipped rules' thresholds), ``svg`` (waterfalls and bars), ``page`` (the
HTML), ``vendor`` (uPlot). Not imported by ``import otel_aierrors``; it needs
nothing beyond the standard library and this package.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from otel_aierrors.cli.report.alerts import RUNBOOKS_URL
from otel_aierrors.cli.report.analysis import Report, analyse
from otel_aierrors.cli.report.otlp import read_files
from otel_aierrors.cli.report.page import render_page

__all__ = ["RUNBOOKS_URL", "Report", "analyse", "read_files", "render_page", "write_report"]


def write_report(inputs: Sequence[Path], output: Path, runbooks: str = RUNBOOKS_URL) -> Report:
    """Read ``inputs`` (OTLP JSON lines), write the HTML page to ``output``.

    Args:
        inputs: traces and metrics files, in any order; one file may hold both.
        output: the HTML file to write (its directory is created).
        runbooks: base URL of the runbook links.

    Returns:
        What the page shows.

    Raises:
        OSError: an input cannot be read or the output written.
        ValueError: an input is not OTLP JSON lines.
    """
    report = analyse(read_files(inputs))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_page(report, [path.name for path in inputs], runbooks), encoding="utf-8")
    return report
