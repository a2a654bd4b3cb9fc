"""Which catalogue song a TikTok sound names: TF-IDF over titles and artists, with Spark ML.

Titles and artists are vectorised with TF-IDF over words and character trigrams (Spark
ML: tokenizers, ``NGram``, ``HashingTF``, ``IDF``, ``Normalizer``), one model for titles
and one for artists, both fitted on the catalogue and saved for reuse. Both sides are
normalised by :mod:`text_pipeline.core.normalize` first. Each batch of sounds is then
multiplied with the broadcast catalogue matrix on the executors (a sparse product, no
blocking on the first letter), the :data:`CANDIDATES` best titles are kept, their
artists are compared, and

    total_score = TITLE_WEIGHT * title_score + ARTIST_WEIGHT * artist_score

with both scores the cosine similarity of the TF-IDF vectors, in [0, 1]. Each sound
gets its best song, and only when ``total_score >= threshold``. The job around it is
:mod:`text_pipeline.jobs.match`.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from batch.spark.outputs import swap_folder

TITLE_WEIGHT = 0.6
ARTIST_WEIGHT = 0.4
DEFAULT_THRESHOLD = 0.7
"""Chosen on the labelled benchmark (tests/benchmarks/bench_match.py)."""
CANDIDATES = 20
"""Best titles per sound whose artists are compared."""
NUM_FEATURES = 1 << 20

class MatchError(ValueError):
    """The inputs cannot be used; the message says why."""


# --- the catalogue and its models ------------------------------------------------------------


def read_catalogue(tracks_csv: str, genres_csv: str | None = None) -> pd.DataFrame:
    """track_id, title, artist of every catalogue track, sorted by track_id."""
    from batch.core import metadata as md

    tracks = md.read_tracks(tracks_csv, md.read_genres(md.genres_for(tracks_csv, genres_csv)))
    return tracks[["track_id", "title", "artist"]].sort_values("track_id", ignore_index=True)


def with_normalised_text(df, title: str = "title", artist: str = "artist"):
    """Add ``title_norm``, ``artist_norm``, ``version`` and ``cut``: the one normaliser,
    applied on the executors (:mod:`text_pipeline.core.normalize`)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import BooleanType, StringType

    from text_pipeline.core.normalize import clean_artist, clean_title, is_cut, version_of

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

    from text_pipeline.core.normalize import is_original_sound

    @F.pandas_udf(BooleanType())
    def original(titles: pd.Series, flags: pd.Series) -> pd.Series:
        return pd.Series([is_original_sound(t, bool(f)) for t, f in zip(titles, flags)])

    return original(title, flag)


def tfidf_pipeline(field: str):
    """TF-IDF over words and character trigrams of ``{field}_norm``, L2-normalised."""
    from pyspark.ml import Pipeline
    from pyspark.ml.feature import IDF, HashingTF, NGram, Normalizer, RegexTokenizer, SQLTransformer

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
    swap_folder(staging, model_dir)
    return models


def load_models(model_dir: Path):
    """The title and artist models that :func:`fitted_models` saved in ``model_dir``."""
    from pyspark.ml import PipelineModel

    model_dir = Path(model_dir)
    if not (model_dir / "catalogue.sha256").exists():
        raise MatchError(f"{model_dir} holds no TF-IDF models: run python -m text_pipeline.jobs.match first")
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
    - a candidate of another version (:func:`text_pipeline.core.normalize.version_of`) is no
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

    from text_pipeline.core.normalize import VERSION_WORDS

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
