"""Profiles: named, weighted mixes of faults for demos and for users' own apps.

A script gives one call a fixed story; a profile gives a whole run a climate.
For every attempt without a script the server draws one step from the active
profile with its seeded :class:`random.Random`, so a run is reproducible for a
given seed and request order.

=================  ===================================================================
profile            mix per attempt
=================  ===================================================================
``healthy``        100% ``ok``
``flaky``          10% ``rate_limit`` (``retry-after: 1``), 5% ``server_error``,
                   3% ``overloaded`` (503), 2% ``disconnect``, rest ``ok``
``rate-limited``   40% ``rate_limit`` (``retry-after``, ``retry-after-ms`` or an
                   HTTP-date), the ``ok`` answers show a nearly exhausted budget
``outage``         45% ``upstream`` (502), 25% ``overloaded`` (503),
                   20% ``all_channels_failed`` (503), rest ``ok``
``quota``          100% ``quota`` (429 ``insufficient_quota``)
``slow``           100% ``ok`` after 0.5-2 s of latency
``stream-cuts``    35% ``stream_cut``, 35% ``stream_error`` after 2-3 deltas, rest ``ok``
=================  ===================================================================

:meth:`Profile.from_rates` builds custom mixes, e.g.
``Profile.from_rates({"rate_limit;retry_after=1": 0.2, "server_error": 0.05})``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from .faults import build_fault
from .script import Step, parse_step

__all__ = ["PROFILES", "Profile", "get_profile"]

_OK = Step("ok")


@dataclass(frozen=True)
class Profile:
    """A weighted mix of steps, plus optional latency, drawn once per attempt."""

    name: str
    #: ``(probability, step)`` pairs; their sum is at most 1.
    entries: tuple[tuple[float, Step], ...] = ()
    #: Step used for the remaining probability.
    default: Step = _OK
    #: ``(low, high)`` seconds of latency added to steps that set no ``delay``.
    latency: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        total = sum(rate for rate, _ in self.entries)
        if any(rate < 0 for rate, _ in self.entries) or total > 1.0 + 1e-9:
            raise ValueError(f"profile {self.name!r}: rates must be >= 0 and sum to <= 1, got {total:g}")
        if self.latency is not None and not 0 <= self.latency[0] <= self.latency[1]:
            raise ValueError(f"profile {self.name!r}: latency must be (low, high) with 0 <= low <= high")
        for _, step in (*self.entries, (1.0, self.default)):
            build_fault(step)  # fail now on a typo, not on the first request

    @classmethod
    def from_rates(
        cls,
        rates: Mapping[str, float],
        *,
        latency: tuple[float, float] | None = None,
        default: str = "ok",
        name: str = "custom",
    ) -> Profile:
        """Build a profile from per-step probabilities.

        Args:
            rates: Step spec (``"rate_limit"`` or ``"rate_limit;retry_after=1"``)
                to probability per attempt.
            latency: Optional ``(low, high)`` seconds of uniform latency.
            default: Step spec used for the remaining probability.
            name: Name reported by ``GET /_chaos``.

        Returns:
            The profile.

        Raises:
            ValueError: If rates are negative, sum above 1, or name unknown faults.
        """
        entries = tuple((float(rate), parse_step(spec)) for spec, rate in rates.items())
        return cls(name, entries, parse_step(default), latency)

    def choose(self, rng: random.Random) -> Step:
        """Draw the step for one attempt."""
        draw = rng.random()
        step = self.default
        for rate, candidate in self.entries:
            if draw < rate:
                step = candidate
                break
            draw -= rate
        if self.latency is not None and "delay" not in dict(step.params):
            low, high = self.latency
            step = step.with_defaults(delay=f"{rng.uniform(low, high):.3f}")
        return step

    def rates(self) -> dict[str, float]:
        """Probability of each step spec, the default included (for ``GET /_chaos``)."""
        rates: dict[str, float] = {}
        for rate, step in self.entries:
            rates[step.spec] = rates.get(step.spec, 0.0) + rate
        rest = 1.0 - sum(rate for rate, _ in self.entries)
        if rest > 1e-9:
            rates[self.default.spec] = rates.get(self.default.spec, 0.0) + rest
        return {spec: round(rate, 6) for spec, rate in rates.items()}

    def describe(self) -> dict[str, object]:
        """JSON-ready description."""
        return {"name": self.name, "rates": self.rates(), "latency": list(self.latency) if self.latency else None}


def _profile(
    name: str, rates: Mapping[str, float], *, default: str = "ok", latency: tuple[float, float] | None = None
) -> Profile:
    return Profile.from_rates(rates, name=name, default=default, latency=latency)


#: The named profiles of ``otel-aierrors chaos --profile NAME``.
PROFILES: Mapping[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile("healthy"),
        _profile(
            "flaky",
            {"rate_limit;retry_after=1": 0.10, "server_error": 0.05, "overloaded": 0.03, "disconnect": 0.02},
        ),
        _profile(
            "rate-limited",
            {
                "rate_limit;retry_after=1": 0.15,
                "rate_limit;retry_after_ms=500;remaining_tokens=0;reset_tokens=6m0s": 0.15,
                "rate_limit;retry_after_date=2": 0.10,
            },
            default="ok;remaining_requests=2;remaining_tokens=1200;reset_requests=20;reset_tokens=1.5",
        ),
        _profile("outage", {"upstream": 0.45, "overloaded": 0.25, "all_channels_failed;retry_after=5": 0.20}),
        _profile("quota", {}, default="quota"),
        _profile("slow", {}, latency=(0.5, 2.0)),
        _profile("stream-cuts", {"stream_cut;after=2;chunk_delay=0.05": 0.35, "stream_error;after=3": 0.35}),
    )
}


def get_profile(profile: str | Profile) -> Profile:
    """Return ``profile`` itself or the named profile.

    Raises:
        ValueError: For an unknown name, listing the known ones.
    """
    if isinstance(profile, Profile):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        raise ValueError(f"unknown chaos profile {profile!r}; known: {', '.join(PROFILES)}") from None
