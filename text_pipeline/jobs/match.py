"""Parse TikTok dumps and match their sounds to catalogue songs, with Spark.

1. **Parse** every record of the dumps into clean videos (:mod:`text_pipeline.tiktok.parse`):
   ndjson, or tiktok-scraper's CSV and JSON exports (:mod:`text_pipeline.core.exports`); bad
   records go to ``DIR/rejects/`` with a reason.
2. **Sounds**: one row per TikTok sound id, with its title and artist. Original
   sounds ("original sound - user" in any language, or flagged original) are set aside.
3. **Vectorise** titles and artists with TF-IDF over words and character trigrams
   (Spark ML: tokenizers, ``NGram``, ``HashingTF``, ``IDF``, ``Normalizer``), one model
   for titles and one for artists, both fitted on the catalogue, saved under
   ``DIR/model/`` and reused while the catalogue is unchanged. Both sides are
   normalised by :mod:`text_pipeline.core.normalize` first.
4. **Match** on the executors: each batch of sounds is multiplied with the broadcast
   catalogue matrix (a sparse product, no blocking on the first letter), the
   :data:`CANDIDATES` best titles are kept, their artists are compared, and

       total_score = TITLE_WEIGHT * title_score + ARTIST_WEIGHT * artist_score

   with both scores the cosine similarity of the TF-IDF vectors, in [0, 1]. Each
   sound gets its best song, and only when ``total_score >= threshold``.

5. **Listen** (with ``--sound-audio``): fetch or read each sound's audio, give it a
   vector and peaks, and identify the catalogue song inside it (:mod:`batch.listening.listen`).

Outputs under ``DIR``: ``tiktok/`` (clean videos, parquet), ``title_matches/`` (parquet:
fma_track_id, tiktok_music_id, title_score, artist_score, total_score), ``matches/``
(the same columns plus ``method`` — title, audio or title+audio — and, for audio, the
votes, the offset in the catalogue clip and the speed; see :func:`batch.listening.listen.combine`),
``rejects/`` (JSON lines: source, line, reason) and ``model/``; with ``--sound-audio``
also ``fetches/``, ``sound_audio/``, ``sounds/`` and ``audio_matches/``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from batch.spark.outputs import clean_up, swap_folder
from batch.spark.progress import progress
from batch.spark.session import add_cluster_options
from text_pipeline.tiktok.dumps import DumpError, list_dumps, read_lines
from text_pipeline.tiktok.matcher import (
    ARTIST_WEIGHT,
    DEFAULT_THRESHOLD,
    TITLE_WEIGHT,
    MatchError,
    catalogue_fingerprint,
    fitted_models,
    match_sounds,
    read_catalogue,
    sounds_of,
)


@dataclass
class Summary:
    """What one run did: records and rejects read now; sounds and matches in the output."""

    records: int = 0
    rejected: int = 0
    sounds: int = 0
    matched: int = 0
    seconds: float = 0.0
    new_files: int = 0
    written: bool = False
    listened: object = None  # batch.listening.listen.ListenSummary, with --sound-audio
    methods: dict | None = None  # matches per method: title, audio, title+audio

    def line(self) -> str:
        rate = self.records / self.seconds if self.seconds else 0.0
        text = (f"records read {self.records:,}, rejected {self.rejected:,}, unique sounds "
                f"{self.sounds:,}, matched {self.matched:,}, {rate:,.0f} records/s")
        if self.methods:
            text += " (" + ", ".join(f"{n:,} by {m}" for m, n in sorted(self.methods.items())) + ")"
        if self.listened is not None:
            text += "; " + self.listened.line()
        return text


def run(tracks: str, tiktok: str | list[str], out: str | Path, *, threshold: float = DEFAULT_THRESHOLD,
        genres: str | None = None, master: str | None = None, endpoint_url: str | None = None,
        spark=None, catalogue: pd.DataFrame | None = None, sound_audio: str | None = None,
        features: str | Path | None = None, sound_store: str | None = None,
        allow_private_urls: bool = False, log=print) -> Summary:
    """Parse ``tiktok``, match its sounds to the catalogue in ``tracks``, write under ``out``.

    Incremental: ``out/inputs.json`` records the dump files processed and the catalogue
    and threshold they were matched with. A rerun with the same inputs does nothing; new
    dump files are parsed and merged in, and only sounds not seen before are scored. A
    changed or removed dump, or another catalogue or threshold, reprocesses everything.
    ``catalogue`` is ``tracks`` already read by :func:`batch.core.metadata.read_tracks`.

    ``sound_audio`` (``fetch``, a folder or an S3 prefix) also listens to the sounds
    (:mod:`batch.listening.listen`), identifying them against the peaks in ``features``
    (``batch.jobs.featurize``'s output); that step is incremental on its own.
    """
    if not 0.0 <= threshold <= 1.0:
        raise MatchError(f"--threshold must be in [0, 1], got {threshold}")
    if sound_audio is not None and features is None:
        raise MatchError("--sound-audio needs --features: the batch.jobs.featurize output with the "
                         "catalogue's peaks")
    out = Path(out)
    clean_up(out, ("tiktok", "title_matches", "matches", "rejects", "model", "fetches", "sounds",
                   "audio_matches"))
    started = time.perf_counter()
    catalogue = (read_catalogue(tracks, genres) if catalogue is None else
                 catalogue[["track_id", "title", "artist"]].sort_values("track_id", ignore_index=True))
    try:
        files = list_dumps(tiktok, endpoint_url=endpoint_url)
    except DumpError as e:
        raise MatchError(str(e)) from None
    inputs = {"catalogue": catalogue_fingerprint(catalogue), "threshold": threshold,
              "files": {f.path: [f.size, f.version] for f in files}}
    previous = _read_inputs(out)
    incremental = (previous is not None and previous["catalogue"] == inputs["catalogue"]
                   and previous["threshold"] == threshold
                   and all(inputs["files"].get(p) == sig for p, sig in previous["files"].items()))
    new = [f for f in files if not incremental or f.path not in previous["files"]]
    summary = Summary(new_files=len(new))
    if not new and sound_audio is None and (out / "matches").exists():
        log(f"[match] no new dump files among {len(files)}: nothing to do")
        summary.sounds = previous.get("sounds", 0)
        _count_matches(out, summary)
        summary.seconds = time.perf_counter() - started
        return summary
    sessions = [spark]

    def session():
        """Spark, started the first time a step needs it (a rerun with nothing new needs none)."""
        if sessions[0] is None:
            from batch.spark.session import get_spark

            sessions[0] = get_spark("match", master)
        return sessions[0]

    if new:
        log(f"[match] {len(new)} {'new ' if incremental else ''}dump file(s) to process, "
            f"{len(files) - len(new)} already done")
        _title_matches(session(), catalogue, new, out, inputs, summary, incremental=incremental,
                       threshold=threshold, endpoint_url=endpoint_url, log=log)
    else:
        log(f"[match] no new dump files among {len(files)}")
        summary.sounds, summary.matched = previous.get("sounds", 0), previous.get("matched", 0)
    if sound_audio is not None:
        from batch.listening import listen

        summary.listened = listen.run(
            session, out / "tiktok", out, sound_audio=sound_audio, features=features,
            sound_store=sound_store, allow_private=allow_private_urls, new_videos=bool(new),
            endpoint_url=endpoint_url, log=log)
    summary.written = _combine_matches(out, log) or summary.written
    _count_matches(out, summary)
    summary.seconds = time.perf_counter() - started
    return summary


def _count_matches(out: Path, summary: Summary) -> None:
    methods = pd.read_parquet(out / "matches", columns=["method"])["method"]
    summary.matched, summary.methods = len(methods), methods.value_counts().to_dict()


def _title_matches(spark, catalogue, new, out, inputs, summary, *, incremental, threshold,
                   endpoint_url, log) -> None:
    """Parse the new dump files, match their sounds by title, and swap the outputs in."""
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "1024")
    staging = out / f".staging-{uuid.uuid4().hex[:8]}"
    sounds = matrices = None
    try:
        sounds, matrices = _process(spark, catalogue, new, out, staging, summary,
                                    incremental=incremental, threshold=threshold,
                                    endpoint_url=endpoint_url, log=log)
        # Without inputs.json the next run starts over, so a run cut off between these
        # swaps cannot leave a mix of old and new outputs that looks complete.
        (out / "inputs.json").unlink(missing_ok=True)
        for name in ("tiktok", "title_matches", "rejects"):
            swap_folder(staging / name, out / name)
        inputs.update(sounds=summary.sounds, matched=summary.matched)
        (out / "inputs.json").write_text(json.dumps(inputs, indent=1))
        summary.written = True
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if sounds is not None:
            sounds.unpersist()
        if matrices is not None:
            matrices.destroy()


def _combine_matches(out: Path, log) -> bool:
    """Write ``matches/`` from the title and audio matches, when either changed; True if written."""
    from batch.listening.listen import combine
    from batch.store.load import output_version

    state = {"title": output_version(out / "title_matches"), "audio": output_version(out / "audio_matches")}
    stamp = out / "matches.json"
    if (out / "matches").exists() and stamp.exists() and json.loads(stamp.read_text()) == state:
        return False
    title = pd.read_parquet(out / "title_matches")
    audio = pd.read_parquet(out / "audio_matches") if (out / "audio_matches").exists() else None
    matches = combine(title, audio)
    stamp.unlink(missing_ok=True)
    staging = out / f".staging-{uuid.uuid4().hex[:8]}"
    (staging / "matches").mkdir(parents=True)
    matches.to_parquet(staging / "matches" / "part-0.parquet", index=False)
    swap_folder(staging / "matches", out / "matches")
    shutil.rmtree(staging, ignore_errors=True)
    stamp.write_text(json.dumps(state))
    counts = matches["method"].value_counts().to_dict()
    log(f"[match] {len(matches):,} matches: " + ", ".join(f"{n:,} by {m}" for m, n in sorted(counts.items())))
    return True


def _process(spark, catalogue, files, out, staging, summary, *, incremental, threshold,
             endpoint_url, log):
    """Parse ``files``, merge with the previous output if ``incremental``, match, write to staging.

    Fills in ``summary``; returns the cached sounds frame and the broadcast catalogue,
    for the caller to release.
    """
    from text_pipeline.tiktok.parse import VIDEO_COLUMNS, parse, rejects_of, videos_of

    started = time.perf_counter()
    log("[match] parsing the dumps")
    with progress(spark, "[match] parsing", log):
        parse(read_lines(spark, files, endpoint_url=endpoint_url)).write.parquet(str(staging / "parsed"))
    parsed = spark.read.parquet(str(staging / "parsed"))  # the one pass over the JSON
    summary.records, summary.rejected = parsed.count(), rejects_of(parsed).count()
    rejects, candidates = rejects_of(parsed), parsed
    old_sounds = None
    if incremental:
        old_videos = spark.read.parquet(str(out / "tiktok"))
        candidates = parsed.unionByName(old_videos.select(*VIDEO_COLUMNS), allowMissingColumns=True)
        rejects = rejects.unionByName(spark.read.json(str(out / "rejects"), schema="source string, "
                                                      "line string, reason string"))
        old_sounds = old_videos.select("music_id").distinct()
    with progress(spark, "[match] deduplicating", log):
        rejects.coalesce(1).write.json(str(staging / "rejects"))
        videos_of(candidates).write.parquet(str(staging / "tiktok"))
    videos = spark.read.parquet(str(staging / "tiktok"))
    log(f"[match] parsed {summary.records:,} records: {videos.count():,} videos in all, "
        f"{summary.rejected:,} rejected ({time.perf_counter() - started:.0f} s)")

    sounds = sounds_of(videos)
    summary.sounds = sounds.count()
    if old_sounds is not None:
        sounds = sounds.join(old_sounds, "music_id", "left_anti")  # score only sounds not seen before
    sounds = sounds.cache()
    models = fitted_models(spark, catalogue, out / "model", log=log)
    log(f"[match] matching {sounds.count():,} new unique sounds against {len(catalogue):,} songs")
    matches, matrices = match_sounds(spark, sounds, catalogue, models, threshold)
    matches = matches.withColumnRenamed("song_id", "fma_track_id")
    if incremental:
        matches = matches.unionByName(spark.read.parquet(str(out / "title_matches")))
    with progress(spark, "[match] matching", log):
        matches.orderBy("tiktok_music_id").coalesce(1).write.parquet(str(staging / "title_matches"))
    summary.matched = spark.read.parquet(str(staging / "title_matches")).count()
    log(f"[match] {summary.matched:,} sounds matched in all ({time.perf_counter() - started:.0f} s)")
    return sounds, matrices


def _read_inputs(out: Path) -> dict | None:
    """The previous run's record of its inputs, if its outputs are all in place."""
    path = out / "inputs.json"
    if not path.exists() or not all((out / n).exists() for n in ("tiktok", "title_matches", "rejects")):
        return None
    return json.loads(path.read_text())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m text_pipeline.jobs.match",
        description="Parse TikTok dumps (ndjson in the 2019, 2020+ or scraper shape, or "
        "tiktok-scraper's CSV and JSON exports) and match "
        "each TikTok sound to the catalogue song it is, by TF-IDF cosine similarity of titles "
        f"and artists: total = {TITLE_WEIGHT} x title + {ARTIST_WEIGHT} x artist.",
    )
    parser.add_argument("--tracks", required=True, help="FMA tracks.csv (genres.csv beside it is used)")
    parser.add_argument("--tiktok", required=True, nargs="+",
                        help="dump files, folders or s3:// prefixes: ndjson, tiktok-scraper's "
                        "CSV or JSON export, told apart by content (plain, .gz or .bz2; "
                        "unpack .zst first: zstd -d FILE.ndjson.zst)")
    parser.add_argument("--out", required=True,
                        help="output folder: tiktok/, matches/, rejects/ and model/")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                        help=f"lowest total score that counts as a match (default {DEFAULT_THRESHOLD})")
    add_listen_options(parser)
    parser.add_argument("--features", help="the batch.jobs.featurize output folder (its clips' peaks are "
                        "what sounds are identified against); needed with --sound-audio")
    add_cluster_options(parser)
    return parser


