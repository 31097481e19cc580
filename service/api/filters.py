"""The track filter as query parameters: the same set as the `filter` of POST /v1/recommendations, for GET
routes. List parameters repeat (`genre=rock&genre=jazz`: either); genre and artist match whatever the case."""

from __future__ import annotations

from typing import Annotated

from litestar.params import QueryParameter

from service.recommend.recommender import TrackFilter

GenreQuery = Annotated[
    list[str] | None, QueryParameter(description="tracks of any of these genres (repeat it for more), any case")
]
ArtistQuery = Annotated[
    list[str] | None, QueryParameter(description="tracks by any of these artists (repeat it for more), any case")
]
AlbumQuery = Annotated[list[str] | None, QueryParameter(description="tracks of any of these albums (exact)")]


def track_filter_query(
    genre: GenreQuery = None,
    artist: ArtistQuery = None,
    album: AlbumQuery = None,
    exclude_artist: Annotated[
        list[str] | None,
        QueryParameter(name="excludeArtist", description="no tracks by these artists (repeat it for more), any case"),
    ] = None,
    style: Annotated[
        list[str] | None,
        QueryParameter(
            description="tracks with any of these styles (`Track.styles`, the learned embedding's tags; repeat it "
            "for more)"
        ),
    ] = None,
    tempo_min: Annotated[
        float | None, QueryParameter(name="tempoMin", description="Lowest tempo, in beats per minute (BPM)")
    ] = None,
    tempo_max: Annotated[
        float | None, QueryParameter(name="tempoMax", description="Highest tempo, in beats per minute (BPM)")
    ] = None,
    year_min: Annotated[
        int | None,
        QueryParameter(name="yearMin", description="Earliest release year (tracks without one are left out)"),
    ] = None,
    year_max: Annotated[
        int | None, QueryParameter(name="yearMax", description="Latest release year (tracks without one are left out)")
    ] = None,
    duration_min_s: Annotated[
        float | None, QueryParameter(name="durationMinS", ge=0, description="Shortest duration, in seconds")
    ] = None,
    duration_max_s: Annotated[
        float | None, QueryParameter(name="durationMaxS", ge=0, description="Longest duration, in seconds")
    ] = None,
) -> TrackFilter:
    """A dependency: the filter of a GET route (validated when the recommender builds it)."""
    return TrackFilter(
        genres=tuple(genre or ()),
        artists=tuple(artist or ()),
        albums=tuple(album or ()),
        exclude_artists=tuple(exclude_artist or ()),
        styles=tuple(style or ()),
        tempo_min=tempo_min,
        tempo_max=tempo_max,
        year_min=year_min,
        year_max=year_max,
        duration_min_s=duration_min_s,
        duration_max_s=duration_max_s,
    )
