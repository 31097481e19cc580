"""service.sync.youtube: candidate scoring, matching through a fake YouTube Data API, quota ledgers, key hygiene."""

from __future__ import annotations

import datetime as dt
import logging
import pickle
import traceback

import pytest
from fakes.youtube_api import FakeYouTube, iso_duration

from service.errors import MusicrecError
from service.sync.youtube import (
    Candidate,
    Match,
    MemoryQuota,
    NoMatch,
    RedisQuota,
    YouTubeError,
    YouTubeMatcher,
    _ytdlp_candidates,
    parse_iso8601_duration,
    score_candidate,
    ytdlp_error,
)

KEY1 = "AIzaSyFAKE-first-key-0000000000000000"
KEY2 = "AIzaSyFAKE-second-key-111111111111111"

TITLE, ARTISTS, DURATION = (
    "Get Lucky (feat. Pharrell Williams & Nile Rodgers)",
    ["Daft Punk", "Pharrell Williams"],
    369.6,
)

TOPIC = {"id": "topic0001", "title": "Get Lucky", "channel": "Daft Punk - Topic", "duration_s": 369}
LIVE = {
    "id": "live00001",
    "title": "Daft Punk - Get Lucky (Live at the Grammys)",
    "channel": "Daft Punk",
    "duration_s": 372,
}
COVER = {"id": "cover0001", "title": "Get Lucky - Daft Punk (Cover)", "channel": "Joe Guitar", "duration_s": 368}
RADIO_EDIT = {
    "id": "video0001",
    "title": "Daft Punk - Get Lucky (Official Video) ft. Pharrell Williams, Nile Rodgers",
    "channel": "DaftPunkVEVO",
    "duration_s": 248,
}
NIGHTCORE = {"id": "night0001", "title": "Nightcore - Get Lucky", "channel": "NC Vibes", "duration_s": 300}
UNRELATED = {"id": "other0001", "title": "Lucky Star (Official Video)", "channel": "Madonna", "duration_s": 331}
VIDEOS = [LIVE, COVER, RADIO_EDIT, NIGHTCORE, TOPIC, UNRELATED]  # the right one is not first in search order


def cand(v: dict, source: str = "api") -> Candidate:
    return Candidate(v["id"], v["title"], v["channel"], v["duration_s"], source)


def no_fallback(query: str, n: int) -> list[Candidate]:
    raise AssertionError(f"the fallback must not be used here ({query!r})")


# --- scoring ---------------------------------------------------------------------------------------------


def test_scoring_prefers_the_topic_upload_with_the_right_duration():
    scores = {v["id"]: score_candidate(TITLE, ARTISTS, DURATION, cand(v)) for v in VIDEOS}
    assert max(scores, key=scores.get) == "topic0001"
    assert scores["topic0001"] >= 0.9
    # same title, same length, other recordings: penalised below the default threshold
    assert scores["live00001"] < 0.55
    assert scores["cover0001"] < 0.55
    assert scores["night0001"] < 0.3
    assert scores["other0001"] < 0.4
    # the music video of the radio edit: right song, wrong length → clearly behind the Topic upload
    assert scores["video0001"] < scores["topic0001"] - 0.3
    assert all(0.0 <= s <= 1.0 for s in scores.values())


def test_scoring_keeps_versions_the_spotify_title_names():
    live_title = "Get Lucky - Live at the Grammys"
    live = score_candidate(live_title, ["Daft Punk"], 372, cand(LIVE))
    studio = score_candidate(live_title, ["Daft Punk"], 372, cand(TOPIC))
    assert live > studio and live >= 0.7


def test_scoring_duration_falls_off():
    def at(seconds):
        return score_candidate("Song", ["Artist"], 200, Candidate("x", "Song", "Artist - Topic", seconds, "api"))

    assert at(200) == at(201.5) == 1.0
    assert at(200) > at(208) > at(215) > at(229) > at(240)
    assert at(240) == at(400)  # past 30 s (or 15 %) the duration says "another recording"
    assert 0.0 <= at(None) <= 1.0 and at(215) < at(None) < at(201)  # unknown: neutral


def test_scoring_normalises_case_accents_punctuation_and_noise_words():
    plain = score_candidate("Déjà Vu", ["Beyoncé"], 240, Candidate("a", "Deja Vu", "Beyonce", 240, "api"))
    noisy = score_candidate(
        "Déjà Vu", ["Beyoncé"], 240, Candidate("b", "BEYONCÉ - DÉJÀ VU (Official Audio) [HD] Lyrics", "x", 240, "api")
    )
    assert plain >= 0.95 and noisy >= 0.95
    escaped = score_candidate(
        "Rock & Roll", ["Led Zeppelin"], 220, Candidate("c", "Rock and Roll", "Led Zeppelin", 220, "api")
    )
    assert escaped >= 0.95


