"""Jobs that fail later: background Responses, video jobs and batches, with scripted states.

Each poll of a job is its own request, so the story is told by scripting each
request, like every other fault: the test creates the job (``POST /responses``
with ``background: true``, ``POST /videos``, ``POST /batches``), then polls
(``GET .../{id}``) with ``x-chaos-script: job;state=in_progress`` twice and
``job;state=failed;code=server_error`` the third time. The server keeps no
job: the id comes back from the path, the state from the step.

``job`` parameters: ``state`` (the object's status; by default the kind's
first state at creation, ``completed`` on a poll), ``code`` (the error code of
a ``failed`` job), ``failed`` / ``total`` (a batch's request counts). Without
a script (or with ``ok``) a job endpoint answers its ``completed`` object.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from .answer import Answer, new_id
from .exchange import ChaosRequest, Endpoint, Outcome, Reply, json_bytes
from .responses import response_object
from .rows import BoundFault
from .script import Param

__all__ = ["JOB_ENDPOINTS", "JOB_PARAMS", "job", "job_object"]

#: Routes whose object is a job, and whether the request creates it.
JOB_ENDPOINTS: Mapping[Endpoint, bool] = {
    Endpoint.RESPONSE: False,
    Endpoint.VIDEOS: True,
    Endpoint.VIDEO: False,
    Endpoint.BATCHES: True,
    Endpoint.BATCH: False,
}
JOB_PARAMS: tuple[Param, ...] = (
    Param("state", "", "the job's status (default: its first state at creation, completed on a poll)", "text"),
    Param("code", "", "error code of a failed job (a batch's first error, a video's or response's error)", "text"),
    Param("failed", "0", "a batch's failed requests", "integer"),
    Param("total", "10", "a batch's requests", "integer"),
)
_FIRST_STATE: Mapping[Endpoint, str] = {
    Endpoint.RESPONSES: "queued",
    Endpoint.VIDEOS: "queued",
    Endpoint.BATCHES: "validating",
}


def job(bound: BoundFault, request: ChaosRequest) -> Outcome:
    """200 with the job object of the route, in the scripted state."""
    params = bound.params
    status = params.text("state", "") or _FIRST_STATE.get(request.endpoint, "completed")
    body = job_object(
        request,
        Answer.from_params(params),
        status,
        code=params.text("code", "") or None,
        failed=params.integer("failed", 0, hi=1 << 20),
        total=params.integer("total", 10, hi=1 << 20),
    )
    return Reply(200, json_bytes(body))


def job_object(
    request: ChaosRequest,
    answer: Answer,
    status: str = "completed",
    *,
    code: str | None = None,
    failed: int = 0,
    total: int = 10,
) -> dict[str, object]:
    """The route's job object: a ``response``, a ``video`` or a ``batch``."""
    endpoint, now = request.endpoint, int(time.time())
    error = {"code": code or "server_error", "message": "The job failed."} if status == "failed" else None
    if endpoint in (Endpoint.RESPONSES, Endpoint.RESPONSE):
        body = response_object(
            answer,
            request,
            response_id=request.path_id,
            status=status,
            output=[] if status != "completed" else None,
            error=error,
        )
        body["background"] = True
        return body
    if endpoint in (Endpoint.VIDEOS, Endpoint.VIDEO):
        return {
            "id": request.path_id or new_id("video_"),
            "object": "video",
            "created_at": now,
            "completed_at": now if status in ("completed", "failed") else None,
            "expires_at": None,
            "model": request.body.get("model", "sora-2"),
            "progress": 100 if status == "completed" else 0,
            "prompt": None,
            "remixed_from_video_id": None,
            "seconds": "4",
            "size": "720x1280",
            "status": status,
            "error": error,
        }
    errors = {"object": "list", "data": [{"code": code, "message": "The batch failed.", "line": None, "param": None}]}
    return {
        "id": request.path_id or new_id("batch_"),
        "object": "batch",
        "endpoint": request.body.get("endpoint", "/v1/chat/completions"),
        "input_file_id": request.body.get("input_file_id", "file-chaos"),
        "completion_window": "24h",
        "status": status,
        "created_at": now,
        "errors": errors if code else None,
        "request_counts": {"completed": max(0, total - failed), "failed": failed, "total": total},
    }
