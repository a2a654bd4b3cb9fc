"""Decode an audio file into the clip that the feature vector describes.

Every caller, the Spark job and the web app alike, gets its samples here, so the
definition of "the clip" lives in one place:

1. Decode mp3, wav, ogg or flac with libsndfile (through ``soundfile``) to float32; what
   libsndfile cannot read (m4a and aac, as TikTok and scrapers save sounds) is decoded
   with FFmpeg's libraries (through PyAV).
2. Refuse empty, undecodable, truncated, too-short and too-long (over
   :data:`MAX_SECONDS`) input with :class:`AudioError`.
3. For files longer than :data:`CLIP_SECONDS`, keep the middle window, starting at
   ``duration / 2 - 15 s`` (the FMA convention), counted in source samples. Only the
   window is decoded: memory is bounded by the window, not the source.
4. Mix down to mono by averaging the channels.
5. Resample to :data:`SR` with soxr's high-quality mode, then fix the length to
   ``ceil(n * SR / sr_native)`` samples.

Steps 3 to 5 are what ``librosa.load(path, sr=22050, offset=start, duration=30)``
does, which is what the fidelity tests compare against.

Listening (the landmark fingerprints of :mod:`batch.core.fingerprint`) hears more than the
window: :class:`Blocks` gives the source's first :data:`LISTEN_SECONDS`, decoded, mixed
down and resampled block by block, so memory stays one block whatever the length, and
the samples equal those of one whole decode resampled at once.

The window and the blocks stay in one module because they share the decoders, the
header checks and the resampling that make their samples equal a whole decode's.
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
MAX_SECONDS = 3600.0
"""Longest source accepted (one hour); a longer one is refused before it is decoded."""
PREROLL_SECONDS = 1.0
"""Decoded and dropped before the window, so that a seek gives a full decode's samples."""
BLOCK_FRAMES = 65536
"""Frames per block when a source without a trustworthy length is decoded in blocks."""
LISTEN_SECONDS = 600.0
"""Longest part of a source that is listened to (fingerprinted): its first 10 minutes.
Songs run 3 to 5 minutes and TikTok sounds up to a few; a longer file (a DJ mix, an
album in one file) is heard up to here, and the page says so. 10 minutes is 25,840
frames of 23.2 ms, inside the 16-bit frame numbers the fingerprints are stored with."""
SILENCE_DBFS = -60.0
"""A window quieter than this (RMS in dB below full scale) holds no music to compare:
quiet recorded music sits around -40 to -20 dBFS, a mute or hissing file below -60."""


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
    heard: float = 0.0
    """Seconds of the source that were listened to (:func:`batch.core.fingerprint.analyse`)."""
    note: str | None = None
    """Why listening stopped before the end of the source, in words for the user."""

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

    Only the window is decoded when the file's header gives its length: the decoder
    seeks to :data:`PREROLL_SECONDS` before the window (so an mp3's bit reservoir is
    filled and the samples equal a full decode's) and reads the window. Without a
    length it can trust, it decodes in blocks, twice: once to count, once to keep the
    window. Memory stays about one window whatever the source's length.

    Raises
    ------
    AudioError
        If the input is empty, cannot be decoded, is truncated, is shorter than
        :data:`MIN_SECONDS` or longer than :data:`MAX_SECONDS`.
    FileNotFoundError
        If ``source`` is a path that does not exist.
    """
    data = read_source(source)
    if not data:
        raise AudioError("empty input: the file has 0 bytes")
    try:
        y, sr_native, n, start = _sndfile_window(data)
    except (sf.SoundFileError, RuntimeError, EOFError) as e:
        reason = str(e).rsplit(": ", 1)[-1].rstrip(".")  # drop libsndfile's "<BytesIO ...>"
        found = _av_window(data)
        if found is None:
            raise AudioError(
                f"undecodable audio: not a readable mp3, wav, ogg, flac, m4a or aac stream ({reason})"
            ) from None
        y, sr_native, n, start = found

    return Clip(
        y=resample(_mono(y), sr_native=sr_native),
        sr=SR,
        duration=n / sr_native,
        start=start / sr_native,
    )


def _window(n: int, sr_native: int, declared: int = 0) -> tuple[int, int]:
    """(start, length) of the window of a source of ``n`` frames; refuses unusable lengths."""
    duration = n / sr_native
    if n == 0 or duration < MIN_SECONDS:
        raise AudioError(f"too short: {duration:.2f} s of audio; the minimum is {MIN_SECONDS:g} s")
    if duration > MAX_SECONDS:
        raise AudioError(_too_long(duration))
    if 0 < declared and n < TRUNCATED_FRACTION * declared:
        raise AudioError(
            f"truncated: decoded {duration:.2f} s of the {declared / sr_native:.2f} s "
            "that the file's header declares"
        )
    window = int(CLIP_SECONDS * sr_native)
    start = (n - window) // 2 if n > window else 0
    return start, min(n, window)


def _too_long(seconds: float) -> str:
    return (f"too long: {seconds / 60:.0f} minutes of audio; the limit is {MAX_SECONDS / 60:.0f} "
            "minutes (cut the part you want to compare)")


def _sndfile_window(data: bytes) -> tuple[np.ndarray, int, int, int]:
    """(window (frames, channels) float32, rate, source frames, window start) via libsndfile."""
    with sf.SoundFile(io.BytesIO(data)) as f:
        sr_native, declared = f.samplerate, f.frames
        if declared > MAX_SECONDS * sr_native:
            raise AudioError(_too_long(declared / sr_native))
        if 0 < declared:
            start, length = _window(declared, sr_native)
            ahead = min(start, int(PREROLL_SECONDS * sr_native))
            f.seek(start - ahead)
            y = f.read(ahead + length, dtype="float32", always_2d=True)[ahead:]
            if y.shape[0] == length:
                return y, sr_native, declared, start
    # The header promised more than the file holds, or gave no length: count, then cut.
    n = _count(_sndfile_blocks(data), sr_native)
    start, length = _window(n, sr_native, declared)
    return _cut(_sndfile_blocks(data), start, length), sr_native, n, start


def _sndfile_blocks(data: bytes | str):
    with sf.SoundFile(io.BytesIO(data) if isinstance(data, bytes) else data) as f:  # not f.blocks(), which trusts the header's length
        while (block := f.read(BLOCK_FRAMES, dtype="float32", always_2d=True)).shape[0]:
            yield block


def _av_window(data: bytes) -> tuple[np.ndarray, int, int, int] | None:
    """The same as :func:`_sndfile_window` for m4a and aac (FFmpeg, through PyAV); None for
    anything else. Their headers' lengths are not trusted, so they are always counted first."""
    import av

    rate = _av_rate(data)  # only the containers libsndfile lacks; everything else stays its refusal
    if not rate:
        return None
    try:
        n = _count(_av_blocks(data), rate)
        if n == 0:
            return None
        start, length = _window(n, rate)
        return _cut(_av_blocks(data), start, length), int(rate), n, start
    except AudioError:
        raise
    except (av.error.FFmpegError, ValueError, IndexError):
        return None


def _av_blocks(data: bytes | str | os.PathLike):
    import av

    with av.open(io.BytesIO(data) if isinstance(data, bytes) else str(data)) as container:
        stream = next(s for s in container.streams if s.type == "audio")
        resampler = av.AudioResampler(format="fltp")
        for frame in container.decode(stream):
            for planar in resampler.resample(frame):
                yield planar.to_ndarray().T


def _count(blocks, sr_native: int) -> int:
    """Frames in ``blocks``, stopping as soon as they pass :data:`MAX_SECONDS`."""
    n = 0
    for block in blocks:
        n += block.shape[0]
        if n > MAX_SECONDS * sr_native:
            raise AudioError(_too_long(n / sr_native) + "; it has no length in its header")
    return n


def _cut(blocks, start: int, length: int) -> np.ndarray:
    """Frames ``start`` to ``start + length`` of ``blocks``, keeping only those."""
    kept, at = [], 0
    for block in blocks:
        lo, hi = max(start - at, 0), min(start + length - at, block.shape[0])
        if lo < hi:
            kept.append(block[lo:hi])
        at += block.shape[0]
        if at >= start + length:
            break
    return np.ascontiguousarray(np.concatenate(kept), dtype=np.float32)


class Blocks:
    """Mono blocks at :data:`SR` of a source's first ``limit`` seconds, for listening.

    Iterating decodes ``source`` (a path, read from disk as it goes, or a file's bytes)
    one block at a time, mixes each down as :func:`load_clip` does and resamples it with
    one soxr stream, which gives the same samples as resampling the whole at once. After
    the iteration, :attr:`heard` is the seconds given, :attr:`cut` says the source went on
    past ``limit``, and :attr:`broken` holds the decoder's complaint when a corrupt block
    ended the listening early: what came before it is kept. A source that fails on its
    first block raises :class:`AudioError`, as :func:`load_clip` would.
    """

    def __init__(self, source: str | os.PathLike | bytes, *, limit: float = LISTEN_SECONDS):
        self.source, self.limit = source, limit
        self.heard, self.cut, self.broken = 0.0, False, None

    def __iter__(self):
        raw, sr_native = self._decoded()
        raw = _ahead(raw)
        wanted = int(self.limit * SR)
        stream = None if sr_native == SR else soxr.ResampleStream(
            sr_native, SR, 1, dtype="float32", quality="soxr_hq")
        given = taken = 0  # output samples given, source frames read
        while True:
            try:
                block = next(raw, None)
            except (sf.SoundFileError, RuntimeError, EOFError, ValueError) as e:
                if not taken:
                    raise AudioError(f"undecodable audio: {e}") from None
                self.broken = str(e).rsplit(": ", 1)[-1].rstrip(".")
                block = None
            last = block is None or taken + block.shape[0] >= self.limit * sr_native + sr_native
            if block is not None:
                taken += block.shape[0]
                mono = _mono(block)
            else:
                mono = np.zeros(0, np.float32)
            y = mono if stream is None else stream.resample_chunk(mono, last=last)
            if last and block is None and stream is not None:
                # soxr's stream ends where a one-shot resample of the whole would; fix the
                # length to ceil(n * SR / sr_native) as :func:`resample` does.
                y = np.pad(y, (0, max(0, int(math.ceil(taken * SR / sr_native)) - given - y.shape[0])))
                y = y[: max(0, int(math.ceil(taken * SR / sr_native)) - given)]
            if given + y.shape[0] > wanted:
                y, self.cut = y[: wanted - given], True
            if y.shape[0]:
                given += y.shape[0]
                self.heard = given / SR
                yield np.ascontiguousarray(y, dtype=np.float32)
            if block is None or given >= wanted:
                self.cut = self.cut or (block is not None and _more(raw))
                return

    def _decoded(self):
        """(blocks of (frames, channels) float32, native rate) from libsndfile, else PyAV."""
        source = self.source
        opened = io.BytesIO(bytes(source)) if isinstance(source, (bytes, bytearray, memoryview)) \
            else os.fspath(source)
        try:
            with sf.SoundFile(opened) as f:
                rate = f.samplerate
            return _sndfile_blocks(opened if isinstance(opened, str) else bytes(source)), rate
        except (sf.SoundFileError, RuntimeError) as e:
            found = _av_rate(source)
            if found is None:
                raise AudioError(f"undecodable audio: {e}") from None
            return _av_blocks(source), found

    def note(self) -> str | None:
        """Why listening stopped before the source's end, in words a user can act on."""
        if self.broken:
            return (f"the file is damaged {clock(self.heard)} in ({self.broken}): we listened up to there")
        if self.cut:
            return f"we listened to the first {clock(self.limit)}, the longest we listen to"
        return None


AHEAD = 4
"""Blocks decoded ahead of their use, by a thread of their own (at most 4 blocks of memory)."""


def _ahead(blocks):
    """``blocks``, decoded in a thread while the caller works on the last ones.

    libsndfile and FFmpeg let go of Python's lock while they decode, so on a machine with
    a core to spare a long upload's decoding overlaps its transform and peak picking.
    The decoder's exceptions come out where the block they stopped would have.
    """
    import queue
    import threading

    handoff: queue.Queue = queue.Queue(AHEAD)
    stop = threading.Event()
    done = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def decode():
        try:
            for block in blocks:
                if not put(block):
                    return
            put(done)
        except Exception as e:  # handed to the caller, who decides what a damaged block means
            put(e)
        finally:
            blocks.close()

    worker = threading.Thread(target=decode, name="decode-ahead", daemon=True)
    worker.start()
    try:
        while (item := handoff.get()) is not done:
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def _more(blocks) -> bool:
    """True when ``blocks`` has another block (a damaged one counts)."""
    try:
        return next(blocks, None) is not None
    except (sf.SoundFileError, RuntimeError, EOFError, ValueError):
        return True


def clock(seconds: float) -> str:
    """``seconds`` as m:ss (or h:mm:ss), to the nearest second."""
    whole = int(round(seconds))
    h, m, s = whole // 3600, whole // 60 % 60, whole % 60
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _mono(y: np.ndarray) -> np.ndarray:
    """(frames, channels) to mono by averaging the channels, as librosa.to_mono."""
    if y.shape[1] == 1:
        return np.ascontiguousarray(y[:, 0])
    if y.shape[1] == 2:
        # Bit-identical to librosa.to_mono's mean over two channels, ~10x faster.
        return (y[:, 0] + y[:, 1]) * 0.5
    return y.mean(axis=1, dtype=np.float32)


def _av_rate(source) -> int | None:
    """The sample rate of an m4a or aac source that PyAV can open; None for anything else."""
    import av

    head = bytes(source[:8]) if isinstance(source, (bytes, bytearray, memoryview)) else _head(source)
    if not (head[4:8] == b"ftyp" or (head[:1] == b"\xff" and head[1] & 0xF6 == 0xF0)):
        return None
    try:
        with av.open(io.BytesIO(bytes(source)) if isinstance(source, (bytes, bytearray, memoryview))
                     else os.fspath(source)) as container:
            stream = next((s for s in container.streams if s.type == "audio"), None)
            return int(stream.rate or stream.codec_context.sample_rate) if stream else None
    except (av.error.FFmpegError, ValueError, IndexError):
        return None


def _head(path) -> bytes:
    with open(path, "rb") as f:
        return f.read(8)


def loudness_dbfs(y: np.ndarray) -> float:
    """The RMS level of ``y`` in dB below full scale; -inf for digital silence."""
    rms = float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))) if len(y) else 0.0
    return 20 * np.log10(rms) if rms > 0 else float("-inf")


def is_silent(y: np.ndarray) -> bool:
    """True when ``y`` is silence or near-silence (:data:`SILENCE_DBFS`)."""
    return loudness_dbfs(y) < SILENCE_DBFS


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
