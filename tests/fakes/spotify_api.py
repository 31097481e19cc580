"""A fake Spotify Web API: a real HTTP server on 127.0.0.1, in a background thread.

Shapes follow Spotify's OpenAPI description (sonallux/spotify-web-api, 2026): paging objects (`href`, `items`,
`limit`, `next`, `offset`, `previous`, `total`), cursor paging for `/me/following`, saved track objects,
playlist item objects (the track under `item`; `track` is the deprecated name), simplified playlist objects
(`items: {href, total}`, deprecated `tracks`). As in 2026, `/playlists/{id}/items` answers 403 for playlists
the user neither owns nor collaborates on, and the removed `/playlists/{id}/tracks` and
`/users/{id}/playlists` answer 403.

    with FakeSpotify(make_library(), page_size=3) as fake:
        SpotifyReader(fake.token, fake.url).read_library()

The library dict (see `make_library`):
    user        {"id", "display_name"}
    tracks      {track id: full track object}
    artists     {artist id: full artist object (with genres)}
    top_tracks  {"short_term"|"medium_term"|"long_term": [track ids]}
    top_artists {"short_term"|"medium_term"|"long_term": [artist ids]}
    saved       [track ids]
    following   [artist ids]
    playlists   [{"id", "name", "owner": user id, "collaborative": bool, "items": [entry]}], where an entry is
                a track id, a raw track/episode object (local files, episodes, tracks without id) or None
"""

from __future__ import annotations

import json
import threading
import zlib
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fakes.loopback import LoopbackServer

DEFAULT_TOKEN = "fake-spotify-token-7Qx2LmZ9"
ROOT = "/v1"
MAX_LIMIT = 50
TIME_RANGES = ("short_term", "medium_term", "long_term")


