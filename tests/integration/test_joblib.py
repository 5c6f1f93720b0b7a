"""The "netpool" joblib backend: Parallel, scikit-learn's n_jobs, large arrays sent once."""

import os
import subprocess
import sys

import pytest

joblib = pytest.importorskip("joblib", reason="joblib is not installed (pip install 'netpool[joblib]')")
np = pytest.importorskip("numpy", reason="numpy is not installed")
import netpool.joblib  # noqa: E402  registers the backend

pytestmark = pytest.mark.timeout(180)


def double(x):
    return os.getpid(), 2 * x


def fail_on(x, bad):
    if x == bad:
        raise KeyError(f"bad {x}")
    return x


_seen = []  # on a worker: every array this worker's tasks were given


def remember(i, big):
    _seen.append(big)
    return os.getpid(), len({id(a) for a in _seen}), bool(big.flags.writeable), float(big[i])


def test_parallel_runs_on_netpool_workers():
    with joblib.parallel_config(backend="netpool", n_jobs=2):
        out = joblib.Parallel()(joblib.delayed(double)(i) for i in range(30))
    assert [v for _, v in out] == [2 * i for i in range(30)]
    pids = {p for p, _ in out}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2


def test_a_task_error_comes_back_with_its_type():
    with joblib.parallel_config(backend="netpool", n_jobs=2):
        with pytest.raises(KeyError, match="bad 3"):
            joblib.Parallel()(joblib.delayed(fail_on)(i, 3) for i in range(8))


def test_n_jobs_zero_is_refused():
    with pytest.raises(ValueError, match="n_jobs == 0"):
        joblib.Parallel(n_jobs=0, backend="netpool")(joblib.delayed(double)(1) for _ in range(2))


@pytest.mark.parametrize("max_nbytes, shared", [("1M", True), (None, False)])
def test_large_arrays_travel_once_per_worker(max_nbytes, shared):
    big = np.arange(300_000, dtype=float)  # 2.4 MB
    with joblib.parallel_config(backend="netpool", n_jobs=2, max_nbytes=max_nbytes):
        out = joblib.Parallel(batch_size=1)(joblib.delayed(remember)(i, big) for i in range(24))
    assert [v for *_, v in out] == [float(i) for i in range(24)]
    per_worker = {}
    for pid, distinct, writeable, _ in out:
        per_worker[pid] = max(per_worker.get(pid, 0), distinct)
    if shared:  # one array object per worker, whatever the number of its tasks
        assert set(per_worker.values()) == {1}, per_worker
        assert not any(w for _, _, w, _ in out), "a shared array must be read-only"
    else:  # the check has teeth: unshared, each task unpickles its own copy
        assert max(per_worker.values()) > 1, per_worker


def test_scikit_learn_grid_search_matches_the_default_backend():
    pytest.importorskip("sklearn", reason="scikit-learn is not installed")
    from sklearn.datasets import load_iris
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.svm import SVC

    X, y = load_iris(return_X_y=True)

    def run(backend):
        with joblib.parallel_config(backend=backend, n_jobs=2):
            search = GridSearchCV(SVC(), {"C": [0.1, 1, 10], "gamma": ["scale", 0.1]},
                                  cv=3).fit(X, y)
            scores = cross_val_score(SVC(C=3), X, y, cv=4)
        return search.best_params_, list(search.cv_results_["mean_test_score"]), list(scores)

    assert run("netpool") == run("loky")


def test_netpool_never_imports_joblib_by_itself():
    code = ("import sys, netpool, netpool.executor, netpool.pool, netpool.aio\n"
            "netpool.DistributedPool, netpool.Executor\n"
            "print('joblib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "False", out


JOURNALED = """
import os, sys
import joblib
import netpool.joblib

def work(x):
    with open(sys.argv[2], "a") as f:
        f.write(f"{x}\\n")
    return x * x

if __name__ == "__main__":
    with joblib.parallel_config(backend="netpool", journal=sys.argv[1]):
        print(sum(joblib.Parallel(n_jobs=2, batch_size=3)(
            joblib.delayed(work)(i) for i in range(40))))
"""


def test_a_journal_through_the_backend_resumes_with_a_fixed_batch_size(tmp_path):
    """The backend hands ``journal`` to its Executor. joblib's automatic batching groups
    the calls differently from run to run (those batches are other tasks); a fixed
    ``batch_size`` gives the same batches, which a rerun finds."""
    script, log = tmp_path / "prog.py", tmp_path / "exec.log"
    script.write_text(JOURNALED)
    outs = []
    for _ in range(2):
        done = subprocess.run([sys.executable, str(script), str(tmp_path / "j"), str(log)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        outs.append(done.stdout.strip())
    assert outs == [str(sum(i * i for i in range(40)))] * 2
    assert sorted(map(int, log.read_text().split())) == list(range(40))  # none ran twice
