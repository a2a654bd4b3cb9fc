"""Parse TikTok dumps and match their sounds to catalogue songs, with Spark.

1. **Parse** every record of the dumps into clean videos (:mod:`text_pipeline.parse`):
   ndjson, or tiktok-scraper's CSV and JSON exports (:mod:`text_pipeline.exports`); bad
   records go to ``DIR/rejects/`` with a reason.
2. **Sounds**: one row per TikTok sound id, with its title and artist. Original
   sounds ("original sound - user" in any language, or flagged original) are set aside.
3. **Vectorise** titles and artists with TF-IDF over words and character trigrams
   (Spark ML: tokenizers, ``NGram``, ``HashingTF``, ``IDF``, ``Normalizer``), one model
   for titles and one for artists, both fitted on the catalogue, saved under
   ``DIR/model/`` and reused while the catalogue is unchanged. Both sides are
   normalised by :mod:`text_pipeline.normalize` first.
4. **Match** on the executors: each batch of sounds is multiplied with the broadcast
   catalogue matrix (a sparse product, no blocking on the first letter), the
   :data:`CANDIDATES` best titles are kept, their artists are compared, and

       total_score = TITLE_WEIGHT * title_score + ARTIST_WEIGHT * artist_score

   with both scores the cosine similarity of the TF-IDF vectors, in [0, 1]. Each
   sound gets its best song, and only when ``total_score >= threshold``.

5. **Listen** (with ``--sound-audio``): fetch or read each sound's audio, give it a
   vector and peaks, and identify the catalogue song inside it (:mod:`text_pipeline.listen`).

Outputs under ``DIR``: ``tiktok/`` (clean videos, parquet), ``title_matches/`` (parquet:
fma_track_id, tiktok_music_id, title_score, artist_score, total_score), ``matches/``
(the same columns plus ``method`` — title, audio or title+audio — and, for audio, the
votes, the offset in the catalogue clip and the speed; see :func:`text_pipeline.listen.combine`),
``rejects/`` (JSON lines: source, line, reason) and ``model/``; with ``--sound-audio``
also ``fetches/``, ``sound_audio/``, ``sounds/`` and ``audio_matches/``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from batch.featurize import clean_up, swap_in
from batch.progress import progress
from text_pipeline.dumps import DumpError, list_dumps, read_lines
from batch.spark import add_cluster_options

TITLE_WEIGHT = 0.6
ARTIST_WEIGHT = 0.4
DEFAULT_THRESHOLD = 0.7
"""Chosen on the labelled benchmark (tests/benchmarks/bench_match.py)."""
CANDIDATES = 20
"""Best titles per sound whose artists are compared."""
NUM_FEATURES = 1 << 20

class MatchError(ValueError):
    """The inputs cannot be used; the message says why."""


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
    listened: object = None  # text_pipeline.listen.ListenSummary, with --sound-audio
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


# --- reading ---------------------------------------------------------------------------------


# --- the catalogue and its models ------------------------------------------------------------


def read_catalogue(tracks_csv: str, genres_csv: str | None = None) -> pd.DataFrame:
    """track_id, title, artist of every catalogue track, sorted by track_id."""
    from batch import metadata as md

    genres = genres_csv or str(Path(tracks_csv).with_name("genres.csv"))
    if not Path(genres).exists():
        genres = str(Path(md.__file__).parent / "data" / "fma_genres.csv")
    tracks = md.read_tracks(tracks_csv, md.read_genres(genres))
    return tracks[["track_id", "title", "artist"]].sort_values("track_id", ignore_index=True)


def with_normalised_text(df, title: str = "title", artist: str = "artist"):
    """Add ``title_norm``, ``artist_norm``, ``version`` and ``cut``: the one normaliser,
    applied on the executors (:mod:`text_pipeline.normalize`)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import BooleanType, StringType

    from text_pipeline.normalize import clean_artist, clean_title, is_cut, version_of

    def mapped(fn, returns):
        return F.pandas_udf(lambda s: s.map(fn), returns)

    return (df.withColumn("title_norm", mapped(clean_title, StringType())(title))
            .withColumn("artist_norm", mapped(clean_artist, StringType())(artist))
            .withColumn("version", mapped(version_of, StringType())(title))
            .withColumn("cut", mapped(is_cut, BooleanType())(title)))