class _Answer(Exception):
    def __init__(self, status: int, body: dict | None = None, headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> _Answer:
    return _Answer(status, {"error": {"status": status, "message": message}}, headers)


class FakeSpotify(LoopbackServer):
    """The fake server. `url` is the API base (`http://127.0.0.1:PORT/v1`); `requests` lists what was asked,
    as (method, path below the base such as "/me/tracks", query dict)."""

    def __init__(self, library: dict, page_size: int = 20, token: str = DEFAULT_TOKEN, *, item_key: str = "item"):
        if item_key not in ("item", "track", "both"):
            raise ValueError("item_key: 'item' (2026 shape), 'track' (the deprecated one) or 'both'")
        self.library = library
        self.page_size = page_size
        self.token = token
        self.item_key = item_key
        self._lock = threading.Lock()
        self._requests: list[tuple[str, str, dict[str, str]]] = []
        self._faults: list[tuple[str, _Answer]] = []  # (path prefix, answer), each used once
        self._expired = False
        super().__init__(self._handler(), name="fake-spotify")

    # -- lifecycle --

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10
            disable_nagle_algorithm = True  # keep-alive + Nagle + delayed ACK = 40 ms a request
            wbufsize = 1 << 16  # headers and body leave in one write

            def do_GET(self) -> None:  # noqa: N802
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        return Handler

    def close(self) -> None:
        """`stop()` under its older name."""
        self.stop()

    @property
    def url(self) -> str:
        return self.base_url + ROOT

    @property
    def requests(self) -> list[tuple[str, str, dict[str, str]]]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, path_prefix: str) -> list[tuple[str, str, dict[str, str]]]:
        return [r for r in self.requests if r[1].startswith(path_prefix)]

    # -- failure knobs --

    def rate_limit_once(self, path_prefix: str, retry_after: float | None = 1) -> None:
        """The next request below `path_prefix` (e.g. "/me/tracks") answers 429, with `Retry-After: retry_after`
        (no header when None)."""
        headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
        with self._lock:
            self._faults.append((path_prefix, _error(429, "API rate limit exceeded", headers)))

    def fail_once(self, path_prefix: str, status: int = 500, message: str = "Server error") -> None:
        """The next request below `path_prefix` answers `status` (500 by default)."""
        with self._lock:
            self._faults.append((path_prefix, _error(status, message)))

    def expire_token(self) -> None:
        """Every request answers 401 "The access token expired" from now on."""
        with self._lock:
            self._expired = True

    # -- serving --

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        path = parts.path
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if path.startswith(ROOT + "/") or path == ROOT:
            path = path[len(ROOT) :]
        else:
            path = "!" + path  # outside the API root
        path = path.rstrip("/") or "/"  # spotipy asks for "me/"
        with self._lock:
            self._requests.append((handler.command, path, query))
        try:
            self._check_auth(handler.headers.get("Authorization"))
            with self._lock:
                for i, (prefix, answer) in enumerate(self._faults):
                    if path.startswith(prefix):
                        del self._faults[i]
                        raise answer
            body = self._route(path, query)
            self._send(handler, 200, body, {})
        except _Answer as answer:
            self._send(handler, answer.status, answer.body, answer.headers)

    def _check_auth(self, header: str | None) -> None:
        if not header:
            raise _error(401, "No token provided")
        if header != f"Bearer {self.token}":
            raise _error(401, "Invalid access token")
        with self._lock:
            if self._expired:
                raise _error(401, "The access token expired")

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: dict | None, headers: dict[str, str]) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _route(self, path: str, query: dict[str, str]) -> dict:
        lib = self.library
        segments = path.strip("/").split("/")
        if path == "/me":
            user = lib["user"]
            return {
                "id": user["id"],
                "display_name": user.get("display_name"),
                "type": "user",
                "uri": f"spotify:user:{user['id']}",
                "href": f"{self.url}/users/{user['id']}",
                "external_urls": {"spotify": f"https://open.spotify.com/user/{user['id']}"},
            }
        if path in ("/me/top/tracks", "/me/top/artists"):
            time_range = query.get("time_range", "medium_term")
            if time_range not in TIME_RANGES:
                raise _error(400, "Invalid time range")
            if path.endswith("tracks"):
                items = [lib["tracks"][t] for t in lib.get("top_tracks", {}).get(time_range, [])]
            else:
                items = [lib["artists"][a] for a in lib.get("top_artists", {}).get(time_range, [])]
            return self._paging(path, query, items)
        if path == "/me/tracks":
            items = [
                {"added_at": f"2025-01-{1 + i % 28:02d}T12:00:00Z", "track": lib["tracks"][t]}
                for i, t in enumerate(lib.get("saved", []))
            ]
            return self._paging(path, query, items)
        if path == "/me/following":
            return self._following(path, query)
        if path == "/me/playlists":
            return self._paging(path, query, [self._simplified_playlist(p) for p in lib.get("playlists", [])])
        if len(segments) == 3 and segments[0] == "playlists" and segments[2] == "items":
            playlist = self._playlist(segments[1])
            owner = lib["user"]["id"]
            if playlist.get("owner", owner) != owner and not playlist.get("collaborative"):
                raise _error(403, "Forbidden")
            return self._paging(path, query, [self._playlist_item(p, playlist) for p in playlist.get("items", [])])
        if len(segments) == 3 and segments[0] == "playlists" and segments[2] == "tracks":
            raise _error(403, "Forbidden")  # removed in February 2026
        if len(segments) == 3 and segments[0] == "users" and segments[2] == "playlists":
            raise _error(403, "Forbidden")  # removed in February 2026
        raise _error(404, "Service not found")

    # -- objects --

    def _playlist(self, playlist_id: str) -> dict:
        for playlist in self.library.get("playlists", []):
            if playlist["id"] == playlist_id:
                return playlist
        raise _error(404, "Resource not found")

    def _simplified_playlist(self, playlist: dict) -> dict:
        owner = playlist.get("owner", self.library["user"]["id"])
        ref = {"href": f"{self.url}/playlists/{playlist['id']}/items", "total": len(playlist.get("items", []))}
        obj = {
            "id": playlist["id"],
            "name": playlist.get("name", playlist["id"]),
            "collaborative": bool(playlist.get("collaborative", False)),
            "description": None,
            "public": bool(playlist.get("public", False)),
            "snapshot_id": f"snap-{playlist['id']}",
            "owner": {
                "id": owner,
                "display_name": owner.title(),
                "type": "user",
                "uri": f"spotify:user:{owner}",
                "href": f"{self.url}/users/{owner}",
                "external_urls": {"spotify": f"https://open.spotify.com/user/{owner}"},
            },
            "images": [],
            "href": f"{self.url}/playlists/{playlist['id']}",
            "external_urls": {"spotify": f"https://open.spotify.com/playlist/{playlist['id']}"},
            "type": "playlist",
            "uri": f"spotify:playlist:{playlist['id']}",
        }
        if self.item_key in ("item", "both"):
            obj["items"] = ref
        if self.item_key in ("track", "both"):
            obj["tracks"] = dict(ref)
        return obj

    def _playlist_item(self, entry: Any, playlist: dict) -> dict:
        if isinstance(entry, str):
            obj: dict | None = self.library["tracks"][entry]
        else:
            obj = entry
        item = {
            "added_at": "2025-06-01T10:00:00Z",
            "added_by": {"id": playlist.get("owner", self.library["user"]["id"]), "type": "user"},
            "is_local": bool(obj and obj.get("is_local")),
        }
        if self.item_key in ("item", "both"):
            item["item"] = obj
        if self.item_key in ("track", "both"):
            item["track"] = obj
        return item

    # -- paging --

    @staticmethod
    def _limit(query: dict[str, str]) -> int:
        try:
            limit = int(query.get("limit", "20"))
        except ValueError:
            raise _error(400, "Invalid limit") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise _error(400, "Invalid limit")
        return limit

    def _link(self, path: str, query: dict[str, str], **changes: Any) -> str:
        q = {**query, **{k: str(v) for k, v in changes.items()}}
        return f"{self.url}{path}?{urlencode(q)}"

    def _paging(self, path: str, query: dict[str, str], items: list) -> dict:
        limit = self._limit(query)
        try:
            offset = int(query.get("offset", "0"))
        except ValueError:
            raise _error(400, "Invalid offset") from None
        if offset < 0:
            raise _error(400, "Invalid offset")
        size = min(limit, self.page_size)
        end = offset + size
        return {
            "href": self._link(path, query, offset=offset, limit=limit),
            "items": items[offset:end],
            "limit": size,
            "next": self._link(path, query, offset=end, limit=limit) if end < len(items) else None,
            "offset": offset,
            "previous": self._link(path, query, offset=max(0, offset - size), limit=limit) if offset > 0 else None,
            "total": len(items),
        }

    def _following(self, path: str, query: dict[str, str]) -> dict:
        if query.get("type") != "artist":
            raise _error(400, "Only valid type is 'artist'")
        limit = self._limit(query)
        ids = list(self.library.get("following", []))
        start = 0
        if query.get("after"):
            if query["after"] not in ids:
                raise _error(400, "Invalid cursor")
            start = ids.index(query["after"]) + 1
        size = min(limit, self.page_size)
        chunk = ids[start : start + size]
        more = start + size < len(ids)
        href_query = {k: v for k, v in query.items() if k != "after"}
        return {
            "artists": {
                "href": self._link(path, href_query, limit=limit),
                "items": [self.library["artists"][a] for a in chunk],
                "limit": size,
                "next": self._link(path, href_query, limit=limit, after=chunk[-1]) if more and chunk else None,
                "cursors": {"after": chunk[-1] if more and chunk else None, "before": None},
                "total": len(ids),
            }
        }


