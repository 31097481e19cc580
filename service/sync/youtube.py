"""Track → YouTube video matching: the YouTube Data API v3 (per-key daily quota), yt-dlp search as the fallback.

`YouTubeMatcher.match(title, artists, duration_s)` searches for "artist title", scores every candidate
(`score_candidate`, pure) and returns the best one as a `Match` with its confidence, or raises `NoMatch`
when nothing reaches the threshold.

Quota (YouTube Data API, default 10,000 units/day per project): search.list costs 100 units, videos.list
(the candidates' durations, one call for all of them) 1 unit, so one matched track costs 101 units
(100 when the search finds nothing). Units are counted per key index in a `QuotaLedger` (in-process or
Redis, so every worker shares the count); a key that answers 403 quotaExceeded/dailyLimitExceeded is marked
exhausted for the rest of the (UTC) day and the next key is tried; with every key spent, or none configured,
the yt-dlp search fallback is used (no quota, but slower and scraped).

Secrets: the API key travels in the request URL (`key=`), and google-api-python-client puts that URL in
`HttpError` texts and in its DEBUG logs. So every error leaves this module as a `YouTubeError` built from a
redacted message with no exception chain, and a redacting filter sits on the loggers of googleapiclient,
httplib2 and urllib3. Logs name keys by index ("key #1"), never by value.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from service.errors import MusicrecError

__all__ = [
    "Candidate",
    "Match",
    "YouTubeError",
    "NoMatch",
    "score_candidate",
    "QuotaLedger",
    "MemoryQuota",
    "RedisQuota",
    "YouTubeMatcher",
    "ytdlp_search",
    "parse_iso8601_duration",
]

log = logging.getLogger(__name__)

SEARCH_UNITS = 100
VIDEOS_UNITS = 1
DEFAULT_DAILY_QUOTA = 10_000
MAX_RESULTS = 8
HTTP_TIMEOUT_S = 15.0


# ---------------------------------------------------------------------------------------------------------
# errors and secret hygiene

_KEY_PARAM = re.compile(r"((?:[?&;]|\b)key=)[^&\s\"'<>]+", re.IGNORECASE)


def _redact(text: str, keys: Sequence[str] = ()) -> str:
    """`key=...` query parameters and every known key → "***"."""
    text = _KEY_PARAM.sub(r"\1***", text)
    for key in keys:
        if key:
            text = text.replace(key, "***")
    return text


class YouTubeError(MusicrecError):
    """YouTube (API, yt-dlp, media server) failed. `retryable`: worth retrying later (network, 5xx, quota)."""

    code = "youtube_error"

    def __init__(self, message: str, details: dict[str, Any] | None = None, *, retryable: bool = False):
        super().__init__(_redact(message), details)
        self.retryable = retryable

    def __repr__(self) -> str:
        return f"YouTubeError({self.message!r}, retryable={self.retryable})"

    def __reduce__(self):  # pickling (result backends, multiprocessing) keeps `retryable` and the details
        return (type(self), (self.message, self.details), {"retryable": self.retryable})


class NoMatch(MusicrecError):
    """No candidate video scored at least the threshold."""

    code = "no_match"

    def __init__(self, message: str, best_confidence: float | None = None):
        super().__init__(message, {"bestConfidence": best_confidence})
        self.best_confidence = best_confidence

    def __reduce__(self):
        return (type(self), (self.message, self.best_confidence))


class _RedactFilter(logging.Filter):
    """Rewrites records of third-party HTTP loggers so that no `key=` value reaches any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is not ours to fix; drop its args rather than leak them
            message = str(record.msg)
        redacted = _redact(message, _KNOWN_KEYS)
        if redacted != message or record.args:
            record.msg, record.args = redacted, ()
        return True


