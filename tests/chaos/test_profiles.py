"""Profiles draw the advertised mix of faults, and ``/_chaos`` switches them at run time."""

from __future__ import annotations

import http.client
import json
import random
from collections import Counter
from collections.abc import Callable

import pytest

from otel_aierrors.chaos import PROFILES, ChaosServer, Profile, get_profile
from otel_aierrors.chaos.script import parse_step

BODY = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})


class Client:
    """A tiny keep-alive HTTP client that reconnects after a ``disconnect`` fault."""

    def __init__(self, server: ChaosServer) -> None:
        self.server = server
        self.connection: http.client.HTTPConnection | None = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def request(
        self, method: str = "POST", path: str = "/v1/chat/completions", body: str | None = BODY
    ) -> tuple[int | None, dict[str, str], bytes]:
        """Return ``(status, headers, body)``; status None when the server hung up without answering."""
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=5)
        try:
            self.connection.request(method, path, body, {"content-type": "application/json"})
            response = self.connection.getresponse()
            payload = response.read()
        except (http.client.RemoteDisconnected, ConnectionError):
            self.close()
            return None, {}, b""
        headers = {key.lower(): value for key, value in response.getheaders()}
        if response.will_close:
            self.close()
        return response.status, headers, payload

    def control(self, payload: dict | None = None) -> tuple[int, dict]:
        status, _, body = self.request(
            "POST" if payload is not None else "GET", "/_chaos", json.dumps(payload) if payload is not None else None
        )
        assert status is not None
        return status, json.loads(body)


def _mix(server: ChaosServer, count: int) -> Counter[int | None]:
    with Client(server) as client:
        return Counter(client.request()[0] for _ in range(count))


