"""The netpool command: demo, run SCRIPT, worker HOST:PORT."""

import os
import subprocess
import sys
import textwrap

import pytest

import netpool
from netpool.cli import parse_workers
from _tasks import getpid

pytestmark = pytest.mark.timeout(90)


def _netpool(*args, cwd=None, timeout=60, **kw):
    return subprocess.run([sys.executable, "-m", "netpool", *args], cwd=cwd, timeout=timeout,
                          capture_output=True, text=True, **kw)


def test_demo_prints_results_and_a_summary(tmp_path):
    out = _netpool("demo", "--tasks", "4", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert sum(line.startswith("primes in") for line in lines) == 4
    assert lines[-1].startswith("netpool demo: 4 tasks on 2 workers in ")
    assert not list(tmp_path.iterdir())  # its worker output files were cleaned up


SCRIPT = textwrap.dedent("""
    import multiprocessing, multiprocessing.pool, os, sys
    from multiprocessing import Pool

    def square(x):
        return x * x

    if __name__ == "__main__":
        kinds = []
        with Pool(2) as p:
            kinds.append(type(p).__name__)
            print(p.map(square, range(5)))
        with multiprocessing.Pool(2) as p:
            kinds.append(type(p).__name__)
            print(sorted(p.imap_unordered(square, range(3))))
        with multiprocessing.pool.Pool(1) as p:
            kinds.append(type(p).__name__)
            print(p.apply(square, (7,)))
        with multiprocessing.get_context("spawn").Pool(1) as p:
            kinds.append(type(p).__name__)
            print(p.starmap(pow, [(2, 5)]))
        print(kinds, sys.argv[1:])
""")


def test_run_replaces_every_way_to_make_a_pool(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    out = _netpool("run", str(script), "a1", "--flag", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "[0, 1, 4, 9, 16]", "[0, 1, 4]", "49", "[32]",
        "['Pool', 'Pool', 'Pool', 'Pool'] ['a1', '--flag']"]
    plain = subprocess.run([sys.executable, str(script), "a1", "--flag"], capture_output=True,
                           text=True, timeout=60)
    assert plain.stdout == out.stdout  # the same output, pool types included


def test_run_with_a_workers_spec(tmp_path):
    script = tmp_path / "script.py"
    script.write_text("import os\nfrom multiprocessing import Pool\n"
                      "if __name__ == '__main__':\n"
                      "    with Pool(9) as p:\n"
                      "        print(len(set(p.map(os.getpid.__call__ if False else abs, range(3)))))\n")
    out = _netpool("run", "--workers", "local:1+1", str(script), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "3"


def test_run_propagates_the_exit_code(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("import sys\nsys.exit(4)\n")
    assert _netpool("run", str(script)).returncode == 4


@pytest.mark.parametrize("args, says", [
    (["run", "missing.py"], "netpool run: error: can't open file 'missing.py': No such file"),
    (["run", "--workers", "local:0", "s.py"], "netpool run: error: bad --workers part 'local:0'"),
    (["run", "--workers", "moon:3", "s.py"], "netpool run: error: bad --workers part 'moon:3'"),
    (["run", "--workers", "+", "s.py"], "netpool run: error: --workers '+' names no workers"),
    (["run", "--bogus", "s.py"], "netpool: error: unrecognized arguments: --bogus"),
    (["run"], "netpool run: error: the following arguments are required: script"),
    (["run", "-m"], "netpool run: error: argument -m: expected one argument"),
    (["run", "-m", "no_such_mod"], "netpool run: error: No module named no_such_mod"),
    (["run", "-m", "email"], "netpool run: error: No module named email.__main__; 'email' is a "
                             "package and cannot be directly executed"),
    (["launch"], "netpool: error: argument command: invalid choice: 'launch'"),
])
def test_cli_mistakes_give_one_line_and_exit_2(tmp_path, args, says):
    (tmp_path / "s.py").write_text("print('ran')\n")
    out = _netpool(*args, cwd=tmp_path)
    assert (out.returncode, out.stdout) == (2, "")
    assert len(out.stderr.splitlines()) == 1 and out.stderr.startswith(says), out.stderr


def test_run_reports_an_uncaught_exception_as_python_does(tmp_path):
    script = tmp_path / "boom.py"
    script.write_text("def f():\n    1 / 0\n\nf()\n")
    out = _netpool("run", str(script), cwd=tmp_path)
    plain = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                           timeout=60)
    assert (out.returncode, out.stdout, out.stderr) == (1, plain.stdout, plain.stderr)


def test_run_gives_the_script_the_module_attributes_python_gives_it(tmp_path):
    script = tmp_path / "attrs.py"
    script.write_text('"""The doc."""\nimport os, sys, pkgutil\n'
                      'print(__doc__, __name__, type(__loader__).__name__, __loader__.name,\n'
                      '      __spec__, __package__, __file__ == os.path.abspath(sys.argv[0]))\n'
                      'print(__loader__.get_source("__main__").splitlines()[0])\n')
    out = _netpool("run", "attrs.py", cwd=tmp_path)
    plain = subprocess.run([sys.executable, "attrs.py"], capture_output=True, text=True,
                           timeout=60, cwd=tmp_path)
    assert plain.stdout.startswith("The doc. __main__ SourceFileLoader __main__ None None True")
    assert (out.returncode, out.stdout, out.stderr) == (0, plain.stdout, plain.stderr)


def test_run_gives_the_script_the_globals_python_gives_it(tmp_path):
    # Before 3.14, python's __main__ starts with __annotations__ = {}: a script that reads
    # it (a dataclass-like helper, a print) without annotating anything at the top level
    # finds it there (a script that annotates makes its own). Under `-m` too (runpy runs the
    # module in python's __main__).
    (tmp_path / "ann.py").write_text(
        "print(sorted(globals()))\n"
        "print(__annotations__)\n"
        "exec('x: int = 1')\n"
        "print(__annotations__, __annotations__ is globals()['__annotations__'])\n")
    for argv in (["ann.py"], ["-m", "ann"]):
        out = _netpool("run", *argv, cwd=tmp_path)
        plain = subprocess.run([sys.executable, *argv], capture_output=True, text=True,
                               timeout=60, cwd=tmp_path)
        assert plain.returncode == 0, plain.stderr
        assert ("'__annotations__'" in plain.stdout.splitlines()[0]) == (sys.version_info
                                                                        < (3, 14))
        assert (out.returncode, out.stdout, out.stderr) == (0, plain.stdout, plain.stderr)


def test_run_m_runs_a_module_as_python_m_does(tmp_path):
    # python -m pkg.job: found from the current directory, relative imports work, the
    # module's own options follow it; a package runs its __main__; pools are netpool's.
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "helper.py").write_text("def sq(x):\n    return x * x\n")
    (pkg / "job.py").write_text(textwrap.dedent("""
        import os, sys, multiprocessing as mp
        from .helper import sq

        def cube(x):
            return x ** 3

        if __name__ == "__main__":
            print(__name__, __package__, __spec__.name, __file__ == sys.argv[0],
                  os.path.basename(__file__), sys.argv[1:], sys.path[0] == os.getcwd())
            with mp.Pool(2) as p:
                print(p.map(sq, range(5)), p.map(cube, range(4)))
                netpool = sys.modules.get("netpool")
                print(netpool is not None and isinstance(p, netpool.DistributedPool),
                      file=sys.stderr)
    """))
    (pkg / "__main__.py").write_text("from pkg.job import cube\nprint('main of', __spec__.name,"
                                     " cube(3))\n")
    for argv in (["-m", "pkg.job", "a", "-v", "--workers", "3"], ["-m", "pkg"]):
        out = _netpool("run", "--workers", "2", *argv, cwd=tmp_path)
        plain = subprocess.run([sys.executable, *argv], capture_output=True, text=True,
                               timeout=60, cwd=tmp_path)
        assert (out.returncode, out.stdout) == (0, plain.stdout), out.stderr
        assert out.stderr == ("True\n" if argv[1] == "pkg.job" else "")
        assert plain.stderr == ("False\n" if argv[1] == "pkg.job" else "")
    assert plain.stdout == "main of pkg.__main__ 27\n"


def test_run_reports_a_syntax_error_as_python_does(tmp_path):
    # No "Traceback" header and none of our frames: the script never started.
    script = tmp_path / "broken.py"
    script.write_text("import multiprocessing\nprint('never')\ndef f(:\n    pass\n")
    out = _netpool("run", str(script), cwd=tmp_path)
    plain = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                           timeout=60)
    assert plain.returncode == 1 and "SyntaxError" in plain.stderr
    assert (out.returncode, out.stdout, out.stderr) == (1, plain.stdout, plain.stderr)


def test_run_dies_of_sigint_after_an_uncaught_keyboard_interrupt_as_python_does(tmp_path):
    # python re-raises SIGINT at its very end (atexit handlers run, threads joined) so that
    # the parent sees "killed by SIGINT": -2 from subprocess, 130 in a shell.
    script = tmp_path / "ctrl_c.py"
    script.write_text(textwrap.dedent("""\
        import atexit, multiprocessing, threading, time
        atexit.register(print, "atexit ran")
        threading.Thread(target=lambda: (time.sleep(0.2), print("thread ended"))).start()
        if __name__ == "__main__":
            with multiprocessing.Pool(1) as p:
                print(p.map(abs, [-1]))
            raise KeyboardInterrupt
    """))
    out = _netpool("run", str(script), cwd=tmp_path)
    plain = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                           timeout=60, cwd=tmp_path)
    assert plain.returncode == -2 and "atexit ran" in plain.stdout
    assert (out.returncode, out.stdout, out.stderr) == (-2, plain.stdout, plain.stderr)


