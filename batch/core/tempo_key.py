"""A song's tempo (beats per minute) and key (tonic, major or minor, and a confidence).

Tempo: the onset strength of the style model's log-mel spectrogram
(:func:`batch.core.style.log_mel`, 62.5 frames/s) is the mean rise of each band from one
frame to the next; ``librosa.feature.tempo`` picks the strongest periodicity of that
envelope, weighted towards 120 BPM (a log-normal prior one octave wide). Like every
tempo estimator it can be off by a factor of two, which is why search counts half and
double tempo as a match (:func:`bpm_matches`).

Key: the 12 mean chroma values of the 245-number vector (C, C#, ..., B) are correlated
with the Krumhansl-Kessler major and minor profiles in all 12 rotations; the best of
the 24 is the key, and its correlation (0 to 1) is the confidence. Music without a
tonal centre (noise, drums, speech) gets a low confidence.
"""

from __future__ import annotations

import numpy as np

PITCHES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
MIN_BPM, MAX_BPM = 30.0, 300.0
"""Tempos the estimator may answer, and the range search filters accept."""


def tempo(log_mel: np.ndarray, *, frame_rate: float) -> float:
    """Beats per minute of a (frames, bands) log-mel spectrogram with ``frame_rate`` frames/s."""
    import librosa

    rise = np.maximum(0.0, np.diff(log_mel, axis=0)).mean(axis=1)
    envelope = np.concatenate([[0.0], rise - rise.mean()]).clip(0)
    if not envelope.any():
        return 0.0
    # sr / hop_length is all librosa uses of these two: the envelope's frame rate.
    bpm = librosa.feature.tempo(onset_envelope=envelope, sr=frame_rate, hop_length=1,
                                max_tempo=MAX_BPM)[0]
    return float(bpm)


def key(chroma_mean: np.ndarray) -> tuple[int, str, float]:
    """(tonic 0-11 from C, 'major' or 'minor', confidence 0-1) of 12 mean chroma values."""
    chroma = np.asarray(chroma_mean, np.float64)
    if chroma.shape != (12,) or np.ptp(chroma) < 1e-9:
        return 0, "major", 0.0
    best = (-2.0, 0, "major")
    for mode, profile in (("major", MAJOR), ("minor", MINOR)):
        for tonic in range(12):
            r = np.corrcoef(chroma, np.roll(profile, tonic))[0, 1]
            best = max(best, (r, tonic, mode))
    r, tonic, mode = best
    return tonic, mode, float(max(0.0, r))


def key_name(tonic: int, mode: str) -> str:
    """'A minor', 'Eb major'."""
    return f"{PITCHES[tonic % 12]} {mode}"


def relative(tonic: int, mode: str) -> tuple[int, str]:
    """The relative key: A minor for C major, and C major for A minor."""
    return ((tonic + 9) % 12, "minor") if mode == "major" else ((tonic + 3) % 12, "major")


def bpm_matches(bpm: float, low: float, high: float) -> bool:
    """Whether ``bpm``, its half or its double falls in [low, high]."""
    return any(low <= bpm * f <= high for f in (1.0, 0.5, 2.0))
