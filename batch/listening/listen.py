"""Listen to the TikTok sounds: bring in their audio, describe it, and identify the songs inside it.

A step of :mod:`text_pipeline.jobs.match` (``--sound-audio``), in three incremental parts:

1. **Audio.** ``fetch`` downloads each sound's ``playUrl`` on the executors
   (:mod:`batch.listening.fetch`: checked addresses, timeouts, retries, a size cap, at
   most :data:`CONCURRENCY` downloads at once per task) into ``OUT/sound_audio/`` or an
   S3 prefix. Every attempt leaves a row in ``fetches/`` with its status; a sound that
   was fetched, or failed for good (expired, not audio, too large, refused), is not
   fetched again, while timeouts, 5xx and broken connections are retried next run.
   A folder or S3 prefix instead of ``fetch`` is read as files named ``<music_id>.mp3``
   (or m4a, aac, ogg, wav, flac).
2. **Sounds.** Each new audio file gets the catalogue's 245-number vector (its middle 30 s)
   and the spectral peaks of all of it, up to 10 minutes (:func:`batch.core.fingerprint.analyse`),
   in ``sounds/`` with ``heard``, the seconds listened to;
   unusable audio gets its reason there instead.
3. **Identification.** The catalogue's peaks (``batch.jobs.featurize``'s ``vectors/``) become
   landmarks split by song into shards (:mod:`batch.listening.shards`, in ``catalogue_index/``,
   rebuilt when the catalogue changes), and every sound is searched in every shard by
   Spark tasks that each hold one shard: ``audio_matches/`` holds each identified
   sound's track, votes, offset in the catalogue song (s) and speed. It is redone when
   the sounds or the catalogue change.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from batch.spark.analyse import ANALYSIS_COLUMNS, analyse_files
from batch.spark.outputs import read_vectors, swap_folder, write_frame
from batch.spark.progress import progress
from batch.spark.sources import is_s3, list_files
from batch.store.tables import AUDIO_MATCH_COLUMNS
from batch.store.tables import MATCH_COLUMNS as TITLE_MATCH_COLUMNS

CONCURRENCY = 8
"""Downloads at once per Spark task."""
SOUND_EXTENSIONS = (".mp3", ".m4a", ".aac", ".ogg", ".wav", ".flac")
SOUND_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""A sound id that is safe as a file name; dumps are untrusted, so others are refused."""
FETCH_DDL = ("music_id string, url string, status string, detail string, http_status int, "
             "bytes long, attempts int, path string, fetched_at timestamp")
SOURCE_DDL = "music_id string, source_path string, source_size long, source_version string"
FETCH_DDL_COLUMNS = [c.split()[0] for c in FETCH_DDL.split(", ")]
SOUND_COLUMNS = [c.split()[0] for c in SOURCE_DDL.split(", ")] + ANALYSIS_COLUMNS[:-1]
AUDIO_MATCH_DDL = ("tiktok_music_id string, fma_track_id long, audio_hashes int, "
                   "audio_offset double, audio_speed double")


class ListenError(ValueError):
    """The sound audio cannot be used as asked; the message says why."""


@dataclass
class ListenSummary:
    fetching: bool = False
    fetched: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    analysed: int = 0
    unusable: int = 0
    with_audio: int = 0
    identified: int = 0
    seconds: float = 0.0

    def failed(self) -> str:
        """The fetch failures by reason, as text."""
        return ", ".join(f"{n:,} {reason}" for reason, n in sorted(self.failures.items())) or "none"

    def line(self) -> str:
        text = "sound audio: "
        if self.fetching:
            text += f"fetched {self.fetched:,} (failed: {self.failed()}); "
        return text + (f"analysed {self.analysed:,} ({self.unusable:,} unusable); {self.with_audio:,} "
                       f"sounds with audio, {self.identified:,} identified as catalogue songs")