def test_scoring_is_bounded_for_odd_input():
    for title, artists, dur, c in [
        ("", [], 0.0, Candidate("a", "", "", None, "api")),
        ("!!!", [""], -5.0, Candidate("a", "???", " - Topic", 0.0, "ytdlp")),
        ("Song", ["A"], 100.0, Candidate("a", "Song Song Song official audio", "A - Topic VEVO", 100.0, "api")),
        ("日本語の歌", ["アーティスト"], 180.0, Candidate("a", "日本語の歌", "アーティスト - Topic", 180.0, "api")),
    ]:
        s = score_candidate(title, artists, dur, c)
        assert 0.0 <= s <= 1.0


def test_iso8601_durations():
    assert parse_iso8601_duration("PT4M13S") == 253
    assert parse_iso8601_duration("PT1H2M3S") == 3723
    assert parse_iso8601_duration("PT45S") == 45
    assert parse_iso8601_duration("P1DT1S") == 86401
    assert parse_iso8601_duration("P0D") is None  # live streams
    assert parse_iso8601_duration("") is None and parse_iso8601_duration("4:13") is None
    assert iso_duration(253) == "PT4M13S" and parse_iso8601_duration(iso_duration(3723)) == 3723


# --- matching through the fake API -----------------------------------------------------------------------


def test_confident_match_through_the_api_costs_101_units():
    with FakeYouTube(VIDEOS, {KEY1: 10_000}) as yt:
        matcher = YouTubeMatcher([KEY1], yt.url, search_fallback=no_fallback)
        m = matcher.match(TITLE, ARTISTS, DURATION)
        assert m == Match("topic0001", "Get Lucky", "Daft Punk - Topic", m.confidence, "api")
        assert m.confidence >= 0.9
        assert matcher.units_spent == 101 and yt.units[KEY1] == 101
        (search_path, search), (videos_path, videos) = yt.requests
        assert search_path == "/youtube/v3/search" and videos_path == "/youtube/v3/videos"
        assert search["part"] == "snippet" and search["type"] == "video" and 5 <= int(search["maxResults"]) <= 10
        assert "Daft Punk" in search["q"] and "Get Lucky" in search["q"]
        assert videos["part"] == "contentDetails" and "topic0001" in videos["id"].split(",")

        matcher.match(TITLE, ARTISTS, DURATION)
        assert matcher.units_spent == 202 and yt.units[KEY1] == 202


def test_api_titles_are_unescaped():
    video = {"id": "amp000001", "title": "Simon & Garfunkel - Mrs. Robinson", "channel": "Simon & Garfunkel - Topic"}
    with FakeYouTube([dict(video, duration_s=244)], {KEY1: 1000}) as yt:
        m = YouTubeMatcher([KEY1], yt.url).match("Mrs. Robinson", ["Simon & Garfunkel"], 244.0)
    assert m.title == "Simon & Garfunkel - Mrs. Robinson" and m.channel == "Simon & Garfunkel - Topic"


def test_quota_exceeded_rotates_to_the_next_key_and_remembers():
    quota = MemoryQuota()
    with FakeYouTube(VIDEOS, {KEY1: 150, KEY2: 10_000}) as yt:
        matcher = YouTubeMatcher([KEY1, KEY2], yt.url, quota=quota, search_fallback=no_fallback)
        assert matcher.match(TITLE, ARTISTS, DURATION).video_id == "topic0001"  # key 1: 101 units, 49 left
        assert matcher.match(TITLE, ARTISTS, DURATION).video_id == "topic0001"  # key 1 → 403 → key 2
        assert yt.units == {KEY1: 101, KEY2: 101}
        assert quota.exhausted(0) and not quota.exhausted(1)
        assert quota.spent(0) == 101 and quota.spent(1) == 101
        n = len(yt.requests)
        matcher.match(TITLE, ARTISTS, DURATION)  # key 1 is not even tried again today
        assert [p["key"] for _, p in yt.requests[n:]] == [KEY2, KEY2]
        assert matcher.units_spent == 303


def test_ledger_skips_a_key_without_calling_when_its_count_is_spent():
    quota = MemoryQuota()
    quota.spend(0, 9_950)  # another worker used key 1 today
    with FakeYouTube(VIDEOS, {KEY1: 10_000, KEY2: 10_000}) as yt:
        matcher = YouTubeMatcher([KEY1, KEY2], yt.url, quota=quota, search_fallback=no_fallback)
        matcher.match(TITLE, ARTISTS, DURATION)
        assert {p["key"] for _, p in yt.requests} == {KEY2}
        assert quota.exhausted(0)


