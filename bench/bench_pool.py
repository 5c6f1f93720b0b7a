#!/usr/bin/env python
"""netpool.DistributedPool against multiprocessing.Pool, side by side in one run.

    python bench/bench_pool.py [--quick] [--repeat N] [--only NAME,...] [--json FILE]

Both pools get 2 local workers. Every measurement uses a fresh pool; the two pools take turns
(A B, B A, A B, ...: the order flips each repetition so that neither always runs first), and
each figure is the median over the repetitions. Absolute figures move 1.5-3x between runs on a
shared machine, so only the ratio DistributedPool/stdlib (oriented so that more is better) is
worth comparing across runs. See bench/README.md for what each workload measures.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import itertools
import json
import multiprocessing
import os
import platform
import statistics
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import workloads as W  # noqa: E402  (after the sys.path fix-up)

# Heavy imports (numpy, netpool) happen inside functions: a stdlib *spawn* child re-imports this
# file as __mp_main__, and its start-up is being timed.

WORKERS = 2
DEADLINE = 300.0  # seconds any one measurement may take before it counts as failed

FULL = dict(tiny=20_000, chunked=200_000, imap_items=1_000_000, imap_chunksize=125_000, latency=2_000, payload=200, payload_bytes=8_000_000,
            cpu=64, cpu_seconds=0.05, repeat=5)
QUICK = dict(tiny=2_000, chunked=20_000, imap_items=100_000, imap_chunksize=12_500, latency=300, payload=20, payload_bytes=8_000_000,
             cpu=16, cpu_seconds=0.05, repeat=1)

ORDER = ("tiny", "chunked", "imap", "latency", "payload", "cpu", "startup")


class Failed(Exception):
    pass


# --------------------------------------------------------------------------- pools

def stdlib_pool(method: str = "fork"):
    return multiprocessing.get_context(method).Pool(WORKERS)


def netpool_pool():
    from netpool import DistributedPool
    return DistributedPool(WORKERS)


def wait_ready(pool, deadline: float = 60.0) -> None:
    """netpool's workers connect back asynchronously: wait for both before timing anything.

    Uses a private attribute; the stdlib's (fork) workers exist once Pool() returns.
    """
    rt = getattr(pool, "_rt", None)
    if rt is None:
        return
    end = time.monotonic() + deadline
    while rt.worker_count() < WORKERS:
        if time.monotonic() > end:
            raise Failed(f"only {rt.worker_count()} of {WORKERS} workers joined in {deadline}s")
        time.sleep(0.005)


def close_pool(pool) -> None:
    try:
        pool.terminate()
        pool.join()
    except Exception:
        traceback.print_exc()


def tree_cpu() -> "float | None":
    """CPU seconds used so far by this process and every live descendant (Linux; else None).

    Each process's CPU clock (``CLOCK_PROCESS_CPUTIME_ID``, read for another process through
    the clock id Linux derives from its pid): the scheduler's own nanosecond count, summed over
    all its threads, those that have exited included. (``/proc/PID/schedstat``, used here
    before, counts the main thread only: it missed the stdlib's task and result handler
    threads and netpool's loop and feeder threads.) Unlike wall time it hardly moves with the
    machine's load: on a shared machine it is the steadier way to compare what two pools
    spend. Processes that exit meanwhile are missed: call it around work done by workers that
    stay alive.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        children: dict = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(ppid, []).append(int(entry))
        total, todo = time.process_time(), list(children.get(os.getpid(), []))
        while todo:
            pid = todo.pop()
            todo += children.get(pid, [])
            try:  # MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED) of linux/posix-timers.h
                total += time.clock_gettime(((~pid) << 3) | 2)
            except OSError:  # it has exited meanwhile
                pass
        return total
    except OSError:
        return None


# --------------------------------------------------------------------------- workloads
# Each takes a ready, warmed-up pool and the sizes, and returns {metric: value}.

def _drain(it, n: int, deadline: float) -> int:
    count = 0
    end = time.monotonic() + deadline
    for _ in range(n):
        it.next(timeout=max(0.0, end - time.monotonic()))
        count += 1
    return count


def run_tiny(pool, cfg) -> dict:
    n = cfg["tiny"]
    _drain(pool.imap_unordered(W.inc, range(500), 1), 500, DEADLINE)  # warm-up
    t0 = time.perf_counter()
    _drain(pool.imap_unordered(W.inc, range(n), 1), n, DEADLINE)
    dt = time.perf_counter() - t0
    return {"tasks/s": n / dt}


def run_chunked(pool, cfg) -> dict:
    n = cfg["chunked"]
    data = list(range(n))
    pool.map_async(W.inc, range(2_000)).get(DEADLINE)  # warm-up
    t0 = time.perf_counter()
    out = pool.map_async(W.inc, data).get(DEADLINE)
    dt = time.perf_counter() - t0
    if len(out) != n or out[-1] != n:
        raise Failed("wrong result")
    return {"tasks/s": n / dt}


def run_imap(pool, cfg) -> dict:
    """``imap``, ``imap_unordered`` and ``map`` of the same big chunked input, one pool.

    Real code reads chunked imap item by item; ``map`` of the same input in the same pool is
    the yardstick (the target is imap within 1.2x of map).
    """
    n, cs = cfg["imap_items"], cfg["imap_chunksize"]
    out = {}
    for method in ("map", "imap", "imap_unordered"):
        getattr(pool, method)(W.inc, range(cs // 10), cs // 100)  # warm-up (map: a list)
        for _ in getattr(pool, method)(W.inc, range(cs // 10), cs // 100):
            pass
        c0, t0 = tree_cpu(), time.perf_counter()
        count = total = 0
        for x in getattr(pool, method)(W.inc, range(n), cs):
            count += 1
            total += x
        dt, c1 = time.perf_counter() - t0, tree_cpu()
        if count != n or total != n * (n + 1) // 2:
            raise Failed(f"{method}: wrong result")
        out[f"{method} tasks/s"] = n / dt
        if c0 is not None and c1 is not None:
            out[f"{method} cpu_ns"] = (c1 - c0) / n * 1e9
    return out


def run_latency(pool, cfg) -> dict:
    n = cfg["latency"]
    for i in range(100):  # warm-up
        pool.apply_async(W.inc, (i,)).get(DEADLINE)
    samples = []
    clock = time.perf_counter_ns
    c0 = tree_cpu()
    for i in range(n):
        t0 = clock()
        pool.apply_async(W.inc, (i,)).get(DEADLINE)
        samples.append(clock() - t0)
    c1 = tree_cpu()
    samples.sort()
    out = {"median_us": samples[len(samples) // 2] / 1e3,
           "p99_us": samples[min(len(samples) - 1, int(len(samples) * 0.99))] / 1e3}
    if c0 is not None and c1 is not None:
        out["cpu_us"] = (c1 - c0) / n * 1e6
    # Real programs define their functions in the script: netpool pickles those by value
    # too, for workers that cannot import the script.
    samples = []
    for i in range(n):
        t0 = clock()
        pool.apply_async(script_inc, (i,)).get(DEADLINE)
        samples.append(clock() - t0)
    samples.sort()
    out["script_median_us"] = samples[len(samples) // 2] / 1e3
    # A callable object with state, here a partial holding 1 MB: the stdlib pickles it with
    # every call; netpool sends it once per worker but loads it afresh for every task, as
    # the stdlib's semantics ask (no task sees what an earlier one did to it).
    import functools
    func = functools.partial(W.first, _array(1 << 20))
    samples = []
    for i in range(max(10, n // 4)):
        t0 = clock()
        pool.apply_async(func, (i,)).get(DEADLINE)
        samples.append(clock() - t0)
    samples.sort()
    out["partial_median_us"] = samples[len(samples) // 2] / 1e3
    return out


def script_inc(x):
    """``W.inc``, defined in the script that runs (``__main__``)."""
    return x + 1


def _array(nbytes: int):
    import numpy as np
    return np.arange(nbytes // 8, dtype=np.float64)


def run_payload(pool, cfg) -> dict:
    a = _array(cfg["payload_bytes"])
    n = cfg["payload"]
    # Warm-up: a fresh process's first large messages are 2-4x slower (allocator warm-up).
    _drain(pool.imap_unordered(W.echo, itertools.repeat(a, 10), 1), 10, DEADLINE)
    t0 = time.perf_counter()
    last = None
    end = time.monotonic() + DEADLINE
    it = pool.imap_unordered(W.echo, itertools.repeat(a, n), 1)
    for _ in range(n):
        last = it.next(timeout=max(0.0, end - time.monotonic()))
    dt = time.perf_counter() - t0
    if last.shape != a.shape or last[-1] != a[-1]:
        raise Failed("wrong result")
    return {"MB/s": 2 * n * a.nbytes / 1e6 / dt}


def run_cpu(pool, cfg) -> dict:
    n_iter = cfg["spin_iterations"]
    pool.map_async(W.inc, range(10), 1).get(DEADLINE)  # warm-up
    t0 = time.perf_counter()
    used = pool.map_async(W.spin, [n_iter] * cfg["cpu"], 1).get(DEADLINE)
    wall = time.perf_counter() - t0
    # Utilisation: the share of the workers' wall time spent inside tasks, i.e. the ideal
    # time (task durations as measured by the tasks / 2 workers) over the wall time. Task
    # durations are wall times, so load from other jobs on a shared machine lengthens the
    # ideal and the wall time alike; what is left is the pool's own gaps between tasks.
    # util_% uses the tasks' CPU time instead: it also charges competition for the core and
    # the GIL (the worker's own I/O threads), but other jobs on the machine swamp it.
    busy = sum(w for _, w in used) / WORKERS
    ideal_cpu = sum(cpu for cpu, _ in used) / WORKERS
    return {"busy_%": 100.0 * busy / wall, "util_%": 100.0 * ideal_cpu / wall,
            "task_ms": 1e3 * statistics.median(w for _, w in used)}


RUNNERS = {"tiny": run_tiny, "chunked": run_chunked, "imap": run_imap, "latency": run_latency,
           "payload": run_payload, "cpu": run_cpu}


def measure(name: str, make, cfg) -> dict:
    """One measurement in a fresh pool; never raises (a failure is recorded as such)."""
    gc.collect()
    pool = None
    try:
        pool = make()
        wait_ready(pool)
        return RUNNERS[name](pool, cfg)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        return {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
    finally:
        if pool is not None:
            close_pool(pool)


def measure_startup(make) -> dict:
    """Pool() to the first result of a trivial apply, in seconds."""
    gc.collect()
    pool = None
    try:
        t0 = time.perf_counter()
        pool = make()
        pool.apply_async(W.inc, (1,)).get(DEADLINE)
        return {"s": time.perf_counter() - t0}
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        if pool is not None:
            close_pool(pool)


# --------------------------------------------------------------------------- driver

def run(cfg, only, verbose: bool) -> dict:
    """raw[workload][impl] = list of per-repetition metric dicts."""
    raw: dict = {w: {} for w in only}
    for rep in range(cfg["repeat"]):
        for name in only:
            if name == "startup":
                impls = [("spawn", lambda: stdlib_pool("spawn")),
                         ("fork", lambda: stdlib_pool("fork")),
                         ("netpool", netpool_pool)]
                impls = impls[rep % 3:] + impls[:rep % 3]  # rotate who goes first
                for label, make in impls:
                    raw[name].setdefault(label, []).append(measure_startup(make))
            else:
                impls = [("stdlib", lambda: stdlib_pool(cfg["stdlib_method"])),
                         ("netpool", netpool_pool)]
                if rep % 2:
                    impls.reverse()
                samples: dict = {}
                for _ in range(SAMPLES.get(name, 1)):
                    for label, make in impls:
                        samples.setdefault(label, []).append(measure(name, make, cfg))
                for label, got in samples.items():
                    raw[name].setdefault(label, []).append(_median_sample(got))
            if verbose:
                print(f"  rep {rep + 1} {name}: " + "  ".join(
                    f"{k}={_fmt_dict(v[-1])}" for k, v in raw[name].items()), flush=True)
    return raw


# The chunked map is one interval of ~40 ms in a fresh pool: five of them spread 0.7-1.3
# between the two sides at the same moment, so each repetition takes the median of three
# fresh pools (interleaved as the repetitions are).
SAMPLES = {"chunked": 3}


def _median_sample(got: list) -> dict:
    """The sample with the median value of its first metric; an error if all failed."""
    ok = [g for g in got if "error" not in g]
    if not ok:
        return got[0]
    key = next(iter(ok[0]))
    return sorted(ok, key=lambda g: g[key])[len(ok) // 2]


def _fmt_dict(d: dict) -> str:
    return ",".join(f"{k}:{v:.4g}" if isinstance(v, float) else f"{k}:{v}"
                    for k, v in d.items())


def _median(runs: list, key: str):
    vals = [r[key] for r in runs if key in r]
    return statistics.median(vals) if vals else None


def _errors(runs: list) -> list:
    return [r["error"] for r in runs if "error" in r]


# (workload, metric, label, higher_is_better, target of the oriented ratio)
ROWS = [
    ("tiny", "tasks/s", "tiny: imap_unordered chunksize=1, tasks/s", True, 1.0),
    ("chunked", "tasks/s", "chunked: map default chunksize, tasks/s", True, 1.0),
    ("imap", "imap tasks/s", "imap: chunked imap, tasks/s", True, 1.0),
    ("imap", "imap_unordered tasks/s", "imap: chunked imap_unordered, tasks/s", True, 1.0),
    ("imap", "map tasks/s", "imap: same input through map, tasks/s", True, 1.0),
    ("imap", "imap cpu_ns", "imap: chunked imap, CPU of manager + workers per item, ns", False,
     None),
    ("imap", "map cpu_ns", "imap: map, CPU of manager + workers per item, ns", False, None),
    ("latency", "median_us", "latency: apply round trip median, us", False, 1.0),
    ("latency", "p99_us", "latency: apply round trip p99, us", False, 1.0),
    ("latency", "cpu_us", "latency: CPU of manager + workers per call, us", False, None),
    ("latency", "script_median_us", "latency, a function of the script: median, us", False, 1.0),
    ("latency", "partial_median_us", "latency, a partial holding 1 MB: median, us", False, 1.0),
    ("payload", "MB/s", "payload: 8 MB numpy echo, MB/s in+out", True, 3.0),
    ("cpu", "busy_%", "cpu: 50 ms tasks, worker utilisation %", True, 0.98),
    ("cpu", "util_%", "cpu: same, task CPU time / wall %", True, None),
]


def table(raw: dict, cfg) -> tuple[str, list]:
    rows = []
    for name, key, label, higher, target in ROWS:
        if name not in raw:
            continue
        s, n = raw[name].get("stdlib", []), raw[name].get("netpool", [])
        rows.append(_row(label.replace("tiny:", f"tiny {cfg['tiny']:,}:")
                         .replace("chunked:", f"chunked {cfg['chunked']:,}:")
                         .replace("imap:", f"{cfg['imap_items']:,} items by {cfg['imap_chunksize']:,}:")
                         .replace("payload:", f"payload {cfg['payload']}x:")
                         .replace("cpu:", f"cpu {cfg['cpu']}x:"),
                         _median(s, key), _median(n, key), higher, target,
                         _errors(s) + _errors(n), _spread(s, n, key, higher)))
    if "imap" in raw:  # the second target: netpool's chunked imap within 1.2x of its map
        n = [r for r in raw["imap"].get("netpool", []) if "map tasks/s" in r]
        for method in ("imap", "imap_unordered"):
            key = f"{method} tasks/s"
            per_rep = [r[key] / r["map tasks/s"] for r in n]
            spread = f"{min(per_rep):.2f}-{max(per_rep):.2f}" if len(per_rep) > 1 else ""
            rows.append(_row(f"netpool's own {method} / its map, same input (map | {method})",
                             _median(n, "map tasks/s"), _median(n, key), True,
                             round(1 / 1.2, 2), [], spread))
    if "startup" in raw:
        n = raw["startup"].get("netpool", [])
        for method in ("spawn", "fork"):
            s = raw["startup"].get(method, [])
            rows.append(_row(f"startup: create -> first result, s (vs {method})",
                             _median(s, "s"), _median(n, "s"), False,
                             1.0 if method == "spawn" else None, _errors(s) + _errors(n),
                             _spread(s, n, "s", False)))
    head = ("workload", f"stdlib ({cfg['stdlib_method']})", "netpool", "ratio",
            "per-rep ratios", "target", "")
    lines = [head] + [r[:7] for r in rows]
    widths = [max(len(str(line[i])) for line in lines) for i in range(7)]
    out = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(line, widths)) + " |"
           for line in lines]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    notes = [f"  {r[0]}: {e}" for r in rows for e in r[7][:3]]
    if notes:
        out += ["", "failures:"] + notes
    return "\n".join(out), rows


def _fmtv(v) -> str:
    if v is None:
        return "FAIL"
    if v >= 100_000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:,.1f}"
    if v >= 1:
        return f"{v:.3g}"
    return f"{v:.4f}"


def _ratio(s, n, higher):
    if s is None or n is None or s <= 0 or n <= 0:
        return None
    return n / s if higher else s / n


def _spread(s_runs: list, n_runs: list, key: str, higher: bool) -> str:
    """min-max of the ratios of the two measurements taken side by side in each repetition."""
    pairs = [_ratio(a.get(key), b.get(key), higher) for a, b in zip(s_runs, n_runs)]
    pairs = [r for r in pairs if r is not None]
    if len(pairs) < 2:
        return ""
    return f"{min(pairs):.2f}-{max(pairs):.2f}"


def _row(label, s, n, higher, target, errs, spread=""):
    ratio = _ratio(s, n, higher)
    verdict = ""
    if target is not None:
        verdict = "FAIL" if ratio is None else ("ok" if ratio >= target else "MISS")
    return (label, _fmtv(s), _fmtv(n), "-" if ratio is None else f"{ratio:.2f}", spread,
            f">= {target}" if target is not None else "(info)", verdict, errs, ratio)


def use_src(src: str) -> None:
    """Import netpool from ``src`` here and in the workers (they start with ``-m netpool.worker``
    before they learn the manager's sys.path, so PYTHONPATH must carry it)."""
    src = os.path.abspath(src)
    if not os.path.isdir(os.path.join(src, "netpool")):
        raise SystemExit(f"no netpool package in {src}")
    sys.path.insert(0, src)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [src] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])


def snapshot(rev: str) -> tuple[str, str]:
    """Extract ``src/`` of git revision ``rev`` of this repository into a temporary folder."""
    import atexit
    import io
    import shutil
    import subprocess
    import tarfile
    import tempfile
    repo = os.path.dirname(HERE)
    try:
        commit = subprocess.run(["git", "-C", repo, "rev-parse", "--short", rev], check=True,
                                capture_output=True, text=True).stdout.strip()
        tar = subprocess.run(["git", "-C", repo, "archive", commit, "src"], check=True,
                             capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SystemExit(f"cannot take src/ of git revision {rev!r}: {exc}")
    tmp = tempfile.mkdtemp(prefix="netpool-bench-")
    atexit.register(shutil.rmtree, tmp, True)
    with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
        tf.extractall(tmp)
    return os.path.join(tmp, "src"), f"snapshot of commit {commit}"


def _git_state(path: str) -> str:
    import subprocess
    try:
        head = subprocess.run(["git", "-C", path, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", path, "status", "--porcelain", "--", "."],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "not a git checkout"
    if not head:
        return "not a git checkout"
    return f"commit {head}{' + uncommitted changes' if dirty else ''}"


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes, 1 repetition: a smoke test")
    p.add_argument("--repeat", type=int, help="repetitions (default 5, --quick 1)")
    p.add_argument("--only", help="comma-separated subset of: " + ",".join(ORDER))
    p.add_argument("--stdlib-method", default="fork",
                   help="start method of the stdlib pool for workloads 1-5 (default fork)")
    p.add_argument("--json", help="also write the raw per-repetition figures here")
    p.add_argument("--verbose", "-v", action="store_true", help="print every repetition")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--src", help="benchmark the netpool package under this src/ folder "
                       "(manager and workers) instead of the installed one")
    where.add_argument("--rev", help="benchmark this git revision of the repository (HEAD, a "
                       "commit...): a frozen copy of its src/, immune to edits made meanwhile")
    args = p.parse_args(argv)
    cfg = dict(QUICK if args.quick else FULL)
    if args.repeat:
        cfg["repeat"] = args.repeat
    cfg["stdlib_method"] = args.stdlib_method
    only = ORDER if not args.only else tuple(args.only.split(","))
    unknown = set(only) - set(ORDER)
    if unknown:
        p.error(f"unknown workload(s): {', '.join(sorted(unknown))}")
    label = None
    if args.rev:
        args.src, label = snapshot(args.rev)
    if args.src:
        use_src(args.src)

    import netpool
    start = time.perf_counter()
    src = os.path.dirname(os.path.abspath(netpool.__file__))
    cfg["spin_iterations"] = W.calibrate_spin(cfg["cpu_seconds"])
    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    print(f"# netpool {netpool.__version__} vs multiprocessing.Pool, {WORKERS} workers each; "
          f"{when}; Python {platform.python_version()}; {os.cpu_count()} cores; "
          f"repeat {cfg['repeat']} (medians){'; QUICK sizes' if args.quick else ''}", flush=True)
    print(f"# netpool from {src} ({label or _git_state(src)}); stdlib pool start method for workloads "
          f"1-5: {cfg['stdlib_method']}; load average before: {_load()}", flush=True)
    raw = run(cfg, only, args.verbose)
    text, rows = table(raw, cfg)
    elapsed = time.perf_counter() - start
    print(text)
    print(f"\nratio = netpool/stdlib where more is better (stdlib/netpool for times); "
          f"whole benchmark took {elapsed:.0f} s; load average after: {_load()}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"when": when, "cfg": cfg, "raw": raw, "elapsed_s": elapsed,
                       "ratios": {r[0]: r[8] for r in rows}}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
