"""Nothing left on disk: the authkey file of a manager killed with SIGKILL goes away."""

import os
import subprocess
import sys
import textwrap

import pytest

import netpool
from conftest import HERE

pytestmark = pytest.mark.timeout(60)

SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {here!r})
    import netpool
    pool = netpool.DistributedPool(1)
    print(pool.worker_command().split()[-1], flush=True)
    time.sleep(60)
""")


def _key_path(command):
    return command.split("--authkey-file ")[1].strip("'")


def test_a_killed_managers_key_folder_is_removed_by_the_next_run(tmp_path, monkeypatch):
    keys = tmp_path / "keys"
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.setenv("NETPOOL_KEY_DIR", str(keys))
    script = tmp_path / "manager.py"
    script.write_text(SCRIPT.format(here=HERE))
    proc = subprocess.Popen([sys.executable, str(script)], cwd=project, stdout=subprocess.PIPE,
                            text=True)
    try:
        key = proc.stdout.readline().strip()
        assert key and os.path.exists(key), key
        assert os.listdir(project) == []  # nothing lands in the user's project
        proc.kill()
        proc.wait(10)
        assert os.path.exists(key)  # SIGKILL: it could not clean up after itself
        with netpool.DistributedPool(1) as pool:
            mine = _key_path(pool.worker_command())
            assert not os.path.exists(os.path.dirname(key)), "the dead manager's folder is left"
            assert os.path.dirname(os.path.dirname(mine)) == str(keys)
            assert oct(os.stat(os.path.dirname(mine)).st_mode & 0o777) == "0o700"
            assert oct(os.stat(mine).st_mode & 0o777) == "0o600"
        assert not os.path.exists(os.path.dirname(mine))  # ours, removed as we stop
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_live_managers_key_folder_is_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("NETPOOL_KEY_DIR", str(tmp_path / "keys"))
    with netpool.DistributedPool(1) as first, netpool.DistributedPool(1) as second:
        a, b = _key_path(first.worker_command()), _key_path(second.worker_command())
        assert a != b and os.path.exists(a) and os.path.exists(b)


def test_by_default_the_key_lives_in_the_home_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("NETPOOL_KEY_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    with netpool.DistributedPool(1) as pool:
        key = _key_path(pool.worker_command())
        assert key.startswith(os.path.join(os.path.expanduser("~"), ".netpool", "keys") + "/")
        assert os.listdir(tmp_path) == []
