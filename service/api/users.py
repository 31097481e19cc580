"""/v1/users: the known users; /v1/users/{userId}: feedback, stats and library."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter

from service.api.responses import CursorQuery, errors
from service.api.schemas.users import FeedbackRequest, LibraryItem, LibraryPage, UserPage, UserStats, UserSummary
from service.taste.users import UserService

UserIdPath = Annotated[
    str,
    PathParameter(
        name="userId", min_length=1, max_length=200, description="The user's id (any string you choose, 1..200)"
    ),
]


class UserListController(Controller):
    path = "/v1/users"
    tags = ["users"]

    @get(
        "/",
        sync_to_thread=True,
        responses=errors(400),
        summary="The known users, with their library size",
        description=(
            "Everyone with feedback, a sync or ingested tracks, one page at a time; follow `nextCursor` for the "
            "next page (null on the last)."
        ),
    )
    def list_users(
        self,
        users: NamedDependency[UserService],
        limit: Annotated[int, QueryParameter(ge=1, le=500, description="Users per page (1..500)")] = 50,
        cursor: CursorQuery = None,
    ) -> UserPage:
        items, next_cursor = users.list_users(limit, cursor)
        return UserPage(items=msgspec.convert(items, list[UserSummary]), next_cursor=next_cursor)


class UserController(Controller):
    path = "/v1/users/{userId:str}"
    tags = ["users"]

    @post(
        "/feedback",
        status_code=204,
        sync_to_thread=True,
        responses=errors(400, 404),
        summary="Like, dislike or skip a track; the next recommendation reflects it",
        description="An unseen userId is created. Disliked tracks are never recommended to that user again.",
    )
    def feedback(
        self, users: NamedDependency[UserService], user_id: UserIdPath, data: JSONBody[FeedbackRequest]
    ) -> None:
        users.feedback(user_id, data.track_id, data.kind)

    @get(
        "/stats",
        sync_to_thread=True,
        responses=errors(400),
        summary="A user's counters",
        description="Analysed library tracks, recommendations served, likes and dislikes; all 0 for an unknown user.",
    )
    def stats(self, users: NamedDependency[UserService], user_id: UserIdPath) -> UserStats:
        return msgspec.convert(users.stats(user_id), UserStats)

    @get(
        "/library",
        sync_to_thread=True,
        responses=errors(400),
        summary="The tracks in a user's library",
        description=(
            "One page of the user's library entries, each with why it is there (`reasons`); follow `nextCursor` "
            "for the next page (null on the last). Empty for an unknown user."
        ),
    )
    def library(
        self,
        users: NamedDependency[UserService],
        user_id: UserIdPath,
        limit: Annotated[int, QueryParameter(ge=1, le=500, description="Entries per page (1..500)")] = 50,
        cursor: CursorQuery = None,
    ) -> LibraryPage:
        items, next_cursor = users.library_page(user_id, limit, cursor)
        return LibraryPage(items=msgspec.convert(items, list[LibraryItem]), next_cursor=next_cursor)
