"""The same behaviour tests on every backend that can run here: local child processes, ssh to
root@localhost, a SLURM job array and an SGE qsub array job (the daemons that
``ci/start_schedulers.sh`` brings up). A backend whose commands or daemon are missing is
skipped, saying why.

For each backend, with the real worker (``python -m netpool.worker``):

1. a Manager runs ~30 tasks; every result arrives once, from a worker inside the backend;
2. a DistributedPool does the same with ``map`` and ``imap_unordered``;
3. one worker killed from the outside, as an admin would (``scancel JOB_TASK``,
   ``qdel JOB -t TASK``, SIGKILL), mid-task: its tasks are rerun, every result arrives once;
4. closing the manager / pool leaves no job in the queue and no worker process;
5. the authkey is on no process's command line, in no job script and in no output file;
6. a manager killed with SIGKILL (links close) or frozen with SIGSTOP (only the heartbeats
   tell) leaves no worker and no job behind, within the heartbeat timeout and a margin.

"Where a task ran" is proved by the task itself: it returns the scheduler's variables
(``SSH_CONNECTION``, ``SLURM_ARRAY_JOB_ID``, ``JOB_ID``) and the names of its ancestor processes
(``sshd``, ``slurmstepd``, ``sge_shepherd``, or the manager for a local worker). Every wait polls
a condition with a deadline; sleeps only pace those polls (and the tasks' own work).
"""

from __future__ import annotations

import collections
import glob
import json
import os
import select
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Optional

import pytest

HERE = Path(__file__).resolve().parent
SRC = str(HERE.parents[1] / "src")

BACKENDS = ("local", "ssh", "slurm", "sge")
HEARTBEAT = 5.0        # seconds: the heartbeat_timeout of every manager and pool here
CONNECT = 60.0         # seconds a worker may take to connect (a stuck queue fails, never hangs)
SLURM_OPTIONS = "--time=5"
JOB_NAME = f"npb{os.getpid() % 100000}"  # every job of this run, replacements included
SSH_OPTIONS = ("-o", "ConnectTimeout=10")
WHERE_VARS = ("SSH_CONNECTION", "SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID",
              "JOB_ID", "SGE_TASK_ID")
ANCESTOR = {"ssh": "sshd", "slurm": "slurmstepd", "sge": "sge_shepherd"}


# --- helpers (also imported by the manager script of test 6) ----------------------------------

def pool_python() -> str:
    """The manager's interpreter, able to import netpool on the nodes (same machine here)."""
    return f"env PYTHONPATH={shlex.quote(SRC)} {shlex.quote(sys.executable)}"


def make_launchers(backend: str, n: int) -> list:
    import netpool
    if backend == "local":
        return [netpool.LocalWorker() for _ in range(n)]
    if backend == "ssh":  # root: sshworker cannot read the interpreter under /root (mode 700)
        return [netpool.SSHWorker("localhost", user="root", ssh_options=SSH_OPTIONS)
                for _ in range(n)]
    if backend == "slurm":
        return [netpool.SLURMWorkerArray(n, SLURM_OPTIONS, job_name=JOB_NAME)]
    if backend == "sge":
        return [netpool.SGEQsubWorkerArray(n, job_name=JOB_NAME)]
    raise ValueError(backend)


