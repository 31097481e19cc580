"""GET /v1/map bodies."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from service.api.schemas.common import Base


class MapPoint(Base):
    """One track on the map."""

    track_id: Annotated[str, Meta(description="The track's id")]
    x: Annotated[float, Meta(description="Horizontal position, -1..1 (first principal component, scaled)")]
    y: Annotated[float, Meta(description="Vertical position, -1..1 (second principal component, scaled)")]
    title: Annotated[str, Meta(description="The track's title")]
    artists: Annotated[list[str], Meta(description="The track's artists")]
    album: Annotated[str | None, Meta(description="The track's album, or null")]
    genres: Annotated[list[str], Meta(description="The track's genres")]
    group: Annotated[
        str | None,
        Meta(
            description="The value the point is coloured by (colorBy): its album, first genre or first artist, or "
            "`in library`/`not in library` for colorBy=user; null when the track has none"
        ),
    ]
    in_library: Annotated[
        bool, Meta(description="In the library of the userId asked for (always false without userId)")
    ]


class MapResponse(Base):
    """Every stored track as a point in 2-D: near points sound alike."""

    method: Annotated[str, Meta(description="How the layout was made: `pca` (PCA of the unit vectors)")]
    items: Annotated[list[MapPoint], Meta(description="One point per stored track")]