def test_parse_workers():
    ws = parse_workers("2+ssh:node1,bob@node2+slurm:3+sge:4+pbs:1+lsf:2+sge-pe")
    names = [type(w).__name__ for w in ws]
    assert names == ["LocalWorker", "LocalWorker", "SSHWorker", "SSHWorker", "SLURMWorkerArray",
                     "SGEQsubWorkerArray", "PBSWorkerArray", "LSFWorkerArray", "SGEPEWorkerArray"]
    for bad in ("", "zero:1", "local:0", "slurm:x"):
        with pytest.raises(ValueError):
            parse_workers(bad)


def test_parse_workers_job_settings():
    (slurm, sge) = parse_workers(
        "slurm:3,walltime=1:00:00,memory=2G,cores=2,queue=debug,directive=--qos=long,"
        "directive=--exclusive,prologue=module load py,options=--hold"
        "+sge:2,job_name=run 1,log=errs/sge.log")
    assert slurm.submit_argv() == [
        "sbatch", "--parsable", "--job-name=netpool", "--array=1-3", "--time=60", "--mem=2048M",
        "--cpus-per-task=2", "--partition=debug", "--hold"]
    assert slurm.settings.directives == ("--qos=long", "--exclusive")
    assert slurm.settings.prologue == ("module load py",)
    assert sge.submit_argv()[-6:] == ["-N", "run 1", "-o", "errs/sge.log", "-t", "1-2"]
    for bad, said in (("slurm:2,wall=1", "unknown job setting 'wall'"),
                      ("slurm:2,walltime", "key=value"), ("sge:2,memory=lots", "memory"),
                      ("pbs:1,cores=0", "cores")):
        with pytest.raises(ValueError, match=said):
            parse_workers(bad)


