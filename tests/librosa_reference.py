"""The vector's definition written the plain librosa way: the yardstick for fidelity and speed.

This is "the usual recipe": ``librosa.load`` at its defaults, each feature function
called on the waveform (so the STFT is computed four times), and ``scipy.stats`` for
the statistics. It follows the definition in :mod:`batch.core.features` literally, with
no shortcuts, so that the fast implementation can be checked against it.
"""

from __future__ import annotations

import warnings

import librosa
import numpy as np
import scipy.stats
import soundfile as sf

from batch.core.features import STATISTICS

CLIP_SECONDS = 30.0


def reference_vector(path) -> np.ndarray:
    """The 245-number vector of the file at ``path``, computed with plain librosa."""
    offset = 0.0
    info = sf.info(path)
    n, sr_native = info.frames, info.samplerate
    if n > CLIP_SECONDS * sr_native:
        offset = ((n - int(CLIP_SECONDS * sr_native)) // 2) / sr_native
    y, sr = librosa.load(path, sr=22050, offset=offset, duration=CLIP_SECONDS)
    return reference_from_waveform(y, sr)


def reference_from_waveform(y: np.ndarray, sr: int) -> np.ndarray:
    """The vector of mono ``y``, with each librosa feature computed from the waveform."""
    with warnings.catch_warnings():  # silence and constant rows warn; the definition handles them
        warnings.simplefilter("ignore")
        return _reference(y, sr)


def _reference(y: np.ndarray, sr: int) -> np.ndarray:
    rows = [
        librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20),
        librosa.feature.chroma_stft(y=y, sr=sr, n_chroma=12),
        librosa.feature.zero_crossing_rate(y, frame_length=2048, hop_length=512),
        librosa.feature.spectral_centroid(y=y, sr=sr),
        librosa.feature.spectral_rolloff(y=y, sr=sr, roll_percent=0.85),
    ]
    parts = []
    for feature in rows:
        x = feature.astype(np.float64)
        stats = {
            "mean": np.mean(x, axis=1),
            "std": np.std(x, axis=1),
            "skew": scipy.stats.skew(x, axis=1),
            "kurtosis": scipy.stats.kurtosis(x, axis=1),
            "median": np.median(x, axis=1),
            "min": np.min(x, axis=1),
            "max": np.max(x, axis=1),
        }
        # The definition: a constant row has skew and kurtosis 0 (scipy says NaN).
        parts.extend(np.nan_to_num(stats[name], nan=0.0) for name in STATISTICS)
    return np.concatenate(parts).astype(np.float32)
