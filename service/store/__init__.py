"""The vector store: `open_store(settings)` picks the backend (Qdrant Edge embedded, or a server)."""

from __future__ import annotations

from service.settings import Settings
from service.store.base import VectorStore


def open_store(settings: Settings) -> VectorStore:
    """Open (and bootstrap) the store the settings ask for."""
    settings.check_qdrant_auth()
    if settings.qdrant_url:
        from service.store.server import ServerStore

        store: VectorStore = ServerStore(settings.qdrant_url, settings.qdrant_api_key)
    else:
        from service.store.edge import EdgeStore

        store = EdgeStore(
            settings.data_dir, min_free_mb=settings.min_free_mb, flush_interval_s=settings.flush_interval_s
        )
    try:
        store.ensure_collections()
    except BaseException:
        store.close()
        raise
    return store