def _original_sound(title: str, flag: str):
    """Column: is this sound a creator's own audio (the normaliser's rule)?"""
    from pyspark.sql import functions as F
    from pyspark.sql.types import BooleanType

    from text_pipeline.normalize import is_original_sound

    @F.pandas_udf(BooleanType())
    def original(titles: pd.Series, flags: pd.Series) -> pd.Series:
        return pd.Series([is_original_sound(t, bool(f)) for t, f in zip(titles, flags)])

    return original(title, flag)


def tfidf_pipeline(field: str):
    """TF-IDF over words and character trigrams of ``{field}_norm``, L2-normalised."""
    from pyspark.ml import Pipeline
    from pyspark.ml.feature import IDF, NGram, HashingTF, Normalizer, RegexTokenizer, SQLTransformer

    src = f"{field}_norm"
    return Pipeline(stages=[
        SQLTransformer(statement=f"SELECT *, concat(' ', {src}, ' ') AS {field}_padded FROM __THIS__"),
        RegexTokenizer(inputCol=src, outputCol=f"{field}_words", pattern=r"\s+",
                       toLowercase=False, minTokenLength=1),
        RegexTokenizer(inputCol=f"{field}_padded", outputCol=f"{field}_chars", pattern="",
                       gaps=True, toLowercase=False, minTokenLength=1),
        NGram(n=3, inputCol=f"{field}_chars", outputCol=f"{field}_trigrams"),
        SQLTransformer(statement=f"SELECT *, concat({field}_words, {field}_trigrams) "
                                 f"AS {field}_tokens FROM __THIS__"),
        HashingTF(numFeatures=NUM_FEATURES, inputCol=f"{field}_tokens", outputCol=f"{field}_tf"),
        IDF(inputCol=f"{field}_tf", outputCol=f"{field}_tfidf"),
        Normalizer(p=2.0, inputCol=f"{field}_tfidf", outputCol=f"{field}_vec"),
    ])


def fitted_models(spark, catalogue, model_dir: Path, log=print):
    """The title and artist models for this catalogue: loaded if saved for it, else fitted and saved."""
    from pyspark.ml import PipelineModel

    fingerprint = catalogue_fingerprint(catalogue)
    stamp = model_dir / "catalogue.sha256"
    if stamp.exists() and stamp.read_text() == fingerprint:
        log(f"[match] reusing the TF-IDF models in {model_dir}")
        return tuple(PipelineModel.load(str(model_dir / f)) for f in ("title", "artist"))
    log(f"[match] fitting TF-IDF models on {len(catalogue):,} catalogue songs")
    frame = with_normalised_text(spark.createDataFrame(catalogue))
    models = tuple(tfidf_pipeline(f).fit(frame) for f in ("title", "artist"))
    staging = model_dir.with_name(f".model-{uuid.uuid4().hex[:8]}")
    for field, model in zip(("title", "artist"), models):
        model.write().overwrite().save(str(staging / field))
    (staging / "catalogue.sha256").write_text(fingerprint)
    swap_in(staging, model_dir)
    return models


def load_models(model_dir: Path):
    """The title and artist models that :func:`fitted_models` saved in ``model_dir``."""
    from pyspark.ml import PipelineModel

    model_dir = Path(model_dir)
    if not (model_dir / "catalogue.sha256").exists():
        raise MatchError(f"{model_dir} holds no TF-IDF models: run python -m text_pipeline.match first")
    return tuple(PipelineModel.load(str(model_dir / f)) for f in ("title", "artist"))


def catalogue_fingerprint(catalogue: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(catalogue, index=False).values.tobytes()).hexdigest()


