"""Spotify library reader (spotipy) against the Web API endpoints that exist in 2026.

What is read, for the user the token belongs to:
- `GET /me` (the user id);
- `GET /me/top/tracks` and `GET /me/top/artists` for `short_term`, `medium_term`, `long_term`;
- `GET /me/tracks` (saved tracks);
- `GET /me/following?type=artist` (cursor paging);
- `GET /me/playlists` and, per playlist the user owns or collaborates on, `GET /playlists/{id}/items`.
  (`/playlists/{id}/tracks` and `/users/{id}/playlists` are gone since February 2026; `/items` answers 403 for
  playlists the user merely follows, so those are skipped without asking.) A playlist item carries its track
  under `item` (the `track` key is deprecated); both are accepted.

Every list is read to its end by following `next` links. Nothing here sleeps or retries: a 429 surfaces as
`SpotifyRateLimited` with the server's Retry-After so the caller (a Dramatiq actor) retries the job later.

The token travels only in the Authorization header of a requests session. It is not handed to spotipy
(spotipy logs its request headers at DEBUG), and it never appears in an exception, a log line or a repr.
"""

from __future__ import annotations

import email.utils
import functools
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
import spotipy
from spotipy.exceptions import SpotifyException

from service.errors import MusicrecError

TIME_RANGES = {"short_term": "top_short", "medium_term": "top_medium", "long_term": "top_long"}
REASONS = ("top_short", "top_medium", "top_long", "saved", "playlist", "followed_artist")
PAGE_LIMIT = 50  # the largest page every endpoint used here accepts
MAX_PAGES = 5_000  # per listing; a safety net against a server that never ends a listing
DEFAULT_RETRY_AFTER = 5.0
_BASE62 = re.compile(r"^[0-9A-Za-z]+$")
_YEAR = re.compile(r"^\s*(\d{4})")


# --- errors ------------------------------------------------------------------------------------------


_NETWORK_REASONS = (
    ("connection refused", "connection refused"),
    ("name or service not known", "the host name does not resolve (DNS)"),
    ("temporary failure in name resolution", "the host name does not resolve (DNS)"),
    ("nodename nor servname", "the host name does not resolve (DNS)"),
    ("no route to host", "no route to the host"),
    ("network is unreachable", "the network is unreachable"),
    ("timed out", "timed out"),
    ("certificate verify failed", "its TLS certificate was refused"),
    ("connection reset", "the connection was reset"),
)


def network_reason(exc: BaseException) -> str:
    """Why a request did not get an answer, in a few words a person can act on (not a urllib3 repr)."""
    text = str(exc).lower()
    for needle, reason in _NETWORK_REASONS:
        if needle in text:
            return reason
    return type(exc).__name__


class SpotifyError(MusicrecError):
    """Spotify could not be read. `retryable`: worth trying the same job again later (5xx, network, 429)."""

    code = "spotify_error"

    def __init__(self, message: str, details: dict[str, Any] | None = None, *, retryable: bool = True):
        super().__init__(message, details)
        self.retryable = retryable


class SpotifyAuthError(SpotifyError):
    """401: the token expired or is invalid. Job-level, not retryable with the same token."""

    def __init__(self, message: str = "Spotify rejected the token (expired or invalid)", details=None):
        super().__init__(message, details, retryable=False)


class SpotifyRateLimited(SpotifyError):
    """429: try again after `retry_after` seconds (Spotify's Retry-After header, 5 s when it sent none)."""

    def __init__(self, retry_after: float, details: dict[str, Any] | None = None):
        super().__init__(f"Spotify rate limit reached; retry after {retry_after:g} s", details, retryable=True)
        self.retry_after = retry_after


def parse_retry_after(value: str | None, default: float = DEFAULT_RETRY_AFTER) -> float:
    """Retry-After as seconds: a number of seconds or an HTTP date; `default` when absent or unreadable."""
    if value is None or not str(value).strip():
        return default
    text = str(value).strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return default
        if when is None:
            return default
        seconds = when.timestamp() - time.time()
    if seconds != seconds:  # NaN
        return default
    return max(0.0, seconds)


