"""The control endpoint ``/_chaos``: read or change a running server's profile, rates and seed.

``GET /_chaos`` returns the profile, rates, latency, seed and counters;
``POST /_chaos`` with ``{"profile": "outage"}``, ``{"rates": {"rate_limit": 0.2},
"latency": [0.1, 0.5], "default": "ok"}`` or ``{"seed": 7}`` changes them and
returns the new state. A bad body is a 400 naming the problem.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .profiles import Profile

if TYPE_CHECKING:
    from .server import ChaosServer

__all__ = ["control"]


def control(server: ChaosServer, method: str, raw: bytes) -> tuple[int, dict[str, object]]:
    """Serve ``GET /_chaos`` (state) and ``POST /_chaos`` (change); returns status and body."""
    if method == "GET":
        return 200, server.snapshot()
    if method != "POST":
        return 405, {"error": {"message": "use GET or POST on /_chaos", "type": "invalid_request_error"}}
    try:
        payload = json.loads(raw or b"{}")
        if not isinstance(payload, dict):
            raise ValueError("body must be a JSON object")
        _apply(server, payload)
    except ValueError as error:
        return 400, {"error": {"message": f"chaos: {error}", "type": "invalid_request_error"}}
    return 200, server.snapshot()


def _apply(server: ChaosServer, payload: Mapping[str, Any]) -> None:
    seed = payload.get("seed")
    if seed is not None and not isinstance(seed, int):
        raise ValueError("seed must be an integer")
    if "rates" in payload:
        rates = payload["rates"]
        latency = payload.get("latency")
        if not isinstance(rates, dict) or not all(isinstance(v, (int, float)) for v in rates.values()):
            raise ValueError("rates must map step specs to numbers")
        if latency is not None and (not isinstance(latency, list) or len(latency) != 2):
            raise ValueError("latency must be [low, high]")
        profile = Profile.from_rates(
            rates,
            latency=(float(latency[0]), float(latency[1])) if latency else None,
            default=str(payload.get("default", "ok")),
            name=str(payload.get("profile", "custom")),
        )
        server.set_profile(profile, seed=seed)
    elif "profile" in payload:
        server.set_profile(str(payload["profile"]), seed=seed)
    elif seed is not None:
        server.set_profile(server.profile, seed=seed)