class TestProfileObjects:
    def test_the_named_profiles_exist(self) -> None:
        assert set(PROFILES) == {"healthy", "flaky", "rate-limited", "outage", "quota", "slow", "stream-cuts"}
        assert get_profile("flaky") is PROFILES["flaky"]
        custom = Profile.from_rates({"server_error": 0.5})
        assert get_profile(custom) is custom

    def test_unknown_names_list_the_known_ones(self) -> None:
        with pytest.raises(ValueError, match="healthy"):
            get_profile("chaotic-evil")

    @pytest.mark.parametrize(
        ("rates", "message"),
        [
            ({"server_error": 0.7, "rate_limit": 0.4}, "sum to <= 1"),
            ({"server_error": -0.1}, ">= 0"),
            ({"nonsense": 0.1}, "unknown chaos fault"),
            ({"rate_limit;retry_afterr=1": 0.1}, "does not take"),
        ],
    )
    def test_bad_rates_fail_at_construction(self, rates: dict[str, float], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            Profile.from_rates(rates)

    def test_bad_latency_fails(self) -> None:
        with pytest.raises(ValueError, match="latency"):
            Profile.from_rates({}, latency=(2.0, 1.0))

    def test_draws_follow_the_rates(self) -> None:
        profile = Profile.from_rates({"rate_limit": 0.2, "server_error": 0.05})
        rng = random.Random(3)
        counts = Counter(profile.choose(rng).name for _ in range(20000))

        assert counts["rate_limit"] / 20000 == pytest.approx(0.2, abs=0.015)
        assert counts["server_error"] / 20000 == pytest.approx(0.05, abs=0.01)
        assert counts["ok"] / 20000 == pytest.approx(0.75, abs=0.015)

    def test_same_seed_same_draws(self) -> None:
        profile = PROFILES["flaky"]
        first = [profile.choose(random.Random(9)).spec for _ in range(5)]
        rng_a, rng_b = random.Random(11), random.Random(11)
        assert [profile.choose(rng_a) for _ in range(50)] == [profile.choose(rng_b) for _ in range(50)]
        assert len(set(first)) == 1

    def test_slow_adds_half_to_two_seconds_of_delay(self) -> None:
        rng = random.Random(5)
        delays = [float(PROFILES["slow"].choose(rng).param_map()["delay"]) for _ in range(500)]

        assert min(delays) >= 0.5 and max(delays) <= 2.0
        assert min(delays) < 0.7 and max(delays) > 1.8

    def test_latency_never_overrides_an_explicit_delay(self) -> None:
        profile = Profile.from_rates({"server_error;delay=0.01": 1.0}, latency=(1.0, 2.0))
        assert profile.choose(random.Random(1)).param_map()["delay"] == "0.01"

    def test_stream_cuts_mix(self) -> None:
        rng = random.Random(2)
        counts = Counter(PROFILES["stream-cuts"].choose(rng).name for _ in range(5000))

        assert counts["stream_cut"] / 5000 == pytest.approx(0.35, abs=0.03)
        assert counts["stream_error"] / 5000 == pytest.approx(0.35, abs=0.03)

    def test_rates_describe_the_whole_mix(self) -> None:
        rates = PROFILES["flaky"].rates()
        assert sum(rates.values()) == pytest.approx(1.0)
        assert rates["ok"] == pytest.approx(0.80)
        assert PROFILES["quota"].rates() == {"quota": 1.0}
        assert parse_step(next(iter(rates))).name == "rate_limit"


class TestMixesOverHttp:
    def test_flaky(self, make_server: Callable[..., ChaosServer]) -> None:
        server = make_server(profile="flaky", seed=7)
        counts = _mix(server, 400)

        assert counts[429] / 400 == pytest.approx(0.10, abs=0.04)
        assert counts[500] / 400 == pytest.approx(0.05, abs=0.03)
        assert counts[503] / 400 == pytest.approx(0.03, abs=0.025)
        assert counts[None] / 400 == pytest.approx(0.02, abs=0.02)
        assert counts[200] / 400 == pytest.approx(0.80, abs=0.05)
        faults = Counter(record.fault for record in server.requests)
        assert (faults["rate_limit"], faults["server_error"], faults["overloaded"], faults["disconnect"]) == (
            counts[429],
            counts[500],
            counts[503],
            counts[None],
        )
        assert not any(record.scripted for record in server.requests)

    def test_outage(self, make_server: Callable[..., ChaosServer]) -> None:
        counts = _mix(make_server(profile="outage", seed=1), 300)

        assert (counts[502] + counts[503]) / 300 == pytest.approx(0.90, abs=0.05)
        assert counts[502] / 300 == pytest.approx(0.45, abs=0.08)

    def test_quota_and_healthy(self, make_server: Callable[..., ChaosServer]) -> None:
        assert _mix(make_server(profile="quota"), 50) == Counter({429: 50})
        assert _mix(make_server(profile="healthy"), 50) == Counter({200: 50})

    def test_rate_limited_sends_retry_directives_and_a_low_budget(
        self, make_server: Callable[..., ChaosServer]
    ) -> None:
        server = make_server(profile="rate-limited", seed=3)
        with Client(server) as client:
            answers = [client.request() for _ in range(300)]

        limited = [headers for status, headers, _ in answers if status == 429]
        fine = [headers for status, headers, _ in answers if status == 200]
        assert len(limited) / 300 == pytest.approx(0.40, abs=0.07)
        assert all("retry-after" in h or "retry-after-ms" in h for h in limited)
        assert any(h.get("retry-after", "").endswith("GMT") for h in limited)
        assert any("retry-after-ms" in h for h in limited)
        assert all(h["x-ratelimit-remaining-requests"] == "0" for h in limited)
        assert all(h["x-ratelimit-remaining-requests"] == "2" for h in fine)
        assert all(h["x-ratelimit-reset-tokens"] == "1.5s" for h in fine)


class TestControlEndpoint:
    def test_get_reports_profile_rates_and_counters(self, make_server: Callable[..., ChaosServer]) -> None:
        server = make_server(profile="flaky", seed=5)
        with Client(server) as client:
            client.request()
            status, state = client.control()

        assert status == 200
        assert (state["profile"], state["seed"], state["latency"]) == ("flaky", 5, None)
        assert state["rates"]["server_error"] == pytest.approx(0.05)
        assert state["counters"]["requests"] == 1
        assert state["counters"]["open_connections"] == 1

    def test_post_switches_profile_and_rates(self, make_server: Callable[..., ChaosServer]) -> None:
        server = make_server()
        with Client(server) as client:
            assert client.request()[0] == 200
            status, state = client.control({"profile": "quota"})
            assert (status, state["profile"]) == (200, "quota")
            assert client.request()[0] == 429
            status, state = client.control({"rates": {"upstream": 1.0}, "latency": [0, 0.001], "seed": 2})
            assert (status, state["profile"], state["seed"], state["latency"]) == (200, "custom", 2, [0, 0.001])
            assert client.request()[0] == 502
            assert client.control({"seed": 3})[1]["seed"] == 3

        assert server.profile.name == "custom"
        assert [r.fault for r in server.requests if r.fault != "control"] == ["ok", "quota", "upstream"]

    @pytest.mark.parametrize(
        "payload",
        [
            {"profile": "nope"},
            {"rates": {"server_error": 2}},
            {"rates": "x"},
            {"seed": "x"},
            {"rates": {}, "latency": 3},
        ],
    )
    def test_bad_changes_are_400s_and_change_nothing(
        self, make_server: Callable[..., ChaosServer], payload: dict
    ) -> None:
        server = make_server(profile="healthy")
        with Client(server) as client:
            status, body = client.control(payload)

        assert status == 400
        assert body["error"]["message"].startswith("chaos: ")
        assert server.profile.name == "healthy"

    def test_set_profile_in_process(self, make_server: Callable[..., ChaosServer]) -> None:
        server = make_server()
        server.set_profile(Profile.from_rates({"conflict": 1.0}, name="conflicts"), seed=4)

        assert _mix(server, 5) == Counter({409: 5})
        assert server.snapshot()["profile"] == "conflicts"
