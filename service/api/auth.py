"""API-key auth: Bearer keys on /v1/*, the replaced service's bare key on its seed-compatible routes."""

from __future__ import annotations

import hmac
import json

from litestar.types import ASGIApp, Receive, Scope, Send


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


def api_key_middleware(keys: tuple[str, ...], *, disabled: bool):
    """ASGI middleware factory checking the API key before any handler runs."""

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if disabled or scope["type"] != "http":
                await app(scope, receive, send)
                return
            path = scope["path"]
            if path.startswith("/v1/") or path == "/v1":
                header = _header(scope, b"authorization")
                key = presented_key(header, bare_allowed=False)
                if key is None or not key_matches(key, keys):
                    message = "missing API key" if not header else "invalid API key"
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


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None
