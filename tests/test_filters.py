"""Filters people can discover and trust: strict query strings, facets, case-insensitive genre/artist
matching, descriptors and target-only recommendations, the full filter set on /similar (TestClient over the
ingested library, a real embedded store)."""

from __future__ import annotations

import pytest
from conftest import API_KEY, AUTH
from test_api import all_tracks, assert_error, by_title


# --- query strings ---------------------------------------------------------------------------------
def test_an_unknown_query_parameter_is_a_400_naming_it(client):
    err = assert_error(client.get("/v1/tracks?genre=techno&genres=techno", headers=AUTH), 400, "bad_request")
    assert err["details"]["fields"] == ["genres"] and "genres" in err["message"]
    tone = by_title(client, "Tone 0")
    err = assert_error(client.get(f"/v1/tracks/{tone['trackId']}/similar?tempo_min=90", headers=AUTH), 400)
    assert err["details"]["fields"] == ["tempo_min"]
    assert_error(client.get("/healthz?verbose=1"), 400)
    # the previous service's compatible routes keep its leniency
    assert client.get("/ping?x=1").status_code == 200


def test_each_app_keeps_its_own_query_rules(client, ingested):
    """The rules are cached per app, keyed by its handlers' ids: a cache shared by the process handed a collected
    app's rules to a new app's handler at the same address (`limit` refused on /v1/tracks, seen in the suite)."""
    from litestar.testing import TestClient

    from service.api.app import create_app
    from service.api.query import _RULES_KEY

    assert client.get("/v1/tracks?limit=1", headers=AUTH).status_code == 200
    settings, store = ingested
    with TestClient(create_app(settings, store=store)) as other:
        assert not other.app.state.get(_RULES_KEY)
        assert other.get("/v1/tracks?limit=1", headers=AUTH).status_code == 200
        mine, theirs = client.app.state[_RULES_KEY], other.app.state[_RULES_KEY]
        assert mine and theirs and not set(mine) & set(theirs)  # the ids of two live apps' handlers differ


def test_a_repeated_query_parameter_is_a_list_or_a_400(client):
    err = assert_error(client.get("/v1/tracks?limit=1&limit=2", headers=AUTH), 400)
    assert err["details"]["fields"] == ["limit"]
    tone = by_title(client, "Tone 0")
    base = f"/v1/tracks/{tone['trackId']}/similar?limit=20"
    err = assert_error(client.get(base + "&tempoMin=1&tempoMin=500", headers=AUTH), 400)
    assert err["details"]["fields"] == ["tempoMin"]
    # genre is a list: both values count, not the last one
    both = client.get("/v1/tracks?limit=50&genre=techno&genre=ambient", headers=AUTH)
    assert both.status_code == 200, both.text
    assert {t["genres"][0] for t in both.json()["items"]} == {"techno", "ambient"}
    assert len(both.json()["items"]) == 10


def test_validation_errors_name_query_parameters_as_written(client):
    tone = by_title(client, "Tone 0")
    base = f"/v1/tracks/{tone['trackId']}/similar"
    err = assert_error(client.get(base + "?tempoMin=fast", headers=AUTH), 400)
    assert err["details"]["fields"] == ["tempoMin"]
    err = assert_error(client.get(base + "?maxPerArtist=0", headers=AUTH), 400)
    assert err["details"]["fields"] == ["maxPerArtist"]
    err = assert_error(client.get("/v1/map?colorBy=mood", headers=AUTH), 400)
    assert err["details"]["fields"] == ["colorBy"]


def test_an_unknown_body_field_is_named_with_its_path(client):
    tone = by_title(client, "Tone 0")
    body = {"seedTrackIds": [tone["trackId"]], "filter": {"genre": ["techno"]}}
    err = assert_error(client.post("/v1/recommendations", headers=AUTH, json=body), 400)
    assert err["details"]["fields"] == ["filter.genre"]
    err = assert_error(client.post("/v1/recommendations", headers=AUTH, json={"userId": "u", "filters": {}}), 400)
    assert err["details"]["fields"] == ["filters"]


# --- case-insensitive genre and artist -------------------------------------------------------------
def test_genre_and_artist_match_whatever_the_case(client):
    for query in ("genre=TECHNO", "genre=%20Techno%20", "genre=techno"):
        items = client.get(f"/v1/tracks?limit=50&{query}", headers=AUTH).json()["items"]
        assert len(items) == 5 and {t["genres"][0] for t in items} == {"techno"}, query
    assert len(client.get("/v1/tracks?artist=tonal%20%201", headers=AUTH).json()["items"]) == 2
    assert client.get("/v1/tracks?album=drums", headers=AUTH).json()["items"] == []  # albums stay exact
    tone = by_title(client, "Tone 0")
    body = {"seedTrackIds": [tone["trackId"]], "limit": 20, "filter": {"genres": ["Techno"]}}
    items = client.post("/v1/recommendations", headers=AUTH, json=body).json()["items"]
    assert len(items) == 5 and all(i["genres"] == ["techno"] for i in items)
    body = {"seedTrackIds": [tone["trackId"]], "limit": 20, "filter": {"excludeArtists": ["BEATS", "tonal 1"]}}
    items = client.post("/v1/recommendations", headers=AUTH, json=body).json()["items"]
    assert items and not {a for i in items for a in i["artists"]} & {"Beats", "Tonal 1"}


