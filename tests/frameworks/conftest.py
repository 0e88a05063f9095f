"""The framework tests: no network, so LiteLLM reads its bundled model cost map instead of fetching it."""

from __future__ import annotations

import os

# Before litellm is imported (it fetches the map at import time otherwise).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
