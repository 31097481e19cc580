"""A fake YouTube Data API v3 for tests: real HTTP on 127.0.0.1, the official response shapes.

    videos = [{"id": "abc", "title": "Song", "channel": "Artist - Topic", "duration_s": 213}, ...]
    with FakeYouTube(videos, keys={"k1": 10_000, "k2": 150}) as yt:
        matcher = YouTubeMatcher(["k1", "k2"], yt.url)
        ...
        yt.units["k1"]     # units charged to that key
        yt.requests        # [(path, query params)] in order

- GET /youtube/v3/search (100 units): videos sharing a word with `q`, most shared words first (ties: list
  order), `maxResults` of them (default 5), as a youtube#searchListResponse; titles HTML-escaped like the
  real API does.
- GET /youtube/v3/videos (1 unit): `id=a,b,c` → youtube#videoListResponse with contentDetails.duration
  (ISO 8601); unknown ids are left out.
- No `key` → 400; an unknown key → 400 "API key not valid"; a key with fewer units left than the call costs
  → 403 quotaExceeded (nothing charged). `fail_next(status)` answers the next API call with that status.
"""

from __future__ import annotations

import html
import json
import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from fakes.loopback import LoopbackServer

COSTS = {"/youtube/v3/search": 100, "/youtube/v3/videos": 1}


def iso_duration(seconds: float) -> str:
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    out = "PT" + (f"{h}H" if h else "") + (f"{m}M" if m else "") + (f"{sec}S" if sec or not (h or m) else "")
    return out if s else "P0D"


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.casefold()))


def _escape(text: str) -> str:
    return html.escape(text, quote=True).replace("&#x27;", "&#39;")


def _error(code: int, message: str, reason: str, domain: str, status: str, **extra) -> dict:
    body = {"code": code, "message": message, "errors": [{"message": message, "domain": domain, "reason": reason}]}
    body["status"] = status
    body.update(extra)
    return {"error": body}


class FakeYouTube(LoopbackServer):
    def __init__(self, videos: list[dict], keys: dict[str, int]):
        self.videos = [dict(v) for v in videos]
        self.remaining = dict(keys)
        self.units: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._fail: list[int] = []
        self._lock = threading.Lock()
        super().__init__(self._handler(), name="fake-youtube")

    def fail_next(self, status: int = 503) -> None:
        with self._lock:
            self._fail.append(status)

    # -- API -----------------------------------------------------------------------------------------------
    def _answer(self, path: str, params: dict[str, str]) -> tuple[int, dict]:
        with self._lock:
            self.requests.append((path, params))
            if path not in COSTS:
                return 404, _error(404, "Not Found", "notFound", "global", "NOT_FOUND")
            if self._fail:
                status = self._fail.pop(0)
                return status, _error(status, "Backend Error", "backendError", "global", "UNAVAILABLE")
            key = params.get("key")
            if not key:
                return 400, _error(
                    400,
                    "Method doesn't allow unregistered callers (callers without established identity). "
                    "Please use API Key or other form of API consumer identity to call this API.",
                    "forbidden",
                    "global",
                    "PERMISSION_DENIED",
                )
            if key not in self.remaining:
                return 400, _error(
                    400,
                    "API key not valid. Please pass a valid API key.",
                    "badRequest",
                    "global",
                    "INVALID_ARGUMENT",
                    details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}],
                )
            cost = COSTS[path]
            if self.remaining[key] < cost:
                return 403, _error(
                    403,
                    "The request cannot be completed because you have exceeded your "
                    '<a href="/youtube/v3/getting-started#quota">quota</a>.',
                    "quotaExceeded",
                    "youtube.quota",
                    "PERMISSION_DENIED",
                )
            self.remaining[key] -= cost
            self.units[key] += cost
        if path.endswith("/search"):
            return 200, self._search(params)
        return 200, self._video_list(params)

    def _search(self, params: dict[str, str]) -> dict:
        q = _words(params.get("q", ""))
        limit = int(params.get("maxResults", "5"))
        ranked = []
        for i, v in enumerate(self.videos):
            shared = len(q & (_words(v["title"]) | _words(v.get("channel", ""))))
            if shared:
                ranked.append((-shared, i, v))
        ranked.sort(key=lambda t: (t[0], t[1]))
        items = [
            {
                "kind": "youtube#searchResult",
                "etag": f"etag-{v['id']}",
                "id": {"kind": "youtube#video", "videoId": v["id"]},
                "snippet": {
                    "publishedAt": "2020-01-01T00:00:00Z",
                    "channelId": "UC" + re.sub(r"\W", "", v.get("channel", ""))[:22],
                    "title": _escape(v["title"]),
                    "description": "",
                    "channelTitle": _escape(v.get("channel", "")),
                    "liveBroadcastContent": "none",
                },
            }
            for _, _, v in ranked[:limit]
        ]
        return {
            "kind": "youtube#searchListResponse",
            "etag": "etag-search",
            "regionCode": "US",
            "pageInfo": {"totalResults": len(ranked), "resultsPerPage": limit},
            "items": items,
        }

    def _video_list(self, params: dict[str, str]) -> dict:
        ids = [i for i in params.get("id", "").split(",") if i]
        by_id = {v["id"]: v for v in self.videos}
        items = []
        for vid in ids:
            v = by_id.get(vid)
            if v is None:
                continue
            duration = v.get("duration") or iso_duration(v.get("duration_s", 0))
            items.append(
                {
                    "kind": "youtube#video",
                    "etag": f"etag-{vid}",
                    "id": vid,
                    "contentDetails": {
                        "duration": duration,
                        "dimension": "2d",
                        "definition": "hd",
                        "caption": "false",
                        "licensedContent": True,
                        "contentRating": {},
                        "projection": "rectangular",
                    },
                }
            )
        return {
            "kind": "youtube#videoListResponse",
            "etag": "etag-videos",
            "items": items,
            "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
        }

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet (and the URLs carry keys)
                pass

            def do_GET(self):
                parts = urlsplit(self.path)
                params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                status, body = fake._answer(parts.path, params)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
