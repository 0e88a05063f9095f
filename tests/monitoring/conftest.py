"""Monitoring assets: rule files, dashboards, collector and compose configuration.

Needs ``promtool``, ``prometheus`` and ``amtool`` on PATH (Debian packages
``prometheus`` and ``prometheus-alertmanager``); the tests fail, never skip,
without them. The end-to-end test is marked ``e2e``.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: end-to-end test with a real Prometheus server and the instrumented openai SDK"
    )
