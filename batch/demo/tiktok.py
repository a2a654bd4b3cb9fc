"""The demo's TikTok: a dump of videos whose sounds name catalogue songs the way uploaders
do (typos, decorations, "original sound"), and the sounds' audio, cut from the songs with
TikTok's edits (sped up, slowed with reverb, talked over)."""

from __future__ import annotations

import csv
import json
import random
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from batch.demo.charts import POPULAR_CSV
from batch.demo.music import SECONDS, SR, STYLES, synthesize
from batch.demo.parallel import in_parallel

FIRST_VIDEO = 1575000000
"""When the demo's first dump starts: 29 November 2019, 04:00 UTC."""
VIDEO_SECONDS = 2_500_000
"""How long a dump's videos were made over: about 29 days (the first dump's end on 28 December)."""
HOOK = 0.55
"""Where in a whole song its hook is, as a share of its length: TikTok's sounds favour it."""


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
                 name: str = "dump-0001.ndjson", workers: int | None = None, log=None,
                 since: int = FIRST_VIDEO, audio_truth: str = "audio-truth.csv") -> Path:
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

    Videos are made in the :data:`VIDEO_SECONDS` from ``since`` (Unix seconds); a later
    dump ("the next day") passes a later ``since`` and its own ``audio_truth`` name.
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
            f.write(json.dumps(_video_record(i, ids[s], sounds[s], rng, seed, since), ensure_ascii=False) + "\n")
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
                          workers=workers, log=log, truth_csv=audio_truth)
    return path


EDITS = ("excerpt", "sped_up", "slowed_reverb", "voice_over")


SPEECH = ("wait for it, this is the best part of the whole song",
          "okay everybody learn this dance with me right now",
          "I cannot stop listening to this sound, tell me you feel it too")


def write_sound_audio(folder: Path, ids: list[str], sounds: list[tuple], rows: list[dict], *,
                      seed: int = 0, starts: dict | None = None, workers: int | None = None,
                      log=None, truth_csv: str = "audio-truth.csv") -> Path:
    """Audio for the dump's sounds, and ``truth_csv`` (music_id, track_id, edit,
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
    with open(folder.parent / truth_csv, "w", newline="") as f:
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


def _video_record(i: int, music_id: str, sound, rng: random.Random, seed: int, since: int) -> dict:
    title, artist, original, _ = sound
    video_id = f"67{seed % 100:02d}{i:015d}"
    plays = int(rng.lognormvariate(8, 2))
    counts = {"playCount": plays, "diggCount": plays // rng.randint(5, 30),
              "commentCount": plays // rng.randint(100, 400), "shareCount": plays // rng.randint(200, 900)}
    tags = rng.sample(HASHTAGS, k=rng.randint(1, 4))
    author = f"creator{rng.randrange(20000)}"
    created = since + rng.randrange(VIDEO_SECONDS)
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