# --- data --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpotifyTrack:
    spotify_id: str
    title: str
    artists: tuple[str, ...]
    artist_ids: tuple[str, ...]
    album: str | None
    duration_s: float
    year: int | None  # from album.release_date
    isrc: str | None

    def as_dict(self) -> dict:
        """JSON-able (e.g. for a broker message); `SpotifyTrack.from_dict(t.as_dict()) == t`."""
        return {
            "spotify_id": self.spotify_id,
            "title": self.title,
            "artists": list(self.artists),
            "artist_ids": list(self.artist_ids),
            "album": self.album,
            "duration_s": self.duration_s,
            "year": self.year,
            "isrc": self.isrc,
        }

    @classmethod
    def from_dict(cls, d: dict) -> SpotifyTrack:
        year = d.get("year")
        return cls(
            spotify_id=str(d["spotify_id"]),
            title=str(d.get("title") or ""),
            artists=tuple(str(a) for a in d.get("artists") or ()),
            artist_ids=tuple(str(a) for a in d.get("artist_ids") or ()),
            album=d.get("album"),
            duration_s=float(d.get("duration_s") or 0.0),
            year=int(year) if year is not None else None,
            isrc=d.get("isrc"),
        )

    @classmethod
    def from_api(cls, obj: Any) -> SpotifyTrack | None:
        """A Spotify track object → SpotifyTrack; None for anything that is not a playable catalogue track
        (episodes, local files, null entries, tracks without id)."""
        if not isinstance(obj, dict):
            return None
        if obj.get("type", "track") != "track" or obj.get("episode") is True:
            return None  # an episode (also the old track-shaped episodes with "episode": true)
        track_id = obj.get("id")
        if obj.get("is_local") or not isinstance(track_id, str) or not track_id:
            return None
        artists: list[str] = []
        artist_ids: list[str] = []
        for artist in obj.get("artists") or ():
            if not isinstance(artist, dict):
                continue
            if artist.get("name"):
                artists.append(str(artist["name"]))
            if artist.get("id"):
                artist_ids.append(str(artist["id"]))
        album = obj.get("album") if isinstance(obj.get("album"), dict) else {}
        external_ids = obj.get("external_ids") if isinstance(obj.get("external_ids"), dict) else {}
        duration_ms = obj.get("duration_ms")
        return cls(
            spotify_id=track_id,
            title=str(obj.get("name") or ""),
            artists=tuple(artists),
            artist_ids=tuple(artist_ids),
            album=str(album["name"]) if album.get("name") else None,
            duration_s=float(duration_ms) / 1000.0 if isinstance(duration_ms, int | float) else 0.0,
            year=_year(album.get("release_date")),
            isrc=str(external_ids["isrc"]) if external_ids.get("isrc") else None,
        )


def _year(release_date: Any) -> int | None:
    """`release_date` is "YYYY", "YYYY-MM" or "YYYY-MM-DD" (precision in `release_date_precision`); "0000"
    and garbage → None."""
    if not isinstance(release_date, str):
        return None
    m = _YEAR.match(release_date)
    if not m:
        return None
    year = int(m.group(1))
    return year if year > 0 else None


@dataclass
class LibraryEntry:
    track: SpotifyTrack
    reasons: set[str]  # from: top_short, top_medium, top_long, saved, playlist, followed_artist
    ranks: dict[str, int]  # for top_* reasons: 0-based rank in that list
    genres: list[str]  # genres of the track's artists, from /me/top/artists and /me/following (may be empty)


@dataclass
class SpotifyLibrary:
    user_id: str  # Spotify's /me id
    entries: dict[str, LibraryEntry]  # keyed by spotify track id, unique tracks
    ignored: int  # local files, episodes, null/empty playlist entries, tracks without id
    requests: int  # HTTP requests made
    skipped_playlists: int = 0  # playlists not readable: followed only (Spotify answers 403), or 403/404


# --- reader ------------------------------------------------------------------------------------------


class _BearerAuth(requests.auth.AuthBase):
    """Sets the Authorization header on each request; its repr does not show the token."""

    def __init__(self, token: str):
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "_BearerAuth(<redacted>)"