def test_worker_joins_a_running_pool_with_key_from_env_or_file(tmp_path):
    with netpool.DistributedPool(1) as pool:
        host, port = pool.address
        keyfile = tmp_path / "key"
        keyfile.write_text(pool.authkey.hex())
        keyfile.chmod(0o600)
        env = dict(os.environ, NETPOOL_AUTHKEY=pool.authkey.hex())
        procs = [
            subprocess.Popen([sys.executable, "-m", "netpool", "worker", f"{host}:{port}"], env=env),
            subprocess.Popen([sys.executable, "-m", "netpool.worker", f"{host}:{port}",
                              "--authkey-file", str(keyfile)]),
        ]
        try:
            from conftest import wait_for
            wait_for(lambda: pool._rt.worker_count() == 3, timeout=30, what="3 workers")
            pids = set(pool.map(_slow_pid, range(12), chunksize=1))
            # The process started is the worker's supervisor, the parent of what runs tasks.
            assert {p.pid for p in procs} <= {_parent(p) for p in pids}
            pool.close()  # joined workers are stopped like launched ones, and exit cleanly
            pool.join(30)
            assert [p.wait(15) for p in procs] == [0, 0]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()


def _parent(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def _slow_pid(_):
    import time
    time.sleep(0.2)
    return getpid()


def test_the_pool_prints_the_command_that_joins_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    import shlex
    with netpool.DistributedPool(1) as pool:
        cmd = pool.worker_command()
        assert pool.authkey.hex() not in cmd
        argv = shlex.split(cmd)
        keyfile = argv[argv.index("--authkey-file") + 1]
        assert os.stat(keyfile).st_mode & 0o777 == 0o600
        proc = subprocess.Popen([sys.executable, "-m", "netpool", *argv[1:]])
        from conftest import wait_for
        wait_for(lambda: pool._rt.worker_count() == 2, timeout=30, what="the joined worker")
        pool.close()
        pool.join(30)
        assert proc.wait(15) == 0
    assert not os.path.exists(keyfile)


def test_worker_with_a_wrong_key_fails_clearly(tmp_path):
    with netpool.DistributedPool(1) as pool:
        host, port = pool.address
        env = dict(os.environ, NETPOOL_AUTHKEY="00" * 32)
        out = subprocess.run([sys.executable, "-m", "netpool.worker", f"{host}:{port}"], env=env,
                             capture_output=True, text=True, timeout=30)
        assert out.returncode != 0 and "AuthenticationError" in out.stderr
        assert pool.apply(abs, (-3,)) == 3


def test_worker_without_a_key_says_how_to_give_one():
    env = {k: v for k, v in os.environ.items() if k != "NETPOOL_AUTHKEY"}
    out = subprocess.run([sys.executable, "-m", "netpool.worker", "127.0.0.1:9"], env=env,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "--authkey-file" in out.stderr
    bad = subprocess.run([sys.executable, "-m", "netpool.worker", "nonsense"], env=env,
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "HOST:PORT" in bad.stderr


def test_netpool_journal_prints_what_a_journal_holds(tmp_path, capsys):
    from netpool import cli
    from netpool._runtime.journal import Journal
    from netpool._runtime.journaled import key_prefix, task_key

    path = tmp_path / "j.db"
    j = Journal(path)
    prefix = key_prefix(1, b"f")
    for i, status in enumerate((0, 0, 1)):
        j.record(task_key(prefix, b"%d" % i, []), status, b"x" * 10, [], "simulate")
    j.close()
    assert cli.main(["journal", str(path)]) == 0
    out = capsys.readouterr().out
    assert "tasks: 2 done, 1 failed" in out and "runs: 1" in out
    assert "simulate: 2 done, 1 failed" in out and "3 outcomes kept" in out
    (tmp_path / "other").write_text("hello")
    assert cli.main(["journal", str(tmp_path / "other")]) == 2
    assert "not a netpool journal" in capsys.readouterr().err