def make_probe(markers: Optional[str] = None, seconds: float = 0.0):
    """A task ``probe(i)`` that says where it ran.

    Built in a function so that cloudpickle sends it by value (workers need not import this
    module). With ``markers`` (a folder): it writes ``start.I.TAG.PID`` when it starts, runs at
    least ``seconds``, and then keeps running while ``hold.TAG`` exists, after writing
    ``holding.I.TAG.PID``. TAG names the worker: ``JOB_TASK`` (SLURM), ``JOB-TASK`` (SGE),
    else its pid; a replacement job's worker has a TAG of its own.
    """
    def probe(i):
        import os
        import time
        env = {k: os.environ.get(k) for k in ("SSH_CONNECTION", "SLURM_JOB_ID",
                                               "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID",
                                               "JOB_ID", "SGE_TASK_ID", "SLURM_JOB_NAME",
                                               "JOB_NAME")}
        pid = os.getpid()
        if env["SLURM_ARRAY_TASK_ID"]:
            tag = f"{env['SLURM_ARRAY_JOB_ID']}_{env['SLURM_ARRAY_TASK_ID']}"
        elif env["SGE_TASK_ID"]:
            tag = f"{env['JOB_ID']}-{env['SGE_TASK_ID']}"
        else:
            tag = str(pid)
        if markers:
            open(os.path.join(markers, f"start.{i}.{tag}.{pid}"), "w").close()
        end = time.monotonic() + seconds
        holding = False
        while time.monotonic() < end or (
                markers and os.path.exists(os.path.join(markers, f"hold.{tag}"))):
            if time.monotonic() >= end and not holding:
                holding = True
                open(os.path.join(markers, f"holding.{i}.{tag}.{pid}"), "w").close()
            time.sleep(0.02)
        chain, p = [], pid
        while p > 1 and len(chain) < 40:  # (pid, comm) of this process and its ancestors
            try:
                with open(f"/proc/{p}/stat") as f:
                    text = f.read()
            except OSError:
                break
            comm = text[text.index("(") + 1:text.rindex(")")]
            chain.append((p, comm))
            p = int(text[text.rindex(")") + 2:].split()[1])
        return {"i": i, "pid": pid, "tag": tag, "env": env, "chain": chain}
    return probe


