"""Progress lines of long Spark steps come from Spark's status tracker; shuffles fit the master."""

from __future__ import annotations

import re
import time

from batch.spark.progress import line, progress
from batch.spark.session import local_cores


def _slow(batches):
    for batch in batches:
        time.sleep(0.3)
        yield batch


def test_a_running_job_reports_done_total_rate_and_eta(spark):
    lines = []
    frame = spark.range(0, 24, numPartitions=12).mapInPandas(_slow, "id long")
    with progress(spark, "[test] sleeping", lines.append, units=("rows", 24), every=0.5):
        assert frame.count() == 24
    assert lines, "no progress line while the job ran"
    # Adaptive execution runs the 12 map tasks as one job and the final count as another.
    pattern = re.compile(r"^\[test\] sleeping: (\d+)/(\d+) tasks \(≈ (\d+)/24 rows\), [\d.]+ tasks/(s|min)")
    totals = set()
    for text in lines:
        found = pattern.match(text)
        assert found, text
        done, total, rows = int(found[1]), int(found[2]), int(found[3])
        assert 0 <= done <= total and rows == round(24 * done / total)
        totals.add(total)
    assert 12 in totals, lines
    stopped = len(lines)
    time.sleep(1.0)
    assert len(lines) == stopped  # nothing after the block


def test_progress_line_wording():
    assert line("[x] y", 30, 120, 2.0) == "[x] y: 30/120 tasks, 2.0 tasks/s, ETA 45 s"
    assert line("[x] y", 30, 4000, 0.5, ("files", 8000)) == (
        "[x] y: 30/4,000 tasks (≈ 60/8,000 files), 30.0 tasks/min, ETA 2 h 12 min")
    assert line("[x] y", 5, 5, 1.0) == "[x] y: 5/5 tasks, 1.0 tasks/s"


def test_shuffle_partitions_follow_the_local_master_and_leave_clusters_alone(spark):
    assert spark.conf.get("spark.sql.shuffle.partitions") == "8"  # local[2]: four per core
    assert spark.conf.get("spark.sql.adaptive.enabled") == "true"
    assert local_cores("local[3]") == 3 and local_cores("local") == 1 and local_cores("local[*]") >= 1
    assert local_cores("spark://host:7077") is None and local_cores("yarn") is None
