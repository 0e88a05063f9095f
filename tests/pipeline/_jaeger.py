"""The few calls of Jaeger's HTTP query API (the one its UI and Grafana's Jaeger data source use).

Traces come back as Jaeger JSON: spans with ``references`` to their parent and
``tags`` (``key``, ``type``, ``value``); :class:`Span` flattens the tags into a
dict. Hand-written on urllib: no maintained Python client for this API exists.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    tags: dict[str, Any]

    @classmethod
    def from_json(cls, span: dict[str, Any]) -> Span:
        parents = [ref["spanID"] for ref in span.get("references", []) if ref.get("refType") == "CHILD_OF"]
        tags = {tag["key"]: tag["value"] for tag in span.get("tags", [])}
        return cls(span["traceID"], span["spanID"], parents[0] if parents else None, span["operationName"], tags)


Trace = list[Span]


class JaegerAPI:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def _get(self, path: str, **params: str) -> Any:
        url = f"{self.base_url}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read())

    def ready(self) -> bool:
        try:
            self._get("/api/services")
        except (urllib.error.URLError, OSError, ValueError):
            return False
        return True

    def services(self) -> list[str]:
        return list(self._get("/api/services").get("data") or [])

    def find_traces(self, service: str, tags: dict[str, str], limit: int = 100) -> list[Trace]:
        """Traces of ``service`` with a span carrying every one of ``tags`` (the UI's tag search)."""
        data = self._get("/api/traces", service=service, tags=json.dumps(tags), limit=str(limit), lookback="1h").get(
            "data"
        )
        return [[Span.from_json(span) for span in trace["spans"]] for trace in data or []]

    def trace(self, trace_id: str) -> Trace | None:
        try:
            data = self._get(f"/api/traces/{trace_id}").get("data")
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 404:
                return None
            raise
        return [Span.from_json(span) for span in data[0]["spans"]] if data else None
