"""The Spotify sync pipeline's steps, as plain functions over the store and the job store.

Actors (workers/actors.py) call these and only add what Dramatiq does: queues, retries, delays.
Every step is idempotent: library points are merged per (user, track), a track point's id comes from
its Spotify id, and the job counts each track once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from service.catalog.tracks import track_payload
from service.ids import library_point_id, spotify_track_id, user_point_id
from service.store.base import Filter, Match, PointData, Record, VectorStore
from service.store.schema import TRACKS
from service.sync.jobs import JobStore
from service.sync.spotify import LibraryEntry, SpotifyLibrary, SpotifyTrack
from service.taste import library
from service.taste.payloads import LibraryEntryPayload, read_entry, to_payload, user_fields
from service.taste.userpoints import ensure_user, touch_library
from service.taste.users import USERS

BATCH = 256


def _retrieve(store: VectorStore, collection: str, ids: Sequence[str], vector_name: str | None) -> dict[str, Record]:
    out: dict[str, Record] = {}
    for i in range(0, len(ids), BATCH):
        for r in store.retrieve(collection, list(ids[i : i + BATCH]), with_vector=vector_name):
            out[r.id] = r
    return out


def pending_entry(user_id: str, entry: LibraryEntry, existing: dict[str, Any] | None, now: float) -> PointData:
    """A library point for a track not analysed yet: no vector until the analysis lands."""
    old = read_entry("?", existing) if existing else None
    t = entry.track
    track_id = spotify_track_id(t.spotify_id)
    old_reasons = old.reasons if old else []
    payload = LibraryEntryPayload(
        user_id=user_id,
        track_id=track_id,
        spotify_id=t.spotify_id,
        title=t.title,
        artists=list(t.artists),
        analysed=False,
        status="pending",
        reasons=old_reasons + [r for r in sorted(entry.reasons) if r not in old_reasons],
        ranks={**(old.ranks if old else {}), **entry.ranks},
        genres=entry.genres,
        weight=old.weight if old else 1.0,
        added_at=old.added_at if old else now,
        updated_at=now,
    )
    return PointData(id=library_point_id(user_id, track_id), payload=to_payload(payload))


def plan_sync(
    store: VectorStore, jobs: JobStore, job_id: str, user_id: str, lib: SpotifyLibrary, vector_name: str
) -> list[tuple[SpotifyTrack, list[str]]]:
    """Write the user's library points, start the job, count what is analysed already; return the
    (track, genres) pairs that still need a match + analysis."""
    entries = list(lib.entries.values())
    track_ids = [spotify_track_id(e.track.spotify_id) for e in entries]
    analysed = _retrieve(store, TRACKS, track_ids, vector_name)
    existing = {
        r.payload["trackId"]: r.payload
        for r in _retrieve(store, library.LIBRARY, [library_point_id(user_id, t) for t in track_ids], None).values()
    }
    now = time.time()
    points = []
    for entry, track_id in zip(entries, track_ids, strict=True):
        if track_id in analysed:
            points.append(
                library.merged_entry(
                    user_id,
                    analysed[track_id],
                    vector_name,
                    add=sorted(entry.reasons),
                    existing=existing.get(track_id),
                    ranks=entry.ranks,
                    genres=entry.genres,
                    now=now,
                )
            )
        else:
            points.append(pending_entry(user_id, entry, existing.get(track_id), now))
    for i in range(0, len(points), BATCH):
        store.upsert(library.LIBRARY, points[i : i + BATCH])
    touch_library(store, user_id)
    jobs.start(job_id, total=len(entries), ignored=lib.ignored)
    todo = []
    for entry, track_id in zip(entries, track_ids, strict=True):
        if track_id in analysed:
            jobs.finish_track(job_id, entry.track.spotify_id)
        else:
            todo.append((entry.track, entry.genres))
    return todo


def spotify_track_payload(
    track: SpotifyTrack, genres: list[str], *, video_id: str, confidence: float, **analysis: Any
) -> dict[str, Any]:
    return track_payload(
        track_id=spotify_track_id(track.spotify_id),
        title=track.title,
        artists=list(track.artists),
        album=track.album,
        genres=genres,
        year=track.year,
        source={"kind": "spotify", "spotifyId": track.spotify_id, "youtubeId": video_id},
        match_confidence=confidence,
        **analysis,
    )


def store_analysed(store: VectorStore, payload: dict[str, Any], vectors: dict[str, list[float]], query: str) -> None:
    """Upsert the track (every stored vector) and give its compared vector to every library entry waiting for it."""
    store.upsert(TRACKS, [PointData(id=payload["trackId"], payload=payload, vectors=vectors)])
    give_to_waiting(store, Record(id=payload["trackId"], payload=payload, vector=vectors[query]), query)


def give_to_waiting(store: VectorStore, track: Record, query: str) -> None:
    """Every user's library entry still waiting for this analysed track gets its vector `query` (all users)."""
    waiting, _ = store.scroll(
        library.LIBRARY, limit=10_000, filter=Filter(must=(Match("trackId", track.id), Match("status", "pending")))
    )
    for entry in waiting:
        library.add_to_library(store, entry.payload["userId"], [track], query, add=[])


def finish_job(store: VectorStore, jobs: JobStore, job_id: str, user_id: str) -> bool:
    """Mark the job done when every track has finished; stamp the user's last sync."""
    if not jobs.complete_if_finished(job_id):
        return False
    ensure_user(store, user_id)
    store.set_payload(USERS, user_point_id(user_id), user_fields(last_sync_at=time.time()))
    store.flush()  # the job is done: its writes are on disk
    return True


def failure(track: SpotifyTrack, reason: str) -> dict[str, Any]:
    return {"spotifyId": track.spotify_id, "title": track.title, "artists": list(track.artists), "reason": reason}
