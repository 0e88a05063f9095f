"""Jobs that end later: a background Response, a video, a batch, followed from the call that created it.

Creating such a job answers 200 at once (``queued``, ``validating``); whether it
worked shows minutes later, in a poll (``responses.retrieve``,
``videos.retrieve``, ``batches.retrieve``). `JobTracker` remembers each job by
its id when a call first sees it unfinished, with that call's span context,
its metric attributes and the time; the poll that sees it reach a terminal
status then:

- is linked to the creating call's span;
- counts the job on ``aierrors.jobs`` and its time from creation on
  ``aierrors.job.duration``, by kind and terminal status, under the creating
  call's attributes (its model: a poll names none);
- gives the poll call its outcome: ``error`` for ``failed`` (the class from
  the job's error code, else ``job_failed``), ``expired`` and ``cancelled``
  as their own outcomes.

A job is counted once: later polls of a job already seen terminal do not fail
again. A job first seen terminal (created before ``instrument()`` or by
another process) is counted then, without a duration. A job whose polls stop
before a terminal status is never counted, failed or otherwise. The map is
bounded (`MAX_JOBS`, the oldest dropped first) and entries expire after
`JOB_TTL` seconds (a batch's completion window is 24 hours).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, NamedTuple, Protocol

from otel_aierrors import _names as n

if TYPE_CHECKING:
    from opentelemetry.metrics import Meter
    from opentelemetry.trace import Span, SpanContext
    from opentelemetry.util.types import AttributeValue

    from otel_aierrors._results import ResponseSummary
    from otel_aierrors._target import CallSeries

    #: `otel_aierrors._recording.Attributes`, not imported: that module is above this one.
    Attributes = dict[str, AttributeValue]

__all__ = ["JOB_TTL", "MAX_JOBS", "TERMINAL_STATUSES", "JobCall", "JobTracker", "JobVerdict"]

#: Jobs followed at once; beyond, the oldest is forgotten (and never counted).
MAX_JOBS: Final = 10_000
#: Seconds a job is followed after its creation (a batch may take 24 hours).
JOB_TTL: Final = 48 * 3600.0
#: Statuses after which a job changes no more, over the three kinds.
TERMINAL_STATUSES: Final = frozenset({"completed", "failed", "cancelled", "expired", "incomplete"})
#: Every status the three kinds have; anything else is ``_other`` on metrics.
_KNOWN_STATUSES: Final = TERMINAL_STATUSES | {
    "queued",
    "in_progress",
    "validating",
    "finalizing",
    "cancelling",
}
_OUTCOMES: Final = {"expired": n.OUTCOME_EXPIRED, "cancelled": n.OUTCOME_CANCELLED}
#: From a few seconds (a short response) to a day and more (a batch).
JOB_DURATION_BUCKETS: Final = (
    1.0,
    5.0,
    15.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    1800.0,
    3600.0,
    7200.0,
    21600.0,
    86400.0,
)


class JobCall(Protocol):
    """What a job's tracking reads of the call that saw it (`otel_aierrors._call.CallRecord` is one).

    A protocol: this module is below the call record, which hands itself over.
    """

    @property
    def span(self) -> Span: ...
    @property
    def series(self) -> CallSeries: ...


class _Job(NamedTuple):
    #: The creating call's span context, for the link.
    created_by: SpanContext
    #: The creating call's metric attributes (its model, address, provider).
    attributes: Attributes
    created_at: float
    #: Whether a poll saw it terminal (and it was counted).
    done: bool = False


class JobVerdict(NamedTuple):
    """What a job's status means for the call that saw it."""

    #: Span attributes of the call (kind, id, status, failed requests).
    attributes: Attributes
    #: The call's outcome when the status decides it (``expired``, ``cancelled``), else None.
    outcome: str | None
    #: A poll of a job already counted terminal: its failure is not the call's own again.
    repeat: bool
    #: The creating call's span, to link the poll that saw the terminal status to.
    created_by: SpanContext | None


class JobTracker:
    """The jobs in flight of one instrumentation, and the metrics of those that ended."""

    def __init__(
        self,
        meter: Meter,
        *,
        max_jobs: int = MAX_JOBS,
        ttl: float = JOB_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._jobs: OrderedDict[str, _Job] = OrderedDict()
        self._lock = threading.Lock()
        self._max_jobs = max_jobs
        self._ttl = ttl
        self._clock = clock
        self._count = meter.create_counter(
            n.METRIC_JOBS, unit="{job}", description="Jobs that ended (background responses, videos, batches)."
        )
        self._duration = meter.create_histogram(
            n.METRIC_JOB_DURATION,
            unit="s",
            description="Time from a job's creation to its terminal status.",
            explicit_bucket_boundaries_advisory=JOB_DURATION_BUCKETS,
        )

    def observe(self, call: JobCall, summary: ResponseSummary) -> JobVerdict | None:
        """A call's response showed a job; None when it names no job id."""
        kind, job_id, status = summary.job_kind, summary.job_id, summary.job_status or ""
        if kind is None or not job_id:
            return None
        attributes: Attributes = {n.JOB_KIND: kind, n.JOB_ID: job_id, n.JOB_STATUS: status}
        if summary.job_failed_requests:
            attributes[n.JOB_FAILED_REQUESTS] = summary.job_failed_requests
        now = self._clock()
        terminal = status in TERMINAL_STATUSES
        with self._lock:
            self._expire(now)
            job = self._jobs.get(job_id)
            if not terminal:
                if job is None:
                    self._remember(job_id, _Job(call.span.get_span_context(), dict(call.series.base), now))
                return JobVerdict(attributes, None, False, None)
            if job is not None and job.done:
                return JobVerdict(attributes, None, True, None)
            if job is None:
                self._remember(job_id, _Job(call.span.get_span_context(), dict(call.series.base), now, done=True))
            else:
                self._jobs[job_id] = job._replace(done=True)
        metric: dict[str, AttributeValue] = dict(job.attributes if job is not None else call.series.base)
        metric[n.JOB_KIND] = kind
        metric[n.JOB_STATUS] = status if status in _KNOWN_STATUSES else n.OVERFLOW_VALUE
        self._count.add(1, metric)
        if job is not None:
            self._duration.record(max(0.0, now - job.created_at), metric)
        created_by = job.created_by if job is not None else None
        return JobVerdict(attributes, _OUTCOMES.get(status), False, created_by)

    def _remember(self, job_id: str, job: _Job) -> None:
        self._jobs[job_id] = job
        while len(self._jobs) > self._max_jobs:
            self._jobs.popitem(last=False)

    def _expire(self, now: float) -> None:
        while self._jobs:
            oldest = next(iter(self._jobs.values()))
            if now - oldest.created_at <= self._ttl:
                return
            self._jobs.popitem(last=False)
