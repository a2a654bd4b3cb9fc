"""Identify the recording inside a piece of audio: landmark fingerprints that survive TikTok's edits.

The 245-number vector describes a style; this module answers "which recording is
this?". Both the Spark executors (catalogue clips, TikTok sounds) and the web app
(uploads) call it, on the spectrogram the vector is computed from.

Peaks
    From the clip's one magnitude STFT (:func:`batch.features.stft_magnitude`: 22,050 Hz,
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

Only what the clip window holds can be found: a catalogue song is its 30 s clip,
so an excerpt taken from elsewhere in the full song is not identified.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.ndimage

from batch.audio import SR, Clip
from batch.features import HOP_LENGTH, N_FFT

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
    offset: float  # where in the original the query starts, in seconds


def analyse(source) -> tuple[np.ndarray, Peaks, Clip]:
    """The 245-number vector, the peaks and the clip of an audio file, from one STFT.

    ``source`` is a path or the file's bytes, as for :func:`batch.features.vectorize`.
    Raises :class:`batch.audio.AudioError` for unusable audio.
    """
    from batch.audio import load_clip
    from batch.features import feature_frames, stft_magnitude, summarize

    clip = load_clip(source)
    S = stft_magnitude(clip.y, sr=clip.sr)
    return summarize(feature_frames(clip.y, sr=clip.sr, S=S)), spectral_peaks(S), clip


def spectral_peaks(S: np.ndarray, *, per_band: int = QUERY_PEAKS_PER_BAND) -> Peaks:
    """The landmark peaks of a magnitude spectrogram, ``per_band`` per band and second.

    Parameters
    ----------
    S : np.ndarray [shape=(t, 1 + n_fft/2)]
        :func:`batch.features.stft_magnitude` of a clip at 22,050 Hz.
    """
    band = np.log(S[:, _LO_BIN - 1 : _HI_BIN + 2].astype(np.float32) + 1e-6)
    core = band[:, 1:-1]
    if core.size == 0:
        return Peaks(np.zeros(0, np.int16), np.zeros(0, np.float32), np.zeros(0, np.int8))
    neighbourhood = scipy.ndimage.maximum_filter(
        core, size=(2 * PEAK_FRAMES + 1, 2 * PEAK_BINS + 1), mode="constant", cval=-np.inf)
    t, k = np.nonzero((core == neighbourhood) & (core > core.max() - DYNAMIC_RANGE))
    strength = core[t, k]

    # The strongest of each second in each band, so that a loud voice over the music
    # cannot take every peak of a second.
    second = t // max(1, round(1.0 / FRAME_SECONDS))
    band_of = np.minimum(PEAK_BANDS - 1, (np.log2((_LO_BIN + k) / _LO_BIN) /
                                          math.log2(_HI_BIN / _LO_BIN) * PEAK_BANDS).astype(np.int64))
    second = second * PEAK_BANDS + band_of
    order = np.lexsort((-strength, second))
    second_sorted = second[order]
    rank = np.arange(order.size) - np.searchsorted(second_sorted, second_sorted, side="left")
    keep = np.sort(order[rank < per_band])
    t, k, rank = t[keep], k[keep], rank[np.argsort(order)][keep]

    below, here, above = band[t, k], band[t, k + 1], band[t, k + 2]
    curvature = below - 2 * here + above
    shift = np.where(curvature < 0, 0.5 * (below - above) / np.where(curvature < 0, curvature, -1), 0.0)
    freq = (_LO_BIN + k + np.clip(shift, -0.5, 0.5)) * (SR / N_FFT)
    lf = np.log2(freq).astype(np.float32)
    order = np.lexsort((lf, t))
    return Peaks(t[order].astype(np.int16), lf[order], rank[order].astype(np.int8))


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
        (:func:`batch.load.fingerprint_rows` left the stop words out)."""
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
             top: int = 1, query=None) -> list[Identification]:
    """The recordings of ``index`` inside the query ``peaks``, best first (at most ``top``).

    A recording counts when its best (speed, offset) cell holds at least
    ``min_hashes`` votes; each recording appears once, with its best cell.

    Hashing every pair of a dense query at every speed costs too much against a large
    index, so the search scouts first: the query's :data:`SCOUT_RANK` strongest peaks per
    band and second are hashed at every speed, and the full query only at the
    :data:`SCOUT_SPEEDS` speeds whose best cells scored highest, and at speed 1 (most
    sounds are not sped up or slowed). ``query`` is ``query_landmarks(peaks, speeds)``
    when the caller has it already; then it is searched as it is.
    """
    if len(index) == 0 or len(peaks) == 0:
        return []
    if query is None:
        scout = _vote(index, query_landmarks(peaks.strongest(SCOUT_RANK), speeds), len(speeds))
        chosen = _best_speeds(scout, len(speeds), SCOUT_SPEEDS)
        if 1.0 in speeds:
            chosen = sorted(set(chosen) | {list(speeds).index(1.0)})
        if not chosen:
            return []
        hashes, times, which = _hash(_pairs(peaks, DT_MAX / min(speeds[i] for i in chosen)),
                                     [speeds[i] for i in chosen])
        query = hashes, times, np.asarray(chosen, np.int16)[which]
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
                                    int(votes[cell]), round(float(speed), 3), round(max(0.0, start), 2)))
    return found


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


def _best_speeds(voted, n_speeds: int, k: int) -> list[int]:
    """The ``k`` speed indices whose best cells hold the most votes."""
    cells, votes, n_bins, _ = voted
    if cells.size == 0:
        return []
    speed_of = cells // n_bins % n_speeds
    best = np.zeros(n_speeds, np.int64)
    np.maximum.at(best, speed_of, votes)
    return sorted(int(i) for i in np.argsort(-best, kind="stable")[:k] if best[i] > 0)
