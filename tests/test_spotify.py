"""The Spotify library reader against a fake Spotify Web API served over HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import traceback
from urllib.parse import urlsplit

import pytest
from conftest import free_port
from fakes.spotify_api import DEFAULT_TOKEN, FakeSpotify, make_library

from service.sync.spotify import (
    SpotifyAuthError,
    SpotifyError,
    SpotifyRateLimited,
    SpotifyReader,
    SpotifyTrack,
    parse_retry_after,
)

FOLLOWED = {"artist6", "artist7", "artist8"}
LIST_PATHS = ("/me/top/tracks", "/me/top/artists", "/me/tracks", "/me/following", "/me/playlists", "/playlists/")


@pytest.fixture
def fake():
    with FakeSpotify(make_library(), page_size=2) as f:
        yield f


def read(fake: FakeSpotify, token: str = DEFAULT_TOKEN):
    return SpotifyReader(token, fake.url, timeout=5).read_library()


def expected_reasons(library: dict) -> dict[str, set[str]]:
    """What the reader should find, worked out from the library dict on its own terms."""
    out: dict[str, set[str]] = {}
    for time_range, reason in (("short_term", "top_short"), ("medium_term", "top_medium"), ("long_term", "top_long")):
        for t in library["top_tracks"][time_range]:
            out.setdefault(t, set()).add(reason)
    for t in library["saved"]:
        out.setdefault(t, set()).add("saved")
    for playlist in library["playlists"]:
        if playlist["owner"] == library["user"]["id"] or playlist.get("collaborative"):
            for entry in playlist["items"]:
                if isinstance(entry, str):
                    out.setdefault(entry, set()).add("playlist")
    for t, reasons in out.items():
        if FOLLOWED & {a["id"] for a in library["tracks"][t]["artists"]}:
            reasons.add("followed_artist")
    return out


@pytest.mark.parametrize("item_key", ["item", "track", "both"])
def test_reads_the_whole_library(item_key):
    library = make_library()
    with FakeSpotify(library, page_size=2, item_key=item_key) as fake:
        lib = read(fake)
        served = fake.requests

    assert lib.user_id == "alice"
    assert set(lib.entries) == {f"track{i:03d}" for i in range(70)}
    assert {tid: e.reasons for tid, e in lib.entries.items()} == expected_reasons(library)
    assert lib.ignored == 5  # 2 local files (one of them in two playlists), 1 episode, 1 null entry, 1 without id
    assert lib.skipped_playlists == 1  # the followed one: Spotify answers 403 on its items
    assert lib.requests == len(served)

    # ranks: 0-based position in each top list
    assert lib.entries["track000"].ranks == {"top_short": 0}
    assert lib.entries["track005"].ranks == {"top_short": 5, "top_medium": 0}
    assert lib.entries["track024"].ranks == {"top_medium": 19, "top_long": 4}
    assert lib.entries["track049"].ranks == {"top_long": 29}
    assert lib.entries["track055"].ranks == {}
    assert lib.entries["track000"].reasons == {"top_short", "playlist"}  # also in "mine", once as an entry
    assert lib.entries["track068"].reasons == {"playlist"}  # from the collaborative playlist

    # genres: of all the track's artists, from top artists and followed artists, in order, no repeats
    assert lib.entries["track000"].genres == ["indie rock", "rock", "house", "techno"]  # artist0 + artist3
    assert lib.entries["track010"].genres == ["techno", "ambient"]  # artist2 + artist5
    assert lib.entries["track006"].genres == ["folk"]  # artist6: only known as followed
    assert lib.entries["track007"].genres == []  # artist7 has none
    assert "followed_artist" in lib.entries["track006"].reasons

    # track fields
    t = lib.entries["track001"].track
    assert t == SpotifyTrack(
        spotify_id="track001",
        title="Song 1",
        artists=("Artist 1",),
        artist_ids=("artist1",),
        album="Album 0",
        duration_s=181.0,
        year=1991,  # "1991-07", month precision
        isrc="USRC10000001",
    )
    assert lib.entries["track002"].track.year == 1992  # "1992", year precision
    assert lib.entries["track003"].track.year is None  # "0000"
    assert lib.entries["track003"].track.isrc is None  # no external_ids.isrc
    assert lib.entries["track010"].track.artists == ("Artist 2", "Artist 5")

    # full pagination everywhere, at the largest page size, on today's endpoints only
    def count(path, **query):
        return sum(1 for _, p, q in served if p == path and all(q.get(k) == v for k, v in query.items()))

    assert count("/me") == 1
    assert [count("/me/top/tracks", time_range=r) for r in ("short_term", "medium_term", "long_term")] == [5, 10, 15]
    assert [count("/me/top/artists", time_range=r) for r in ("short_term", "medium_term", "long_term")] == [1, 2, 1]
    assert count("/me/tracks") == 10
    assert count("/me/playlists") == 3
    assert count("/playlists/playlistMine/items") == 10  # 19 entries
    assert count("/playlists/playlistMine2/items") == 2
    assert count("/playlists/playlistCollab/items") == 2
    assert count("/playlists/playlistFollowed/items") == 0  # would be 403: not asked at all
    assert count("/playlists/playlistEmpty/items") == 0  # total 0: nothing to ask for
    following = [q for _, p, q in served if p == "/me/following"]
    assert [q.get("after") for q in following] == [None, "artist8"]  # cursor paging
    assert all(q["type"] == "artist" for q in following)
    for method, path, query in served:
        assert method == "GET"
        assert not path.endswith("/tracks") or path == "/me/tracks" or path == "/me/top/tracks"
        assert not path.startswith("/users/")
        if path.startswith(LIST_PATHS):
            assert query["limit"] == "50"


def test_rate_limit_surfaces_with_retry_after_and_no_retry(fake):
    fake.rate_limit_once("/me/tracks", retry_after=7)
    with pytest.raises(SpotifyRateLimited) as info:
        read(fake)
    exc = info.value
    assert exc.retry_after == 7.0 and exc.retryable
    assert exc.code == "spotify_error"
    assert exc.details["status"] == 429 and exc.details["path"] == "/me/tracks"
    assert len(fake.requests_to("/me/tracks")) == 1  # no retry inside spotipy/urllib3
    assert fake.requests[-1][1] == "/me/tracks"  # and nothing after it


def test_rate_limit_without_header_defaults_to_5_s(fake):
    fake.rate_limit_once("/me/top/artists", retry_after=None)
    with pytest.raises(SpotifyRateLimited) as info:
        read(fake)
    assert info.value.retry_after == 5.0
    assert len(fake.requests_to("/me/top/artists")) == 1


def test_rate_limit_on_a_playlist_is_not_swallowed(fake):
    fake.rate_limit_once("/playlists/playlistMine2/items", retry_after=2)
    with pytest.raises(SpotifyRateLimited) as info:
        read(fake)
    assert info.value.retry_after == 2.0
    assert len(fake.requests_to("/playlists/playlistMine2/items")) == 1


def test_expired_token_is_an_auth_error(fake):
    fake.expire_token()
    with pytest.raises(SpotifyAuthError) as info:
        read(fake)
    assert str(info.value) == "Spotify rejected the token (expired or invalid)"
    assert not info.value.retryable and info.value.details["status"] == 401
    assert len(fake.requests) == 1  # /me fails first; nothing else is tried


def test_wrong_token_and_a_401_mid_library(fake):
    with pytest.raises(SpotifyAuthError):
        read(fake, token="not-the-token")
    fake.fail_once("/playlists/playlistCollab/items", status=401, message="The access token expired")
    with pytest.raises(SpotifyAuthError):
        read(fake)


def test_server_error_is_retryable_and_used_once(fake):
    fake.fail_once("/me/top/tracks", status=500)
    with pytest.raises(SpotifyError) as info:
        read(fake)
    assert type(info.value) is SpotifyError
    assert info.value.retryable and info.value.details == {
        "status": 500,
        "path": "/me/top/tracks",
        "spotifyMessage": "Server error",
    }
    assert len(fake.requests_to("/me/top/tracks")) == 1
    assert len(read(fake).entries) == 70  # the next attempt goes through


def test_unreadable_playlist_is_skipped_but_other_4xx_fail(fake):
    fake.fail_once("/playlists/playlistCollab/items", status=403, message="Forbidden")
    lib = read(fake)
    assert lib.skipped_playlists == 2
    assert set(lib.entries) == {f"track{i:03d}" for i in range(66)}  # collab's track066-069 missing

    fake.fail_once("/me/tracks", status=404, message="Not found")
    with pytest.raises(SpotifyError) as info:
        read(fake)
    assert not info.value.retryable and info.value.details["status"] == 404


def test_forbidden_me_explains_the_user_list(fake):
    fake.fail_once("/me", status=403, message="Forbidden")
    with pytest.raises(SpotifyError) as info:
        read(fake)
    assert not info.value.retryable and "403" in str(info.value)


def test_network_error_is_retryable():
    reader = SpotifyReader(DEFAULT_TOKEN, f"http://127.0.0.1:{free_port()}/v1/", timeout=2)
    with pytest.raises(SpotifyError) as info:
        reader.read_library()
    assert info.value.retryable and info.value.details == {"path": "/me"}
    assert "connection refused" in str(info.value)  # why, in words (not only the exception's class)


def test_next_link_to_another_host_is_not_followed(fake, monkeypatch):
    original = fake._link

    def link(path, query, **changes):
        url = original(path, query, **changes)
        return url.replace("127.0.0.1", "elsewhere.invalid") if path == "/me/tracks" and changes["offset"] else url

    monkeypatch.setattr(fake, "_link", link)
    with pytest.raises(SpotifyError) as info:
        read(fake)
    port = urlsplit(fake.url).port
    assert not info.value.retryable and info.value.details == {"host": f"elsewhere.invalid:{port}"}
    assert len(fake.requests_to("/me/tracks")) == 1


def test_cursor_paging_without_next_links_uses_the_after_cursor(fake, monkeypatch):
    original = fake._following

    def following(path, query):
        answer = original(path, query)
        answer["artists"]["next"] = None  # only cursors.after tells there is more
        return answer

    monkeypatch.setattr(fake, "_following", following)
    lib = read(fake)
    assert [q.get("after") for _, p, q in fake.requests if p == "/me/following"] == [None, "artist8"]
    assert {tid for tid, e in lib.entries.items() if "followed_artist" in e.reasons} == {
        tid for tid, reasons in expected_reasons(fake.library).items() if "followed_artist" in reasons
    }
    assert lib.entries["track006"].genres == ["folk"]


def test_token_never_leaks(fake, caplog):
    token = DEFAULT_TOKEN
    caplog.set_level(logging.DEBUG)
    for name in ("spotipy", "spotipy.client", "urllib3", "requests"):
        caplog.set_level(logging.DEBUG, logger=name)

    lib = read(fake)
    assert len(lib.entries) == 70
    errors: list[SpotifyError] = []
    for inject in (
        lambda: fake.rate_limit_once("/me/tracks", retry_after=3),
        lambda: fake.fail_once("/me/playlists", status=500),
        lambda: fake.fail_once("/me/following", status=404),
        fake.expire_token,
    ):
        inject()
        with pytest.raises(SpotifyError) as info:
            read(fake)
        errors.append(info.value)
    with pytest.raises(SpotifyError) as info:
        SpotifyReader(token, f"http://127.0.0.1:{free_port()}/v1").read_library()
    errors.append(info.value)

    # spotipy and urllib3 did log at DEBUG (so the check below has teeth), yet the token is nowhere
    assert any(r.name == "spotipy.client" and r.levelno == logging.DEBUG for r in caplog.records)
    assert any(r.name.startswith("urllib3") for r in caplog.records)
    assert token not in caplog.text
    assert all(token not in r.getMessage() for r in caplog.records)
    for exc in errors:
        text = "".join(traceback.format_exception(exc))
        assert token not in text and token not in repr(exc) and token not in json.dumps(exc.details)
    assert token not in repr(SpotifyReader(token, fake.url))
    assert token not in str(SpotifyReader(token, fake.url))


def test_track_dict_round_trip(fake):
    lib = read(fake)
    for entry in lib.entries.values():
        t = entry.track
        assert SpotifyTrack.from_dict(t.as_dict()) == t
        assert SpotifyTrack.from_dict(json.loads(json.dumps(t.as_dict()))) == t


def test_from_api_skips_what_is_not_a_catalogue_track():
    base = {"id": "abc", "name": "X", "type": "track", "artists": [{"id": "a", "name": "A"}], "duration_ms": 1500}
    assert SpotifyTrack.from_api(base) == SpotifyTrack("abc", "X", ("A",), ("a",), None, 1.5, None, None)
    assert SpotifyTrack.from_api(None) is None
    assert SpotifyTrack.from_api({**base, "type": "episode"}) is None
    assert SpotifyTrack.from_api({**base, "episode": True}) is None  # old track-shaped episode
    assert SpotifyTrack.from_api({**base, "is_local": True}) is None
    assert SpotifyTrack.from_api({**base, "id": None}) is None
    assert SpotifyTrack.from_api({**base, "album": {"name": "B", "release_date": "1987-10-12"}}).year == 1987
    assert SpotifyTrack.from_api({**base, "album": {"name": "B", "release_date": ""}}).year is None


def test_parse_retry_after():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after(None) == 5.0
    assert parse_retry_after("soon") == 5.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: now
