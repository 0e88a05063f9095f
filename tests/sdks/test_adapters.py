"""The adapter table against the installed SDKs: what each row relies on is there.

A new release that moves ``request()`` or renames the base-client module fails
here, by name, before any span test does.
"""

from __future__ import annotations

import importlib
import inspect
from importlib.metadata import version

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from otel_aierrors._sdks.adapters import ADAPTERS, SdkAdapter
from otel_aierrors._sdks.stainless import operation_of
from otel_aierrors.package import _instruments_any


def test_the_declared_dependencies_are_the_adapter_rows() -> None:
    assert _instruments_any == tuple(adapter.requirement for adapter in ADAPTERS)


@pytest.mark.parametrize("adapter", ADAPTERS, ids=lambda adapter: adapter.provider)
def test_the_installed_release_has_what_the_row_patches(adapter: SdkAdapter) -> None:
    requirement = Requirement(adapter.requirement)
    module = pytest.importorskip(adapter.base_client_module)
    installed = version(requirement.name)
    assert requirement.specifier.contains(installed, prereleases=True)
    for _, dotted, is_async in adapter.row.targets:
        owner_name, method = dotted.split(".")
        request = getattr(getattr(module, owner_name), method)
        assert inspect.iscoroutinefunction(inspect.unwrap(request)) is is_async
        assert list(inspect.signature(request).parameters)[:3] == ["self", "cast_to", "options"]
        assert "stream" in inspect.signature(request).parameters
    # anthropic's own call span, and the function that starts it, came with 2.0.
    for patch_module, function, _ in adapter.row.extra_patches:
        if Version(installed) >= Version("2"):
            assert callable(getattr(importlib.import_module(patch_module), function))


@pytest.mark.parametrize(
    "url",
    [
        "/v1/chat/completions",  # together, cerebras, fireworks with a base URL of one's own
        "/openai/v1/chat/completions",  # groq
        "https://api.fireworks.ai/inference/v1/chat/completions",  # fireworks' hosted API
        "/v1/messages",  # anthropic
    ],
)
def test_each_sdks_chat_path_is_the_chat_operation(url: str) -> None:
    assert operation_of(url) == "chat"


def test_anthropic_clients_of_other_clouds_keep_their_provider_name() -> None:
    anthropic = pytest.importorskip("anthropic")
    row = next(adapter for adapter in ADAPTERS if adapter.base_client_module == "anthropic._base_client")

    assert row.provider_of_class(anthropic.Anthropic) == "anthropic"
    bedrock = anthropic.AnthropicBedrock(aws_access_key="a", aws_secret_key="b", aws_region="us-east-1")
    assert row.provider_of_class(type(bedrock)) == "aws.bedrock"
    vertex = anthropic.AnthropicVertex(region="us-east5", project_id="p", access_token="t")
    assert row.provider_of_class(type(vertex)) == "gcp.vertex_ai"
