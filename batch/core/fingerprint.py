"""Identify the recording inside a piece of audio: landmark fingerprints that survive TikTok's edits.

The 245-number vector describes a style; this module answers "which recording is
this?". Both the Spark executors (catalogue clips, TikTok sounds) and the web app
(uploads) call it, on the spectrogram the vector is computed from.

Peaks
    From the recording's magnitude STFT (:func:`batch.core.features.stft_magnitude`: 22,050 Hz,
    n_fft 2048, hop 512, so one frame is 23.2 ms), take the local maxima of the log
    magnitude between :data:`FMIN` and :data:`FMAX` over a neighbourhood of
    ±:data:`PEAK_FRAMES` frames and ±:data:`PEAK_BINS` bins. Each second is cut into
    :data:`PEAK_BANDS` bands of equal width in octaves, and each band keeps its
    :data:`QUERY_PEAKS_PER_BAND` strongest peaks, ranked; a recording is indexed with
    the :data:`PEAKS_PER_BAND` strongest only (:meth:`Peaks.reference`), a query uses
    them all, so a loud voice over the music leaves some of the music's peaks in the
    query. Each peak's frequency is refined by parabolic interpolation and kept as
    ``log2(Hz)``.

Landmarks
    Each peak is paired with every later peak at most :data:`DT_MAX` frames and less
    than :data:`DL_MAX` (at least :data:`DL_MIN`) octaves away. A pair hashes to (the
    anchor's log frequency in 1/:data:`F1_STEPS` octave, the interval to the target in
    1/:data:`DL_STEPS` octave, the frames between them), and is stored with the
    anchor's frame. A recording's pairs are a subset of a query's whenever its peaks
    are, because pairing depends on the zone, not on how many peaks lie in between.

Speed changes
    TikTok's sped-up and slowed edits resample: at speed ``s`` every frequency is
    multiplied by ``s`` and every time divided by it. An interval in octaves does not
    change, so only the anchor's frequency and the time gap move, and both move
    predictably. A query is therefore hashed once per candidate speed in
    :data:`SPEEDS` (0.78 to 1.32, 1/64 octave apart, so the true speed is never more
    than 0.55 % from one of them), with its peaks mapped back to the original's time
    and pitch. Catalogue songs are indexed once, at speed 1.

Voting
    Every query hash that hits the index votes for (song, speed, offset), where the
    offset is the song's frame minus the query's mapped frame, in bins of
    :data:`OFFSET_BIN` frames (a bin and its neighbour count together). A song is
    identified when its best cell holds at least :data:`MIN_HASHES` votes; the cell
    gives the speed and where in the song the query starts.

Stop words
    Music dwells on a few pitches and intervals, so some hashes are held by a great many
    songs. They say little about which song a query holds, yet a query's lookups of them
    return most of its hits, and their chance votes grow with the catalogue. A hash held
    by more than :data:`COMMON` times its even share of the index is left out of it
    (:func:`common`): on a 3,000-song catalogue that halves the index and the search time
    and changes no answer (tests/benchmarks/bench_identify.py).

Whole recordings
    A recording is heard whole, up to :data:`batch.core.audio.LISTEN_SECONDS`, decoded and
    transformed a block at a time (:func:`listen`), so a sound cut from anywhere in a
    song is found, with where it starts; the 245-number vector keeps its middle 30 s.

This module is long because it is one algorithm: the peaks, the landmark hash, the index
and the vote share their constants and units, and each step is checked against the
others (``tests/test_fingerprint.py``). Split, a change to one would silently break
another.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from batch.core.audio import SR, Blocks, Clip
from batch.core.features import HOP_LENGTH, N_FFT

FRAME_SECONDS = HOP_LENGTH / SR
"""Duration of one STFT frame, in seconds."""
FMIN, FMAX = 150.0, 5000.0
"""Peaks are taken between these frequencies, in Hz."""
PEAK_FRAMES, PEAK_BINS = 4, 8
"""Half-widths of the neighbourhood a peak is the maximum of."""
PEAK_BANDS, PEAKS_PER_BAND, QUERY_PEAKS_PER_BAND = 6, 2, 16
"""Bands (equal in octaves); peaks kept per band and second when indexing, and when querying.

