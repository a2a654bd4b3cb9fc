"""Can a song's audio predict its popularity? Spark MLlib models on the 245-number vectors.

Two targets, each a log so that a few huge hits do not dominate:

``tiktok_plays``
    log10(1 + plays) summed over the TikTok videos of every sound matched to a catalogue
    song; only songs TikTok uses (matched songs) take part.
``fma_listens``
    log10(1 + listens) of every catalogue song, from FMA's ``tracks.csv``.

Each model is a ridge linear regression (MLlib ``LinearRegression``, standardised
features, ``elasticNetParam=0``) whose penalty is chosen among :data:`REG_PARAMS` by an
inner 3-fold ``CrossValidator`` on the training songs only. It is judged by an outer
k-fold cross-validation against the baseline that predicts the training folds' mean: r² and mean absolute error (MAE, in
log10 units, so an MAE of 0.5 means off by a factor of about 3) over the out-of-fold
predictions. Folds are a hash of the track id, so reruns agree.

The final model is fitted on every song. Its intercept and coefficients (on the raw
features) go to the store with the cross-validated figures and the 10th and 90th
percentiles of the out-of-fold residuals, which turn a prediction into an 80 % range.
The web app needs no Spark for that: :func:`predict` is a dot product.

``python -m batch.jobs.popularity --features WORK/features [--matched WORK/tiktok] [--load]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from batch.core.features import N_FEATURES

TARGETS = {
    "tiktok_plays": "TikTok plays of the songs' matched sounds",
    "fma_listens": "FMA listens",
}
REG_PARAMS = (0.01, 0.1, 1.0, 10.0)
"""Ridge penalties (on standardised features) tried by the inner cross-validation."""
MAX_FOLDS = 20
"""Most outer cross-validation folds accepted."""
INNER_FOLDS = 3
RANGE = (0.10, 0.90)
"""Out-of-fold residual percentiles that make the prediction range: an 80 % range."""
MIN_SONGS = 20
BARELY = 0.1
"""Below this cross-validated r², the report and the web app say audio barely predicts the target."""


class PopularityError(ValueError):
    """The inputs cannot be used; the message says why."""


@dataclass
class Evaluation:
    """One target's cross-validated figures and its final model."""

    target: str
    songs: int
    folds: int
    r2: float
    mae: float
    baseline_r2: float
    baseline_mae: float
    fold_r2: list[float]
    reg_param: float
    intercept: float
    coefficients: list[float] = field(repr=False)
    residual_low: float
    residual_high: float

    @property
    def barely(self) -> bool:
        return self.r2 < BARELY

    def line(self) -> str:
        verdict = ("audio barely predicts it" if self.barely else
                   f"audio explains about {self.r2:.0%} of its variance")
        return (f"{TARGETS[self.target]} ({self.songs:,} songs, {self.folds}-fold CV, ridge penalty "
                f"{self.reg_param:g}): r² {self.r2:.3f} "
                f"(mean baseline {self.baseline_r2:.3f}), MAE {self.mae:.3f} log10 units "
                f"(baseline {self.baseline_mae:.3f}): {verdict}")


# --- the data --------------------------------------------------------------------------------


def check_inputs(features: str | Path, matched: str | Path | None = None, *, folds: int = 5,
                 report: str | Path | None = None) -> None:
    """Refuse what would fail later, before Spark starts: PopularityError says what to give."""
    features = Path(features)
    if not (features / "vectors").is_dir():
        raise PopularityError(f"{features}/vectors does not exist: give the folder batch.jobs.featurize wrote")
    if matched is not None:
        for name in ("tiktok", "matches"):
            if not (Path(matched) / name).is_dir():
                raise PopularityError(f"{matched}/{name} does not exist: give the folder "
                                      "python -m text_pipeline.jobs.match wrote (its --out)")
    elif not (features / "tracks").is_dir():
        raise PopularityError(f"{features}/tracks does not exist and no --matched folder was given: "
                              "nothing to predict")
    if not 2 <= folds <= MAX_FOLDS:
        raise PopularityError(f"--folds must be at least 2 and at most {MAX_FOLDS}, got {folds}")
    if report is not None and not Path(report).resolve().parent.is_dir():
        raise PopularityError(f"cannot write --report {report}: its folder does not exist")