def vectorise(df, models):
    """Add ``title_vec`` and ``artist_vec`` to a frame with ``title_norm``/``artist_norm``."""
    for model in models:
        df = model.transform(df)
    return df


def catalogue_matrices(spark, catalogue, models):
    """The catalogue's track ids, its title and artist TF-IDF rows (scipy CSR matrices), and
    its normalised text (:data:`TEXT_COLUMNS`), for :func:`best_matches`."""
    frame = vectorise(with_normalised_text(spark.createDataFrame(catalogue)), models)
    rows = frame.select("track_id", "title_vec", "artist_vec", *TEXT_COLUMNS).toPandas()
    return (rows["track_id"].to_numpy(np.int64), _csr(rows["title_vec"]), _csr(rows["artist_vec"]),
            rows[list(TEXT_COLUMNS)].reset_index(drop=True))


def _csr(vectors):
    """SparseVectors (or their Arrow dicts) to a float32 CSR matrix with NUM_FEATURES columns."""
    import scipy.sparse as sp

    indptr, indices, values = [0], [], []
    for v in vectors:
        idx, val = (v["indices"], v["values"]) if isinstance(v, dict) else (v.indices, v.values)
        indices.append(np.asarray(idx, np.int32))
        values.append(np.asarray(val, np.float32))
        indptr.append(indptr[-1] + len(idx))
    return sp.csr_matrix(
        (np.concatenate(values) if values else np.zeros(0, np.float32),
         np.concatenate(indices) if indices else np.zeros(0, np.int32), np.asarray(indptr)),
        shape=(len(indptr) - 1, NUM_FEATURES))


# --- scoring ---------------------------------------------------------------------------------


TEXT_COLUMNS = ("title_norm", "artist_norm", "version", "cut")
_DIGITS = re.compile(r"\d+")
"""The normalised text :func:`best_matches` checks its candidates with."""
TYPO_SCORE = 0.9
"""The score of a title or an artist one letter away (a typo, two letters swapped)."""
TYPO_MIN_LENGTH = 5
"""Shorter titles and artists are too often other words one letter away ("rain", "pain")."""


def best_matches(q_title, q_artist, c_title, c_artist, track_ids, threshold: float,
                 q_text: pd.DataFrame | None = None, c_text: pd.DataFrame | None = None) -> pd.DataFrame:
    """For each query row, the catalogue row with the best total score, if it clears ``threshold``.

    Candidates are the :data:`CANDIDATES` best titles by TF-IDF. With the normalised
    text of both sides (:data:`TEXT_COLUMNS`), each candidate is also checked:

    - a title or artist one edit away (a typo, or two neighbouring letters swapped, but
      not another number) scores at least :data:`TYPO_SCORE`;
    - a title cut short with "…" scores 1 against a title it is the beginning of;
    - a candidate of another version (:func:`text_pipeline.normalize.version_of`) is no
      match, unless the query's title was cut (its version may be in what was cut off),
      or the query's title is the candidate's title and version run together, as when
      the brackets were dropped ("Atlantis Live" for "Atlantis (Live)"); and a query that is
      a candidate's title plus one version word ("Glass Rivers Acoustic") is not that song;
    - when two different songs tie for the best total (a cut title that both begin
      with), the query gets no answer rather than a coin toss.

    Returns the query row index with the match's track id and scores.
    """
    n = q_title.shape[0]
    if n == 0 or c_title.shape[0] == 0:
        return pd.DataFrame(columns=["row", "fma_track_id", "title_score", "artist_score", "total_score"])
    titles = (q_title @ c_title.T).toarray()
    k = min(CANDIDATES, titles.shape[1])
    cand = np.argpartition(-titles, k - 1, axis=1)[:, :k]
    rows = np.repeat(np.arange(n), k)
    t_score = titles[rows, cand.ravel()]
    a_score = np.asarray(q_artist[rows].multiply(c_artist[cand.ravel()]).sum(axis=1)).ravel()
    t_score, a_score = np.clip(t_score, 0, 1), np.clip(a_score, 0, 1)
    allowed = np.ones(t_score.shape, bool)
    if q_text is not None and c_text is not None:
        t_score, a_score, allowed = _check_text(q_text, c_text, rows, cand.ravel(), t_score, a_score)
    total = np.where(allowed, TITLE_WEIGHT * t_score + ARTIST_WEIGHT * a_score, -1.0).reshape(n, k)
    # Best total; ties go to the lowest track id, so reruns agree.
    ranked = np.lexsort((track_ids[cand], -total), axis=1)
    order = ranked[:, 0]
    pick = np.arange(n) * k + order
    if q_text is not None and c_text is not None and k > 1:
        # Two different songs tied for best (a cut title both begin with): no answer.
        second = np.arange(n) * k + ranked[:, 1]
        tied = np.flatnonzero(total.ravel()[second] == total.ravel()[pick])
        columns = [c_text[c].to_numpy(object) for c in ("title_norm", "version", "artist_norm")]
        a, b = cand.ravel()[pick[tied]], cand.ravel()[second[tied]]
        differ = np.zeros(tied.size, bool)
        for column in columns:
            differ |= column[a] != column[b]
        total.ravel()[pick[tied[differ]]] = -1.0
    out = pd.DataFrame({"row": np.arange(n), "fma_track_id": track_ids[cand.ravel()[pick]],
                        "title_score": t_score[pick].astype(np.float64),
                        "artist_score": a_score[pick].astype(np.float64),
                        "total_score": total.ravel()[pick].astype(np.float64)})
    return out[out["total_score"] >= max(threshold, 0.0)].reset_index(drop=True)


