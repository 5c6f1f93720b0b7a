"""``_start``/``_stop`` of every launcher against stub scheduler commands on a temporary PATH,
in the spirit of IMP.parallel's FakeSGEEnvironment: each stub records its argv and stdin and
prints a canned reply, so the tests see exactly which commands ran with what input.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from pathlib import Path

import pytest

from netpool.errors import LauncherError
from netpool.launchers import (LocalWorker, LSFWorkerArray, PBSWorkerArray, SGEPEWorkerArray,
                               SGEQsubWorkerArray, SLURMStepWorkerArray, SLURMWorkerArray,
                               SSHWorker, WorkerCommand)
from netpool.launchers.base import write_key_file
from netpool.launchers.sge import _SGEPEWorker
from netpool.launchers.ssh import ssh_argv

pytestmark = pytest.mark.timeout(60)

AUTHKEY = bytes(range(200, 232))
COMMANDS = ("qsub", "qdel", "qrsh", "sbatch", "scancel", "srun", "bsub", "bkill", "ssh")

# ssh reads the key line, then holds stdin open like a live session; srun runs until killed.
STUB = """#!{python}
import json, os, sys, time
name = os.path.basename(sys.argv[0])
here = os.path.dirname(os.path.abspath(sys.argv[0]))
stdin = sys.stdin.readline() if name == "ssh" else sys.stdin.read()
with open(os.path.join(here, name + ".log"), "a") as f:
    f.write(json.dumps({{"argv": sys.argv[1:], "stdin": stdin, "cwd": os.getcwd()}}) + "\\n")
def content(ext):
    path = os.path.join(here, name + ext)
    return open(path).read() if os.path.exists(path) else None
sys.stdout.write(content(".reply") or "")
sys.stderr.write(content(".stderr") or "")
sys.stdout.flush()
if name == "ssh":
    sys.stdin.read()
elif name == "srun":
    time.sleep(50)
sys.exit(int(content(".rc") or 0))
"""


class FakeScheduler:
    def __init__(self, folder: Path) -> None:
        self.dir = folder
        folder.mkdir()
        for cmd in COMMANDS:
            path = folder / cmd
            path.write_text(STUB.format(python=sys.executable))
            path.chmod(0o755)

    def reply(self, cmd: str, stdout: str = "", rc: int = 0, stderr: str = "") -> None:
        (self.dir / f"{cmd}.reply").write_text(stdout)
        (self.dir / f"{cmd}.rc").write_text(str(rc))
        (self.dir / f"{cmd}.stderr").write_text(stderr)

    def calls(self, cmd: str) -> list[dict]:
        log = self.dir / f"{cmd}.log"
        return [json.loads(l) for l in log.read_text().splitlines()] if log.exists() else []

    def wait_calls(self, cmd: str, n: int, timeout: float = 20.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.calls(cmd)) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.calls(cmd)) >= n, f"{cmd} ran {len(self.calls(cmd))} times, not {n}"
        return self.calls(cmd)


def wait_until(cond, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


@pytest.fixture
def fake(tmp_path, monkeypatch):
    sched = FakeScheduler(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{sched.dir}:{os.environ['PATH']}")
    monkeypatch.chdir(tmp_path)
    return sched


@pytest.fixture
def cmds(tmp_path):
    key_file = write_key_file(str(tmp_path / "keys"), AUTHKEY)

    def make(n, python=("/opt/py env/bin/python3", "-X", "dev"), first=0):
        return [WorkerCommand(tuple(python), ("10.1.2.3", 4567), first + i,
                              str(tmp_path / f"worker {first + i}.output"), key_file)
                for i in range(n)]
    return make


def assert_no_key(*calls):
    for call in calls:
        text = json.dumps(call)
        assert AUTHKEY.hex() not in text


# --- SGE ---------------------------------------------------------------------------------------

def test_sge_qsub_array(fake, cmds, tmp_path):
    fake.reply("qsub", 'Your job-array 1234.1-3:1 ("STDIN") has been submitted\n')
    array = SGEQsubWorkerArray(3, "-q 'long q' -V")
    workers = array._get_workers()
    assert [repr(w) for w in workers] == ["<SGE qsub worker, ID (unknown)>"] * 3
    commands = cmds(3)
    array._start(commands, AUTHKEY)
    [call] = fake.calls("qsub")
    assert call["argv"] == ["-S", "/bin/sh", "-q", "long q", "-V", "-j", "y", "-cwd", "-r", "n",
                            "-o", "sge-errors", "-t", "1-3"]
    assert call["stdin"] == array.job_script(commands, str(tmp_path))
    assert_no_key(call)
    assert [repr(w) for w in workers] == [f"<SGE qsub worker, ID 1234.{i}>" for i in (1, 2, 3)]
    assert [w.output for w in workers] == [c.output for c in commands]
    array._stop()
    array._stop()  # once is enough
    assert [c["argv"] for c in fake.calls("qdel")] == [["1234"]]


def test_sge_qsub_terse_and_failures(fake, cmds):
    fake.reply("qsub", "77.1-2:1\n")
    array = SGEQsubWorkerArray(2, "-terse")
    array._start(cmds(2), AUTHKEY)
    assert array.job_id == "77"
    fake.reply("qdel", "", rc=1, stderr='denied: job "77" does not exist\n')
    array._stop()  # already gone: not an error
    fake.reply("qsub", "", rc=1, stderr="Unable to run job: no submit host.\n")
    with pytest.raises(LauncherError, match="qsub .*exit code 1.*no submit host"):
        SGEQsubWorkerArray(2, "")._start(cmds(2), AUTHKEY)
    fake.reply("qsub", "something else\n")
    with pytest.raises(LauncherError, match="no job id"):
        SGEQsubWorkerArray(2, "")._start(cmds(2), AUTHKEY)


def test_qdel_other_failure_raises(fake, cmds):
    fake.reply("qsub", "5.1-1:1\n")
    array = SGEQsubWorkerArray(1, "")
    array._start(cmds(1), AUTHKEY)
    fake.reply("qdel", "", rc=1, stderr="error: commlib error: got select error\n")
    with pytest.raises(LauncherError, match="qdel 5 failed.*commlib"):
        array._stop()


def test_sge_pe_worker(fake, cmds, tmp_path):
    """IMP.parallel's test_pe_worker: qrsh -inherit -V testnode testpath ..."""
    fake.reply("qrsh", "hello from qrsh\n")
    worker = _SGEPEWorker("testnode")
    assert repr(worker) == "<SGE PE worker on testnode>"
    [command] = cmds(1, python=("testpath",), first=3)
    worker._start(command, AUTHKEY)
    [call] = fake.wait_calls("qrsh", 1)
    assert call["argv"][:4] == ["-inherit", "-V", "testnode", "testpath"]
    assert call["argv"][4:] == ["-m", "netpool.worker", "10.1.2.3:4567", "--id", "3",
                                "--authkey-file", shlex.quote(command.authkey_file)]
    assert call["stdin"] == ""
    assert_no_key(call)
    assert wait_until(lambda: worker._exit_status() is not None) is not None
    assert worker._exit_status() == 0
    assert Path(command.output).read_text() == "hello from qrsh\n"
    worker._stop()


