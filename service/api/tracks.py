"""/v1/tracks: browse and search the analysed tracks, find similar ones, play a local file's audio."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import PathParameter, QueryParameter
from litestar.response import Stream

from service.api.errors import error_response
from service.api.filters import AlbumQuery, ArtistQuery, GenreQuery, track_filter_query
from service.api.ranges import Unsatisfiable, parse_range, read_bytes
from service.api.responses import CursorQuery, errors, to_recommendations, to_track
from service.api.schemas.common import Track
from service.api.schemas.tracks import AudioLink, SimilarResponse, TrackPage
from service.catalog.service import Catalog
from service.recommend.recommender import Recommender, RecommendOptions, TrackFilter

TrackIdPath = Annotated[
    str, PathParameter(name="trackId", description="The track's id (a UUID; other spellings of it are normalised)")
]


class TrackController(Controller):
    path = "/v1/tracks"
    tags = ["tracks"]

    @get(
        "/",
        sync_to_thread=True,
        responses=errors(400),
        summary="List tracks (genre and artist match whatever the case; album exactly)",
        description=(
            "One page of the stored tracks, in storage order; follow `nextCursor` for the next page (null on the "
            "last). The filters combine: all given must hold."
        ),
    )
    def list_tracks(
        self,
        catalog: NamedDependency[Catalog],
        limit: Annotated[int, QueryParameter(ge=1, le=500, description="Tracks per page (1..500)")] = 50,
        cursor: CursorQuery = None,
        artist: ArtistQuery = None,
        album: AlbumQuery = None,
        genre: GenreQuery = None,
        user_id: Annotated[
            str | None, QueryParameter(name="userId", description="Only tracks in this user's library")
        ] = None,
        q: Annotated[
            str | None,
            QueryParameter(
                max_length=200,
                pattern=r"[0-9A-Za-z]",  # at least one letter or digit to search for
                description="words of the title, artists or album (each may be a word's beginning); all must match",
            ),
        ] = None,
    ) -> TrackPage:
        records, next_cursor = catalog.page(
            limit=limit,
            cursor=cursor,
            artists=artist or (),
            albums=album or (),
            genres=genre or (),
            user_id=user_id,
            q=q,
        )
        return TrackPage(items=[to_track(r.payload) for r in records], next_cursor=next_cursor)

    @get(
        "/{trackId:str}",
        sync_to_thread=True,
        responses=errors(404),
        summary="One track",
        description="The track with its metadata, source and analysis; 404 if no track has this id.",
    )
    def get_track(self, catalog: NamedDependency[Catalog], track_id: TrackIdPath) -> Track:
        return to_track(catalog.get(track_id).payload)

    @delete(
        "/{trackId:str}",
        status_code=204,
        sync_to_thread=True,
        responses=errors(404),
        summary="Remove a track and its library entries",
        description=(
            "204 with no body: the track and every user's library entry for it are gone (those users' tastes are "
            "rebuilt on their next recommendation). The audio file itself is never touched. 404 if unknown."
        ),
    )
    def delete_track(self, catalog: NamedDependency[Catalog], track_id: TrackIdPath) -> None:
        catalog.delete_one(track_id)

    @get(
        "/{trackId:str}/similar",
        sync_to_thread=True,
        responses=errors(400, 404),
        summary="Nearest tracks to this one, itself excluded, highest score first",
        description=(
            "More like this track: the stored tracks whose vectors are closest to its vector (cosine of the fused "
            "DSP + embedding vector), filtered (the filter of POST /v1/recommendations as query parameters), "
            "optionally diversified (MMR) and capped per artist. Unknown id: 404; limit outside 1..100: 400."
        ),
        dependencies={"track_filter": Provide(track_filter_query, sync_to_thread=False)},
    )
    def similar(
        self,
        recommender: NamedDependency[Recommender],
        track_filter: NamedDependency[TrackFilter],
        track_id: TrackIdPath,
        limit: Annotated[int, QueryParameter(ge=1, le=100, description="How many tracks to return (1..100)")] = 10,
        diversity: Annotated[
            float,
            QueryParameter(
                ge=0,
                le=1,
                description=(
                    "0..1. 0 = pure similarity; above 0 maximal marginal relevance (MMR) trades closeness for "
                    "variety: each next pick maximises (1 - diversity) * score - diversity * (its highest cosine "
                    "similarity to the picks so far)"
                ),
            ),
        ] = 0.0,
        max_per_artist: Annotated[
            int | None,
            QueryParameter(
                name="maxPerArtist", ge=1, le=100, description="At most this many tracks by any one artist (1..100)"
            ),
        ] = None,
    ) -> SimilarResponse:
        options = RecommendOptions(limit=limit, filter=track_filter, diversity=diversity, max_per_artist=max_per_artist)
        return SimilarResponse(items=to_recommendations(recommender.similar(track_id, options)))

    @post(
        "/{trackId:str}/audio-link",
        status_code=200,
        sync_to_thread=True,
        responses=errors(404),
        summary="A short-lived signed link to the track's audio (for a browser's <audio> element)",
        description="The link needs no API key until `expiresAt`; 404 for tracks with no local file.",
    )
    def audio_link(self, catalog: NamedDependency[Catalog], state: State, track_id: TrackIdPath) -> AudioLink:
        record = catalog.get(track_id)
        catalog.audio_file(record.id)
        url, expires_at = state.audio_links.url(record.id)
        return AudioLink(url=url, expires_at=expires_at)

    @get(
        "/{trackId:str}/audio",
        sync_to_thread=True,
        responses={
            200: ResponseSpec(
                bytes,
                generate_examples=False,
                description="The whole file, with its audio content type",
                media_type="audio/*",
            ),
            206: ResponseSpec(
                bytes, generate_examples=False, description="The asked byte range (Content-Range)", media_type="audio/*"
            ),
            **errors(404, 416),
        },
        summary="The track's local audio file (HTTP Range supported)",
        description=(
            "The Bearer key, or a signed link from POST /v1/tracks/{trackId}/audio-link (`exp` and `sig`). "
            "404 for tracks that have no local file."
        ),
    )
    def audio(
        self,
        catalog: NamedDependency[Catalog],
        request: Request,
        track_id: TrackIdPath,
        exp: Annotated[str | None, QueryParameter(description="signed link: expiry (unix seconds)")] = None,
        sig: Annotated[str | None, QueryParameter(description="signed link: signature")] = None,
    ) -> Response:
        path, media_type = catalog.audio_file(track_id)
        size = path.stat().st_size
        headers = {"accept-ranges": "bytes", "cache-control": "private, max-age=300"}
        try:
            byte_range = parse_range(request.headers.get("range"), size)
        except Unsatisfiable:
            return error_response(
                416,
                "range_not_satisfiable",
                "the asked range lies outside the file",
                {"size": size},
                {"content-range": f"bytes */{size}"},
            )
        start, end = byte_range if byte_range else (0, size - 1)
        headers["content-length"] = str(max(end - start + 1, 0))
        if byte_range:
            headers["content-range"] = f"bytes {start}-{end}/{size}"
        return Stream(
            read_bytes(path, start, end) if size else iter([b""]),
            media_type=media_type,
            status_code=206 if byte_range else 200,
            headers=headers,
        )