def run(session, videos: Path, out: Path, *, sound_audio: str, features: str | Path,
        sound_store: str | None = None, allow_private: bool = False, new_videos: bool = True,
        endpoint_url: str | None = None, log=print) -> ListenSummary:
    """Bring the sounds' audio of the videos in ``videos`` (parquet) up to date under ``out``.

    ``session()`` returns the SparkSession, and is called only when there is work for
    Spark; ``new_videos`` False says the videos have not changed since the last run.
    """
    started = time.perf_counter()
    summary = ListenSummary(fetching=sound_audio == "fetch")
    staging = out / f".staging-listen-{uuid.uuid4().hex[:8]}"
    try:
        if sound_audio == "fetch":
            sources = _fetch(session, videos, out, staging, summary, sound_store=sound_store or
                             str(out / "sound_audio"), allow_private=allow_private,
                             new_videos=new_videos, endpoint_url=endpoint_url, log=log)
        else:
            sources = _listed(sound_audio, endpoint_url=endpoint_url)
        _analyse(session, sources, out, staging, summary, endpoint_url=endpoint_url, log=log)
        _identify(session, out, staging, Path(features), summary, log=log)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    summary.seconds = time.perf_counter() - started
    return summary


# --- 1. audio ----------------------------------------------------------------------------------


def _fetch(session, videos, out, staging, summary, *, sound_store, allow_private, new_videos,
           endpoint_url, log):
    from batch.listening.fetch import RETRIED

    previous = _read(out / "fetches")
    done = previous[~previous["status"].isin(RETRIED)] if previous is not None else None
    if previous is not None and len(done) == len(previous) and not new_videos:
        log(f"[listen] no new sounds and nothing to retry: {len(done):,} fetched or failed for good before")
        return _fetched_sources(done)
    from pyspark.sql import functions as F

    spark = session()
    urls = (spark.read.parquet(str(videos)).filter(F.col("sound_url").isNotNull())
            .groupBy("music_id").agg(F.min("sound_url").alias("url")))
    todo = urls
    if done is not None and len(done):
        todo = urls.join(spark.createDataFrame(done[["music_id"]]), "music_id", "left_anti")
    todo = todo.cache()
    n = todo.count()
    log(f"[listen] fetching the audio of {n:,} sounds ({0 if done is None else len(done):,} fetched "
        f"or failed for good before), {CONCURRENCY} at a time per task")
    fetched = None
    if n:
        parts = max(1, min(n, spark.sparkContext.defaultParallelism * 4))
        spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(CONCURRENCY * 4))
        with progress(spark, "[listen] fetching", log, units=("sounds", n)):
            fetched = todo.repartition(parts).mapInPandas(
                lambda it: _fetch_batches(it, sound_store, allow_private, endpoint_url), FETCH_DDL).toPandas()
    todo.unpersist()
    rows = _concat((done, fetched), FETCH_DDL_COLUMNS)
    if fetched is not None:
        summary.fetched = int((fetched["status"] == "ok").sum())
        summary.failures = fetched.loc[fetched["status"] != "ok", "status"].value_counts().to_dict()
        write_frame(rows.sort_values("music_id", ignore_index=True), staging / "fetches", out / "fetches")
        log(f"[listen] {summary.fetched:,} fetched; failed: {summary.failed()}")
    return _fetched_sources(rows)


def _fetched_sources(fetches: pd.DataFrame) -> pd.DataFrame:
    """The audio files that fetching brought in, as sources to analyse."""
    ok = fetches[fetches["status"] == "ok"]
    return pd.DataFrame({"music_id": ok["music_id"], "source_path": ok["path"],
                         "source_size": ok["bytes"].astype("int64"), "source_version": "fetched"})


def _fetch_batches(batches, sound_store, allow_private, endpoint_url):
    from batch.listening.fetch import fetch_audio

    writer = _Writer(sound_store, endpoint_url)

    def one(row):
        music_id, url = row
        if not SOUND_ID.match(str(music_id)):
            return (music_id, url, "bad sound id", "not safe as a file name", None, None, 0, None)
        got = fetch_audio(url, allow_private=allow_private)
        path = writer.write(f"{music_id}.{got.ext}", got.data) if got.ok else None
        return (music_id, url, got.status, got.detail, got.http_status,
                len(got.data) if got.ok else None, got.attempts, path)

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        for batch in batches:
            rows = list(pool.map(one, zip(batch["music_id"], batch["url"])))
            frame = pd.DataFrame(rows, columns=FETCH_DDL_COLUMNS[:-1])
            frame["http_status"] = frame["http_status"].astype("Int32")
            frame["bytes"] = frame["bytes"].astype("Int64")
            frame["fetched_at"] = pd.Timestamp.now(tz="UTC")
            yield frame


