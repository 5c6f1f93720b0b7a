"""Programs run over ssh workers as under python (issue 8, remote workers): the main script's
objects travel, from the script where the worker can read it and by value where it cannot;
nothing of netpool's reaches the program's stdout; Manager proxies work; multiprocessing's
synchronisation objects fail at the call, saying what to use instead.

Each script runs as ``python script.py`` and as ``netpool run --workers ssh:localhost,...``
(the same interpreter, so netpool is importable on "the other host"), and the two are compared.
The ssh tests skip, saying why, when ``ssh -o BatchMode=yes localhost`` does not work (run
ci/start_sshd.sh as root). The pure parts (which statements a worker runs, sealing the
authkey, rebinding by-value globals) are tested without ssh.
"""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
import textwrap
import types

import pytest

from netpool import _compat, _mainscript
from netpool.worker import process

pytestmark = pytest.mark.timeout(180)

SSH = "ssh:localhost,localhost"


@pytest.fixture(scope="module")
def sshd() -> None:
    try:
        proc = subprocess.run(["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
                               "localhost", "true"], capture_output=True, timeout=30)
    except FileNotFoundError:
        pytest.skip("no ssh client; run ci/start_sshd.sh as root")
    except subprocess.TimeoutExpired:
        pytest.skip("ssh localhost hung; run ci/start_sshd.sh as root")
    if proc.returncode != 0:
        pytest.skip(f"ssh -o BatchMode=yes localhost fails ({proc.stderr.decode().strip()}); "
                    "run ci/start_sshd.sh as root")


# What the remote login shell itself prints, which ssh relays to the program's stderr like the
# worker's own output: on this kind of machine root's ~/.bashrc runs pyenv's init, whose
# rehash races with the other logins (compat/DEVIATIONS.md, "Remote workers"). Not netpool's.
LOGIN_NOISE = re.compile(r"^(pyenv: cannot rehash: .*|rm: cannot remove '.*/\.pyenv/shims/.*)\n",
                         re.M)


def run(argv: list[str], cwd, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONUNBUFFERED", "NETPOOL_LOG", "PYTEST_CURRENT_TEST")}
    env.update(env_extra or {})
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=150,
                          stdin=subprocess.DEVNULL)
    proc.stderr = LOGIN_NOISE.sub("", proc.stderr)
    return proc


def both_ways(tmp_path, source: str, env_extra: dict | None = None):
    """(python run, ssh run) of ``source``, each from a fresh copy of the script."""
    runs = []
    for argv in ([sys.executable], [sys.executable, "-m", "netpool", "run", "--workers", SSH]):
        folder = tmp_path / f"run{len(runs)}"
        folder.mkdir()
        (folder / "prog.py").write_text(textwrap.dedent(source))
        runs.append(run(argv + ["prog.py"], folder, env_extra))
    return runs


MAIN_OBJECTS = """
    import collections, dataclasses, multiprocessing, os, sys
    from multiprocessing import Pool

    print("top level, printed once")       # a forked worker never prints it again
    Point = collections.namedtuple("Point", "x y")

    @dataclasses.dataclass
    class Box:
        size: int
        def grown(self):
            return Box(self.size + OFFSET)

    OFFSET = 0

    def init(offset):
        global OFFSET
        OFFSET = offset

    def helper(p):                          # reads the global the initializer set
        return Box(p.x * p.y).grown()

    def task(p):
        if p.x < 0:
            raise ValueError(f"negative {p.x}")
        return (helper(p), multiprocessing.current_process().name.split("-")[0],
                os.getcwd() == HERE, sys.argv[1:])

    def size_of(box):
        return box.size

    HERE = os.getcwd()
    {guard}
        {remove}
        with Pool(2, initializer=init, initargs=(100,)) as pool:
            print(pool.map(task, [Point(1, 2), Point(3, 4)]))
            print(pool.apply(sorted, ([Box(3), Box(1)],), {"key": size_of}))
            try:
                pool.apply(task, (Point(-1, 0),))
            except ValueError as exc:
                print("caught", type(exc).__name__, exc)
    print("done")
"""


def _program(guard: bool, remove: bool) -> str:
    return MAIN_OBJECTS.replace(
        "{guard}", 'if __name__ == "__main__":' if guard else "if True:  # no __main__ guard"
    ).replace("{remove}", "os.remove(__file__)  # the workers cannot read it" if remove
              else "pass")


