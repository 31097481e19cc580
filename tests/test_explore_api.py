"""The explore routes of API.md (map, search, audio, paths, playlists, users list, the page), contract tests."""

from __future__ import annotations

import time

import pytest
from conftest import API_KEY
from litestar.testing import TestClient
from test_api import AUTH, all_tracks, assert_error, by_title

from service.api.app import create_app
from service.api.auth import AudioLinks
from service.settings import Settings

MISSING = "00000000-0000-0000-0000-000000000000"


@pytest.fixture(scope="module")
def client(ingested):
    settings, store = ingested
    with TestClient(create_app(settings, store=store)) as c:
        yield c


# --- the page ------------------------------------------------------------------------------------
def test_page_and_its_assets_are_open_and_local(client):
    resp = client.get("/")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    html = resp.text
    assert 'data-testid="api-key"' in html and 'data-testid="map"' in html
    assert "http://" not in html and "https://" not in html  # nothing from elsewhere
    assert "default-src 'self'" in resp.headers["content-security-policy"]
    for asset in ("/static/app.js", "/static/app.css"):
        got = client.get(asset)
        assert got.status_code == 200, asset
        assert "import " not in got.text and "@import" not in got.text  # no modules or sheets from elsewhere
    assert client.get("/static/nope.js").status_code == 404
    assert 'name="musicrec-auth" content="required"' in html  # the page asks for the key up front


def test_page_without_auth_asks_for_no_key(ingested):
    settings, store = ingested
    with TestClient(create_app(Settings(data_dir=settings.data_dir, auth="disabled"), store=store)) as c:
        assert 'name="musicrec-auth" content="disabled"' in c.get("/").text


# --- search --------------------------------------------------------------------------------------
def test_search_by_words_and_beginnings(client):
    def titles(q):
        resp = client.get("/v1/tracks", params={"q": q, "limit": 100}, headers=AUTH)
        assert resp.status_code == 200, resp.text
        return sorted(t["title"] for t in resp.json()["items"])

    assert titles("tone 2") == ["Tone 2"]
    assert titles("TONE") == [f"Tone {i}" for i in range(5)]  # title word, case-insensitive
    assert titles("ton") == [f"Tone {i}" for i in range(5)]  # a word's beginning
    assert titles("beats") == [f"Drum {i}" for i in range(5)]  # artist
    assert titles("drums 3") == ["Drum 3"]  # album + title
    assert titles("tonal 1") == ["Tone 1", "Tone 3"]
    assert titles("chords0") == ["chords0"]  # title from the file name
    assert titles("nothing-like-this") == []
    assert len(client.get("/v1/tracks?q=tone&genre=techno", headers=AUTH).json()["items"]) == 0
    assert_error(client.get("/v1/tracks?q=%21%21%21", headers=AUTH), 400)  # no words at all
    assert_error(client.get("/v1/tracks?q=" + "x" * 201, headers=AUTH), 400)


# --- map -----------------------------------------------------------------------------------------
def test_map_has_every_track_in_2d(client):
    body = client.get("/v1/map", headers=AUTH).json()
    assert body["method"] == "pca"
    items = body["items"]
    assert len(items) == 12
    assert {i["trackId"] for i in items} == {t["trackId"] for t in all_tracks(client)}
    for i in items:
        assert set(i) >= {"trackId", "x", "y", "title", "artists", "album", "genres", "group", "inLibrary"}
        assert -1 <= i["x"] <= 1 and -1 <= i["y"] <= 1
    # tones and drums land apart: each album's points are closer to each other than to the other album
    tones = [(i["x"], i["y"]) for i in items if i["album"] == "Tones"]
    drums = [(i["x"], i["y"]) for i in items if i["album"] == "Drums"]
    centre = lambda pts: (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))  # noqa: E731
    ct, cd = centre(tones), centre(drums)
    assert ((ct[0] - cd[0]) ** 2 + (ct[1] - cd[1]) ** 2) ** 0.5 > 0.5
    assert {i["group"] for i in items if i["album"] == "Tones"} == {"Tones"}
    genres = client.get("/v1/map?colorBy=genre", headers=AUTH).json()["items"]
    assert {i["group"] for i in genres} == {"ambient", "techno", None}
    artists = client.get("/v1/map?colorBy=artist", headers=AUTH).json()["items"]
    assert {i["group"] for i in artists} == {"Tonal 0", "Tonal 1", "Beats", None}


def test_map_is_cached_until_the_catalogue_changes(client):
    catalog = client.app.state.catalog
    client.get("/v1/map", headers=AUTH)
    before = catalog._map.computations
    client.get("/v1/map?colorBy=genre", headers=AUTH)
    assert catalog._map.computations == before
    catalog.changed()
    client.get("/v1/map", headers=AUTH)
    assert catalog._map.computations == before + 1


