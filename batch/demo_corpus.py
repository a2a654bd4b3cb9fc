"""Write a small FMA-shaped corpus: audio in FMA's folder layout, tracks.csv and genres.csv.

Each genre gets its own musical character (tempo, timbre, harmony, percussion and
noise), so similar-song search has real structure to find. Generation is
deterministic for a given seed. ``genres.csv`` and the three-row ``tracks.csv``
header are FMA's own (``batch/data/``).
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from batch.metadata import TRACK_COLUMNS

DATA = Path(__file__).resolve().parent / "data"
GENRES_CSV = DATA / "fma_genres.csv"
TRACKS_HEADER_CSV = DATA / "fma_tracks_header.csv"
SR = 44100
SECONDS = 30.0


@dataclass(frozen=True)
class Style:
    """How one genre sounds."""

    genre_id: int
    bpm: tuple[int, int]
    timbre: str  # "sine", "saw", "square", "pluck", "organ"
    drums: str | None  # "four", "backbeat", "boom", "swing" or None
    noise: float  # level of background noise
    octave: int  # register of the melody
    minor: bool


STYLES = {
    "Rock": Style(12, (110, 140), "saw", "backbeat", 0.02, 3, False),
    "Electronic": Style(15, (120, 130), "square", "four", 0.01, 4, True),
    "Hip-Hop": Style(21, (82, 95), "sine", "boom", 0.004, 2, True),
    "Folk": Style(17, (90, 112), "pluck", None, 0.002, 4, False),
    "Classical": Style(5, (60, 80), "organ", None, 0.001, 5, False),
    "Jazz": Style(4, (130, 170), "sine", "swing", 0.003, 4, True),
    "Experimental": Style(38, (40, 200), "square", None, 0.08, 6, True),
    "Pop": Style(10, (100, 120), "organ", "backbeat", 0.005, 4, False),
}


def write_corpus(out: Path, *, n_tracks: int = 24, seed: int = 0, fmt: str = "mp3") -> list[dict]:
    """Write ``n_tracks`` clips and the metadata under ``out``; return the track rows."""
    out = Path(out)
    (out / "fma_metadata").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(GENRES_CSV, out / "fma_metadata" / "genres.csv")
    genres = list(STYLES)
    rows = []
    for i in range(n_tracks):
        track_id = 2 + i * 3  # sparse ids, like FMA's
        genre = genres[i % len(genres)]
        rng = np.random.default_rng([seed, track_id])
        audio = synthesize(STYLES[genre], rng)
        path = out / "fma_audio" / f"{track_id // 1000:03d}" / f"{track_id:06d}.{fmt}"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, audio, SR, format=fmt.upper())
        rows.append({
            "track_id": track_id, "title": f"{genre} Study No. {i // len(genres) + 1}",
            "artist": f"Demo Ensemble {i % 5 + 1}", "album": f"Demo {genre}",
            "genre_top": genre, "genres_all": f"[{STYLES[genre].genre_id}]",
            "listens": int(rng.integers(10, 50000)), "duration": int(SECONDS),
        })
    write_tracks_csv(out / "fma_metadata" / "tracks.csv", rows)
    return rows


def write_tracks_csv(path: Path, rows: list[dict]) -> None:
    """Write ``rows`` under FMA's real three-row header, each value in its (group, field) column."""
    with open(TRACKS_HEADER_CSV, newline="") as f:
        header = list(csv.reader(f))
    columns = list(zip(header[0], header[1]))
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerows(header)
        for row in rows:
            line = [""] * len(columns)
            line[0] = str(row["track_id"])
            for key, column in TRACK_COLUMNS.items():
                line[columns.index(column)] = str(row[key])
            writer.writerow(line)


