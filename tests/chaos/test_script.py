"""The ``x-chaos-script`` syntax and the typed parameter access faults rely on."""

from __future__ import annotations

import pytest

from otel_aierrors.chaos import SCRIPT_HEADER, TAG_HEADER, script_headers
from otel_aierrors.chaos.script import Params, Step, parse_script, parse_step, step_for_attempt


class TestParse:
    def test_a_step_is_a_name_and_ordered_params(self) -> None:
        assert parse_step("rate_limit;retry_after=0.01;should_retry=false") == Step(
            "rate_limit", (("retry_after", "0.01"), ("should_retry", "false"))
        )

    def test_values_are_form_decoded_and_a_bare_key_means_one(self) -> None:
        step = parse_step(" ok ; content=hello+there%2C+friend ; snapshot ; refusal=a%2Bb ")
        assert step.param_map() == {"content": "hello there, friend", "snapshot": "1", "refusal": "a+b"}

    def test_an_empty_value_is_kept(self) -> None:
        assert parse_step("ok;content=").param_map()["content"] == ""

    def test_a_script_is_comma_separated_and_skips_blanks(self) -> None:
        steps = parse_script("rate_limit;retry_after=0.01, ,rate_limit;retry_after_ms=10,ok")
        assert [s.name for s in steps] == ["rate_limit", "rate_limit", "ok"]

    @pytest.mark.parametrize("text", ["", " , ", ";x=1"])
    def test_empty_scripts_and_names_are_rejected(self, text: str) -> None:
        with pytest.raises(ValueError):
            parse_script(text)

    def test_spec_round_trips(self) -> None:
        step = parse_step("ok;content=a, b+c%2Bd")
        assert parse_step(step.spec) == step

    def test_with_defaults_only_fills_missing_keys(self) -> None:
        step = parse_step("ok;delay=1").with_defaults(delay="2", chunks="3")
        assert step.param_map() == {"delay": "1", "chunks": "3"}


class TestAttempts:
    @pytest.mark.parametrize(("retry_count", "expected"), [(0, "a"), (1, "b"), (2, "c"), (7, "c"), (-1, "a")])
    def test_step_i_answers_retry_i_and_the_last_repeats(self, retry_count: int, expected: str) -> None:
        assert step_for_attempt(parse_script("a,b,c"), retry_count).name == expected

    def test_script_headers_join_steps_and_carry_the_tag(self) -> None:
        assert script_headers("rate_limit", "ok", tag="t1") == {SCRIPT_HEADER: "rate_limit,ok", TAG_HEADER: "t1"}
        assert script_headers("ok") == {SCRIPT_HEADER: "ok"}


class TestParams:
    def test_typed_getters_with_defaults_and_clamping(self) -> None:
        params = Params({"n": "20", "x": "1.5", "flag": "Yes", "off": "0", "name": "b"})
        assert params.integer("n", 1, hi=16) == 16
        assert params.integer("missing", 3) == 3
        assert params.number("x", 0.0, hi=1.0) == 1.0
        assert params.opt_number("missing") is None
        assert params.flag("flag") is True
        assert params.flag("off", True) is False
        assert params.flag("missing") is False
        assert params.choice("name", "a", frozenset({"a", "b"})) == "b"
        assert params.text("missing", "d") == "d"
        assert len(params) == 5
        assert "Params(" in repr(params)

    @pytest.mark.parametrize(
        ("values", "call"),
        [
            ({"n": "x"}, lambda p: p.integer("n", 1)),
            ({"x": "fast"}, lambda p: p.number("x", 0.0)),
            ({"f": "maybe"}, lambda p: p.flag("f")),
            ({"c": "z"}, lambda p: p.choice("c", "a", frozenset({"a"}))),
        ],
    )
    def test_bad_values_name_the_key(self, values: dict[str, str], call) -> None:
        with pytest.raises(ValueError, match=next(iter(values))):
            call(Params(values))
