"""/v1/tracks: browse the analysed tracks and find similar ones."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from service.api.deps import errors, to_recommendation, to_track
from service.api.schemas import SimilarResponse, Track, TrackPage
from service.errors import BadRequest
from service.recommend import LIBRARY, TRACKS, Recommender, RecommendOptions, TrackFilter
from service.store.base import Filter, HasId, Match, is_uuid

MAX_USER_TRACKS = 10_000


class TrackController(Controller):
    path = "/v1/tracks"
    tags = ["tracks"]

    @get("/", sync_to_thread=False, responses=errors(400), summary="List tracks (filters are exact matches)")
    def list_tracks(
        self,
        recommender: Recommender,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
        cursor: str | None = None,
        artist: str | None = None,
        album: str | None = None,
        genre: str | None = None,
        user_id: Annotated[str | None, Parameter(query="userId")] = None,
    ) -> TrackPage:
        if cursor is not None and not is_uuid(cursor):
            raise BadRequest("cursor is not one this service gave out", {"field": "cursor"})
        must: list = []
        for key, value in (("artists", artist), ("album", album), ("genres", genre)):
            if value is not None:
                must.append(Match(key, value))
        if user_id is not None:
            entries, _ = recommender.store.scroll(
                LIBRARY, limit=MAX_USER_TRACKS, filter=Filter(must=(Match("userId", user_id),))
            )
            must.append(HasId(tuple(e.payload["trackId"] for e in entries)))
        records, next_cursor = recommender.store.scroll(
            TRACKS, limit=limit, offset=cursor, filter=Filter(must=tuple(must))
        )
        return TrackPage(items=[to_track(r.payload) for r in records], next_cursor=next_cursor)

    @get("/{track_id:str}", sync_to_thread=False, responses=errors(404), summary="One track")
    def get_track(
        self, recommender: Recommender, track_id: Annotated[str, Parameter(title="trackId")]
    ) -> Track:
        return to_track(recommender.get_track(track_id).payload)

    @get(
        "/{track_id:str}/similar",
        sync_to_thread=False,
        responses=errors(400, 404),
        summary="Nearest tracks to this one, itself excluded, highest score first",
    )
    def similar(
        self,
        recommender: Recommender,
        track_id: str,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 10,
        genre: str | None = None,
        artist: str | None = None,
        exclude_artist: Annotated[str | None, Parameter(query="excludeArtist")] = None,
        tempo_min: Annotated[float | None, Parameter(query="tempoMin")] = None,
        tempo_max: Annotated[float | None, Parameter(query="tempoMax")] = None,
        year_min: Annotated[int | None, Parameter(query="yearMin")] = None,
        year_max: Annotated[int | None, Parameter(query="yearMax")] = None,
        diversity: Annotated[float, Parameter(ge=0, le=1)] = 0.0,
        max_per_artist: Annotated[int | None, Parameter(query="maxPerArtist", ge=1, le=100)] = None,
    ) -> SimilarResponse:
        options = RecommendOptions(
            limit=limit,
            filter=TrackFilter(
                genres=(genre,) if genre else (),
                artists=(artist,) if artist else (),
                exclude_artists=(exclude_artist,) if exclude_artist else (),
                tempo_min=tempo_min,
                tempo_max=tempo_max,
                year_min=year_min,
                year_max=year_max,
            ),
            diversity=diversity,
            max_per_artist=max_per_artist,
        )
        return SimilarResponse(items=[to_recommendation(r) for r in recommender.similar(track_id, options)])
