"""Per-user recommendations through the API: feedback, taste, stats, library, seed-compatible routes."""

from __future__ import annotations

import uuid

import pytest
from conftest import API_KEY, AUTH
from litestar.testing import TestClient

from service.api.app import create_app
from service.ids import library_point_id, track_id_for_key
from service.store.base import PointData


@pytest.fixture(scope="module")
def titles(client) -> dict[str, str]:
    got = client.get("/v1/tracks?limit=500", headers=AUTH)
    assert got.status_code == 200, got.text
    items = got.json()["items"]
    return {t["title"]: t["trackId"] for t in items}


def new_user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


def feedback(client, user, track_id, kind, status=204):
    resp = client.post(f"/v1/users/{user}/feedback", headers=AUTH, json={"trackId": track_id, "kind": kind})
    assert resp.status_code == status, resp.text
    return resp


def recommend(client, **body) -> dict:
    resp = client.post("/v1/recommendations", headers=AUTH, json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()


def albums(items) -> list[str | None]:
    return [i["album"] for i in items]


def test_feedback_validation(client, titles):
    user = new_user()
    feedback(client, user, "00000000-0000-0000-0000-000000000000", "like", 404)
    feedback(client, user, titles["Tone 0"], "love", 400)
    resp = client.post(f"/v1/users/{user}/feedback", headers=AUTH, json={"kind": "like"})
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "bad_request"
    assert (
        client.post(f"/v1/users/{user}/feedback", json={"trackId": titles["Tone 0"], "kind": "like"}).status_code == 401
    )


def test_likes_alone_form_a_taste(client, titles):
    user = new_user()
    assert recommend(client, userId=user, limit=5)["strategy"] == "cold_start"
    feedback(client, user, titles["Tone 0"], "like")
    body = recommend(client, userId=user, limit=4)
    assert body["strategy"] == "taste"
    assert titles["Tone 0"] not in {i["trackId"] for i in body["items"]}  # excludeKnown by default
    assert albums(body["items"]) == ["Tones"] * 4
    assert all("because you like “Tone 0”" in i["because"] for i in body["items"])
    with_known = recommend(client, userId=user, limit=4, excludeKnown=False)
    assert with_known["items"][0]["trackId"] == titles["Tone 0"]


def test_feedback_changes_the_next_answer_and_dislikes_never_return(client, titles):
    user = new_user()
    feedback(client, user, titles["Tone 0"], "like")
    before = recommend(client, userId=user, limit=3, excludeKnown=False)["items"]
    top = next(i for i in before if i["trackId"] != titles["Tone 0"])
    feedback(client, user, top["trackId"], "dislike")
    for exclude_known in (True, False):
        after = recommend(client, userId=user, limit=11, excludeKnown=exclude_known)["items"]
        assert top["trackId"] not in {i["trackId"] for i in after}
    # seeds do not bring a disliked track back either
    seeded = recommend(client, userId=user, seedTrackIds=[titles["Tone 2"]], limit=11, excludeKnown=False)
    assert seeded["strategy"] == "seeds+taste"
    assert top["trackId"] not in {i["trackId"] for i in seeded["items"]}
    # a like after the dislike turns it back into a positive
    feedback(client, user, top["trackId"], "like")
    again = recommend(client, userId=user, limit=11, excludeKnown=False)["items"]
    assert top["trackId"] in {i["trackId"] for i in again}


def test_a_library_with_two_styles_is_answered_with_both(client, titles):
    user = new_user()
    for i in range(4):
        feedback(client, user, titles[f"Tone {i}"], "like")
        feedback(client, user, titles[f"Drum {i}"], "like")
    body = recommend(client, userId=user, limit=6, excludeKnown=False)
    assert body["strategy"] == "taste:2"
    assert {"Tones", "Drums"} <= set(albums(body["items"]))
    assert any("(taste 1 of 2)" in i["because"] for i in body["items"])
    assert any("(taste 2 of 2)" in i["because"] for i in body["items"])
    scores = [i["score"] for i in body["items"]]
    assert scores == sorted(scores, reverse=True)
    # the unknown ones of each style come first when the known are excluded
    fresh = recommend(client, userId=user, limit=2)["items"]
    assert {i["title"] for i in fresh} == {"Tone 4", "Drum 4"}


def test_stats_and_library(client, titles):
    user = new_user()
    feedback(client, user, titles["Tone 0"], "like")
    feedback(client, user, titles["Tone 1"], "like")
    feedback(client, user, titles["Drum 0"], "dislike")
    feedback(client, user, titles["Drum 1"], "skip")
    served = len(recommend(client, userId=user, limit=5)["items"]) + len(
        recommend(client, userId=user, limit=3)["items"]
    )
    stats = client.get(f"/v1/users/{user}/stats", headers=AUTH).json()
    assert stats == {
        "tracksAnalyzed": 4,
        "recommendationsServed": served,
        "likes": 2,
        "dislikes": 1,
        "lastSyncAt": None,
        "percentLiked": round(100 * 2 / served, 1),
    }
    page = client.get(f"/v1/users/{user}/library?limit=3", headers=AUTH).json()
    assert len(page["items"]) == 3 and page["nextCursor"]
    rest = client.get(f"/v1/users/{user}/library?limit=3&cursor={page['nextCursor']}", headers=AUTH).json()
    entries = {i["title"]: i for i in page["items"] + rest["items"]}
    assert rest["nextCursor"] is None and len(entries) == 4
    assert entries["Tone 0"]["reasons"] == ["liked"] and entries["Drum 0"]["reasons"] == ["disliked"]
    assert entries["Drum 1"]["reasons"] == ["skipped"]
    assert entries["Tone 0"]["analysed"] is True and entries["Tone 0"]["spotifyId"] is None
    assert set(entries["Tone 0"]) == {"trackId", "spotifyId", "title", "artists", "analysed", "reasons"}
    empty = client.get(f"/v1/users/{new_user()}/stats", headers=AUTH).json()
    assert empty["recommendationsServed"] == 0 and empty["percentLiked"] == 0.0
    assert client.get(f"/v1/users/{user}/library?cursor=bad", headers=AUTH).status_code == 400


def test_seeds_not_analysed_yet_fall_back_instead_of_404(client, titles):
    user = new_user()
    pending = track_id_for_key("spotify:notAnalysedYet")
    client.store.upsert(
        "library",
        [
            PointData(
                library_point_id(user, pending),
                {"userId": user, "trackId": pending, "reasons": ["saved"], "analysed": False, "status": "pending"},
            )
        ],
    )
    body = recommend(client, userId=user, seedTrackIds=[pending], limit=5)
    assert body["strategy"] == "cold_start" and len(body["items"]) == 5
    resp = client.post("/v1/recommendations", headers=AUTH, json={"seedTrackIds": [str(uuid.uuid4())]})
    assert resp.status_code == 404


def test_cold_start_by_genre(client):
    body = recommend(client, userId=new_user(), limit=3, filter={"genres": ["techno"]})
    assert body["strategy"] == "cold_start" and albums(body["items"]) == ["Drums"] * 3
    assert "popular in techno" in body["items"][0]["because"]


# --- seed-compatible routes ----------------------------------------------------------------------
def test_legacy_recommend_and_stats(client, titles):
    user = new_user()
    feedback(client, user, titles["Drum 0"], "like")
    for headers in ({"Authorization": API_KEY}, AUTH):
        post = client.post("/recommend", headers=headers, json={"user_id": user})
        assert post.status_code == 200, post.text
        body = post.json()
        assert set(body) == {"user_id", "total", "song_ids"} and body["user_id"] == user
        assert body["total"] == len(body["song_ids"]) == 11  # 20 asked, 11 unknown to the user in the store
        assert titles["Drum 0"] not in body["song_ids"]
    get = client.request("GET", "/recommend", headers={"Authorization": API_KEY}, json={"user_id": new_user()})
    assert get.status_code == 200 and get.json()["total"] == 12  # cold start
    stats = client.get(f"/get-stats/{user}", headers={"Authorization": API_KEY}).json()
    assert stats == {
        "songs_analyzed": 1,
        "num_recs": 22,
        "recent_like": titles["Drum 0"],
        "num_likes": 1,
        "percent": round(100 / 22, 1),
    }
    assert client.post("/recommend", headers={"Authorization": API_KEY}, json={}).status_code == 400


def test_legacy_routes_answer_403_like_before(client):
    for headers in ({}, {"Authorization": "wrong"}, {"Authorization": "Bearer wrong"}):
        resp = client.post("/recommend", headers=headers, json={"user_id": "x"})
        assert resp.status_code == 403 and set(resp.json()) == {"detail"}
        assert client.get("/get-stats/x", headers=headers).status_code == 403
    assert client.get("/ping").json() == {"message": "pong"}


def test_concurrent_feedback_and_counters_lose_no_update(client, titles):
    from concurrent.futures import ThreadPoolExecutor

    users = client.app.state.users
    user = new_user()
    track_ids = list(titles.values())
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda t: users.feedback(user, t, "like"), track_ids))
        list(pool.map(lambda _: users.counters.incr(user, 2), range(40)))
    stats = users.stats(user)
    assert stats["likes"] == len(track_ids) and stats["recommendationsServed"] == 80


