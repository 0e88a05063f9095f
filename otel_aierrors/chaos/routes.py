"""Routing: which endpoint a method and path name, under any path prefix.

The generated SDKs differ only in the prefix before the endpoint path:
``openai``, ``anthropic``, ``together`` and ``cerebras`` use ``/v1/...``,
``groq`` ``/openai/v1/...``, ``fireworks`` ``/inference/v1/...``. So a route is
matched on the end of the path: every known endpoint answers under any prefix
(``/v1/chat/completions``, ``/openai/v1/chat/completions``,
``/chat/completions``), and anything else is OpenAI's 404 ``Invalid URL``.
"""

from __future__ import annotations

from .exchange import Endpoint

__all__ = ["CONTROL_PATH", "route"]

#: The control endpoint (``GET`` / ``POST``), not an API route.
CONTROL_PATH = "/_chaos"

#: ``(method, path suffix, endpoint)``, longest suffixes first (``/chat/completions``
#: before ``/completions``).
_ROUTES: tuple[tuple[str, str, Endpoint], ...] = (
    ("POST", "/chat/completions", Endpoint.CHAT),
    ("POST", "/images/generations", Endpoint.IMAGES),
    ("POST", "/completions", Endpoint.COMPLETIONS),
    ("POST", "/embeddings", Endpoint.EMBEDDINGS),
    ("POST", "/responses", Endpoint.RESPONSES),
    ("POST", "/videos", Endpoint.VIDEOS),
    ("POST", "/batches", Endpoint.BATCHES),
    ("POST", "/messages", Endpoint.MESSAGES),
    ("GET", "/models", Endpoint.MODELS),
)
_MODEL = "/models/"
#: ``GET .../{collection}/{id}`` of a job.
_JOBS: tuple[tuple[str, Endpoint], ...] = (
    ("/responses/", Endpoint.RESPONSE),
    ("/videos/", Endpoint.VIDEO),
    ("/batches/", Endpoint.BATCH),
)


def route(method: str, path: str) -> tuple[Endpoint, str | None]:
    """Return the endpoint of ``method path`` and, for ``GET .../models/{id}`` and a job's ``GET``, the id.

    Args:
        method: HTTP method, upper case.
        path: Path without the query string or a trailing slash.
    """
    for verb, suffix, endpoint in _ROUTES:
        if method == verb and path.endswith(suffix):
            return endpoint, None
    if method == "GET":
        _, found, model = path.partition(_MODEL)
        if found and model:
            return Endpoint.MODEL, model
        for collection, endpoint in _JOBS:
            _, found, job_id = path.rpartition(collection)
            if found and job_id and "/" not in job_id:
                return endpoint, job_id
    return Endpoint.UNKNOWN, None