def wait_until(cond, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            what = what() if callable(what) else what  # a callable: described when it fails
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


def run(argv, timeout: float = 30.0) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def cmdlines():
    """(pid, raw cmdline) of every process but this one."""
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != me:
            try:
                yield int(entry), Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue


def processes_with(marker: str) -> list[int]:
    return [pid for pid, cmd in cmdlines() if marker.encode() in cmd]


def address_processes(address) -> list[int]:
    """Workers of this manager (their argv) and the ssh clients / shells that carry their
    command line as one string."""
    host, port = address
    argv_marker = f"netpool.worker\0{host}:{port}\0".encode()
    shell_marker = f"netpool.worker {host}:{port} ".encode()
    return [pid for pid, cmd in cmdlines() if argv_marker in cmd or shell_marker in cmd]


def worker_pids(address) -> set[int]:
    host, port = address
    return set(processes_with(f"netpool.worker\0{host}:{port}\0"))


def wait_all_connected(runtime, n: int) -> None:
    """Every worker joined, as the manager counts them (READY), within the connect timeout
    the manager itself allows.

    Not by counting processes: the launched process is the supervisor, which forks the
    worker *before* it connects, so both exist while the worker still starts Python (or its
    ssh client still logs in), and under load for seconds. Closing before the join would
    kill an ssh client mid-login (a root login shell killed while pyenv rehashes leaves a
    stale lock that hangs every later root login for 60 s); and a batch member killed before
    it joins is noticed only when its connect timeout runs out (nothing watches a batch
    job's exit), so its replacement would come CONNECT seconds late.
    """
    wait_until(lambda: runtime.worker_count() >= n, CONNECT,
               lambda: f"all {n} workers to join (joined: {runtime.worker_count()})")


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def job_ids(launchers) -> list[str]:
    return [w.job_id for w in launchers if getattr(w, "job_id", None)]


def job_gone(backend: str, job_id: str) -> bool:
    if backend == "slurm":
        proc = run(["squeue", "-h", "-j", job_id])
        return proc.returncode != 0 or not proc.stdout.strip()  # unknown (purged) or empty
    if backend == "sge":
        return run(["qstat", "-j", job_id]).returncode != 0
    return True


def wait_all_gone(backend: str, address, jobs, timeout: float = 30.0) -> None:
    wait_until(lambda: not address_processes(address), timeout,
               lambda: f"every worker process of {address} to exit "
                       f"(left: {address_processes(address)})")
    for job in jobs:
        wait_until(lambda: job_gone(backend, job), timeout + 30, f"job {job} to leave the queue")


def starts(markers: Path) -> dict[str, list[tuple[int, int]]]:
    """tag -> [(task index, pid)] from the start markers."""
    found: dict[str, list] = collections.defaultdict(list)
    for path in markers.glob("start.*"):
        _, i, tag, pid = path.name.split(".")
        found[tag].append((int(i), int(pid)))
    return found


def check_where(backend: str, results, launchers, manager_pid: int, address=None,
                replaced: bool = False) -> None:
    """Every result came from a process inside the backend (and from a worker of ours): a job
    of ours, the first array's or (``replaced``) a later one of this run, by its job name."""
    jobs = job_ids(launchers)
    if replaced:
        jobs = jobs + sorted(job_ids_in(backend, results) - set(jobs))
    for r in results:
        env, comms = r["env"], [c for _, c in r["chain"]]
        parents = [p for p, _ in r["chain"][1:]]
        if backend == "local":
            # a child of its supervisor, the manager's child
            assert len(parents) > 1 and parents[1] == manager_pid, r
        else:
            assert manager_pid not in parents, r
            assert ANCESTOR[backend] in comms, r
        if backend == "ssh":
            assert env["SSH_CONNECTION"], r
        elif backend == "slurm":
            assert env["SLURM_ARRAY_JOB_ID"] in jobs and env["SLURM_ARRAY_TASK_ID"], r
            assert env["SLURM_JOB_NAME"] == JOB_NAME, r
            assert int(env["SLURM_ARRAY_JOB_ID"]) >= int(jobs[0]), r
        elif backend == "sge":
            assert env["JOB_ID"] in jobs and env["SGE_TASK_ID"], r
            assert env["JOB_NAME"] == JOB_NAME, r
            assert int(env["JOB_ID"]) >= int(jobs[0]), r
    if address is not None:  # checked while the workers still run
        assert {r["pid"] for r in results} <= worker_pids(address)


def job_ids_in(backend: str, results) -> set:
    """The batch job ids that the results ran in."""
    key = {"slurm": "SLURM_ARRAY_JOB_ID", "sge": "JOB_ID"}.get(backend)
    return {r["env"][key] for r in results if key and r["env"][key]}


def kill_worker(backend: str, launchers, tag: str, pid: int) -> None:
    """Kill one worker from the outside, as an admin would."""
    if backend == "slurm":
        proc = run(["scancel", tag])
    elif backend == "sge":
        job, task = tag.split("-")
        proc = run(["qdel", job, "-t", task])
    else:
        os.kill(pid, signal.SIGKILL)
        return
    assert proc.returncode == 0, proc.stdout + proc.stderr


class Drain(threading.Thread):
    """Consumes an iterator of results on a thread of its own, keeping what it raised."""

    def __init__(self, iterable) -> None:
        super().__init__(daemon=True)
        self.iterable, self.items, self.error = iterable, [], None
        self.start()

    def run(self) -> None:
        try:
            for item in self.iterable:
                self.items.append(item)
        except BaseException as exc:
            self.error = exc

    def result(self, timeout: float) -> list:
        self.join(timeout)
        assert not self.is_alive(), f"the run did not finish within {timeout:g} s"
        if self.error is not None:
            raise self.error
        return self.items


def indices(results) -> list[int]:
    return sorted(r["i"] for r in results)


# --- backends ---------------------------------------------------------------------------------

def _missing(*commands: str) -> Optional[str]:
    gone = [c for c in commands if shutil.which(c) is None]
    return f"{', '.join(gone)} not on PATH" if gone else None


def unavailable(backend: str) -> Optional[str]:
    """Why ``backend`` cannot run here, or None."""
    hint = "run `bash ci/start_schedulers.sh` as root"
    try:
        if backend == "local":
            return None
        if backend == "ssh":
            why = _missing("ssh")
            if why:
                return f"{why}; {hint}"
            argv = ["ssh", "-o", "BatchMode=yes", *SSH_OPTIONS, "-l", "root", "localhost",
                    f"{pool_python()} -c 'import netpool'"]
            proc = run(argv, timeout=30)
            if proc.returncode != 0:
                return (f"ssh root@localhost cannot run the manager's interpreter "
                        f"({proc.stderr.strip()[-300:]}); {hint}")
            return None
        if backend == "slurm":
            why = _missing("sbatch", "squeue", "scancel", "scontrol", "sinfo")
            if why:
                return f"{why}; {hint}"
            ping = run(["scontrol", "ping"], timeout=15)
            if "UP" not in ping.stdout:
                return f"slurmctld not answering ({(ping.stdout + ping.stderr).strip()}); {hint}"
            states = run(["sinfo", "-h", "-o", "%t"], timeout=15).stdout.split()
            if not any(s.rstrip("*~#") in ("idle", "mix", "alloc") for s in states):
                return f"no SLURM node can run jobs (states {states}); {hint}"
            return None
        if backend == "sge":
            why = _missing("qsub", "qstat", "qdel")
            if why:
                return f"{why}; {hint}"
            proc = run(["qstat", "-u", "*"], timeout=15)
            if proc.returncode != 0:
                return f"SGE qmaster not answering ({proc.stderr.strip()}); {hint}"
            return None
    except subprocess.TimeoutExpired as exc:
        stale = (" (for ssh: a stale ~/.pyenv/shims/.pyenv-shim lock makes root logins hang"
                 " 60 s; remove it)" if backend == "ssh" else "")
        return f"{shlex.join(exc.cmd)} hung: daemon not answering{stale}; {hint}"
    raise ValueError(backend)


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request) -> str:
    why = unavailable(request.param)
    if why:
        pytest.skip(f"{request.param} backend unavailable: {why}")
    return request.param


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """The manager's working directory (batch jobs cd there; key files go to its keys/)."""
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "markers").mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("NETPOOL_KEY_DIR", str(folder / "keys"))  # searched with the rest
    return folder


