"""The demo's workload: short scenarios that each tell one failure story.

Every scenario drives the real ``openai`` SDK against the embedded chaos
server and steers what the server answers through the ``x-chaos-script``
header, so each story (a burst of 429s with ``Retry-After``, a key whose quota
is gone, an upstream outage routed around by a fallback scope, a circuit
breaker that opens, an answer the application rejects, a background job that
fails later, streams that end, break or are filtered, a truncated answer) happens the same way every
time. What varies with ``--seed`` is the order of the scenarios and the
``Retry-After`` values; the same seed gives the same plan (`plan`).

Each scenario runs inside an application span ``demo <name>`` (attribute
``demo.scenario``), so every trace in the output starts with the story it
tells. The workload keeps no score: the report counts the exported telemetry.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

import openai
from opentelemetry.trace import SpanKind, Status, StatusCode

import otel_aierrors
from otel_aierrors.chaos import script_headers

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

__all__ = [
    "SCENARIOS",
    "SCENARIO_ATTRIBUTE",
    "Scenario",
    "Workbench",
    "plan",
    "run_workload",
]

#: Attribute of the application span that wraps each scenario.
SCENARIO_ATTRIBUTE: Final = "demo.scenario"
#: Keys the chaos server tells apart only by value; none is a real credential.
PRIMARY_KEY: Final = "sk-demo-primary-0123456789abcdef"
EXHAUSTED_KEY: Final = "sk-demo-exhausted-0123456789abcdef"
BACKUP_KEY: Final = "sk-demo-backup-0123456789abcdef"
REVOKED_KEY: Final = "sk-demo-revoked-0123456789abcdef"
_MESSAGES: Final[Any] = [{"role": "user", "content": "Say hello."}]
#: Per-attempt timeout: nothing the chaos server is asked for takes longer.
_TIMEOUT: Final = 10.0


@dataclass
class Workbench:
    """What scenarios share: the server's URL, one client per API key, randomness."""

    base_url: str
    #: Seeded per scenario, so a scenario's delays do not depend on what ran before it.
    rng: random.Random
    clients: dict[str, openai.OpenAI]

    @classmethod
    def open(cls, base_url: str) -> Workbench:
        clients = {
            key: openai.OpenAI(base_url=base_url, api_key=key, max_retries=2, timeout=_TIMEOUT)
            for key in (PRIMARY_KEY, EXHAUSTED_KEY, BACKUP_KEY, REVOKED_KEY)
        }
        return cls(base_url, random.Random(0), clients)

    def close(self) -> None:
        for client in self.clients.values():
            client.close()

    @property
    def client(self) -> openai.OpenAI:
        return self.clients[PRIMARY_KEY]

    def delay_ms(self) -> int:
        """A short ``retry-after-ms``, so the SDK's backoff shows without slowing the demo."""
        return self.rng.randrange(50, 301, 10)

    def chat(self, *steps: str, client: openai.OpenAI | None = None, **params: Any) -> Any:
        params.setdefault("model", "gpt-4o-mini")
        params.setdefault("messages", _MESSAGES)
        return (client or self.client).chat.completions.create(extra_headers=script_headers(*steps), **params)


def fallback_scope(name: str) -> contextlib.AbstractContextManager[Any]:
    """``otel_aierrors.fallback_scope`` when this version has it, else a scope that records nothing."""
    scope = getattr(otel_aierrors, "fallback_scope", None)
    return scope(name) if scope is not None else contextlib.nullcontext()


@contextlib.contextmanager
def expected_failure() -> Iterator[None]:
    """Swallow what a failure scenario provokes on purpose: SDK errors and broken streams.

    A stream cut raises the transport's own error on openai 2.x (the SDK does
    not wrap errors raised while iterating), hence the broad ``Exception``.
    """
    with contextlib.suppress(Exception):
        yield


# --- the scenarios -----------------------------------------------------------------
def chat(bench: Workbench) -> None:
    bench.chat("ok", model=bench.rng.choice(("gpt-4o-mini", "gpt-4o")))


def embeddings(bench: Workbench) -> None:
    bench.client.embeddings.create(model="text-embedding-3-small", input="hello", extra_headers=script_headers("ok"))


def responses_api(bench: Workbench) -> None:
    bench.client.responses.create(model="gpt-4o", input="Say hello.", extra_headers=script_headers("ok"))


def stream(bench: Workbench) -> None:
    for _ in bench.chat("ok;chunks=8", stream=True, stream_options={"include_usage": True}):
        pass


def stream_abandoned(bench: Workbench) -> None:
    """The caller stops reading after two chunks and closes the stream."""
    response = bench.chat("ok;chunks=8", stream=True)
    with response:
        for index, _ in enumerate(response):
            if index == 1:
                break


