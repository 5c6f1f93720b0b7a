"""Launchers against the real daemons that ci/start_schedulers.sh brings up: sshd (user
sshworker), SLURM (array and srun step) and Son of Grid Engine (qsub array, and a PE job whose
driver uses SGEPEWorkerArray). Each test skips, saying why, when its commands are missing or its
daemon does not answer.

Until the real worker exists, each WorkerCommand points at a fake "python" that writes one
``REPORT {json}`` line (its argv, the authkey it received and the scheduler's variables) to its
output file, then lingers so that ``_stop`` has something to cancel. Every wait polls a
condition with a deadline.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from netpool.launchers import (SGEQsubWorkerArray, SLURMWorkerArray, SSHWorker, WorkerCommand)
from netpool.launchers.base import write_key_file

SRC = str(Path(__file__).resolve().parents[2] / "src")
SYSTEM_PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
AUTHKEY = os.urandom(32)
ENV_VARS = ("SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_PROCID",
            "JOB_ID", "SGE_TASK_ID", "PE", "SSH_CONNECTION")

FAKE_WORKER = """#!{python}
import json, os, select, socket, sys, time
args = sys.argv[1:]
if "--authkey-file" in args:
    via, key = "file", open(args[args.index("--authkey-file") + 1]).read().strip()
elif "--authkey-stdin" in args:
    via, key = "stdin", sys.stdin.readline().strip()
else:
    via, key = "env", os.environ.get("NETPOOL_AUTHKEY")
env = {{k: os.environ.get(k) for k in {env_vars!r}}}
print("REPORT " + json.dumps({{"argv": args, "key": key, "via": via, "uid": os.getuid(),
                              "host": socket.gethostname(), "env": env}}), flush=True)
deadline = time.monotonic() + {linger}
while time.monotonic() < deadline:  # linger like a worker; stop at stdin EOF when ssh'd
    if via == "stdin":
        ready = select.select([sys.stdin], [], [], deadline - time.monotonic())[0]
        if ready and not os.read(sys.stdin.fileno(), 4096):
            break
    else:
        time.sleep(0.2)
