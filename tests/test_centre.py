"""The learned embedding in the store: centring on the catalogue (fitted as it grows, vectors re-derived without
audio), the fused vector's maths, `styles` as a filter and in `because`. Both store backends."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from conftest import AUTH

from service.analysis import centring, vectorset
from service.analysis.vectorset import DSP, EMBEDDING, EMBEDDING_RAW, FUSED, VectorSet
from service.catalog.centre import CatalogueCentre
from service.catalog.sinks import StoreSink
from service.store.base import PointData
from service.taste.library import add_to_library
from service.taste.userpoints import library_version


def test_the_fused_cosine_is_the_weighted_sum_of_the_two():
    rng = np.random.default_rng(1)
    d1, d2 = rng.normal(size=(2, 71))
    e1, e2 = rng.normal(size=(2, 200))
    f1, f2 = centring.fuse(d1, e1), centring.fuse(d2, e2)
    cos = lambda a, b: float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))  # noqa: E731
    w = vectorset.DSP_WEIGHT
    assert np.linalg.norm(f1) == pytest.approx(1.0, abs=1e-6)
    assert cos(f1, f2) == pytest.approx(w * cos(d1, d2) + (1 - w) * cos(e1, e2), abs=1e-5)


def test_centring_removes_the_common_direction():
    rng = np.random.default_rng(2)
    common = rng.uniform(1, 2, 200)
    raw = common + 0.1 * rng.normal(size=(50, 200))  # all near one direction: raw cosines crowd near 1
    unit = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    assert (unit @ unit.T)[np.triu_indices(50, 1)].min() > 0.95
    c = centring.centred(raw, centring.centre_of(raw))
    assert abs((c @ c.T)[np.triu_indices(50, 1)].mean()) < 0.1
    assert centring.drift(common, common, 1.0) == 0.0


def _points(n: int, offset: np.ndarray, seed: int) -> list[PointData]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        tid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"centre-{seed}-{i}"))
        raw = centring.default_centre() + offset + 0.05 * rng.normal(size=200)
        payload = {"trackId": tid, "title": f"t{i}", "artists": [], "genres": [], "styles": ["chill"]}
        out.append(
            PointData(id=tid, payload=payload, vectors={DSP: rng.normal(size=71).tolist(), EMBEDDING_RAW: raw.tolist()})
        )
    return out


def test_the_centre_follows_the_catalogue_and_rederives_the_stored_vectors(store):
    sink = StoreSink(store, VectorSet())
    offset = np.full(200, 0.5)  # this catalogue sits far from the shipped default centre
    first = _points(10, offset, seed=1)
    sink.store(first, "ann")
    centre = CatalogueCentre(store, VectorSet())
    assert centre.current().tracks == 0 and not centre.due()  # under 20 tracks: the default centre
    stored = store.retrieve("tracks", [first[0].id], with_vector=(EMBEDDING, FUSED, EMBEDDING_RAW))[0].vectors
    expected = centring.centred(first[0].vectors[EMBEDDING_RAW], centring.default_centre())
    assert np.allclose(stored[EMBEDDING], expected, atol=1e-5)
    assert np.allclose(stored[EMBEDDING_RAW], first[0].vectors[EMBEDDING_RAW], atol=1e-5)  # kept exactly (dot)
    version = library_version(store, "ann")

    sink.store(_points(15, offset, seed=2), None)  # 25 tracks: time to fit the catalogue's own centre
    assert centre.due()
    done = centre.refresh()
    assert done is not None and done.tracks == 25 and done.drift > 0.05 and done.rewritten == 25
    own = centring.centre_of(np.asarray([p.vectors[EMBEDDING_RAW] for p in first + _points(15, offset, 2)]))
    fresh = CatalogueCentre(store, VectorSet())  # another process reads the same centre from the store
    assert np.allclose(fresh.current().vector, own, atol=1e-4) and fresh.current().tracks == 25
    stored = store.retrieve("tracks", [first[0].id], with_vector=(EMBEDDING, FUSED))[0].vectors
    assert np.allclose(stored[EMBEDDING], centring.centred(first[0].vectors[EMBEDDING_RAW], own), atol=1e-4)
    entry = store.scroll("library", limit=10, with_vector=FUSED)[0]
    assert entry and all(
        np.allclose(e.vector, stored[FUSED], atol=1e-4) for e in entry if e.payload["trackId"] == first[0].id
    )
    assert library_version(store, "ann") != version  # cached tastes are stale now

    assert not centre.due() and centre.refresh() is None  # 25 < 1.25 x 25: nothing to do
    # 33 >= 31.25 tracks, but these sit symmetrically around the centre: it does not move, nothing is rewritten
    rng = np.random.default_rng(5)
    pairs = []
    for i in range(4):
        delta = 0.05 * rng.normal(size=200)
        for sign in (1, -1):
            tid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"pair-{i}-{sign}"))
            raw = (fresh.current().vector + sign * delta).tolist()
            pairs.append(PointData(id=tid, payload={"trackId": tid}, vectors={DSP: [1.0] * 71, EMBEDDING_RAW: raw}))
    sink.store(pairs, None)
    quiet = centre.refresh()
    assert quiet is not None and quiet.tracks == 33 and quiet.drift < 0.01 and quiet.rewritten == 0


def test_style_filter_and_because(client):
    items = client.get("/v1/tracks?limit=50", headers=AUTH).json()["items"]
    track = next(t for t in items if t["styles"])
    style = track["styles"][0]
    similar = client.get(f"/v1/tracks/{track['trackId']}/similar?limit=20&style={style}", headers=AUTH).json()["items"]
    with_style = [t for t in items if style in t["styles"] and t["trackId"] != track["trackId"]]
    assert len(similar) == len(with_style) and all(style in t["styles"] for t in similar)
    assert all("(both " in t["because"] for t in similar)  # what the two share, in `because`
    none = client.post(
        "/v1/recommendations",
        headers=AUTH,
        json={"seedTrackIds": [track["trackId"]], "filter": {"styles": ["no-such-style"]}},
    )
    assert none.status_code == 200 and none.json()["items"] == []
    body = {"seedTrackIds": [track["trackId"]], "filter": {"styles": [style.upper()]}, "limit": 20}
    upper = client.post("/v1/recommendations", headers=AUTH, json=body).json()["items"]
    assert {t["trackId"] for t in upper} == {t["trackId"] for t in similar}  # styles match whatever the case


def test_a_user_library_carries_the_compared_vector(store):
    points = _points(3, np.zeros(200), seed=4)
    StoreSink(store, VectorSet()).store(points, None)
    tracks = store.retrieve("tracks", [p.id for p in points], with_vector=FUSED)
    add_to_library(store, "bob", tracks, FUSED, add=["saved"])
    entries = store.scroll("library", limit=10, with_vector=FUSED)[0]
    assert len(entries) == 3 and all(len(e.vector) == vectorset.SIZES[FUSED] for e in entries)


def test_the_server_refits_the_centre_off_the_request_when_handed_tracks(tmp_path):
    """`musicrec ingest` handing tracks to a running server: once the catalogue has 20, the server fits its own centre
    in the background (the hand-off request does not wait for it)."""
    from conftest import API_KEY, wait_for
    from litestar.testing import TestClient

    from service.api.app import create_app
    from service.settings import Settings
    from service.store import open_store

    settings = Settings(data_dir=tmp_path / "data", api_keys=(API_KEY,))
    store = open_store(settings)
    try:
        with TestClient(create_app(settings, store=store)) as client:
            points = _points(25, np.full(200, 0.3), seed=9)
            body = {
                "points": [
                    {
                        "id": p.id,
                        "payload": {
                            "trackId": p.id,
                            "title": p.payload["title"],
                            "artists": [],
                            "genres": [],
                            "durationS": 60.0,
                            "tempo": 120.0,
                            "source": {"kind": "file", "path": f"/music/{p.id}.ogg"},
                            "analysis": {"extractor": "librosa", "version": 1},
                        },
                        "vectors": p.vectors,
                    }
                    for p in points
                ]
            }
            got = client.post("/v1/ingest/points", headers=AUTH, json=body)
            assert got.status_code == 200 and len(got.json()["created"]) == 25
            centre = CatalogueCentre(store, VectorSet())
            wait_for(lambda: CatalogueCentre(store, VectorSet()).current().tracks == 25, 30, what="the centre refit")
            assert not np.allclose(centre.current().vector, centring.default_centre())
    finally:
        store.close()
