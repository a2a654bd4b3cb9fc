"""Bring the store up to date with new audio and new TikTok dumps: the whole pipeline, in order.

1. **Metadata**: read and check ``tracks.csv`` and ``genres.csv``.
2. **Audio**: featurize new and changed clips (:mod:`batch.jobs.featurize`, incremental).
3. **TikTok**: parse new dump files and match new sounds (:mod:`text_pipeline.jobs.match`,
   incremental); with ``--sound-audio``, also fetch or read the sounds' audio and
   identify the catalogue songs inside them (:mod:`batch.listening.listen`).
4. **Store**: load the catalogue and the TikTok data into PostgreSQL, each in one
   transaction, when their outputs changed or the store does not hold them. Then every
   watch is identified in the sounds no run has checked (:mod:`batch.listening.watch`).

Every step reports its counts, time and throughput. A rerun with no new input reads
the inputs' listings, finds nothing to do, and finishes in seconds without starting
Spark. Outputs land under ``--work``: ``features/`` (vectors, errors, tracks) and
``tiktok/`` (videos, matches, rejects, model).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from batch.core import metadata as md
from batch.jobs import featurize
from batch.listening import watch
from batch.spark import outputs, sources
from batch.spark.session import add_cluster_options, get_spark
from batch.store import db, load
from text_pipeline.jobs.match import add_listen_options


class Progress:
    """Step headers and lines with the elapsed time, flushed so a person can follow along."""

    def __init__(self, out=print):
        self.started = time.perf_counter()
        self.out = out

    def __call__(self, message: str) -> None:
        self.out(f"[{time.perf_counter() - self.started:6.1f} s] {message}", flush=True)


def run(fma_metadata: str | Path, audio: str, tiktok: str | list[str], work: str | Path, *,
        master: str | None = None, endpoint_url: str | None = None, database_url: str | None = None,
        sound_audio: str | None = None, sound_store: str | None = None,
        allow_private_urls: bool = False, spark=None, out=print) -> dict:
    """Run the four steps; return each step's summary."""
    from text_pipeline.jobs import match

    progress = Progress(out)
    work = Path(work)
    results = {}

    progress(f"step 1/4 metadata: reading tracks.csv and genres.csv from {fma_metadata}")
    step = time.perf_counter()
    if sources.is_s3(str(fma_metadata)):  # a local copy: every step reads these files
        meta = work / "fma_metadata"
        for name in ("tracks.csv", "genres.csv"):
            sources.fetch(f"{str(fma_metadata).rstrip('/')}/{name}", meta / name, endpoint_url=endpoint_url)
    else:
        meta = Path(fma_metadata)
    tracks, genres = meta / "tracks.csv", meta / "genres.csv"
    catalogue = md.read_tracks(tracks, md.read_genres(genres))
    results["metadata"] = f"{len(catalogue):,} tracks in {time.perf_counter() - step:.1f} s"
    progress(f"  {results['metadata']}")

    progress(f"step 2/4 audio: featurizing new and changed clips under {audio}")
    feats = featurize.run(audio, work / "features", tracks=str(tracks), genres=str(genres),
                          master=master, endpoint_url=endpoint_url, spark=spark,
                          catalogue=catalogue, log=lambda m: progress(f"  {m}"))
    results["audio"] = feats.line()
    progress(f"  {feats.line()}")

    progress(f"step 3/4 TikTok: parsing new dumps and matching new sounds from {tiktok}")
    matched = match.run(str(tracks), tiktok, work / "tiktok", genres=str(genres), master=master,
                        endpoint_url=endpoint_url, spark=spark, catalogue=catalogue,
                        sound_audio=sound_audio, features=work / "features", sound_store=sound_store,
                        allow_private_urls=allow_private_urls, log=lambda m: progress(f"  {m}"))
    results["tiktok"] = matched.line() if matched.written else "no new dump files"
    progress(f"  {results['tiktok']}")

    progress("step 4/4 store: loading what changed into PostgreSQL, then checking the watches")
    conn = db.connect(database_url)
    try:
        db.migrate(conn)
        results["store"] = _load(conn, work, progress)
        watched = watch.check(conn, lambda: spark or get_spark("watches", master), work / "tiktok",
                              log=lambda m: progress(f"  {m}"))
        results["watches"] = watched.line()
        progress(f"  {watched.line()}")
    finally:
        conn.close()
    progress(f"done: {results['store']}")
    return results


def _load(conn, work: Path, progress) -> str:
    """Load each output the store does not hold: a version the last load did not come
    from (see :func:`batch.store.load.output_version`), or a row count that differs."""
    import pyarrow.dataset as ds

    done = []
    features, tiktok = work / "features", work / "tiktok"
    if (features / "vectors").exists():
        vectors = outputs.read_vectors(features, ["track_id"]).num_rows
        if (load.loaded_version(conn, "catalogue") != load.catalogue_version(features)
                or _count(conn, "track_vectors") != vectors):
            progress(f"  {load.load_catalogue(conn, features).line()}")
            done.append("catalogue")
    if (tiktok / "tiktok").exists():
        videos = ds.dataset(tiktok / "tiktok", format="parquet").count_rows()
        sounds = tiktok / "sounds" if (tiktok / "sounds").exists() else None
        if (load.loaded_version(conn, "tiktok") != load.tiktok_version(tiktok / "tiktok", tiktok / "matches",
                                                                        sounds)
                or _count(conn, "tiktok_videos") != videos):
            result = load.load_tiktok(conn, tiktok / "tiktok", matches=tiktok / "matches", sounds=sounds)
            progress(f"  {result.line()}")
            done.append("TikTok")
    if not done:
        return "the store was already up to date"
    return f"loaded the {' and the '.join(done)} data"


def _count(conn, table: str) -> int:
    with conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table}")  # a table name of ours, not user input
        value = cur.fetchone()[0]
    conn.rollback()
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m batch.jobs.reprocess",
        description="Bring the store up to date: read the FMA metadata, featurize new audio, "
        "parse and match new TikTok dumps, and load what changed into PostgreSQL "
        "(DATABASE_URL, else the embedded server). Reruns only process what is new.",
    )
    parser.add_argument("--fma-metadata", required=True,
                        help="folder or s3://bucket/prefix with FMA's tracks.csv and genres.csv")
    parser.add_argument("--audio", required=True, help="folder or s3://bucket/prefix of FMA audio")
    parser.add_argument("--tiktok", required=True, nargs="+",
                        help="TikTok dumps (ndjson, or tiktok-scraper's CSV or JSON export): files, "
                        "folders or s3:// prefixes (plain, .gz or .bz2)")
    parser.add_argument("--work", required=True,
                        help="folder for the outputs: features/ and tiktok/ (kept between runs)")
    add_listen_options(parser)
    add_cluster_options(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from batch.store.swap import show_phases

    show_phases("  ")  # the loads' phases, among the steps' lines
    from batch.listening.listen import ListenError
    from text_pipeline.tiktok.matcher import MatchError

    try:
        run(args.fma_metadata, args.audio, args.tiktok, args.work, master=args.master,
            endpoint_url=args.endpoint_url, sound_audio=args.sound_audio, sound_store=args.sound_store,
            allow_private_urls=args.allow_private_urls)
    except (md.MetadataError, MatchError, ListenError, FileNotFoundError, NotADirectoryError,
            featurize.FeaturizeError, db.StoreError, load.LoadError) as e:
        print(f"reprocess: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