# --- /similar takes the whole filter ---------------------------------------------------------------
def test_similar_takes_the_filter_of_recommendations(client):
    tone = by_title(client, "Tone 0")
    base = f"/v1/tracks/{tone['trackId']}/similar?limit=20"
    items = client.get(base + "&album=Drums&yearMin=2011&yearMax=2013", headers=AUTH).json()["items"]
    assert sorted(i["year"] for i in items) == [2011, 2012, 2013] and {i["album"] for i in items} == {"Drums"}
    items = client.get(base + "&artist=tonal%201&artist=BEATS", headers=AUTH).json()["items"]
    assert {a for i in items for a in i["artists"]} == {"Tonal 1", "Beats"} and len(items) == 7
    items = client.get(base + "&excludeArtist=beats&excludeArtist=Tonal%201", headers=AUTH).json()["items"]
    assert items and not {a for i in items for a in i["artists"]} & {"Beats", "Tonal 1"}
    durations = sorted(t["durationS"] for t in all_tracks(client))
    lo = durations[6]
    items = client.get(base + f"&durationMinS={lo}", headers=AUTH).json()["items"]
    assert items and all(i["durationS"] >= lo for i in items)
    assert client.get(base + "&durationMaxS=1", headers=AUTH).json()["items"] == []
    err = assert_error(client.get(base + "&durationMinS=-1", headers=AUTH), 400)
    assert err["details"]["fields"] == ["durationMinS"]
    err = assert_error(client.get(base + "&yearMin=2020&yearMax=2000", headers=AUTH), 400)
    assert err["details"]["field"] == "year"


# --- facets --------------------------------------------------------------------------------------
def test_facets_count_each_field(client):
    genres = client.get("/v1/facets?field=genres", headers=AUTH)
    assert genres.status_code == 200, genres.text
    assert genres.json() == {
        "field": "genres",
        "items": [{"value": "ambient", "count": 5}, {"value": "techno", "count": 5}],
    }
    artists = client.get("/v1/facets?field=artists", headers=AUTH).json()["items"]
    assert artists == [
        {"value": "Beats", "count": 5},
        {"value": "Tonal 0", "count": 3},
        {"value": "Tonal 1", "count": 2},
    ]
    albums = client.get("/v1/facets?field=albums&limit=1", headers=AUTH).json()["items"]
    assert albums == [{"value": "Drums", "count": 5}]
    years = client.get("/v1/facets?field=years&limit=100", headers=AUTH).json()["items"]
    assert sorted(y["value"] for y in years) == [*range(2000, 2005), *range(2010, 2015)]
    assert {y["count"] for y in years} == {1}
    # a facet's value is a filter that finds exactly `count` tracks
    for item in artists:
        found = client.get("/v1/tracks", params={"artist": item["value"]}, headers=AUTH).json()["items"]
        assert len(found) == item["count"]


def test_facets_over_a_users_library(client):
    drum, tone = by_title(client, "Drum 1"), by_title(client, "Tone 1")
    for track in (drum, tone):
        done = client.post(
            "/v1/users/facets-user/feedback", headers=AUTH, json={"trackId": track["trackId"], "kind": "like"}
        )
        assert done.status_code == 204, done.text
    items = client.get("/v1/facets?field=genres&userId=facets-user", headers=AUTH).json()["items"]
    assert items == [{"value": "ambient", "count": 1}, {"value": "techno", "count": 1}]
    years = client.get("/v1/facets?field=years&userId=facets-user", headers=AUTH).json()["items"]
    assert sorted(y["value"] for y in years) == [2001, 2011]
    assert client.get("/v1/facets?field=albums&userId=nobody-at-all", headers=AUTH).json()["items"] == []


def test_facets_bad_input(client):
    err = assert_error(client.get("/v1/facets?field=moods", headers=AUTH), 400)
    assert err["details"]["fields"] == ["field"]
    assert_error(client.get("/v1/facets", headers=AUTH), 400)
    assert_error(client.get("/v1/facets?field=genres&limit=0", headers=AUTH), 400)
    assert_error(client.get("/v1/facets?field=genres&field=years", headers=AUTH), 400)
    assert_error(client.get("/v1/facets?field=genres"), 401)


