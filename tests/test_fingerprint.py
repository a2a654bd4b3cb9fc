"""Audio identification (batch.core.fingerprint): known answers on generated signals and on real
recordings (Debian's game music), through each TikTok edit, with recordings outside the
catalogue as negatives."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from batch.core.audio import SR, Clip
from batch.core.features import stft_magnitude
from batch.core.fingerprint import COMMON, Index, Peaks, common, identify, landmarks, spectral_peaks
from tests import edits


def melody(seed: int, seconds: float = 30.0, sr: int = SR) -> np.ndarray:
    """A random sequence of two-note chords: a recording only this seed makes."""
    rng = np.random.default_rng(seed)
    y = np.zeros(int(seconds * sr), np.float32)
    t = 0.0
    while t < seconds:
        length = rng.choice([0.15, 0.3, 0.45])
        n = np.arange(int(min(length, seconds - t) * sr))
        for pitch in rng.integers(48, 90, size=2):
            f = 440.0 * 2 ** ((pitch - 69) / 12)
            y[int(t * sr): int(t * sr) + n.size] += np.sin(2 * np.pi * f * n / sr) * np.exp(-3 * n / sr)
        t += length
    return 0.3 * y / np.abs(y).max()


def peaks_of(y: np.ndarray) -> Peaks:
    return spectral_peaks(stft_magnitude(y.astype(np.float32), sr=SR))


@pytest.fixture(scope="module")
def generated():
    songs = {seed: melody(seed) for seed in range(1, 7)}
    return songs, Index.of_peaks((seed, peaks_of(y)) for seed, y in songs.items())


def test_an_excerpt_is_found_with_its_offset(generated):
    songs, index = generated
    found = identify(index, peaks_of(songs[3][int(9.0 * SR): int(21.0 * SR)]))
    assert [f.item for f in found] == [3]
    assert found[0].speed == 1.0 and abs(found[0].offset - 9.0) < 0.2


@pytest.mark.parametrize("speed", [1.25, 0.85, 1.1])
def test_a_speed_change_is_found_with_its_factor(generated, speed):
    songs, index = generated
    excerpt = songs[5][int(4.0 * SR): int((4.0 + 12 * speed) * SR)]
    faster = soxr.resample(excerpt, SR * speed, SR)  # played `speed` times faster: pitch moves too
    found = identify(index, peaks_of(faster))
    assert [f.item for f in found] == [5]
    assert abs(found[0].speed - speed) < 0.01 and abs(found[0].offset - 4.0) < 0.3


def test_unknown_music_noise_and_silence_are_not_identified(generated):
    _, index = generated
    assert identify(index, peaks_of(melody(99)[: 12 * SR])) == []
    assert identify(index, peaks_of(np.random.default_rng(0).standard_normal(12 * SR) * 0.1)) == []
    assert identify(index, peaks_of(np.zeros(12 * SR))) == []
    assert identify(Index.of_peaks([]), peaks_of(melody(3)[: 12 * SR])) == []


def test_hashes_move_only_with_the_speed_they_are_asked_for(generated):
    songs, _ = generated
    peaks = peaks_of(songs[1])
    h1, t1 = landmarks(peaks)
    h2, t2 = landmarks(peaks, 1.25)
    assert h1.size and h2.size and not np.array_equal(h1, h2)
    np.testing.assert_array_equal(landmarks(peaks)[0], h1)  # deterministic
    assert np.all(t2 <= 1.25 * peaks.t.max() + 1)


def test_an_index_from_store_rows_votes_like_the_original(generated):
    songs, index = generated
    rows = [(h, item, t) for item, y in songs.items()
            for h, t in zip(*landmarks(peaks_of(y).reference()))]
    hashes, ids, times = zip(*rows)
    from_rows = Index.of_rows(hashes, ids, np.rint(times).astype(np.int16))
    query = peaks_of(songs[2][int(3 * SR): int(15 * SR)])
    assert [f.item for f in identify(from_rows, query)] == [f.item for f in identify(index, query)] == [2]


def test_a_hash_held_by_too_many_songs_is_left_out_of_the_index(generated):
    songs, _ = generated
    ordinary = np.arange(1000, 2000, dtype=np.int32)  # one landmark per hash
    crowded = np.full(COMMON + 1, 7, np.int32)
    assert not common(ordinary).any()
    assert common(np.concatenate([ordinary, crowded])).sum() == COMMON + 1
    assert not common(np.full(COMMON, 7, np.int32)).any()  # at the limit it is kept
    assert common(np.zeros(0, np.int32)).size == 0

    # Songs that all hold one and the same phrase: its hashes are dropped, and each song is
    # still found by what is its own.
    phrase = melody(77, 6.0)
    shared = {seed: np.concatenate([phrase, y[: 24 * SR]]) for seed, y in songs.items()}
    many = {**shared, **{100 + k: np.concatenate([phrase, melody(200 + k, 24.0)]) for k in range(COMMON)}}
    index = Index.of_peaks((seed, peaks_of(y)) for seed, y in many.items())
    full = sum(len(landmarks(peaks_of(y).reference())[0]) for y in many.values())
    assert len(index) < full
    assert [f.item for f in identify(index, peaks_of(shared[4][int(8 * SR): int(20 * SR)]))] == [4]


# --- real recordings -----------------------------------------------------------------------------

CATALOGUE, OUTSIDE = 8, 4


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """Clips of real recordings (Debian's drascula-music) and their TikTok-style edits."""
    if not edits.have_tools():
        pytest.fail("ffmpeg and espeak-ng are missing: run `make system-deps`")
    from batch.core.fingerprint import analyse

    root = tmp_path_factory.mktemp("real")
    recordings = edits.game_music(root / "packages")[: CATALOGUE + OUTSIDE]
    assert len(recordings) == CATALOGUE + OUTSIDE
    clips = [edits.clip(r, root / f"clip{i}.wav", start=10.0, seconds=30.0) for i, r in enumerate(recordings)]
    index = Index.of_peaks((i, analyse(str(c))[1]) for i, c in enumerate(clips[:CATALOGUE]))
    rng = np.random.default_rng(7)
    queries = {kind: [analyse(str(edits.edit(kind, c, root / f"{kind}{i}.mp3", start=float(rng.uniform(0, 15)),
                                             n=i)))[1] for i, c in enumerate(clips)]
               for kind in edits.EDITS + edits.HARDER}
    return index, queries, clips


@pytest.mark.parametrize("kind", edits.EDITS)
def test_real_recordings_are_found_through_each_edit(real, kind):
    index, queries, _ = real
    found = [identify(index, q) for q in queries[kind]]
    assert [f[0].item if f else None for f in found[:CATALOGUE]] == list(range(CATALOGUE))
    assert found[CATALOGUE:] == [[]] * OUTSIDE  # recordings outside the catalogue: no answer
    expected = {"sped_up": 1.25, "slowed_reverb": 0.85}.get(kind, 1.0)
    assert all(abs(f[0].speed - expected) < 0.015 for f in found[:CATALOGUE])


def test_a_voice_louder_than_the_music_is_found_often_and_never_wrongly(real):
    """Speech 6 dB above the music hides most of its peaks: the benchmark reports the recall."""
    index, queries, _ = real
    found = [identify(index, q) for q in queries["voice_over_loud"]]
    right = sum(bool(f) and f[0].item == i for i, f in enumerate(found[:CATALOGUE]))
    wrong = sum(bool(f) and f[0].item != i for i, f in enumerate(found[:CATALOGUE]))
    assert right >= CATALOGUE // 2 and wrong == 0
    assert found[CATALOGUE:] == [[]] * OUTSIDE


def test_analyse_shares_one_decode_with_the_vector(real, tmp_path):
    from batch.core.features import vectorize
    from batch.core.fingerprint import analyse

    path = tmp_path / "m.wav"
    import soundfile as sf

    sf.write(path, melody(4), SR)
    vector, peaks, clip = analyse(str(path))
    np.testing.assert_array_equal(vector, vectorize(str(path)))
    assert isinstance(clip, Clip) and len(peaks) > 100 and len(peaks.reference()) < len(peaks)


@pytest.mark.parametrize("fmt", [["-c:a", "aac", "-b:a", "96k", "sound.m4a"], ["-c:a", "aac", "-f", "adts", "sound.aac"]])
def test_m4a_and_aac_sounds_are_decoded_and_identified(real, tmp_path, fmt):
    """TikTok and scrapers keep sounds as m4a or aac, which libsndfile cannot read."""
    from batch.core.fingerprint import analyse

    index, _, clips = real
    clip = clips[3]
    dest = tmp_path / fmt[-1]
    edits.ffmpeg("-ss", "6", "-t", "12", "-i", str(clip), *fmt[:-1], str(dest))
    vector, peaks, decoded = analyse(str(dest))
    assert abs(decoded.duration - 12.0) < 0.1 and vector.shape == (245,)
    assert [f.item for f in identify(index, peaks)] == [3]