def song_targets(spark, features: str | Path, matched: str | Path | None = None) -> dict:
    """Per target, a Spark frame of (track_id, features vector, y) from the pipeline outputs.

    ``features`` is what ``batch.jobs.featurize`` wrote (vectors/ and tracks/); ``matched``
    what ``text_pipeline.jobs.match`` wrote (tiktok/ and matches/).
    """
    from pyspark.ml.functions import array_to_vector
    from pyspark.sql import functions as F

    features, out = Path(features), {}
    check_inputs(features, matched)
    vectors = spark.read.parquet(str(features / "vectors")).select(
        "track_id", array_to_vector(F.col("vector").cast("array<double>")).alias("features"))
    if (features / "tracks").exists():
        listens = spark.read.parquet(str(features / "tracks")).select("track_id", "listens").where("listens >= 0")
        out["fma_listens"] = vectors.join(listens, "track_id").select(
            "track_id", "features", F.log10(1 + F.col("listens")).alias("y"))
    if matched is not None:
        matched = Path(matched)
        plays = (spark.read.parquet(str(matched / "matches"))
                 .join(spark.read.parquet(str(matched / "tiktok")).select("music_id", "play_count"),
                       F.col("tiktok_music_id") == F.col("music_id"))
                 .groupBy(F.col("fma_track_id").alias("track_id"))
                 .agg(F.sum(F.coalesce("play_count", F.lit(0))).alias("plays")))
        out["tiktok_plays"] = vectors.join(plays, "track_id").select(
            "track_id", "features", F.log10(1 + F.col("plays")).alias("y"))
    return out


# --- training and evaluation -----------------------------------------------------------------


def evaluate(data, target: str, *, folds: int = 5, seed: int = 7) -> Evaluation:
    """k-fold cross-validation of the ridge model against the mean baseline, then the final fit."""
    from pyspark.sql import functions as F

    if folds < 2:
        raise PopularityError(f"--folds must be at least 2, got {folds}")
    data = data.withColumn("fold", F.abs(F.xxhash64("track_id", F.lit(seed))) % folds).cache()
    try:
        songs = data.count()
        if songs < max(MIN_SONGS, 2 * folds):
            raise PopularityError(f"{TARGETS[target]}: {songs} songs, too few to train and cross-validate "
                                  f"(need at least {max(MIN_SONGS, 2 * folds)})")
        held_out = []
        for fold in range(folds):
            train, test = data.filter(F.col("fold") != fold), data.filter(F.col("fold") == fold)
            mean = train.agg(F.avg("y")).first()[0]
            predicted = _fit(train, seed).transform(test).select("fold", "y", "prediction").toPandas()
            held_out.append(predicted.assign(baseline=mean))
        oof = pd.concat(held_out, ignore_index=True)
        final = _fit(data, seed)
    finally:
        data.unpersist()
    residuals = oof["y"] - oof["prediction"]
    low, high = np.quantile(residuals, RANGE)
    return Evaluation(
        target=target, songs=songs, folds=folds,
        r2=r2(oof["y"], oof["prediction"]), mae=float(np.mean(np.abs(residuals))),
        baseline_r2=r2(oof["y"], oof["baseline"]),
        baseline_mae=float(np.mean(np.abs(oof["y"] - oof["baseline"]))),
        fold_r2=[round(r2(g["y"], g["prediction"]), 4) for _, g in oof.groupby("fold")],
        reg_param=float(final.getRegParam()),
        intercept=float(final.intercept), coefficients=[float(c) for c in final.coefficients],
        residual_low=float(low), residual_high=float(high))


def _fit(frame, seed: int = 7):
    """The ridge model with the penalty that an inner cross-validation on ``frame`` prefers."""
    from pyspark.ml.evaluation import RegressionEvaluator
    from pyspark.ml.regression import LinearRegression
    from pyspark.ml.tuning import CrossValidator, ParamGridBuilder

    ridge = LinearRegression(featuresCol="features", labelCol="y", elasticNetParam=0.0,
                             standardization=True)
    search = CrossValidator(
        estimator=ridge, estimatorParamMaps=ParamGridBuilder().addGrid(ridge.regParam, REG_PARAMS).build(),
        evaluator=RegressionEvaluator(labelCol="y", metricName="rmse"), numFolds=INNER_FOLDS,
        seed=seed, parallelism=2)
    return search.fit(frame.drop("fold")).bestModel


def r2(y, predicted) -> float:
    """Coefficient of determination: 1 - SSE / SST (0 for the mean, negative when worse)."""
    y, predicted = np.asarray(y, float), np.asarray(predicted, float)
    total = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - predicted) ** 2)) / total if total > 0 else 0.0


# --- prediction, without Spark ---------------------------------------------------------------


def predict(model: dict, features: np.ndarray) -> dict:
    """A model row's prediction for one raw 245-number vector: the value and its 80 % range.

    ``model`` has intercept, coefficients, residual_low and residual_high (log10 units).
    Returns the prediction and range back on the original scale (plays or listens).
    """
    x = np.asarray(features, np.float64).ravel()
    if x.shape != (N_FEATURES,):
        raise ValueError(f"expected {N_FEATURES} features, got {x.shape}")
    log_value = model["intercept"] + float(np.dot(model["coefficients"], x))
    values = {"value": log_value, "low": log_value + model["residual_low"],
              "high": log_value + model["residual_high"]}
    return {name: max(0.0, 10 ** v - 1) for name, v in values.items()}