def test_taste_refreshes_never_overwrite_counters_or_sync_state(client, titles):
    # Feedback (which refreshes the taste) interleaved with counter increments and a sync's lastSyncAt,
    # all at once: every write must survive.
    from concurrent.futures import ThreadPoolExecutor

    from service.ids import user_point_id
    from service.store.schema import USERS

    users = client.app.state.users
    user = new_user()
    track_ids = list(titles.values())

    def mark_synced(i: int) -> None:
        users.store.set_payload(USERS, user_point_id(user), {"lastSyncAt": 1000 + i})

    with ThreadPoolExecutor(8) as pool:
        jobs = [pool.submit(users.feedback, user, t, "like") for t in track_ids for _ in range(2)]
        jobs += [pool.submit(users.counters.incr, user, 1) for _ in range(60)]
        jobs += [pool.submit(users.refresh_taste, user) for _ in range(20)]
        for job in jobs:
            job.result()
        pool.submit(mark_synced, 999).result()
        for job in [pool.submit(users.refresh_taste, user) for _ in range(10)]:
            job.result()
    stats = users.stats(user)
    assert stats["recommendationsServed"] == 60 and stats["lastSyncAt"] == 1999 and stats["likes"] == len(track_ids)


def test_counters_in_redis_when_configured(ingested, titles, redis_url):
    import redis

    from service.settings import Settings

    settings, store = ingested
    url = redis_url
    with TestClient(
        create_app(Settings(data_dir=settings.data_dir, api_keys=(API_KEY,), redis_url=url), store=store)
    ) as c:
        assert c.get("/healthz").json()["broker"] == "ok"
        user = new_user()
        n = len(recommend(c, userId=user, limit=4)["items"])
        assert c.get(f"/v1/users/{user}/stats", headers=AUTH).json()["recommendationsServed"] == n
        assert int(redis.Redis.from_url(url).hget("musicrec:recommendationsServed", user)) == n


def test_taste_is_rebuilt_only_when_the_library_changed_and_every_replica_sees_the_change(client, titles):
    from service.taste import cache as taste_cache
    from service.taste.cache import TasteCache

    store = client.store
    users = client.app.state.users
    user = new_user()
    ids = list(titles.values())
    for track_id in ids[:4]:
        users.feedback(user, track_id, "like")
    replica_a, replica_b = TasteCache(store, users.vector_name), TasteCache(store, users.vector_name)
    loads = []
    real_load = taste_cache.load_taste
    taste_cache.load_taste = lambda *a, **k: loads.append(a[1]) or real_load(*a, **k)
    try:
        first = replica_a.get(user)
        assert replica_a.get(user) is first and replica_a.get(user) is first  # unchanged: no re-read
        assert loads == [user]
        replica_b.get(user)
        users.feedback(user, ids[4], "dislike")  # through neither cache, as another API replica would
        for replica in (replica_a, replica_b):
            fresh = replica.get(user)
            assert fresh is not first and ids[4] in [r.payload["trackId"] for r in fresh.records]
        assert loads == [user, user, user, user]
    finally:
        taste_cache.load_taste = real_load