A query keeps eight times as many: under a voice the music's peaks are rarely the
strongest, and every indexed pair whose two peaks survive is still among the query's."""
DYNAMIC_RANGE = math.log(10 ** (60 / 20))
"""Peaks more than 60 dB below the clip's loudest bin are ignored (natural-log units)."""
DT_MAX = 32
"""Longest gap between the peaks of a landmark, in frames (1.1 s)."""
DL_MAX = 0.75
"""Widest interval between the peaks of a landmark, in octaves."""
DL_MIN = 0.03
"""Narrowest interval; pairs on one held note say little about which recording it is."""
F1_STEPS, DL_STEPS = 24, 64
"""Quantisation of the anchor's log frequency and of the interval, per octave."""
LF_MIN = math.log2(FMIN) - 0.5
N_F1 = int((math.log2(FMAX) + 0.5 - LF_MIN) * F1_STEPS) + 1
N_DL = 2 * int(DL_MAX * DL_STEPS) + 1
SPEED_STEPS = 64
SPEEDS = tuple(2.0 ** (k / SPEED_STEPS) for k in range(-23, 27))
"""Candidate speeds of a query relative to the original: 0.78 to 1.32, 1/64 octave apart."""
OFFSET_BIN = 2
"""Width of the offset histogram's bins, in frames."""
MIN_HASHES = 12
"""Votes a song's best cell needs to count as identified (tests/benchmarks/bench_identify.py)."""
SCOUT_RANK, SCOUT_SPEEDS = 3, 2
"""Peaks per band and second that scout the speeds, and how many speeds the full query then tries."""
COMMON = 20
"""A hash held by more than this many times the landmarks an even spread over all hashes
would give it is a stop word, left out of the index (:func:`common`)."""
N_HASHES = N_F1 * N_DL * (DT_MAX + 1)
"""How many different hashes there are."""

SECOND_FRAMES = max(1, round(1.0 / FRAME_SECONDS))
"""Frames in the "second" that each band keeps its strongest peaks of (43, 0.998 s)."""
CHUNK_FRAMES = 30 * SECOND_FRAMES
"""Frames of spectrogram whose peaks are picked at once when a source is heard in blocks."""
STFT_FRAMES = 256
"""Frames transformed at once when a source is heard in blocks (6 s; the transform's
buffers for them are 5 MB)."""

_LO_BIN = int(math.ceil(FMIN * N_FFT / SR))
_HI_BIN = int(math.floor(FMAX * N_FFT / SR))


@dataclass(frozen=True)
class Peaks:
    """Spectral peaks of a clip, in time order.

    Attributes
    ----------
    t : np.ndarray [shape=(n,), dtype=int16]
        Frame of each peak (hop :data:`FRAME_SECONDS`).
    lf : np.ndarray [shape=(n,), dtype=float32]
        ``log2`` of each peak's frequency in Hz.
    """

    t: np.ndarray
    lf: np.ndarray
    rank: np.ndarray | None = None  # strength rank within its band and second

    @classmethod
    def of_arrays(cls, t, lf, rank=None) -> "Peaks":
        """Peaks from stored columns (lists or arrays), in this class's dtypes."""
        return cls(np.asarray(t, np.int16), np.asarray(lf, np.float32),
                   None if rank is None else np.asarray(rank, np.int8))

    def __len__(self) -> int:
        return int(self.t.shape[0])

    def reference(self) -> "Peaks":
        """The sparser set a recording is indexed with: the :data:`PEAKS_PER_BAND` strongest."""
        return self.strongest(PEAKS_PER_BAND)

    def strongest(self, per_band: int) -> "Peaks":
        """The ``per_band`` strongest peaks of each band and second (all, without ranks)."""
        if self.rank is None:
            return self
        keep = self.rank < per_band
        return Peaks(self.t[keep], self.lf[keep], self.rank[keep])


