"""Worker output forwarding: what tasks print on workers whose output goes to a file reaches
the manager's terminal, each line prefixed with its worker; off with forward_output=False.

The launchers here stand for batch schedulers: a fake one whose worker writes to a file, and
a fake ``sbatch`` that runs netpool's real SLURM job script with its output in
``slurm-JOB_INDEX.out``, as SLURM does. A real SLURM and a real Grid Engine, when
``ci/start_schedulers.sh`` has started them, are tried too (skipped, saying why, when absent).
"""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import netpool
from netpool.launchers import LocalWorker, SGEQsubWorkerArray, SLURMWorkerArray
from netpool.launchers.base import AUTHKEY_ENV, ProcessWorker, popen_to_output
from _tasks import shout, shout_many
from conftest import wait_for

pytestmark = pytest.mark.timeout(120)


class FileWorker(ProcessWorker):
    """A worker whose output goes to a file, as a batch job's does."""

    relays_output = False

    def __init__(self, path: Path) -> None:
        self.path = path

    def _start(self, command, authkey):
        env = dict(os.environ, **{AUTHKEY_ENV: authkey.hex()})
        self._proc = popen_to_output(command.argv(), str(self.path), env=env)


def _lines(text, prefix="[worker "):
    return [line for line in text.splitlines() if line.startswith(prefix)]


def test_lines_printed_on_a_file_worker_reach_the_terminal_prefixed(tmp_path, capfd):
    path = tmp_path / "worker.out"
    with netpool.DistributedPool(workers=[FileWorker(path)]) as pool:
        assert pool.map(shout, range(3), chunksize=1) == [0, 1, 2]
        assert netpool._runtime.output.drain(10)
    out, err = capfd.readouterr()
    host = os.uname().nodename
    assert _lines(out) == [f"[worker 0 {host}] out line {i}" for i in range(3)]
    assert _lines(err) == [f"[worker 0 {host}] err line {i}" for i in range(3)]
    text = path.read_text()  # the file still has everything
    assert all(f"out line {i}" in text and f"err line {i}" in text for i in range(3))


def test_many_lines_arrive_all_and_in_order(tmp_path, capfd):
    with netpool.DistributedPool(workers=[FileWorker(tmp_path / "w.out")]) as pool:
        assert pool.map(shout_many, [3000, 2000], chunksize=1) == [3000, 2000]
    out, _ = capfd.readouterr()  # join() waited for the printer
    got = [line.split("] ", 1)[1] for line in _lines(out)]
    assert got == [f"many {i}" for i in range(3000)] + [f"many {i}" for i in range(2000)]


def test_forward_output_false_leaves_them_in_the_file_only(tmp_path, capfd):
    path = tmp_path / "worker.out"
    with netpool.DistributedPool(workers=[FileWorker(path)], forward_output=False) as pool:
        assert pool.map(shout, range(2), chunksize=1) == [0, 1]
    out, err = capfd.readouterr()
    assert "out line" not in out and "err line" not in err
    wait_for(lambda: "out line 1" in path.read_text(), 10, what="the output file")


def test_a_worker_that_shares_our_terminal_is_not_forwarded_twice(capfd):
    with netpool.DistributedPool(workers=[LocalWorker()]) as pool:
        assert pool.apply(shout, (7,)) == 7
        netpool._runtime.output.drain(5)
    out, err = capfd.readouterr()
    assert out.count("out line 7") == 1 and "[worker" not in out


def test_a_manager_forwards_only_when_asked(tmp_path, capfd):
    out_pattern = str(tmp_path / "w%d.out")
    for forward in (False, True):
        # A fresh interpreter: a forked worker writes where pytest's capture points sys.stdout
        m = netpool.Manager(python=sys.executable, output=out_pattern, forward_output=forward)
        m.add_worker(LocalWorker())
        ctx = m.get_context()
        ctx.add_task(lambda: shout(5))
        assert list(ctx.get_results_unordered()) == [5]
        m.close()
        netpool._runtime.output.drain(5)
        out, _ = capfd.readouterr()
        assert bool(_lines(out)) == forward, out
        assert "out line 5" in (tmp_path / "w0.out").read_text()


# -- a fake sbatch that runs netpool's real job script ---------------------------------------

FAKE_SBATCH = """#!{python}
import os, subprocess, sys
here = os.path.dirname(os.path.abspath(sys.argv[0]))
script = sys.stdin.read()
n = int(next(a for a in sys.argv if a.startswith("--array=")).rsplit("-", 1)[1])
path = os.path.join(here, "job.sh")
with open(path, "w") as f:
    f.write(script)
pids = []
for i in range(1, n + 1):
    out = open(os.path.join(here, "slurm-4242_%d.out" % i), "wb")
    pids.append(subprocess.Popen(["/bin/sh", path], stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True,
                                 env=dict(os.environ, SLURM_ARRAY_TASK_ID=str(i))).pid)
with open(os.path.join(here, "pids"), "w") as f:
    f.write(" ".join(map(str, pids)))
print("4242")
"""

