"""The public surface of ``otel_aierrors.chaos`` is small, defined once, and documented."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import otel_aierrors.chaos as chaos


def test_every_exported_name_resolves_and_is_documented_in_the_package_docstring() -> None:
    assert chaos.__doc__ is not None
    assert len(set(chaos.__all__)) == len(chaos.__all__)
    for name in chaos.__all__:
        assert getattr(chaos, name) is not None, name
        assert f"``{name}``" in chaos.__doc__, name


def test_the_package_namespace_holds_nothing_public_beyond_all() -> None:
    public = {
        name
        for name, value in vars(chaos).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert public == set(chaos.__all__)


def test_the_surface_is_the_server_its_scripts_and_profiles() -> None:
    kinds = {name: type(getattr(chaos, name)).__name__ for name in chaos.__all__}
    assert len(kinds) <= 12, kinds
    assert {"ChaosServer", "serve", "script_headers", "Profile", "PROFILES"} <= set(kinds)


def test_every_module_says_what_it_owns_and_is_named_in_the_package_docstring() -> None:
    assert chaos.__doc__ is not None
    for info in pkgutil.iter_modules(chaos.__path__):
        module = importlib.import_module(f"otel_aierrors.chaos.{info.name}")
        assert module.__doc__, info.name
        assert f"chaos.{info.name}`" in chaos.__doc__, info.name
        for exported in module.__all__:
            assert hasattr(module, exported), (info.name, exported)