@dataclass(frozen=True)
class Identification:
    """A recording found inside a query."""

    item: object  # the id the index was built with: a track id, a sound id
    hashes: int  # votes in the best (speed, offset) cell
    speed: float  # how much faster the query plays than the original
    offset: float  # where in the original the query starts, in seconds; below 0 when the
    # original starts inside the query (a sound heard inside a whole song: it starts -offset / speed in)


def analyse(source) -> tuple[np.ndarray, Peaks, Clip]:
    """The 245-number vector of a source's window and the peaks of all that is listened to.

    ``source`` is a path or the file's bytes, as for :func:`batch.core.features.vectorize`.
    The vector describes the middle 30 s (:func:`batch.core.audio.load_clip`); the peaks come
    from the source's first :data:`batch.core.audio.LISTEN_SECONDS`, decoded a block at a time
    (:func:`listen`). A source no longer than its window is decoded and transformed once,
    for both. The clip's ``heard`` and ``note`` say how much was listened to, and why not
    all of it. Raises :class:`batch.core.audio.AudioError` for unusable audio.
    """
    from batch.core.audio import load_clip
    from batch.core.features import feature_frames, stft_magnitude, summarize

    clip = load_clip(source)
    S = stft_magnitude(clip.y, sr=clip.sr)
    vector = summarize(feature_frames(clip.y, sr=clip.sr, S=S))
    if clip.start == 0 and clip.end >= clip.duration:  # the window is the whole source
        return vector, spectral_peaks(S), dataclasses.replace(clip, heard=clip.y.shape[0] / clip.sr)
    del S  # the window's spectrogram is not needed while the whole is heard
    peaks, blocks = listen(source)
    return vector, peaks, dataclasses.replace(clip, heard=blocks.heard, note=blocks.note())


def listen(source, *, limit: float | None = None) -> tuple[Peaks, "Blocks"]:
    """The peaks of a source's first ``limit`` seconds (:data:`batch.core.audio.LISTEN_SECONDS`),
    and the :class:`batch.core.audio.Blocks` that were heard (how long, and why it stopped).

    Decoding, the STFT and the peak picking go a stretch at a time, so memory is about
    :data:`CHUNK_FRAMES` of spectrogram whatever the length; the peaks equal those of
    :func:`spectral_peaks` on the whole decode's spectrogram.
    """
    from batch.core.audio import LISTEN_SECONDS, Blocks

    blocks = Blocks(source, limit=LISTEN_SECONDS if limit is None else limit)
    return _pick(stft_chunks(blocks)), blocks


def stft_chunks(blocks, frames: int | None = None):
    """:func:`batch.core.features.stft_magnitude` of the concatenated mono ``blocks``, as
    consecutive runs of ``frames`` rows (the last run shorter), bit for bit."""
    from batch.core.features import stft_of_padded

    frames = frames or STFT_FRAMES
    half = N_FFT // 2
    pending = np.zeros(half, np.float32)  # the centre padding before the first sample
    n = given = 0  # samples read, frames yielded
    for block in blocks:
        n += block.shape[0]
        pending = np.concatenate([pending, block])
        while pending.shape[0] >= (frames - 1) * HOP_LENGTH + N_FFT:
            yield stft_of_padded(pending[: (frames - 1) * HOP_LENGTH + N_FFT])
            pending, given = pending[frames * HOP_LENGTH:], given + frames
    if n == 0:
        return
    # The whole signal has 1 + n // hop frames; those left lean on the end's padding.
    pending = np.concatenate([pending, np.zeros(half, np.float32)])
    left = 1 + n // HOP_LENGTH - given
    for first in range(0, left, frames):
        count = min(frames, left - first)
        yield stft_of_padded(pending[first * HOP_LENGTH: (first + count - 1) * HOP_LENGTH + N_FFT])


def spectral_peaks(S: np.ndarray, *, per_band: int = QUERY_PEAKS_PER_BAND) -> Peaks:
    """The landmark peaks of a magnitude spectrogram, ``per_band`` per band and second.

    Parameters
    ----------
    S : np.ndarray [shape=(t, 1 + n_fft/2)]
        :func:`batch.core.features.stft_magnitude` of a clip at 22,050 Hz.
    """
    return _pick([S], per_band)


