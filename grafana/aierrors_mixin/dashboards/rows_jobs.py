"""Row *Jobs that end later*: background responses, videos and batches, by the status they ended in."""

from __future__ import annotations

from .links import call_links, label
from .panels import Query, timeseries_panel
from .rows import Row
from .selectors import BY, RATE, WHERE, sel

__all__ = ["jobs_row"]

JOBS = "aierrors_jobs_total"


def jobs_row() -> Row:
    return Row(
        "Jobs that end later",
        [
            timeseries_panel(
                "Jobs by terminal status",
                "Background responses, videos and batches per second by the status a poll saw them end in "
                "(completed, failed, cancelled, expired, incomplete), on the model of the call that created them. "
                "Failed ones are also errors of the poll that saw them (class from their code, else job_failed).",
                "cps",
                [
                    Query(
                        f"sum by ({BY}, aierrors_job_kind, aierrors_job_status) (rate({JOBS}{sel()}[{RATE}]))",
                        "{{aierrors_job_kind}} {{aierrors_job_status}} · " + WHERE,
                    )
                ],
                call_links(aierrors__job__kind=label("aierrors_job_kind")),
                stack=True,
            ),
        ],
    )
