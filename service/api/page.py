"""GET /: the built-in web page (static files shipped in the package, under service/api/static/)."""

from __future__ import annotations

from pathlib import Path

from litestar import Controller, MediaType, Response, get
from litestar.datastructures import State
from litestar.static_files import create_static_files_router

STATIC_DIR = Path(__file__).parent / "static"
# the page loads only its own files; nothing from elsewhere (no CDN), no inline scripts
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


class PageController(Controller):
    tags = ["page"]

    @get(
        "/",
        sync_to_thread=True,
        media_type=MediaType.HTML,
        security=[{}],
        summary="The web page: library map, search, similar tracks, users, song paths, playlists",
        description="Open (no key); the page asks for the API key and keeps it in sessionStorage.",
    )
    def index(self, state: State) -> Response[str]:
        html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
        if state.auth_disabled:  # the page then asks for no key
            html = html.replace('name="musicrec-auth" content="required"', 'name="musicrec-auth" content="disabled"')
        return Response(
            html,
            media_type=MediaType.HTML,
            headers={"content-security-policy": CSP, "cache-control": "no-cache", "referrer-policy": "no-referrer"},
        )


static_router = create_static_files_router(
    path="/static", directories=[STATIC_DIR], include_in_schema=False, name="page-static"
)
