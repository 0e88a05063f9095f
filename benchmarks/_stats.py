"""Turning rounds into figures: per-round means, paired differences, percentiles.

Owns the one statistical choice of the harness, so it is stated once: a variant's cost is
the difference between its per-call mean in a round and the per-call mean of the bare SDK
*in the same environment and the same round* (the two ran back to back, A B A B). The
median of those paired differences is the headline; their 95th percentile shows how
stable it is. Pairing cancels drift (thermal, noisy neighbours) that hits both alike.
Two variants are put against each other the same way (ours against a baseline revision),
with a distribution-free 95 % interval of the median saying whether their difference
stands out of the round-to-round noise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

__all__ = [
    "Overhead",
    "PairedDifference",
    "differences_us",
    "mean",
    "median",
    "median_interval",
    "overhead",
    "paired_difference",
    "per_replica",
    "percentile",
]


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean; NaN for no values."""
    return sum(values) / len(values) if values else math.nan


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), linearly interpolated; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    """The 50th percentile."""
    return percentile(values, 50)


class Overhead(NamedTuple):
    """What a variant adds to the bare SDK in one scenario, in microseconds per call."""

    #: Median over rounds of the bare SDK's per-call mean.
    bare_us: float
    #: Median over rounds of the variant's per-call mean.
    variant_us: float
    #: Median of the paired per-round differences (variant - bare).
    added_us: float
    #: 95th percentile of the same paired differences.
    added_p95_us: float
    #: ``(bare_us + added_us) / bare_us``: the paired median as a factor, so both agree.
    ratio: float
    #: Rounds that entered the figure.
    rounds: int


def differences_us(variant_means_ns: Sequence[float], bare_means_ns: Sequence[float]) -> list[float]:
    """The paired per-round differences (variant - bare), in µs: rounds are paired by index."""
    return [(variant - bare) / 1000 for variant, bare in zip(variant_means_ns, bare_means_ns, strict=False)]


def overhead(variant_means_ns: Sequence[float], bare_means_ns: Sequence[float]) -> Overhead:
    """Pair rounds by index (both lists hold one per-call mean per round)."""
    pairs = list(zip(variant_means_ns, bare_means_ns, strict=False))
    differences = differences_us(variant_means_ns, bare_means_ns)
    bare_us = median([bare for _, bare in pairs]) / 1000
    variant_us = median([variant for variant, _ in pairs]) / 1000
    added_us = median(differences)
    return Overhead(
        bare_us=bare_us,
        variant_us=variant_us,
        added_us=added_us,
        added_p95_us=percentile(differences, 95),
        ratio=(bare_us + added_us) / bare_us if bare_us else math.nan,
        rounds=len(pairs),
    )


def median_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """A distribution-free confidence interval of the median: two order statistics (sign test).

    The k-th smallest and k-th largest value, with k as large as keeps the chance that the
    median lies outside below ``1 - confidence``. Needs at least 6 values at 95 %; with
    fewer, ``(nan, nan)``.
    """
    count, ordered = len(values), sorted(values)
    tail, below, k = (1 - confidence) / 2, 0.0, 0
    while k < count and below + math.comb(count, k) / 2**count <= tail:
        below += math.comb(count, k) / 2**count
        k += 1
    return (ordered[k - 1], ordered[count - k]) if k else (math.nan, math.nan)


class PairedDifference(NamedTuple):
    """Per-round differences between two variants timed in the same rounds (A - B), in µs."""

    #: Median of the differences.
    median_us: float
    #: 95 % confidence interval of that median (``median_interval``); NaN with too few rounds.
    low_us: float
    high_us: float
    #: Rounds (replicas, when the differences are per-replica medians) in which A was faster.
    faster: int
    rounds: int


def per_replica(differences: Sequence[float], replicas: int) -> list[float]:
    """Round r's difference came from replica r mod ``replicas``: the median of each replica's, in order.

    Rounds of one pair of processes share that pair's bias, so they are not independent
    samples; the replicas are. With one replica (or as many as rounds) the rounds are kept.
    """
    if replicas <= 1:
        return list(differences)
    return [median(differences[replica::replicas]) for replica in range(min(replicas, len(differences)))]


def paired_difference(differences: Sequence[float]) -> PairedDifference:
    """Median, its 95 % interval and the rounds A won, from per-round differences in µs."""
    low, high = median_interval(differences)
    return PairedDifference(median(differences), low, high, sum(d < 0 for d in differences), len(differences))
