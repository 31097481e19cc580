"""Where `musicrec ingest` puts analysed tracks: the store directly, or the server that owns it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx

from service.analysis.vectorset import VectorSet
from service.catalog.centre import CatalogueCentre
from service.catalog.reindex import ReindexReport
from service.catalog.writes import (
    delete_tracks,
    existing_track_ids,
    file_tracks,
    find_tracks,
    link_tracks,
    store_tracks,
    update_tracks,
)
from service.errors import DiskFull, MusicrecError, Unavailable
from service.store.base import PointData, Record, VectorStore


class StoreSink:
    """Into the store directly: the analysed vectors are completed with the catalogue's centre first."""

    def __init__(self, store: VectorStore, vectors: VectorSet):
        self.store_ = store
        self.vectors = vectors
        self.centre = CatalogueCentre(store, vectors)

    @property
    def embedding(self) -> bool:
        return self.vectors.embedding

    def existing(self, ids: list[str]) -> set[str]:
        return existing_track_ids(self.store_, ids)

    def store(self, points: list[PointData], user_id: str | None) -> None:
        points = [replace(p, vectors=self.centre.derive(p.vectors)) for p in points]
        store_tracks(self.store_, points, vector_name=self.vectors.query, user_id=user_id)

    def link(self, track_ids: list[str], user_id: str) -> None:
        link_tracks(self.store_, user_id, track_ids, vector_name=self.vectors.query)

    def finish(self) -> None:
        """The run is over: re-fit the catalogue's centre if it grew enough."""
        self.centre.refresh()

    def find(self, field: str, values: list[str]) -> list[Record]:
        return find_tracks(self.store_, field, values)

    def update(self, updates: list[tuple[str, dict[str, Any]]]) -> None:
        update_tracks(self.store_, updates)

    def delete(self, track_ids: list[str]) -> tuple[int, int]:
        return delete_tracks(self.store_, track_ids)

    def file_tracks(self) -> Iterator[tuple[str, str]]:
        return file_tracks(self.store_)


class HttpSink:
    """Hands analysed tracks to a running `musicrec serve` (POST /v1/ingest/*)."""

    def __init__(self, base_url: str, api_key: str | None, embedding: bool):
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=30)
        self.sends_key = bool(api_key)
        self.embedding = embedding  # what to analyse; the server keeps what its store holds

    def _post(self, path: str, body: dict) -> dict:
        try:
            resp = self.client.post(path, json=body)
        except httpx.HTTPError as exc:
            raise Unavailable(f"the running server at {self.client.base_url} is unreachable: {exc}") from None
        if resp.status_code == 401 and not self.sends_key:
            raise MusicrecError(
                f"the running server at {self.client.base_url} needs an API key and none was sent: "
                "set MUSICREC_API_KEYS to one of the server's keys"
            )
        if resp.status_code == 401:
            raise MusicrecError(
                "the running server refused our API key: set MUSICREC_API_KEYS to one of the server's keys"
            )
        if resp.status_code >= 400:
            try:
                code, message = resp.json()["error"]["code"], resp.json()["error"]["message"]
            except Exception:
                code, message = None, resp.text[:200]
            if code == DiskFull.code:
                raise DiskFull(f"the server at {self.client.base_url}: {message}")
            raise MusicrecError(f"the server answered {resp.status_code}: {message}")
        return resp.json() if resp.content else {}

    def check(self) -> None:
        self._post("/v1/ingest/lookup", {"ids": []})

    def existing(self, ids: list[str]) -> set[str]:
        return set(self._post("/v1/ingest/lookup", {"ids": ids})["ids"]) if ids else set()

    def store(self, points: list[PointData], user_id: str | None) -> None:
        body = {
            "points": [
                {
                    "id": p.id,
                    "payload": p.payload,
                    "vectors": {name: list(v) for name, v in p.vectors.items()},
                    "userId": user_id,
                }
                for p in points
            ]
        }
        self._post("/v1/ingest/points", body)

    def link(self, track_ids: list[str], user_id: str) -> None:
        self._post("/v1/ingest/library", {"userId": user_id, "trackIds": track_ids})

    def finish(self) -> None:
        """Nothing to do: the server re-fits its catalogue's centre as tracks arrive."""

    def find(self, field: str, values: list[str]) -> list[Record]:
        if not values:
            return []
        items = self._post("/v1/ingest/find", {"field": field, "values": values})["items"]
        return [Record(id=i["id"], payload=i["payload"]) for i in items]

    def update(self, updates: list[tuple[str, dict[str, Any]]]) -> None:
        self._post("/v1/ingest/update", {"items": [{"id": i, "payload": p} for i, p in updates]})

    def delete(self, track_ids: list[str]) -> tuple[int, int]:
        body = self._post("/v1/ingest/delete", {"ids": track_ids})
        return body["tracks"], body["libraryEntries"]

    def file_tracks(self) -> Iterator[tuple[str, str]]:
        cursor = None
        while True:
            body = self._post("/v1/ingest/files", {"cursor": cursor})
            for item in body["items"]:
                yield item["id"], item["path"]
            cursor = body["nextCursor"]
            if cursor is None:
                return

    def close(self) -> None:
        self.client.close()


class HttpReindexTarget:
    """The store side of a reindex in the running server that owns the store (POST /v1/ingest/reindex/*)."""

    def __init__(self, sink: HttpSink):
        self.sink = sink
        begun = sink._post("/v1/ingest/reindex/begin", {})
        self.embedding = bool(begun["embedding"])
        self._needed = bool(begun["needed"])
        self.report = ReindexReport(source=begun["source"], target=begun["target"])

    def needed(self) -> bool:
        return self._needed

    def begin(self) -> None:
        """Begun already (the server created the new collections when asked what is needed)."""

    def pending(self, cursor: str | None, size: int = 64) -> tuple[list[dict[str, Any]], str | None]:
        body = self.sink._post("/v1/ingest/reindex/pending", {"cursor": cursor, "size": size})
        return body["items"], body["nextCursor"]

    def store_results(self, results: list[tuple[str, dict[str, Any]]]) -> None:
        items = [{"id": track_id, **result} for track_id, result in results]
        self.sink._post("/v1/ingest/reindex/results", {"items": items})

    def finish(self) -> ReindexReport:
        body = self.sink._post("/v1/ingest/reindex/finish", {})
        report = ReindexReport(source=body["from"], target=body["to"])
        report.tracks, report.analysed, report.resumed = body["tracks"], body["analysed"], body["resumed"]
        report.kept_dsp_only, report.library, report.users = body["keptDspOnly"], body["libraryEntries"], body["users"]
        report.swapped = body["swapped"]
        return report
