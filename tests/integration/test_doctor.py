"""`netpool doctor`: one tiny task through the real launcher, and what it found."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)


def doctor(*args: str, env=None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netpool", "doctor", *args], capture_output=True,
                          text=True, timeout=100, env=env, cwd=cwd)


def test_local_worker_runs_a_task_and_says_where(tmp_path):
    proc = doctor("--workers", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "workers are told to connect to 127.0.0.1" in out
    assert "launched <LocalWorker>" in out
    assert f"Python {sys.version.split()[0]}" in out and f"directory: {tmp_path}" in out
    assert out.rstrip().endswith("OK")


def test_a_rejected_submission_shows_the_schedulers_words(tmp_path):
    """A stub sbatch that refuses a directive, as a real one does: doctor prints its message."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    stub = bindir / "sbatch"
    stub.write_text("#!/bin/sh\ncat >/dev/null\necho \"sbatch: error: invalid partition "
                    "specified: nosuch\" >&2\nexit 1\n")
    stub.chmod(0o755)
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
    proc = doctor("--workers", "slurm:1,queue=nosuch", env=env, cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILED after" in proc.stdout and "LauncherError" in proc.stdout
    assert "--partition=nosuch" in proc.stdout and "invalid partition specified" in proc.stdout


def test_a_worker_that_never_connects_shows_its_output(tmp_path):
    """A worker whose interpreter fails at once: the error quotes its output file."""
    fake = tmp_path / "badpython"
    fake.write_text("#!/bin/sh\necho 'badpython: this interpreter is broken'\nexit 3\n")
    fake.chmod(0o755)
    proc = doctor("--workers", "1", "--python", str(fake), "--timeout", "30", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILED after" in proc.stdout and "WorkerStartError" in proc.stdout
    assert "badpython: this interpreter is broken" in proc.stdout
    assert "exit code 3" in proc.stdout
    kept = list(tmp_path.glob("netpool-doctor-*"))
    assert len(kept) == 1 and f"kept in {kept[0]}" in proc.stdout


def test_success_leaves_no_folder(tmp_path):
    assert doctor("--workers", "1", cwd=tmp_path).returncode == 0
    assert not list(tmp_path.glob("netpool-doctor-*"))


def test_bad_spec_is_one_line_and_exit_2():
    proc = doctor("--workers", "zz:1")
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("netpool doctor: error: bad --workers part 'zz:1': "
                                   "unknown worker kind 'zz'")
    assert "Traceback" not in proc.stdout + proc.stderr