# --- building a library --------------------------------------------------------------------------------


def artist_object(artist_id: str, name: str, genres: list[str]) -> dict:
    """A full artist object (genres are deprecated in 2026 and may come back empty)."""
    return {
        "id": artist_id,
        "name": name,
        "genres": list(genres),
        "type": "artist",
        "uri": f"spotify:artist:{artist_id}",
        "href": f"https://api.spotify.com/v1/artists/{artist_id}",
        "external_urls": {"spotify": f"https://open.spotify.com/artist/{artist_id}"},
        "images": [],
    }


def track_object(
    track_id: str | None,
    name: str,
    artists: list[tuple[str | None, str]],
    *,
    album: str = "An Album",
    release_date: str | None = "2001-02-03",
    release_date_precision: str = "day",
    duration_ms: int = 200_000,
    isrc: str | None = None,
    is_local: bool = False,
    uri: str | None = None,
) -> dict:
    """A full track object; `artists` as (id, name) pairs."""
    simplified = [
        {"id": a_id, "name": a_name, "type": "artist", "uri": f"spotify:artist:{a_id}" if a_id else None}
        for a_id, a_name in artists
    ]
    return {
        "id": track_id,
        "name": name,
        "artists": simplified,
        "album": {
            "id": None if is_local else f"album{zlib.crc32(album.encode()):08x}",
            "name": album,
            "album_type": "album",
            "release_date": release_date,
            "release_date_precision": release_date_precision,
            "artists": simplified[:1],
            "images": [],
            "type": "album",
        },
        "duration_ms": duration_ms,
        "disc_number": 1,
        "track_number": 1,
        "explicit": False,
        "external_ids": {"isrc": isrc} if isrc else {},
        "external_urls": {} if is_local else {"spotify": f"https://open.spotify.com/track/{track_id}"},
        "href": None if is_local else f"https://api.spotify.com/v1/tracks/{track_id}",
        "is_local": is_local,
        "is_playable": not is_local,
        "type": "track",
        "uri": uri if uri is not None else (f"spotify:track:{track_id}" if track_id else None),
    }


def local_track(title: str, artist: str = "Local Artist", duration_ms: int = 215_000) -> dict:
    """A local file in a playlist: no id, a `spotify:local:` uri, `is_local` true."""
    uri = f"spotify:local:{artist.replace(' ', '+')}:Local+Album:{title.replace(' ', '+')}:{duration_ms // 1000}"
    return track_object(
        None,
        title,
        [(None, artist)],
        album="Local Album",
        release_date=None,
        duration_ms=duration_ms,
        is_local=True,
        uri=uri,
    )