# --- stores of the previous release, and spellings, on both backends --------------------------------
def old_and_new_tracks():
    import uuid

    from service.catalog.tracks import track_payload
    from service.store.base import PointData
    from service.store.schema import load_specs

    vec = "librosa_v1"
    dim = load_specs()["tracks"].vector_size(vec)
    spellings = [("Rock", "The Band"), ("rock", "the band"), ("ROCK ", "THE  BAND"), ("Jazz", "Someone")]
    points = []
    for i, (genre, artist) in enumerate(spellings):
        track_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"spelling{i}"))
        payload = track_payload(
            track_id=track_id,
            title=f"s{i}",
            artists=[artist],
            album=None,
            genres=[genre],
            year=2000 + i,
            duration_s=60.0,
            tempo=120.0,
            source={"kind": "file", "path": f"/music/s{i}.ogg"},
            extractor="librosa",
            version=1,
            descriptors={},
        )
        if i == 0:  # written by the previous release: no normalised fields
            payload = {k: v for k, v in payload.items() if k not in ("genresKey", "artistsKey")}
        points.append(PointData(id=track_id, payload=payload, vectors={vec: [1.0 + i] + [1.0] * (dim - 1)}))
    return points


def test_points_of_the_previous_release_match_then_are_backfilled(store):
    from service.analysis.vectorset import VectorSet
    from service.catalog.service import Catalog
    from service.catalog.tracks import with_derived_fields
    from service.store.base import PointData

    points = old_and_new_tracks()
    store.upsert("tracks", points)
    catalog = Catalog(store, VectorSet(embedding=False))

    def titles(**filters):
        return sorted(r.payload["title"] for r in catalog.page(limit=50, **filters)[0])

    # before the backfill: the old point still matches its exact spelling, the new ones any spelling
    assert titles(genres=["Rock"]) == ["s0", "s1", "s2"]
    assert titles(genres=["rOCK"]) == ["s1", "s2"]
    assert titles(artists=["The Band"]) == ["s0", "s1", "s2"]
    assert catalog.lacking_derived_fields() == 1
    assert catalog.add_derived_fields() == 1
    assert catalog.lacking_derived_fields() == 0
    assert store.retrieve("tracks", [points[0].id])[0].payload["genresKey"] == ["rock"]
    assert titles(genres=["rOCK"]) == ["s0", "s1", "s2"]
    assert titles(artists=["the band"]) == ["s0", "s1", "s2"]
    assert catalog.add_derived_fields() == 0  # nothing left to do
    # a track with no genre or artist has empty keys: nothing lacking (the start-up pass is skipped)
    tagged = old_and_new_tracks()[1]
    untagged = {**tagged.payload, "trackId": "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed", "genres": [], "artists": []}
    bare = PointData(id=untagged["trackId"], payload=with_derived_fields(untagged), vectors=tagged.vectors)
    store.upsert("tracks", [bare])
    assert catalog.lacking_derived_fields() == 0
    # facets count one value per normalised spelling, labelled with the most frequent spelling
    genres = catalog.facets("genres")
    assert [(h.value.strip().lower(), h.count) for h in genres] == [("rock", 3), ("jazz", 1)]
    assert genres[1].value == "Jazz"
    artists = catalog.facets("artists", limit=1)
    assert len(artists) == 1 and artists[0].count == 3 and artists[0].value.lower().split() == ["the", "band"]


# --- descriptors and target-only recommendations -------------------------------------------------
def test_tracks_show_the_descriptors_targets_compare(client):
    track = by_title(client, "Drum 2")
    d = track["descriptors"]
    assert set(d) == {"tempo", "energy", "brightness", "loudnessDb", "centroidHz", "noisiness", "pulseClarity"}
    assert d["tempo"] == track["tempo"] and 0 <= d["energy"] <= 1 and 0 <= d["brightness"] <= 1
    assert -100 < d["loudnessDb"] <= 0 and d["centroidHz"] > 0
    similar = client.get(f"/v1/tracks/{track['trackId']}/similar?limit=1", headers=AUTH).json()["items"]
    assert set(similar[0]["descriptors"]) == set(d)
    doc = client.get("/schema/openapi.json").json()
    props = doc["components"]["schemas"]["Descriptors"]["properties"]
    assert "dBFS" in props["loudnessDb"]["description"] and "BPM" in props["tempo"]["description"]


