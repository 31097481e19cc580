"""Bodies of the seed-compatible routes, in the replaced service's snake_case shapes."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta


# --- seed-compatible shapes (04mscott/Recommendation-API), snake_case as its clients send them ----
class LegacyRecommendRequest(msgspec.Struct):
    """Whom to recommend for (previous service's shape)."""

    user_id: Annotated[str, Meta(min_length=1, max_length=200, description="The user (as userId on /v1)")]


class LegacyRecommendResponse(msgspec.Struct):
    """20 recommended songs for a user (previous service's shape)."""

    user_id: Annotated[str, Meta(description="The user asked for")]
    total: Annotated[int, Meta(description="How many ids `song_ids` holds")]
    song_ids: Annotated[
        list[str], Meta(description="The recommended songs, best first: Spotify ids where known, else trackIds")
    ]


class LegacyStats(msgspec.Struct):
    """A user's counters (previous service's shape)."""

    songs_analyzed: Annotated[int, Meta(description="Tracks of the user's library that are analysed")]
    num_recs: Annotated[int, Meta(description="Tracks recommended to the user so far")]
    recent_like: Annotated[
        str | None, Meta(description="The most recently liked track (Spotify id where known, else trackId), or null")
    ]
    num_likes: Annotated[int, Meta(description="Tracks the user liked")]
    percent: Annotated[float, Meta(description="num_likes / num_recs * 100 (a percentage); 0 when none served")]


class LegacyDenied(msgspec.Struct):
    """A refusal (previous service's shape)."""

    detail: Annotated[str, Meta(description="Why, for people")]


class LegacySaveData(msgspec.Struct):
    """Whose library to sync (previous service's shape)."""

    user_id: Annotated[str, Meta(min_length=1, max_length=200, description="The user (as userId on /v1)")]


class LegacyTaskStarted(msgspec.Struct):
    """A sync started (previous service's shape)."""

    message: Annotated[str, Meta(description="Always `Task started`")]
    task_id: Annotated[str, Meta(description="The sync job's id (the jobId of /v1/jobs/{jobId})")]


class LegacyTaskStatus(msgspec.Struct):
    """A sync's state (previous service's shape)."""

    status: Annotated[str, Meta(description="`Task is still processing`, `Task completed` or `FAILURE`")]
    result: Annotated[
        Any,
        Meta(
            description="The progress counts {done, total, failed, ignored} while running or when completed; the "
            "job's error message on FAILURE"
        ),
    ]