"""


# --- helpers -----------------------------------------------------------------------------------

def wait_until(cond, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)


def run(argv, timeout: float = 20.0, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=kw.pop("stdin", subprocess.DEVNULL), **kw)


def make_fake(folder: Path, linger: float) -> str:
    path = folder / "fake_python"  # no space: see test_slurm_array
    path.write_text(FAKE_WORKER.format(python=SYSTEM_PYTHON, env_vars=ENV_VARS, linger=linger))
    path.chmod(0o755)
    return str(path)


def make_commands(folder: Path, python, n: int, key_file=None):
    return [WorkerCommand(tuple(python), ("127.0.0.1", 9), i, str(folder / f"worker {i}.output"),
                          key_file) for i in range(n)]


def report_of(command: WorkerCommand):
    try:
        text = Path(command.output).read_text()
    except FileNotFoundError:
        return None
    for line in text.splitlines():
        if line.startswith("REPORT "):
            return json.loads(line[len("REPORT "):])
    return None


def wait_reports(commands, timeout: float = 60.0) -> list[dict]:
    return wait_until(lambda: all(map(report_of, commands)) and list(map(report_of, commands)),
                      timeout, "every worker's REPORT line in its output file")


def processes_with(marker: str) -> list[int]:
    """PIDs whose command line contains ``marker`` (the fake worker's unique folder)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmdline:
                pids.append(int(entry))
    return pids


def check_report(report: dict, command: WorkerCommand, via: str) -> None:
    argv = report["argv"]
    assert argv[argv.index("netpool.worker") + 1:][:3] == ["127.0.0.1:9", "--id",
                                                           str(command.worker_id)]
    assert report["key"] == AUTHKEY.hex() and report["via"] == via


def probe(commands, check_argv, reason):
    missing = [c for c in commands if shutil.which(c) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not on PATH: {reason}")
    try:
        proc = run(check_argv, timeout=15)
    except subprocess.TimeoutExpired:
        pytest.skip(f"{shlex.join(check_argv)} hung: daemon not answering; {reason}")
    if proc.returncode != 0:
        pytest.skip(f"{shlex.join(check_argv)} failed ({proc.stderr.strip()}): {reason}")
    return proc.stdout


@pytest.fixture(scope="module")
def slurm():
    out = probe(["sbatch", "squeue", "scancel", "scontrol"], ["scontrol", "ping"],
                "run ci/start_slurm.sh (or ci/start_schedulers.sh) as root")
    if "UP" not in out:
        pytest.skip(f"slurmctld not up: {out.strip()}")


@pytest.fixture(scope="module")
def sge():
    probe(["qsub", "qstat", "qdel", "qrsh"], ["qstat", "-u", "*"],
          "run ci/start_sge.sh (or ci/start_schedulers.sh) as root")


@pytest.fixture(scope="module")
def sshd():
    probe(["ssh"], ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "sshworker@localhost",
                    "/usr/bin/python3 -c pass"],
          "run ci/start_sshd.sh (or ci/start_schedulers.sh) as root")


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A folder with a space and a quote in its name, as the manager's working directory."""
    folder = tmp_path / "run 'x'"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


# --- SLURM -------------------------------------------------------------------------------------

def slurm_job_gone(job_id: str) -> bool:
    proc = run(["squeue", "-h", "-j", job_id])
    return proc.returncode != 0 or not proc.stdout.strip()  # unknown (purged) or empty


@pytest.mark.timeout(120)
def test_slurm_array(slurm, workdir):
    key_file = write_key_file(str(workdir / "keys"), AUTHKEY)
    commands = make_commands(workdir, [make_fake(workdir, linger=90)], 3, key_file)
    array = SLURMWorkerArray(3, "--time=5")
    workers = array._get_workers()
    try:
        array._start(commands, AUTHKEY)
        reports = wait_reports(commands)
        assert not slurm_job_gone(array.job_id)  # the fakes linger: the job runs
    finally:
        array._stop()
    for i, (report, command) in enumerate(zip(reports, commands)):
        check_report(report, command, "file")
        assert report["env"]["SLURM_ARRAY_JOB_ID"] == array.job_id
        assert report["env"]["SLURM_ARRAY_TASK_ID"] == str(i + 1)
        assert repr(workers[i]) == f"<SLURM worker, ID {array.job_id}_{i + 1}>"
    wait_until(lambda: slurm_job_gone(array.job_id), 30, f"job {array.job_id} to leave squeue")
    wait_until(lambda: not processes_with(str(workdir)), 30, "the fake workers to end")


STEP_DRIVER = """
import json, os, sys, time
sys.path.insert(0, {src!r})
from netpool.launchers import SLURMStepWorkerArray, WorkerCommand
folder, fake, key_file = sys.argv[1:4]
array = SLURMStepWorkerArray()
workers = array._get_workers()
commands = [WorkerCommand((fake,), ("127.0.0.1", 9), i, f"{{folder}}/worker {{i}}.output",
                          key_file) for i in range(len(workers))]
array._start(commands, b"")
deadline = time.monotonic() + 60
def reported(c):
    return os.path.exists(c.output) and "REPORT" in open(c.output).read()
while time.monotonic() < deadline and not all(map(reported, commands)):
    time.sleep(0.1)
running = array._exit_status()
array._stop()
json.dump({{"reprs": [repr(w) for w in workers], "running_before_stop": running is None,
            "exit": array._exit_status()}}, open(f"{{folder}}/driver.json", "w"))
"""


@pytest.mark.timeout(120)
def test_slurm_step_inside_allocation(slurm, workdir):
    """sbatch --ntasks=3 runs a driver whose SLURMStepWorkerArray() srun's 3 fake workers."""
    key_file = write_key_file(str(workdir / "keys"), AUTHKEY)
    fake = make_fake(workdir, linger=90)
    (workdir / "driver.py").write_text(STEP_DRIVER.format(src=SRC))
    argv = [sys.executable, str(workdir / "driver.py"), str(workdir), fake, key_file]
    proc = run(["sbatch", "--parsable", "--wait", "--ntasks=3", "--time=5",
                f"--output={workdir}/driver.log", "--wrap", shlex.join(argv)], timeout=100)
    log = (workdir / "driver.log").read_text() if (workdir / "driver.log").exists() else ""
    assert proc.returncode == 0, proc.stderr + log
    result = json.loads((workdir / "driver.json").read_text())
    assert result["reprs"][2].startswith("<SLURM step worker, task 2 of job ")
    assert result["running_before_stop"] and result["exit"] is not None
    commands = make_commands(workdir, [fake], 3, key_file)
    for i, command in enumerate(commands):
        report = report_of(command)
        check_report(report, command, "file")
        assert report["env"]["SLURM_PROCID"] == str(i)
        assert report["env"]["SLURM_JOB_ID"] == proc.stdout.strip().split(";")[0]
    wait_until(lambda: not processes_with(str(workdir)), 30, "the fake workers to end")


# --- SGE ---------------------------------------------------------------------------------------

def sge_job_gone(job_id: str) -> bool:
    return run(["qstat", "-j", job_id]).returncode != 0


@pytest.mark.timeout(120)
def test_sge_qsub_array(sge, workdir):
    key_file = write_key_file(str(workdir / "keys"), AUTHKEY)
    commands = make_commands(workdir, [make_fake(workdir, linger=90)], 3, key_file)
    array = SGEQsubWorkerArray(3, "-N netpool_test")
    workers = array._get_workers()
    try:
        array._start(commands, AUTHKEY)
        reports = wait_reports(commands)
        assert not sge_job_gone(array.job_id)
    finally:
        array._stop()
    for i, (report, command) in enumerate(zip(reports, commands)):
        check_report(report, command, "file")
        assert report["env"]["JOB_ID"] == array.job_id
        assert report["env"]["SGE_TASK_ID"] == str(i + 1)
        assert repr(workers[i]) == f"<SGE qsub worker, ID {array.job_id}.{i + 1}>"
    wait_until(lambda: sge_job_gone(array.job_id), 60, f"job {array.job_id} to leave qstat")
    wait_until(lambda: not processes_with(str(workdir)), 30, "the fake workers to end")


PE_DRIVER = """
import json, os, sys, time
sys.path.insert(0, {src!r})
from netpool.launchers import SGEPEWorkerArray, WorkerCommand
folder, fake, key_file = sys.argv[1:4]
array = SGEPEWorkerArray()
workers = array._get_workers()
commands = [WorkerCommand((fake,), ("127.0.0.1", 9), i, f"{{folder}}/worker {{i}}.output",
                          key_file) for i in range(len(workers))]
array._start(commands, bytes.fromhex(open(key_file).read().strip()))
deadline = time.monotonic() + 60
while time.monotonic() < deadline and any(w._exit_status() is None for w in workers):
    time.sleep(0.1)
json.dump({{"reprs": [repr(w) for w in workers], "exit": [w._exit_status() for w in workers],
            "hostfile": open(os.environ["PE_HOSTFILE"]).read(), "job_id": os.environ["JOB_ID"]}},
          open(f"{{folder}}/driver.json", "w"))
array._stop()
"""


@pytest.mark.timeout(150)
def test_sge_pe_job(sge, workdir):
    """qsub -pe smp 3 runs a driver: slot 1 a LocalWorker, slots 2-3 via qrsh -inherit."""
    key_file = write_key_file(str(workdir / "keys"), AUTHKEY)
    fake = make_fake(workdir, linger=0)
    (workdir / "driver.py").write_text(PE_DRIVER.format(src=SRC))
    script = (f"#!/bin/sh\nexec {shlex.quote(sys.executable)} "
              f"{shlex.join([str(workdir / 'driver.py'), str(workdir), fake, key_file])}\n")
    proc = run(["qsub", "-sync", "y", "-S", "/bin/sh", "-pe", "smp", "3", "-N", "netpool_pe",
                "-cwd", "-j", "y", "-o", str(workdir / "driver.log")], timeout=120, input=script,
               stdin=None)
    log = (workdir / "driver.log").read_text() if (workdir / "driver.log").exists() else ""
    assert proc.returncode == 0, proc.stdout + proc.stderr + log
    result = json.loads((workdir / "driver.json").read_text())
    host = result["hostfile"].split()[0]
    assert result["reprs"] == ["<LocalWorker>"] + [f"<SGE PE worker on {host}>"] * 2
    assert result["exit"] == [0, 0, 0]
    for i, command in enumerate(make_commands(workdir, [fake], 3, key_file)):
        report = report_of(command)
        check_report(report, command, "env" if i == 0 else "file")
        assert report["env"]["JOB_ID"] == result["job_id"] and report["env"]["PE"] == "smp"
    wait_until(lambda: sge_job_gone(result["job_id"]), 60, "the PE job to leave qstat")


# --- ssh ---------------------------------------------------------------------------------------

@pytest.mark.timeout(90)
def test_ssh_workers(sshd, tmp_path):
    # sshworker cannot enter /tmp/pytest-of-root (0700): the fake lives in a 0755 folder whose
    # name needs quoting on the remote side
    folder = Path(tempfile.mkdtemp(prefix="netpool ssh 'q' "))
    try:
        folder.chmod(0o755)
        fake = make_fake(folder, linger=60)
        Path(fake).chmod(0o755)
        commands = make_commands(tmp_path, ["/not/used/python"], 2)
        workers = [SSHWorker("localhost", user="sshworker",
                             python=f"{SYSTEM_PYTHON} {shlex.quote(fake)}",
                             ssh_options=("-o", "ConnectTimeout=10")) for _ in commands]
        try:
            for worker, command in zip(workers, commands):
                worker._start(command, AUTHKEY)
            reports = wait_reports(commands, timeout=30)
            assert [w._exit_status() for w in workers] == [None, None]
        finally:
            for worker in workers:
                worker._stop()
        for report, command in zip(reports, commands):
            check_report(report, command, "stdin")
            assert report["env"]["SSH_CONNECTION"] and report["uid"] != 0
        assert repr(workers[0]) == "<SSHWorker sshworker@localhost>"
        # the remote fakes see stdin EOF once their ssh client is gone, and end
        wait_until(lambda: not processes_with(str(folder)), 30, "the remote fake workers to end")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- the real worker, end to end through DistributedPool ---------------------------------------

def pool_python() -> str:
    """The manager's interpreter, able to import netpool on the nodes (same machine here)."""
    return f"env PYTHONPATH={shlex.quote(SRC)} {shlex.quote(sys.executable)}"


def run_pool(launcher) -> list:
    from netpool import DistributedPool
    pool = DistributedPool(workers=[launcher], python=pool_python(), connect_timeout=60)
    host, port = pool.address
    try:
        return pool.map(lambda x: (x * x, os.environ.get("SLURM_JOB_ID") or
                                   os.environ.get("JOB_ID") or os.environ.get("SSH_CONNECTION")),
                        range(12))
    finally:
        pool.terminate()
        pool.join()
        # no worker outlives the pool, wherever it was started
        wait_until(lambda: not processes_with(f"netpool.worker\0{host}:{port}\0"), 30,
                   f"the workers of {host}:{port} to end")


@pytest.mark.timeout(120)
def test_pool_over_slurm_array(slurm, workdir):
    array = SLURMWorkerArray(2, "--time=5")
    results = run_pool(array)
    assert [r[0] for r in results] == [x * x for x in range(12)]
    assert all(r[1] for r in results)  # every task ran inside a SLURM job
    wait_until(lambda: slurm_job_gone(array.job_id), 30, f"job {array.job_id} to leave squeue")


@pytest.mark.timeout(120)
def test_pool_over_sge_array(sge, workdir):
    array = SGEQsubWorkerArray(2, "-N netpool_pool")
    results = run_pool(array)
    assert [r[0] for r in results] == [x * x for x in range(12)]
    assert {r[1] for r in results} == {array.job_id}
    wait_until(lambda: sge_job_gone(array.job_id), 60, f"job {array.job_id} to leave qstat")


@pytest.mark.timeout(120)
def test_pool_over_ssh(sshd, workdir):
    # root@localhost: sshworker cannot read the manager's interpreter under /root (mode 700)
    if run(["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "localhost", "true"],
           timeout=60).returncode != 0:
        pytest.skip("ssh root@localhost does not work here")
    results = run_pool(SSHWorker("localhost"))
    assert [r[0] for r in results] == [x * x for x in range(12)]
    assert all(r[1] for r in results)


# --- per-job settings, accepted and honoured by the real schedulers ----------------------------

def _settings_task(_):
    return (os.environ.get("FROM_PROLOGUE"), os.environ.get("FROM_DIRECTIVE"),
            os.environ.get("SLURM_JOB_ID") or os.environ.get("JOB_ID"))


def _run_settings_pool(array) -> list:
    from netpool import DistributedPool
    with DistributedPool(workers=[array], python=pool_python(), connect_timeout=60) as pool:
        return pool.map(_settings_task, range(4), chunksize=1)


@pytest.mark.timeout(120)
def test_slurm_job_settings(slurm, workdir):
    """Every setting reaches sbatch (the job's record shows them) and the job runs with them:
    the prologue ran before the worker, the directive line was read by sbatch."""
    log = workdir / "slurm job.log"
    array = SLURMWorkerArray(2, walltime="0:07:00", memory="200M", cores=1, queue="debug",
                             job_name="np_settings", log=str(log),
                             directives=["--export=ALL,FROM_DIRECTIVE=yes"],
                             prologue=["FROM_PROLOGUE=ran; export FROM_PROLOGUE"])
    results = _run_settings_pool(array)
    assert {r[:2] for r in results} == {("ran", "yes")}
    record = run(["scontrol", "show", "job", array.job_id]).stdout
    for field in ("JobName=np_settings", "TimeLimit=00:07:00", "Partition=debug",
                  f"StdOut={log}", "MinMemoryNode=200M", "MinCPUsNode=1"):
        assert field in record, f"{field} not in {record}"
    wait_until(lambda: slurm_job_gone(array.job_id), 30, f"job {array.job_id} to leave squeue")


@pytest.mark.timeout(150)
def test_sge_job_settings(sge, workdir):
    log = workdir / "sge job.log"
    array = SGEQsubWorkerArray(2, walltime=420, memory="2G", cores=1, queue="all.q",
                               job_name="np_settings", log=str(log),
                               directives=["-v FROM_DIRECTIVE=yes"],
                               prologue=["FROM_PROLOGUE=ran; export FROM_PROLOGUE"])
    results = _run_settings_pool(array)
    assert {r[:2] for r in results} == {("ran", "yes")}
    assert {r[2] for r in results} == {array.job_id}
    wait_until(lambda: sge_job_gone(array.job_id), 60, f"job {array.job_id} to leave qstat")
    # qacct keeps the finished job's record: name, queue and the limits it ran under
    record = wait_until(lambda: (lambda out: "jobname" in out and out)(
        run(["qacct", "-j", array.job_id]).stdout), 60, f"qacct to know job {array.job_id}")
    assert "np_settings" in record, record
    assert "-q all.q -l h_rt=420,h_vmem=2048M -pe smp 1" in record, record