def add_listen_options(parser) -> None:
    """The options that make a job listen to the sounds, shared by match and batch.jobs.reprocess."""
    parser.add_argument("--sound-audio", metavar="fetch|DIR|s3://PREFIX",
                        help="listen to the sounds: 'fetch' downloads each sound's playUrl; a folder or "
                        "s3:// prefix holds files named <music_id>.mp3 (m4a, aac, ogg, wav, flac)")
    parser.add_argument("--sound-store", metavar="DIR|s3://PREFIX",
                        help="where fetched audio is kept (default: sound_audio/ in the output folder)")
    parser.add_argument("--allow-private-urls", action="store_true",
                        help="UNSAFE: let fetched URLs reach loopback and private addresses "
                        "(only for tests against a local server)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from batch.core.metadata import MetadataError
    from batch.listening.listen import ListenError

    try:
        summary = run(args.tracks, args.tiktok, args.out, threshold=args.threshold,
                      master=args.master, endpoint_url=args.endpoint_url,
                      sound_audio=args.sound_audio, features=args.features,
                      sound_store=args.sound_store, allow_private_urls=args.allow_private_urls)
    except (MatchError, ListenError, MetadataError, FileNotFoundError) as e:
        print(f"match: error: {e}", file=sys.stderr)
        return 2
    print(summary.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