_KNOWN_KEYS: set[str] = set()  # keys of every matcher in this process, for the log filter
_FILTER = _RedactFilter()
# googleapiclient logs "URL being requested: GET https://...&key=..." at DEBUG (discovery) and the URI of a
# retried request at WARNING (http); urllib3 logs request lines at DEBUG. Logger-level filters apply to the
# records those loggers create, whatever handlers (caplog, root, Sentry) are attached further up.
for _name in (
    "googleapiclient",
    "googleapiclient.discovery",
    "googleapiclient.discovery_cache",
    "googleapiclient.http",
    "googleapiclient.model",
    "googleapiclient._helpers",
    "httplib2",
    "urllib3",
    "urllib3.connectionpool",
):
    _logger = logging.getLogger(_name)
    if _FILTER not in _logger.filters:
        _logger.addFilter(_FILTER)


# ---------------------------------------------------------------------------------------------------------
# candidates and scoring


@dataclass(frozen=True)
class Candidate:
    video_id: str
    title: str
    channel: str
    duration_s: float | None
    source: str  # "api" | "ytdlp"


@dataclass(frozen=True)
class Match:
    video_id: str
    title: str
    channel: str
    confidence: float
    source: str


# Words that say nothing about *which* recording a video holds: left out of the title comparison so that
# "Song (Official Audio) [HD]" matches "Song" as well as a bare "Song" does.
_NOISE = frozenset(
    """official audio video music lyrics lyric hd hq 4k 1080p 720p remastered remaster visualizer visualiser
    clip full version explicit clean feat ft featuring prod mv topic vevo original""".split()
)
# Words that mark a *different* recording (or a mangled one) of the same song. Factor applied to the score
# when the video title has the word and the Spotify title does not: a live take, a cover or a remix carries
# the right title and artist, often even the right length, so token overlap alone would pick it.
_PENALTIES: dict[str, float] = {
    "live": 0.55,
    "concert": 0.6,
    "cover": 0.4,
    "karaoke": 0.3,
    "instrumental": 0.4,
    "remix": 0.45,
    "mix": 0.7,
    "extended": 0.6,
    "acoustic": 0.6,
    "demo": 0.7,
    "8d": 0.3,
    "slowed": 0.3,
    "reverb": 0.4,
    "sped": 0.3,
    "nightcore": 0.3,
    "reaction": 0.3,
    "tutorial": 0.3,
    "lesson": 0.4,
    "tribute": 0.5,
    "parody": 0.4,
    "mashup": 0.4,
    "loop": 0.6,
    "hour": 0.5,
    "hours": 0.5,
}
# Version words of the Spotify title the video must carry too: for "Song - Live at X" or "Song - Acoustic"
# the studio upload is the wrong recording (Topic uploads of those versions carry the same words).
_VERSION_WORDS = frozenset(
    "live concert remix acoustic instrumental extended demo 8d slowed reverb sped nightcore karaoke".split()
)
_MISSING_VERSION_FACTOR = 0.7
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def _norm(text: str) -> str:
    """Lower case, diacritics stripped (é → e), punctuation → spaces, '&' → 'and'."""
    text = unicodedata.normalize("NFKD", html.unescape(text or "")).replace("&", " and ")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return _NON_WORD.sub(" ", text).strip()


def _tokens(text: str) -> list[str]:
    return _norm(text).split()


_FEAT = re.compile(r"[(\[]\s*(?:feat\.?|ft\.?|featuring|with)\s[^)\]]*[)\]]", re.IGNORECASE)
_SUFFIX = re.compile(r"\s+[-\u2013\u2014]\s+.*$")


def _core_title(title: str) -> str:
    """The words every upload of the song carries: Spotify's "(feat. X)" and " - Remastered 2011" /
    " - Radio Edit" / " - Live at X" suffixes left out (featured artists are scored as artists; suffix words
    still count as the track's own words for precision and for the version penalties)."""
    core = _SUFFIX.sub("", _FEAT.sub(" ", title or "")).strip()
    return core or (title or "")