@pytest.mark.parametrize("guard", [True, False], ids=["guarded", "no-guard"])
def test_main_objects_travel_from_the_script(sshd, tmp_path, guard):
    py, net = both_ways(tmp_path, _program(guard, remove=False))
    assert py.returncode == 0, py.stderr
    assert "ForkPoolWorker" in py.stdout and "caught ValueError negative -1" in py.stdout
    assert (net.returncode, net.stdout, net.stderr) == (py.returncode, py.stdout, py.stderr)


def test_main_objects_travel_by_value_when_the_script_is_gone(sshd, tmp_path):
    source = _program(guard=True, remove=True)
    py, net = both_ways(tmp_path, source)
    assert py.returncode == 0, py.stderr
    assert (net.returncode, net.stdout, net.stderr) == (py.returncode, py.stdout, py.stderr)
    # The by-value path it took, as the workers say when asked (NETPOOL_LOG=info):
    (tmp_path / "again").mkdir()
    again = both_ways(tmp_path / "again", source, {"NETPOOL_LOG": "info"})[1]
    assert again.stdout == py.stdout
    assert "cannot be read here (No such file" in again.stderr, again.stderr
    assert "objects defined in it travel by value" in again.stderr


def test_no_netpool_line_on_stdout_and_task_prints_arrive(sshd, tmp_path):
    py, net = both_ways(tmp_path, """
        import sys
        from multiprocessing import Pool
        def shout(i):
            print("task", i, flush=True)
            print("err", i, file=sys.stderr, flush=True)
            return i
        if __name__ == "__main__":
            with Pool(2) as p:
                print(sum(p.map(shout, range(6))))
    """)
    assert py.returncode == net.returncode == 0, net.stderr
    assert sorted(net.stdout.splitlines()) == sorted(py.stdout.splitlines())
    assert sorted(net.stderr.splitlines()) == sorted(py.stderr.splitlines())
    assert "netpool" not in net.stdout + net.stderr


def test_manager_proxies_reach_ssh_workers(sshd, tmp_path):
    # The multiprocessing authkey reaches workers that are not on loopback, sealed.
    py, net = both_ways(tmp_path, """
        import multiprocessing
        from multiprocessing import Pool
        def bump(d, lock, i):
            with lock:
                d[i] = i * i
        if __name__ == "__main__":
            with multiprocessing.Manager() as m:
                d, lock = m.dict(), m.Lock()
                with Pool(2) as p:
                    p.starmap(bump, [(d, lock, i) for i in range(5)])
                print(sorted(d.items()))
    """)
    assert py.returncode == 0, py.stderr
    assert (net.returncode, net.stdout, net.stderr) == (py.returncode, py.stdout, py.stderr)


@pytest.mark.parametrize("make", ["Lock()", "Value('i', 0)", "Semaphore(2)"])
def test_sync_objects_for_ssh_workers_fail_at_the_call(sshd, tmp_path, make):
    _, net = both_ways(tmp_path, f"""
        import multiprocessing
        from multiprocessing import Pool
        def init(obj):
            pass
        if __name__ == "__main__":
            with Pool(2, initializer=init, initargs=(multiprocessing.{make},)) as p:
                print(p.map(abs, [-1]))
    """)
    assert net.returncode == 1 and net.stdout == ""
    assert "RuntimeError" in net.stderr and "other hosts" in net.stderr, net.stderr
    assert "multiprocessing.Manager() proxies" in net.stderr
    assert "with Pool(2, initializer=init" in net.stderr  # the traceback points at the call


# -- the pure parts -----------------------------------------------------------------------------

def test_statement_index_is_the_top_level_statement_holding_the_line():
    source = textwrap.dedent("""\
        import os
        @staticmethod
        def f():
            pass
        if __name__ == "__main__":
            x = 1
            y = 2
    """).encode()
    assert _mainscript.statement_index(source, "p.py", 1) == 0
    assert _mainscript.statement_index(source, "p.py", 2) == 1   # a decorator line
    assert _mainscript.statement_index(source, "p.py", 7) == 2
    assert _mainscript.statement_index(source, "p.py", None) is None
    assert _mainscript.statement_index(b"def (:", "p.py", 1) is None


