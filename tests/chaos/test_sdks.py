"""Every known endpoint answers under any path prefix, so each OpenAI-compatible SDK works unchanged.

One smoke test per vendor SDK (a 429 then a 200, through the SDK's own retry),
skipped with the reason when the package is not installed.
"""

from __future__ import annotations

import importlib
from typing import Any

import openai
import pytest

from otel_aierrors.chaos import ChaosServer

from .conftest import API_KEY, MESSAGES, Tagged


@pytest.mark.parametrize("prefix", ["/v1", "/openai/v1", "/inference/v1", "", "/some/gateway/v1"])
def test_every_endpoint_answers_under_any_prefix(chaos_server: ChaosServer, tagged: Tagged, prefix: str) -> None:
    base_url = chaos_server.url + prefix
    headers = tagged.headers()
    with openai.OpenAI(base_url=base_url, api_key=API_KEY, max_retries=0, timeout=5.0) as client:
        chat = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, extra_headers=headers)
        text = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="hi", extra_headers=headers)
        vectors = client.embeddings.create(model="text-embedding-3-small", input="hi", extra_headers=headers)
        response = client.responses.create(model="gpt-4o", input="hi", extra_headers=headers)
        image = client.images.generate(model="dall-e-3", prompt="a cat", extra_headers=headers)
        models = client.models.list(extra_headers=headers)
        model = client.models.retrieve("gpt-4o", extra_headers=headers)

    assert chat.choices[0].message.content and text.choices[0].text
    assert vectors.data[0].embedding and response.status == "completed" and image.data
    assert [m.id for m in models.data][:1] == ["gpt-4o"] and model.id == "gpt-4o"
    records = tagged.wait(7)
    assert {(r.fault, r.status) for r in records} == {("ok", 200)}
    assert {r.path.removeprefix(prefix) for r in records} == {
        "/chat/completions",
        "/completions",
        "/embeddings",
        "/responses",
        "/images/generations",
        "/models",
        "/models/gpt-4o",
    }


def _sdk(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as error:  # pragma: no cover - depends on the environment
        pytest.skip(f"{module} is not installed ({error}); pip install it to run this smoke test")


#: (module, client class, path prefix the server sees, base_url suffix that yields it).
SDKS = [
    ("groq", "Groq", "/openai/v1", ""),
    ("together", "Together", "/v1", ""),
    ("cerebras.cloud.sdk", "Cerebras", "/v1", ""),
    ("fireworks", "Fireworks", "/inference/v1", "/inference"),
]


@pytest.mark.parametrize(("module", "client_class", "prefix", "suffix"), SDKS, ids=[s[0] for s in SDKS])
def test_a_vendor_sdk_retries_a_429_then_gets_its_answer(
    chaos_server: ChaosServer, tagged: Tagged, module: str, client_class: str, prefix: str, suffix: str
) -> None:
    sdk = _sdk(module)
    options: dict[str, Any] = {"base_url": chaos_server.url + suffix, "api_key": API_KEY, "max_retries": 2}
    with getattr(sdk, client_class)(**options) as client:
        reply = client.chat.completions.create(
            model="llama-3.3-70b",
            messages=MESSAGES,
            extra_headers=tagged.headers("rate_limit;retry_after_ms=1", "ok"),
        )

    assert reply.choices[0].message.content == "Hello from the chaos server. Everything is fine this time."
    assert reply.model == "llama-3.3-70b"
    records = tagged.wait(2)
    assert [(r.path, r.status, r.retry_count) for r in records] == [
        (f"{prefix}/chat/completions", 429, 0),
        (f"{prefix}/chat/completions", 200, 1),
    ]