def _duration_score(track_s: float, video_s: float | None) -> float:
    """1.0 within 2 s, falling to 0 at min(30 s, 15 % of the track) (at least 5 s).

    The strongest single signal: YouTube's auto-generated "Artist - Topic" uploads carry the exact Spotify
    audio (same length to the second), while music videos (intros, skits), live takes, extended mixes and
    edits differ by tens of seconds. Unknown durations score a neutral 0.5.
    """
    if video_s is None or video_s <= 0 or track_s <= 0:
        return 0.5
    diff = abs(video_s - track_s)
    if diff <= 2.0:
        return 1.0
    limit = max(5.0, min(30.0, 0.15 * track_s))
    if diff >= limit:
        return 0.0
    return ((limit - diff) / (limit - 2.0)) ** 1.5


def _artist_score(artists: Sequence[str], title_tokens: set[str], channel: str, video_title: str) -> float:
    """How well the artists show up in the video title or channel name (the primary artist counts most)."""
    haystack = title_tokens | set(_tokens(channel))
    squashed = _norm(channel).replace(" ", "") + " " + _norm(video_title).replace(" ", "")
    best = 0.0
    for i, artist in enumerate(a for a in artists if a and a.strip()):
        toks = _tokens(artist)
        if not toks:
            continue
        recall = sum(t in haystack for t in toks) / len(toks)
        joined = "".join(toks)
        if recall < 1.0 and len(joined) >= 4 and joined in squashed:  # "DaftPunkVEVO", "#BTS"
            recall = 1.0
        weight = 1.0 if i == 0 else 0.7  # a featured artist alone is weaker evidence than the main one
        best = max(best, weight * recall)
    return best


def score_candidate(title: str, artists: Sequence[str], duration_s: float, cand: Candidate) -> float:
    """Confidence in [0, 1] that `cand` is the recording of the Spotify track (title, artists, duration).

    0.45 duration + 0.35 title + 0.20 artist, then small bonuses for channels that upload studio audio
    ("- Topic", VEVO, "official audio") and multiplicative penalties for other versions (live, cover,
    remix, slowed, ...) unless the Spotify title says the same, and for videos lacking the version words
    the Spotify title has ("Live", "Acoustic", "Remix").
    """
    track_set = set(_tokens(title))
    core_tokens = _tokens(_core_title(title))
    wanted = [t for t in core_tokens if t not in _NOISE] or core_tokens
    video_tokens = _tokens(cand.title)
    video_set = set(video_tokens)
    artist_tokens = {t for a in artists for t in _tokens(a)}

    # title: recall of the Spotify title's words (all must be there for the right song), plus a little
    # precision so that "Song" does not fully match "Song (Other Words That Make It Another Song)"
    if wanted:
        recall = sum(t in video_set for t in wanted) / len(wanted)
        extra = [t for t in video_tokens if t not in _NOISE and t not in artist_tokens and t not in _PENALTIES]
        precision = sum(t in track_set for t in extra) / len(extra) if extra else 1.0
        title_score = 0.75 * recall + 0.25 * precision
    else:
        title_score = 0.0

    artist_score = _artist_score(artists, video_set, cand.channel, cand.title)
    score = 0.45 * _duration_score(duration_s, cand.duration_s) + 0.35 * title_score + 0.20 * artist_score

    # bonuses, only when the artist is recognisably there (a "- Topic" channel of another artist is no hint)
    if artist_score >= 0.5:
        channel = cand.channel.strip().casefold()
        norm_title = _norm(cand.title)
        if channel.endswith(" - topic"):
            score += 0.10  # auto-generated from the label's delivery: the studio recording itself
        elif "vevo" in channel.replace(" ", ""):
            score += 0.05
        if "official audio" in norm_title or "official audio" in _norm(cand.channel):
            score += 0.05

    for word, factor in _PENALTIES.items():
        if word in video_set and word not in track_set:
            score *= factor
    for word in _VERSION_WORDS & track_set:
        if word not in video_set:
            score *= _MISSING_VERSION_FACTOR

    return float(min(1.0, max(0.0, score)))