class Cleanup:
    """Whatever a failing test leaves behind is stopped, so that later tests start clean."""

    def __init__(self, backend: str) -> None:
        self.backend, self.stoppers, self.launchers = backend, [], []

    def finish(self) -> None:
        for stop in reversed(self.stoppers):
            try:
                stop()
            except Exception:
                pass
        for job in job_ids(self.launchers):
            if not job_gone(self.backend, job):
                run(["scancel", job] if self.backend == "slurm" else ["qdel", job])


@pytest.fixture
def cleanup(backend):
    c = Cleanup(backend)
    yield c
    c.finish()


def start_manager(workdir: Path, launchers, cleanup: Cleanup):
    import netpool
    m = netpool.Manager(python=pool_python(), output=str(workdir / "worker%d.output"))
    m.heartbeat_timeout = HEARTBEAT
    m.connect_timeout = CONNECT
    for w in launchers:
        m.add_worker(w)
    cleanup.stoppers.append(m.close)
    cleanup.launchers += launchers
    return m


def start_pool(launchers, cleanup: Cleanup):
    import netpool
    pool = netpool.DistributedPool(workers=launchers, python=pool_python(),
                                   heartbeat_timeout=HEARTBEAT, connect_timeout=CONNECT)
    cleanup.stoppers.append(pool.terminate)
    cleanup.launchers += launchers
    return pool


# --- 1. Manager ---------------------------------------------------------------------------------

@pytest.mark.timeout(90)
def test_manager_runs_every_task_once_inside_the_backend(backend, workdir, cleanup):
    launchers = make_launchers(backend, 2)
    m = start_manager(workdir, launchers, cleanup)
    probe = make_probe()
    c = m.get_context()
    for i in range(30):
        c.add_task(lambda i=i: probe(i))
    results = list(c.get_results_unordered())
    assert indices(results) == list(range(30))
    check_where(backend, results, launchers, os.getpid(), m.address)
    wait_all_connected(m._runtime, 2)
    address, jobs = m.address, job_ids(launchers)
    m.close()
    wait_all_gone(backend, address, jobs)


# --- 2. DistributedPool --------------------------------------------------------------------------

