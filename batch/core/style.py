"""The learned style embedding: 200 numbers from a pretrained music tagger, beside the 245.

The model is musicnn's ``MSD_musicnn`` (Pons and Serra, 2019; ISC licence), a
convolutional network trained to predict the 50 most used Last.fm tags of the Million
Song Dataset. Its 200-unit penultimate layer describes a 3 s patch of log-mel
spectrogram; the embedding of a clip is the mean over its patches, scaled to unit
length. ``infra/models/convert_musicnn.py`` converted the PyPI wheel's checkpoint to ONNX
once; :data:`MODEL` is that file, run here with ``onnxruntime`` (no TensorFlow).

The input follows musicnn's own front end: mono at 16 kHz, an STFT of 512 with hop 256
(centred, zero padding), the power through 96 Slaney mel bands, then
``log10(10000 x + 1)`` in float32 (musicnn's extractor rounds to float16 first, which
overflows on loud music); patches of 187 frames (3 s) without overlap.
A 30 s clip gives 10 patches.

The computation runs on one thread, as the 245-number vector does, so an executor's
cores each run one clip.
"""

from __future__ import annotations

import functools
import pkgutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from batch.core import tempo_key
from batch.core.audio import AudioError

MODEL = Path(__file__).parent / "data" / "musicnn_msd.onnx"
"""MSD_musicnn as ONNX (3.2 MB); its licence is beside it in ``musicnn_LICENSE.md``."""
N_DIMS = 200
SR = 16000
N_FFT, HOP, N_MELS = 512, 256, 96
PATCH = 187
"""Frames per patch: 3 s, what the model was trained on."""
MAX_PATCHES = 10
"""A clip longer than 30 s is described by 10 patches spread over it."""


@dataclass(frozen=True)
class Style:
    """What the style model and the tempo and key estimators say about a clip."""

    embedding: np.ndarray  # N_DIMS float32, unit length
    bpm: float
    tonic: int  # 0-11 from C
    mode: str  # 'major' or 'minor'
    key_confidence: float  # 0-1


def describe(y: np.ndarray, sr: int, vector: np.ndarray) -> Style:
    """The :class:`Style` of mono ``y`` at ``sr`` Hz, whose 245-number vector is ``vector``.

    Raises :class:`batch.core.audio.AudioError` if ``y`` is shorter than one patch (3 s).
    """
    from batch.core.features import FEATURE_NAMES

    rep = log_mel(y, sr)
    chroma = vector[FEATURE_NAMES.index("chroma_mean_01"):][:12]
    tonic, mode, confidence = tempo_key.key(chroma)
    return Style(embedding(rep), tempo_key.tempo(rep, frame_rate=SR / HOP), tonic, mode, confidence)


def embedding(rep: np.ndarray, session=None) -> np.ndarray:
    """The unit-length style embedding (:data:`N_DIMS` float32) of a :func:`log_mel` ``rep``;
    ``session`` runs another converted model (the benchmark compares them)."""
    patches = log_mel_patches(rep)
    penultimate = (session or _session()).run(None, {"log_mel:0": patches})[0]
    mean = penultimate.reshape(len(patches), -1).mean(axis=0, dtype=np.float64)
    norm = np.linalg.norm(mean)
    return (mean / norm if norm > 0 else mean).astype(np.float32)


def log_mel(y: np.ndarray, sr: int) -> np.ndarray:
    """musicnn's input representation of mono ``y``: (frames, 96) float32 at 16 kHz."""
    import scipy.fft
    import soxr

    y16 = soxr.resample(np.asarray(y, np.float32), sr, SR, quality="HQ") if sr != SR else y
    padded = np.pad(np.asarray(y16, np.float32), N_FFT // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    spectrum = scipy.fft.rfft(frames * _WINDOW, axis=1, workers=1)
    mel = (spectrum.real ** 2 + spectrum.imag ** 2) @ _mel_basis().T
    return np.log10(10000 * mel + 1, dtype=np.float32)


def log_mel_patches(rep: np.ndarray) -> np.ndarray:
    """Up to :data:`MAX_PATCHES` non-overlapping 3 s patches of ``rep``, evenly spread."""
    count = rep.shape[0] // PATCH
    if count == 0:
        raise AudioError(f"too short for the style model: {(rep.shape[0] - 1) * HOP / SR:.2f} s; "
                         f"it needs {PATCH * HOP / SR:.0f} s")
    starts = np.linspace(0, count - 1, min(count, MAX_PATCHES)).round().astype(int) * PATCH
    return np.stack([rep[s:s + PATCH] for s in starts])


_WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)
"""Periodic Hann, as librosa's default."""


@functools.cache
def _mel_basis() -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=SR, n_fft=N_FFT, n_mels=N_MELS).astype(np.float32)


@functools.cache
def _session():
    # Read through the package's loader: on a cluster, executors import the code from a zip.
    return session(pkgutil.get_data("batch.core", f"data/{MODEL.name}"))


def session(model: str | Path | bytes):
    """An onnxruntime session of a converted model (a path, or the file's bytes), on one thread."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    source = model if isinstance(model, bytes) else str(model)
    return onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])
