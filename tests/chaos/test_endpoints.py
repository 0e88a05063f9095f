"""Every route answers ``ok`` with an object the real SDK parses, soft failures included."""

from __future__ import annotations

import http.client
import json

import openai
import pytest

from otel_aierrors.chaos import ChaosServer

from .conftest import MESSAGES, Caller, Tagged

DEFAULT_TEXT = "Hello from the chaos server. Everything is fine this time."
TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]


class TestChat:
    def test_a_plain_completion_echoes_the_model(self, caller: Caller, tagged: Tagged) -> None:
        completion = caller.chat(headers=tagged.headers())

        assert completion.object == "chat.completion"
        assert completion.id.startswith("chatcmpl-")
        assert completion.model == "gpt-4o"
        (choice,) = completion.choices
        assert (choice.message.role, choice.message.content, choice.finish_reason) == (
            "assistant",
            DEFAULT_TEXT,
            "stop",
        )
        assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
        assert tagged.wait(1)[0].model == "gpt-4o"

    @pytest.mark.parametrize(
        ("step", "model"),
        [("ok;snapshot=1", "gpt-4o-2024-08-06"), ("ok;model=my-deployment", "my-deployment")],
    )
    def test_the_model_field_can_differ_from_the_request(
        self, caller: Caller, tagged: Tagged, step: str, model: str
    ) -> None:
        assert caller.chat(headers=tagged.headers(step)).model == model

    @pytest.mark.parametrize(
        ("step", "content", "finish_reason"),
        [
            ("ok;finish_reason=length", DEFAULT_TEXT, "length"),
            ("ok;finish_reason=content_filter", None, "content_filter"),
            ("content_filter;soft=1", None, "content_filter"),
            ("ok;content=", "", "stop"),
            ("ok;content=hello+there", "hello there", "stop"),
        ],
    )
    def test_soft_failures(
        self, caller: Caller, tagged: Tagged, step: str, content: str | None, finish_reason: str
    ) -> None:
        choice = caller.chat(headers=tagged.headers(step)).choices[0]

        assert (choice.message.content, choice.finish_reason) == (content, finish_reason)

    def test_a_refusal_has_null_content(self, caller: Caller, tagged: Tagged) -> None:
        message = caller.chat(headers=tagged.headers("ok;refusal=I+cannot+help")).choices[0].message

        assert (message.content, message.refusal) == (None, "I cannot help")

    def test_tool_calls_have_null_content_and_use_the_requested_tool(self, caller: Caller, tagged: Tagged) -> None:
        choice = caller.chat(headers=tagged.headers("ok;tool_calls=2"), tools=TOOLS).choices[0]

        assert choice.finish_reason == "tool_calls"
        assert choice.message.content is None
        assert [call.function.name for call in choice.message.tool_calls] == ["lookup", "lookup"]
        assert json.loads(choice.message.tool_calls[0].function.arguments) == {"location": "Paris"}

    def test_a_legacy_function_call(self, caller: Caller, tagged: Tagged) -> None:
        choice = caller.chat(headers=tagged.headers("ok;finish_reason=function_call")).choices[0]

        assert choice.message.content is None
        assert choice.message.function_call.name == "get_weather"

    def test_choices_follow_n_and_tokens_are_parameters(self, caller: Caller, tagged: Tagged) -> None:
        requested = caller.chat(headers=tagged.headers(), n=3)
        forced = caller.chat(headers=tagged.headers("ok;n=2;input_tokens=7;output_tokens=11"))

        assert [c.index for c in requested.choices] == [0, 1, 2]
        assert len(forced.choices) == 2
        assert (forced.usage.prompt_tokens, forced.usage.completion_tokens, forced.usage.total_tokens) == (7, 11, 18)

    def test_success_carries_request_id_and_budget_headers(self, caller: Caller, tagged: Tagged) -> None:
        raw = caller(
            "chat.completions.with_raw_response.create",
            model="gpt-4o",
            messages=MESSAGES,
            extra_headers=tagged.headers(),
        )

        headers = raw.headers
        assert headers["x-request-id"].startswith("req_")
        assert headers["x-request-id"] == tagged.wait(1)[0].request_id
        assert headers["x-ratelimit-remaining-requests"] == "9999"
        assert headers["x-ratelimit-reset-requests"] == "6ms"
        assert int(headers["openai-processing-ms"]) >= 1
        assert raw.parse().choices


