"""Whole recordings are heard whole: decoded in blocks that equal one whole decode, capped at
10 minutes in bounded memory, and a sound cut from anywhere in a song is found with its place,
from the core up to the page."""

from __future__ import annotations

import subprocess
import tracemalloc

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.ndimage
import soundfile as sf

from batch.core import audio
from batch.core.audio import LISTEN_SECONDS, AudioError, Blocks
from batch.core.features import stft_magnitude
from batch.core.fingerprint import (
    FRAME_SECONDS,
    Index,
    _window_max,
    analyse,
    identify,
    listen,
    query_landmarks,
    spectral_peaks,
    stft_chunks,
)
from batch.jobs import featurize
from batch.spark import outputs
from batch.store import db
from batch.store.load import load_catalogue, load_tiktok
from tests import edits, music
from tests.test_store import videos_parquet
from tests.test_web_listen import write_sounds
from tests.test_webapp import upload
from webapp import create_app, strip

SONG_SECONDS = 200.0


@pytest.fixture(scope="module")
def whole_song(tmp_path_factory):
    """A real composition rendered at whole-song length (3 min 20 s), as an mp3."""
    path = tmp_path_factory.mktemp("whole") / "song.mp3"
    return music.render("beethoven/opus18no1", path, seconds=SONG_SECONDS, offset=0.0)


def _at(frame) -> float:
    """A peak's frame in seconds."""
    return int(frame) * FRAME_SECONDS


def _whole_decode(path) -> np.ndarray:
    """One decode of everything, mixed down and resampled at once."""
    y, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return audio.resample((y[:, 0] + y[:, 1]) * 0.5 if y.shape[1] == 2 else y[:, 0], sr_native=sr)


def _sine(path, seconds: float, *args: str):
    source = f"sine=frequency=523:sample_rate=8000:duration={seconds}"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", source, *args, str(path)],
                   check=True)
    return path


def _damage(data: bytes, at: float) -> bytes:
    """``data`` with 20 kB of noise written over it at the fraction ``at`` of its length."""
    damaged = bytearray(data)
    start = int(len(data) * at)
    damaged[start:start + 20_000] = np.random.default_rng(0).integers(0, 256, 20_000, dtype=np.uint8).tobytes()
    return bytes(damaged)


# --- the core: blocks equal one whole decode ----------------------------------------------------


def test_blocks_equal_one_whole_decode(whole_song):
    blocks = Blocks(whole_song)
    heard = np.concatenate(list(blocks))
    np.testing.assert_array_equal(heard, _whole_decode(whole_song))
    assert blocks.heard == pytest.approx(SONG_SECONDS, abs=0.05) and not blocks.cut and blocks.note() is None


def test_blocks_of_an_aac_equal_its_whole_decode(tmp_path):
    # libsndfile cannot read aac: PyAV decodes it, a block at a time as well.
    path = _sine(tmp_path / "sound.aac", 75, "-c:a", "aac", "-b:a", "32k")
    whole = np.concatenate([b.mean(axis=1, dtype=np.float32) if b.shape[1] > 2 else b[:, 0]
                            for b in audio._av_blocks(path.read_bytes())])
    heard = np.concatenate(list(Blocks(path.read_bytes())))
    np.testing.assert_array_equal(heard, audio.resample(whole, sr_native=8000))


@pytest.mark.parametrize("frames", [7, 100, 1290, 100_000])
def test_the_spectrogram_in_runs_equals_the_whole_one(whole_song, frames):
    y = _whole_decode(whole_song)[: 40 * audio.SR]
    runs = list(stft_chunks(iter(np.array_split(y, 13)), frames))
    assert all(r.shape[0] == frames for r in runs[:-1])
    np.testing.assert_array_equal(np.concatenate(runs), stft_magnitude(y, sr=audio.SR))


def test_peaks_heard_in_blocks_equal_the_peaks_of_one_whole_decode(whole_song):
    whole = spectral_peaks(stft_magnitude(_whole_decode(whole_song), sr=audio.SR))
    peaks, _ = listen(whole_song)
    assert len(whole) > 5000 and _at(whole.t.max()) > SONG_SECONDS - 2
    for name in ("t", "lf", "rank"):
        np.testing.assert_array_equal(getattr(peaks, name), getattr(whole, name))


def test_the_window_maximum_is_scipys_maximum_filter():
    rng = np.random.default_rng(1)
    for shape in [(300, 200), (3, 5), (9, 1), (1, 40)]:
        x = rng.standard_normal(shape).astype(np.float32)
        want = scipy.ndimage.maximum_filter(x, size=(9, 17), mode="constant", cval=-np.inf)
        np.testing.assert_array_equal(_window_max(_window_max(x, 4, axis=0), 8, axis=1), want)