def _pick(spectra, per_band: int = QUERY_PEAKS_PER_BAND) -> Peaks:
    """Peaks of consecutive runs of spectrogram rows, picked :data:`CHUNK_FRAMES` at a time.

    A peak is the maximum of its neighbourhood and at most :data:`DYNAMIC_RANGE` below the
    loudest bin of the whole; each band keeps the ``per_band`` strongest of each second.
    Each stretch is picked with :data:`PEAK_FRAMES` rows of context on either side, and
    stretches begin on whole seconds, so the result does not depend on how the rows came.
    The floor is applied at the end, once the loudest bin is known: keeping the
    strongest of a second and then dropping what is below the floor keeps what the
    other order would, with the same ranks.
    """
    found, loudest = [], np.float32(-np.inf)
    rows, first = np.zeros((0, _HI_BIN - _LO_BIN + 3), np.float32), 0  # rows[0] is frame `first`
    start = 0  # the next stretch to pick
    for S in spectra:
        rows = np.concatenate([rows, np.log(S[:, _LO_BIN - 1: _HI_BIN + 2].astype(np.float32) + 1e-6)])
        while first + rows.shape[0] >= start + CHUNK_FRAMES + PEAK_FRAMES:
            loudest = max(loudest, _stretch(rows, first, start, start + CHUNK_FRAMES, per_band, found))
            start += CHUNK_FRAMES
            drop = start - PEAK_FRAMES - first
            rows, first = rows[drop:], first + drop
    while start < first + rows.shape[0]:
        loudest = max(loudest, _stretch(rows, first, start, start + CHUNK_FRAMES, per_band, found))
        start += CHUNK_FRAMES
    if not found:
        return Peaks(np.zeros(0, np.int16), np.zeros(0, np.float32), np.zeros(0, np.int8))
    t, lf, rank, strength = (np.concatenate(parts) for parts in zip(*found))
    keep = strength > loudest - DYNAMIC_RANGE
    t, lf, rank = t[keep], lf[keep], rank[keep]
    order = np.lexsort((lf, t))
    return Peaks(t[order].astype(np.int16), lf[order], rank[order].astype(np.int8))


def _window_max(x: np.ndarray, half: int, axis: int) -> np.ndarray:
    """The maximum of ``x`` over ``±half`` along ``axis``, -inf beyond its edges: what
    ``scipy.ndimage.maximum_filter1d(x, 2 * half + 1, axis, mode="constant", cval=-inf)``
    gives, in a handful of whole-array maxima (doubling the width each time) instead of
    one pass per element, 6x faster here."""
    width = 2 * half + 1
    pad = [(0, 0), (0, 0)]
    pad[axis] = (half, half)
    m = np.pad(x, pad, constant_values=-np.inf)
    n = x.shape[axis]
    take = lambda a, lo, count: a[lo:lo + count] if axis == 0 else a[:, lo:lo + count]  # noqa: E731
    span = 1  # m[i] is the maximum of the padded x over [i, i + span)
    while 2 * span <= width:
        count = m.shape[axis] - span
        m = np.maximum(take(m, 0, count), take(m, span, count))
        span *= 2
    if span < width:  # the rest of the window: one more maximum, overlapping
        count = m.shape[axis] - (width - span)
        m = np.maximum(take(m, 0, count), take(m, width - span, count))
    return np.ascontiguousarray(take(m, 0, n))