# ---------------------------------------------------------------------------------------------------------
# quota ledgers


def _utc_day(now: dt.datetime | None = None) -> str:
    # The brief counts per UTC day. Google resets the quota at midnight Pacific time: a key marked exhausted
    # late in the UTC day may come back some hours before we try it again, and one tried just after 00:00
    # UTC may still be spent (one failed call, then it is marked exhausted again). Both are harmless.
    return (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%d")


class QuotaLedger(Protocol):
    def spend(self, key_index: int, units: int) -> None: ...
    def spent(self, key_index: int) -> int: ...
    def exhaust(self, key_index: int) -> None: ...
    def exhausted(self, key_index: int) -> bool: ...


class MemoryQuota:
    """Per-process ledger, per UTC day (a new day starts from zero)."""

    def __init__(self, clock: Callable[[], dt.datetime] | None = None):
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._lock = threading.Lock()
        self._spent: dict[tuple[str, int], int] = {}
        self._exhausted: set[tuple[str, int]] = set()

    def _k(self, key_index: int) -> tuple[str, int]:
        return (_utc_day(self._clock()), key_index)

    def spend(self, key_index: int, units: int) -> None:
        with self._lock:
            k = self._k(key_index)
            self._spent[k] = self._spent.get(k, 0) + units

    def spent(self, key_index: int) -> int:
        with self._lock:
            return self._spent.get(self._k(key_index), 0)

    def exhaust(self, key_index: int) -> None:
        with self._lock:
            self._exhausted.add(self._k(key_index))

    def exhausted(self, key_index: int) -> bool:
        with self._lock:
            return self._k(key_index) in self._exhausted


class RedisQuota:
    """Ledger shared by every worker: `<prefix>:<YYYYMMDD>:<key index>:spent|exhausted`, expiring after 2 days.

    Key names carry the key's index in MUSICREC_YOUTUBE_API_KEYS, never the key itself.
    """

    TTL_S = 2 * 24 * 3600

    def __init__(self, redis, prefix: str = "musicrec:ytquota", clock: Callable[[], dt.datetime] | None = None):
        self._redis = redis
        self._prefix = prefix
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))

    def _key(self, key_index: int, what: str) -> str:
        return f"{self._prefix}:{_utc_day(self._clock())}:{int(key_index)}:{what}"

    def spend(self, key_index: int, units: int) -> None:
        key = self._key(key_index, "spent")
        pipe = self._redis.pipeline()
        pipe.incrby(key, int(units))
        pipe.expire(key, self.TTL_S)
        pipe.execute()

    def spent(self, key_index: int) -> int:
        value = self._redis.get(self._key(key_index, "spent"))
        return int(value) if value is not None else 0

    def exhaust(self, key_index: int) -> None:
        self._redis.set(self._key(key_index, "exhausted"), 1, ex=self.TTL_S)

    def exhausted(self, key_index: int) -> bool:
        return bool(self._redis.exists(self._key(key_index, "exhausted")))


# ---------------------------------------------------------------------------------------------------------
# yt-dlp (shared with service.sync.media)


