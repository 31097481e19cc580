"""Users: feedback, stats, library listing, and the cached taste point in the `users` collection."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Protocol

from service.errors import NotFound
from service.ids import canonical, user_point_id
from service.store.base import Match, VectorStore
from service.store.schema import TRACKS, USERS
from service.taste import library
from service.taste.cache import load_taste
from service.taste.payloads import read_entry, user_fields
from service.taste.userpoints import ensure_user, save_taste

log = logging.getLogger("musicrec.users")

FEEDBACK = {  # kind → (reason added, reasons removed)
    "like": ("liked", ("disliked", "skipped")),
    "dislike": ("disliked", ("liked",)),
    "skip": ("skipped", ("liked",)),
}


class Counters(Protocol):
    def incr(self, user_id: str, n: int) -> None: ...

    def get(self, user_id: str) -> int: ...


class RedisCounters:
    """Exact across API replicas: one Redis hash, HINCRBY is atomic.

    Counting is best effort: while Redis is down recommendations still answer and the increments are
    lost (logged once per outage); reading the counters needs Redis and raises.
    """

    def __init__(self, redis, prefix: str = "musicrec"):
        self.redis = redis
        self.key = f"{prefix}:recommendationsServed"
        self.down = False

    def incr(self, user_id: str, n: int) -> None:
        from redis.exceptions import ConnectionError, TimeoutError

        try:
            self.redis.hincrby(self.key, user_id, n)
        except (ConnectionError, TimeoutError) as exc:
            if not self.down:
                log.warning("Redis is unreachable: recommendation counts are not kept until it is back (%s)", exc)
            self.down = True
            return
        if self.down:
            log.info("Redis is back: recommendation counts are kept again")
        self.down = False

    def get(self, user_id: str) -> int:
        return int(self.redis.hget(self.key, user_id) or 0)


class StoreCounters:
    """Kept in the user's point payload; exact within one process (the embedded store has one owner)."""

    def __init__(self, store: VectorStore):
        self.store = store
        self.lock = threading.Lock()

    def incr(self, user_id: str, n: int) -> None:
        with self.lock:
            payload = ensure_user(self.store, user_id)
            served = payload.get("recommendationsServed", 0) + n
            self.store.set_payload(USERS, user_point_id(user_id), user_fields(recommendations_served=served))

    def get(self, user_id: str) -> int:
        found = self.store.retrieve(USERS, [user_point_id(user_id)])
        return int(found[0].payload.get("recommendationsServed", 0)) if found else 0


class UserService:
    def __init__(self, store: VectorStore, vector_name: str, counters: Counters):
        self.store = store
        self.vector_name = vector_name
        self.counters = counters

    def feedback(self, user_id: str, track_id: str, kind: str) -> None:
        """Record like/dislike/skip; visible to the very next recommendation (same store, no cache)."""
        track_id = canonical(track_id)
        found = self.store.retrieve(TRACKS, [track_id], with_vector=self.vector_name)
        if not found:
            raise NotFound(f"unknown track {track_id!r}", {"trackId": track_id})
        reason, removed = FEEDBACK[kind]
        now = time.time()
        library.add_to_library(
            self.store, user_id, found, self.vector_name, add=[reason], remove=removed, timestamps={f"{reason}_at": now}
        )
        self.store.set_payload(USERS, user_point_id(user_id), user_fields(last_feedback_at=now))
        # no taste rebuild here: the write changed the library version, the next recommendation rebuilds

    def refresh_taste(self, user_id: str) -> None:
        """Rebuild the user's taste summary on the user point now (recommendations rebuild it lazily)."""
        ensure_user(self.store, user_id)
        fresh = load_taste(self.store, user_id, self.vector_name)
        save_taste(self.store, user_id, self.vector_name, fresh.taste.clusters, len(fresh.records))

    def stats(self, user_id: str) -> dict[str, Any]:
        found = self.store.retrieve(USERS, [user_point_id(user_id)])
        payload = found[0].payload if found else {}
        likes = library.count_with_reason(self.store, user_id, "liked")
        served = self.counters.get(user_id)
        return {
            "tracksAnalyzed": self.store.count(
                library.LIBRARY, library.user_filter(user_id, Match("status", "analysed"))
            ),
            "recommendationsServed": served,
            "likes": likes,
            "dislikes": library.count_with_reason(self.store, user_id, "disliked"),
            "lastSyncAt": payload.get("lastSyncAt"),
            # share of the recommended tracks the user liked, as the replaced service computed it
            "percentLiked": round(100.0 * likes / served, 1) if served else 0.0,
        }

    def recent_like(self, user_id: str) -> str | None:
        """The most recently liked track (its Spotify id where it has one)."""
        records, _ = self.store.scroll(
            library.LIBRARY, limit=library.MAX_ENTRIES, filter=library.user_filter(user_id, Match("reasons", "liked"))
        )
        if not records:
            return None
        latest = max(records, key=lambda r: r.payload.get("likedAt") or 0)
        return latest.payload.get("spotifyId") or latest.payload["trackId"]

    def list_users(self, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        """One page of the known users (anyone with feedback, a sync or ingested tracks)."""
        records, next_cursor = self.store.scroll(USERS, limit=limit, offset=cursor)
        items = [
            {
                "userId": r.payload["userId"],
                "libraryTracks": self.store.count(library.LIBRARY, library.user_filter(r.payload["userId"])),
                "lastSyncAt": r.payload.get("lastSyncAt"),
            }
            for r in records
            if r.payload.get("userId")
        ]
        return items, next_cursor

    def library_page(self, user_id: str, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        records, next_cursor = self.store.scroll(
            library.LIBRARY, limit=limit, offset=cursor, filter=library.user_filter(user_id)
        )
        entries = [e for e in (read_entry(r.id, r.payload) for r in records) if e is not None]
        items = [
            {
                "trackId": e.track_id,
                "spotifyId": e.spotify_id,
                "title": e.title or "",
                "artists": e.artists,
                "analysed": e.analysed,
                "reasons": e.reasons,
            }
            for e in entries
        ]
        return items, next_cursor
