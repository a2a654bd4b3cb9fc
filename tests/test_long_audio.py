"""Long sources: only the middle window is decoded, memory stays about one window, and
sources over the cap are refused, in the shared core, the web app and the batch job."""

from __future__ import annotations

import io
import subprocess
import tracemalloc

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from batch.core import audio
from batch.core.audio import MAX_SECONDS, AudioError, load_clip
from batch.jobs import featurize
from batch.spark import outputs
from tests import music
from tests.test_fidelity import assert_same_vector
from tests.test_webapp import app, catalogue, client  # noqa: F401 (fixtures)

WINDOW_MB = 30  # a window of 48 kHz stereo float32 is 11.5 MB; the rest is slack for one block


def _full_decode_window(path) -> np.ndarray:
    """What load_clip did before it seeked: decode everything, then cut the middle."""
    y, sr = sf.read(path, dtype="float32", always_2d=True)
    window = int(audio.CLIP_SECONDS * sr)
    start = (len(y) - window) // 2 if len(y) > window else 0
    y = y[start:start + window]
    return audio.resample((y[:, 0] + y[:, 1]) * 0.5 if y.shape[1] == 2 else y[:, 0], sr_native=sr)


def _peak_mb(fn, *args) -> tuple[object, float]:
    tracemalloc.start()
    try:
        result = fn(*args)
        return result, tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def _ffmpeg(path, seconds: float, *args: str):
    source = f"sine=frequency=523:sample_rate=8000:duration={seconds}"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", source, *args, str(path)],
                   check=True)
    return path


def _silent_flac(path, hours: float, sr: int = 8000):
    with sf.SoundFile(path, "w", sr, 1, format="FLAC") as f:
        block = np.zeros(sr * 600, dtype=np.float32)
        for _ in range(int(hours * 6)):
            f.write(block)
    return path


@pytest.fixture(scope="module")
def whole_song(tmp_path_factory):
    """A real composition rendered at whole-song length (3 min 20 s), as an mp3."""
    path = tmp_path_factory.mktemp("song") / "song.mp3"
    return music.render("beethoven/opus18no1", path, seconds=200.0, offset=0.0)


def test_whole_song_window_equals_a_full_decode(whole_song):
    clip = load_clip(whole_song)
    np.testing.assert_array_equal(clip.y, _full_decode_window(whole_song))
    assert clip.duration == pytest.approx(200.0, abs=0.1)
    assert clip.start == pytest.approx(85.0, abs=0.1)


def test_whole_song_vector_matches_librosa(whole_song):
    assert_same_vector(whole_song)


def test_low_bitrate_mp3_window_equals_a_full_decode(tmp_path):
    # At 8 kbit/s an mp3's bit reservoir reaches several frames back: the preroll covers it.
    path = _ffmpeg(tmp_path / "low.mp3", 300, "-b:a", "8k")
    np.testing.assert_array_equal(load_clip(path).y, _full_decode_window(path))


def test_long_low_bitrate_mp3_is_windowed_in_bounded_memory(tmp_path):
    path = _ffmpeg(tmp_path / "long.mp3", 50 * 60, "-b:a", "8k")  # 50 min, 3 MB
    clip, peak = _peak_mb(load_clip, path)
    assert clip.duration == pytest.approx(3000, abs=1)
    assert len(clip.y) == audio.SR * 30
    # A full decode holds 50 min of float32: 96 MB at 8 kHz, before resampling.
    assert peak < path.stat().st_size / 1e6 + WINDOW_MB, f"peak {peak:.0f} MB"


def test_hours_of_silence_in_a_small_flac_are_refused_from_the_header(tmp_path):
    path = _silent_flac(tmp_path / "silence.flac", hours=3)
    assert path.stat().st_size < 2_000_000

    def refuse():
        with pytest.raises(AudioError, match=r"too long: 180 minutes of audio; the limit is 60 minutes"):
            load_clip(path)

    _, peak = _peak_mb(refuse)
    assert peak < path.stat().st_size / 1e6 + 1  # refused from the header, before any decoding


def test_long_mp3_over_the_cap_is_refused(tmp_path):
    path = _ffmpeg(tmp_path / "mix.mp3", MAX_SECONDS + 600, "-b:a", "8k")
    with pytest.raises(AudioError, match="too long: 70 minutes"):
        load_clip(path)


def test_source_without_a_length_is_counted_then_cut(tmp_path):
    # Raw ADTS aac has no length anywhere: it is decoded in blocks, twice, never whole.
    path = _ffmpeg(tmp_path / "sound.aac", 240, "-c:a", "aac", "-b:a", "16k")
    clip, peak = _peak_mb(load_clip, path)
    assert clip.duration == pytest.approx(240, abs=0.2)
    assert clip.start == pytest.approx(105, abs=0.2)
    assert peak < path.stat().st_size / 1e6 + WINDOW_MB


def test_source_without_a_length_over_the_cap_is_refused(tmp_path):
    path = _ffmpeg(tmp_path / "long.aac", MAX_SECONDS + 60, "-c:a", "aac", "-b:a", "8k")
    with pytest.raises(AudioError, match="too long: .* it has no length in its header"):
        load_clip(path)


def test_header_that_promises_more_than_the_file_holds_is_truncated():
    buf = io.BytesIO()
    sf.write(buf, np.zeros((44100 * 120, 2), np.float32) + 0.1, 44100, format="MP3")
    data = buf.getvalue()
    with pytest.raises(AudioError, match=r"truncated: decoded .* of the 120\.\d+ s"):
        load_clip(data[: len(data) // 3])


def test_web_upload_of_hours_of_silence_is_a_422(client, tmp_path):
    path = _silent_flac(tmp_path / "silence.flac", hours=3)
    response = client.post("/api/search", data={"file": (path.open("rb"), "silence.flac")})
    assert response.status_code == 422
    assert "too long: 180 minutes" in response.get_json()["error"]


def test_batch_job_rejects_what_is_too_long_and_windows_the_rest(spark, tmp_path):
    src = tmp_path / "fma_audio" / "000"
    src.mkdir(parents=True)
    _silent_flac(src / "000002.flac", hours=2)
    _ffmpeg(src / "000003.mp3", 40 * 60, "-b:a", "8k")
    out = tmp_path / "out"
    summary = featurize.run(str(tmp_path / "fma_audio"), out, spark=spark, log=lambda *_: None)
    assert (summary.featurized, summary.errors) == (1, 1)
    errors = pd.read_parquet(out / "errors")
    assert errors["track_id"].tolist() == [2]
    assert errors["reason"].iloc[0].startswith("too long: 120 minutes")
    assert outputs.read_vectors(out).to_pandas()["track_id"].tolist() == [3]
