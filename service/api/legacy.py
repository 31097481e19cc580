"""Seed-compatible routes for clients of the replaced service (04mscott/Recommendation-API).

Same paths, request and answer shapes as before; the key may come bare in `Authorization` (checked by
the auth middleware, which answers 403 {"detail": …} like the old service). New clients use /v1.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, get, post, route
from litestar.concurrency import sync_to_thread
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter, JSONBody, PathParameter

from service.api.jobs import start_sync
from service.api.responses import errors
from service.api.schemas.legacy import (
    LegacyDenied,
    LegacyRecommendRequest,
    LegacyRecommendResponse,
    LegacySaveData,
    LegacyStats,
    LegacyTaskStarted,
    LegacyTaskStatus,
)
from service.errors import BadRequest
from service.recommend.recommender import Recommender, RecommendOptions
from service.taste.users import UserService

LEGACY_COUNT = 20
DENIED = {403: ResponseSpec(data_container=LegacyDenied, description="Invalid or missing API key")}


def legacy_recommend(recommender: Recommender, users: UserService, user_id: str) -> LegacyRecommendResponse:
    items, _ = recommender.recommend(
        user_id=user_id, seed_ids=(), negative_ids=(), exclude_known=True, options=RecommendOptions(limit=LEGACY_COUNT)
    )
    users.counters.incr(user_id, len(items))
    ids = [(i.payload.get("source") or {}).get("spotifyId") or i.payload["trackId"] for i in items]
    return LegacyRecommendResponse(user_id=user_id, total=len(ids), song_ids=ids)


class LegacyController(Controller):
    tags = ["compatible"]  # the previous service's API

    @route(
        "/recommend",
        http_method=["GET", "POST"],
        status_code=200,
        responses={**errors(400), **DENIED},
        summary='20 recommended song ids for a user (body {"user_id"}; GET with a JSON body as old clients send)',
        description=(
            "A compatible route of the previous service's API. The user's recommendations as on "
            "POST /v1/recommendations (a cold start for unknown users), as Spotify ids where known. The key may "
            "come bare in Authorization; a missing or wrong key answers 403 {detail}."
        ),
        security=[{"legacyKey": []}],
    )
    async def recommend(
        self,
        request: Request,
        recommender: NamedDependency[Recommender],
        users: NamedDependency[UserService],
    ) -> LegacyRecommendResponse:
        raw = await request.body()
        try:
            body = msgspec.json.decode(raw or b"{}", type=LegacyRecommendRequest)
        except msgspec.ValidationError as exc:
            raise BadRequest(f"invalid body: {exc}", {"field": "user_id"}) from None
        except msgspec.DecodeError:
            raise BadRequest("body is not valid JSON", {}) from None
        # the queries block: off the event loop, like every other handler that does I/O
        return await sync_to_thread(legacy_recommend, recommender, users, body.user_id)

    @get(
        "/get-stats/{user_id:str}",
        sync_to_thread=True,
        responses=DENIED,
        summary="A user's counters in the old shape",
        description="A compatible route of the previous service's API: GET /v1/users/{userId}/stats in its shape.",
        security=[{"legacyKey": []}],
    )
    def get_stats(
        self,
        users: NamedDependency[UserService],
        user_id: Annotated[str, PathParameter(description="The user (as userId on /v1)")],
    ) -> LegacyStats:
        stats = users.stats(user_id)
        return LegacyStats(
            songs_analyzed=stats["tracksAnalyzed"],
            num_recs=stats["recommendationsServed"],
            recent_like=users.recent_like(user_id),
            num_likes=stats["likes"],
            percent=stats["percentLiked"],
        )


class LegacySyncController(Controller):
    tags = ["compatible"]  # the previous service's API

    @post(
        "/save-data",
        status_code=200,
        sync_to_thread=True,
        responses={**errors(400), **DENIED},
        summary="Start a user's sync (header Spotify-Token); task_id is the jobId",
        description="A compatible route of the previous service's API: POST /v1/users/{userId}/sync in its shape.",
        security=[{"legacyKey": []}],
    )
    def save_data(
        self,
        state: State,
        data: JSONBody[LegacySaveData],
        token: Annotated[
            str,
            HeaderParameter(
                name="Spotify-Token",
                min_length=1,
                max_length=4096,
                pattern=r"^\S+$",
                description="The user's Spotify access token (as X-Spotify-Token on /v1)",
            ),
        ],
    ) -> LegacyTaskStarted:
        return LegacyTaskStarted(message="Task started", task_id=start_sync(state.queue, data.user_id, token))

    @get(
        "/status/{task_id:str}",
        sync_to_thread=True,
        responses={404: ResponseSpec(data_container=LegacyDenied, description="Unknown task"), **DENIED},
        summary="A sync's state in the old shape",
        description="A compatible route of the previous service's API: GET /v1/jobs/{jobId} in its shape.",
        security=[{"legacyKey": []}],
    )
    def status(
        self, state: State, task_id: Annotated[str, PathParameter(description="The task_id answered by /save-data")]
    ) -> Response[LegacyTaskStatus | LegacyDenied]:
        job = state.queue.jobs.get(task_id)
        if job is None:
            return Response(LegacyDenied(detail="Task not found"), status_code=404)
        progress = {k: job[k] for k in ("done", "total", "failed", "ignored")}
        if job["state"] == "done":
            return Response(LegacyTaskStatus(status="Task completed", result=progress))
        if job["state"] == "failed":
            return Response(LegacyTaskStatus(status="FAILURE", result=job["error"]))
        return Response(LegacyTaskStatus(status="Task is still processing", result=progress))
