"""Filters people can discover and trust: strict query strings, facets, case-insensitive genre/artist
matching, descriptors and target-only recommendations, the full filter set on /similar (TestClient over the
ingested library, a real embedded store)."""

from __future__ import annotations

from conftest import AUTH
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