def episode_object(episode_id: str, name: str) -> dict:
    return {
        "id": episode_id,
        "name": name,
        "type": "episode",
        "uri": f"spotify:episode:{episode_id}",
        "duration_ms": 1_800_000,
        "description": "A podcast episode",
        "explicit": False,
        "release_date": "2024-05-01",
        "release_date_precision": "day",
        "show": {"id": "show0001", "name": "A Show", "type": "show", "uri": "spotify:show:show0001"},
    }


ARTIST_GENRES = [
    ["indie rock", "rock"],
    ["rock"],
    ["techno"],
    ["house", "techno"],
    ["jazz"],
    ["ambient"],
    ["folk"],
    [],  # an artist Spotify has no genres for
    ["metal"],  # followed, but none of their tracks is in the library
]


def make_track(i: int) -> dict:
    """track{i:03d}: artist i % 8 (plus artist (i + 3) % 8 when i % 10 == 0); release dates of every precision
    ("0000" when i % 4 == 3, i.e. no year); no ISRC when i % 7 == 3."""
    artists = [(f"artist{i % 8}", f"Artist {i % 8}")]
    if i % 10 == 0:
        artists.append((f"artist{(i + 3) % 8}", f"Artist {(i + 3) % 8}"))
    year = 1990 + i % 30
    release_date, precision = [
        (f"{year}-03-04", "day"),
        (f"{year}-07", "month"),
        (f"{year}", "year"),
        ("0000", "year"),
    ][i % 4]
    return track_object(
        f"track{i:03d}",
        f"Song {i}",
        artists,
        album=f"Album {i // 5}",
        release_date=release_date,
        release_date_precision=precision,
        duration_ms=180_000 + i * 1000,
        isrc=None if i % 7 == 3 else f"USRC1{i:07d}",
    )


def make_library(user_id: str = "alice", extra_saved: int = 0) -> dict:
    """A library exercising every listing:

    - top tracks: short track000-009, medium track005-024, long track020-049 (overlapping);
    - top artists: short artist0-1, medium artist2-4, long artist5 and artist0;
    - saved: track040-059 (+ `extra_saved` more tracks, track100 on);
    - followed artists: artist6, artist8, artist7 (artist8 has no track in the library);
    - playlists: "mine" (track050-064, a local file, an episode, a null entry, track000 again), "mine2"
      (the same local file again, another local file, track065, a track without id), "collab" (bob's,
      collaborative: track066-069), "followed" (spotify's, only followed: track070-074, not readable),
      "empty" (owned, no items).

    Read fully: 70 unique tracks (track000-069, + extra_saved), 5 ignored (2 local files, 1 episode, 1 null
    entry, 1 track without id), 1 playlist skipped (followed).
    """
    tracks = {f"track{i:03d}": make_track(i) for i in range(75)}
    for i in range(100, 100 + extra_saved):
        tracks[f"track{i:03d}"] = make_track(i)
    artists = {f"artist{i}": artist_object(f"artist{i}", f"Artist {i}", g) for i, g in enumerate(ARTIST_GENRES)}
    ids = [f"track{i:03d}" for i in range(75)]
    no_id = track_object(None, "Unavailable Song", [("artist1", "Artist 1")])
    return {
        "user": {"id": user_id, "display_name": user_id.title()},
        "tracks": tracks,
        "artists": artists,
        "top_tracks": {"short_term": ids[0:10], "medium_term": ids[5:25], "long_term": ids[20:50]},
        "top_artists": {
            "short_term": ["artist0", "artist1"],
            "medium_term": ["artist2", "artist3", "artist4"],
            "long_term": ["artist5", "artist0"],
        },
        "saved": ids[40:60] + [f"track{i:03d}" for i in range(100, 100 + extra_saved)],
        "following": ["artist6", "artist8", "artist7"],
        "playlists": [
            {
                "id": "playlistMine",
                "name": "mine",
                "owner": user_id,
                "items": ids[50:57]
                + [local_track("Home Demo"), episode_object("episode0001", "Episode 1"), None]
                + ids[57:65]
                + ["track000"],
            },
            {
                "id": "playlistMine2",
                "name": "mine2",
                "owner": user_id,
                "items": [local_track("Home Demo"), local_track("Garage Take"), "track065", no_id],
            },
            {"id": "playlistCollab", "name": "collab", "owner": "bob", "collaborative": True, "items": ids[66:70]},
            {"id": "playlistFollowed", "name": "followed", "owner": "spotify", "items": ids[70:75]},
            {"id": "playlistEmpty", "name": "empty", "owner": user_id, "items": []},
        ],
    }