def stream_cut(bench: Workbench) -> None:
    with expected_failure():
        for _ in bench.chat("stream_cut;after=3", stream=True):
            pass


def stream_filtered(bench: Workbench) -> None:
    for _ in bench.chat("ok;finish_reason=content_filter", stream=True):
        pass


def truncated(bench: Workbench) -> None:
    bench.chat("ok;finish_reason=length", max_tokens=16)


def refusal(bench: Workbench) -> None:
    bench.chat("ok;refusal=I can't help with that.")


def rate_limit_burst(bench: Workbench) -> None:
    """Four concurrent calls hit a 429 wall: three get through after the ``Retry-After``, one gives up."""
    scripts = [
        (f"rate_limit;retry_after_ms={bench.delay_ms()}", "ok"),
        (f"rate_limit;retry_after_ms={bench.delay_ms()}", "ok"),
        (f"rate_limit;retry_after_ms={bench.delay_ms()}", f"rate_limit;retry_after_ms={bench.delay_ms()}", "ok"),
        (f"rate_limit;retry_after_ms={bench.delay_ms()}",),
    ]

    async def burst() -> None:
        async with openai.AsyncOpenAI(
            base_url=bench.base_url, api_key=PRIMARY_KEY, max_retries=2, timeout=_TIMEOUT
        ) as client:

            async def one(steps: tuple[str, ...]) -> None:
                with expected_failure():
                    await client.chat.completions.create(
                        model="gpt-4o-mini", messages=_MESSAGES, extra_headers=script_headers(*steps)
                    )

            await asyncio.gather(*(one(steps) for steps in scripts))

    asyncio.run(burst())


def overloaded_recovers(bench: Workbench) -> None:
    bench.chat(f"overloaded;retry_after_ms={bench.delay_ms()}", "ok", model="gpt-4o")


def network_blip(bench: Workbench) -> None:
    """The connection drops once; the SDK's retry gets an answer."""
    bench.chat("disconnect", "ok")


def invalid_key(bench: Workbench) -> None:
    """A revoked key: 401, which the SDK does not retry (and whose echoed key is redacted)."""
    with expected_failure():
        bench.chat("auth", client=bench.clients[REVOKED_KEY])


def quota_key(bench: Workbench) -> None:
    """A key whose quota is gone: the SDK retries the 429 in vain, then the backup key answers.

    The application's own loop, inside ``fallback_scope``: each call is a hop.
    """
    _first_answer(
        bench,
        "quota-key",
        (bench.clients[EXHAUSTED_KEY], "gpt-4o-mini", (f"quota;retry_after_ms={bench.delay_ms()}",)),
        (bench.clients[BACKUP_KEY], "gpt-4o-mini", ("ok",)),
    )


def outage_fallback(bench: Workbench) -> None:
    """The primary model's upstream is down; ``with_fallback`` moves on to a smaller model.

    With a fallback at hand the client retries once instead of twice: the
    fallback, not the SDK's backoff, is the remedy for an outage.
    """
    client = bench.client.with_options(max_retries=1)
    scripts = {
        "gpt-4o": (f"upstream;retry_after_ms={bench.delay_ms()}",),
        "gpt-4o-mini": (f"overloaded;retry_after_ms={bench.delay_ms()}", "ok"),
    }
    with_fallback = getattr(otel_aierrors, "with_fallback", None)
    if with_fallback is None:  # an otel_aierrors without fallback scopes: the same loop, unrecorded
        _first_answer(bench, "answer", *((client, model, steps) for model, steps in scripts.items()))
        return
    with expected_failure():
        with_fallback(
            [(client, model) for model in scripts],
            lambda client, model: bench.chat(*scripts[model], model=model, client=client),
            name="answer",
        )


def breaker_trips(bench: Workbench) -> None:
    """The upstream keeps failing: the application's circuit breaker opens and refuses the next call,
    which a fallback model answers (needs ``pybreaker``, an optional demo dependency; else skipped).
    """
    try:
        import pybreaker
    except ImportError:
        return
    breaker = pybreaker.CircuitBreaker(fail_max=2, reset_timeout=60, name="demo-upstream")
    client = bench.client.with_options(max_retries=0)
    for _ in range(2):  # the second failure trips it
        with expected_failure():
            breaker.call(bench.chat, "upstream", model="gpt-4o", client=client)
    with fallback_scope("breaker"):
        try:
            breaker.call(bench.chat, "ok", model="gpt-4o", client=client)  # refused: circuit_open
        except pybreaker.CircuitBreakerError:
            bench.chat("ok", model="gpt-4o-mini")