class _Writer:
    """Writes fetched audio to a local folder (atomically) or an S3 prefix."""

    def __init__(self, root: str, endpoint_url: str | None):
        self.root, self.endpoint_url, self._client = root.rstrip("/"), endpoint_url, None

    def write(self, name: str, data: bytes) -> str:
        if is_s3(self.root):
            from batch.spark.sources import s3_client, split_s3

            if self._client is None:
                self._client = s3_client(self.endpoint_url)
            bucket, key = split_s3(f"{self.root}/{name}")
            self._client.put_object(Bucket=bucket, Key=key, Body=data)
            return f"{self.root}/{name}"
        folder = Path(self.root)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{name}.{uuid.uuid4().hex[:8]}"
        tmp.write_bytes(data)
        tmp.replace(folder / name)
        return str(folder / name)


def _listed(src: str, *, endpoint_url) -> pd.DataFrame:
    """Audio files named by sound id under a folder or S3 prefix."""
    try:
        files = list_files(src, SOUND_EXTENSIONS, endpoint_url=endpoint_url, kind="sound audio")
    except FileNotFoundError as e:
        raise ListenError(f"{e}; --sound-audio takes 'fetch', a folder or an s3:// prefix") from None
    rows = []
    for f in files:
        stem = Path(f.path).name.rsplit(".", 1)[0]
        if SOUND_ID.match(stem):
            rows.append((stem, f.path, f.size, f.version))
    return pd.DataFrame(rows, columns=["music_id", "source_path", "source_size", "source_version"]) \
        .drop_duplicates("music_id", keep="first")


# --- 2. sounds ---------------------------------------------------------------------------------


def _analyse(session, sources: pd.DataFrame, out, staging, summary, *, endpoint_url, log):
    key = [c.split()[0] for c in SOURCE_DDL.split(", ")]
    previous = _read(out / "sounds")
    if previous is not None and "heard" not in previous.columns:
        # Analysed before sounds were heard whole (only their middle 30 s): every sound again, once.
        log("[listen] sounds/ was written when only a sound's middle 30 s was heard: analysing every sound again")
        previous = None
    kept = previous.merge(sources[key], on=key) if previous is not None else None
    todo = sources if kept is None else sources.merge(kept[key], on=key, how="left", indicator=True) \
        .query("_merge == 'left_only'").drop(columns="_merge")
    summary.analysed = len(todo)
    removed = 0 if previous is None else len(previous) - len(kept)
    if not len(todo) and not removed and previous is not None:
        summary.with_audio = int(previous["error"].isna().sum())
        return
    log(f"[listen] analysing {len(todo):,} new sound files ({0 if kept is None else len(kept):,} unchanged)")
    new = None
    if len(todo):
        spark = session()
        with progress(spark, "[listen] analysing", log, units=("sounds", len(todo))):
            new = analyse_files(spark, todo, SOURCE_DDL, endpoint_url=endpoint_url).toPandas()[SOUND_COLUMNS]
        summary.unusable = int(new["error"].notna().sum())
    sounds = _concat((kept, new), SOUND_COLUMNS)
    summary.with_audio = int(sounds["error"].isna().sum())
    write_frame(sounds.sort_values("music_id", ignore_index=True), staging / "sounds", out / "sounds")


# --- 3. identification -------------------------------------------------------------------------


def _catalogue_songs(spark, features: Path):
    """The catalogue's reference peaks, from ``batch.jobs.featurize``'s output, as a DataFrame."""
    if not (features / "vectors").exists():
        raise ListenError(f"{features}/vectors does not exist: featurize the catalogue first "
                          "(python -m batch.jobs.featurize ... --out {features})")
    if "peak_t" not in read_vectors(features, schema_only=True):
        raise ListenError(f"{features}/vectors has no peaks: featurize the catalogue again with this version")
    return spark.read.parquet(str(features / "vectors")).select("track_id", "peak_t", "peak_f")


def _catalogue_index(spark, features: Path, version: str, out: Path, staging: Path, log) -> dict:
    """``out/catalogue_index``: the catalogue's landmarks in shards (:mod:`batch.listening.shards`),
    built again only when the catalogue changed."""
    from batch.listening import shards

    target = out / "catalogue_index"
    about_file = target / "index.json"
    if about_file.exists():
        about = json.loads(about_file.read_text())
        if about.get("catalogue") == version:
            return about
    songs = _catalogue_songs(spark, features)
    with progress(spark, "[listen] indexing the catalogue", log):
        about = shards.build(songs, staging / "catalogue_index")
    about["catalogue"] = version
    (staging / "catalogue_index" / "index.json").write_text(json.dumps(about))
    swap_folder(staging / "catalogue_index", target)
    log(f"[listen] catalogue index: {about['landmarks']:,} landmarks in {about['shards']:,} shard(s) "
        f"({about['stop_word_landmarks']:,} stop-word landmarks left out)")
    return about