class TestOtherRoutes:
    def test_legacy_completions(self, caller: Caller, tagged: Tagged) -> None:
        completion = caller(
            "completions.create",
            model="gpt-3.5-turbo-instruct",
            prompt="hi",
            extra_headers=tagged.headers("ok;finish_reason=length"),
        )

        assert completion.object == "text_completion"
        assert (completion.choices[0].text, completion.choices[0].finish_reason) == (DEFAULT_TEXT, "length")
        assert completion.usage.total_tokens > 0

    def test_embeddings_in_base64_as_the_sdk_asks_by_default(self, caller: Caller, tagged: Tagged) -> None:
        result = caller(
            "embeddings.create", model="text-embedding-3-small", input=["a", "b", "c"], extra_headers=tagged.headers()
        )

        assert [item.index for item in result.data] == [0, 1, 2]
        assert all(
            len(item.embedding) == 8 and all(isinstance(x, float) for x in item.embedding) for item in result.data
        )
        assert result.data[0].embedding != result.data[1].embedding

    def test_embeddings_in_floats_with_dimensions(self, caller: Caller, tagged: Tagged) -> None:
        floats = caller(
            "embeddings.create",
            model="text-embedding-3-small",
            input="a",
            dimensions=16,
            encoding_format="float",
            extra_headers=tagged.headers(),
        )
        packed = caller(
            "embeddings.create",
            model="text-embedding-3-small",
            input="a",
            dimensions=16,
            extra_headers=tagged.headers(),
        )

        assert len(floats.data[0].embedding) == 16
        assert packed.data[0].embedding == pytest.approx(floats.data[0].embedding, abs=1e-6)

    def test_responses_completed(self, caller: Caller, tagged: Tagged) -> None:
        response = caller(
            "responses.create", model="gpt-4o", input="hi", extra_headers=tagged.headers("ok;input_tokens=3")
        )

        assert (response.object, response.status, response.incomplete_details) == ("response", "completed", None)
        assert response.output_text == DEFAULT_TEXT
        assert response.output[0].type == "message"
        assert response.usage.input_tokens == 3 and response.usage.output_tokens > 0

    @pytest.mark.parametrize(
        ("finish_reason", "reason", "text"),
        [("length", "max_output_tokens", DEFAULT_TEXT), ("content_filter", "content_filter", "")],
    )
    def test_responses_incomplete(
        self, caller: Caller, tagged: Tagged, finish_reason: str, reason: str, text: str
    ) -> None:
        response = caller(
            "responses.create",
            model="gpt-4o",
            input="hi",
            extra_headers=tagged.headers(f"ok;finish_reason={finish_reason}"),
        )

        assert response.status == "incomplete"
        assert response.incomplete_details.reason == reason
        assert response.output_text == text

    def test_responses_refusal_and_tool_calls(self, caller: Caller, tagged: Tagged) -> None:
        refused = caller("responses.create", model="gpt-4o", input="hi", extra_headers=tagged.headers("ok;refusal=no"))
        called = caller("responses.create", model="gpt-4o", input="hi", extra_headers=tagged.headers("ok;tool_calls=1"))

        assert refused.output[0].content[0].type == "refusal"
        assert refused.output[0].content[0].refusal == "no"
        assert called.output[0].type == "function_call"
        assert called.output[0].name == "get_weather"

    def test_images_url_b64_and_soft_filter(self, caller: Caller, tagged: Tagged) -> None:
        by_url = caller("images.generate", model="dall-e-3", prompt="a cat", extra_headers=tagged.headers())
        by_b64 = caller(
            "images.generate",
            model="dall-e-3",
            prompt="a cat",
            n=2,
            response_format="b64_json",
            extra_headers=tagged.headers(),
        )
        filtered = caller(
            "images.generate", model="dall-e-3", prompt="a cat", extra_headers=tagged.headers("content_filter;soft=1")
        )

        assert len(by_url.data) == 1 and by_url.data[0].url.startswith(tagged.server.url)
        assert len(by_b64.data) == 2 and by_b64.data[0].b64_json
        assert filtered.data == []

    def test_images_hard_filter(self, caller: Caller, tagged: Tagged) -> None:
        with pytest.raises(openai.BadRequestError):
            caller("images.generate", model="dall-e-3", prompt="a cat", extra_headers=tagged.headers("content_filter"))

    def test_models_list_and_retrieve(self, caller: Caller, tagged: Tagged) -> None:
        listed = caller("models.list", extra_headers=tagged.headers())
        one = caller("models.retrieve", "gpt-4o-mini", extra_headers=tagged.headers())

        assert "gpt-4o" in [model.id for model in listed.data]
        assert (one.id, one.object) == ("gpt-4o-mini", "model")
        with pytest.raises(openai.NotFoundError):
            caller("models.retrieve", "gpt-9", extra_headers=tagged.headers("not_found"))
        assert [r.path for r in tagged.wait(3)] == ["/v1/models", "/v1/models/gpt-4o-mini", "/v1/models/gpt-9"]
        assert tagged.requests()[-1].model == "gpt-9"

    def test_faults_apply_to_get_routes_too(self, caller: Caller, tagged: Tagged) -> None:
        with pytest.raises(openai.RateLimitError):
            caller("models.list", extra_headers=tagged.headers("rate_limit"))


def _raw(server: ChaosServer, method: str, path: str, body: bytes | None = None) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request(method, path, body, {"content-type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_unknown_paths_are_openai_404s(chaos_server: ChaosServer) -> None:
    status, body = _raw(chaos_server, "POST", "/v1/chat/complete", b"{}")
    get_status, _ = _raw(chaos_server, "GET", "/v1/chat/completions")

    assert status == 404 and get_status == 404
    assert body == {
        "error": {
            "message": "Invalid URL (POST /v1/chat/complete)",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }


def test_a_body_that_is_not_json_is_a_400(chaos_server: ChaosServer) -> None:
    status, body = _raw(chaos_server, "POST", "/v1/chat/completions", b"{not json")

    assert status == 400
    assert body["error"]["message"].startswith("We could not parse the JSON body")


def test_a_query_string_and_trailing_slash_are_ignored(chaos_server: ChaosServer) -> None:
    status, body = _raw(chaos_server, "GET", "/v1/models/?limit=2")

    assert status == 200 and body["object"] == "list"