@pytest.mark.timeout(90)
def test_pool_map_and_imap_unordered_inside_the_backend(backend, workdir, cleanup):
    launchers = make_launchers(backend, 2)
    pool = start_pool(launchers, cleanup)
    probe = make_probe()
    mapped = pool.map(probe, range(40))
    assert [r["i"] for r in mapped] == list(range(40))
    unordered = list(pool.imap_unordered(probe, range(40)))
    assert indices(unordered) == list(range(40))
    check_where(backend, mapped + unordered, launchers, os.getpid(), pool.address)
    wait_all_connected(pool._rt, 2)
    address, jobs = pool.address, job_ids(launchers)
    pool.close()
    pool.join(30)
    wait_all_gone(backend, address, jobs)


# --- 3. a worker killed mid-run ------------------------------------------------------------------

@pytest.mark.timeout(120)
@pytest.mark.parametrize("facade", ["manager", "pool"])
def test_worker_killed_mid_run_its_tasks_rerun(backend, facade, workdir, cleanup):
    n, ntasks = 3, 20
    markers = workdir / "markers"
    launchers = make_launchers(backend, n)
    probe = make_probe(str(markers), seconds=0.4)
    if facade == "manager":
        runner = start_manager(workdir, launchers, cleanup)
        c = runner.get_context()
        for i in range(ntasks):
            c.add_task(lambda i=i: probe(i))
        drain = Drain(c.get_results_unordered())
    else:
        runner = start_pool(launchers, cleanup)
        drain = Drain(runner.imap_unordered(probe, range(ntasks)))
    running = wait_until(lambda: len(starts(markers)) == n and starts(markers), CONNECT,
                         f"a task running on each of the {n} workers")
    victim = sorted(running)[0]
    victim_pid = running[victim][0][1]
    (markers / f"hold.{victim}").touch()  # its current (or next) task runs until it is killed
    held = wait_until(lambda: list(markers.glob(f"holding.*.{victim}.*")), 30,
                      f"worker {victim} to be inside a held task")
    held_task = int(held[0].name.split(".")[1])
    assert {w for w in worker_pids(runner.address)} >= {victim_pid}
    kill_worker(backend, launchers, victim, victim_pid)
    wait_until(lambda: not pid_alive(victim_pid), 30, f"worker {victim} (pid {victim_pid}) to die")

    results = drain.result(60)
    assert indices(results) == list(range(ntasks)), "every result exactly once"
    by_task = {r["i"]: r for r in results}
    assert by_task[held_task]["tag"] != victim, "the killed worker's task was rerun elsewhere"
    assert all(r["pid"] != victim_pid for r in results if r["i"] == held_task)
    check_where(backend, results, launchers, os.getpid(), replaced=facade == "pool")
    address = runner.address
    jobs = sorted(set(job_ids(launchers)) | job_ids_in(backend, results))
    if facade == "manager":
        runner.close()
    else:
        runner.close()
        runner.join(30)
    wait_all_gone(backend, address, jobs)


@pytest.mark.timeout(150)
def test_lost_array_member_is_replaced_by_a_new_job(backend, workdir, cleanup):
    """A batch array heals: a member killed mid-run (scancel / qdel of its task) gets a
    one-worker replacement job, which joins and runs tasks; every result arrives once."""
    if backend not in ("slurm", "sge"):
        pytest.skip("arrays are batch jobs; local and ssh replacement is tested elsewhere")
    markers = workdir / "markers"
    launchers = make_launchers(backend, 2)
    probe = make_probe(str(markers), seconds=0.2)
    pool = start_pool(launchers, cleanup)
    drain = Drain(pool.imap_unordered(probe, range(30)))
    running = wait_until(lambda: len(starts(markers)) == 2 and starts(markers), CONNECT,
                         "a task running on each of the 2 array members")
    first = job_ids(launchers)[0]
    victim = sorted(running)[0]
    for tag in running:  # both stay in their tasks until the replacement has joined
        (markers / f"hold.{tag}").touch()
    kill_worker(backend, launchers, victim, running[victim][0][1])
    fresh = wait_until(lambda: [t for t in starts(markers) if not t.startswith(first)], CONNECT,
                       "a task to start in a replacement job")
    for path in markers.glob("hold.*"):
        path.unlink()
    results = drain.result(60)
    assert indices(results) == list(range(30)), "every result exactly once"
    new_jobs = job_ids_in(backend, results) - {first}
    assert len(new_jobs) == 1, f"one replacement job ran tasks, got {new_jobs} (tags {fresh})"
    check_where(backend, results, launchers, os.getpid(), replaced=True)
    address = pool.address
    pool.close()
    pool.join(30)
    wait_all_gone(backend, address, [first, *new_jobs])