def test_map_user_colouring(client):
    tone = by_title(client, "Tone 4")
    client.post("/v1/users/map-user/feedback", headers=AUTH, json={"trackId": tone["trackId"], "kind": "like"})
    items = client.get("/v1/map?colorBy=user&userId=map-user", headers=AUTH).json()["items"]
    assert [i["trackId"] for i in items if i["inLibrary"]] == [tone["trackId"]]
    assert {i["group"] for i in items} == {"in library", "not in library"}
    by_album = client.get("/v1/map?userId=map-user", headers=AUTH).json()["items"]
    assert sum(i["inLibrary"] for i in by_album) == 1


def test_map_bad_input(client):
    assert_error(client.get("/v1/map?colorBy=mood", headers=AUTH), 400)
    # colorBy=user before a user is picked: every track outside "the" library (documented, not a 400)
    no_user = client.get("/v1/map?colorBy=user", headers=AUTH)
    assert no_user.status_code == 200 and {i["inLibrary"] for i in no_user.json()["items"]} == {False}
    assert_error(client.get("/v1/map"), 401)


# --- paths ---------------------------------------------------------------------------------------
def test_path_goes_from_one_track_to_the_other(client):
    a, b = by_title(client, "Tone 0"), by_title(client, "Drum 4")
    body = {"fromTrackId": a["trackId"], "toTrackId": b["trackId"], "steps": 6}
    resp = client.post("/v1/paths", headers=AUTH, json=body)
    assert resp.status_code == 200, resp.text
    items = resp.json()["items"]
    ids = [i["trackId"] for i in items]
    assert len(items) == 6 and len(set(ids)) == 6
    assert ids[0] == a["trackId"] and ids[-1] == b["trackId"]
    assert all({"score", "because"} <= set(i) for i in items)
    assert "start" in items[0]["because"] and "end" in items[-1]["because"]
    # the path drifts from tones to drums
    assert items[1]["album"] != "Drums" or items[-2]["album"] == "Drums"
    default = client.post("/v1/paths", headers=AUTH, json={"fromTrackId": a["trackId"], "toTrackId": b["trackId"]})
    assert len(default.json()["items"]) == 10
    # more steps than tracks: every track once, no repeats
    many = client.post("/v1/paths", headers=AUTH, json={**body, "steps": 50}).json()["items"]
    assert len(many) == 12 and len({i["trackId"] for i in many}) == 12
    # the filter applies to the tracks between the ends
    flt = {**body, "steps": 5, "filter": {"genres": ["ambient"]}}
    between = client.post("/v1/paths", headers=AUTH, json=flt).json()["items"][1:-1]
    assert len(between) == 3 and all(i["genres"] == ["ambient"] for i in between)


def test_path_bad_input(client):
    a, b = by_title(client, "Tone 0"), by_title(client, "Drum 4")
    ok = {"fromTrackId": a["trackId"], "toTrackId": b["trackId"]}
    err = assert_error(client.post("/v1/paths", headers=AUTH, json={**ok, "toTrackId": MISSING}), 404)
    assert err["details"]["field"] == "toTrackId"
    assert_error(client.post("/v1/paths", headers=AUTH, json={**ok, "fromTrackId": "nope"}), 404)
    for bad in ({**ok, "steps": 2}, {**ok, "steps": 51}, {**ok, "steps": "ten"}, {"fromTrackId": a["trackId"]}):
        assert_error(client.post("/v1/paths", headers=AUTH, json=bad), 400)
    assert_error(client.post("/v1/paths", headers=AUTH, json={**ok, "toTrackId": a["trackId"]}), 400)
    err = assert_error(client.post("/v1/paths", headers=AUTH, json={**ok, "colour": "red"}), 400)
    assert "colour" in err["message"]
    assert_error(client.post("/v1/paths", headers=AUTH, json={**ok, "filter": {"tempoMin": 9, "tempoMax": 1}}), 400)
    assert_error(client.post("/v1/paths", json=ok), 401)