def test_the_vector_keeps_its_middle_window(whole_song):
    vector, peaks, clip = analyse(whole_song)
    assert (clip.start, clip.end) == pytest.approx((85.0, 115.0), abs=0.05)
    np.testing.assert_array_equal(vector, featurize_vector(whole_song))
    assert clip.heard == pytest.approx(SONG_SECONDS, abs=0.05) and clip.note is None
    assert _at(peaks.t.min()) < 2 and _at(peaks.t.max()) > SONG_SECONDS - 2


def featurize_vector(path):
    from batch.core.features import vectorize

    return vectorize(path)


# --- limits: the cap, memory, damage ------------------------------------------------------------


def test_a_long_file_is_heard_up_to_the_cap_and_says_so(tmp_path):
    path = _sine(tmp_path / "mix.mp3", LISTEN_SECONDS + 120, "-b:a", "8k")
    _, peaks, clip = analyse(path)
    assert clip.heard == pytest.approx(LISTEN_SECONDS)
    assert clip.note == "we listened to the first 10:00, the longest we listen to"
    assert clip.duration == pytest.approx(LISTEN_SECONDS + 120, abs=1)


def test_a_one_hour_file_is_heard_in_bounded_memory(tmp_path):
    path = _sine(tmp_path / "hour.mp3", 3590, "-b:a", "8k")
    tracemalloc.start()
    try:
        _, _, clip = analyse(path)
        peak = tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
    assert clip.heard == pytest.approx(LISTEN_SECONDS)
    # An hour decoded whole is 115 MB of 8 kHz float32 before resampling; 10 minutes of
    # spectrogram would be 106 MB. One block and one stretch are a few MB.
    assert peak < 40, f"peak {peak:.0f} MB"


def test_damage_after_the_window_ends_the_listening_there(whole_song, tmp_path):
    path = tmp_path / "song.flac"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(whole_song), str(path)], check=True)
    _, peaks, clip = analyse(_damage(path.read_bytes(), 0.8))
    assert 120 < clip.heard < SONG_SECONDS - 10
    assert clip.note.startswith(f"the file is damaged {audio.clock(clip.heard)} in (")
    assert clip.note.endswith("we listened up to there")
    assert _at(peaks.t.max()) <= clip.heard


def test_damage_inside_the_window_is_refused(whole_song, tmp_path):
    path = tmp_path / "song.flac"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(whole_song), str(path)], check=True)
    with pytest.raises(AudioError, match="undecodable audio"):
        analyse(_damage(path.read_bytes(), 0.5))


def test_a_file_that_fails_at_once_is_undecodable():
    with pytest.raises(AudioError, match="undecodable audio"):
        list(Blocks(b"RIFF\x00\x00\x00\x00WAVEjunk" * 100))


# --- identification: anywhere in the song --------------------------------------------------------


def test_a_sound_cut_at_2_30_is_found_in_the_whole_song_with_its_offset(whole_song, tmp_path):
    cut = edits.edit("excerpt", whole_song, tmp_path / "cut.mp3", start=150.0, seconds=15.0)
    sped = edits.edit("sped_up", whole_song, tmp_path / "sped.mp3", start=20.0, seconds=15.0)
    index = Index.of_peaks([("cut", analyse(cut)[1].reference()), ("sped", analyse(sped)[1].reference())])
    reference = listen(whole_song)[0].reference()
    # As the web app looks an upload up among the sounds: every speed, no scouting, since
    # one song holds sounds at several speeds (batch.store.search.identify).
    found = {f.item: f for f in identify(index, reference, top=5, query=query_landmarks(reference))}
    assert set(found) == {"cut", "sped"}
    assert -found["cut"].offset / found["cut"].speed == pytest.approx(150.0, abs=0.3)
    assert 1 / found["sped"].speed == pytest.approx(edits.SPEED_UP, abs=0.01)
    assert -found["sped"].offset / found["sped"].speed == pytest.approx(20.0, abs=0.3)


def test_a_sound_is_found_in_a_whole_catalogue_song_with_its_offset(whole_song, tmp_path):
    cut = edits.edit("excerpt", whole_song, tmp_path / "cut.mp3", start=150.0, seconds=15.0)
    index = Index.of_peaks([(7, analyse(whole_song)[1].reference())])
    found = identify(index, analyse(cut)[1])
    assert [f.item for f in found] == [7]
    assert found[0].offset == pytest.approx(150.0, abs=0.3) and found[0].speed == 1.0