def test_a_target_alone_asks_for_the_closest_tracks(client):
    tracks = all_tracks(client)
    bright = max(tracks, key=lambda t: t["descriptors"]["brightness"])
    body = {"target": {"brightness": bright["descriptors"]["brightness"]}, "limit": 3}
    resp = client.post("/v1/recommendations", headers=AUTH, json=body)
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert got["strategy"] == "target" and len(got["items"]) == 3
    assert got["items"][0]["trackId"] == bright["trackId"] and got["items"][0]["score"] == 1.0
    wanted = sorted(tracks, key=lambda t: abs(t["descriptors"]["brightness"] - bright["descriptors"]["brightness"]))
    assert [i["trackId"] for i in got["items"]] == [t["trackId"] for t in wanted[:3]]
    assert "brightness" in got["items"][0]["because"]
    # filtered, and the tempo target ranks by distance in BPM
    drums = [t for t in tracks if t["genres"] == ["techno"]]
    slowest = min(drums, key=lambda t: t["tempo"])
    body = {"target": {"tempo": slowest["tempo"] - 1}, "filter": {"genres": ["Techno"]}, "limit": 10}
    items = client.post("/v1/recommendations", headers=AUTH, json=body).json()["items"]
    assert [i["trackId"] for i in items] == [t["trackId"] for t in sorted(drums, key=lambda t: t["tempo"])]
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True)
    body = {"target": {"energy": 0.5}, "limit": 10, "maxPerArtist": 1}
    items = client.post("/v1/recommendations", headers=AUTH, json=body).json()["items"]
    artists = [a for i in items for a in i["artists"]]
    assert len(artists) == len(set(artists)) == 3
    body = {"target": {"energy": 0.5}, "negativeTrackIds": [bright["trackId"]], "limit": 12}
    items = client.post("/v1/recommendations", headers=AUTH, json=body).json()["items"]
    assert len(items) == 11 and bright["trackId"] not in {i["trackId"] for i in items}


def test_an_empty_target_alone_is_a_400(client):
    for body in ({"target": {}}, {"target": {"tempo": None}}, {}):
        err = assert_error(client.post("/v1/recommendations", headers=AUTH, json=body), 400)
        assert "target" in err["details"]["fields"]


def test_the_openapi_document_describes_facets_and_the_similar_filter(client):
    doc = client.get("/schema/openapi.json").json()
    facets = doc["paths"]["/v1/facets"]["get"]
    assert {"200", "400", "401"} <= set(facets["responses"])
    assert {p["name"] for p in facets["parameters"]} == {"field", "userId", "limit"}
    similar = {p["name"]: p for p in doc["paths"]["/v1/tracks/{trackId}/similar"]["get"]["parameters"]}
    for name in ("genre", "artist", "excludeArtist", "album", "tempoMin", "yearMax", "durationMinS", "durationMaxS"):
        assert name in similar, sorted(similar)
    assert similar["genre"]["schema"].get("type") == "array" or "array" in str(similar["genre"]["schema"])
    anyof = doc["components"]["schemas"]["RecommendRequest"]["anyOf"]
    assert any(rule["required"] == ["target"] and rule["properties"]["target"]["minProperties"] == 1 for rule in anyof)


@pytest.mark.parametrize("field", ["tempo", "year", "durationS"])
def test_a_range_whose_minimum_is_above_its_maximum_is_400(client, field):
    lo, hi = {
        "tempo": ("tempoMin", "tempoMax"),
        "year": ("yearMin", "yearMax"),
        "durationS": ("durationMinS", "durationMaxS"),
    }[field]
    seed = client.get("/v1/tracks?limit=1", headers=AUTH).json()["items"][0]["trackId"]
    got = client.post("/v1/recommendations", headers=AUTH, json={"seedTrackIds": [seed], "filter": {lo: 200, hi: 100}})
    assert got.status_code == 400 and got.json()["error"]["details"]["field"] == field
    similar = client.get(f"/v1/tracks/{seed}/similar?{lo}=200&{hi}=100", headers=AUTH)
    assert similar.status_code == 400 and "minimum is above the maximum" in similar.json()["error"]["message"]


def test_the_server_adds_the_derived_fields_in_the_background(store, tmp_path):
    """A store of the previous release: the server starts without waiting for the backfill (one scroll over every
    track, ~67 s at 100k), answers meanwhile, and the old point matches any spelling once it is done."""
    from litestar.testing import TestClient

    from service.api.app import create_app
    from service.settings import Settings
    from service.tools.procs import wait_for

    points = old_and_new_tracks()
    store.upsert("tracks", points)
    settings = Settings(data_dir=tmp_path / "data", api_keys=(API_KEY,), embedding=False)
    with TestClient(create_app(settings, store=store)) as client:
        assert client.get("/healthz").status_code == 200
        wait_for(
            lambda: "genresKey" in store.retrieve("tracks", [points[0].id])[0].payload, timeout=30, what="backfill"
        )
        r = client.get("/v1/tracks", params={"genre": "rOCK", "limit": 50}, headers=AUTH)
        assert r.status_code == 200, r.text
        assert sorted(t["title"] for t in r.json()["items"]) == ["s0", "s1", "s2"]
        assert store.retrieve("tracks", [points[0].id])[0].payload["searchTokens"]