def _stretch(rows, first, lo, hi, per_band, found) -> np.float32:
    """Append the candidate peaks of frames ``lo`` to ``hi`` (of the rows from frame
    ``first``) to ``found``, as (frame, log2 Hz, rank, strength); return their loudest bin."""
    top = min(hi + PEAK_FRAMES, first + rows.shape[0])
    band = rows[max(lo - PEAK_FRAMES, first) - first: top - first]
    ahead = lo - max(lo - PEAK_FRAMES, first)  # context rows before frame lo
    core = band[:, 1:-1]
    if core.size == 0:
        return np.float32(-np.inf)
    neighbourhood = _window_max(_window_max(core, PEAK_FRAMES, axis=0), PEAK_BINS, axis=1)
    inside = slice(ahead, ahead + min(hi, top) - lo)
    t, k = np.nonzero(core[inside] == neighbourhood[inside])
    strength = core[inside][t, k]
    loudest = core[inside].max() if core[inside].size else np.float32(-np.inf)

    # The strongest of each second in each band, so that a loud voice over the music
    # cannot take every peak of a second.
    second = (t + lo) // SECOND_FRAMES
    band_of = np.minimum(PEAK_BANDS - 1, (np.log2((_LO_BIN + k) / _LO_BIN) /
                                          math.log2(_HI_BIN / _LO_BIN) * PEAK_BANDS).astype(np.int64))
    second = second * PEAK_BANDS + band_of
    order = np.lexsort((-strength, second))
    second_sorted = second[order]
    rank = np.arange(order.size) - np.searchsorted(second_sorted, second_sorted, side="left")
    keep = np.sort(order[rank < per_band])
    t, k, rank, strength = t[keep], k[keep], rank[np.argsort(order)][keep], strength[keep]

    below, here, above = (band[inside][t, k + i] for i in range(3))
    curvature = below - 2 * here + above
    shift = np.where(curvature < 0, 0.5 * (below - above) / np.where(curvature < 0, curvature, -1), 0.0)
    freq = (_LO_BIN + k + np.clip(shift, -0.5, 0.5)) * (SR / N_FFT)
    found.append((t + lo, np.log2(freq).astype(np.float32), rank, strength))
    return loudest