def test_falls_back_to_the_injected_search_when_every_key_is_spent():
    calls = []

    def fallback(query: str, n: int) -> list[Candidate]:
        calls.append((query, n))
        return [cand(COVER, "ytdlp"), cand(TOPIC, "ytdlp")]

    with FakeYouTube(VIDEOS, {KEY1: 50, KEY2: 99}) as yt:
        matcher = YouTubeMatcher([KEY1, KEY2], yt.url, search_fallback=fallback)
        m = matcher.match(TITLE, ARTISTS, DURATION)
        assert (m.video_id, m.source) == ("topic0001", "ytdlp")
        assert len(calls) == 1 and "Get Lucky" in calls[0][0] and calls[0][1] >= 5
        assert matcher.units_spent == 0 and sum(yt.units.values()) == 0
        n = len(yt.requests)
        matcher.match(TITLE, ARTISTS, DURATION)
        assert len(yt.requests) == n and len(calls) == 2  # both keys known spent: straight to the fallback


def test_no_keys_means_fallback_only():
    seen = []
    matcher = YouTubeMatcher([], "http://127.0.0.1:9", search_fallback=lambda q, n: seen.append(q) or [cand(TOPIC)])
    assert matcher.match(TITLE, ARTISTS, DURATION).video_id == "topic0001" and len(seen) == 1


def test_invalid_key_is_skipped():
    with FakeYouTube(VIDEOS, {KEY2: 1000}) as yt:  # KEY1 unknown to the API: 400 "API key not valid"
        quota = MemoryQuota()
        matcher = YouTubeMatcher([KEY1, KEY2], yt.url, quota=quota, search_fallback=no_fallback)
        assert matcher.match(TITLE, ARTISTS, DURATION).video_id == "topic0001"
        assert quota.exhausted(0) and yt.units[KEY2] == 101


def test_no_match_below_the_threshold():
    with FakeYouTube([UNRELATED, NIGHTCORE], {KEY1: 1000}) as yt:
        matcher = YouTubeMatcher([KEY1], yt.url, search_fallback=no_fallback)
        with pytest.raises(NoMatch) as info:
            matcher.match(TITLE, ARTISTS, DURATION)
        best = info.value.details["bestConfidence"]
        assert isinstance(best, float) and 0.0 <= best < 0.55
        assert info.value.code == "no_match"
        assert yt.units[KEY1] == 101

        with pytest.raises(NoMatch) as info:  # nothing found at all: 100 units, no videos.list
            matcher.match("Zzyzx Qwfp", ["Nobody Xyz"], 100.0)
        assert info.value.details == {"bestConfidence": None}
        assert yt.units[KEY1] == 201

    strict = YouTubeMatcher([], "http://127.0.0.1:9", search_fallback=lambda q, n: [cand(RADIO_EDIT)], threshold=0.9)
    with pytest.raises(NoMatch):
        strict.match(TITLE, ARTISTS, DURATION)


def test_api_errors_are_youtube_errors_with_retryable():
    with FakeYouTube(VIDEOS, {KEY1: 1000}) as yt:
        matcher = YouTubeMatcher([KEY1], yt.url, search_fallback=no_fallback)
        yt.fail_next(503)
        with pytest.raises(YouTubeError) as info:
            matcher.match(TITLE, ARTISTS, DURATION)
        assert info.value.retryable and info.value.code == "youtube_error"
        assert isinstance(info.value, MusicrecError)
        yt.fail_next(404)
        with pytest.raises(YouTubeError) as info:
            matcher.match(TITLE, ARTISTS, DURATION)
        assert not info.value.retryable
        assert matcher.match(TITLE, ARTISTS, DURATION).video_id == "topic0001"  # and it recovers
    with pytest.raises(YouTubeError) as info:  # nothing listening
        YouTubeMatcher([KEY1], yt.url, search_fallback=no_fallback).match(TITLE, ARTISTS, DURATION)
    assert info.value.retryable


