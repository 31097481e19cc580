"""The HTTP contract of API.md, through Litestar's test client on a real embedded store."""

from __future__ import annotations

import pytest
from conftest import API_KEY, AUTH
from litestar.testing import TestClient

from service.api.app import create_app
from service.errors import ConfigError
from service.settings import Settings


def all_tracks(client) -> list[dict]:
    return client.get("/v1/tracks?limit=500", headers=AUTH).json()["items"]


def by_title(client, title: str) -> dict:
    return next(t for t in all_tracks(client) if t["title"] == title)


def assert_error(resp, status: int, code: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert isinstance(body["error"]["details"], dict) and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]


# --- auth ----------------------------------------------------------------------------------------
def test_v1_routes_need_a_bearer_key(client):
    assert_error(client.get("/v1/tracks"), 401, "unauthorized")
    assert_error(client.get("/v1/tracks", headers={"Authorization": "Bearer nope"}), 401)
    assert_error(client.get("/v1/tracks", headers={"Authorization": API_KEY}), 401)  # bare key: seed routes only
    assert_error(client.post("/v1/recommendations", json={"seedTrackIds": []}), 401)
    assert client.get("/v1/tracks", headers=AUTH).status_code == 200


def test_open_routes(client):
    assert client.get("/ping").json() == {"message": "pong"}
    health = client.get("/healthz").json()
    assert health == {
        "status": "ok",
        "qdrant": "ok",
        "broker": "inproc",
        "tracks": 12,
        "vector": "fused_v2",
        "collection": "tracks_v3",
    }
    assert client.get("/schema/openapi.json").status_code == 200
    assert client.get("/schema").status_code == 200


def test_no_keys_refuses_to_start(tmp_path):
    with pytest.raises(ConfigError, match="MUSICREC_API_KEYS"):
        create_app(Settings(data_dir=tmp_path))
    create_app(Settings(data_dir=tmp_path, auth="disabled"))  # explicit opt-out works


def test_auth_disabled_lets_requests_in(ingested):
    settings, store = ingested
    open_settings = Settings(data_dir=settings.data_dir, auth="disabled")
    with TestClient(create_app(open_settings, store=store)) as c:
        assert c.get("/v1/tracks?limit=1").status_code == 200


# --- tracks --------------------------------------------------------------------------------------
def test_track_shape_and_tags(client):
    track = by_title(client, "Tone 2")
    assert set(track) == {
        "trackId",
        "title",
        "artists",
        "album",
        "genres",
        "durationS",
        "tempo",
        "year",
        "source",
        "analysis",
        "descriptors",
        "styles",
        "inferred",
    }
    assert track["inferred"] == []  # tagged: nothing taken from the folders
    # the learned embedding's tags: a few of musicnn's, lower case
    assert 1 <= len(track["styles"]) <= 5 and all(s == s.lower() for s in track["styles"])
    assert track["artists"] == ["Tonal 0"] and track["album"] == "Tones" and track["genres"] == ["ambient"]
    assert track["year"] == 2002
    assert 35 < track["durationS"] < 37 and track["tempo"] > 0
    assert track["source"]["kind"] == "file" and track["source"]["path"].endswith("tone2.ogg")
    assert track["source"]["spotifyId"] is None
    assert track["analysis"] == {"extractor": "librosa", "version": 1, "matchConfidence": None}
    chords = by_title(client, "chords0")  # no tags: title falls back to the file name
    assert chords["artists"] == [] and chords["album"] is None and chords["year"] is None
    assert client.get(f"/v1/tracks/{track['trackId']}", headers=AUTH).json() == track


def test_list_pagination_and_filters(client):
    seen, cursor, pages = [], None, 0
    while True:
        url = "/v1/tracks?limit=5" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=AUTH).json()
        assert set(page) == {"items", "nextCursor"}
        seen += [t["trackId"] for t in page["items"]]
        cursor = page["nextCursor"]
        pages += 1
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 12 and pages == 3
    drums = client.get("/v1/tracks?genre=techno", headers=AUTH).json()["items"]
    assert len(drums) == 5 and all(t["genres"] == ["techno"] for t in drums)
    assert len(client.get("/v1/tracks?artist=Tonal%201", headers=AUTH).json()["items"]) == 2
    assert len(client.get("/v1/tracks?album=Drums", headers=AUTH).json()["items"]) == 5
    assert client.get("/v1/tracks?album=Nope", headers=AUTH).json() == {"items": [], "nextCursor": None}
    assert client.get("/v1/tracks?userId=nobody", headers=AUTH).json()["items"] == []


