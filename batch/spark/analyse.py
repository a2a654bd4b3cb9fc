"""Audio files analysed on the executors: the one Spark loop of featurize and listening.

Both the catalogue's songs (:mod:`batch.jobs.featurize`) and the TikTok sounds
(:mod:`batch.listening.listen`) are files to decode and describe with
:func:`batch.core.fingerprint.analyse`: the 245-number vector of the middle 30 s and the
spectral peaks of all that is listened to. :func:`analyse_files` runs it in Arrow
batches of a few files (``mapInPandas``); a file that cannot be used gets its reason
in ``error`` instead of failing the job.
"""

from __future__ import annotations

import pandas as pd

from batch.spark.sources import Reader

ANALYSIS_DDL = ("vector array<float>, peak_t array<smallint>, peak_f array<float>, "
                "peak_rank array<tinyint>, duration double, heard double, error string, "
                "computed_at timestamp")
"""What each file gets besides its key columns."""
STYLE_DDL = ("style array<float>, bpm double, key_tonic tinyint, key_mode string, "
             "key_confidence double")
"""What a catalogue song gets besides (``style=True``): :class:`batch.core.style.Style`."""
STYLE_COLUMNS = [c.split()[0] for c in STYLE_DDL.split(", ")]
ANALYSIS_COLUMNS = [c.split()[0] for c in ANALYSIS_DDL.split(", ")]
FILES_PER_BATCH = 8
"""Files per Arrow batch: a batch's decoded audio stays small, and the tasks stay balanced."""


def analyse_files(spark, files: pd.DataFrame, key_ddl: str, *, endpoint_url: str | None = None,
                  reference: bool = False, style: bool = False):
    """A Spark DataFrame: ``files``' key columns (``key_ddl``, with ``source_path``) and
    :data:`ANALYSIS_DDL`, one row per file. ``reference`` keeps only the sparser peaks a
    catalogue song is indexed with (:meth:`batch.core.fingerprint.Peaks.reference`);
    ``style`` adds :data:`STYLE_DDL`, from the same decoded window as the vector."""
    keys = [c.split()[0] for c in key_ddl.split(", ")]
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(FILES_PER_BATCH))
    parts = max(1, min(len(files), spark.sparkContext.defaultParallelism * 4))
    return (spark.createDataFrame(files[keys], key_ddl).repartition(parts)
            .mapInPandas(lambda it: _analyse_batches(it, keys, endpoint_url, reference, style),
                         f"{key_ddl}, {ANALYSIS_DDL}" + (f", {STYLE_DDL}" if style else "")))


def _analyse_batches(batches, keys, endpoint_url, reference, style):
    from batch.core.audio import AudioError
    from batch.core.fingerprint import analyse
    from batch.core.style import describe

    reader = Reader(endpoint_url)
    for batch in batches:
        rows, styles = [], []
        for path in batch["source_path"]:
            found = None
            try:
                vector, peaks, clip = analyse(reader.read(path))
                if reference:
                    peaks = peaks.reference()
                if style:
                    found = describe(clip.y, clip.sr, vector)
                rows.append((vector, peaks.t, peaks.lf, peaks.rank, clip.duration, clip.heard, None))
            except AudioError as e:
                rows.append((None,) * 6 + (str(e),))
            except Exception as e:  # an unreadable object must not fail the job
                rows.append((None,) * 6 + (f"{type(e).__name__}: {e}",))
            styles.append((None,) * 5 if found is None else (
                found.embedding, found.bpm, found.tonic, found.mode, found.key_confidence))
        out = batch[keys].copy()
        for i, name in enumerate(ANALYSIS_COLUMNS[:-1]):
            out[name] = [r[i] for r in rows]
        out["computed_at"] = pd.Timestamp.now(tz="UTC")
        if style:
            for i, name in enumerate(STYLE_COLUMNS):
                values = [r[i] for r in styles]
                out[name] = pd.array(values, dtype="Int8") if name == "key_tonic" else values
        yield out
