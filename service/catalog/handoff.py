"""The store side of `musicrec reindex` inside the server that owns the embedded store: the CLI analyses the audio
(all cores, no analysis code in the API process) and hands the results over page by page (api/ingest.py)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from service.catalog.reindex import ReindexReport, ReindexSteps
from service.catalog.vector import checked_analysed
from service.errors import BadRequest
from service.ids import canonical, is_uuid
from service.store.base import VectorStore


class ReindexHandOff:
    def __init__(self, store: VectorStore, *, embedding: bool = True):
        self.store = store
        self.embedding = embedding
        self._steps: ReindexSteps | None = None
        self._lock = threading.Lock()

    def begin(self) -> ReindexSteps:
        with self._lock:
            self._steps = ReindexSteps(self.store, embedding=self.embedding)
            if self._steps.needed():
                self._steps.begin()
            return self._steps

    def steps(self) -> ReindexSteps:
        if self._steps is None:
            raise BadRequest("no reindex has begun here: POST /v1/ingest/reindex/begin first", {"field": "reindex"})
        return self._steps

    def store_results(self, results: Sequence[tuple[str, dict[str, Any]]]) -> None:
        steps = self.steps()
        checked = []
        for i, (track_id, result) in enumerate(results):
            if not is_uuid(track_id):
                raise BadRequest(f"items[{i}].id must be a track id", {"field": f"items[{i}].id"})
            if "error" in result:
                checked.append((canonical(track_id), {"error": str(result["error"])}))
                continue
            vectors = checked_analysed(result.get("vectors") or {}, steps.vectors, f"items[{i}].vectors")
            checked.append((canonical(track_id), {"vectors": vectors, "styles": list(result.get("styles") or [])}))
        steps.store_results(checked)

    def finish(self) -> ReindexReport:
        with self._lock:
            report = self.steps().finish()
            self._steps = None
            return report