# --- playlists -----------------------------------------------------------------------------------
def test_m3u_playlist(client):
    a, b = by_title(client, "Tone 0"), by_title(client, "Drum 1")
    resp = client.post(
        "/v1/playlists/m3u", headers=AUTH, json={"trackIds": [b["trackId"], a["trackId"].upper()], "name": "Mix 1"}
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("audio/x-mpegurl")
    assert 'filename="Mix 1.m3u8"' in resp.headers["content-disposition"]
    lines = resp.text.splitlines()
    assert lines[0] == "#EXTM3U" and lines[1] == "#PLAYLIST:Mix 1"
    assert lines[2].startswith("#EXTINF:36,Beats - Drum 1")
    assert lines[3] == b["source"]["path"] and lines[5] == a["source"]["path"]
    err = assert_error(client.post("/v1/playlists/m3u", headers=AUTH, json={"trackIds": [MISSING]}), 404)
    assert err["details"]["trackIds"] == [MISSING]
    assert_error(client.post("/v1/playlists/m3u", headers=AUTH, json={"trackIds": []}), 400)
    assert_error(client.post("/v1/playlists/m3u", headers=AUTH, json={"ids": [a["trackId"]]}), 400)


# --- users ---------------------------------------------------------------------------------------
def test_users_list(client):
    tone = by_title(client, "Tone 1")
    client.post("/v1/users/lister/feedback", headers=AUTH, json={"trackId": tone["trackId"], "kind": "like"})
    seen, cursor = [], None
    while True:
        page = client.get("/v1/users?limit=2" + (f"&cursor={cursor}" if cursor else ""), headers=AUTH).json()
        assert set(page) == {"items", "nextCursor"}
        seen += page["items"]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    lister = next(u for u in seen if u["userId"] == "lister")
    assert lister == {"userId": "lister", "libraryTracks": 1, "lastSyncAt": None}
    assert len({u["userId"] for u in seen}) == len(seen)
    assert_error(client.get("/v1/users?limit=0", headers=AUTH), 400)
    assert_error(client.get("/v1/users?cursor=zzz", headers=AUTH), 400)


# --- audio ---------------------------------------------------------------------------------------
def test_audio_with_the_key_and_ranges(client):
    tone = by_title(client, "Tone 0")
    url = f"/v1/tracks/{tone['trackId']}/audio"
    with open(tone["source"]["path"], "rb") as fh:
        data = fh.read()
    whole = client.get(url, headers=AUTH)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["content-type"] == "audio/ogg" and whole.headers["accept-ranges"] == "bytes"
    part = client.get(url, headers={**AUTH, "Range": "bytes=10-109"})
    assert part.status_code == 206 and part.content == data[10:110]
    assert part.headers["content-range"] == f"bytes 10-109/{len(data)}"
    assert part.headers["content-length"] == "100"
    tail = client.get(url, headers={**AUTH, "Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == data[-50:]
    open_end = client.get(url, headers={**AUTH, "Range": "bytes=100-"})
    assert open_end.content == data[100:]
    bad = client.get(url, headers={**AUTH, "Range": f"bytes={len(data) + 5}-"})
    assert_error(bad, 416)
    assert bad.headers["content-range"] == f"bytes */{len(data)}"
    drum = by_title(client, "Drum 0")
    assert client.get(f"/v1/tracks/{drum['trackId']}/audio", headers=AUTH).headers["content-type"] == "audio/flac"
    assert_error(client.get(f"/v1/tracks/{MISSING}/audio", headers=AUTH), 404)
    assert_error(client.get(url), 401)


def test_signed_audio_links(client):
    tone = by_title(client, "Tone 1")
    resp = client.post(f"/v1/tracks/{tone['trackId']}/audio-link", headers=AUTH)
    assert resp.status_code == 200, resp.text
    link = resp.json()
    assert set(link) == {"url", "expiresAt"} and API_KEY not in link["url"]
    assert link["expiresAt"] > time.time()
    got = client.get(link["url"])  # no key
    assert got.status_code == 200 and got.headers["content-type"] == "audio/ogg"
    assert client.get(link["url"], headers={"Range": "bytes=0-9"}).content == got.content[:10]
    # the signature binds the track and the expiry
    other = by_title(client, "Tone 2")
    assert_error(client.get(link["url"].replace(tone["trackId"], other["trackId"])), 401)
    exp = str(link["expiresAt"])
    assert_error(client.get(link["url"].replace(f"exp={exp}", f"exp={int(exp) + 1}")), 401)
    expired_url, _ = client.app.state.audio_links.url(tone["trackId"], now=time.time() - 3600)
    assert_error(client.get(expired_url), 401)
    # another process with the same keys accepts the link; other keys do not
    track, exp_s, sig = tone["trackId"], exp, link["url"].rsplit("sig=", 1)[1]
    assert AudioLinks((API_KEY,)).valid(track, exp_s, sig)
    assert not AudioLinks(("other",)).valid(track, exp_s, sig)
    assert_error(client.post(f"/v1/tracks/{MISSING}/audio-link", headers=AUTH), 404)
    assert_error(client.post(f"/v1/tracks/{tone['trackId']}/audio-link"), 401)


# --- OpenAPI -------------------------------------------------------------------------------------
def test_openapi_lists_the_explore_routes(client):
    paths = client.get("/schema/openapi.json").json()["paths"]
    expected = {
        ("/", "get"): {"200"},
        ("/v1/map", "get"): {"200", "400", "401"},
        ("/v1/paths", "post"): {"200", "400", "401", "404"},
        ("/v1/playlists/m3u", "post"): {"200", "400", "401", "404"},
        ("/v1/users", "get"): {"200", "400", "401"},
        ("/v1/tracks/{trackId}/audio", "get"): {"200", "206", "401", "404", "416"},
        ("/v1/tracks/{trackId}/audio-link", "post"): {"200", "401", "404"},
    }
    for (path, method), statuses in expected.items():
        assert path in paths, sorted(paths)
        assert statuses <= set(paths[path][method]["responses"]), (path, paths[path][method]["responses"].keys())
    assert "audio/x-mpegurl" in paths["/v1/playlists/m3u"]["post"]["responses"]["200"]["content"]
    assert list(paths["/v1/tracks/{trackId}/audio"]["get"]["responses"]["200"]["content"]) == ["audio/*"]
    assert any(p["name"] == "q" for p in paths["/v1/tracks"]["get"]["parameters"])
    assert not any(p.startswith("/static") for p in paths)
