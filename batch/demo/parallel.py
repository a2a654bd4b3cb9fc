"""Run the demo's generation on every core, with a progress line."""

from __future__ import annotations

import multiprocessing
import os
import time

PROGRESS_SECONDS = 10.0


def in_parallel(function, jobs: list[tuple], workers: int | None, what: str, log=None) -> None:
    """``function(*job)`` for every job on ``workers`` processes; with ``log``, a line of
    done/total, rate and time left every :data:`PROGRESS_SECONDS`, and one at the end."""
    started = last = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(workers or os.cpu_count()) as pool:
        for done, _ in enumerate(pool.imap_unordered(_apply, [(function, job) for job in jobs]), 1):
            now = time.perf_counter()
            if log and (now - last >= PROGRESS_SECONDS or done == len(jobs)):
                last, rate = now, done / max(now - started, 1e-9)
                left = f", about {(len(jobs) - done) / rate:.0f} s left" if done < len(jobs) else ""
                log(f"[demo] {what}: {done:,}/{len(jobs):,} ({rate:.1f}/s{left})")


def _apply(job):
    function, args = job
    return function(*args)