def test_sge_pe_array_start(fake, cmds, tmp_path, monkeypatch):
    (tmp_path / "hostfile").write_text("node1 1 all.q@node1\nnode2 2 all.q@node2\n")
    monkeypatch.setenv("PE_HOSTFILE", str(tmp_path / "hostfile"))
    local_py = tmp_path / "local python"
    local_py.write_text('#!/bin/sh\necho "local $*"\n')
    local_py.chmod(0o755)
    array = SGEPEWorkerArray()
    workers = array._get_workers()
    assert type(workers[0]) is LocalWorker and len(workers) == 3
    commands = cmds(3, python=(str(local_py),))
    array._start(commands, AUTHKEY)
    calls = fake.wait_calls("qrsh", 2)
    assert sorted(c["argv"][2] for c in calls) == ["node2", "node2"]
    assert sorted(c["argv"][c["argv"].index("--id") + 1] for c in calls) == ["1", "2"]
    wait_until(lambda: all(w._exit_status() is not None for w in workers))
    assert Path(commands[0].output).read_text().startswith("local -m netpool.worker")
    array._stop()


# --- SLURM -------------------------------------------------------------------------------------

def test_slurm_array(fake, cmds, tmp_path):
    fake.reply("sbatch", "42;ci\n")
    array = SLURMWorkerArray(3, "--partition=debug --comment='a b'")
    workers = array._get_workers()
    commands = cmds(3)
    array._start(commands, AUTHKEY)
    [call] = fake.calls("sbatch")
    assert call["argv"] == ["--parsable", "--job-name=netpool", "--array=1-3",
                            "--partition=debug", "--comment=a b"]
    assert call["stdin"] == array.job_script(commands, str(tmp_path))
    assert_no_key(call)
    assert [repr(w) for w in workers] == [f"<SLURM worker, ID 42_{i}>" for i in (1, 2, 3)]
    fake.reply("scancel", "", rc=1, stderr="scancel: error: Invalid job id specified\n")
    array._stop()
    assert [c["argv"] for c in fake.calls("scancel")] == [["42"]]


