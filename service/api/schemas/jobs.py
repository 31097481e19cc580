"""/v1/users/{userId}/sync and /v1/jobs bodies."""

from __future__ import annotations

from typing import Literal

from service.api.schemas.common import Base


class JobCreated(Base):
    job_id: str


class JobProgress(Base):
    done: int
    total: int
    failed: int
    ignored: int


class JobFailure(Base):
    spotify_id: str
    title: str
    artists: list[str]
    reason: str


class Job(Base):
    job_id: str
    state: Literal["queued", "running", "done", "failed"]
    progress: JobProgress
    failures: list[JobFailure]
    error: str | None
