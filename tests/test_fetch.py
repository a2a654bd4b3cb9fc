"""Fetching sound audio from URLs in dumps: every failure has its reason, and no URL reaches
an address it must not. A real HTTP server on loopback answers."""

from __future__ import annotations

import pytest

from batch.listening.fetch import MAX_BYTES, audio_format, fetch_audio
from tests.sound_server import serving

MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 200
FAST = {"timeouts": (1.0, 0.5), "backoff": 0.01}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cdn")
    (folder / "song.mp3").write_bytes(MP3)
    (folder / "page.mp3").write_bytes(b"<html>not audio</html>")
    with serving(folder) as s:
        yield s


def test_audio_is_fetched(server):
    got = fetch_audio(server.url("sounds/song.mp3"), allow_private=True, **FAST)
    assert got.ok and got.data == MP3 and got.ext == "mp3" and got.attempts == 1


@pytest.mark.parametrize("code", [403, 404, 410])
def test_dead_links_are_expired_and_not_retried(server, code):
    before = server.hits[f"/status/{code}"]
    got = fetch_audio(server.url(f"status/{code}"), allow_private=True, **FAST)
    assert (got.status, got.http_status, got.attempts) == ("expired", code, 1)
    assert server.hits[f"/status/{code}"] == before + 1


def test_a_500_is_retried_and_then_succeeds(server):
    got = fetch_audio(server.url("flaky/song.mp3"), allow_private=True, **FAST)
    assert got.ok and got.attempts == 2 and server.hits["/flaky/song.mp3"] == 2


def test_a_persistent_500_fails_after_every_attempt(server):
    got = fetch_audio(server.url("status/503"), allow_private=True, attempts=3, **FAST)
    assert (got.status, got.attempts) == ("server error", 3)


def test_a_slow_answer_times_out(server):
    got = fetch_audio(server.url("slow/2/song.mp3"), allow_private=True, attempts=2, **FAST)
    assert (got.status, got.attempts) == ("timeout", 2)


def test_html_is_not_audio(server):
    assert fetch_audio(server.url("html"), allow_private=True, **FAST).status == "not audio"
    # Served as audio/mpeg, but the bytes are a web page.
    got = fetch_audio(server.url("sounds/page.mp3"), allow_private=True, **FAST)
    assert got.status == "not audio" and "<html>" in got.detail


def test_oversized_bodies_are_refused(server):
    declared = fetch_audio(server.url("huge"), allow_private=True, **FAST)
    assert declared.status == "too large" and "declares" in declared.detail
    streamed = fetch_audio(server.url("big?chunks=40"), allow_private=True, max_bytes=1024 * 1024, **FAST)
    assert streamed.status == "too large" and streamed.data is None
    assert MAX_BYTES == 20 * 1024 * 1024


def test_loopback_is_refused_without_the_flag(server):
    got = fetch_audio(server.url("sounds/song.mp3"), **FAST)
    assert got.status == "refused address" and "127.0.0.1" in got.detail
    assert server.hits["/sounds/song.mp3"] == 1  # only the allowed fetch above reached it


def test_a_redirect_to_loopback_is_refused_without_the_flag(tmp_path):
    (tmp_path / "song.mp3").write_bytes(MP3)
    with serving(tmp_path, host="127.0.0.2") as first, serving(tmp_path) as inner:
        url = first.url(f"redirect?to={inner.url('sounds/song.mp3')}")
        refused = fetch_audio(url, trusted=frozenset({"127.0.0.2"}), **FAST)
        assert refused.status == "refused address" and "127.0.0.1" in refused.detail
        assert first.hits["/redirect"] == 1 and inner.hits["/sounds/song.mp3"] == 0
        followed = fetch_audio(url, allow_private=True, **FAST)
        assert followed.ok and inner.hits["/sounds/song.mp3"] == 1


@pytest.mark.parametrize("url", [
    "http://10.0.0.7/a.mp3", "http://192.168.1.1/a.mp3", "http://172.16.0.1/a.mp3",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/a.mp3", "http://224.0.0.1/a.mp3",
    "http://0.0.0.0/a.mp3", "http://[::ffff:127.0.0.1]/a.mp3", "http://localhost/a.mp3",
])
def test_private_and_special_addresses_are_refused(url):
    got = fetch_audio(url, **FAST)
    assert got.status == "refused address", got


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/a.mp3", "gopher://x/",
                                 "http:///nohost", "not a url", "http://host:99999/a.mp3", ""])
def test_only_http_and_https_urls_are_followed(url):
    assert fetch_audio(url, **FAST).status == "bad url"


def test_audio_formats_are_sniffed_from_the_bytes():
    assert audio_format(b"ID3\x03") == "mp3"
    assert audio_format(b"\xff\xfb\x90\x00") == "mp3"
    assert audio_format(b"\xff\xf1\x50\x80") == "aac"
    assert audio_format(b"\x00\x00\x00\x20ftypM4A ") == "m4a"
    assert audio_format(b"RIFF\x24\x00\x00\x00WAVEfmt ") == "wav"
    assert audio_format(b"OggS\x00") == "ogg"
    assert audio_format(b"fLaC\x00") == "flac"
    assert audio_format(b"<!doctype html>") is None
    assert audio_format(b"\x89PNG\r\n") is None
