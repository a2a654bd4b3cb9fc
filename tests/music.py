"""Real music for tests and benchmarks, made on this machine from registry packages.

Scores come from music21's bundled corpus (real compositions: Bach chorales,
Beethoven and Mozart quartets, Palestrina masses, fiddle tunes), rendered to
44.1 kHz stereo by Debian's ``fluidsynth`` with the TimGM6mb General MIDI soundfont,
then encoded to mp3 with libsndfile. Nothing is downloaded at run time.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

SOUNDFONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
PIECES = (
    "bach/bwv66.6",
    "beethoven/opus18no1",
    "palestrina/agnus_0",
    "bach/bwv1.6",
    "haydn/opus74no1/movement1",
)
"""Pieces that render cleanly (some others hang on a held note or have malformed repeats)."""
SR = 44100


def can_render() -> bool:
    """True when fluidsynth and the soundfont are installed (``make venv`` installs them)."""
    return shutil.which("fluidsynth") is not None and SOUNDFONT.exists()


def render(piece: str, path: Path, *, seconds: float = 30.0, offset: float = 10.0) -> Path:
    """Render a music21 corpus ``piece`` and write ``seconds`` of it from ``offset`` on.

    The result is 44.1 kHz stereo; a rendering too short for the window is looped.
    The format follows the suffix of ``path`` (mp3, wav, ogg or flac).
    """
    from music21 import corpus

    score = corpus.parse(piece)
    with tempfile.TemporaryDirectory() as tmp:
        midi, wav = Path(tmp, "score.mid"), Path(tmp, "score.wav")
        score.write("midi", fp=str(midi))
        # A note left held can keep fluidsynth rendering forever: bound it.
        subprocess.run(
            ["timeout", "120", "fluidsynth", "-ni", "-q", "-g", "0.6", "-r", str(SR),
             "-F", str(wav), str(SOUNDFONT), str(midi)],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        y, sr = sf.read(wav, dtype="float32", always_2d=True)
    y = _trim_silence(y)
    start, n = int(offset * sr), int(seconds * sr)
    if len(y) < start + n:
        start = 0
        y = np.tile(y, (int(np.ceil(n / len(y))), 1))
    y = y[start : start + n]
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = path.suffix.lstrip(".").upper()
    extra = {"bitrate_mode": "CONSTANT", "compression_level": 0.0} if fmt == "MP3" else {}
    sf.write(path, y, sr, format=fmt, **extra)
    return path


def _trim_silence(y: np.ndarray, *, threshold: float = 1e-4) -> np.ndarray:
    loud = np.flatnonzero(np.abs(y).max(axis=1) > threshold)
    return y[loud[0] : loud[-1] + 1] if loud.size else y