class SpotifyReader:
    """Reads one user's whole library. One instance per token; `read_library()` may be called again."""

    def __init__(self, token: str, api_url: str, *, timeout: float = 10.0):
        if not token or not token.strip():
            raise SpotifyAuthError("no Spotify token given")
        self._token = token.strip()
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        parts = urlsplit(self.api_url)
        self._origin = (parts.scheme, parts.netloc)
        self._root_path = parts.path.rstrip("/")
        self._requests = 0

    def __repr__(self) -> str:
        return f"SpotifyReader(api_url={self.api_url!r}, token=<redacted>)"

    # -- the whole library --

    def read_library(self) -> SpotifyLibrary:
        self._requests = 0
        session = requests.Session()
        session.auth = _BearerAuth(self._token)
        # The token is not given to spotipy: it would put it in its DEBUG log line ("Headers: {...}").
        # A plain Session's adapters do not retry; spotipy's retry settings are zeroed as well.
        sp = spotipy.Spotify(
            auth=None,
            requests_session=session,
            requests_timeout=self.timeout,
            retries=0,
            status_retries=0,
            backoff_factor=0,
        )
        sp.prefix = self.api_url + "/"
        try:
            return self._read(sp)
        finally:
            session.close()

    def _read(self, sp: spotipy.Spotify) -> SpotifyLibrary:
        user_id = self._read_user_id(sp)
        found = _Found()
        # The order of the listings is the order of the requests and of `entries`.
        self._read_top_tracks(sp, found)
        self._read_top_artists(sp, found)
        self._read_saved_tracks(sp, found)
        self._read_followed_artists(sp, found)
        skipped_playlists = self._read_playlists(sp, user_id, found)
        found.add_artist_facts()
        return SpotifyLibrary(
            user_id=user_id,
            entries=found.entries,
            ignored=found.ignored,
            requests=self._requests,
            skipped_playlists=skipped_playlists,
        )

    # -- the listings --

    def _read_user_id(self, sp: spotipy.Spotify) -> str:
        me = self._call("/me", sp.me)
        user_id = me.get("id")
        if not isinstance(user_id, str) or not user_id:
            raise SpotifyError("Spotify's /me answer has no user id", {"path": "/me"})
        return user_id

    def _read_top_tracks(self, sp: spotipy.Spotify, found: _Found) -> None:
        """Top tracks per time range; rank = position in that list."""
        for time_range, reason in TIME_RANGES.items():
            first = functools.partial(sp.current_user_top_tracks, limit=PAGE_LIMIT, offset=0, time_range=time_range)
            rank = 0
            for page in self._pages(f"/me/top/tracks?time_range={time_range}", first, sp):
                for item in page["items"]:
                    found.add_track(item, reason, rank)
                    rank += 1

    def _read_top_artists(self, sp: spotipy.Spotify, found: _Found) -> None:
        """Top artists per time range, for their genres only."""
        for time_range in TIME_RANGES:
            first = functools.partial(sp.current_user_top_artists, limit=PAGE_LIMIT, offset=0, time_range=time_range)
            for page in self._pages(f"/me/top/artists?time_range={time_range}", first, sp):
                for artist in page["items"]:
                    found.learn_artist(artist)

    def _read_saved_tracks(self, sp: spotipy.Spotify, found: _Found) -> None:
        first = functools.partial(sp.current_user_saved_tracks, limit=PAGE_LIMIT)
        for page in self._pages("/me/tracks", first, sp):
            for saved in page["items"]:
                found.add_track(saved.get("track") if isinstance(saved, dict) else None, "saved")

    def _read_followed_artists(self, sp: spotipy.Spotify, found: _Found) -> None:
        """`/me/following` (cursor paging): which artists the user follows, and their genres."""
        for page in self._cursor_pages(sp):
            for artist in page["items"]:
                artist_id = found.learn_artist(artist)
                if artist_id:
                    found.followed.add(artist_id)

    def _read_playlists(self, sp: spotipy.Spotify, user_id: str, found: _Found) -> int:
        """The user's own and collaborative playlists (Spotify answers 403 on /items for the others);
        → how many were skipped."""
        skipped = 0
        first = functools.partial(sp.current_user_playlists, limit=PAGE_LIMIT)
        for page in self._pages("/me/playlists", first, sp):
            for playlist in page["items"]:
                if not isinstance(playlist, dict):
                    continue
                playlist_id = _readable_playlist_id(playlist, user_id)
                if playlist_id is None:
                    skipped += 1
                elif not _known_empty(playlist) and not self._read_playlist_items(sp, playlist_id, found):
                    skipped += 1
        return skipped

    def _read_playlist_items(self, sp: spotipy.Spotify, playlist_id: str, found: _Found) -> bool:
        """The tracks of one playlist; False when Spotify would not show it (403/404)."""
        first = functools.partial(
            sp.playlist_items, playlist_id, limit=PAGE_LIMIT, additional_types=("track", "episode")
        )
        try:
            for page in self._pages(f"/playlists/{playlist_id}/items", first, sp):
                for item in page["items"]:
                    found.add_track(_playlist_item_track(item), "playlist")
        except SpotifyError as exc:
            if exc.details.get("status") not in (403, 404):  # 401, 429, 5xx, network: the job's problem
                raise
            return False  # not readable for this user (or gone): the rest of the library is
        return True

    # -- paging --

    def _pages(self, what: str, first: Callable[[], Any], sp: spotipy.Spotify) -> Iterator[dict]:
        """The pages of an offset-paged listing, first to last, by its `next` links."""
        page = self._page(self._call(what, first), what)
        yield page
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            next_url = page.get("next")
            if not next_url:
                return
            if next_url in seen:
                raise SpotifyError("Spotify's paging went in a circle", {"path": _path_only(what)})
            seen.add(next_url)
            path = self._check_next(next_url)
            page = self._page(self._call(path, functools.partial(sp.next, page)), path)
            yield page
        raise SpotifyError("Spotify's listing did not end", {"path": _path_only(what)})

    def _cursor_pages(self, sp: spotipy.Spotify) -> Iterator[dict]:
        """`/me/following?type=artist`: cursor paging under "artists", by `next`, else by `cursors.after`."""
        what = "/me/following"
        page = self._page(self._call(what, lambda: sp.current_user_followed_artists(limit=PAGE_LIMIT)), what, "artists")
        yield page
        seen_items = len(page["items"])
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            next_url = page.get("next")
            cursors = page.get("cursors") if isinstance(page.get("cursors"), dict) else {}
            after = cursors.get("after")
            if next_url:
                if next_url in seen:
                    raise SpotifyError("Spotify's paging went in a circle", {"path": what})
                seen.add(next_url)
                path = self._check_next(next_url)
                answer = self._call(path, functools.partial(sp.next, page))
            elif after and page["items"] and isinstance(page.get("total"), int) and seen_items < page["total"]:
                if f"after:{after}" in seen:
                    raise SpotifyError("Spotify's paging went in a circle", {"path": what})
                seen.add(f"after:{after}")
                answer = self._call(what, lambda a=after: sp.current_user_followed_artists(limit=PAGE_LIMIT, after=a))
            else:
                return
            page = self._page(answer, what, "artists")
            seen_items += len(page["items"])
            yield page
        raise SpotifyError("Spotify's listing did not end", {"path": what})

    def _page(self, answer: Any, what: str, key: str | None = None) -> dict:
        page = answer.get(key) if key and isinstance(answer, dict) else answer
        if not isinstance(page, dict) or not isinstance(page.get("items"), list):
            raise SpotifyError("Spotify sent an unexpected answer (no item list)", {"path": _path_only(what)})
        return page

    def _check_next(self, url: str) -> str:
        """A `next` link must stay on the API's origin (the token goes with it); → its path below the root."""
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != self._origin:
            raise SpotifyError(
                "Spotify's paging link points to another host; not following it",
                {"host": self._redact(parts.netloc)},
                retryable=False,
            )
        path = parts.path
        if self._root_path and path.startswith(self._root_path):
            path = path[len(self._root_path) :]
        return path or "/"

    # -- one request --

    def _call(self, what: str, fn: Callable[[], Any]) -> dict:
        path = _path_only(what)
        self._requests += 1
        try:
            answer = fn()
        except SpotifyException as exc:
            raise self._translate(exc, path) from None
        except requests.RequestException as exc:
            raise SpotifyError(
                f"Spotify could not be reached ({network_reason(exc)}) for {path}", {"path": path}, retryable=True
            ) from None
        if not isinstance(answer, dict):
            raise SpotifyError(f"Spotify sent an unreadable answer for {path}", {"path": path}, retryable=True)
        return answer

    def _translate(self, exc: SpotifyException, path: str) -> SpotifyError:
        status = int(getattr(exc, "http_status", 0) or 0)
        details: dict[str, Any] = {"status": status, "path": path}
        message = str(getattr(exc, "msg", "") or "")
        if ":\n " in message:  # spotipy's "<url>:\n <Spotify's message>"
            details["spotifyMessage"] = self._redact(message.split(":\n ", 1)[1])[:300]
        if getattr(exc, "reason", None):
            details["reason"] = self._redact(str(exc.reason))[:100]
        if status == 401:
            return SpotifyAuthError(details=details)
        if status == 429:
            headers = getattr(exc, "headers", None) or {}
            retry_after = parse_retry_after(headers.get("Retry-After"))
            details["retryAfter"] = retry_after
            return SpotifyRateLimited(retry_after, details)
        if status >= 500:
            return SpotifyError(f"Spotify answered {status} for {path}", details, retryable=True)
        if status == 403 and path == "/me":
            return SpotifyError(
                "Spotify refused access (403); an app in development mode serves only the users on its list",
                details,
                retryable=False,
            )
        return SpotifyError(f"Spotify answered {status or 'an error'} for {path}", details, retryable=False)

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "<redacted>") if self._token else text