def test_load_main_runs_the_statements_before_the_pool_quietly(tmp_path, capsys, monkeypatch):
    script = tmp_path / "s.py"
    script.write_text("print('loud')\nA = 1\nB = A + 1\nraise SystemExit('not reached')\n")
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("netpool.worker.__main__"))
    monkeypatch.setitem(sys.modules, "__mp_main__", sys.modules["__main__"])
    import hashlib
    digest = hashlib.sha256(script.read_bytes()).hexdigest()
    assert process.load_main(str(script), "0" * 64, 3, quiet=True) == (
        "the file here differs from the manager's")
    assert process.load_main(str(script), digest, 3, quiet=True) is None
    main = sys.modules["__main__"]
    assert (main.__name__, main.B, sys.modules["__mp_main__"] is main) == ("__mp_main__", 2, True)
    assert capsys.readouterr().out == ""
    sys.modules["__main__"] = sys.modules["__mp_main__"] = types.ModuleType("other")
    why = process.load_main(str(script), digest, None, quiet=True)  # the whole file: fails
    assert why is not None and "not reached" in why and "loud" in why
    assert process.load_main(str(tmp_path / "gone.py")).startswith("it cannot be read here")


def test_by_value_globals_share_the_workers_main_namespace(monkeypatch):
    space: dict = {"__name__": "__main__"}
    exec(textwrap.dedent("""\
        import math
        LIMIT = 1
        def set_limit(n):
            global LIMIT
            LIMIT = n
        class Clip:
            def __call__(self, x):
                return min(x, LIMIT)
            @staticmethod
            def root(x):
                return math.sqrt(min(x, LIMIT))
    """), space)
    fake_main = types.ModuleType("__main__")
    fake_main.__dict__.update(space)
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    blob = _mainscript.dumps_values(vars(fake_main))
    worker_main = types.ModuleType("netpool.worker.__main__")
    monkeypatch.setitem(sys.modules, "__main__", worker_main)
    assert process.install_values(blob, "/x/prog.py") == []
    main = sys.modules["__main__"]
    assert main is not worker_main and main.__name__ == "__mp_main__"
    main.set_limit(9)                       # as an initializer would
    assert main.Clip()(20) == 9 and main.Clip.root(16) == 3.0 and main.LIMIT == 9
    assert main.set_limit.__code__.co_filename == "/x/prog.py"
    assert pickle.loads(pickle.dumps(main.Clip())).__class__ is main.Clip


def test_by_value_functions_have_builtins_for_c_code(monkeypatch):
    # numpy's C code looks builtins up in the calling frame's globals (KeyError: '__builtins__'
    # in a namespace without them, seen in the corpus run by value).
    np = pytest.importorskip("numpy")
    space: dict = {"__name__": "__main__"}
    exec("def total(a):\n    return float(a.sum())\n", space)
    fake_main = types.ModuleType("__main__")
    fake_main.__dict__.update(space)
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    blob = _mainscript.dumps_values(vars(fake_main))
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("netpool.worker.__main__"))
    assert process.install_values(blob) == []
    assert sys.modules["__main__"].total(np.ones(4)) == 4.0


def test_the_authkey_is_sealed_for_workers_on_other_hosts():
    key, secret = os.urandom(32), os.urandom(40)
    sealed = _compat.seal(secret, key)
    assert secret not in sealed[1] and len(sealed[1]) == 40
    assert process.unseal(sealed, key) == secret
    assert process.unseal(sealed, os.urandom(32)) != secret
    assert _compat.seal(secret, key)[1] != sealed[1]  # a fresh nonce each time


def test_distributed_pool_in_a_script_over_ssh(sshd, tmp_path):
    # The same, without `netpool run`: results of a class of __main__ come back as the
    # script's own class (by reference to __mp_main__, which multiprocessing aliases).
    (tmp_path / "prog.py").write_text(textwrap.dedent("""
        import dataclasses, os
        from netpool import DistributedPool, SSHWorker

        @dataclasses.dataclass
        class Pair:
            a: int
            b: int

        def swap(p):
            return Pair(p.b, p.a)

        if __name__ == "__main__":
            with DistributedPool(workers=[SSHWorker("localhost")]) as pool:
                out = pool.map(swap, [Pair(1, 2)])
            os.remove(__file__)
            with DistributedPool(workers=[SSHWorker("localhost")]) as pool:  # by value now
                out += pool.map(swap, [Pair(3, 4)])
            print(out, all(type(p) is Pair for p in out))
    """))
    proc = run([sys.executable, "prog.py"], tmp_path)
    assert (proc.returncode, proc.stdout) == (0, "[Pair(a=2, b=1), Pair(a=4, b=3)] True\n"), \
        proc.stderr