def test_api_keys_never_reach_errors_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("googleapiclient", "googleapiclient.discovery", "googleapiclient.http", "httplib2", "urllib3"):
        caplog.set_level(logging.DEBUG, logger=name)
    errors: list[BaseException] = []
    with FakeYouTube(VIDEOS, {KEY1: 150, KEY2: 10_000}) as yt:
        matcher = YouTubeMatcher([KEY1, KEY2], yt.url, search_fallback=no_fallback)
        matcher.match(TITLE, ARTISTS, DURATION)
        matcher.match(TITLE, ARTISTS, DURATION)  # 403 quotaExceeded on key 1, rotation
        for status in (500, 400, 403):
            yt.fail_next(status)
            with pytest.raises(YouTubeError) as info:
                matcher.match(TITLE, ARTISTS, DURATION)
            errors.append(info.value)
    with pytest.raises(YouTubeError) as info:  # connection refused (a fresh matcher: no kept-alive connection)
        YouTubeMatcher([KEY1, KEY2], yt.url, search_fallback=no_fallback).match(TITLE, ARTISTS, DURATION)
    errors.append(info.value)

    assert "URL being requested" in caplog.text  # the client library did log its URLs at DEBUG...
    for key in (KEY1, KEY2):
        assert key not in caplog.text  # ...with the key redacted
        for err in errors:
            text = "".join(traceback.format_exception(err))
            assert key not in text and key not in repr(err) and key not in str(err.details)
            assert err.__cause__ is None and err.__context__ is None
    assert "key=***" in caplog.text
    assert KEY1 not in repr(matcher)


# --- quota ledgers ---------------------------------------------------------------------------------------


def test_memory_quota_is_per_utc_day():
    now = [dt.datetime(2025, 3, 1, 23, 59, tzinfo=dt.UTC)]
    quota = MemoryQuota(clock=lambda: now[0])
    quota.spend(0, 101)
    quota.spend(0, 101)
    quota.exhaust(1)
    assert quota.spent(0) == 202 and quota.exhausted(1) and not quota.exhausted(0) and quota.spent(1) == 0
    now[0] += dt.timedelta(minutes=2)
    assert quota.spent(0) == 0 and not quota.exhausted(1)


@pytest.fixture
def redis_client(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    yield client
    client.close()


def test_redis_quota_shared_per_day_by_key_index(redis_client):
    now = [dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)]
    a = RedisQuota(redis_client, clock=lambda: now[0])
    b = RedisQuota(redis_client, clock=lambda: now[0])  # another worker
    a.spend(0, 100)
    b.spend(0, 1)
    b.exhaust(1)
    assert a.spent(0) == b.spent(0) == 101 and a.exhausted(1) and not a.exhausted(0)
    names = sorted(k.decode() for k in redis_client.keys("*"))
    assert names == ["musicrec:ytquota:20250301:0:spent", "musicrec:ytquota:20250301:1:exhausted"]
    assert all(0 < redis_client.ttl(k) <= 2 * 24 * 3600 for k in names)
    now[0] += dt.timedelta(days=1)
    assert a.spent(0) == 0 and not a.exhausted(1)

    with FakeYouTube(VIDEOS, {KEY1: 10_000}) as yt:
        YouTubeMatcher([KEY1], yt.url, quota=RedisQuota(redis_client)).match(TITLE, ARTISTS, DURATION)
    for key in redis_client.keys("*"):
        assert KEY1.encode() not in key and KEY1.encode() not in (redis_client.get(key) or b"")


# --- yt-dlp fallback pieces ------------------------------------------------------------------------------


def test_ytdlp_flat_search_entries_become_candidates():
    info = {
        "_type": "playlist",
        "entries": [
            {"id": "abc", "title": "Get Lucky", "channel": "Daft Punk - Topic", "duration": 369.0},
            {"id": "def", "title": "Get Lucky (Live)", "uploader": "Someone", "duration": None},
            {"title": "no id"},
            None,
        ],
    }
    assert _ytdlp_candidates(info) == [
        Candidate("abc", "Get Lucky", "Daft Punk - Topic", 369.0, "ytdlp"),
        Candidate("def", "Get Lucky (Live)", "Someone", None, "ytdlp"),
    ]
    assert _ytdlp_candidates(None) == []


def test_ytdlp_errors_are_classified():
    from yt_dlp.networking.exceptions import TransportError
    from yt_dlp.utils import DownloadError, ExtractorError

    gone = DownloadError(
        "ERROR: [youtube] abc: Video unavailable", (None, ExtractorError("unavailable", expected=True), None)
    )
    net = DownloadError("ERROR: timed out", (None, TransportError("timed out"), None))
    assert not ytdlp_error(gone, "x").retryable
    assert ytdlp_error(net, "x").retryable
    assert ytdlp_error(RuntimeError("?"), "x").retryable


def test_errors_survive_pickling():
    err = pickle.loads(pickle.dumps(YouTubeError("boom key=SECRET", {"httpStatus": 503}, retryable=True)))
    assert (err.message, err.details, err.retryable) == ("boom key=***", {"httpStatus": 503}, True)
    nm = pickle.loads(pickle.dumps(NoMatch("none", 0.31)))
    assert nm.details == {"bestConfidence": 0.31} and nm.best_confidence == 0.31
