"""Write a TikTok dump the size of the public 2019 sample: 25,000,000 records as gzipped ndjson.

What it holds, as the real sample does:
- both record shapes, alternating (2019 ``itemInfos``/``musicInfos``, 2020+ ``stats``/``music``);
- 80 % of the videos on an "original sound - <user>" (a million of them); the rest on
  songs, a quarter of them real FMA titles (the 48,311 of the discovermidi wheel, with
  TikTok's noise) and the rest songs outside the catalogue;
- 0 to 5 hashtags per video from a Zipf pool of 200,000, with #fyp on about half the videos;
- 3 % duplicates (a video seen again later in the dump, with newer counts) and 0.2 % broken lines.

The records go to ``--shards`` files written by that many processes, gzip level 6 (what
``gzip`` does by default). Not part of the test suite: ``bench_full_run.py`` calls it.

    .venv/bin/python tests/benchmarks/gen_dump.py --out DIR [--records 25000000] [--shards 8]
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

ORIGINAL_SHARE, N_ORIGINALS, N_SONGS, N_TAGS = 0.8, 1_000_000, 400_000, 200_000
FMA_SHARE, DUPLICATES, BROKEN = 0.25, 0.03, 0.002


def catalogue_titles() -> list[tuple[str, str]]:
    from bench_match import wheel_dict

    fma = wheel_dict("discovermidi/gas/fma_top_genres_artists_songs.py")
    return [(t, a) for artists in fma.values() for a, titles in artists.items() for t in titles]


def songs(seed: int = 0) -> list[tuple[str, str]]:
    """N_SONGS (title, artist): FMA titles (some with TikTok's decorations) and made-up others."""
    rng = np.random.default_rng(seed)
    fma = catalogue_titles()
    decorations = ["", "", "", " (Sped Up)", " - slowed + reverb", " [Official Audio]", " (TikTok Version)"]
    out = []
    for i in range(N_SONGS):
        if rng.random() < FMA_SHARE:
            title, artist = fma[int(rng.integers(len(fma)))]
            out.append((title + decorations[int(rng.integers(len(decorations)))], artist))
        else:
            out.append((f"Song {i} of the Radio", f"Band {i % 50_000}"))
    return out


def write_shard(args) -> tuple[int, int]:
    path, shard, shards, n, seed = args
    rng = np.random.default_rng(seed + shard)
    catalogue = songs()
    tag_weights = 1.0 / np.arange(1, N_TAGS + 1) ** 1.1
    tag_weights /= tag_weights.sum()
    tag_names = ["fyp"] + [f"tag{i}" for i in range(1, N_TAGS)]
    count = n // shards + (1 if shard < n % shards else 0)
    first = shard * (n // shards) + min(shard, n % shards)
    block = 100_000
    written = broken = 0
    with gzip.open(path, "wt", compresslevel=6, encoding="utf-8") as f:
        for start in range(0, count, block):
            size = min(block, count - start)
            ids = first + start + np.arange(size)
            dup = rng.random(size) < DUPLICATES
            ids[dup] = rng.integers(0, max(1, first + start), dup.sum())  # seen before, in some shard
            original = rng.random(size) < ORIGINAL_SHARE
            who = rng.zipf(1.3, size) % N_ORIGINALS
            song = rng.zipf(1.2, size) % N_SONGS
            n_tags = rng.integers(0, 6, size)
            fyp = rng.random(size) < 0.5
            tags = rng.choice(N_TAGS - 1, size=(size, 5), p=tag_weights[1:] / tag_weights[1:].sum()) + 1
            plays = rng.lognormal(7, 2.2, size).astype(np.int64)
            for j in range(size):
                vid = str(6_700_000_000_000_000_000 + int(ids[j]))
                if original[j]:
                    music_id, title, artist, orig = f"9{who[j]:018d}", f"original sound - user{who[j]}", \
                        f"user{who[j]}", "true"
                else:
                    music_id, (title, artist), orig = f"6{song[j]:018d}", catalogue[song[j]], "false"
                chosen = (["fyp"] if fyp[j] else []) + [tag_names[t] for t in tags[j, : n_tags[j]]]
                p = int(plays[j])
                if j % 2:
                    rec = {"itemInfos": {"id": vid, "createTime": "1576500000", "playCount": p,
                                         "diggCount": p // 10, "shareCount": p // 500, "commentCount": p // 200,
                                         "covers": [f"https://p16.tiktokcdn.com/obj/{vid}.jpg"]},
                           "musicInfos": {"musicId": music_id, "musicName": title, "authorName": artist,
                                          "original": orig},
                           "authorInfos": {"uniqueId": f"u{int(ids[j]) % 2_000_000}"},
                           "challengeInfoList": [{"challengeName": t} for t in chosen]}
                else:
                    rec = {"id": vid, "desc": " ".join("#" + t for t in chosen), "createTime": 1611500000,
                           "video": {"cover": f"https://p16.tiktokcdn.com/obj/{vid}.jpg"},
                           "music": {"id": music_id, "title": title, "authorName": artist, "original": orig},
                           "author": {"uniqueId": f"u{int(ids[j]) % 2_000_000}"},
                           "stats": {"playCount": p, "diggCount": p // 10, "shareCount": p // 500,
                                     "commentCount": p // 200},
                           "challenges": [{"title": t} for t in chosen]}
                line = json.dumps(rec, ensure_ascii=False)
                if rng.random() < BROKEN:
                    line, broken = line[: len(line) // 2], broken + 1
                f.write(line + "\n")
            written += size
    return written, broken


def write_dump(out: Path, n: int, shards: int, seed: int = 0, log=print) -> tuple[int, int]:
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    jobs = [(out / f"part-{s:03d}.ndjson.gz", s, shards, n, seed) for s in range(shards)]
    with multiprocessing.Pool(min(shards, multiprocessing.cpu_count())) as pool:
        done = pool.map(write_shard, jobs)
    written, broken = sum(d[0] for d in done), sum(d[1] for d in done)
    size = sum(p.stat().st_size for p in out.glob("*.gz"))
    log(f"[gen] wrote {written:,} records ({broken:,} broken) in {len(jobs)} files, "
        f"{size / 1e9:.2f} GB gzipped, in {time.perf_counter() - started:.0f} s")
    return written, broken


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--records", type=int, default=25_000_000)
    parser.add_argument("--shards", type=int, default=8)
    args = parser.parse_args()
    write_dump(args.out, args.records, args.shards)
    return 0


if __name__ == "__main__":
    sys.exit(main())