def _check_text(q_text, c_text, rows, cands, t_score, a_score):
    """The candidate checks of :func:`best_matches`: typos, cut titles, versions."""
    from rapidfuzz.distance import OSA

    from text_pipeline.normalize import VERSION_WORDS

    qt, qa = q_text["title_norm"].to_numpy(object)[rows], q_text["artist_norm"].to_numpy(object)[rows]
    qv, cut = q_text["version"].to_numpy(object)[rows], q_text["cut"].to_numpy(bool)[rows]
    ct, ca = c_text["title_norm"].to_numpy(object)[cands], c_text["artist_norm"].to_numpy(object)[cands]
    cv = c_text["version"].to_numpy(object)[cands]
    t_score, a_score = t_score.copy(), a_score.copy()

    def near(a, b) -> bool:  # one edit apart, but never another number ("part 2", "part 7")
        return (min(len(a), len(b)) >= TYPO_MIN_LENGTH and OSA.distance(a, b, score_cutoff=1) <= 1
                and _DIGITS.findall(a) == _DIGITS.findall(b))

    def lengths(texts):
        return np.fromiter(map(len, texts), np.int64, len(texts))

    # Length tests first, in numpy: only texts whose lengths differ by at most one can be
    # one edit apart, and a title plus a version word is longer by that word and a space.
    longer = lengths(qt) - lengths(ct)
    for score, q, c, gap in ((t_score, qt, ct, longer), (a_score, qa, ca, lengths(qa) - lengths(ca))):
        for i in np.flatnonzero((score < TYPO_SCORE) & (np.abs(gap) <= 1)):
            if near(q[i], c[i]):
                score[i] = TYPO_SCORE
    for i in np.flatnonzero(cut & (t_score < 1.0)):
        if len(qt[i]) >= 3 and ct[i].startswith(qt[i]):
            t_score[i] = 1.0
    allowed = (qv == cv) | cut
    word_lengths = [len(w) + 1 for w in VERSION_WORDS]
    for i in np.flatnonzero(allowed & ~cut & np.isin(longer, word_lengths)):  # "Glass Rivers Acoustic"
        if qt[i].startswith(ct[i] + " ") and qt[i][len(ct[i]) + 1:] in VERSION_WORDS:
            allowed[i] = False
    for i in np.flatnonzero(~allowed):
        if qv[i] and cv[i]:  # a typo in a remixer's name
            allowed[i] = near(qv[i], cv[i])
        elif cv[i]:  # the version without its brackets ("Atlantis Live"), perhaps with a typo
            full = f"{ct[i]} {cv[i]}"
            if qt[i] == full or near(qt[i], full):
                allowed[i] = True
                t_score[i] = max(t_score[i], 1.0 if qt[i] == full else TYPO_SCORE)
    return t_score, a_score, allowed


