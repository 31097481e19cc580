"""/v1/users/{userId}/sync and /v1/jobs bodies."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from service.api.schemas.common import Base


class JobCreated(Base):
    """A sync job started (or the one already running for this user, joined)."""

    job_id: Annotated[str, Meta(description="The job's id: follow it at GET /v1/jobs/{jobId}")]


class JobProgress(Base):
    """Track counts of a sync job; done + failed reaches total when the job ends."""

    done: Annotated[int, Meta(description="Tracks finished: analysed now, or already stored")]
    total: Annotated[int, Meta(description="Unique tracks of the user's library to go through (0 until it is read)")]
    failed: Annotated[int, Meta(description="Tracks that could not be analysed (each listed in `failures`)")]
    ignored: Annotated[
        int, Meta(description="Library entries with nothing to analyse (local files, episodes, empty playlist entries)")
    ]


class JobFailure(Base):
    """A track the job could not analyse, and why."""

    spotify_id: Annotated[str, Meta(description="The Spotify track id")]
    title: Annotated[str, Meta(description="The track's title on Spotify")]
    artists: Annotated[list[str], Meta(description="The track's artists on Spotify")]
    reason: Annotated[
        str, Meta(description="Why, for people: no confident YouTube match, too long, audio that cannot be decoded...")
    ]


class Job(Base):
    """A sync job's state and progress."""

    job_id: Annotated[str, Meta(description="The job's id")]
    state: Annotated[
        Literal["queued", "running", "done", "failed"],
        Meta(
            description="`queued` (not started yet), `running`, `done` (every track done or failed), `failed` (the "
            "job itself failed: see `error`)"
        ),
    ]
    progress: Annotated[JobProgress, Meta(description="Track counts so far")]
    failures: Annotated[list[JobFailure], Meta(description="The tracks that failed, with the reason (at most 100)")]
    error: Annotated[
        str | None,
        Meta(description="Why the whole job failed (e.g. Spotify refused the token), else null"),
    ]