def _identify(session, out, staging, features, summary, *, log):
    from batch.listening import shards
    from batch.store.load import output_version

    # The featurize output's files, not the load's version: a new load shape re-identifies nothing.
    features = Path(features)
    state = {"catalogue": output_version(features / "vectors", features / "tracks"),
             "sounds": output_version(out / "sounds")}
    stamp = out / "audio_matches.json"
    if (out / "audio_matches").exists() and stamp.exists() and json.loads(stamp.read_text()) == state:
        summary.identified = len(pd.read_parquet(out / "audio_matches"))
        log("[listen] sounds and catalogue unchanged: identifications kept")
        return
    found = pd.DataFrame(columns=[c.split()[0] for c in AUDIO_MATCH_DDL.split(", ")])
    if (out / "sounds").exists():
        spark = session()
        spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "64")
        about = _catalogue_index(spark, features, state["catalogue"], out, staging, log)
        sounds = spark.read.parquet(str(out / "sounds")).where("error IS NULL")
        n = sounds.count()
        log(f"[listen] identifying {n:,} sounds in {about['shards']:,} shard(s) of the catalogue")
        if n:
            with progress(spark, "[listen] identifying", log):
                best = shards.identify_all(spark, sounds, out / "catalogue_index").toPandas()
            found = pd.DataFrame({
                "tiktok_music_id": best["music_id"], "fma_track_id": best["track_id"],
                "audio_hashes": best["votes"],
                # a sound that holds the song's start, heard from the sound's start
                "audio_offset": best["offset"].clip(lower=0.0), "audio_speed": best["speed"]})
    found = found.astype({"fma_track_id": "int64", "audio_hashes": "int32"})
    summary.identified = len(found)
    stamp.unlink(missing_ok=True)
    write_frame(found.sort_values("tiktok_music_id", ignore_index=True), staging / "audio_matches",
           out / "audio_matches")
    stamp.write_text(json.dumps(state))
    log(f"[listen] {len(found):,} sounds contain a catalogue song")


# --- matches -------------------------------------------------------------------------------------


def combine(title: pd.DataFrame, audio: pd.DataFrame | None) -> pd.DataFrame:
    """One match per sound from the title matches and the audio matches.

    When both name a song: the same song gives ``title+audio``; different songs give
    the audio's song (``audio``), because listening identifies the recording that plays,
    while a title is whatever the uploader typed (re-uploads, "original sound", covers).
    """
    title = title.assign(method="title")
    if audio is None or not len(audio):
        out = title.assign(audio_hashes=pd.NA, audio_offset=np.nan, audio_speed=np.nan)
    else:
        both = title.merge(audio, on="tiktok_music_id", how="outer", suffixes=("_title", ""))
        has_audio = both["fma_track_id"].notna()
        same = has_audio & (both["fma_track_id_title"] == both["fma_track_id"])
        both["method"] = np.where(same, "title+audio", np.where(has_audio, "audio", "title"))
        both["fma_track_id"] = both["fma_track_id"].fillna(both["fma_track_id_title"])
        for c in ("title_score", "artist_score", "total_score"):
            both.loc[has_audio & ~same, c] = np.nan
        out = both.drop(columns="fma_track_id_title")
    out = out[list(MATCH_COLUMNS)].astype({"fma_track_id": "int64", "audio_hashes": "Int32"})
    return out.sort_values("tiktok_music_id", ignore_index=True)


MATCH_COLUMNS = TITLE_MATCH_COLUMNS + AUDIO_MATCH_COLUMNS


# --- parquet on the driver -------------------------------------------------------------------


def _concat(frames, columns) -> pd.DataFrame:
    """The frames that exist, one after the other; an empty frame of ``columns`` if none does."""
    frames = [f for f in frames if f is not None]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def _read(path: Path) -> pd.DataFrame | None:
    return pd.read_parquet(path) if path.exists() else None
