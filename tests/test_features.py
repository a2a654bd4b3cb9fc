"""The vector's definition: names and order, known answers, and every way input can be bad."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from batch.core import features
from batch.core.audio import AudioError, load_clip
from batch.core.features import FEATURE_NAMES, N_FEATURES, vectorize
from tests.conftest import tone, write_wav

SR = 22050


def value(vector, name):
    return vector[FEATURE_NAMES.index(name)]


# --- the declaration -------------------------------------------------------------------------


def test_names_follow_feature_then_statistic_then_row():
    assert N_FEATURES == 245 == len(set(FEATURE_NAMES))
    assert FEATURE_NAMES[:2] == ("mfcc_mean_01", "mfcc_mean_02")
    assert FEATURE_NAMES[20] == "mfcc_std_01"
    assert FEATURE_NAMES[140] == "chroma_mean_01"
    assert FEATURE_NAMES[224:226] == ("zcr_mean_01", "zcr_std_01")
    assert FEATURE_NAMES[-1] == "rolloff_max_01"


def test_vector_is_float32_of_245(tmp_path):
    v = vectorize(write_wav(tmp_path / "a.wav", tone()))
    assert v.dtype == np.float32 and v.shape == (245,)


# --- known answers ---------------------------------------------------------------------------


def test_pure_tone_centroid_rolloff_and_chroma(tmp_path):
    v = vectorize(write_wav(tmp_path / "a440.wav", tone(440.0)))
    assert value(v, "centroid_median_01") == pytest.approx(440.0, rel=0.02)
    assert value(v, "rolloff_median_01") == pytest.approx(440.0, abs=25.0)  # within ~2 bins
    chroma_means = np.array([value(v, f"chroma_mean_{i:02d}") for i in range(1, 13)])
    assert chroma_means.argmax() == 9  # C, C#, ..., A is the 10th pitch class
    assert chroma_means[9] == pytest.approx(1.0, abs=1e-3)
    assert np.all(np.delete(chroma_means, 9) < 0.5)


def test_tone_an_octave_up_keeps_chroma_and_doubles_centroid(tmp_path):
    low = vectorize(write_wav(tmp_path / "a.wav", tone(440.0)))
    high = vectorize(write_wav(tmp_path / "b.wav", tone(880.0)))
    assert value(high, "centroid_mean_01") / value(low, "centroid_mean_01") == pytest.approx(2, rel=0.02)
    chroma = [f"chroma_mean_{i:02d}" for i in range(1, 13)]
    for v in (low, high):  # same pitch class; leakage into neighbours differs with the octave
        means = np.array([value(v, c) for c in chroma])
        assert means.argmax() == 9 and np.all(np.delete(means, 9) < 0.25)


def test_click_track_zero_crossing_rate(tmp_path):
    y = np.zeros(30 * SR)
    period = 441  # 50 clicks per second
    y[::period] = 0.8
    y[1::period] = -0.8  # a doublet: + then -, two sign changes per click
    v = vectorize(write_wav(tmp_path / "clicks.wav", y))
    assert value(v, "zcr_mean_01") == pytest.approx(2 * 50 / SR, rel=0.01)
    # An inner frame of 2048 samples holds 4 or 5 clicks; the two edge frames, half
    # padding, hold 3.
    assert value(v, "zcr_min_01") == 6 / 2048
    assert value(v, "zcr_max_01") == 10 / 2048


def test_square_wave_zero_crossing_rate(tmp_path):
    y = np.sign(np.sin(2 * np.pi * 100.0 * (np.arange(30 * SR) + 0.5) / SR))
    v = vectorize(write_wav(tmp_path / "square.wav", 0.5 * y))
    assert value(v, "zcr_mean_01") == pytest.approx(2 * 100 / SR * 2047 / 2048, rel=0.01)


@pytest.mark.parametrize(
    "signal",
    [np.zeros(10 * SR), np.full(10 * SR, 0.25), np.full(10 * SR, -1.0), 1e-12 * tone(seconds=10)],
    ids=["silence", "dc", "full-scale-negative-dc", "below-zcr-threshold"],
)
def test_silence_and_constant_signals_are_finite(tmp_path, signal):
    v = vectorize(write_wav(tmp_path / "flat.wav", signal))
    assert np.all(np.isfinite(v))


def test_silence_has_zero_moments_and_zero_spectral_features(tmp_path):
    v = vectorize(write_wav(tmp_path / "silence.wav", np.zeros(10 * SR)))
    for name in FEATURE_NAMES:
        if "_skew_" in name or "_kurtosis_" in name or name.startswith(("chroma", "zcr", "centroid", "rolloff")):
            assert value(v, name) == 0.0, name
    assert value(v, "mfcc_mean_01") == pytest.approx(-100 * np.sqrt(128), rel=1e-5)


def test_sample_rate_does_not_change_the_vector_much(tmp_path):
    at_22k = vectorize(write_wav(tmp_path / "a.wav", tone(440.0, sr=22050), sr=22050))
    at_48k = vectorize(write_wav(tmp_path / "b.wav", tone(440.0, sr=48000), sr=48000))
    for name in ("centroid_mean_01", "rolloff_median_01", "chroma_mean_10", "mfcc_mean_02"):
        assert value(at_48k, name) == pytest.approx(value(at_22k, name), rel=0.01), name


# --- the clip --------------------------------------------------------------------------------


def test_long_file_keeps_the_middle_30_seconds(tmp_path):
    rng = np.random.default_rng(0)
    y = 0.3 * rng.standard_normal(70 * SR)  # noise, except a tone in the middle 30 s
    y[20 * SR : 50 * SR] = tone(440.0, seconds=30.0)
    path = write_wav(tmp_path / "long.wav", y)
    clip = load_clip(path)
    assert clip.duration == pytest.approx(70.0)
    assert (clip.start, clip.end) == (pytest.approx(20.0), pytest.approx(50.0))
    assert clip.y.shape == (30 * SR,)
    np.testing.assert_array_equal(vectorize(path), vectorize(write_wav(tmp_path / "mid.wav", tone())))


def test_bytes_and_path_give_the_same_vector(tmp_path):
    path = write_wav(tmp_path / "a.flac", tone(330.0, seconds=5.0))
    np.testing.assert_array_equal(vectorize(path), vectorize(path.read_bytes()))


@pytest.mark.parametrize("fmt", ["wav", "flac", "ogg", "mp3"])
def test_every_supported_format_decodes(tmp_path, fmt):
    v = vectorize(write_wav(tmp_path / f"a.{fmt}", tone(440.0, seconds=5.0, sr=44100), sr=44100))
    assert value(v, "centroid_median_01") == pytest.approx(440.0, rel=0.05)


def test_stereo_is_averaged_to_mono(tmp_path):
    left, right = tone(440.0, seconds=5.0), tone(660.0, seconds=5.0)
    stereo = write_wav(tmp_path / "s.wav", np.stack([left, right], axis=1))
    mono = write_wav(tmp_path / "m.wav", (left + right) / 2)
    np.testing.assert_allclose(load_clip(stereo).y, load_clip(mono).y, atol=1e-6)


# --- bad input -------------------------------------------------------------------------------


def _mp3_bytes(seconds=10.0):
    buf = io.BytesIO()
    sf.write(buf, tone(440.0, seconds=seconds, sr=44100).astype(np.float32), 44100, format="MP3")
    return buf.getvalue()


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty input"),
        (np.random.default_rng(1).bytes(20_000), "undecodable"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, "undecodable"),
        (b"GIF89a" + bytes(4000), "undecodable"),
        (_mp3_bytes()[:200], "undecodable"),
    ],
    ids=["zero-bytes", "random-bytes", "png", "gif", "mp3-header-only"],
)
def test_broken_input_raises_audio_error(tmp_path, data, message):
    path = tmp_path / "broken.mp3"
    path.write_bytes(data)
    with pytest.raises(AudioError, match=message):
        vectorize(path)
    with pytest.raises(AudioError, match=message):
        vectorize(data)


def test_truncated_mp3_is_refused():
    data = _mp3_bytes(seconds=10.0)
    with pytest.raises(AudioError, match=r"truncated: decoded .* of the 10\.\d+ s"):
        vectorize(data[: len(data) // 2])


def test_too_short_is_refused(tmp_path):
    with pytest.raises(AudioError, match=r"too short: 1\.50 s .* minimum is 2 s"):
        vectorize(write_wav(tmp_path / "short.wav", tone(seconds=1.5)))
    assert vectorize(write_wav(tmp_path / "ok.wav", tone(seconds=2.0))).shape == (245,)


def test_audio_error_is_a_value_error():
    assert issubclass(AudioError, ValueError)
    assert features.AudioError is AudioError


def test_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        vectorize(tmp_path / "nope.mp3")


def test_feature_frames_refuses_other_sample_rates():
    with pytest.raises(ValueError, match="sr=44100"):
        features.feature_frames(np.zeros(44100, dtype=np.float32), sr=44100)
