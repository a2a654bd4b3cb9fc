"""What TikTok does to songs, made with ffmpeg and espeak-ng (Debian), for tests and benchmarks.

Edits are made by other tools than the product's own audio code, so a test of
identification does not check our code against itself.

Real recordings come from Debian's game-music packages, fetched with
``apt-get download`` and unpacked with ``dpkg -x`` (no installation, no network
beyond the package registry).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import soundfile as sf

EDITS = ("excerpt", "sped_up", "slowed_reverb", "voice_over", "low_bitrate")
"""Each kind of edit the issue sets a goal for, in report order."""
HARDER = ("voice_over_loud",)
"""Harder edits the benchmark reports beside them: speech 6 dB louder than the music."""
MUSIC_GAIN = 0.5
"""The music's gain in a voice-over, so that music and speech add up without clipping."""
SPEED_UP, SLOW_DOWN = 1.25, 0.85
SPEECH = ("okay so this is the part where everybody starts dancing, watch my left hand",
          "wait for it, wait for it, this song has been stuck in my head all week",
          "tell me this is not the best sound on the app right now, I dare you")


def have_tools() -> bool:
    return all(shutil.which(t) for t in ("ffmpeg", "espeak-ng"))


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *args], check=True,
                   stdout=subprocess.DEVNULL, timeout=120)


def clip(src: Path, dest: Path, *, start: float, seconds: float) -> Path:
    """``seconds`` of ``src`` from ``start``, as a 44.1 kHz stereo wav (read with libsndfile,
    which reads every package's ogg; ffmpeg refuses some of them)."""
    import numpy as np
    import soxr

    with sf.SoundFile(str(src)) as f:
        sr = f.samplerate
        f.seek(int(start * sr))
        y = f.read(int(seconds * sr), dtype="float32", always_2d=True)
    if y.shape[1] == 1:
        y = np.repeat(y, 2, axis=1)
    if sr != 44100:
        y = soxr.resample(y[:, :2], sr, 44100)
    dest.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(dest), y[:, :2], 44100)
    return dest


def rms(path: Path, start: float = 0.0, seconds: float | None = None) -> float:
    """Root mean square of ``seconds`` of ``path`` from ``start``, over its channels."""
    import numpy as np

    with sf.SoundFile(str(path)) as f:
        f.seek(int(start * f.samplerate))
        y = f.read(-1 if seconds is None else int(seconds * f.samplerate), dtype="float32")
    return float(np.sqrt(np.mean(np.square(y)))) if y.size else 0.0


def speech_rms(path: Path) -> float:
    """Level of the speech in ``path`` while it speaks (:func:`batch.demo.tiktok.speech_level`)."""
    from batch.demo.tiktok import speech_level

    y, sr = sf.read(str(path), dtype="float32")
    return speech_level(y.mean(axis=1) if y.ndim > 1 else y, sr)


def speech(text: str, dest: Path) -> Path:
    subprocess.run(["espeak-ng", "-s", "165", "-w", str(dest), text], check=True, timeout=60,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return dest


def edit(kind: str, src: Path, dest: Path, *, start: float, seconds: float = 12.0, n: int = 0) -> Path:
    """A TikTok-style edit of ``seconds`` of ``src`` (a catalogue clip) taken from ``start``.

    ``excerpt``: the plain excerpt, as mp3; ``sped_up``: x1.25 with pitch moving with tempo;
    ``slowed_reverb``: x0.85 with echoes; ``voice_over``: speech over the music at the
    music's loudness (``voice_over_loud``: 6 dB above it); ``low_bitrate``: mono 32 kbps mp3 at 16 kHz.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    cut = ["-ss", f"{start:.3f}", "-t", f"{seconds:.3f}", "-i", str(src)]
    if kind == "excerpt":
        ffmpeg(*cut, "-b:a", "128k", str(dest))
    elif kind == "sped_up":
        ffmpeg("-ss", f"{start:.3f}", "-t", f"{seconds * SPEED_UP:.3f}", "-i", str(src),
               "-af", f"asetrate=44100*{SPEED_UP},aresample=44100", "-b:a", "128k", str(dest))
    elif kind == "slowed_reverb":
        ffmpeg("-ss", f"{start:.3f}", "-t", f"{seconds * SLOW_DOWN:.3f}", "-i", str(src),
               "-af", f"asetrate=44100*{SLOW_DOWN},aresample=44100,aecho=0.8:0.7:60|120:0.35|0.25",
               "-b:a", "128k", str(dest))
    elif kind in ("voice_over", "voice_over_loud"):
        with tempfile.TemporaryDirectory() as tmp:
            voice = speech(SPEECH[n % len(SPEECH)], Path(tmp) / "voice.wav")
            # The speech's level while it speaks, set to the music's level (or 6 dB above it).
            gain = MUSIC_GAIN * rms(src, start, seconds) / speech_rms(voice)
            gain *= 2.0 if kind == "voice_over_loud" else 1.0
            ffmpeg(*cut, "-stream_loop", "-1", "-i", str(voice), "-filter_complex",
                   f"[0:a]volume={MUSIC_GAIN}[m];[1:a]aresample=44100,volume={gain:.4f}[v];"
                   "[m][v]amix=inputs=2:duration=first:normalize=0", "-b:a", "128k", str(dest))
    elif kind == "low_bitrate":
        ffmpeg(*cut, "-ac", "1", "-ar", "16000", "-b:a", "32k", str(dest))
    else:
        raise ValueError(f"unknown edit {kind!r}: one of {', '.join(EDITS)}")
    return dest


def game_music(dest: Path, packages=("drascula-music",), *, min_seconds: float = 45.0) -> list[Path]:
    """Distinct recordings of at least ``min_seconds`` from Debian's game-music ``packages``.

    Each package is downloaded (``apt-get download``) and unpacked into ``dest`` once.
    Recordings with the same name in several folders (one per language) are kept once.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for package in packages:
        unpacked = dest / package
        if not (unpacked / ".done").exists():
            with tempfile.TemporaryDirectory(dir=dest) as tmp:
                download = ["apt-get", "download", package]
                if subprocess.run(download, cwd=tmp, timeout=900, capture_output=True).returncode:
                    # A machine whose package lists were never fetched finds nothing: fetch them once.
                    subprocess.run(["apt-get", "update", "-qq"], check=True, timeout=900, capture_output=True)
                    subprocess.run(download, cwd=tmp, check=True, timeout=900, capture_output=True)
                deb = next(Path(tmp).glob("*.deb"))
                subprocess.run(["dpkg", "-x", str(deb), str(unpacked)], check=True, timeout=300)
            (unpacked / ".done").touch()
    found = []
    for package in packages:
        seen = set()  # one package may ship the same recording in several folders (languages)
        for path in sorted((dest / package).rglob("*.ogg")):
            if path.name in seen:
                continue
            try:
                if sf.info(str(path)).duration < min_seconds:
                    continue
            except RuntimeError:
                continue
            seen.add(path.name)
            found.append(path)
    return found
