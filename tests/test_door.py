"""Ids and numbers checked at the door: one canonical id spelling, finite float32 vectors, finite filters,
no RecursionError for absurd JSON (API.md "Rules added")."""

from __future__ import annotations

import uuid

import pytest
from conftest import AUTH


@pytest.fixture(scope="module")
def track(client) -> dict:
    return client.get("/v1/tracks?limit=1", headers=AUTH).json()["items"][0]


def analysed(dsp: list[float], raw: list[float] | None = None) -> dict[str, list[float]]:
    """The analysed vectors `musicrec ingest` hands over: DSP features and the raw embedding."""
    return {"librosa_v1": dsp, "musicnn_v2_raw": raw if raw is not None else [0.5] * 200}


def spellings(track_id: str) -> list[str]:
    u = uuid.UUID(track_id)
    return [track_id.upper(), "{" + track_id + "}", u.urn, u.hex]


def test_every_spelling_of_an_id_names_the_same_track(client, track):
    for spelling in spellings(track["trackId"]):
        got = client.get(f"/v1/tracks/{spelling}", headers=AUTH)
        assert got.status_code == 200 and got.json()["trackId"] == track["trackId"], spelling
        similar = client.get(f"/v1/tracks/{spelling}/similar?limit=3", headers=AUTH)
        assert similar.status_code == 200
        assert track["trackId"] not in [i["trackId"] for i in similar.json()["items"]]  # itself excluded
        recs = client.post("/v1/recommendations", headers=AUTH, json={"seedTrackIds": [spelling], "limit": 5})
        assert recs.status_code == 200 and track["trackId"] not in [i["trackId"] for i in recs.json()["items"]]


def test_an_upper_cased_copy_of_a_stored_id_does_not_overwrite_it(client, track):
    point = {"id": track["trackId"].upper(), "payload": {**track, "title": "HIJACKED"}, "vectors": analysed([0.1] * 71)}
    got = client.post("/v1/ingest/points", headers=AUTH, json={"points": [point]})
    assert got.status_code == 200 and got.json() == {"created": [], "existing": [track["trackId"]]}
    assert client.get(f"/v1/tracks/{track['trackId']}", headers=AUTH).json()["title"] == track["title"]
    found = client.post("/v1/ingest/lookup", headers=AUTH, json={"ids": [track["trackId"].upper()]})
    assert found.json()["ids"] == [track["trackId"]]


@pytest.mark.parametrize(
    "vectors, why",
    [
        (analysed([1e39] + [0.1] * 70), "finite float32"),
        (analysed([0.1] * 70), "71 numbers"),
        (analysed([0.0] * 71), "no direction"),
        (analysed([0.1] * 71, [float("1e39")] + [0.5] * 199), "finite float32"),
        (analysed([0.1] * 71, [0.5] * 100), "200 numbers"),
        ({"librosa_v1": [0.1] * 71}, "missing vector(s) musicnn_v2_raw"),
        ({**analysed([0.1] * 71), "fused_v2": [0.1] * 271}, "unknown vector(s) fused_v2"),
    ],
)
def test_vectors_that_cannot_be_stored_are_refused(client, track, vectors, why):
    point = {"id": str(uuid.uuid4()), "payload": {**track, "title": "x"}, "vectors": vectors}
    got = client.post("/v1/ingest/points", headers=AUTH, json={"points": [point]})
    assert got.status_code == 400 and why in got.json()["error"]["message"]
    assert got.json()["error"]["details"]["field"].startswith("points[0].vectors")
    cold = client.post("/v1/recommendations", headers=AUTH, json={"userId": f"u-{uuid.uuid4()}", "limit": 5})
    assert cold.status_code == 200 and len(cold.json()["items"]) == 5


@pytest.mark.parametrize("param", ["tempoMin=nan", "tempoMax=inf", "yearMin=-inf"])
def test_non_finite_filter_numbers_are_400(client, track, param):
    got = client.get(f"/v1/tracks/{track['trackId']}/similar?{param}", headers=AUTH)
    assert got.status_code == 400 and param.split("=")[0] in got.text  # names the field as the client wrote it


def test_absurdly_nested_json_is_400(client):
    body = b"[" * 100_000 + b"]" * 100_000
    got = client.post("/v1/recommendations", headers={**AUTH, "Content-Type": "application/json"}, content=body)
    assert got.status_code == 400 and got.json()["error"]["code"] == "bad_request"


def test_an_ingested_payload_must_be_a_track(client, track):
    point = {"id": str(uuid.uuid4()), "payload": {"title": "x"}, "vectors": analysed([0.1] * 71)}
    got = client.post("/v1/ingest/points", headers=AUTH, json={"points": [point]})
    assert got.status_code == 400 and got.json()["error"]["details"]["field"].startswith("points[0].payload")
    bad_tempo = {**point, "payload": {**track, "tempo": -5}}
    got = client.post("/v1/ingest/points", headers=AUTH, json={"points": [bad_tempo]})
    assert got.status_code == 400 and got.json()["error"]["details"]["field"] == "points[0].payload.tempo"
    assert client.get("/v1/tracks?limit=500", headers=AUTH).status_code == 200


def test_a_foreign_point_in_the_store_is_skipped_not_a_500(client, track):
    from service.store.base import PointData

    foreign = str(uuid.uuid4())
    vector = [0.1] * 71
    client.store.upsert(
        "tracks", [PointData(id=foreign, payload={"title": "from elsewhere"}, vectors={"librosa_v1": vector})]
    )
    try:
        listing = client.get("/v1/tracks?limit=500", headers=AUTH)
        assert listing.status_code == 200 and foreign not in [t["trackId"] for t in listing.json()["items"]]
        assert client.get(f"/v1/tracks/{foreign}", headers=AUTH).status_code == 404
        near = client.post("/v1/recommendations", headers=AUTH, json={"seedTrackIds": [track["trackId"]], "limit": 20})
        assert near.status_code == 200 and foreign not in [t["trackId"] for t in near.json()["items"]]
    finally:
        client.store.delete("tracks", [foreign])


def test_a_foreign_library_point_is_skipped_in_the_library_listing(client, track):
    from service.ids import library_point_id
    from service.store.base import PointData

    user = f"u-{uuid.uuid4()}"
    assert (
        client.post(
            f"/v1/users/{user}/feedback", headers=AUTH, json={"trackId": track["trackId"], "kind": "like"}
        ).status_code
        == 204
    )
    junk = library_point_id(user, "junk")
    client.store.upsert("library", [PointData(id=junk, payload={"userId": user, "reasons": "not a list"})])
    listing = client.get(f"/v1/users/{user}/library", headers=AUTH)
    assert listing.status_code == 200 and [i["trackId"] for i in listing.json()["items"]] == [track["trackId"]]
    stored = client.store.retrieve("library", [library_point_id(user, track["trackId"])])[0].payload
    assert stored["likedAt"] and stored["status"] == "analysed" and stored["reasons"] == ["liked"]
