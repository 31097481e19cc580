"""The built-in web page in a real headless browser (Debian's chromium driven by Playwright).

Skipped, with the reason shown, where no chromium is installed (`apt-get install chromium`; `.ci/run`
installs it, so CI always runs this).
"""

from __future__ import annotations

import os
import re
import shutil
import threading

import httpx
import pytest
from conftest import API_KEY, free_port, keep_on_loopback, wait_for

from service.api.app import create_app

CHROMIUM = os.environ.get("MUSICREC_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium browser: `apt-get install chromium` (Debian) to run the web page test"
)
AUTH = {"Authorization": f"Bearer {API_KEY}"}
USER = "page-user"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def server(ingested):
    """The app on a real loopback port (uvicorn in a thread, on the session's ingested store)."""
    import uvicorn

    settings, store = ingested
    port = free_port()
    srv = uvicorn.Server(
        uvicorn.Config(create_app(settings, store=store), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    wait_for(lambda: srv.started, timeout=30)
    base = f"http://127.0.0.1:{port}"
    tracks = httpx.get(base + "/v1/tracks?limit=100", headers=AUTH).json()["items"]
    for title in ("Tone 1", "Tone 2"):  # a user with a taste to recommend from
        track = next(t for t in tracks if t["title"] == title)
        resp = httpx.post(
            f"{base}/v1/users/{USER}/feedback", headers=AUTH, json={"trackId": track["trackId"], "kind": "like"}
        )
        assert resp.status_code == 204
    yield base, {t["title"]: t for t in tracks}
    srv.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def browser_page(tmp_path):
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')"
    )
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh profile
            executable_path=CHROMIUM,
            args=ARGS,
            headless=True,
            viewport={"width": 1400, "height": 900},
            accept_downloads=True,
        )
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

        outside = keep_on_loopback(context)
        try:
            yield page, problems, outside
        finally:
            context.close()


def test_the_page_end_to_end(server, browser_page, tmp_path):
    from playwright.sync_api import expect

    base, tracks = server
    page, problems, outside = browser_page
    page.goto(base + "/")

    # the key: asked for, Enter submits, kept in sessionStorage, never in the URL
    key = page.get_by_test_id("api-key")
    expect(key).to_be_visible()
    key.fill(API_KEY)
    key.press("Enter")
    the_map = page.get_by_test_id("map")
    expect(the_map).to_have_attribute("data-points", str(len(tracks)))
    assert page.evaluate("sessionStorage.getItem('musicrec.apiKey')") == API_KEY
    assert API_KEY not in page.url
    expect(page.get_by_test_id("legend")).to_contain_text("Tones")

    # search, pick a result: details and similar tracks, each with a score and a reason
    page.get_by_test_id("search").fill("tone 3")
    results = page.get_by_test_id("search-result")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("Tone 3")
    results.first.click()
    expect(page.locator("#track-title")).to_have_text("Tone 3")
    similar = page.get_by_test_id("similar-list").locator("li[data-track-id]")
    expect(similar).to_have_count(11)
    first = similar.first
    expect(first.locator(".score")).to_have_text(re.compile(r"^-?\d+\.\d{3}$"))
    assert "Tone 3" in first.locator(".because").inner_text()

    # filters apply live
    page.locator("#f-genre").select_option("techno")
    drum_ids = {t["trackId"] for t in tracks.values() if t["album"] == "Drums"}
    expect(similar).to_have_count(5)
    assert {similar.nth(i).get_attribute("data-track-id") for i in range(5)} == drum_ids
    page.locator("#f-genre").select_option("")
    expect(similar).to_have_count(11)

    # clicking a point on the map selects its track
    drum = tracks["Drum 2"]
    x, y = page.evaluate(f"(() => {{ const p = state.byId.get('{drum['trackId']}'); return [p.sx, p.sy]; }})()")
    box = the_map.bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    expect(page.locator("#track-title")).to_have_text("Drum 2")

    # a song path from Drum 2 to Tone 0, drawn as a line on the map
    page.get_by_test_id("path-from").click()
    page.get_by_test_id("search").fill("tone 0")  # also Tone 2 and Tone 4, by "Tonal 0"
    expect(results).to_have_count(3)
    results.filter(has_text=re.compile(r"^Tone 0 ")).click()
    expect(page.locator("#track-title")).to_have_text("Tone 0")
    page.get_by_test_id("path-to").click()
    path = page.get_by_test_id("path-list").locator("li[data-track-id]")
    expect(path).to_have_count(10)
    assert path.first.get_attribute("data-track-id") == drum["trackId"]
    assert path.last.get_attribute("data-track-id") == tracks["Tone 0"]["trackId"]

    page.screenshot(path=str(tmp_path / "path.png"))
    if os.environ.get("MUSICREC_SCREENSHOT"):
        shutil.copy(tmp_path / "path.png", os.environ["MUSICREC_SCREENSHOT"].replace(".png", "-path.png"))

    # playlists download as M3U8
    with page.expect_download() as download:
        page.get_by_test_id("export-path").click()
    text = open(download.value.path(), encoding="utf-8").read()
    assert text.startswith("#EXTM3U") and drum["source"]["path"] in text
    assert download.value.suggested_filename.endswith(".m3u8")

    # listening: a signed link, no key in the URL, the browser loads the audio
    page.get_by_test_id("play").click()
    audio = page.get_by_test_id("audio")
    expect(audio).to_have_attribute("src", re.compile(r"/audio\?exp=\d+&sig=[0-9a-f]+$"))
    src = audio.get_attribute("src")
    assert "sig=" in src and API_KEY not in src
    loaded = "a => a.readyState >= 1 || new Promise(ok => a.addEventListener('loadedmetadata', () => ok(true)))"
    assert audio.evaluate(loaded)  # the metadata arrived (ranges, content type, signed link all work)
    assert audio.evaluate("a => a.duration") > 30

    # a user: library highlighted, recommendations with feedback, stats
    page.get_by_test_id("user-select").select_option(USER)
    recs = page.get_by_test_id("recommendations").locator("li[data-track-id]")
    expect(recs.first).to_be_visible()
    assert page.evaluate("state.library.size") == 2
    stats = page.get_by_test_id("user-stats")
    expect(stats).to_have_attribute("data-likes", "2")
    gone = recs.first.get_attribute("data-track-id")
    recs.first.get_by_test_id("dislike").click()
    expect(page.locator(f'[data-testid=recommendations] li[data-track-id="{gone}"]')).to_have_count(0)
    expect(stats).to_have_attribute("data-dislikes", "1")
    expect(page.locator(f'[data-testid=recommendations] li[data-track-id="{gone}"]')).to_have_count(0)
    liked = recs.first.get_attribute("data-track-id")
    recs.first.get_by_test_id("like").click()
    expect(stats).to_have_attribute("data-likes", "3")
    assert liked not in [recs.nth(i).get_attribute("data-track-id") for i in range(recs.count())]
    page.locator("#color-by").select_option("user")
    expect(page.get_by_test_id("legend")).to_contain_text("in library (4)")

    shot = tmp_path / "page.png"
    page.screenshot(path=str(shot))
    if os.environ.get("MUSICREC_SCREENSHOT"):
        shutil.copy(shot, os.environ["MUSICREC_SCREENSHOT"])
    assert problems == []
    assert outside == []
