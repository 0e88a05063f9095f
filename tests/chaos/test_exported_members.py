"""The public surface of ``otel_aierrors.chaos`` is exactly its ``__all__``."""

from __future__ import annotations

import importlib

import otel_aierrors.chaos as chaos

MODULES = ("dialects", "exchange", "faults", "headers", "payloads", "profiles", "script", "server", "streams")


def test_all_names_resolve_and_are_unique() -> None:
    assert len(set(chaos.__all__)) == len(chaos.__all__)
    for name in chaos.__all__:
        assert getattr(chaos, name) is not None, name


def test_the_public_api() -> None:
    assert set(chaos.__all__) == {
        "DIALECTS",
        "FAULTS",
        "PROFILES",
        "RETRY_COUNT_HEADER",
        "SCRIPT_HEADER",
        "TAG_HEADER",
        "ChaosRequest",
        "ChaosServer",
        "Disconnect",
        "Endpoint",
        "ErrorFault",
        "ErrorSpec",
        "Fault",
        "Hang",
        "Outcome",
        "Params",
        "Profile",
        "Reply",
        "RequestRecord",
        "Step",
        "StreamReply",
        "build_fault",
        "get_profile",
        "parse_script",
        "parse_step",
        "render_error",
        "script_headers",
        "serve",
    }


def test_every_module_declares_what_it_exports() -> None:
    for name in MODULES:
        module = importlib.import_module(f"otel_aierrors.chaos.{name}")
        assert module.__doc__, name
        for exported in module.__all__:
            assert hasattr(module, exported), (name, exported)
