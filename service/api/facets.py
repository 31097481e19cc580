"""/v1/facets: which genres, artists, albums and years there are, and how many tracks each (filter discovery)."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from service.api.responses import errors
from service.api.schemas.facets import FacetItem, FacetResponse
from service.catalog.service import Catalog

FacetField = Literal["genres", "artists", "albums", "years"]


class FacetController(Controller):
    path = "/v1/facets"
    tags = ["facets"]

    @get(
        "/",
        sync_to_thread=True,
        responses=errors(400),
        summary="The values of a track field with how many tracks hold each, most frequent first",
        description=(
            "Qdrant's facet counts over the payload index of `field`. Genres and artists are counted whatever "
            "their case or spacing (as filters match them) and shown in their most frequent spelling; a track "
            "counts once per value. With userId: among that user's library tracks (none for an unknown user)."
        ),
    )
    def facets(
        self,
        catalog: NamedDependency[Catalog],
        field: Annotated[FacetField, QueryParameter(description="the track field to count")],
        user_id: Annotated[
            str | None,
            QueryParameter(
                name="userId", min_length=1, max_length=200, description="Count within this user's library only"
            ),
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000, description="at most this many values")] = 50,
    ) -> FacetResponse:
        hits = catalog.facets(field, limit=limit, user_id=user_id)
        return FacetResponse(field=field, items=[FacetItem(value=h.value, count=h.count) for h in hits])
