"""Bodies of the seed-compatible routes, in the replaced service's snake_case shapes."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta


# --- seed-compatible shapes (04mscott/Recommendation-API), snake_case as its clients send them ----
class LegacyRecommendRequest(msgspec.Struct):
    user_id: Annotated[str, Meta(min_length=1, max_length=200)]


class LegacyRecommendResponse(msgspec.Struct):
    user_id: str
    total: int
    song_ids: list[str]


class LegacyStats(msgspec.Struct):
    songs_analyzed: int
    num_recs: int
    recent_like: str | None
    num_likes: int
    percent: float


class LegacyDenied(msgspec.Struct):
    detail: str


class LegacySaveData(msgspec.Struct):
    user_id: Annotated[str, Meta(min_length=1, max_length=200)]


class LegacyTaskStarted(msgspec.Struct):
    message: str
    task_id: str


class LegacyTaskStatus(msgspec.Struct):
    status: str
    result: Any