class _YtdlpLogger:
    """yt-dlp's messages go to our logger (never to stdout/stderr of a worker)."""

    def debug(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    def info(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    def warning(self, msg: str) -> None:
        log.info("yt-dlp: %s", msg)

    def error(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)  # raised as an exception too; the caller decides how loud it is


def ytdlp_options(**extra: Any) -> dict[str, Any]:
    """Options for an embedded yt-dlp: quiet, no cache dir, no progress, bounded socket waits.

    (The Python API never reads yt-dlp config files, unlike the CLI, so there is no `ignoreconfig` here.)
    """
    opts: dict[str, Any] = {
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "cachedir": False,
        "skip_download": True,
        "noplaylist": True,
        "socket_timeout": HTTP_TIMEOUT_S,
        "logger": _YtdlpLogger(),
    }
    opts.update(extra)
    return opts


def ytdlp_error(exc: BaseException, what: str) -> YouTubeError:
    """A yt-dlp failure as a YouTubeError; retryable for network trouble, 5xx, 429, 403 and unexpected errors."""
    from yt_dlp.networking.exceptions import HTTPError, TransportError
    from yt_dlp.utils import ExtractorError

    cause: BaseException | None = exc
    seen = 0
    retryable: bool | None = None
    status: int | None = None
    while cause is not None and seen < 8:
        if isinstance(cause, HTTPError):
            status = cause.status
            # 403: expired/throttled signed URLs and bot checks; 404/410 and other 4xx: gone for good
            retryable = status >= 500 or status in (403, 408, 429)
            break
        if isinstance(cause, TransportError):
            retryable = True
            break
        if isinstance(cause, ExtractorError) and cause.expected and cause.cause is None:
            retryable = False  # yt-dlp's "expected" errors: private, removed, unavailable, bad URL
            break
        exc_info = getattr(cause, "exc_info", None)
        nxt = getattr(cause, "cause", None) or (exc_info[1] if exc_info else None) or cause.__cause__
        cause = nxt if nxt is not cause else None
        seen += 1
    text = str(exc).removeprefix("ERROR: ").splitlines()[0] if str(exc) else type(exc).__name__
    details: dict[str, Any] = {"httpStatus": status} if status else {}
    return YouTubeError(f"{what}: {text[:300]}", details, retryable=True if retryable is None else retryable)


def _ytdlp_candidates(info: dict[str, Any] | None) -> list[Candidate]:
    out: list[Candidate] = []
    for entry in (info or {}).get("entries") or []:
        if not entry or not entry.get("id"):
            continue
        duration = entry.get("duration")
        out.append(
            Candidate(
                video_id=str(entry["id"]),
                title=str(entry.get("title") or ""),
                channel=str(entry.get("channel") or entry.get("uploader") or ""),
                duration_s=float(duration) if isinstance(duration, int | float) and duration > 0 else None,
                source="ytdlp",
            )
        )
    return out


def ytdlp_search(query: str, n: int) -> list[Candidate]:
    """The fallback search: yt-dlp's `ytsearchN:` with flat extraction (one results page, no video pages)."""
    import yt_dlp

    query = query.replace("\n", " ").strip()
    try:
        with yt_dlp.YoutubeDL(ytdlp_options(extract_flat=True)) as ydl:
            info = ydl.extract_info(f"ytsearch{int(n)}:{query}", download=False)
    except Exception as exc:
        err = ytdlp_error(exc, "yt-dlp search failed")
    else:
        return _ytdlp_candidates(info)
    raise err  # outside the except block: no exception chain


# ---------------------------------------------------------------------------------------------------------
# the YouTube Data API

_ISO_DURATION = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_iso8601_duration(value: str | None) -> float | None:
    """'PT4M13S' → 253.0; 'P0D' (live, upcoming) or garbage → None."""
    m = _ISO_DURATION.match((value or "").strip())
    if not m:
        return None
    g = {k: float(v) if v else 0.0 for k, v in m.groupdict().items()}
    total = g["w"] * 604800 + g["d"] * 86400 + g["h"] * 3600 + g["m"] * 60 + g["s"]
    return total or None


_QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded", "dailyLimitExceededUnreg", "RATE_LIMIT_EXCEEDED"}
# a key that cannot work at all (wrong, deleted, API not enabled, restricted to other referrers/IPs):
# skipped for the day like a spent one, so the next key gets its turn
_BAD_KEY_REASONS = {
    "keyInvalid",
    "keyExpired",
    "API_KEY_INVALID",
    "API_KEY_EXPIRED",
    "accessNotConfigured",
    "SERVICE_DISABLED",
    "ipRefererBlocked",
    "API_KEY_IP_ADDRESS_BLOCKED",
    "API_KEY_HTTP_REFERRER_BLOCKED",
}


def _error_reasons(content: bytes | str | None) -> tuple[set[str], str]:
    """The `reason`s and the message of a Google API error body."""
    try:
        data = json.loads(content or b"{}")
        err = data.get("error") or {}
        reasons = {e.get("reason") for e in err.get("errors") or [] if isinstance(e, dict)}
        reasons |= {d.get("reason") for d in err.get("details") or [] if isinstance(d, dict)}
        return {r for r in reasons if r}, str(err.get("message") or "")
    except (ValueError, AttributeError, TypeError):
        return set(), ""


class _KeyUnusable(Exception):
    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


class YouTubeMatcher:
    """Finds the YouTube video of a Spotify track. Thread-safe (one API client per thread and key)."""

    def __init__(
        self,
        api_keys: Sequence[str],
        api_url: str,
        *,
        quota: QuotaLedger | None = None,
        search_fallback: Callable[[str, int], list[Candidate]] | None = None,
        threshold: float = 0.55,
        daily_quota: int = DEFAULT_DAILY_QUOTA,
        max_results: int = MAX_RESULTS,
    ):
        self._keys = tuple(k.strip() for k in api_keys if k and k.strip())
        _KNOWN_KEYS.update(self._keys)
        # the client library joins "youtube/v3/search" onto the endpoint; a trailing slash keeps a path prefix
        self._endpoint = api_url.rstrip("/") + "/"
        self._quota: QuotaLedger = quota if quota is not None else MemoryQuota()
        self._fallback = search_fallback if search_fallback is not None else ytdlp_search
        self.threshold = threshold
        self.daily_quota = daily_quota
        self.max_results = max(1, min(50, max_results))
        self.units_spent = 0
        self._lock = threading.Lock()
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"YouTubeMatcher({len(self._keys)} key(s), endpoint={self._endpoint!r})"

    # -- public --------------------------------------------------------------------------------------------
    def match(self, title: str, artists: Sequence[str], duration_s: float) -> Match:
        """The best video for the track, or NoMatch (below the threshold, or no candidates at all).

        Raises YouTubeError (see `.retryable`) when neither the API nor the fallback could search.
        """
        query = " ".join(p for p in (artists[0] if artists else "", title) if p).strip()
        candidates = self._api_search(query)
        if candidates is None:  # no usable key left today (or none configured)
            log.debug("no YouTube API key available; searching with the fallback")
            candidates = self._fallback(query, self.max_results)
        scored = sorted(
            ((score_candidate(title, artists, duration_s, c), i, c) for i, c in enumerate(candidates)),
            key=lambda t: (-t[0], t[1]),  # ties: the search engine's order
        )
        if not scored:
            raise NoMatch(f"no YouTube video found for {query!r}", None)
        best, _, cand = scored[0]
        if best < self.threshold:
            raise NoMatch(
                f"no confident YouTube match for {query!r} (best {best:.2f} < {self.threshold:.2f})", round(best, 4)
            )
        return Match(cand.video_id, cand.title, cand.channel, round(best, 4), cand.source)

    # -- API -----------------------------------------------------------------------------------------------
    def _service(self, index: int):
        services = getattr(self._local, "services", None)
        if services is None:
            services = self._local.services = {}
        if index not in services:
            import httplib2
            from googleapiclient.discovery import build

            services[index] = build(
                "youtube",
                "v3",
                developerKey=self._keys[index],
                static_discovery=True,
                cache_discovery=False,
                http=httplib2.Http(timeout=HTTP_TIMEOUT_S),
                client_options={"api_endpoint": self._endpoint},
            )
        return services[index]

    def _usable(self, index: int, units: int) -> bool:
        if self._quota.exhausted(index):
            return False
        if self._quota.spent(index) + units > self.daily_quota:
            self._quota.exhaust(index)
            log.info("YouTube API key #%d: daily quota used up (%d units counted)", index, self._quota.spent(index))
            return False
        return True

    def _call(self, what: str, units: int, make_request: Callable[[Any], Any]) -> dict | None:
        """Runs one API call on the first key with quota left; None when no key can make it today."""
        for index in range(len(self._keys)):
            if not self._usable(index, units):
                continue
            try:
                response = self._execute(index, make_request)
            except _KeyUnusable as exc:
                log.warning("YouTube API key #%d %s; trying the next key", index, exc.why)
                self._quota.exhaust(index)
                continue
            self._quota.spend(index, units)
            log.debug("YouTube API %s on key #%d: %d unit(s)", what, index, units)
            with self._lock:
                self.units_spent += units
            return response
        return None

    def _execute(self, index: int, make_request: Callable[[Any], Any]) -> dict:
        from googleapiclient.errors import HttpError

        error: YouTubeError | _KeyUnusable
        try:
            return make_request(self._service(index)).execute(num_retries=0)
        except HttpError as exc:
            error = self._translate(exc.resp.status, exc.content)
        except Exception as exc:  # httplib2/socket/ssl errors: their text may hold the URL
            text = _redact(str(exc) or type(exc).__name__, self._keys)[:300]
            error = YouTubeError(f"YouTube API unreachable: {type(exc).__name__}: {text}", retryable=True)
        raise error  # raised outside the except blocks: no __context__ carrying the key-bearing URL

    def _translate(self, status: int, content: bytes | str | None) -> YouTubeError | _KeyUnusable:
        reasons, message = _error_reasons(content)
        message = _redact(message, self._keys)[:300]
        if status == 403 and reasons & _QUOTA_REASONS:
            return _KeyUnusable("has no quota left today")
        if status in (400, 401, 403) and (reasons & _BAD_KEY_REASONS or "api key" in message.lower()):
            return _KeyUnusable(f"was refused ({status} {', '.join(sorted(reasons)) or message})")
        retryable = status >= 500 or status in (408, 429) or (status == 403 and "rateLimitExceeded" in reasons)
        detail = f"{', '.join(sorted(reasons))}: {message}" if reasons else message
        return YouTubeError(
            f"YouTube API error {status}: {detail}".rstrip(": "),
            {"httpStatus": status, "reasons": sorted(reasons)},
            retryable=retryable,
        )

    def _api_search(self, query: str) -> list[Candidate] | None:
        if not self._keys:
            return None
        found = self._call(
            "search",
            SEARCH_UNITS,
            lambda yt: yt.search().list(
                part="snippet",
                type="video",
                q=query,
                maxResults=self.max_results,
                fields="items(id/videoId,snippet/title,snippet/channelTitle)",
            ),
        )
        if found is None:
            return None
        hits: list[tuple[str, str, str]] = []
        for item in found.get("items") or []:
            video_id = (item.get("id") or {}).get("videoId")
            snippet = item.get("snippet") or {}
            if video_id:  # API titles are HTML-escaped ("&amp;", "&#39;")
                hits.append(
                    (
                        video_id,
                        html.unescape(snippet.get("title") or ""),
                        html.unescape(snippet.get("channelTitle") or ""),
                    )
                )
        if not hits:
            return []
        durations: dict[str, float | None] = {}
        details = self._call(
            "videos",
            VIDEOS_UNITS,
            lambda yt: yt.videos().list(
                part="contentDetails",
                id=",".join(h[0] for h in hits),
                maxResults=len(hits),
                fields="items(id,contentDetails/duration)",
            ),
        )
        for item in (details or {}).get("items") or []:  # None: no key left for 1 unit; scored without lengths
            durations[item.get("id")] = parse_iso8601_duration((item.get("contentDetails") or {}).get("duration"))
        return [Candidate(vid, t, ch, durations.get(vid), "api") for vid, t, ch in hits]
