"""Sync jobs: POST /v1/users/{userId}/sync starts one, GET /v1/jobs/{jobId} follows it."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.params import HeaderParameter, PathParameter

from service.api.responses import errors
from service.api.schemas.jobs import Job, JobCreated
from service.errors import BadRequest, NotFound
from service.sync.jobs import Queue

MAX_TOKEN_LENGTH = 4096


def start_sync(queue: Queue, user_id: str, token: str | None) -> str:
    """Start (or join) the user's sync; the token goes to the job store, the message carries a reference."""
    token = (token or "").strip()
    if not token:
        raise BadRequest("the Spotify user token is missing (header X-Spotify-Token)", {"field": "X-Spotify-Token"})
    if len(token) > MAX_TOKEN_LENGTH or any(c.isspace() for c in token):
        raise BadRequest("the Spotify user token is malformed", {"field": "X-Spotify-Token"})
    job_id, created = queue.jobs.create(user_id)
    if created:
        ref = queue.jobs.put_token(token)
        queue.enqueue("sync_library", "spotify", job_id, user_id, ref)
    return job_id


def job_view(queue: Queue, job_id: str) -> dict[str, Any]:
    job = queue.jobs.get(job_id)
    if job is None:
        raise NotFound(f"unknown job {job_id!r}", {"jobId": job_id})
    return job


class SyncController(Controller):
    tags = ["sync"]

    @post(
        "/v1/users/{userId:str}/sync",
        status_code=202,
        sync_to_thread=True,
        responses=errors(400),
        summary="Start the Spotify → audio → features → Qdrant sync of a user's library",
        description="A sync already running for the user is joined (same jobId). The token is used once, "
        "never logged, never stored in Qdrant, never put in a broker message.",
    )
    def sync(
        self,
        state: State,
        user_id: Annotated[
            str,
            PathParameter(
                name="userId", min_length=1, max_length=200, description="The user whose library is synced (1..200)"
            ),
        ],
        token: Annotated[
            str,
            HeaderParameter(
                name="X-Spotify-Token",
                min_length=1,
                max_length=4096,
                pattern=r"^\S+$",
                description="The user's Spotify access token: kept for the job at most an hour (deleted once the "
                "library is read), never logged, never written to Qdrant",
            ),
        ],
    ) -> JobCreated:
        return JobCreated(job_id=start_sync(state.queue, user_id, token))

    @get(
        "/v1/jobs/{jobId:str}",
        sync_to_thread=True,
        responses=errors(404),
        summary="A sync job's progress",
        description="State, track counts and failures so far; 404 for an unknown (or expired) jobId.",
    )
    def job(
        self,
        state: State,
        job_id: Annotated[str, PathParameter(name="jobId", description="The jobId answered by the sync call")],
    ) -> Job:
        job = job_view(state.queue, job_id)
        progress = {k: job[k] for k in ("done", "total", "failed", "ignored")}
        return msgspec.convert({**job, "progress": progress}, Job)
