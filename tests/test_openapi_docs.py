"""The interactive docs work offline, and the OpenAPI document says what everything means.

- /schema and /schema/swagger load Swagger UI from files shipped in the package (no CDN): every asset URL
  in the page is served 200 by the app itself, without a key, and in a real headless chromium that may
  reach nothing but 127.0.0.1 the UI renders the operations (skipped, with the reason, without chromium).
- Every operation, parameter and schema property of the document has a description; open routes say they
  need no key (`security: []`); the document points to docs/api.md, which ships in the repo.
- A wheel built from the source tree carries the docs assets.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import API_KEY, free_port, keep_on_loopback, wait_for

from service.api.app import create_app
from service.api.docs import SWAGGER_UI_URL
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("MUSICREC_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
DOCS_PAGES = ["/schema", "/schema/swagger"]
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
ASSET = re.compile(r"""<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app on a real loopback port (uvicorn in a thread) over an empty embedded store, keys required."""
    import uvicorn

    settings = Settings(data_dir=tmp_path_factory.mktemp("docs") / "data", api_keys=(API_KEY,))
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    wait_for(lambda: srv.started, timeout=30)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def document(server) -> dict:
    resp = httpx.get(server + "/schema/openapi.json")  # open: no key
    assert resp.status_code == 200, resp.text
    return resp.json()


def operations(document: dict):
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield f"{method.upper()} {path}", item[method]


# --- the docs page's assets ------------------------------------------------------------------------
@pytest.mark.parametrize("page", DOCS_PAGES)
def test_every_docs_asset_is_served_by_the_app_without_a_key(server, page):
    resp = httpx.get(server + page)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    urls = ASSET.findall(resp.text)
    expected = {f"{SWAGGER_UI_URL}/{name}" for name in ("swagger-ui-bundle.js", "swagger-ui.css")}
    assert expected <= set(urls), urls
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and url.startswith("/"), f"{url}: not served by the app"
        asset = httpx.get(server + url)
        assert asset.status_code == 200, (url, asset.status_code)
        assert asset.content, url
        if url.endswith(".js"):
            assert "javascript" in asset.headers["content-type"], (url, asset.headers["content-type"])
        elif url.endswith(".css"):
            assert asset.headers["content-type"].startswith("text/css"), (url, asset.headers["content-type"])


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium browser: `apt-get install chromium` (Debian)")
def test_docs_render_in_a_browser_with_nothing_but_loopback(server, document, tmp_path):
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')"
    )
    expect = sync_api.expect
    ops = dict(operations(document))
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=ARGS, headless=True
        )
        problems: list[str] = []
        served: list[tuple[str, int]] = []

        outside = keep_on_loopback(context)
        try:
            page = context.new_page()
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
            page.on("response", lambda r: served.append((r.url, r.status)))
            for docs in DOCS_PAGES:
                page.goto(server + docs)
                # Swagger UI rendered the document: a known operation, then every operation
                recommend = page.locator(".opblock-post .opblock-summary-path[data-path='/v1/recommendations']")
                expect(recommend).to_be_visible(timeout=30_000)
                expect(page.locator(".opblock")).to_have_count(len(ops))
                expect(page.locator(".opblock-get .opblock-summary-path[data-path='/healthz']")).to_be_visible()
                expect(page.locator("button.authorize")).to_be_visible()  # the API key can be entered
                # an operation opens with its descriptions
                recommend.click()
                expect(page.locator(".opblock.is-open")).to_contain_text("diversity")
        finally:
            context.close()
    assert not outside, f"the docs tried to reach beyond 127.0.0.1: {outside}"
    assert not problems, problems
    failed = [(url, status) for url, status in served if status >= 400]
    assert not failed, failed


# --- the document says what things mean ------------------------------------------------------------
def _undescribed_properties(schema, where: str, found: list[str]) -> None:
    """Every property of every schema, at any depth (nested objects, lists, unions), has a description."""
    if isinstance(schema, dict):
        properties = schema.get("properties")
        if isinstance(properties, dict):
            for name, sub in properties.items():
                if not isinstance(sub, dict) or not str(sub.get("description") or "").strip():
                    found.append(f"{where}.{name}")
                _undescribed_properties(sub, f"{where}.{name}", found)
        for key, value in schema.items():
            if key != "properties":
                _undescribed_properties(value, where, found)
    elif isinstance(schema, list):
        for value in schema:
            _undescribed_properties(value, where, found)


def test_every_operation_parameter_and_schema_property_is_described(document):
    missing: list[str] = []
    for label, op in operations(document):
        for field in ("summary", "description"):
            if not str(op.get(field) or "").strip():
                missing.append(f"{label}: no {field}")
        for param in op.get("parameters", []):
            if not str(param.get("description") or "").strip():
                missing.append(f"{label}: parameter {param['in']} {param['name']}")
            _undescribed_properties(param.get("schema"), f"{label} parameter {param['name']}", missing)
        body = (op.get("requestBody") or {}).get("content", {})
        for media, content in body.items():
            _undescribed_properties(content.get("schema"), f"{label} body {media}", missing)
        for status, response in op.get("responses", {}).items():
            if not str(response.get("description") or "").strip():
                missing.append(f"{label}: response {status}")
            for media, content in (response.get("content") or {}).items():
                _undescribed_properties(content.get("schema"), f"{label} {status} {media}", missing)
    for name, schema in document["components"]["schemas"].items():
        if not str(schema.get("description") or "").strip():
            missing.append(f"schema {name}")
        _undescribed_properties(schema, name, missing)
    assert not missing, "without a description:\n" + "\n".join(missing)


def test_the_document_says_what_the_recommendation_knobs_mean(document):
    schemas = document["components"]["schemas"]
    request = schemas["RecommendRequest"]["properties"]
    assert "MMR" in request["diversity"]["description"] and "0" in request["diversity"]["description"]
    assert "library" in request["excludeKnown"]["description"]
    target = schemas["RecommendTarget"]["properties"]
    assert "BPM" in target["tempo"]["description"]
    assert "dB" in target["loudnessDb"]["description"]
    assert "higher" in schemas["Recommendation"]["properties"]["score"]["description"]


def test_open_routes_need_no_key_and_the_rest_say_which(document):
    open_routes = {"GET /healthz", "HEAD /healthz", "GET /ping", "GET /"}
    for label, op in operations(document):
        if label in open_routes:
            assert op.get("security") == [], f"{label}: open, so `security: []`"
        elif label.split(" ", 1)[1].startswith("/v1/"):
            assert op.get("security", document["security"]) == [{"apiKey": []}], label
        else:
            assert op.get("security") == [{"legacyKey": []}], label
    for label in open_routes:
        assert label in dict(operations(document)), label
    # the internal hand-off of `musicrec ingest` to a running server is not part of the public contract
    assert not [path for path in document["paths"] if path.startswith("/v1/ingest")]


def test_the_document_points_to_the_shipped_api_reference(document):
    assert "docs/api.md" in document["info"]["description"]
    assert "API.md" not in document["info"]["description"].replace("docs/api.md", "")
    reference = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert reference.startswith("# HTTP and CLI contract (v1)")
    assert "POST /v1/recommendations" in reference


# --- packaging --------------------------------------------------------------------------------------
def test_a_wheel_carries_the_docs_assets(tmp_path):
    """hatchling ships every file of the packages that git does not ignore; checked on a real wheel."""
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = tmp_path.glob("musicrec-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assets = "service/api/static/swagger-ui/"
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js", "LICENSE", "NOTICE"):
        assert assets + name in names, name
    assert "service/api/static/index.html" in names
