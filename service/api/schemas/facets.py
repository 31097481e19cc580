"""GET /v1/facets bodies."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from service.api.schemas.common import Base


class FacetItem(Base):
    """One value of the field and how many tracks hold it."""

    value: Annotated[str | int, Meta(description="A genre, artist or album as spelled most often; a year as a number")]
    count: Annotated[int, Meta(description="Tracks holding it: filtering by `value` finds exactly these")]


class FacetResponse(Base):
    """The values a field takes in the catalogue (or a user's library), most frequent first."""

    field: Annotated[Literal["genres", "artists", "albums", "years"], Meta(description="The field counted")]
    items: Annotated[list[FacetItem], Meta(description="Most frequent first, at most `limit`")]
