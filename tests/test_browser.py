"""A real browser (Debian's headless chromium, driven by Playwright) uses the pages end to end."""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from werkzeug.serving import make_server

from tests.conftest import write_wav
from tests.test_webapp import catalogue  # noqa: F401  (the loaded store fixture)
from webapp import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = os.environ.get("SCREENSHOTS_DIR")
"""Where :func:`screenshot` also copies its pictures (``make screenshots``: docs/screenshots)."""


@contextlib.contextmanager
def serving(url: str):
    """The app on a loopback port, against the store at ``url``."""
    httpd = make_server("127.0.0.1", 0, create_app({"DATABASE_URL": url}), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()


@contextlib.contextmanager
def chromium():
    """Headless chromium; every page it opens records console errors (CSP refusals among them)."""
    from playwright.sync_api import sync_playwright

    if not shutil.which("chromium"):
        pytest.fail("Debian's chromium is missing: run `make system-deps`")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser, viewport=None):
    page = browser.new_page(viewport=viewport or {"width": 1200, "height": 1600})
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    return page


def overflow(page) -> int:
    """How many pixels the page is wider than its viewport (0: nothing scrolls sideways)."""
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")


def screenshot(page, path: Path, *, full_page: bool = True) -> Path:
    page.screenshot(path=str(path), full_page=full_page)
    assert path.stat().st_size > 10_000
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(SCREENSHOTS) / path.name)
    return path


def drop_file(page, selector: str, path: Path, mime: str = "audio/mpeg") -> None:
    """Drop ``path`` onto ``selector`` as a person dragging it from their desktop would."""
    data = base64.b64encode(path.read_bytes()).decode()
    transfer = page.evaluate_handle("""([data, name, mime]) => {
        const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], name, { type: mime }));
        return transfer;
    }""", [data, path.name, mime])
    page.dispatch_event(selector, "dragenter", {"dataTransfer": transfer})
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


WATCH_PROGRESS = """() => {
    window.seen = [];
    const progress = document.getElementById("progress");
    const note = () => { if (!progress.hidden) window.seen.push(progress.innerText.trim()); };
    new MutationObserver(note).observe(progress, { attributes: true, childList: true, subtree: true,
                                                   characterData: true });
}"""


@pytest.fixture(scope="module")
def server(store_url, catalogue):  # noqa: F811
    with serving(store_url) as url:
        yield url


def test_pick_a_genre_drop_a_song_and_see_results(server, catalogue, tmp_path):  # noqa: F811
    song = catalogue[0]
    with chromium() as browser:
        page = open_page(browser)
        page.goto(server + "/")
        assert page.locator("select#genre option").count() == 17
        assert not page.locator("#progress").is_visible()  # idle: no working indicator
        assert not page.locator(".spinner").is_visible()
        page.select_option("select#genre", song["genre_top"])
        drop_file(page, "#drop-zone", song["path"])
        assert song["path"].name in page.inner_text("#chosen")
        page.evaluate(WATCH_PROGRESS)
        page.click("button[type=submit]")
        page.wait_for_selector("ol.results li.result", timeout=30_000)
        seen = page.evaluate("() => window.seen")
        assert any(s.startswith("Uploading") for s in seen), seen
        assert any("Listening to your song" in s for s in seen), seen

        assert song["path"].name in page.inner_text("section.query")
        first = page.locator("li.result").first
        assert first.get_attribute("id") == f"track-{song['track_id']}"
        assert song["genre_top"] in first.inner_text()
        covers = first.locator("ul.covers li.cover")
        assert covers.count() == 3
        assert covers.first.locator("a.watch").get_attribute("href").startswith("https://www.tiktok.com/")
        # The expired cover degrades to the placeholder; the script title stays text.
        page.wait_for_selector(".frame.broken", timeout=10_000)
        assert page.locator(".frame.broken .placeholder").first.is_visible()
        assert page.evaluate("() => window.alertCalled === undefined")
        assert float(first.locator(".bar").first.evaluate("b => b.getBoundingClientRect().width")) > 0
        assert "closer than" in first.inner_text() and first.locator(".likeness").is_visible()
        assert page.console_errors == [] or all("expired.jpg" in e or "ERR_" in e for e in page.console_errors)
        screenshot(page, tmp_path / "results-store.png")


def test_a_tempo_filter_nothing_meets_says_so_on_a_phone(server, catalogue, tmp_path):  # noqa: F811
    song = catalogue[1]
    with chromium() as browser:
        page = open_page(browser, viewport={"width": 390, "height": 844})
        page.goto(server + "/")
        assert page.locator("fieldset.options").is_visible() and overflow(page) == 0
        page.select_option("select#genre", song["genre_top"])
        page.select_option("select#view", "numbers")
        page.fill("#bpm_min", "299")
        page.fill("#bpm_max", "300")
        drop_file(page, "#drop-zone", song["path"])
        page.click("button[type=submit]")
        page.wait_for_selector("#filter-notice", timeout=30_000)
        notice = page.inner_text("#filter-notice")
        assert notice.startswith("299–300 BPM (half or double tempo counts too) in " + song["genre_top"])
        assert "The nearest tempo" in notice and "BPM" in page.inner_text("#query-tempo-key")
        assert "half or double" in page.inner_text("#filters") and overflow(page) == 0
        screenshot(page, tmp_path / "filter-notice.png")


