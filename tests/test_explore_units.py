"""Pure parts of the explore features: map layout and its cache, song-path maths, search tokens,
M3U8 text, HTTP ranges, signed audio links; and search tokens on both store backends."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from service.api.auth import AudioLinks
from service.api.ranges import Unsatisfiable, parse_range
from service.catalog.map import MapCache, pca_2d
from service.catalog.playlists import m3u8, track_location
from service.catalog.search import FIELD, query_conditions, search_tokens, with_search_tokens, words
from service.recommend.paths import walk, waypoints
from service.store.base import Filter, PointData
from service.store.schema import load_specs

VEC = "librosa_v1"
DIM = load_specs()["tracks"].vector_size(VEC)


# --- map -----------------------------------------------------------------------------------------
def test_pca_separates_clusters_and_is_deterministic():
    rng = np.random.default_rng(0)
    a = rng.normal(size=DIM)
    b = -a + rng.normal(size=DIM) * 0.1
    x = np.vstack([a + rng.normal(size=(20, DIM)) * 0.05, b + rng.normal(size=(20, DIM)) * 0.05])
    xy = pca_2d(x)
    assert xy.shape == (40, 2) and xy.dtype == np.float32
    assert np.abs(xy).max() <= 1.0 + 1e-6
    assert np.sign(xy[:20, 0]).tolist().count(np.sign(xy[0, 0])) == 20  # one side of the first axis
    assert np.all(np.sign(xy[20:, 0]) == -np.sign(xy[0, 0]))
    assert np.array_equal(pca_2d(x), xy)
    assert np.allclose(pca_2d(x[::-1]), xy[::-1], atol=1e-5)  # the order of the points changes nothing


def test_pca_edge_cases():
    assert pca_2d(np.zeros((0, DIM))).shape == (0, 2)
    assert pca_2d(np.ones((1, DIM))).tolist() == [[0.0, 0.0]]
    assert np.all(pca_2d(np.ones((5, DIM))) == 0)  # no spread: no division by zero
    assert np.isfinite(pca_2d(np.eye(3, DIM))).all()


def test_map_cache_recomputes_only_when_the_fingerprint_moves():
    cache = MapCache()
    calls = []

    def load():
        calls.append(1)
        return ["a", "b", "c"], np.eye(3, DIM), [{}, {}, {}]

    first = cache.get((3, 0), load)
    assert cache.get((3, 0), load) is first and len(calls) == 1
    cache.get((3, 1), load)
    assert len(calls) == 2 and cache.computations == 2


# --- paths ---------------------------------------------------------------------------------------
def test_waypoints_run_from_one_vector_to_the_other():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=DIM), rng.normal(size=DIM)
    pts = waypoints(a, b, 7)
    assert pts.shape == (7, DIM)
    assert np.allclose(np.linalg.norm(pts, axis=1), 1)
    assert np.allclose(pts[0], a / np.linalg.norm(a)) and np.allclose(pts[-1], b / np.linalg.norm(b))
    to_b = pts @ (b / np.linalg.norm(b))
    assert np.all(np.diff(to_b) > 0)  # ever closer to the end
    same = waypoints(a, a, 4)
    assert np.allclose(same, a / np.linalg.norm(a))
    with pytest.raises(ValueError):
        waypoints(a, b, 1)


def test_walk_uses_each_track_once_and_keeps_both_ends():
    tracks = {f"t{i}": np.eye(5)[i] for i in range(5)}

    def nearest(point, used):
        left = [(k, float(v @ point)) for k, v in tracks.items() if k not in used]
        return max(left, key=lambda kv: kv[1]) if left else None

    pts = waypoints(tracks["t0"], tracks["t1"], 10)
    path = walk("t0", "t1", pts, nearest)
    ids = [p[0] for p in path]
    assert ids[0] == "t0" and ids[-1] == "t1"
    assert len(ids) == len(set(ids)) == 5  # only five tracks: fewer items, no repeats
    assert [p[2] for p in path][-1] == 9


# --- search --------------------------------------------------------------------------------------
def test_search_words_and_tokens():
    assert words("Beyoncé — Crazy_in Love!") == ["beyonce", "crazy", "in", "love"]
    tokens = search_tokens(["Tone 2", None, "Tonal"])
    assert {"t", "to", "ton", "tone", "tona", "tonal", "2"} == set(tokens)
    assert tokens == sorted(tokens)
    payload = with_search_tokens({"title": "Échos", "artists": ["Zoë"], "album": None})
    assert {"echos", "ech", "zoe"} <= set(payload[FIELD])
    assert [c.value for c in query_conditions("  ECHO  echo zo ")] == ["echo", "zo"]
    assert query_conditions("!!!") == ()


def test_search_tokens_filter_on_both_backends(store):
    points = [
        PointData(
            id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"s{i}")),
            payload=with_search_tokens({"title": title, "artists": [artist], "album": "Ålbum"}),
            vectors={VEC: np.random.default_rng(i).normal(size=DIM).tolist()},
        )
        for i, (title, artist) in enumerate([("Blue Monday", "New Order"), ("Blue Train", "Coltrane"), ("Red", "X")])
    ]
    store.upsert("tracks", points)

    def titles(q):
        found, _ = store.scroll("tracks", limit=10, filter=Filter(must=query_conditions(q)))
        return sorted(r.payload["title"] for r in found)

    assert titles("blue") == ["Blue Monday", "Blue Train"]
    assert titles("BLU mon") == ["Blue Monday"]
    assert titles("album red") == ["Red"]
    assert titles("coltrane monday") == []


# --- playlists -----------------------------------------------------------------------------------
def test_m3u8_text():
    file_source = {"kind": "file", "path": "/m/a.ogg"}
    file_track = {"title": "A", "artists": ["X", "Y"], "durationS": 61.6, "source": file_source}
    spotify = {"title": "B\nC", "artists": [], "durationS": 10, "source": {"kind": "spotify", "spotifyId": "abc"}}
    nowhere = {"title": "N", "source": {"kind": "spotify"}}
    text = m3u8([file_track, spotify, nowhere], name="My\nlist")
    assert text == "#EXTM3U\n#PLAYLIST:My list\n#EXTINF:62,X, Y - A\n/m/a.ogg\n#EXTINF:10,B C\nspotify:track:abc\n"
    assert track_location({"source": {"kind": "spotify", "youtubeId": "v1"}}).endswith("watch?v=v1")


# --- ranges and signed links ---------------------------------------------------------------------
def test_parse_range():
    assert parse_range(None, 100) is None
    assert parse_range("bytes=0-9", 100) == (0, 9)
    assert parse_range("bytes=90-200", 100) == (90, 99)
    assert parse_range("bytes=10-", 100) == (10, 99)
    assert parse_range("bytes=-10", 100) == (90, 99)
    assert parse_range("bytes=-500", 100) == (0, 99)
    assert parse_range("bytes=0-1,5-6", 100) is None  # several ranges: the whole file
    assert parse_range("items=0-1", 100) is None
    for bad in ("bytes=100-", "bytes=5-2", "bytes=-0"):
        with pytest.raises(Unsatisfiable):
            parse_range(bad, 100)


def test_audio_links():
    links = AudioLinks(("k1", "k2"))
    url, exp = links.url("abc", now=1000)
    assert url == f"/v1/tracks/abc/audio?exp={exp}&sig={url.rsplit('=', 1)[1]}" and exp == 1000 + links.ttl_s
    sig = url.rsplit("=", 1)[1]
    assert links.valid("abc", str(exp), sig, now=1001)
    assert not links.valid("abc", str(exp), sig, now=exp + 1)  # expired
    assert not links.valid("abd", str(exp), sig, now=1001)
    assert not links.valid("abc", "x", sig, now=1001)
    assert AudioLinks(("k2", "k1")).valid("abc", str(exp), sig, now=1001)  # same keys, any order
    assert not AudioLinks(("k1",)).valid("abc", str(exp), sig, now=1001)
    assert not AudioLinks(()).valid("abc", str(exp), sig, now=1001)  # no keys: a random secret
