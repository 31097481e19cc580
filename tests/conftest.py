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


# --- a small generated music library, analysed once per session ------------------------------------
import subprocess  # noqa: E402
from pathlib import Path  # noqa: E402

from redis_server import RedisServer  # noqa: E402

from service.tools.procs import free_port, musicrec_cmd, wait_for  # noqa: E402,F401 - the tests' helpers
from service.tools.synth import chord_progression, drum_track, tone_track, write_audio  # noqa: E402

API_KEY = "test-key-123"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture(scope="session")
def music_dir(tmp_path_factory) -> Path:
    """Two 'albums' of clearly different music (sustained tones vs drums) plus a few chords."""
    root = tmp_path_factory.mktemp("music")
    (root / "tones").mkdir()
    (root / "drums").mkdir()
    for i in range(5):
        write_audio(
            root / "tones" / f"tone{i}.ogg",
            tone_track(36, (200.0 + 25 * i, 300.0 + 30 * i, 450.0), seed=i),
            tags={
                "title": f"Tone {i}",
                "artist": f"Tonal {i % 2}",
                "album": "Tones",
                "genre": "ambient",
                "date": str(2000 + i),
            },
        )
        write_audio(
            root / "drums" / f"drum{i}.flac",
            drum_track(36, bpm=100 + 8 * i, seed=i),
            tags={
                "title": f"Drum {i}",
                "artist": "Beats",
                "album": "Drums",
                "genre": "techno",
                "date": str(2010 + i),
            },
        )
    for i in range(2):
        write_audio(root / f"chords{i}.wav", chord_progression(34, seed=10 + i))
    return root


@pytest.fixture(scope="session")
def ingested(tmp_path_factory, music_dir):
    """(settings, store) with the generated library ingested into an embedded store."""
    from service.catalog.ingest import ingest
    from service.catalog.sinks import StoreSink
    from service.catalog.vector import track_vectors

    data = tmp_path_factory.mktemp("data")
    settings = Settings(data_dir=data, api_keys=(API_KEY,))
    store = open_store(settings)
    summary = ingest([music_dir], StoreSink(store, track_vectors()), workers=2)
    assert summary.failed == 0 and summary.ok == 12, summary.results
    yield settings, store
    store.close()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> RedisServer:
    """One private redis-server for the whole test session (a missing binary fails, saying how to install it)."""
    try:
        server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    """An empty database of the private server (ours to flush)."""
    import redis

    client = redis.Redis.from_url(redis_server.url())
    client.flushdb()
    client.close()
    return redis_server.url()


def run_cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(musicrec_cmd(*args), capture_output=True, text=True, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def client(ingested):
    """The API (TestClient) over the ingested library; `client.store` is its store."""
    from litestar.testing import TestClient

    from service.api.app import create_app

    settings, store = ingested
    with TestClient(create_app(settings, store=store)) as c:
        c.store = store
        yield c


def keep_on_loopback(context) -> list[str]:
    """Make a Playwright browser context refuse every request that leaves 127.0.0.1 (the page and the docs must
    work offline); returns the list the refused URLs are appended to."""
    from urllib.parse import urlsplit

    outside: list[str] = []

    def guard(route):
        if urlsplit(route.request.url).hostname != "127.0.0.1":
            outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", guard)
    return outside