def _path_only(what: str) -> str:
    return what.split("?", 1)[0]


# --- what the listings found ---------------------------------------------------------------------------


@dataclass
class _Found:
    """What the listings have found so far, in the order they found it."""

    entries: dict[str, LibraryEntry] = field(default_factory=dict)
    ignored_keys: set[str] = field(default_factory=set)  # by key: a local file in two playlists counts once
    ignored_anonymous: int = 0
    genres_by_artist: dict[str, list[str]] = field(default_factory=dict)
    followed: set[str] = field(default_factory=set)  # artist ids

    @property
    def ignored(self) -> int:
        return len(self.ignored_keys) + self.ignored_anonymous

    def add_track(self, obj: Any, reason: str, rank: int | None = None) -> None:
        track = SpotifyTrack.from_api(obj)
        if track is None:
            self.ignore(obj)
            return
        entry = self.entries.get(track.spotify_id)
        if entry is None:
            entry = self.entries[track.spotify_id] = LibraryEntry(track=track, reasons=set(), ranks={}, genres=[])
        entry.reasons.add(reason)
        if rank is not None:
            entry.ranks.setdefault(reason, rank)

    def ignore(self, obj: Any) -> None:
        key = None
        if isinstance(obj, dict):
            key = obj.get("uri") or (f"{obj.get('type')}:{obj['id']}" if obj.get("id") else None)
        if key:
            self.ignored_keys.add(str(key))
        else:
            self.ignored_anonymous += 1

    def learn_artist(self, artist: Any) -> str | None:
        """Remembers the genres of an artist object (from the top and the followed artists); → its id, None
        when it has none."""
        if not isinstance(artist, dict) or not artist.get("id"):
            return None
        known = self.genres_by_artist.setdefault(str(artist["id"]), [])
        for genre in artist.get("genres") or ():
            if isinstance(genre, str) and genre and genre not in known:
                known.append(genre)
        return str(artist["id"])

    def add_artist_facts(self) -> None:
        """Once every listing is read: "followed_artist" and the genres of each entry's artists."""
        for entry in self.entries.values():
            if self.followed.intersection(entry.track.artist_ids):
                entry.reasons.add("followed_artist")
            entry.genres = _genres_of(entry.track.artist_ids, self.genres_by_artist)


