"""Progress of a long Spark step, read from Spark's status tracker: done/total, rate and ETA.

    with progress(spark, "[featurize] featurizing", log, units=("files", n_files)):
        ...  # the actions of the step

While the block runs, a daemon thread asks the driver's status tracker about the active
jobs' stages every :data:`EVERY` seconds and logs one line, for example::

    [featurize] featurizing: 120/400 tasks (≈ 3,000/10,000 files), 4.1 tasks/s, ETA 1 min 8 s

It never touches the data. ``units`` converts tasks into what the user counts, when
the step spreads that evenly over its tasks. Lines go through ``log`` (``print`` by
default), so they reach a terminal and a log file alike.
"""

from __future__ import annotations

import contextlib
import threading
import time

EVERY = 10.0
"""Seconds between progress lines (the issue asks for at most 15)."""


def status(spark) -> tuple[int, int]:
    """(tasks done, tasks in all) over the running jobs' stages that run or ran.

    A job also lists the stages it will skip (their shuffle output exists already);
    counting those would promise tasks that never come.
    """
    tracker = spark.sparkContext.statusTracker()
    active = set(tracker.getActiveStageIds())
    done = total = 0
    for job_id in tracker.getActiveJobsIds():
        job = tracker.getJobInfo(job_id)
        for stage_id in (job.stageIds if job else []):
            stage = tracker.getStageInfo(stage_id)
            if stage is not None and (stage_id in active or stage.numCompletedTasks >= stage.numTasks):
                done += stage.numCompletedTasks
                total += stage.numTasks
    return done, total


def line(label: str, done: int, total: int, rate: float, units: tuple[str, int] | None = None) -> str:
    """One progress line; ``rate`` is tasks per second."""
    text = f"{label}: {done:,}/{total:,} tasks"
    if units and total:
        name, n = units
        text += f" (≈ {round(n * done / total):,}/{n:,} {name})"
    text += f", {rate:.1f} tasks/s" if rate >= 1 else f", {rate * 60:.1f} tasks/min"
    if rate > 0 and total > done:
        text += f", ETA {_duration((total - done) / rate)}"
    return text


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    return f"{minutes // 60} h {minutes % 60} min"


@contextlib.contextmanager
def progress(spark, label: str, log=print, *, units: tuple[str, int] | None = None, every: float = EVERY):
    """Log ``label``'s progress every ``every`` seconds while the block runs."""
    stop = threading.Event()

    def watch():
        seen = None  # (total, when first seen, done then): a new job restarts the rate
        while not stop.wait(every):
            try:
                done, total = status(spark)
            except Exception:  # noqa: BLE001 - the session is stopping: nothing to report
                return
            if total == 0:
                continue
            now = time.monotonic()
            if seen is None or seen[0] != total:
                seen = (total, now - every, 0)  # it started at most one interval ago
            rate = (done - seen[2]) / max(now - seen[1], 1e-9)
            log(line(label, done, total, rate, units))

    thread = threading.Thread(target=watch, name=f"progress {label}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)
