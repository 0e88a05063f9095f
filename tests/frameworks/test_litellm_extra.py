"""The ``litellm`` extra never admits the two releases that must not be installed (1.82.7, 1.82.8)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: tomli, when installed
    tomllib = pytest.importorskip("tomli")


def test_the_litellm_extra_excludes_1_82_7_and_1_82_8_and_admits_1_110_2() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    (requirement,) = (Requirement(r) for r in pyproject["project"]["optional-dependencies"]["litellm"])
    assert requirement.name == "litellm"
    assert not requirement.specifier.contains("1.82.7")
    assert not requirement.specifier.contains("1.82.8")
    assert requirement.specifier.contains("1.110.2")
    assert requirement.specifier.contains("1.82.6")
