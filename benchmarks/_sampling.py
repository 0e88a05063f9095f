"""Production-shape sampling: the real ratio sampler, fed trace ids that make it deterministic.

Owns the sampler of the sampled variants and the trace ids it sees. Every sampled
worker, whatever it instruments, uses ``ParentBased(TraceIdRatioBased(ratio))``, the
sampler users configure. Its decision depends only on the low 64 bits of the root span's
trace id, so random ids would sample a random number of calls per round (200 calls at
10 % give 20 ± 4), and that noise would not be the same for the two workers being
compared. ``BlockIdGenerator`` removes it without touching the sampler: in every block
of ``1 / ratio`` consecutive trace ids exactly one falls under the sampler's bound, at a
seeded position. ``reset()`` at the start of a round makes every worker see the same ids
in the same order, so the same calls of a round are sampled in every variant.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased

__all__ = ["BlockIdGenerator", "sampled_pipeline"]

_LOW_64 = 1 << 64
#: Trace ids per cycle: longer than any round, so a round never wraps.
_CYCLE = 10_000


class BlockIdGenerator(IdGenerator):
    """Trace ids in blocks of ``round(1 / ratio)``, exactly one per block sampled.

    Span ids stay random (they do not take part in sampling). The ids come from a
    precomputed cycle, so generating one costs less than the default generator's
    ``random.getrandbits(128)``; the sampler still does all of its own work.
    """

    def __init__(self, ratio: float, seed: int = 16) -> None:
        rng = random.Random(seed)
        block = max(1, round(1 / ratio))
        bound = TraceIdRatioBased.get_bound_for_rate(ratio)
        ids: list[int] = []
        while len(ids) < _CYCLE:
            chosen = rng.randrange(block)
            for position in range(block):
                low = rng.randrange(1, bound) if position == chosen else rng.randrange(bound, _LOW_64)
                ids.append((rng.getrandbits(64) << 64) | low)
        self._ids = tuple(ids)
        self._spans = RandomIdGenerator()
        self._next: Iterator[int] = itertools.cycle(self._ids)

    def reset(self) -> None:
        """Start the id sequence again (called at the start of every timed round)."""
        self._next = itertools.cycle(self._ids)

    def generate_trace_id(self) -> int:
        return next(self._next)

    def generate_span_id(self) -> int:
        return self._spans.generate_span_id()

    def is_trace_id_random(self) -> bool:
        return True


def sampled_pipeline(ratio: float) -> tuple[Sampler, BlockIdGenerator]:
    """The sampler users configure and the id generator that makes it repeatable."""
    return ParentBased(TraceIdRatioBased(ratio)), BlockIdGenerator(ratio)
