"""Grafana dashboards, built with ``grafana-foundation-sdk`` and rendered as JSON for file provisioning.

One dashboard per file, with a fixed ``uid`` (the md5 of its file name, as in
kubernetes-mixin). Every panel has a title, a description and a unit, reads
the Prometheus data source chosen in ``$datasource`` and filters on
``$job`` (service), ``$provider`` (``gen_ai_provider_name``), ``$server``
(``server_address``) and ``$model`` (``gen_ai_request_model``); series link to
their traces in Jaeger (:mod:`.links`).

Modules: :mod:`.panels` (the SDK's panel and query options), :mod:`.selectors`,
:mod:`.links`, :mod:`.variables`, one ``rows_*`` module per group of rows,
:mod:`.overview` (the dashboard).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from . import overview

__all__ = ["DASHBOARDS", "render"]

#: File name to builder (uid, objective) -> dashboard.
DASHBOARDS: dict[str, Callable[[str, float], Dashboard]] = {overview.FILE_NAME: overview.overview}


def uid(file_name: str) -> str:
    """The dashboard's fixed uid: the md5 of its file name."""
    return hashlib.md5(file_name.encode()).hexdigest()


def render(name: str, objective: float) -> str:
    """Return the JSON text of dashboard ``name``."""
    board = DASHBOARDS[name](uid(name), objective).build()
    return json.dumps(board, cls=JSONEncoder, indent=2, ensure_ascii=False) + "\n"