def test_list_bad_input(client):
    assert_error(client.get("/v1/tracks?limit=0", headers=AUTH), 400, "bad_request")
    err = assert_error(client.get("/v1/tracks?limit=501", headers=AUTH), 400)
    assert "limit" in err["details"]["fields"]
    assert_error(client.get("/v1/tracks?limit=abc", headers=AUTH), 400)
    assert_error(client.get("/v1/tracks?cursor=garbage", headers=AUTH), 400)


def test_unknown_track_is_404(client):
    assert_error(client.get("/v1/tracks/00000000-0000-0000-0000-000000000000", headers=AUTH), 404, "not_found")
    assert_error(client.get("/v1/tracks/not-an-id", headers=AUTH), 404)
    assert_error(client.get("/v1/tracks/not-an-id/similar", headers=AUTH), 404)


# --- similar -------------------------------------------------------------------------------------
def test_similar_finds_its_own_kind(client):
    tone = by_title(client, "Tone 0")
    items = client.get(f"/v1/tracks/{tone['trackId']}/similar?limit=4", headers=AUTH).json()["items"]
    assert len(items) == 4
    assert tone["trackId"] not in {i["trackId"] for i in items}
    assert all(i["album"] == "Tones" for i in items), [i["title"] for i in items]
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True)
    assert all("Tone 0" in i["because"] for i in items)
    drum = by_title(client, "Drum 0")
    items = client.get(f"/v1/tracks/{drum['trackId']}/similar?limit=4", headers=AUTH).json()["items"]
    assert all(i["album"] == "Drums" for i in items), [i["title"] for i in items]


def test_similar_filters(client):
    tone = by_title(client, "Tone 0")
    base = f"/v1/tracks/{tone['trackId']}/similar"
    items = client.get(base + "?limit=20&genre=techno", headers=AUTH).json()["items"]
    assert len(items) == 5 and {i["genres"][0] for i in items} == {"techno"}
    items = client.get(base + "?limit=20&excludeArtist=Beats", headers=AUTH).json()["items"]
    assert items and all("Beats" not in i["artists"] for i in items)
    tempos = sorted(t["tempo"] for t in all_tracks(client))
    lo, hi = tempos[3], tempos[8]
    items = client.get(base + f"?limit=20&tempoMin={lo}&tempoMax={hi}", headers=AUTH).json()["items"]
    assert items and all(lo <= i["tempo"] <= hi for i in items)
    items = client.get(base + "?limit=20&maxPerArtist=1", headers=AUTH).json()["items"]
    artists = [a for i in items for a in i["artists"]]
    assert len(artists) == len(set(artists))


def test_similar_bad_input(client):
    tone = by_title(client, "Tone 0")
    base = f"/v1/tracks/{tone['trackId']}/similar"
    assert_error(client.get(base + "?limit=0", headers=AUTH), 400)
    assert_error(client.get(base + "?limit=101", headers=AUTH), 400)
    assert_error(client.get(base + "?tempoMin=fast", headers=AUTH), 400)
    err = assert_error(client.get(base + "?tempoMin=150&tempoMax=100", headers=AUTH), 400)
    assert err["details"]["field"] == "tempo"


# --- recommendations -----------------------------------------------------------------------------
def test_recommend_from_seeds_and_negatives(client):
    t0, t1, d0 = by_title(client, "Tone 0"), by_title(client, "Tone 1"), by_title(client, "Drum 0")
    resp = client.post(
        "/v1/recommendations", headers=AUTH, json={"seedTrackIds": [t0["trackId"], t1["trackId"]], "limit": 3}
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["strategy"] == "seeds" and len(body["items"]) == 3
    ids = {i["trackId"] for i in body["items"]}
    assert not ids & {t0["trackId"], t1["trackId"]}  # seeds never come back
    assert all(i["album"] == "Tones" for i in body["items"])
    resp = client.post(
        "/v1/recommendations",
        headers=AUTH,
        json={"seedTrackIds": [t0["trackId"]], "negativeTrackIds": [d0["trackId"]], "limit": 11},
    ).json()
    assert d0["trackId"] not in {i["trackId"] for i in resp["items"]}
    assert len(resp["items"]) == 10  # everything but the seed and the negative


def test_recommend_filters_diversity_and_caps(client):
    t0 = by_title(client, "Tone 0")
    body = {
        "seedTrackIds": [t0["trackId"]],
        "limit": 10,
        "filter": {"genres": ["techno"], "yearMin": 2011, "yearMax": 2013},
    }
    items = client.post("/v1/recommendations", headers=AUTH, json=body).json()["items"]
    assert len(items) == 3 and all(i["genres"] == ["techno"] and 2011 <= i["year"] <= 2013 for i in items)
    body = {"seedTrackIds": [t0["trackId"]], "limit": 11, "diversity": 0.8, "maxPerArtist": 2}
    items = client.post("/v1/recommendations", headers=AUTH, json=body).json()["items"]
    counts: dict[str, int] = {}
    for i in items:
        for a in i["artists"]:
            counts[a] = counts.get(a, 0) + 1
    assert items and max(counts.values()) <= 2
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True)
    body = {"seedTrackIds": [t0["trackId"]], "limit": 5, "filter": {"durationMinS": 1000}}
    assert client.post("/v1/recommendations", headers=AUTH, json=body).json()["items"] == []


