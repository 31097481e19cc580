"""A user's taste, cached per process and rebuilt only when their library changed.

Every write to a user's library stamps a new `libraryVersion` on the user point; a recommendation reads
that one field (one point lookup) and reuses the cached library and clusters while it matches. So a
user recommendation costs about its Qdrant queries, feedback costs a few point writes, and the
clustering runs once per change, on the next recommendation (which therefore already reflects it).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from service.store.base import Record, VectorStore
from service.taste import library
from service.taste.model import Taste, build_taste, entry_from_payload
from service.taste.userpoints import library_version, save_taste

MAX_CACHED_USERS = 2000


@dataclass(frozen=True)
class UserTaste:
    version: str | None
    records: list[Record]  # the library entries with vectors
    taste: Taste


def load_taste(store: VectorStore, user_id: str, vector_name: str, version: str | None = None) -> UserTaste:
    records = [r for r in library.entries(store, user_id, vector_name) if r.vector]
    taste = build_taste([entry_from_payload(r.payload, r.vector) for r in records])
    return UserTaste(version=version, records=records, taste=taste)


class TasteCache:
    def __init__(self, store: VectorStore, vector_name: str, max_users: int = MAX_CACHED_USERS):
        self.store = store
        self.vector_name = vector_name
        self.max_users = max_users
        self.lock = threading.Lock()
        self.cached: OrderedDict[str, UserTaste] = OrderedDict()

    def get(self, user_id: str) -> UserTaste:
        # the version is read before the library: a write in between makes the next call rebuild
        version = library_version(self.store, user_id)
        with self.lock:
            hit = self.cached.get(user_id)
            if hit is not None and version is not None and hit.version == version:
                self.cached.move_to_end(user_id)
                return hit
        fresh = load_taste(self.store, user_id, self.vector_name, version)
        if version is not None:  # a known user whose library changed: keep the summary current too
            save_taste(self.store, user_id, self.vector_name, fresh.taste.clusters, len(fresh.records))
        with self.lock:
            self.cached[user_id] = fresh
            self.cached.move_to_end(user_id)
            while len(self.cached) > self.max_users:
                self.cached.popitem(last=False)
        return fresh
