"""The interactive API docs at /schema: Swagger UI, served entirely by the app.

Litestar's render plugins load their JavaScript and CSS from public CDNs by default, so without internet
the docs are a blank page. Swagger UI's files ship in the package instead (service/api/static/swagger-ui/,
a pinned swagger-ui-dist, see SOURCE.txt there) and are served by the page's static files router under
/static/, which needs no key. Scalar, Litestar's other UI, is not enabled: one UI is enough, and its bundle
would add megabytes to the wheel.
"""

from __future__ import annotations

from litestar.openapi.plugins import OpenAPIRenderPlugin, SwaggerRenderPlugin

SWAGGER_UI_VERSION = "5.35.0"  # the files in static/swagger-ui/ (SOURCE.txt)
SWAGGER_UI_URL = "/static/swagger-ui"


def docs_render_plugins() -> list[OpenAPIRenderPlugin]:
    """Swagger UI at /schema and /schema/swagger, every asset a local URL."""
    return [
        SwaggerRenderPlugin(
            version=SWAGGER_UI_VERSION,
            js_url=f"{SWAGGER_UI_URL}/swagger-ui-bundle.js",
            css_url=f"{SWAGGER_UI_URL}/swagger-ui.css",
            standalone_preset_js_url=f"{SWAGGER_UI_URL}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{SWAGGER_UI_URL}/favicon-32x32.png'>",
            path="/swagger",
        )
    ]