def test_the_featurize_job_fingerprints_whole_songs(spark, whole_song, tmp_path):
    src = tmp_path / "fma_full" / "000"
    src.mkdir(parents=True)
    (src / "000002.mp3").write_bytes(whole_song.read_bytes())
    featurize.run(str(tmp_path / "fma_full"), tmp_path / "out", spark=spark, log=lambda *_: None)
    row = outputs.read_vectors(tmp_path / "out").to_pylist()[0]
    assert _at(max(row["peak_t"])) > SONG_SECONDS - 2  # not just the middle 30 s
    np.testing.assert_array_equal(np.asarray(row["vector"], np.float32), featurize_vector(whole_song))


# --- the web app: upload the whole song ---------------------------------------------------------


@pytest.fixture(scope="module")
def heard_store(store_url, whole_song, tmp_path_factory):
    """The whole song in the catalogue; sounds cut from it at 2:30 (three videos) and sped up
    from 0:20 (one video)."""
    root = tmp_path_factory.mktemp("whole-store")
    vector, peaks, _ = analyse(whole_song)
    part = root / "out" / "vectors" / "genre_top=Classical"
    part.mkdir(parents=True)
    reference = peaks.reference()
    pq.write_table(pa.table({"track_id": [42], "vector": [vector],
                             "peak_t": pa.array([reference.t], pa.list_(pa.int16())),
                             "peak_f": pa.array([reference.lf], pa.list_(pa.float32())),
                             "source_path": [str(whole_song)]}), part / "part-0.parquet")
    sounds = {"cut": edits.edit("excerpt", whole_song, root / "cut.mp3", start=150.0, seconds=15.0),
              "sped": edits.edit("sped_up", whole_song, root / "sped.mp3", start=20.0, seconds=15.0)}
    write_sounds(root / "sounds", {k: analyse(p) for k, p in sounds.items()})
    videos = [{"video_id": f"c{i}", "music_id": "cut", "song_title": "original sound", "play_count": 10 + i,
               "video_url": f"https://www.tiktok.com/@c/video/{i}"} for i in range(3)]
    videos.append({"video_id": "s0", "music_id": "sped", "song_title": "sped up!", "play_count": 5,
                   "video_url": "https://www.tiktok.com/@s/video/0"})
    # The catalogue job heard 'cut' in the song at 2:30 too.
    pq.write_table(pa.table({"fma_track_id": pa.array([42], pa.int64()), "tiktok_music_id": ["cut"],
                             "title_score": pa.nulls(1, pa.float64()), "artist_score": pa.nulls(1, pa.float64()),
                             "total_score": pa.nulls(1, pa.float64()), "method": ["audio"],
                             "audio_hashes": pa.array([80], pa.int32()), "audio_offset": [150.2],
                             "audio_speed": [1.0]}), root / "m.parquet")
    conn = db.connect(store_url)
    db.migrate(conn)
    load_catalogue(conn, root / "out")
    load_tiktok(conn, videos_parquet(root / "v.parquet", videos), matches=root / "m.parquet",
                sounds=root / "sounds")
    conn.close()
    return root


@pytest.fixture
def client(store_url, heard_store):
    return create_app({"DATABASE_URL": store_url}).test_client()


def test_uploading_the_whole_song_finds_sounds_cut_anywhere_with_their_place(client, whole_song):
    body = upload(client, whole_song).get_json()
    assert body["query"]["listened"] == pytest.approx(SONG_SECONDS, abs=0.05)
    assert body["query"]["listening_note"] is None
    assert body["query"]["window"] == pytest.approx([85.0, 115.0], abs=0.05)
    found = {s["music_id"]: s for s in body["tiktok_sounds_containing"]}
    assert set(found) == {"cut", "sped"}
    assert found["cut"]["offset"] == pytest.approx(150.0, abs=0.5) and found["cut"]["variant"] == "original speed"
    assert found["sped"]["offset"] == pytest.approx(20.0, abs=0.5) and found["sped"]["variant"] == "sped up"
    assert found["sped"]["covers"] == pytest.approx(15.0 * edits.SPEED_UP, abs=0.5)
    where = body["where_tiktok_listens"]
    assert where["busiest"]["videos"] == 3 and where["busiest"]["start"] == 150
    assert where["variants"] == {"original speed": 0.75, "sped up": 0.25, "slowed": 0.0}
    assert where["sentence"] == "TikTok uses 2:30–2:45 most, in 3 videos, all at the song's own speed."


