"""A real browser (Debian's headless chromium, driven by Playwright) uses the page end to end."""

from __future__ import annotations

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from tests.test_webapp import catalogue  # noqa: F401  (the loaded store fixture)
from webapp import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def server(store_url, catalogue):  # noqa: F811
    httpd = make_server("127.0.0.1", 0, create_app({"DATABASE_URL": store_url}), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def test_pick_a_genre_upload_and_see_results(server, catalogue, tmp_path):  # noqa: F811
    from playwright.sync_api import sync_playwright

    if not shutil.which("chromium"):
        pytest.fail("Debian's chromium is missing: run `make system-deps`")
    song = catalogue[0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1600})
        page.goto(server + "/")
        assert page.locator("select#genre option").count() == 17
        page.select_option("select#genre", song["genre_top"])
        page.set_input_files("input#file", str(song["path"]))
        page.click("button[type=submit]")
        page.wait_for_selector("ol.results li.result", timeout=30_000)

        assert song["path"].name in page.inner_text("section.query")
        first = page.locator("li.result").first
        assert first.get_attribute("id") == f"track-{song['track_id']}"
        assert song["genre_top"] in first.inner_text()
        covers = first.locator("ul.covers li.cover")
        assert covers.count() == 3
        assert covers.first.locator("a").get_attribute("href").startswith("https://www.tiktok.com/")
        # The expired cover degrades to the placeholder; the script title stays text.
        page.wait_for_selector(".frame.broken", timeout=10_000)
        assert page.locator(".frame.broken .placeholder").first.is_visible()
        assert page.evaluate("() => window.alertCalled === undefined")
        assert float(first.locator(".bar").first.evaluate("b => b.getBoundingClientRect().width")) > 0

        shot = tmp_path / "results.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert shot.stat().st_size > 10_000