def test_recommend_soft_target_moves_the_ranking(client):
    t0 = by_title(client, "Tone 0")
    fast = max(all_tracks(client), key=lambda t: t["tempo"])
    base = {"seedTrackIds": [t0["trackId"]], "limit": 3}
    plain = client.post("/v1/recommendations", headers=AUTH, json=base).json()["items"]
    targeted = client.post(
        "/v1/recommendations", headers=AUTH, json={**base, "target": {"tempo": fast["tempo"]}}
    ).json()["items"]
    assert [i["trackId"] for i in plain] != [i["trackId"] for i in targeted]


def test_recommend_cold_start_for_unknown_user(client):
    body = client.post("/v1/recommendations", headers=AUTH, json={"userId": "nobody-yet", "limit": 5}).json()
    assert body["strategy"] == "cold_start" and len(body["items"]) == 5


def test_recommend_bad_input(client):
    t0 = by_title(client, "Tone 0")
    assert_error(client.post("/v1/recommendations", headers=AUTH, json={}), 400)
    assert_error(client.post("/v1/recommendations", headers=AUTH, content=b"{not json"), 400)
    assert_error(client.post("/v1/recommendations", headers=AUTH, json=[1, 2]), 400)
    seeds = {"seedTrackIds": [t0["trackId"]]}
    assert_error(client.post("/v1/recommendations", headers=AUTH, json={**seeds, "limit": 0}), 400)
    assert_error(client.post("/v1/recommendations", headers=AUTH, json={**seeds, "limit": 101}), 400)
    assert_error(client.post("/v1/recommendations", headers=AUTH, json={**seeds, "diversity": 2}), 400)
    assert_error(client.post("/v1/recommendations", headers=AUTH, json={**seeds, "limit": "many"}), 400)
    bad_range = {**seeds, "filter": {"yearMin": 2020, "yearMax": 2000}}
    assert_error(client.post("/v1/recommendations", headers=AUTH, json=bad_range), 400)
    err = assert_error(
        client.post("/v1/recommendations", headers=AUTH, json={"seedTrackIds": ["nope", t0["trackId"]]}), 404
    )
    assert err["details"]["trackIds"] == ["nope"]
    neg = {**seeds, "negativeTrackIds": ["00000000-0000-0000-0000-000000000000"]}
    assert_error(client.post("/v1/recommendations", headers=AUTH, json=neg), 404)


def test_unknown_route_and_method(client):
    assert_error(client.get("/v1/nothing-here", headers=AUTH), 404)
    assert_error(client.delete("/v1/recommendations", headers=AUTH), 405)


# --- OpenAPI -------------------------------------------------------------------------------------
def test_openapi_describes_every_route_and_status(client):
    doc = client.get("/schema/openapi.json").json()
    paths = doc["paths"]
    expected = {
        ("/healthz", "get"): {"200", "503"},
        ("/ping", "get"): {"200"},
        ("/v1/tracks", "get"): {"200", "400", "401"},
        ("/v1/tracks/{trackId}", "get"): {"200", "401", "404"},
        ("/v1/tracks/{trackId}/similar", "get"): {"200", "400", "401", "404"},
        ("/v1/recommendations", "post"): {"200", "400", "401", "404"},
    }
    for (path, method), statuses in expected.items():
        assert path in paths, sorted(paths)
        assert statuses <= set(paths[path][method]["responses"]), (
            path,
            paths[path][method]["responses"].keys(),
        )
    rec = doc["components"]["schemas"]
    assert any("because" in (s.get("properties") or {}) for s in rec.values())