FAKE_SCANCEL = """#!{python}
import os, signal, sys
here = os.path.dirname(os.path.abspath(sys.argv[0]))
for pid in open(os.path.join(here, "pids")).read().split():
    try:
        os.killpg(int(pid), signal.SIGKILL)
    except ProcessLookupError:
        pass
"""


@pytest.fixture
def fake_slurm(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("sbatch", FAKE_SBATCH), ("scancel", FAKE_SCANCEL)):
        (bin_dir / name).write_text(text.format(python=sys.executable))
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(tmp_path)
    yield bin_dir
    pids = bin_dir / "pids"
    if pids.exists():  # whatever the test did, no job process outlives it
        for pid in pids.read_text().split():
            try:
                os.killpg(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_a_slurm_array_workers_output_file_is_forwarded(fake_slurm, capfd):
    with netpool.DistributedPool(workers=[SLURMWorkerArray(2)]) as pool:
        assert sorted(pool.map(shout, range(6), chunksize=1)) == list(range(6))
        netpool._runtime.output.drain(10)
    out, err = capfd.readouterr()
    got = sorted(line.split("] ", 1)[1] for line in _lines(out))
    assert got == sorted(f"out line {i}" for i in range(6))
    assert len(_lines(err)) == 6
    files = "".join(p.read_text() for p in fake_slurm.glob("slurm-4242_*.out"))
    assert all(f"out line {i}" in files for i in range(6))  # SLURM's files have them too


@pytest.mark.skipif(shutil.which("sbatch") is None,
                    reason="no SLURM here (sbatch not found; ci/start_schedulers.sh starts one)")
def test_a_real_slurm_workers_output_is_forwarded(tmp_path, capfd, monkeypatch):
    if subprocess.run(["squeue"], capture_output=True).returncode != 0:
        pytest.skip("sbatch is installed but SLURM does not answer (squeue failed)")
    monkeypatch.chdir(tmp_path)
    with netpool.DistributedPool(workers=[SLURMWorkerArray(1, "--time=5")],
                                 connect_timeout=60) as pool:
        assert pool.map(shout, range(2), chunksize=1) == [0, 1]
        netpool._runtime.output.drain(10)
    out, _ = capfd.readouterr()
    assert sorted(line.split("] ", 1)[1] for line in _lines(out)) == ["out line 0", "out line 1"]


class _Lines:
    def __init__(self):
        self.got = []

    def add(self, stream, line):
        self.got.append((stream, line))


def test_the_tee_sends_whole_lines_and_a_redrawn_line_once():
    import io
    from netpool.worker.forward import MAX_LINE, Tee
    target, sink = io.StringIO(), _Lines()
    tee = Tee(target, 2, sink)
    tee.write("a")
    tee.write("b\nc")
    assert sink.got == [(2, "ab")]
    tee.write("\r 10%\r 50%\r100%\n")          # a progress bar redrawn in place, then ended
    tee.write("x\r\n")                          # a CRLF line
    assert sink.got == [(2, "ab"), (2, "100%"), (2, "x")]
    tee.write("y" * (MAX_LINE + 5))             # no newline for a long while: sent as is
    assert sink.got[-1] == (2, "y" * (MAX_LINE + 5))  # the Sender cuts it to MAX_LINE
    assert target.getvalue().startswith("ab\nc\r 10%")  # the file gets every byte
    assert tee.encoding == target.encoding     # the rest is the target's


@pytest.mark.skipif(shutil.which("qsub") is None or shutil.which("qstat") is None,
                    reason="no Grid Engine here (qsub not found; ci/start_schedulers.sh "
                           "starts one)")
def test_a_real_sge_workers_output_is_forwarded(tmp_path, capfd, monkeypatch):
    if subprocess.run(["qstat", "-u", "*"], capture_output=True, timeout=15).returncode != 0:
        pytest.skip("qsub is installed but the SGE qmaster does not answer (qstat failed)")
    monkeypatch.chdir(tmp_path)
    with netpool.DistributedPool(workers=[SGEQsubWorkerArray(1)], connect_timeout=90) as pool:
        assert pool.map(shout, range(2), chunksize=1) == [0, 1]
    out, err = capfd.readouterr()
    assert sorted(line.split("] ", 1)[1] for line in _lines(out)) == ["out line 0", "out line 1"]
    assert sorted(line.split("] ", 1)[1] for line in _lines(err)) == ["err line 0", "err line 1"]