def sounds_of(videos):
    """One row per TikTok sound: music_id, song_title, artist_name, is_original."""
    from pyspark.sql import functions as F

    return (videos.groupBy("music_id")
            .agg(F.min("song_title").alias("song_title"), F.min("artist_name").alias("artist_name"),
                 F.max("is_original").alias("is_original")))


def match_sounds(spark, sounds, songs: pd.DataFrame, models, threshold: float):
    """Each sound's best song in ``songs`` (track_id, title, artist), where it clears ``threshold``.

    The one matcher: original sounds and sounds without a title are skipped, both sides
    go through the one normaliser and the same TF-IDF ``models``, and each batch of
    sounds is scored on the executors against the broadcast song matrices. Returns the
    matches (song_id, tiktok_music_id, title_score, artist_score, total_score), still
    lazy, and the broadcast, which the caller destroys once the matches are written.
    """
    from pyspark.sql import functions as F

    to_score = with_normalised_text(sounds, "song_title", "artist_name").filter(
        ~_original_sound("song_title", "is_original") & (F.col("title_norm") != ""))
    matrices = spark.sparkContext.broadcast(catalogue_matrices(spark, songs, models))
    matches = vectorise(to_score, models).select("music_id", "title_vec", "artist_vec", *TEXT_COLUMNS).mapInPandas(
        lambda it: _score_batches(it, matrices, threshold),
        "song_id long, tiktok_music_id string, title_score double, "
        "artist_score double, total_score double")
    return matches, matrices


def _score_batches(batches, catalogue, threshold):
    track_ids, c_title, c_artist, c_text = catalogue.value
    for batch in batches:
        found = best_matches(_csr(batch["title_vec"]), _csr(batch["artist_vec"]), c_title,
                             c_artist, track_ids, threshold, batch[list(TEXT_COLUMNS)], c_text)
        yield pd.DataFrame({
            "song_id": found["fma_track_id"].astype("int64"),
            "tiktok_music_id": batch["music_id"].to_numpy()[found["row"].to_numpy(int)],
            "title_score": found["title_score"], "artist_score": found["artist_score"],
            "total_score": found["total_score"],
        })


# --- the job ---------------------------------------------------------------------------------


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
    ``catalogue`` is ``tracks`` already read by :func:`batch.metadata.read_tracks`.

    ``sound_audio`` (``fetch``, a folder or an S3 prefix) also listens to the sounds
    (:mod:`text_pipeline.listen`), identifying them against the peaks in ``features``
    (``batch.featurize``'s output); that step is incremental on its own.
    """
    if not 0.0 <= threshold <= 1.0:
        raise MatchError(f"--threshold must be in [0, 1], got {threshold}")
    if sound_audio is not None and features is None:
        raise MatchError("--sound-audio needs --features: the batch.featurize output with the "
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
            from batch.spark import get_spark

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
        from text_pipeline import listen

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
            swap_in(staging / name, out / name)
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
    from batch.load import output_version
    from text_pipeline.listen import combine

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
    swap_in(staging / "matches", out / "matches")
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
    from text_pipeline.parse import VIDEO_COLUMNS, parse, rejects_of, videos_of

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
        prog="python -m text_pipeline.match",
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
    parser.add_argument("--features", help="the batch.featurize output folder (its clips' peaks are "
                        "what sounds are identified against); needed with --sound-audio")
    add_cluster_options(parser)
    return parser


def add_listen_options(parser) -> None:
    """The options that make a job listen to the sounds, shared by match and batch.reprocess."""
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
    from batch.metadata import MetadataError
    from text_pipeline.listen import ListenError

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
