"""Fault scripts: the ``x-chaos-script`` header and the steps it is made of.

A script is a comma-separated list of steps, one per attempt of the same call::

    x-chaos-script: rate_limit;retry_after=0.01,rate_limit;retry_after_ms=10,ok

Step *i* answers the request whose ``x-stainless-retry-count`` header is *i*
(the openai SDK sends 0, 1, 2... on its own retries); the last step repeats.
With an ``x-chaos-sequence: key`` header, step *i* answers instead the *i*-th
request the server has seen with that key (0 for the first): the re-asks of a
framework (Instructor, pydantic-ai), which the SDK sends as new calls with the
same headers and a retry count of 0, then get one step each, e.g. an answer of
the wrong shape and then a good one.
A step is a fault name followed by ``;key=value`` parameters. Values are
form-decoded, so ``content=hello+there`` carries a space, ``content=a%2Cb`` a
comma and ``%2B`` a plus sign; a bare ``;key`` means ``key=1``.

This module owns only the syntax. :class:`Param` declares one parameter (its
kind, default and one-line doc, as the fault table lists it) and
:class:`Params` gives the faults typed, validated access to the raw strings,
so that a typo in a test's script is a clear 400 from the server instead of a
silently ignored parameter.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote_plus

__all__ = [
    "RETRY_COUNT_HEADER",
    "SCRIPT_HEADER",
    "SEQUENCE_HEADER",
    "TAG_HEADER",
    "Param",
    "Params",
    "Step",
    "parse_script",
    "parse_step",
    "script_headers",
    "step_for_attempt",
]

#: Request header that carries a script; it overrides the server's profile.
SCRIPT_HEADER = "x-chaos-script"
#: Request header the openai SDK sets on every attempt (0 for the first).
RETRY_COUNT_HEADER = "x-stainless-retry-count"
#: Optional request header copied into the server's request records, so a
#: test sharing a session-wide server can find its own requests.
TAG_HEADER = "x-chaos-tag"

#: Optional request header naming a sequence: the n-th request with the same
#: value gets step n of its script, whatever its retry count.
SEQUENCE_HEADER = "x-chaos-sequence"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class Params(Mapping[str, str]):
    """The raw ``key=value`` strings of one step, with typed getters.

    Getters raise :class:`ValueError` naming the key and the bad value, which
    the server turns into a 400 so the test author sees the mistake.
    """

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values: dict[str, str] = dict(values or {})

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Params({self._values!r})"

    def text(self, key: str, default: str) -> str:
        """Return the value of ``key`` as given, or ``default``."""
        return self._values.get(key, default)

    def opt_text(self, key: str) -> str | None:
        """Return the value of ``key`` as given, or None when absent."""
        return self._values.get(key)

    def number(self, key: str, default: float, *, lo: float = 0.0, hi: float = float("inf")) -> float:
        """Return ``key`` as a float clamped to ``[lo, hi]``, or ``default``."""
        value = self.opt_number(key)
        if value is None:
            return default
        return min(max(value, lo), hi)

    def opt_number(self, key: str) -> float | None:
        """Return ``key`` as a float, or None when absent."""
        raw = self._values.get(key)
        if raw is None:
            return None
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"parameter {key!r} must be a number, got {raw!r}") from None

    def integer(self, key: str, default: int, *, lo: int = 0, hi: int = 1 << 30) -> int:
        """Return ``key`` as an int clamped to ``[lo, hi]``, or ``default``."""
        raw = self._values.get(key)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"parameter {key!r} must be an integer, got {raw!r}") from None
        return min(max(value, lo), hi)

    def flag(self, key: str, default: bool = False) -> bool:
        """Return ``key`` as a boolean (``1/true/yes/on`` or ``0/false/no/off``)."""
        raw = self._values.get(key)
        if raw is None:
            return default
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"parameter {key!r} must be a boolean, got {raw!r}")

    def choice(self, key: str, default: str, choices: frozenset[str]) -> str:
        """Return ``key`` if it is one of ``choices``, else raise; ``default`` when absent."""
        value = self._values.get(key, default)
        if value not in choices:
            raise ValueError(f"parameter {key!r} must be one of {sorted(choices)}, got {value!r}")
        return value


@dataclass(frozen=True)
class Param:
    """One step parameter as the fault table declares it."""

    name: str
    #: The default, as written in a script (``""`` when there is none).
    default: str
    #: One line saying what the parameter does.
    doc: str
    #: ``text`` (any string), ``number``, ``integer``, ``flag`` or ``choice``.
    kind: str = "number"
    #: The allowed values of a ``choice``.
    choices: frozenset[str] = frozenset()

    def check(self, raw: str) -> None:
        """Raise :class:`ValueError` when ``raw`` is not a valid value of this parameter."""
        values = Params({self.name: raw})
        if self.kind == "number":
            values.opt_number(self.name)
        elif self.kind == "integer":
            values.integer(self.name, 0)
        elif self.kind == "flag":
            values.flag(self.name)
        elif self.kind == "choice":
            values.choice(self.name, raw, self.choices)

    def describe(self) -> str:
        """``name=default``: doc (``name``: doc without a default), for listings."""
        values = f"{'|'.join(sorted(self.choices))}" if self.choices else ""
        head = f"{self.name}={self.default}" if self.default else self.name
        return f"{head}: {self.doc}" + (f" ({values})" if values else "")


@dataclass(frozen=True)
class Step:
    """One fault with its parameters: what the server does for one attempt."""

    #: Fault name, a key of :data:`otel_aierrors.chaos.faults.FAULTS`.
    name: str
    #: ``(key, value)`` pairs in the order written.
    params: tuple[tuple[str, str], ...] = ()

    @property
    def spec(self) -> str:
        """The step written back in script syntax (used in logs and records)."""
        parts = [self.name, *(f"{key}={quote(value, safe='')}" for key, value in self.params)]
        return ";".join(parts)

    def with_defaults(self, **defaults: str) -> Step:
        """Return a copy with ``defaults`` added for keys the step does not set."""
        present = {key for key, _ in self.params}
        extra = tuple((key, value) for key, value in defaults.items() if key not in present)
        return Step(self.name, self.params + extra)

    def param_map(self) -> Params:
        """Return the parameters as :class:`Params` (later duplicates win)."""
        return Params(dict(self.params))


def parse_step(text: str) -> Step:
    """Parse one step such as ``rate_limit;retry_after=0.5``.

    Args:
        text: The step, without surrounding commas.

    Returns:
        The parsed step.

    Raises:
        ValueError: If the fault name is empty.
    """
    name, *raw_params = (part.strip() for part in text.split(";"))
    if not name:
        raise ValueError(f"empty fault name in step {text!r}")
    params: list[tuple[str, str]] = []
    for raw in raw_params:
        if not raw:
            continue
        key, sep, value = raw.partition("=")
        params.append((key.strip(), unquote_plus(value.strip()) if sep else "1"))
    return Step(name, tuple(params))


def parse_script(text: str) -> tuple[Step, ...]:
    """Parse a whole ``x-chaos-script`` value into its steps.

    Args:
        text: Comma-separated steps; empty items are skipped.

    Returns:
        The steps, at least one.

    Raises:
        ValueError: If the script holds no step or a step is malformed.
    """
    steps = tuple(parse_step(item) for item in text.split(",") if item.strip())
    if not steps:
        raise ValueError("empty chaos script")
    return steps


def step_for_attempt(steps: tuple[Step, ...], retry_count: int) -> Step:
    """Return the step for attempt ``retry_count``, repeating the last one."""
    return steps[min(max(retry_count, 0), len(steps) - 1)]


def script_headers(*steps: str, tag: str | None = None, sequence: str | None = None) -> dict[str, str]:
    """Build ``extra_headers`` for an SDK call that follows ``steps``.

    Args:
        steps: One step per attempt, e.g. ``"rate_limit;retry_after_ms=1", "ok"``.
        tag: Optional marker copied into the server's request records.
        sequence: Optional key: step *i* then answers the *i*-th request sent
            with this key (re-asks made as new calls), not the *i*-th retry.

    Returns:
        Headers to pass as ``extra_headers=`` to any openai SDK method.
    """
    headers = {SCRIPT_HEADER: ",".join(steps)}
    if tag is not None:
        headers[TAG_HEADER] = tag
    if sequence is not None:
        headers[SEQUENCE_HEADER] = sequence
    return headers