def test_slurm_step(fake, cmds, tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_NTASKS", "2")
    array = SLURMStepWorkerArray(options="--overlap")
    workers = array._get_workers()
    assert len(workers) == 2 and repr(workers[1]).startswith("<SLURM step worker, task 1")
    commands = cmds(2)
    array._start(commands, AUTHKEY)
    [call] = fake.wait_calls("srun", 1)
    assert call["argv"][:5] == ["--ntasks=2", "--job-name=netpool", "--overlap", "/bin/sh", "-c"]
    assert '"$SLURM_PROCID"' in call["argv"][5] and "  1) exec " in call["argv"][5]
    assert_no_key(call)
    assert array._exit_status() is None
    array._stop()
    assert array._exit_status() == -15  # SIGTERM, which srun forwards to the step


def test_slurm_step_outside_allocation(monkeypatch):
    monkeypatch.delenv("SLURM_NTASKS", raising=False)
    monkeypatch.delenv("SLURM_NPROCS", raising=False)
    with pytest.raises(LauncherError, match="SLURM_NTASKS"):
        SLURMStepWorkerArray()._get_workers()
    assert len(SLURMStepWorkerArray(4)._get_workers()) == 4


# --- PBS, LSF ----------------------------------------------------------------------------------

def test_pbs_array(fake, cmds, tmp_path):
    fake.reply("qsub", "1234[].pbs01\n")
    array = PBSWorkerArray(3, "-q workq")
    workers = array._get_workers()
    commands = cmds(3)
    array._start(commands, AUTHKEY)
    [call] = fake.calls("qsub")
    assert call["argv"] == ["-N", "netpool", "-j", "oe", "-J", "1-3", "-q", "workq"]
    assert call["stdin"] == array.job_script(commands, str(tmp_path))
    assert "${PBS_ARRAY_INDEX:-$PBS_ARRAYID}" in call["stdin"]
    assert_no_key(call)
    assert repr(workers[1]) == "<PBS worker, ID 1234[2].pbs01>"
    fake.reply("qdel", "", rc=35, stderr="qdel: Unknown Job Id 1234[].pbs01\n")
    array._stop()
    assert [c["argv"] for c in fake.calls("qdel")] == [["1234[].pbs01"]]


def test_pbs_single_worker_is_not_an_array(fake, cmds):
    fake.reply("qsub", "99.pbs01\n")
    array = PBSWorkerArray(1)
    array._start(cmds(1), AUTHKEY)
    assert "-J" not in fake.calls("qsub")[0]["argv"]
    assert repr(array._get_workers()[0]) == "<PBS worker, ID 99.pbs01>"


def test_lsf_array(fake, cmds, tmp_path):
    fake.reply("bsub", "Job <77> is submitted to default queue <normal>.\n")
    array = LSFWorkerArray(3, "-q normal")
    workers = array._get_workers()
    commands = cmds(3)
    array._start(commands, AUTHKEY)
    [call] = fake.calls("bsub")
    assert call["argv"] == ["-J", "netpool[1-3]", "-o", "lsf-errors", "-q", "normal"]
    assert call["stdin"] == array.job_script(commands, str(tmp_path))
    assert_no_key(call)
    assert repr(workers[2]) == "<LSF worker, ID 77[3]>"
    fake.reply("bkill", "", rc=255, stderr="Job <77>: Job has already finished\n")
    array._stop()
    assert [c["argv"] for c in fake.calls("bkill")] == [["77"]]


# --- ssh ---------------------------------------------------------------------------------------

def test_ssh_worker(fake, cmds):
    worker = SSHWorker("node7", user="bob", port=2200, python="'/opt/my py/bin/python3' -X dev")
    [command] = cmds(1)
    worker._start(command, AUTHKEY)
    [call] = fake.wait_calls("ssh", 1)
    assert call["stdin"] == AUTHKEY.hex() + "\n"  # the key goes on stdin ...
    assert AUTHKEY.hex() not in json.dumps(call["argv"])  # ... never on the command line
    assert call["argv"] == worker.argv(command)[1:]
    assert call["argv"][-1] == ("'/opt/my py/bin/python3' -X dev -m netpool.worker "
                                "10.1.2.3:4567 --id 0 --authkey-stdin")
    assert worker.argv(command) == ssh_argv("node7", call["argv"][-1], "bob", 2200)
    assert worker._exit_status() is None  # stdin stays open: the session lives
    worker._stop()
    assert worker._exit_status() == -9


# --- commands missing from PATH ----------------------------------------------------------------

@pytest.mark.parametrize("name, start", [
    ("qsub", lambda c: SGEQsubWorkerArray(2, "")._start(c(2), AUTHKEY)),
    ("sbatch", lambda c: SLURMWorkerArray(2)._start(c(2), AUTHKEY)),
    ("srun", lambda c: SLURMStepWorkerArray(2)._start(c(2), AUTHKEY)),
    ("qsub", lambda c: PBSWorkerArray(2)._start(c(2), AUTHKEY)),
    ("bsub", lambda c: LSFWorkerArray(2)._start(c(2), AUTHKEY)),
    ("qrsh", lambda c: _SGEPEWorker("node2")._start(c(1)[0], AUTHKEY)),
    ("ssh", lambda c: SSHWorker("node2")._start(c(1)[0], AUTHKEY)),
])
def test_command_not_on_path(name, start, cmds, tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(LauncherError, match=f"'{name}'.*must be on the PATH of the manager"):
        start(cmds)


@pytest.mark.parametrize("array, job_id, name", [
    (SGEQsubWorkerArray(1, ""), "1", "qdel"), (SLURMWorkerArray(1), "1", "scancel"),
    (PBSWorkerArray(1), "1.x", "qdel"), (LSFWorkerArray(1), "1", "bkill")])
def test_cancel_command_not_on_path(array, job_id, name, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    array.job_id = job_id
    with pytest.raises(LauncherError, match=f"'{name}'.*must be on the PATH of the manager"):
        array._stop()