def test_same_recording_uses_the_whole_upload(client, whole_song, tmp_path):
    late = edits.edit("excerpt", whole_song, tmp_path / "late.mp3", start=170.0, seconds=20.0)
    body = upload(client, late).get_json()
    assert body["same_recording"]["track_id"] == 42
    assert body["same_recording"]["offset"] == pytest.approx(170.0, abs=0.5)


def test_the_results_page_leads_with_the_strip_and_shows_each_video_once(client, whole_song):
    page = upload(client, whole_song, name="mine.mp3", url="/search").get_data(as_text=True)
    assert 'id="where-tiktok-listens"' in page
    assert "TikTok uses 2:30–2:45 most, in 3 videos, all at the song&#39;s own speed." in page
    section = page[page.index('id="containing"'):page.index('class="results"')]
    assert "from 2:30 of your song" in section and "from 0:20 of your song" in section, section
    assert page.index('id="containing"') < page.index('class="results"')
    for video in ("@c/video/0", "@c/video/1", "@c/video/2", "@s/video/0"):
        assert page.count(video + '"') == 2, video  # one card: its cover and its "Watch on TikTok"
    assert "Its TikTok videos are <a href=\"#containing\">above</a>" in page


def test_the_song_page_draws_where_tiktok_listens(client):
    track = client.get("/api/tracks/42").get_json()
    assert [(s["music_id"], s["variant"]) for s in track["sounds"]] == [("cut", "original speed")]
    assert track["where_tiktok_listens"]["sentence"] == (
        "TikTok uses 2:30–2:45 most, in 3 videos, all at the song's own speed.")
    page = client.get("/tracks/42").get_data(as_text=True)
    assert 'id="where-tiktok-listens"' in page and "heard in the sound&#39;s audio, from 2:30" in page


@pytest.mark.parametrize("script", [True, False], ids=["javascript", "no-javascript"])
def test_the_strip_in_chromium_at_phone_width(store_url, heard_store, whole_song, tmp_path, script):
    """The strip drawn by a real browser, on a phone's width, first in the results; without
    JavaScript the plain form gives the same page."""
    from tests.test_browser import chromium, overflow, screenshot, serving

    with serving(store_url) as url, chromium() as browser:
        context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=script)
        page = context.new_page()
        page.goto(url + "/")
        page.set_input_files("input#file", str(whole_song))
        page.click("button[type=submit]")
        page.wait_for_selector("#where-tiktok-listens svg", timeout=60_000)
        box = page.locator("#where-tiktok-listens svg").bounding_box()
        assert box["width"] > 300 and box["height"] == 28
        assert box["y"] < 844 * 1.5  # on the first screen or just below it, before the similar songs
        assert page.locator("#where-tiktok-listens rect.use").count() >= 2
        assert "TikTok uses 2:30–2:45 most, in 3 videos" in page.locator("#where-tiktok-listens figcaption").inner_text()
        assert page.locator("#where-tiktok-listens .strip-scale").inner_text().split() == ["0:00", "3:20"]
        assert overflow(page) <= 0
        if script:
            screenshot(page, tmp_path / "strip.png", full_page=False)
        context.close()


# --- the strip's arithmetic ---------------------------------------------------------------------


def test_the_strip_counts_videos_per_second_and_names_the_busiest_part():
    uses = [strip.Use(42.0, 15.0, 1.25, 12), strip.Use(40.0, 20.0, 1.0, 8), strip.Use(100.0, 10.0, 0.85, 5)]
    where = strip.where(uses, 180.0)
    assert where["busiest"] == {"start": 42, "end": 57, "videos": 20}
    assert where["sentence"] == "TikTok uses 0:42–0:57 most, in 20 videos, 60 % of them sped up."
    assert where["variants"] == {"original speed": 0.32, "sped up": 0.48, "slowed": 0.2}
    assert [(s["start"], s["end"], s["videos"]) for s in where["segments"]] == [
        (40, 42, 8), (42, 57, 20), (57, 60, 8), (100, 110, 5)]
    assert where["segments"][1]["shade"] == 1.0 and where["segments"][0]["shade"] == 0.55


def test_no_place_no_strip():
    assert strip.where([], 100.0) is None
    assert strip.where([strip.Use(120.0, 10.0, 1.0, 3)], 100.0) is None  # past the song's end
    assert strip.where([strip.Use(10.0, 10.0, 1.0, 0)], 100.0) is None  # no videos
