"""/v1/tracks: browse the analysed tracks and find similar ones."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, PathParameter, QueryParameter

from service.api.responses import errors, to_recommendations, to_track
from service.api.schemas.common import Track
from service.api.schemas.tracks import SimilarResponse, TrackPage
from service.catalog.service import Catalog
from service.recommend.recommender import Recommender, RecommendOptions, TrackFilter

TrackIdPath = Annotated[str, PathParameter(name="trackId")]


class TrackController(Controller):
    path = "/v1/tracks"
    tags = ["tracks"]

    @get("/", sync_to_thread=True, responses=errors(400), summary="List tracks (filters are exact matches)")
    def list_tracks(
        self,
        catalog: NamedDependency[Catalog],
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        cursor: FromQuery[str | None] = None,
        artist: FromQuery[str | None] = None,
        album: FromQuery[str | None] = None,
        genre: FromQuery[str | None] = None,
        user_id: Annotated[str | None, QueryParameter(name="userId")] = None,
    ) -> TrackPage:
        records, next_cursor = catalog.page(
            limit=limit, cursor=cursor, artist=artist, album=album, genre=genre, user_id=user_id
        )
        return TrackPage(items=[to_track(r.payload) for r in records], next_cursor=next_cursor)

    @get("/{trackId:str}", sync_to_thread=True, responses=errors(404), summary="One track")
    def get_track(self, catalog: NamedDependency[Catalog], track_id: TrackIdPath) -> Track:
        return to_track(catalog.get(track_id).payload)

    @get(
        "/{trackId:str}/similar",
        sync_to_thread=True,
        responses=errors(400, 404),
        summary="Nearest tracks to this one, itself excluded, highest score first",
    )
    def similar(
        self,
        recommender: NamedDependency[Recommender],
        track_id: TrackIdPath,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 10,
        genre: FromQuery[str | None] = None,
        artist: FromQuery[str | None] = None,
        exclude_artist: Annotated[str | None, QueryParameter(name="excludeArtist")] = None,
        tempo_min: Annotated[float | None, QueryParameter(name="tempoMin")] = None,
        tempo_max: Annotated[float | None, QueryParameter(name="tempoMax")] = None,
        year_min: Annotated[int | None, QueryParameter(name="yearMin")] = None,
        year_max: Annotated[int | None, QueryParameter(name="yearMax")] = None,
        diversity: Annotated[float, QueryParameter(ge=0, le=1)] = 0.0,
        max_per_artist: Annotated[int | None, QueryParameter(name="maxPerArtist", ge=1, le=100)] = None,
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
        return SimilarResponse(items=to_recommendations(recommender.similar(track_id, options)))
