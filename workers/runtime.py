"""What the actors of one process share: settings, the store, the job store, the YouTube matcher.

Dramatiq actors are module-level functions, so the process keeps one context, set once by
`workers.setup.setup()` when the process starts (in-process in `musicrec serve`, or per worker process
of `musicrec worker`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from service.analysis.vectorset import VectorSet
from service.catalog.centre import CatalogueCentre
from service.settings import Settings
from service.store.base import VectorStore
from service.sync.jobs import JobStore
from service.sync.youtube import MemoryQuota, QuotaLedger, YouTubeMatcher
from workers.limits import Limits


@dataclass
class Runtime:
    settings: Settings
    store: VectorStore
    jobs: JobStore
    vectors: VectorSet
    centre: CatalogueCentre
    quota: QuotaLedger = field(default_factory=MemoryQuota)
    limits: Limits = field(default_factory=Limits.create)
    tmp_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))
    _matcher: YouTubeMatcher | None = None

    def matcher(self) -> YouTubeMatcher:
        """One matcher per process: it is thread-safe and caches its API clients."""
        if self._matcher is None:
            self._matcher = YouTubeMatcher(
                self.settings.youtube_api_keys, self.settings.youtube_api_url, quota=self.quota
            )
        return self._matcher


_current: Runtime | None = None


def init(runtime: Runtime) -> None:
    global _current
    _current = runtime


def get() -> Runtime:
    if _current is None:
        raise RuntimeError("workers.runtime is not initialised: start workers through workers.setup")
    return _current
