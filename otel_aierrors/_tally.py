"""Counters kept in this process and reported through an observable counter at each collection.

An ``add`` on the OpenTelemetry SDK's synchronous ``Counter`` cleans, copies and
sort-hashes its attributes on every call (about 5 us in SDK 1.45, most of what a
counter costs us per call). The calls and attempts we count, and the seconds of
backoff before retries we add up, come from a small, bounded set of attribute sets,
so counting them here costs one dict lookup under a lock, and the SDK sees each
series once per collection instead of once per call.
What is exported is the same monotonic sum: only its exemplars are gone
(observable instruments have none; the duration histograms keep theirs).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Final

from opentelemetry.metrics import CallbackOptions, Meter, Observation

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

__all__ = ["MAX_TALLY_SERIES", "OVERFLOW_ATTRIBUTES", "Tally", "tally"]

#: Series one tally keeps; counts of further attribute sets go to the overflow series,
#: as the SDK's own cardinality limit (2,000 per instrument by default) would send them.
MAX_TALLY_SERIES: Final = 2000
#: The SDK's overflow series (``otel.metric.overflow``), which its cardinality limit uses too.
OVERFLOW_ATTRIBUTES: Final[Mapping[str, AttributeValue]] = {"otel.metric.overflow": True}
_OVERFLOW_KEY: Final = (("otel.metric.overflow", True),)


class _Series:
    """One attribute set's count (mutable: incremented in place under the tally's lock)."""

    __slots__ = ("attributes", "count")

    def __init__(self, attributes: Mapping[str, AttributeValue], count: float) -> None:
        self.attributes = attributes
        self.count = count


#: The tallies made on each meter, by instrument name. A meter keeps the first observable
#: instrument of a name and ignores the callbacks of a later one, so an instrumentation made
#: again on the same meter (``uninstrument()`` then ``instrument()``) must count on the tally
#: the meter reports. Keyed weakly: the entry goes with the meter.
_TALLIES: Final[weakref.WeakKeyDictionary[Meter, dict[str, Tally]]] = weakref.WeakKeyDictionary()
_TALLIES_LOCK: Final = threading.Lock()


def tally(meter: Meter, name: str, unit: str, description: str) -> Tally:
    """The tally reported as the observable counter ``name`` of ``meter``, made on first use."""
    with _TALLIES_LOCK:
        by_name = _TALLIES.setdefault(meter, {})
        found = by_name.get(name)
        if found is None:
            found = by_name[name] = Tally(meter, name, unit, description)
        return found


class Tally:
    """A monotonic sum (of events, or of seconds), one per distinct attribute set (made by `tally`)."""

    def __init__(self, meter: Meter, name: str, unit: str, description: str) -> None:
        #: Attribute items, in the order the caller built them -> that set's count.
        self._counts: dict[tuple[tuple[str, AttributeValue], ...], _Series] = {}
        self._lock = threading.Lock()
        meter.create_observable_counter(name, callbacks=[self._observe], unit=unit, description=description)
        # A lock another thread held when the process forked stays held in the child forever.
        reference = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _renew_lock(reference))

    def add(self, attributes: Mapping[str, AttributeValue], amount: float = 1) -> None:
        """Add ``amount`` (one event by default; never negative) to the series of ``attributes``,
        which the tally keeps: the caller must not change them."""
        key = tuple(attributes.items())
        with self._lock:
            series = self._counts.get(key)
            if series is not None:
                series.count += amount
            elif len(self._counts) < MAX_TALLY_SERIES:
                self._counts[key] = _Series(attributes, amount)
            else:
                self._counts.setdefault(_OVERFLOW_KEY, _Series(OVERFLOW_ATTRIBUTES, 0)).count += amount

    def _observe(self, _options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            entries = [(series.attributes, series.count) for series in self._counts.values()]
        # The same set built in another order is another key here but one series to the SDK,
        # which keeps only the last observation of a series: add them up (at collection, not per call).
        totals: dict[frozenset[tuple[str, AttributeValue]], _Series] = {}
        for attributes, count in entries:
            same = frozenset(attributes.items())
            total = totals.get(same)
            if total is None:
                totals[same] = _Series(attributes, count)
            else:
                total.count += count
        return [Observation(total.count, dict(total.attributes)) for total in totals.values()]


def _renew_lock(reference: weakref.ref[Tally]) -> None:
    tally = reference()
    if tally is not None:
        tally._lock = threading.Lock()
