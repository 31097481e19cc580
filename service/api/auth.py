"""API-key auth: Bearer keys on /v1/*, the replaced service's bare key on its seed-compatible routes."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from urllib.parse import parse_qs

from litestar.types import ASGIApp, Receive, Scope, Send

AUDIO_PATH = re.compile(r"^/v1/tracks/([^/]+)/audio$")
AUDIO_LINK_SECONDS = 600


class AudioLinks:
    """Short-lived signed links to a track's audio, so a browser's <audio> element (which cannot send
    an Authorization header) plays it without the API key in a URL: HMAC-SHA256 over (trackId, expiry).

    The secret derives from the configured API keys, so every replica sharing the keys accepts the
    links of the others, and changing the keys revokes them; with no keys it is random per process.
    """

    def __init__(self, keys: tuple[str, ...], ttl_s: int = AUDIO_LINK_SECONDS):
        material = "\0".join(sorted(keys)).encode() if keys else secrets.token_bytes(32)
        self._secret = hashlib.sha256(b"musicrec audio link\0" + material).digest()
        self.ttl_s = ttl_s

    def _sig(self, track_id: str, exp: int) -> str:
        return hmac.new(self._secret, f"{track_id}\n{exp}".encode(), hashlib.sha256).hexdigest()

    def sign(self, track_id: str, now: float | None = None) -> tuple[int, str]:
        exp = int(now if now is not None else time.time()) + self.ttl_s
        return exp, self._sig(track_id, exp)

    def url(self, track_id: str, now: float | None = None) -> tuple[str, int]:
        exp, sig = self.sign(track_id, now)
        return f"/v1/tracks/{track_id}/audio?exp={exp}&sig={sig}", exp

    def valid(self, track_id: str, exp: str, sig: str, now: float | None = None) -> bool:
        try:
            expiry = int(exp)
        except ValueError:
            return False
        current = now if now is not None else time.time()
        if expiry < current or expiry > current + self.ttl_s + 60:  # expired, or not one we would sign
            return False
        return hmac.compare_digest(sig.encode(), self._sig(track_id, expiry).encode())

    def allows(self, scope: Scope) -> bool:
        """A GET of /v1/tracks/{id}/audio carrying a valid, unexpired signature."""
        found = AUDIO_PATH.match(scope["path"])
        if not found or scope.get("method") not in ("GET", "HEAD"):
            return False
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        exp, sig = query.get("exp", [""])[-1], query.get("sig", [""])[-1]
        return bool(exp and sig) and self.valid(found.group(1), exp, sig)


def key_matches(presented: str, keys: tuple[str, ...]) -> bool:
    """Constant-time comparison against every configured key (no early exit that leaks which)."""
    candidate = presented.encode()
    found = False
    for key in keys:
        found |= hmac.compare_digest(candidate, key.encode())
    return found


def presented_key(header: str | None, *, bare_allowed: bool) -> str | None:
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() == "bearer" and rest.strip():
        return rest.strip()
    if bare_allowed and not rest:
        return header.strip()
    return None


def _is_seed_route(path: str) -> bool:
    return path in ("/save-data", "/recommend") or path.startswith(("/status/", "/get-stats/"))


async def _send_json(send: Send, status: int, body: dict, extra_headers: list[tuple[bytes, bytes]]) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + extra_headers})
    await send({"type": "http.response.body", "body": payload})


def is_preflight(scope: Scope) -> bool:
    """A CORS preflight: OPTIONS with Origin and Access-Control-Request-Method (a browser never sends a key
    with it, so it must not need one)."""
    return (
        scope.get("method") == "OPTIONS"
        and _header(scope, b"origin") is not None
        and _header(scope, b"access-control-request-method") is not None
    )


def api_key_middleware(
    keys: tuple[str, ...], *, disabled: bool, audio_links: AudioLinks | None = None, cors: bool = False
):
    """ASGI middleware factory checking the API key before any handler runs (a signed audio link
    stands in for the key on that one route). `/`, `/static/*`, `/healthz`, `/ping`, `/schema*` are open,
    and so are CORS preflights when CORS is on (Litestar's CORS layer answers them)."""

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if disabled or scope["type"] != "http" or (cors and is_preflight(scope)):
                await app(scope, receive, send)
                return
            path = scope["path"]
            if audio_links is not None and audio_links.allows(scope):
                pass
            elif path.startswith("/v1/") or path == "/v1":
                header = _header(scope, b"authorization")
                key = presented_key(header, bare_allowed=False)
                if key is None or not key_matches(key, keys):
                    message = _refusal(header)
                    await _send_json(
                        send,
                        401,
                        {"error": {"code": "unauthorized", "message": message, "details": {}}},
                        [(b"www-authenticate", b'Bearer realm="musicrec"')],
                    )
                    return
            elif _is_seed_route(path):
                key = presented_key(_header(scope, b"authorization"), bare_allowed=True)
                if key is None or not key_matches(key, keys):
                    await _send_json(send, 403, {"detail": "Invalid or missing API key"}, [])
                    return
            await app(scope, receive, send)

        return middleware

    return factory


def _refusal(header: str | None) -> str:
    """Why a /v1 request's Authorization header was refused, in words that say how to fix it."""
    if not header or not header.strip():
        return "missing API key: send the header `Authorization: Bearer <key>`"
    scheme, _, rest = header.strip().partition(" ")
    if not rest.strip() and scheme.lower() != "bearer":
        return 'the "Bearer" scheme is missing: send `Authorization: Bearer <key>`, not the bare key'
    if not rest.strip():
        return "missing API key after Bearer: send `Authorization: Bearer <key>`"
    if scheme.lower() != "bearer":
        return f'unsupported scheme "{scheme[:20]}": send `Authorization: Bearer <key>`'
    return "invalid API key"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None
