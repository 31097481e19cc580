"""GET /v1/facets bodies."""

from __future__ import annotations

from typing import Literal

from service.api.schemas.common import Base


class FacetItem(Base):
    value: str | int  # a genre, artist or album as spelled most often; a year as a number
    count: int  # tracks holding it (filtering by `value` finds exactly these)


class FacetResponse(Base):
    field: Literal["genres", "artists", "albums", "years"]
    items: list[FacetItem]
