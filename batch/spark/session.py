"""One way to build a SparkSession, shared by every job.

``master`` is ``local[*]`` by default; pass ``spark://host:7077`` (or leave it to
``spark-submit``) to run on a cluster. On a local master the session binds to
loopback and its Python workers use this interpreter and see this project.
"""

from __future__ import annotations

import os
import sys

from batch import PROJECT_ROOT


def get_spark(app_name: str, master: str | None = None):
    """Return a SparkSession for ``app_name`` on ``master`` (default: what spark-submit set, else local[*])."""
    from pyspark.sql import SparkSession

    submitted = "PYSPARK_GATEWAY_PORT" in os.environ  # spark-submit started the JVM
    if master is None and not submitted:
        master = "local[*]"
    if master is None or master.startswith("local"):
        # Workers must run this interpreter (it has numpy, librosa...) and import
        # this project; on loopback Spark does not pick an odd interface.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        paths = [str(PROJECT_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))

    builder = (
        SparkSession.builder.appName(app_name)
        # Local mode runs everything in the driver's JVM: 1g (the default) is too little
        # for the broadcast catalogue and cached frames. Ignored once a JVM is running.
        .config("spark.driver.memory", os.environ.get("SPARK_DRIVER_MEMORY", "4g"))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # Spark's progress bar redraws one line: useful in a terminal, noise in a log.
        .config("spark.ui.showConsoleProgress", str(sys.stderr.isatty()).lower())
        # Adaptive execution sizes shuffles to the data (it is on by default since Spark
        # 3.2; said here so a cluster that turned it off gets it back for these jobs).
        .config("spark.sql.adaptive.enabled", "true")
    )
    local = local_cores(master) if not submitted else None
    if local is not None and "SPARK_SQL_SHUFFLE_PARTITIONS" not in os.environ:
        # On one machine, 200 shuffle tasks of a few rows each cost more than they
        # share: four per core. A cluster, spark-submit and EMR keep their own setting.
        builder = builder.config("spark.sql.shuffle.partitions", str(4 * local))
    elif os.environ.get("SPARK_SQL_SHUFFLE_PARTITIONS"):
        builder = builder.config("spark.sql.shuffle.partitions", os.environ["SPARK_SQL_SHUFFLE_PARTITIONS"])
    if master:
        builder = builder.master(master)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def local_cores(master: str | None) -> int | None:
    """The cores a ``local``, ``local[N]`` or ``local[*]`` master uses; None for a cluster."""
    if not master or not master.startswith("local"):
        return None
    if master == "local":
        return 1
    inside = master[len("local"):].strip("[]").split(",")[0]
    if inside in ("", "*"):
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, int(inside)) if inside.isdigit() else 1


def add_cluster_options(parser) -> None:
    """The options every job shares: where Spark runs and which S3 endpoint inputs come from."""
    parser.add_argument("--master", help="Spark master URL, e.g. spark://host:7077 "
                        "(default: local[*], or what spark-submit set)")
    parser.add_argument("--s3-endpoint", dest="endpoint_url", default=os.environ.get("AWS_ENDPOINT_URL"),
                        help="endpoint of an S3-compatible store (default: $AWS_ENDPOINT_URL, else AWS); "
                        "credentials come from the standard AWS chain")