def rejected_answer(bench: Workbench) -> None:
    """A 200 with valid JSON of the wrong shape: the application's own check rejects it (``answer_check``)."""
    answer = bench.chat("ok;content=" + quote('{"town": "Paris"}', safe=""))
    with contextlib.suppress(KeyError, ValueError), otel_aierrors.answer_check(answer, reason="schema"):
        json.loads(answer.choices[0].message.content or "{}")["city"]


def background_job(bench: Workbench) -> None:
    """A background response, polled until it fails minutes later (here: at the second poll)."""
    client = bench.client
    job = client.responses.create(
        model="gpt-4o-mini", input="Say hello.", background=True, extra_headers=script_headers("job")
    )
    for step in ("job;state=in_progress", "job;state=failed;code=server_error"):
        client.responses.retrieve(job.id, extra_headers=script_headers(step))


def gateway_substitution(bench: Workbench) -> None:
    """A gateway quietly answers with another model than the one asked for."""
    bench.chat("ok;model=gpt-4o-mini", model="gpt-4o")


Hop = tuple[openai.OpenAI, str, tuple[str, ...]]


def _first_answer(bench: Workbench, scope: str, *hops: Hop) -> None:
    """Try each (client, model, script) in turn inside a fallback scope; stop at the first answer."""
    with fallback_scope(scope):
        for client, model, steps in hops:
            with expected_failure():
                bench.chat(*steps, model=model, client=client)
                return


@dataclass(frozen=True)
class Scenario:
    """One story the demo tells, and how often it is told per round."""

    name: str
    run: Callable[[Workbench], None]
    #: Times per round; normal traffic outweighs each failure.
    weight: int = 1


SCENARIOS: Final = (
    Scenario("chat", chat, weight=5),
    Scenario("embeddings", embeddings, weight=2),
    Scenario("responses", responses_api),
    Scenario("stream", stream, weight=2),
    Scenario("stream_abandoned", stream_abandoned),
    Scenario("stream_cut", stream_cut),
    Scenario("stream_filtered", stream_filtered),
    Scenario("truncated", truncated),
    Scenario("refusal", refusal),
    Scenario("rate_limit_burst", rate_limit_burst),
    Scenario("overloaded_recovers", overloaded_recovers),
    Scenario("network_blip", network_blip),
    Scenario("invalid_key", invalid_key),
    Scenario("quota_key", quota_key),
    Scenario("outage_fallback", outage_fallback),
    Scenario("gateway_substitution", gateway_substitution),
    Scenario("breaker_trips", breaker_trips),
    Scenario("rejected_answer", rejected_answer),
    Scenario("background_job", background_job),
)


def plan(seed: int, scenarios: tuple[Scenario, ...] = SCENARIOS) -> Iterator[Scenario]:
    """The endless, seeded order of scenarios.

    The first round tells every story once, so even a short run shows each
    failure; later rounds follow the weights.
    """
    rng = random.Random(seed)
    first = list(scenarios)
    rng.shuffle(first)
    yield from first
    deck = [scenario for scenario in scenarios for _ in range(scenario.weight)]
    while True:
        rng.shuffle(deck)
        yield from deck


#: Called before each scenario with its 0-based index and name.
ProgressHook = Callable[[int, str], None]


def run_workload(
    base_url: str,
    tracer: Tracer,
    *,
    duration: float,
    seed: int,
    scenarios: int | None = None,
    on_scenario: ProgressHook | None = None,
    clock: Callable[[], float] = time.monotonic,
    extra: tuple[Scenario, ...] = (),
) -> int:
    """Run scenarios in `plan` order until ``duration`` seconds have passed.

    The scenario under way when time runs out finishes; none starts after.
    With ``scenarios``, exactly that many run and ``duration`` is ignored, so a
    loaded machine tells the same stories as an idle one. ``extra`` stories
    (``--litellm``'s) join `SCENARIOS` in the plan; without them the plan is the default one.

    Returns:
        The number of scenarios run.
    """
    bench = Workbench.open(base_url)
    deadline = clock() + duration
    index = 0
    try:
        for scenario in plan(seed, SCENARIOS + extra):
            if index == scenarios or (scenarios is None and clock() >= deadline):
                break
            if on_scenario is not None:
                on_scenario(index, scenario.name)
            bench.rng = random.Random(f"{seed}:{index}")
            with tracer.start_as_current_span(
                f"demo {scenario.name}",
                kind=SpanKind.INTERNAL,
                attributes={SCENARIO_ATTRIBUTE: scenario.name, "demo.index": index},
                record_exception=False,
                set_status_on_exception=False,
            ) as span:
                try:
                    scenario.run(bench)
                except Exception as error:  # an unplanned failure: shown in the trace, the demo goes on
                    span.set_status(Status(StatusCode.ERROR, f"unexpected {type(error).__name__}: {error}"))
            index += 1
    finally:
        bench.close()
    return index
