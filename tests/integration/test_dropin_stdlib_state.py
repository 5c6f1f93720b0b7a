"""Process-wide state that real programs set up around a pool, found by the third round of
issue 8's programs: the warnings filters (``unittest.main()`` turns ResourceWarnings on),
the root logger's configuration, and the start method. Each script runs with ``python``
(the stdlib's Pool, forked) and with ``netpool run``; stdout and stderr must be the same.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.timeout(180)


def run_both(tmp_path, body: str) -> dict:
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(body))
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONUNBUFFERED", "NETPOOL_LOG", "PYTHONWARNINGS")}
    out = {}
    for what, argv in (("python", [sys.executable, str(script)]),
                       ("netpool run", [sys.executable, "-m", "netpool", "run", str(script)])):
        p = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=120)
        out[what] = (p.returncode, p.stdout, p.stderr)
    assert out["python"][0] == 0, out["python"][2]
    assert out["netpool run"] == out["python"]
    return out


def test_no_resource_warning_from_the_workers_when_the_program_shows_them(tmp_path):
    # unittest.main() sets warnings.simplefilter("default"), which forked workers inherit:
    # each worker's supervisor dropped its heartbeat link unclosed, and printed a
    # ResourceWarning on the program's stderr (with "error", an "Exception ignored" block).
    run_both(tmp_path, """
        import warnings
        from multiprocessing import Pool

        def sq(x):
            return x * x

        if __name__ == "__main__":
            for action in ("default", "error"):
                warnings.simplefilter(action)
                with Pool(2) as p:
                    print(p.map(sq, range(4)))
                with Pool(1) as p:  # left at once: a worker may not have joined yet
                    pass
                p = Pool(2)
                print(p.apply(sq, (3,)))
                p.close()
                p.join()
    """)


def test_a_root_logger_at_info_does_not_show_netpools_lines(tmp_path):
    # logging.basicConfig(level=logging.INFO) in a script: the stdlib's multiprocessing
    # logger does not propagate, so nothing of the pool's shows; under netpool run the
    # netpool logger's "launched worker" / "joined" lines came out in the program's format.
    out = run_both(tmp_path, """
        import logging, sys
        from multiprocessing import Pool

        logging.basicConfig(level=logging.DEBUG, stream=sys.stdout,
                            format="%(name)s %(message)s")

        def job(x):
            logging.getLogger("app").info("job %s", x)
            return x

        if __name__ == "__main__":
            with Pool(1) as p:
                p.map(job, range(2))
            logging.getLogger("app").info("end")
    """)
    assert out["python"][1] == "app job 0\napp job 1\napp end\n"


def test_workers_start_method_is_their_pools(tmp_path):
    # A spawn/forkserver worker has its pool's start method as the default one (the
    # stdlib's bootstrap forces it), and starting such a pool fixes the parent's default
    # (spawn's preparation data reads it), so a later set_start_method() raises.
    out = run_both(tmp_path, """
        import multiprocessing as mp

        def who(_):
            return mp.get_start_method(allow_none=True), mp.get_context().get_start_method()

        if __name__ == "__main__":
            for method in ("spawn", "forkserver"):
                with mp.get_context(method).Pool(1) as p:
                    print(method, p.map(who, range(1)))
            print(mp.get_start_method(allow_none=True))
            try:
                mp.set_start_method("spawn")
            except RuntimeError as e:
                print("RuntimeError", e)
            mp.set_start_method("spawn", force=True)
            with mp.Pool(1) as p:
                print(p.map(who, range(1)))
            with mp.get_context("fork").Pool(1) as p:
                print(p.map(who, range(1)))
    """)
    assert out["python"][1].splitlines()[0] == "spawn [('spawn', 'spawn')]"
