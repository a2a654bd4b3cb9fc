"""The demo's music: each genre's own character (tempo, timbre, harmony, percussion and noise),
synthesised, so that similar-song search has real structure to find. Deterministic for a seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
    "Blues": Style(3, (70, 92), "saw", "swing", 0.006, 3, True),
    "Country": Style(9, (100, 130), "pluck", "backbeat", 0.004, 4, False),
    "Easy Listening": Style(13, (60, 85), "sine", None, 0.001, 4, False),
    "Instrumental": Style(1235, (85, 110), "organ", "four", 0.003, 3, False),
    "International": Style(2, (95, 125), "pluck", "boom", 0.004, 5, True),
    "Old-Time / Historic": Style(8, (80, 110), "pluck", None, 0.05, 4, False),
    "Soul-RnB": Style(14, (68, 96), "organ", "boom", 0.004, 3, True),
    "Spoken": Style(20, (40, 60), "sine", None, 0.12, 2, False),
}


def synthesize(style: Style, rng: np.random.Generator, seconds: float = SECONDS, *,
               bpm: float | None = None, root: int | None = None) -> np.ndarray:
    """``seconds`` of stereo float32 audio in ``style``; ``bpm`` and ``root`` (the MIDI note
    of the key) set what is otherwise drawn, for tests that need a known answer."""
    n = int(seconds * SR)
    drawn = rng.uniform(*style.bpm)
    beat = 60.0 / (drawn if bpm is None else bpm)
    drawn_root = 40 + int(rng.integers(0, 12))
    root = drawn_root if root is None else root
    scale = np.array([0, 2, 3, 5, 7, 8, 10] if style.minor else [0, 2, 4, 5, 7, 9, 11])
    mix = np.zeros(n)

    # Chords: one per bar, triads from the scale.
    for bar, start in enumerate(np.arange(0, seconds, 4 * beat)):
        degree = [0, 5, 3, 4][bar % 4] if not style.minor else [0, 5, 2, 6][bar % 4]
        for k in (0, 2, 4):
            step = degree + k
            pitch = root + 12 + scale[step % 7] + 12 * (step // 7)
            _add_note(mix, start, 4 * beat, pitch, style.timbre, 0.08)
    # Melody: notes on a grid of eighths, some rests.
    t = 0.0
    while t < seconds:
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
    for bar_start in np.arange(0, len(mix) / SR, 4 * beat):
        for offset, name in hits:
            i0 = int((bar_start + offset * beat) * SR)
            sound = sounds[name][: max(0, len(mix) - i0)]
            mix[i0 : i0 + len(sound)] += sound
