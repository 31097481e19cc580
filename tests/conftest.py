from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest  # noqa: E402

from service.settings import Settings  # noqa: E402
from service.store import open_store  # noqa: E402


@pytest.fixture(params=["edge", "server"])
def store(request, tmp_path):
    """The same store suite runs on Qdrant Edge (embedded) and qdrant-client (`:memory:` server stand-in)."""
    if request.param == "edge":
        settings = Settings(data_dir=tmp_path / "data")
    else:
        settings = Settings(data_dir=tmp_path / "data", qdrant_url=":memory:")
    s = open_store(settings)
    yield s
    s.close()
