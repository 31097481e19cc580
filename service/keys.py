"""Case-insensitive genre and artist matching.

Each track's payload carries `genresKey` and `artistsKey` beside the display values: every genre and artist
normalised (Unicode NFKC, case-folded, whitespace collapsed), under keyword payload indexes, so "rock",
"Rock" and " ROCK " are one filter value. Filters match the normalised field; the display field stays as
tagged and is what responses and facets show.

Stores written by the previous release have points without these fields: the API backfills them at
start-up (`Catalog.add_derived_fields`), and until then (or for a point written by an older worker) a
filter also matches the display field exactly, so such a point is found as it was before.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from service.store.base import Filter, MatchAny

# display field → its normalised field
KEYED = {"genres": "genresKey", "artists": "artistsKey"}


def normalise(value: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def keys(values: Iterable[str | None]) -> list[str]:
    """The normalised values, unique, in first-seen order (empty ones dropped)."""
    return list(dict.fromkeys(k for k in (normalise(v or "") for v in values) if k))


def payload_keys(payload: dict[str, Any]) -> dict[str, list[str]]:
    return {key_field: keys(payload.get(field) or []) for field, key_field in KEYED.items()}


def with_keys(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, **payload_keys(payload)}


def match_any(field: str, values: Sequence[str]) -> Filter | MatchAny:
    """`field` (genres or artists) holds any of `values`, whatever the case or spacing: the normalised field,
    or (a point not backfilled yet) the display field exactly."""
    wanted = keys(values)
    exact = tuple(dict.fromkeys(v for v in values if v))
    if not wanted:
        return MatchAny(field, exact)
    return Filter(should=(MatchAny(KEYED[field], tuple(wanted)), MatchAny(field, exact)))