def test_a_song_page_has_its_player_cards_and_more_like_this(server, catalogue):  # noqa: F811
    song = catalogue[0]
    with chromium() as browser:
        page = open_page(browser)
        page.goto(server + "/")
        page.set_input_files("input#file", str(song["path"]))
        page.click("button[type=submit]")
        page.wait_for_selector("ol.results li.result", timeout=30_000)
        page.click(f"#track-{song['track_id']} h2 a")
        page.wait_for_selector("#song")
        assert page.locator("#song h1").inner_text() == song["title"]
        assert page.locator("#song audio").count() == 1
        card = page.locator("#videos li.cover").first
        text = card.inner_text()
        for label in ("plays", "likes", "comments", "shares", "engagement"):
            assert label in text, label
        assert "@" in text and "♪" in text and ("date unknown" in text or card.locator("time").count() == 1)
        assert card.locator("a.watch").get_attribute("href").startswith("https://www.tiktok.com/@")
        more = page.locator("#more-like-this li.result")
        assert more.count() == 6 and more.first.locator("audio").count() == 1
        more.first.locator("h2 a").click()
        page.wait_for_selector("#song")
        assert page.url.startswith(server + "/tracks/")


def test_silence_is_told_apart_and_the_genre_survives_the_error(server, catalogue, tmp_path):  # noqa: F811
    silent = tmp_path / "silence.wav"
    write_wav(silent, np.zeros(5 * 22050, np.float32))
    with chromium() as browser:
        page = open_page(browser)
        page.goto(server + "/")
        page.select_option("select#genre", "Jazz")
        page.set_input_files("input#file", str(silent))
        with page.expect_response(lambda r: r.url.endswith("/search")) as answer:
            page.click("button[type=submit]")
        assert answer.value.status == 422
        alert = page.locator("#form-error")
        alert.wait_for(state="visible")
        assert "we heard no music" in alert.inner_text() and "Try another file" in alert.inner_text()
        assert alert.get_attribute("data-status") == "422"
        assert page.input_value("select#genre") == "Jazz"
        assert not page.locator("#progress").is_visible()
        assert page.locator("button[type=submit]").is_enabled()
        # Without script, the plain form post lands on the error page, which keeps the genre too.
        context = browser.new_context(java_script_enabled=False)
        plain = context.new_page()
        plain.goto(server + "/")
        plain.select_option("select#genre", "Jazz")
        plain.set_input_files("input#file", str(silent))
        plain.click("button[type=submit]")
        plain.wait_for_selector(".error")
        assert "we heard no music" in plain.inner_text(".error")
        assert plain.input_value("select#genre") == "Jazz"
        context.close()


def test_the_hashtag_pages_page_through(store_url, catalogue):  # noqa: F811
    httpd = make_server("127.0.0.1", 0, create_app({"DATABASE_URL": store_url, "RESULTS": 1}), threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_port}"
    try:
        with chromium() as browser:
            page = open_page(browser)
            page.goto(base + "/hashtags")
            page.fill("#tags", "#fyp")
            page.click("#hashtag-form button")
            page.wait_for_selector("section.sounds li.result")
            first = page.locator("section.sounds li.result").first.get_attribute("id")
            page.click("a[rel=next]")
            page.wait_for_selector("a[rel=prev]")
            assert "page=2" in page.url
            second = page.locator("section.sounds li.result").first.get_attribute("id")
            assert second != first
            assert page.locator("section.sounds ol.results").get_attribute("start") == "2"
    finally:
        httpd.shutdown()


def test_api_docs_list_every_route(server):
    with chromium() as browser:
        page = open_page(browser)
        spec = page.request.get(server + "/api/openapi.json").json()
        page.goto(server + "/api/docs")
        page.wait_for_selector(".opblock", timeout=20_000)
        shown = {page.locator(".opblock-summary-path").nth(i).get_attribute("data-path")
                 for i in range(page.locator(".opblock-summary-path").count())}
        assert shown == set(spec["paths"])
        assert not [e for e in page.console_errors if "Content Security Policy" in e], page.console_errors


@pytest.mark.parametrize("path", ["/", "/hashtags?tags=fyp", "/charts", "/api/docs"])
def test_nothing_overflows_sideways_on_a_phone(server, catalogue, path):  # noqa: F811
    with chromium() as browser:
        page = open_page(browser, PHONE)
        page.goto(server + path)
        page.wait_for_load_state("networkidle")
        assert overflow(page) <= 0, path


def test_results_and_song_pages_fit_a_phone(server, catalogue):  # noqa: F811
    song = catalogue[0]
    with chromium() as browser:
        page = open_page(browser, PHONE)
        page.goto(server + "/")
        page.set_input_files("input#file", str(song["path"]))
        page.click("button[type=submit]")
        page.wait_for_selector("ol.results li.result", timeout=30_000)
        assert overflow(page) <= 0
        page.goto(server + f"/tracks/{song['track_id']}")
        assert overflow(page) <= 0
        box = page.locator("#videos li.cover").first.bounding_box()
        assert box["width"] >= 140  # a card stays readable: two a row, not six