def landmarks(peaks: Peaks, speed: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the peak pairs, as the original would give them if ``peaks`` play ``speed`` times faster.

    Returns
    -------
    hashes : np.ndarray [shape=(m,), dtype=int32]
    times : np.ndarray [shape=(m,), dtype=float32]
        The anchor's frame, in the original's time.
    """
    hashes, times, _ = _hash(_pairs(peaks, DT_MAX / speed), (speed,))
    return hashes, times


def _pairs(peaks: Peaks, longest: float) -> tuple[np.ndarray, ...]:
    """Every (anchor, target) pair less than ``longest`` frames and DL_MAX octaves apart,
    at least DL_MIN octaves apart: anchor frame, anchor log frequency, gap, interval."""
    t, lf = peaks.t.astype(np.float32), peaks.lf
    anchors, gaps, intervals = [], [], []
    n = t.shape[0]
    for j in range(1, n):
        dt = t[j:] - t[:-j]
        if dt.min() > longest + 0.5:
            break
        dl = lf[j:] - lf[:-j]
        ok = (dt >= 1) & (dt <= longest + 0.5) & (np.abs(dl) < DL_MAX) & (np.abs(dl) >= DL_MIN)
        anchors.append(np.flatnonzero(ok))
        gaps.append(dt[ok])
        intervals.append(dl[ok])
    if not anchors:
        empty = np.zeros(0, np.float32)
        return empty, empty, empty, empty
    first = np.concatenate(anchors)
    return t[first], lf[first], np.concatenate(gaps), np.concatenate(intervals)


def _hash(pairs, speeds) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs' hashes at each speed (peaks mapped back to the original's pitch and time):
    hashes, anchor frames in the original's time, and the index of the speed."""
    t1, lf1, dt, dl = pairs
    s = np.asarray(speeds, np.float32)[None, :]
    gap = np.rint(dt[:, None] * s)
    f1 = np.floor((lf1[:, None] - np.log2(s) - np.float32(LF_MIN)) * F1_STEPS)
    ok = (gap >= 1) & (gap <= DT_MAX) & (f1 >= 0) & (f1 < N_F1)
    ql = np.rint(dl * DL_STEPS).astype(np.int64) + N_DL // 2  # an interval does not move with speed
    pair, which = np.nonzero(ok)
    hashes = (f1[pair, which].astype(np.int64) * N_DL + ql[pair]) * (DT_MAX + 1) + gap[pair, which].astype(np.int64)
    return hashes.astype(np.int32), (t1[pair] * s[0, which]).astype(np.float32), which.astype(np.int16)


def common(hashes: np.ndarray) -> np.ndarray:
    """Which entries of a whole index's ``hashes`` are stop words (see the module's notes)."""
    if hashes.size == 0:
        return np.zeros(0, bool)
    _, inverse, counts = np.unique(hashes, return_inverse=True, return_counts=True)
    return counts[inverse] > COMMON * max(1.0, hashes.size / N_HASHES)


class Index:
    """Landmarks of many recordings, sorted by hash, for :func:`identify`.

    Parameters
    ----------
    ids : sequence
        The id of each recording (a track id, a sound id).
    hashes, items, times : np.ndarray
        One entry per landmark: its hash, the position of its recording in ``ids``,
        and its anchor frame.
    """

    def __init__(self, ids, hashes: np.ndarray, items: np.ndarray, times: np.ndarray):
        order = np.argsort(hashes, kind="stable")
        self.ids = np.asarray(ids)
        self.hashes = np.ascontiguousarray(hashes[order], dtype=np.int32)
        self.items = np.ascontiguousarray(items[order], dtype=np.int32)
        self.times = np.ascontiguousarray(times[order], dtype=np.int16)

    @classmethod
    def of_peaks(cls, recordings) -> "Index":
        """An index of ``(id, Peaks)`` pairs: each recording's reference peaks, at speed 1,
        without the stop words."""
        ids, hashes, items, times = [], [], [], []
        for pos, (item, peaks) in enumerate(recordings):
            h, t = landmarks(peaks.reference())
            ids.append(item)
            hashes.append(h)
            times.append(t)
            items.append(np.full(h.shape[0], pos, np.int32))
        if not ids:
            return cls([], np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.int16))
        hashes, items, times = np.concatenate(hashes), np.concatenate(items), np.concatenate(times)
        keep = ~common(hashes)
        return cls(ids, hashes[keep], items[keep], times[keep])

    @classmethod
    def of_rows(cls, hashes, ids, times) -> "Index":
        """An index of (hash, recording id, frame) rows, as the store returns them
        (:func:`batch.store.load.fingerprint_rows` left the stop words out)."""
        uniques, items = np.unique(np.asarray(ids), return_inverse=True)
        return cls(uniques, np.asarray(hashes, np.int32), items.astype(np.int32), np.asarray(times))

    def __len__(self) -> int:
        return int(self.hashes.shape[0])

    @property
    def nbytes(self) -> int:
        return self.hashes.nbytes + self.items.nbytes + self.times.nbytes

    def lookup(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every entry whose hash is in ``hashes``: (position in ``hashes``, item, frame)."""
        lo = np.searchsorted(self.hashes, hashes, side="left")
        hi = np.searchsorted(self.hashes, hashes, side="right")
        counts = hi - lo
        total = int(counts.sum())
        query = np.repeat(np.arange(hashes.shape[0]), counts)
        first = np.repeat(lo - np.cumsum(counts) + counts, counts)
        entry = first + np.arange(total)
        return query, self.items[entry], self.times[entry]


def query_landmarks(peaks: Peaks, speeds=SPEEDS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The query's hashes at every candidate speed: hashes, original-time frames, speed index."""
    return _hash(_pairs(peaks, DT_MAX / min(speeds)), speeds)


def identify(index: Index, peaks: Peaks, *, speeds=SPEEDS, min_hashes: int = MIN_HASHES,
             top: int = 1, query=None, chosen: list[int] | None = None) -> list[Identification]:
    """The recordings of ``index`` inside the query ``peaks``, best first (at most ``top``).

    A recording counts when its best (speed, offset) cell holds at least
    ``min_hashes`` votes; each recording appears once, with its best cell. Ties go to the
    recording that comes first in ``index.ids``.

    Hashing every pair of a dense query at every speed costs too much against a large
    index, so the search scouts first (:func:`speed_scores`, :func:`choose_speeds`) and
    hashes the full query only at the chosen speeds. ``chosen`` gives those speeds
    (indices into ``speeds``) when the caller scouted already, as the sharded search does
    over all the shards (:mod:`batch.listening.shards`); ``query`` is ``query_landmarks(peaks, speeds)``
    when the caller has it already, and is then searched as it is.
    """
    if len(index) == 0 or len(peaks) == 0:
        return []
    if query is None:
        if chosen is None:
            chosen = choose_speeds(speed_scores(index, peaks, speeds), speeds)
        query = chosen_landmarks(peaks, chosen, speeds)
    cells, votes, n_bins, shift = _vote(index, query, len(speeds))
    if cells.size == 0:
        return []
    item_of = cells // (n_bins * len(speeds))
    order = np.lexsort((cells, -votes, item_of))  # each item's best cell first
    first = order[np.r_[True, item_of[order][1:] != item_of[order][:-1]]]
    first = first[votes[first] >= min_hashes]
    first = first[np.lexsort((item_of[first], -votes[first]))][:top]
    found = []
    for cell in first:
        speed = speeds[int(cells[cell] // n_bins % len(speeds))]
        start = (int(cells[cell] % n_bins) - shift + 0.5) * OFFSET_BIN * FRAME_SECONDS
        item = index.ids[int(item_of[cell])]
        found.append(Identification(item.item() if hasattr(item, "item") else item,
                                    int(votes[cell]), round(float(speed), 3), round(start, 2)))
    return found


def speed_scores(index: Index, peaks: Peaks, speeds=SPEEDS) -> np.ndarray:
    """The scout: the best cell's votes at each speed, for the query's :data:`SCOUT_RANK`
    strongest peaks per band and second hashed at every speed.

    Over an index split by recording, the scores of the whole index are the element-wise
    maximum of each part's scores.
    """
    cells, votes, n_bins, _ = _vote(index, query_landmarks(peaks.strongest(SCOUT_RANK), speeds), len(speeds))
    best = np.zeros(len(speeds), np.int64)
    if cells.size:
        np.maximum.at(best, cells // n_bins % len(speeds), votes)
    return best


def choose_speeds(scores: np.ndarray, speeds=SPEEDS) -> list[int]:
    """The :data:`SCOUT_SPEEDS` speeds whose best cells scored highest, and speed 1
    (most sounds are not sped up or slowed), as sorted indices into ``speeds``."""
    chosen = {int(i) for i in np.argsort(-scores, kind="stable")[:SCOUT_SPEEDS] if scores[i] > 0}
    if 1.0 in speeds:
        chosen.add(list(speeds).index(1.0))
    return sorted(chosen)


def chosen_landmarks(peaks: Peaks, chosen: list[int], speeds=SPEEDS):
    """The query's hashes at the ``chosen`` speeds: hashes, original-time frames, speed index."""
    if not chosen:
        empty = np.zeros(0, np.int32)
        return empty, empty.astype(np.float32), empty.astype(np.int16)
    hashes, times, which = _hash(_pairs(peaks, DT_MAX / min(speeds[i] for i in chosen)),
                                 [speeds[i] for i in chosen])
    return hashes, times, np.asarray(chosen, np.int16)[which]


def _vote(index: Index, query, n_speeds: int):
    """Votes per (item, speed, offset bin) cell: cells, votes (a cell plus the next), bins, shift."""
    hashes, times, which = query
    q, items, ref_times = index.lookup(hashes)
    shift = int(math.ceil(32768 / OFFSET_BIN)) + 1
    n_bins = 2 * shift + 2
    if q.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), n_bins, shift
    offset = ref_times.astype(np.float32) - times[q]
    bins = np.floor(offset / OFFSET_BIN).astype(np.int64) + shift
    key = (items.astype(np.int64) * n_speeds + which[q]) * n_bins + bins
    cells, votes = np.unique(key, return_counts=True)
    # A cell and the next one count together: the offset drifts by a few frames when
    # the true speed falls between two candidates.
    nxt = np.minimum(np.searchsorted(cells, cells + 1), cells.size - 1)
    return cells, votes + np.where(cells[nxt] == cells + 1, votes[nxt], 0), n_bins, shift
