"""Fixtures shared by the framework tests."""

from __future__ import annotations

import os

# LiteLLM fetches its model cost map from the internet on import unless told to use its local copy.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