def stored_models(conn) -> dict[str, dict]:
    """The stored models by target, for :func:`predict`; empty when none was trained."""
    import psycopg2

    with conn.cursor() as cur:
        try:
            cur.execute("""SELECT target, songs, folds, r2, mae, baseline_r2, baseline_mae, intercept,
                                  coefficients, residual_low, residual_high FROM popularity_models""")
        except psycopg2.errors.UndefinedTable:  # a store no load has migrated to 007 yet
            conn.rollback()
            return {}
        columns = [d[0] for d in cur.description]
        return {row[0]: dict(zip(columns, row)) for row in cur.fetchall()}


# --- the command -----------------------------------------------------------------------------


def inputs_version(features, matched=None, *, folds: int = 5, seed: int = 7) -> str:
    """What a stored training came from: the featurize and match outputs' files, folds and seed."""
    from batch.store.load import output_version

    parts = [Path(features) / "vectors", Path(features) / "tracks"]
    parts += [Path(matched) / "tiktok", Path(matched) / "matches"] if matched else []
    return f"{output_version(*parts)}.folds{folds}.seed{seed}"


def run(features, matched=None, *, folds: int = 5, seed: int = 7, load: bool = False,
        report: str | Path | None = None, master: str | None = None, spark=None, log=print,
        force: bool = False) -> list[Evaluation]:
    """Train and cross-validate every target the inputs allow; optionally save a report and load.

    A load whose inputs are those of the stored models (:func:`inputs_version`) is skipped,
    without Spark, and returns no evaluation, unless ``force`` or a ``report`` is asked for.
    """
    check_inputs(features, matched, folds=folds, report=report)
    version = inputs_version(features, matched, folds=folds, seed=seed)
    if load and not report and not force:
        from batch.store.load import unchanged

        if unchanged("popularity", version):
            log("[popularity] the stored models were trained on these very inputs: nothing to do "
                "(--force trains again)")
            return []
    if spark is None:
        from batch.spark.session import get_spark

        spark = get_spark("popularity", master)
    data = song_targets(spark, features, matched)
    if not data:
        raise PopularityError(f"{features}/tracks does not exist and no --matched folder was given: "
                              "nothing to predict")
    evaluations = []
    for target, frame in data.items():
        started = time.perf_counter()
        log(f"[popularity] {TARGETS[target]}: {folds}-fold cross-validation")
        evaluation = evaluate(frame, target, folds=folds, seed=seed)
        log(f"[popularity] {evaluation.line()} ({time.perf_counter() - started:.0f} s)")
        evaluations.append(evaluation)
    if report:
        Path(report).write_text(json.dumps([asdict(e) for e in evaluations], indent=1))
        log(f"[popularity] wrote {report}")
    if load:
        from batch.store.load import into_store, load_popularity

        log(f"[popularity] {into_store(load_popularity, evaluations, version=version).line()}")
    return evaluations


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m batch.jobs.popularity",
        description="Train Spark MLlib ridge regressions that predict a song's popularity (log10 "
        "TikTok plays of matched songs, log10 FMA listens) from its 245 audio features, and judge "
        "them by k-fold cross-validation against the mean.")
    parser.add_argument("--features", required=True, metavar="DIR",
                        help="the folder batch.jobs.featurize wrote (vectors/, tracks/); batch.jobs.reprocess: WORK/features")
    parser.add_argument("--matched", metavar="DIR",
                        help="the folder text_pipeline.jobs.match wrote (tiktok/, matches/); batch.jobs.reprocess: "
                        "WORK/tiktok. Without it only FMA listens are modelled")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the fold assignment (default 7)")
    parser.add_argument("--report", metavar="FILE", help="write the figures and models as JSON")
    parser.add_argument("--load", action="store_true",
                        help="store the models (DATABASE_URL, else the embedded PostgreSQL), so the "
                        "web app shows a predicted range for uploads")
    parser.add_argument("--force", action="store_true",
                        help="with --load, train even when the stored models came from the same inputs")
    parser.add_argument("--master", help="Spark master URL, e.g. spark://host:7077 (default: local[*])")
    args = parser.parse_args(argv)
    from batch.store.db import StoreError
    from batch.store.load import LoadError

    try:
        evaluations = run(args.features, args.matched, folds=args.folds, seed=args.seed, load=args.load,
                          report=args.report, master=args.master, force=args.force)
    except (PopularityError, StoreError, LoadError, OSError) as e:
        print(f"popularity: error: {e}", file=sys.stderr)
        return 2
    for e in evaluations:
        print(e.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