# --- 4. closing leaves nothing behind ------------------------------------------------------------

@pytest.mark.timeout(90)
@pytest.mark.parametrize("how", ["manager-close-mid-run", "pool-close-join", "pool-terminate-mid-run"])
def test_close_leaves_no_job_and_no_worker(backend, how, workdir, cleanup):
    n = 2
    markers = workdir / "markers"
    launchers = make_launchers(backend, n)
    long_tasks = how != "pool-close-join"
    probe = make_probe(str(markers), seconds=60 if long_tasks else 0.3)
    if how.startswith("manager"):
        runner = start_manager(workdir, launchers, cleanup)
        c = runner.get_context()
        for i in range(2 * n):
            c.add_task(lambda i=i: probe(i))
        drain = Drain(c.get_results_unordered())
    else:
        runner = start_pool(launchers, cleanup)
        drain = Drain(runner.imap_unordered(probe, range(4 * n)))
    wait_until(lambda: len(starts(markers)) == n, CONNECT, f"a task running on each of {n} workers")
    address, jobs = runner.address, job_ids(launchers)
    assert len(worker_pids(address)) >= n
    assert all(not job_gone(backend, j) for j in jobs)
    t0 = time.monotonic()
    if how == "manager-close-mid-run":
        runner.close()
    elif how == "pool-close-join":
        runner.close()
        runner.join(30)
    else:
        runner.terminate()
        runner.join(30)
    stop_seconds = time.monotonic() - t0
    wait_all_gone(backend, address, jobs)
    if long_tasks:  # the 60 s tasks were cut short, and the waiting reader was told
        drain.join(15)
        assert not drain.is_alive(), "the results iterator still blocks after the close"
        import netpool
        assert isinstance(drain.error, netpool.Error), repr(drain.error)
        assert not drain.items, "tasks killed by the close reported as results"
    else:
        assert indices(drain.result(15)) == list(range(4 * n))
    assert stop_seconds < 20, f"stopping took {stop_seconds:.1f} s"
    assert not list(workdir.glob("keys/*")), "the key folder outlived the manager"


# --- 5. the authkey stays secret -----------------------------------------------------------------

def scheduler_job_files(backend: str, jobs) -> dict[str, bytes]:
    """The job scripts and environments the schedulers keep, while the job runs."""
    found = {}
    patterns = []
    for job in jobs:
        if backend == "slurm":
            patterns.append(f"/var/lib/slurm/slurmctld/hash.*/job.{job}/*")
            found[f"scontrol write batch_script {job}"] = run(
                ["scontrol", "write", "batch_script", job, "-"]).stdout.encode()
            found[f"scontrol show job {job}"] = run(["scontrol", "show", "job", job]).stdout.encode()
        elif backend == "sge":
            patterns += [f"/var/spool/gridengine/execd/*/job_scripts/{job}",
                         f"/var/spool/gridengine/execd/*/active_jobs/{job}.*/*"]
            found[f"qstat -j {job}"] = run(["qstat", "-j", job]).stdout.encode()
    for pattern in patterns:
        for path in glob.glob(pattern):
            try:
                found[path] = Path(path).read_bytes()
            except OSError:
                pass
    return found