def synthesize(style: Style, rng: np.random.Generator) -> np.ndarray:
    """30 s of stereo float32 audio in ``style``."""
    n = int(SECONDS * SR)
    bpm = rng.uniform(*style.bpm)
    beat = 60.0 / bpm
    root = 40 + int(rng.integers(0, 12))  # MIDI note of the key
    scale = np.array([0, 2, 3, 5, 7, 8, 10] if style.minor else [0, 2, 4, 5, 7, 9, 11])
    mix = np.zeros(n)

    # Chords: one per bar, triads from the scale.
    for bar, start in enumerate(np.arange(0, SECONDS, 4 * beat)):
        degree = [0, 5, 3, 4][bar % 4] if not style.minor else [0, 5, 2, 6][bar % 4]
        for k in (0, 2, 4):
            step = degree + k
            pitch = root + 12 + scale[step % 7] + 12 * (step // 7)
            _add_note(mix, start, 4 * beat, pitch, style.timbre, 0.08)
    # Melody: notes on a grid of eighths, some rests.
    t = 0.0
    while t < SECONDS:
        length = beat * rng.choice([0.5, 1.0, 1.0, 2.0])
        if rng.random() > 0.2:
            step = int(rng.integers(0, 10))
            pitch = root + 12 * (style.octave - 3) + scale[step % 7] + 12 * (step // 7) + 12
            _add_note(mix, t, length * 0.9, pitch, style.timbre, 0.12)
        t += length
    if style.drums:
        _add_drums(mix, style.drums, beat, rng)
    mix += style.noise * rng.standard_normal(n)

    mix /= max(1e-9, np.abs(mix).max()) / 0.8
    pan = 0.1 * np.sin(2 * np.pi * 0.05 * np.arange(n) / SR)
    return np.stack([mix * (1 - pan), mix * (1 + pan)], axis=1).astype(np.float32) * 0.9


def _add_note(mix, start, length, pitch, timbre, gain):
    i0 = int(start * SR)
    m = min(int(length * SR), len(mix) - i0)
    if m <= 0:
        return
    t = np.arange(m) / SR
    f = 440.0 * 2 ** ((pitch - 69) / 12)
    phase = (f * t) % 1.0
    if timbre == "saw":
        wave = 2 * phase - 1
    elif timbre == "square":
        wave = np.sign(np.sin(2 * np.pi * phase)) * 0.6
    elif timbre == "organ":
        wave = sum(np.sin(2 * np.pi * h * f * t) / h for h in (1, 2, 3, 4))
    else:
        wave = np.sin(2 * np.pi * f * t)
    decay = 6.0 if timbre == "pluck" else 1.5
    envelope = np.minimum(1.0, t / 0.01) * np.exp(-decay * t / max(length, 1e-3))
    mix[i0 : i0 + m] += gain * wave * envelope


def _add_drums(mix, pattern, beat, rng):
    hits = {
        "four": [(0, "kick"), (1, "kick"), (2, "kick"), (3, "kick"), (0.5, "hat"), (1.5, "hat"),
                 (2.5, "hat"), (3.5, "hat"), (1, "snare"), (3, "snare")],
        "backbeat": [(0, "kick"), (2, "kick"), (2.5, "kick"), (1, "snare"), (3, "snare")]
        + [(x / 2, "hat") for x in range(8)],
        "boom": [(0, "kick"), (1.75, "kick"), (2.5, "kick"), (1, "snare"), (3, "snare")],
        "swing": [(x, "ride") for x in (0, 1, 1.66, 2, 3, 3.66)],
    }[pattern]
    noise = rng.standard_normal(int(0.3 * SR))
    t = np.arange(int(0.3 * SR)) / SR
    sounds = {
        "kick": 0.9 * np.sin(2 * np.pi * (50 + 60 * np.exp(-t * 30)) * t) * np.exp(-t * 12),
        "snare": 0.5 * noise * np.exp(-t * 25),
        "hat": 0.25 * np.diff(noise, prepend=0) * np.exp(-t * 80),
        "ride": 0.2 * np.diff(noise, prepend=0) * np.exp(-t * 15),
    }
    for bar_start in np.arange(0, SECONDS, 4 * beat):
        for offset, name in hits:
            i0 = int((bar_start + offset * beat) * SR)
            sound = sounds[name][: max(0, len(mix) - i0)]
            mix[i0 : i0 + len(sound)] += sound


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m batch.demo_corpus",
        description="Write an FMA-shaped demo corpus: DIR/fma_audio/000/000002.mp3 ... and "
        "DIR/fma_metadata/{tracks,genres}.csv. Deterministic for a given --seed.",
    )
    parser.add_argument("--out", required=True, help="folder to write the corpus into")
    parser.add_argument("--tracks", type=int, default=24, help="number of clips (default 24)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--format", default="mp3", choices=["mp3", "wav", "ogg", "flac"],
                        help="audio format (default mp3, as FMA)")
    args = parser.parse_args(argv)
    if args.tracks < 1:
        parser.error("--tracks must be at least 1")
    rows = write_corpus(Path(args.out), n_tracks=args.tracks, seed=args.seed, fmt=args.format)
    print(f"wrote {len(rows)} clips and metadata to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
