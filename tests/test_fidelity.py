"""Every element of the fast vector agrees with plain librosa: 1e-3 relative, or 1e-4 absolute near zero."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from batch.core.features import FEATURE_NAMES, vectorize
from tests.conftest import TEST_PIECES, tone, write_wav
from tests.librosa_reference import reference_vector

RTOL, ATOL = 1e-3, 1e-4
SR = 44100


def assert_same_vector(path):
    fast, plain = vectorize(path), reference_vector(path)
    bad = ~np.isclose(fast, plain, rtol=RTOL, atol=ATOL)
    details = [f"{FEATURE_NAMES[i]}: {fast[i]!r} vs librosa {plain[i]!r}" for i in np.flatnonzero(bad)]
    assert not bad.any(), "\n".join(details[:20])


def _generated(name: str, seconds: float = 30.0) -> np.ndarray:
    rng = np.random.default_rng(7)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    if name == "tone":
        return tone(440.0, seconds, sr=SR)
    if name == "chord-stereo-noise":
        left = 0.2 * np.sin(2 * np.pi * 261.63 * t) + 0.2 * np.sin(2 * np.pi * 329.63 * t)
        right = 0.2 * np.sin(2 * np.pi * 392.0 * t) + 0.05 * rng.standard_normal(n)
        return np.stack([left, right], axis=1)
    if name == "white-noise":
        return 0.1 * rng.standard_normal(n)
    if name == "chirp":
        return 0.4 * np.sin(2 * np.pi * (50 * t + (8000 - 50) / (2 * seconds) * t**2))
    if name == "clicks":
        y = np.zeros(n)
        y[:: SR // 4] = 0.9
        return y
    if name == "silence":
        return np.zeros(n)
    raise ValueError(name)


@pytest.mark.parametrize("fmt", ["wav", "mp3"])
@pytest.mark.parametrize(
    "name", ["tone", "chord-stereo-noise", "white-noise", "chirp", "clicks", "silence"]
)
def test_generated_signals_match_librosa(tmp_path, name, fmt):
    assert_same_vector(write_wav(tmp_path / f"{name}.{fmt}", _generated(name), sr=SR))


@pytest.mark.parametrize("piece", TEST_PIECES)
def test_real_music_matches_librosa(music_dir, piece):
    assert_same_vector(music_dir / (piece.replace("/", "_") + ".mp3"))


def test_long_file_window_matches_librosa_with_offset(tmp_path, music_dir):
    # 70 s: the window starts at 20 s, which librosa.load(offset=20, duration=30) reads.
    y, sr = sf.read(music_dir / "bach_bwv1.6.mp3", dtype="float32")
    long = np.concatenate([y, y[::-1], y[: 10 * sr]])
    assert_same_vector(write_wav(tmp_path / "long.flac", long, sr=sr))


def test_resampled_rates_match_librosa(tmp_path):
    for sr in (8000, 16000, 48000):
        t = np.arange(10 * sr) / sr
        y = 0.3 * np.sin(2 * np.pi * 300 * t) + 0.2 * np.sin(2 * np.pi * 1250 * t)
        assert_same_vector(write_wav(tmp_path / f"r{sr}.wav", y, sr=sr))