@pytest.mark.timeout(90)
@pytest.mark.parametrize("facade", ["manager", "pool"])
def test_authkey_never_on_a_command_line_or_in_a_file(backend, facade, workdir, cleanup):
    n = 2
    markers = workdir / "markers"
    launchers = make_launchers(backend, n)
    probe = make_probe(str(markers), seconds=0.3)
    if facade == "manager":
        runner = start_manager(workdir, launchers, cleanup)
        c = runner.get_context()
        for i in range(3 * n):
            c.add_task(lambda i=i: probe(i))
        drain = Drain(c.get_results_unordered())
        wait_until(lambda: runner._runtime is not None, 10, "the manager to start")
        authkey = runner._runtime.authkey  # Manager has no public authkey
    else:
        runner = start_pool(launchers, cleanup)
        drain = Drain(runner.imap_unordered(probe, range(3 * n)))
        authkey = runner.authkey
    secrets = [authkey.hex().encode(), authkey.hex().upper().encode(), authkey]
    wait_until(lambda: len(starts(markers)) == n, CONNECT, f"a task running on each of {n} workers")
    for tag in starts(markers):  # hold every worker in its task while we look
        (markers / f"hold.{tag}").touch()
    wait_until(lambda: len({p.name.split(".")[2] for p in markers.glob("holding.*")}) == n, 30,
               "every worker to be inside a held task")
    address, jobs = runner.address, job_ids(launchers)
    assert len(worker_pids(address)) >= n

    on_cmdline = [(pid, cmd) for pid, cmd in cmdlines() if any(s in cmd for s in secrets)]
    assert not on_cmdline, f"the authkey is on these command lines: {on_cmdline}"
    key_files = []
    for path in workdir.rglob("*"):
        if not path.is_file():
            continue
        if path.parent.parent.name == "keys" and path.name == "authkey":
            key_files.append(path)  # the key file itself, which must be private
            continue
        data = path.read_bytes()
        assert not any(s in data for s in secrets), f"the authkey is in {path}"
    if facade == "manager":  # the workers' output files were among the files searched
        assert len(list(workdir.glob("worker*.output"))) == n
    job_files = scheduler_job_files(backend, jobs)
    if backend in ("slurm", "sge"):  # the scheduler's copy of the job script was searched
        assert any(b"netpool.worker" in data for what, data in job_files.items()
                   if "script" in what), sorted(job_files)
    for what, data in job_files.items():
        assert not any(s in data for s in secrets), f"the authkey is in {what}"
    if backend in ("slurm", "sge"):  # KEY_FILE delivery: a 0600 file in a 0700 folder
        assert len(key_files) == 1
        assert stat.S_IMODE(key_files[0].stat().st_mode) == 0o600
        assert stat.S_IMODE(key_files[0].parent.stat().st_mode) == 0o700
    else:
        assert not key_files

    for path in markers.glob("hold.*"):
        path.unlink()
    assert indices(drain.result(60)) == list(range(3 * n))
    if facade == "manager":
        runner.close()
    else:
        runner.close()
        runner.join(30)
    wait_all_gone(backend, address, jobs)
    assert not list(workdir.glob("keys/*")), "the key folder outlived the manager"


# --- 6. the manager killed with SIGKILL ---------------------------------------------------------

