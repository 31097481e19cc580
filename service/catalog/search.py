"""Finding tracks by the words of their title, artists and album.

Each track's payload carries `searchTokens`: its normalised words (lower case, accents folded) and
every prefix of them, under a keyword payload index. A query matches the tracks that hold every one of
its words as a token or a token's prefix, so "ton 2" finds "Tone 2" as you type. A keyword field rather
than Qdrant's full-text index: prefix matching then behaves the same on Qdrant Edge and on the
qdrant-client backend (whose local mode cannot reproduce a text index's prefix tokenizer).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from service.store.base import Match

FIELD = "searchTokens"
MAX_TOKEN = 24  # longer words are indexed (and searched) by their first MAX_TOKEN characters
MAX_QUERY_WORDS = 8


def words(text: str) -> list[str]:
    """Lower-case, accent-free alphanumeric words (what both the index and the query are made of)."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return [w[:MAX_TOKEN] for w in re.findall(r"[^\W_]+", folded)]


def search_tokens(texts: Iterable[str | None]) -> list[str]:
    """Every word of the texts and each of its prefixes, sorted, unique."""
    out: set[str] = set()
    for text in texts:
        for word in words(text or ""):
            out.update(word[:n] for n in range(1, len(word) + 1))
    return sorted(out)


def payload_tokens(payload: dict[str, Any]) -> list[str]:
    return search_tokens([payload.get("title"), *(payload.get("artists") or []), payload.get("album")])


def with_search_tokens(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, FIELD: payload_tokens(payload)}


def query_conditions(query: str) -> tuple[Match, ...]:
    """One condition per distinct word of the query (all must hold); none for a query without words."""
    unique = list(dict.fromkeys(words(query)))[:MAX_QUERY_WORDS]
    return tuple(Match(FIELD, w) for w in unique)