def _genres_of(artist_ids: tuple[str, ...], genres_by_artist: dict[str, list[str]]) -> list[str]:
    genres: list[str] = []
    for artist_id in artist_ids:
        for genre in genres_by_artist.get(artist_id, ()):
            if genre not in genres:
                genres.append(genre)
    return genres


def _readable_playlist_id(playlist: dict, user_id: str) -> str | None:
    """The id of a playlist the user owns or collaborates on (the only ones /items answers for), when it is a
    well-formed id; None for the others."""
    playlist_id = playlist.get("id")
    owner = playlist.get("owner") if isinstance(playlist.get("owner"), dict) else {}
    readable = owner.get("id") == user_id or playlist.get("collaborative") is True
    if not readable or not isinstance(playlist_id, str) or not _BASE62.match(playlist_id):
        return None
    return playlist_id


def _known_empty(playlist: dict) -> bool:
    """The listing says the playlist has no items: nothing to ask for."""
    ref = playlist.get("items") if isinstance(playlist.get("items"), dict) else playlist.get("tracks")
    return isinstance(ref, dict) and ref.get("total") == 0


def _playlist_item_track(item: Any) -> Any:
    """The track (or episode) object of a playlist item; None for a null item."""
    if not isinstance(item, dict):
        return None
    obj = item.get("item") or item.get("track")  # "track" is the deprecated name
    if item.get("is_local") and isinstance(obj, dict):
        obj = {**obj, "is_local": True}
    return obj