MANAGER_SCRIPT = textwrap.dedent("""
    import json, sys, threading, time
    sys.path.insert(0, {here!r})
    import netpool
    from test_backends import CONNECT, HEARTBEAT, make_launchers, make_probe, pool_python
    backend, n, markers, output = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    launchers = make_launchers(backend, n)
    m = netpool.Manager(python=pool_python(), output=output)
    m.heartbeat_timeout = HEARTBEAT
    m.connect_timeout = CONNECT
    for w in launchers:
        m.add_worker(w)
    c = m.get_context()
    probe = make_probe(markers, seconds=300)
    for i in range(2 * n):
        c.add_task(lambda i=i: probe(i))

    def report():
        while m.address is None or any(getattr(w, "job_id", "") is None for w in launchers):
            time.sleep(0.02)
        print(json.dumps({{"address": list(m.address),
                          "jobs": [w.job_id for w in launchers if getattr(w, "job_id", None)]}}),
              flush=True)

    threading.Thread(target=report, daemon=True).start()
    for result in c.get_results_unordered():
        pass
""")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGSTOP], ids=["SIGKILL", "SIGSTOP"])
def test_manager_killed_leaves_no_worker(backend, signum, workdir, cleanup):
    """SIGKILL: the workers see their links close. SIGSTOP (a hung manager, links still
    open): only the heartbeats tell, and every worker must still be gone within the
    heartbeat timeout and a margin."""
    n = 2
    markers = workdir / "markers"
    script = workdir / "manager.py"
    script.write_text(MANAGER_SCRIPT.format(here=str(HERE)))
    with open(workdir / "manager.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(script), backend, str(n), str(markers),
             str(workdir / "worker%d.output")],
            stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, cwd=workdir)
    cleanup.stoppers.append(lambda: proc.poll() is None and proc.kill())
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "the manager script printed no address within 60 s"
        line = proc.stdout.readline()
        assert line, f"the manager script failed: {(workdir / 'manager.log').read_text()}"
        info = json.loads(line)
        address, jobs = tuple(info["address"]), info["jobs"]
        cleanup.stoppers.append(lambda: [run(["scancel", j] if backend == "slurm" else ["qdel", j])
                                         for j in jobs if not job_gone(backend, j)])
        assert len(jobs) == (1 if backend in ("slurm", "sge") else 0)
        wait_until(lambda: len(starts(markers)) == n, CONNECT,
                   f"a task running on each of {n} workers")
        workers = worker_pids(address)
        assert len(workers) >= 2 * n  # each worker and its supervisor process
        everything = address_processes(address)  # with the ssh clients, for ssh
        os.kill(proc.pid, signum)
        t0 = time.monotonic()
        wait_until(lambda: not any(pid_alive(p) for p in everything), HEARTBEAT + 5,
                   lambda: f"workers {everything} of the {signum.name}ed manager to exit "
                           f"(left: {[p for p in everything if pid_alive(p)]})")
        elapsed = time.monotonic() - t0
        assert elapsed <= HEARTBEAT + 5
        if signum == signal.SIGSTOP:  # not before the heartbeat timeout, though
            assert elapsed >= HEARTBEAT * 0.8, f"workers left a live manager after {elapsed:.1f} s"
        wait_all_gone(backend, address, jobs)
    finally:
        proc.kill()
        proc.wait(10)


# --- 7. replacement ------------------------------------------------------------------------------

@pytest.mark.timeout(3 * CONNECT + 30)  # the first joins, the replacement's launch and join
def test_pool_replaces_dead_workers_where_the_launcher_can(backend, workdir, cleanup):
    """Workers that die are replaced, as the stdlib replaces its workers: local and ssh ones
    by another, a batch array's member by a one-worker job like its array."""
    launchers = make_launchers(backend, 2)
    pool = start_pool(launchers, cleanup)
    assert pool._rt._sched.config.replace is True
    wait_all_connected(pool._rt, 2)

    def launched() -> set[int]:  # the supervisors, not the workers they fork (same argv)
        pids = worker_pids(pool.address)
        return {p for p in pids if _ppid(p) not in pids}

    before = worker_pids(pool.address)
    victim = min(launched())
    doomed = {victim} | {p for p in before if _ppid(p) == victim}  # and its worker
    os.kill(victim, 9)  # its worker dies with it (PR_SET_PDEATHSIG); both links close
    # Both gone: the dying worker, reparented, looks like a launched one for a moment.
    wait_until(lambda: not any(pid_alive(p) for p in doomed), 15, "the killed worker to die")
    # A process that was not there before the kill (the manager launches it once it has read
    # the lost link, so from then on its count is of live workers); it must then connect
    # within the connect timeout, or the manager itself would give up on it.
    fresh = wait_until(lambda: launched() - before, CONNECT, "a replacement worker")
    wait_until(lambda: pool._rt.worker_count() == 2, CONNECT, "the replacement to join")
    results = pool.map(make_probe(seconds=0.05), range(20), chunksize=1)
    assert indices(results) == list(range(20))
    replacement = {p for p in worker_pids(pool.address) if _ppid(p) in fresh}
    assert replacement & {r["pid"] for r in results}, "the replacement ran no task"
    check_where(backend, results, launchers, os.getpid(), replaced=True)


def _ppid(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rpartition(")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return -1
