"""One suite for both store backends: what the service relies on behaves the same on each."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from service.errors import StoreLocked
from service.settings import Settings
from service.store import open_store
from service.store.base import Filter, HasId, Match, MatchAny, Nearest, PointData, Range, Recommend
from service.store.schema import load_specs

VEC = "librosa_v1"
DIM = load_specs()["tracks"].vector_size(VEC)


def make_points(n: int, seed: int = 0) -> list[PointData]:
    rng = np.random.default_rng(seed)
    points = []
    for i in range(n):
        points.append(
            PointData(
                id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"t{i}")),
                payload={
                    "title": f"t{i}",
                    "artists": [f"artist{i % 5}"],
                    "genres": ["rock" if i % 2 else "jazz"],
                    "album": f"album{i % 3}",
                    "tempo": 60.0 + i,
                    "year": 1990 + i % 20,
                    "durationS": 100.0 + i,
                    "source": {"kind": "file"},
                },
                vectors={VEC: rng.normal(size=DIM).astype(np.float32).tolist()},
            )
        )
    return points


def test_bootstrap_is_idempotent(store):
    store.ensure_collections()
    store.ensure_collections()
    assert store.count("tracks") == 0
    assert store.count("library") == 0
    assert store.count("users") == 0


def test_upsert_retrieve_count(store):
    points = make_points(30)
    store.upsert("tracks", points)
    store.upsert("tracks", points[:5])  # same ids: no duplicates
    assert store.count("tracks") == 30
    got = store.retrieve("tracks", [points[3].id, "not-a-uuid", str(uuid.uuid4())], with_vector=VEC)
    assert [r.id for r in got] == [points[3].id]
    assert got[0].payload["title"] == "t3"
    v = np.array(got[0].vector)
    assert v.shape == (DIM,)
    # cosine collections keep vectors normalised
    assert abs(np.linalg.norm(v) - 1) < 1e-4


def test_filters_really_filter(store):
    store.upsert("tracks", make_points(40))
    jazz = Filter(must=(Match("genres", "jazz"),))
    assert store.count("tracks", jazz) == 20
    fast = Filter(must=(Range("tempo", gte=80, lte=89.5),))
    assert store.count("tracks", fast) == 10
    two_artists = Filter(must=(MatchAny("artists", ("artist1", "artist2")),))
    assert store.count("tracks", two_artists) == 16
    not_artist0 = Filter(must_not=(Match("artists", "artist0"),))
    assert store.count("tracks", not_artist0) == 32
    nested = Filter(must=(Match("source.kind", "file"),))
    assert store.count("tracks", nested) == 40
    res = store.query("tracks", Nearest([1.0] * DIM), using=VEC, limit=50, filter=Filter(must=(jazz, fast)))
    assert res and all(r.payload["genres"] == ["jazz"] and 80 <= r.payload["tempo"] <= 89.5 for r in res)


def test_nearest_exact_and_excluding_ids(store):
    points = make_points(50, seed=1)
    store.upsert("tracks", points)
    target = points[7]
    res = store.query("tracks", Nearest(target.vectors[VEC]), using=VEC, limit=5, exact=True)
    assert res[0].id == target.id and res[0].score == pytest.approx(1.0, abs=1e-4)
    scores = [r.score for r in res]
    assert scores == sorted(scores, reverse=True)
    res = store.query(
        "tracks",
        Nearest(target.vectors[VEC]),
        using=VEC,
        limit=5,
        filter=Filter(must_not=(HasId((target.id,)),)),
    )
    assert target.id not in {r.id for r in res} and len(res) == 5


def test_recommend_with_negatives(store):
    points = make_points(60, seed=2)
    store.upsert("tracks", points)
    pos, neg = points[0].vectors[VEC], points[1].vectors[VEC]
    res = store.query("tracks", Recommend((pos,), (neg,)), using=VEC, limit=10, with_vector=True)
    assert len(res) == 10
    assert res[0].id == points[0].id  # the positive itself is closest
    assert points[1].id not in {r.id for r in res[:3]}


def test_scroll_pages_through_everything(store):
    points = make_points(23)
    store.upsert("tracks", points)
    seen, offset = [], None
    while True:
        page, offset = store.scroll("tracks", limit=10, offset=offset)
        seen += [r.id for r in page]
        if offset is None:
            break
    assert sorted(seen) == sorted(p.id for p in points)
    page, offset = store.scroll("tracks", limit=100, filter=Filter(must=(Match("album", "album1"),)))
    assert {r.payload["album"] for r in page} == {"album1"} and offset is None


def test_delete(store):
    points = make_points(5)
    store.upsert("tracks", points)
    store.delete("tracks", [points[0].id])
    assert store.count("tracks") == 4


def test_edge_store_persists_and_is_locked_while_open(tmp_path):
    settings = Settings(data_dir=tmp_path)
    first = open_store(settings)
    first.upsert("tracks", make_points(3))
    with pytest.raises(StoreLocked) as err:
        open_store(settings)
    assert "in use" in err.value.message
    first.close()
    again = open_store(settings)
    try:
        assert again.count("tracks") == 3
    finally:
        again.close()


def test_set_payload_merges_and_points_may_have_no_vector(store):
    uid = str(uuid.uuid4())
    store.upsert("users", [PointData(id=uid, payload={"userId": "u1", "a": 1})])  # no vector yet
    store.set_payload("users", uid, {"b": 2})
    store.set_payload("users", uid, {"a": 3})
    (rec,) = store.retrieve("users", [uid])
    assert rec.payload == {"userId": "u1", "a": 3, "b": 2}
    store.upsert("users", [PointData(id=uid, payload=rec.payload, vectors={VEC: [1.0] * DIM})])
    store.set_payload("users", uid, {"c": 4})
    (rec,) = store.retrieve("users", [uid], with_vector=VEC)
    assert rec.payload["c"] == 4 and rec.vector is not None


def test_the_collections_vectors_are_checked_against_the_extractors():
    import copy

    from service.analysis import extractor, vectorset
    from service.catalog.vector import track_vectors
    from service.errors import ConfigError
    from service.store.schema import parse_spec

    specs = load_specs()
    assert track_vectors(specs).query == vectorset.FUSED
    assert track_vectors(specs, embedding=False).query == extractor.VECTOR_NAME
    for collection in ("tracks", "library", "users"):
        raw = copy.deepcopy(specs[collection].raw)
        raw["collection"]["vectors"][extractor.VECTOR_NAME]["size"] = extractor.VECTOR_SIZE + 1
        with pytest.raises(ConfigError, match="extractors produce"):
            track_vectors({**specs, collection: parse_spec(raw)})
        raw = copy.deepcopy(specs[collection].raw)
        del raw["collection"]["vectors"][vectorset.EMBEDDING]
        with pytest.raises(ConfigError, match=f"collections/{collection}.json"):
            track_vectors({**specs, collection: parse_spec(raw)})


def test_update_vectors_touches_only_the_vector(store):
    pid = str(uuid.uuid4())
    store.upsert("users", [PointData(id=pid, payload={"userId": "u", "served": 3})])  # no vector yet
    vec_name = next(iter(load_specs()["users"].vector_params()))
    size = load_specs()["users"].vector_size(vec_name)
    store.update_vectors("users", pid, {vec_name: [1.0] + [0.0] * (size - 1)})
    got = store.retrieve("users", [pid], with_vector=vec_name)[0]
    assert got.payload == {"userId": "u", "served": 3}
    assert got.vector is not None and got.vector[0] == pytest.approx(1.0)


def test_facet_counts_values_most_frequent_first(store):
    from service.store.base import FacetHit

    points = make_points(30)
    points[0].payload["genres"] = ["jazz", "blues", "jazz"]  # a value held twice counts once
    store.upsert("tracks", points)
    genres = store.facet("tracks", "genres", limit=10)
    assert genres == [FacetHit("jazz", 15), FacetHit("rock", 15), FacetHit("blues", 1)]
    assert store.facet("tracks", "genres", limit=1) == [FacetHit("jazz", 15)]
    years = store.facet("tracks", "year", limit=100)  # an integer field: integer values
    assert len(years) == 20 and years[:2] == [FacetHit(1990, 2), FacetHit(1991, 2)]
    assert all(isinstance(h.value, int) for h in years) and sum(h.count for h in years) == 30
    # counted among the points a filter keeps
    some = Filter(must=(HasId(tuple(p.id for p in points[:6])),))
    assert store.facet("tracks", "album", limit=10, filter=some) == [
        FacetHit("album0", 2),
        FacetHit("album1", 2),
        FacetHit("album2", 2),
    ]
    fast = Filter(must=(Range("tempo", gte=85),))
    assert store.facet("tracks", "artists", limit=10, filter=fast) == [
        FacetHit("artist0", 1),
        FacetHit("artist1", 1),
        FacetHit("artist2", 1),
        FacetHit("artist3", 1),
        FacetHit("artist4", 1),
    ]
    assert store.facet("tracks", "genres", limit=10, filter=Filter(must=(Match("genres", "none"),))) == []
