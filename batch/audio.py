"""Decode an audio file into the clip that the feature vector describes.

Every caller, the Spark job and the web app alike, gets its samples here, so the
definition of "the clip" lives in one place:

1. Decode mp3, wav, ogg or flac with libsndfile (through ``soundfile``) to float32; what
   libsndfile cannot read (m4a and aac, as TikTok and scrapers save sounds) is decoded
   with FFmpeg's libraries (through PyAV).
2. Refuse empty, undecodable, truncated and too-short input with :class:`AudioError`.
3. For files longer than :data:`CLIP_SECONDS`, keep the middle window, starting at
   ``duration / 2 - 15 s`` (the FMA convention), counted in source samples.
4. Mix down to mono by averaging the channels.
5. Resample to :data:`SR` with soxr's high-quality mode, then fix the length to
   ``ceil(n * SR / sr_native)`` samples.

Steps 3 to 5 are what ``librosa.load(path, sr=22050, offset=start, duration=30)``
does, which is what the fidelity tests compare against.
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass

import numpy as np
import soundfile as sf
import soxr

SR = 22050
"""Sample rate of every clip, in Hz."""
CLIP_SECONDS = 30.0
"""Longest window kept; longer files keep their middle 30 s."""
MIN_SECONDS = 2.0
"""Shortest source accepted."""
TRUNCATED_FRACTION = 0.9
"""A file that decodes to less than this share of the length its header declares is truncated."""


class AudioError(ValueError):
    """The input is empty, undecodable, truncated or too short to describe.

    The message says which, in words a user can act on.
    """


@dataclass(frozen=True)
class Clip:
    """Mono samples at :data:`SR`, and where they came from in the source.

    Attributes
    ----------
    y : np.ndarray [shape=(n,), dtype=float32]
        The window, mono, resampled to ``sr``.
    sr : int
        Sample rate of ``y`` in Hz (always :data:`SR`).
    duration : float
        Length of the whole source in seconds.
    start : float
        Where the window starts in the source, in seconds.
    """

    y: np.ndarray
    sr: int
    duration: float
    start: float

    @property
    def end(self) -> float:
        """Where the window ends in the source, in seconds."""
        return min(self.duration, self.start + CLIP_SECONDS)


def read_source(source: str | os.PathLike | bytes) -> bytes:
    """Return the bytes of ``source``: a path is read, bytes are passed through."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    with open(source, "rb") as f:
        return f.read()


def load_clip(source: str | os.PathLike | bytes) -> Clip:
    """Decode ``source`` (a path or the raw bytes of a file) into a :class:`Clip`.

    Raises
    ------
    AudioError
        If the input is empty, cannot be decoded, is truncated, or is shorter
        than :data:`MIN_SECONDS`.
    FileNotFoundError
        If ``source`` is a path that does not exist.
    """
    data = read_source(source)
    if not data:
        raise AudioError("empty input: the file has 0 bytes")
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            sr_native = f.samplerate
            declared = f.frames
            y = f.read(dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError, EOFError) as e:
        reason = str(e).rsplit(": ", 1)[-1].rstrip(".")  # drop libsndfile's "<BytesIO ...>"
        decoded = _decode_aac(data)
        if decoded is None:
            raise AudioError(
                f"undecodable audio: not a readable mp3, wav, ogg, flac, m4a or aac stream ({reason})"
            ) from None
        y, sr_native, declared = decoded

    n = y.shape[0]
    duration = n / sr_native
    if n == 0 or duration < MIN_SECONDS:
        raise AudioError(
            f"too short: {duration:.2f} s of audio; the minimum is {MIN_SECONDS:g} s"
        )
    if 0 < declared and n < TRUNCATED_FRACTION * declared:
        raise AudioError(
            f"truncated: decoded {duration:.2f} s of the {declared / sr_native:.2f} s "
            "that the file's header declares"
        )

    window = int(CLIP_SECONDS * sr_native)
    start = 0
    if n > window:
        start = (n - window) // 2
        y = y[start : start + window]

    if y.shape[1] == 1:
        mono = y[:, 0]
    elif y.shape[1] == 2:
        # Bit-identical to librosa.to_mono's mean over two channels, ~10x faster.
        mono = (y[:, 0] + y[:, 1]) * 0.5
    else:
        mono = y.mean(axis=1, dtype=np.float32)

    return Clip(
        y=resample(mono, sr_native=sr_native),
        sr=SR,
        duration=duration,
        start=start / sr_native,
    )


def _decode_aac(data: bytes):
    """(samples (n, channels) float32, rate, 0) of an m4a or aac stream, or None for anything else."""
    import av

    if not (data[4:8] == b"ftyp" or (data[:1] == b"\xff" and data[1] & 0xF6 == 0xF0)):
        return None  # only the containers libsndfile lacks; everything else stays its refusal
    try:
        with av.open(io.BytesIO(data)) as container:
            stream = next((s for s in container.streams if s.type == "audio"), None)
            if stream is None:
                return None
            resampler = av.AudioResampler(format="fltp")
            chunks = []
            for frame in container.decode(stream):
                for planar in resampler.resample(frame):
                    chunks.append(planar.to_ndarray())
            rate = stream.rate or stream.codec_context.sample_rate
    except (av.error.FFmpegError, ValueError, IndexError):
        return None
    if not chunks or not rate:
        return None
    return np.ascontiguousarray(np.concatenate(chunks, axis=1).T, dtype=np.float32), int(rate), 0


def resample(y: np.ndarray, *, sr_native: int) -> np.ndarray:
    """Resample mono ``y`` from ``sr_native`` to :data:`SR` as ``librosa.resample`` does.

    Uses soxr's high-quality mode, then pads or trims to ``ceil(n * SR / sr_native)``.
    """
    if sr_native == SR:
        return np.ascontiguousarray(y, dtype=np.float32)
    n_out = int(math.ceil(y.shape[0] * float(SR) / sr_native))
    y_hat = soxr.resample(y, sr_native, SR, quality="soxr_hq")
    if y_hat.shape[0] > n_out:
        y_hat = y_hat[:n_out]
    elif y_hat.shape[0] < n_out:
        y_hat = np.pad(y_hat, (0, n_out - y_hat.shape[0]))
    return np.ascontiguousarray(y_hat, dtype=np.float32)
