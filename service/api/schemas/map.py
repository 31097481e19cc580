"""GET /v1/map bodies."""

from __future__ import annotations

from service.api.schemas.common import Base


class MapPoint(Base):
    track_id: str
    x: float
    y: float
    title: str
    artists: list[str]
    album: str | None
    genres: list[str]
    group: str | None  # the value the point is coloured by (album, first genre, first artist, library or not)
    in_library: bool  # in the library of the `userId` asked for (false without one)


class MapResponse(Base):
    method: str
    items: list[MapPoint]
