"""The run report (``report=``, ``netpool run --report``) and the dashboard, without a browser:
the recorder's caps, the file's numbers against ``stats()``, the dashboard's token.
tests/integration/test_report_browser.py opens the same pages in headless chromium."""

import html.parser
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

import netpool
from netpool import report as R
from netpool._runtime import timeline as T
from _tasks import die_once, value_error_if
from conftest import wait_for

pytestmark = pytest.mark.timeout(120)

BAD = (1, 4, 7)


class _Stats(html.parser.HTMLParser):
    """Every ``data-stat`` cell of a page: {path: text}, the first section's."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, str] = {}
        self._path = None

    def handle_starttag(self, tag, attrs):
        path = dict(attrs).get("data-stat")
        if path is not None and path not in self.found:
            self._path = path
            self.found[path] = ""

    def handle_data(self, data):
        if self._path is not None:
            self.found[self._path] += data

    def handle_endtag(self, tag):
        self._path = None


def shown(page: str) -> dict:
    p = _Stats()
    p.feed(page)
    return p.found


def lookup(stats: dict, path: str):
    node = stats
    for i, part in enumerate(path.split(".")):
        if part not in node:  # a key with dots in it (worker deaths: "exit code 9")
            return node[".".join(path.split(".")[i:])]
        node = node[part]
    return node


def check_against(page: str, stats: dict) -> dict:
    found = shown(page)
    assert {"totals.done", "totals.failed", "totals.submitted"} <= set(found)
    for path, text in found.items():
        assert text == str(lookup(stats, path)), path
    return found


def self_contained(page: str) -> None:
    low = page.lower()
    for needle in ("http://", "https://", "src=", "href=", "@import", "url("):
        assert needle not in low, f"the page refers to something outside it: {needle}"


# -- the recorder ------------------------------------------------------------------------

def test_bars_are_capped_and_later_tasks_extend_their_workers_last_bar(monkeypatch):
    monkeypatch.setattr(T, "MAX_BARS", 5)
    tl = T.Timeline(100.0)
    tl.sent(0, True, 100.0)
    for i in range(8):
        tl.resolved(0, i != 6, 101.0 + i)
    tl.sent(1, True, 102.0)
    tl.resolved(1, True, 103.0)  # worker 1 has no bar yet: counted, not drawn
    s = tl.snapshot(110.0)
    assert len(s["bars"]) == 5
    assert s["bars"][0][:4] == [0, 0.0, 1.0, 1]
    assert s["bars"][-1][2:5] == [8.0, 4, 1]  # bar 5 holds tasks 5 to 8, one of them failed
    assert s["unplotted"] == 1
    assert sum(s["ok"]) + sum(s["bad"]) == 9 and sum(s["bad"]) == 1


def test_tasks_seen_to_take_under_a_millisecond_join_their_workers_bar():
    tl = T.Timeline(0.0)
    tl.sent(0, True, 1.0)
    for now in (2.0, 2.0001, 2.0002):  # three results in one message
        tl.resolved(0, now != 2.0002, now)
    tl.sent(0, True, 5.0)  # idle from 2.0002 to 5: the next short task is a bar of its own
    tl.resolved(0, True, 5.0001)
    bars = tl.snapshot(6.0)["bars"]
    assert bars == [[0, 1.0, 2.0, 3, 1, T.FAILED], [0, 5.0, 5.0, 1, 0, T.OK]]


def test_throughput_buckets_coarsen_instead_of_growing():
    tl = T.Timeline(0.0)
    for i in range(10_000):
        tl.resolved(i % 3, True, i * 0.5)
    s = tl.snapshot(5000.0)
    assert len(s["ok"]) <= T.MAX_BUCKETS and sum(s["ok"]) == 10_000
    assert s["bucket"] * len(s["ok"]) >= 4999.5


def test_events_and_examples_are_capped(monkeypatch):
    monkeypatch.setattr(T, "MAX_EVENTS", 3)
    tl = T.Timeline(0.0)
    for i in range(5):
        tl.event(i, "launched", "x", float(i))
    for i in range(2 * T.MAX_CAUSES):
        for j in range(T.MAX_EXAMPLES + 2):
            tl.failed_here(f"manager: E{i}", j, "why" * 10_000)
    s = tl.snapshot(10.0)
    assert len(s["events"]) == 3 and s["events_dropped"] == 2
    assert len(s["examples"]) == T.MAX_CAUSES
    assert all(len(v) == T.MAX_EXAMPLES for v in s["examples"].values())
    assert all(len(e["text"]) <= T.MAX_TRACEBACK for v in s["examples"].values() for e in v)


def test_a_lost_worker_ends_its_running_bar_and_is_marked():
    tl = T.Timeline(0.0)
    tl.sent(3, True, 1.0)
    tl.left(3, graceful=False, running=True, now=2.5)
    tl.event(3, "died", "worker 3 was killed", 2.7)  # its death, recorded once it ended
    tl.sent(4, True, 1.0)
    tl.left(4, graceful=True, running=True, now=2.5)  # stopped: no bar for what it ran
    s = tl.snapshot(3.0)
    assert s["bars"] == [[3, 1.0, 2.5, 1, 0, T.LOST]]
    assert s["events"] == [[2.7, 3, "died", "worker 3 was killed"]]


def test_render_escapes_what_it_shows():
    stats = netpool.Manager().stats()
    stats["failures"]["raised"]["<script>alert(1)</script>"] = 1
    page = R.render([{"title": "<b>t</b>", "stats": stats, "timeline": None}])
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    self_contained(page)


# -- a pool's report ---------------------------------------------------------------------

def test_pool_report_matches_stats_and_holds_the_tracebacks(tmp_path):
    path = tmp_path / "report.html"
    with netpool.DistributedPool(2, report=str(path)) as pool:
        results = [pool.apply_async(value_error_if, (i, BAD)) for i in range(30)]
        for r in results:
            r.wait(60)
        pool.close()
        pool.join()
        assert path.exists()  # written at join, before the with-block ends
        stats = pool.stats()
    page = path.read_text()
    self_contained(page)
    found = check_against(page, stats)
    assert found["totals.done"] == "27" and found["failures.raised.ValueError"] == "3"
    assert 'id="timeline"' in page and 'id="throughput"' in page
    assert "Traceback" in page and "value_error_if" in page  # an example traceback
    assert page.count('class="bar ') >= 1


def test_pool_report_marks_a_death_and_its_replacement(tmp_path):
    path, marker = tmp_path / "r.html", tmp_path / "marker"
    with netpool.DistributedPool(2, report=str(path)) as pool:
        assert pool.apply_async(die_once, (str(marker), "again")).get(60) == "again"
        # A lost worker's death is recorded once its process has ended (commands.lost).
        wait_for(lambda: pool.stats()["failures"]["worker_deaths"], what="the death recorded")
        stats = pool.stats()
    page = path.read_text()
    assert "ev died" in page and "ev replacement" in page
    assert stats["failures"]["worker_deaths"]  # and the page shows the same count
    found = check_against(page, pool.stats())
    assert any(k.startswith("failures.worker_deaths.") for k in found)


def test_manager_report_is_written_at_close(tmp_path):
    from netpool import LocalWorker
    path = tmp_path / "m.html"
    m = netpool.Manager(report=str(path))
    m.add_worker(LocalWorker())
    c = m.get_context()
    for i in range(5):
        c.add_task(lambda i=i: i * 2)
    assert sorted(c.get_results_unordered()) == [0, 2, 4, 6, 8]
    assert not path.exists()
    m.close()
    check_against(path.read_text(), m.stats())


def test_netpool_run_writes_one_report_for_the_script(tmp_path):
    script = tmp_path / "s.py"
    script.write_text(
        "import multiprocessing\n"
        "def sq(x):\n    return x * x\n"
        "if __name__ == '__main__':\n"
        "    with multiprocessing.Pool(2) as p:\n"
        "        print(sum(p.map(sq, range(50))))\n"
        "    with multiprocessing.Pool(1) as p:\n"
        "        p.apply(sq, (2,))\n")
    path = tmp_path / "run.html"
    out = subprocess.run([sys.executable, "-m", "netpool", "run", "--report", str(path),
                          str(script)], capture_output=True, text=True, timeout=90)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(sum(x * x for x in range(50)))
    page = path.read_text()
    found = shown(page)
    assert found["totals.failed"] == "0" and int(found["totals.done"]) >= 1
    assert "<h2>DistributedPool #1</h2>" in page and "<h2>DistributedPool #2</h2>" in page


# -- the dashboard -----------------------------------------------------------------------

def _get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=20) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_dashboard_needs_its_token_and_serves_live_numbers(tmp_path, capfd):
    with netpool.DistributedPool(2, dashboard=True) as pool:
        url = pool.dashboard_url
        assert url.startswith("http://127.0.0.1:") and "?token=" in url
        err = capfd.readouterr().err
        assert err.count(url) == 1  # printed once, on stderr
        base, token = url.split("?token=")
        assert _get(base)[0] == 403
        assert _get(base + "?token=" + "0" * len(token))[0] == 403
        assert _get(base + "data.json")[0] == 403
        assert _get(base + "?token=" + token[:-1])[0] == 403
        pool.map(abs, range(10), 1)  # a chunk counts as one task: one item each
        status, page = _get(url)
        assert status == 200 and "live" in page
        status, body = _get(base + "data.json?token=" + token)
        assert json.loads(body)["sections"][0]["stats"]["totals"]["done"] == 10
        pool.map(abs, range(5), 1)
        # An answer may be reused for 20 times what it cost to make (dashboard._Throttled).
        wait_for(lambda: json.loads(_get(base + "data.json?token=" + token)[1])[
            "sections"][0]["stats"]["totals"]["done"] == 15, what="the live numbers")
    # The with-block ended: the dashboard stopped listening.
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=5)


def test_dashboard_listens_on_loopback_only():
    import socket
    with netpool.DistributedPool(1, dashboard=True) as pool:
        port = int(pool.dashboard_url.split(":")[2].split("/")[0])
        addrs = {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None)
                 if a[0] == socket.AF_INET} - {"127.0.0.1", "127.0.1.1"}
        for addr in addrs:  # the machine's other addresses (none on some containers)
            with pytest.raises(OSError):
                socket.create_connection((addr, port), timeout=2).close()
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_netpool_run_dashboard_prints_its_url_once(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("import multiprocessing\n"
                      "if __name__ == '__main__':\n"
                      "    with multiprocessing.Pool(1) as p:\n"
                      "        print(p.map(abs, [-1, -2]))\n")
    out = subprocess.run([sys.executable, "-m", "netpool", "run", "--dashboard", str(script)],
                         capture_output=True, text=True, timeout=90)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[1, 2]"
    assert out.stderr.count("netpool: dashboard at http://127.0.0.1:") == 1, out.stderr
    assert "?token=" in out.stderr


def test_a_pool_dropped_while_running_still_writes_its_report(tmp_path):
    import gc
    import warnings
    path = tmp_path / "dropped.html"
    pool = netpool.DistributedPool(1, report=str(path))
    assert pool.apply(abs, (-3,)) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        del pool
        gc.collect()
    assert shown(path.read_text())["totals.done"] == "1"


def test_the_dashboard_reuses_an_answer_for_twenty_times_its_cost():
    from netpool._runtime import dashboard
    clock = [0.0]
    made = []

    def make():
        made.append(clock[0])
        clock[0] += 1.0  # it costs a second
        return b"page %d" % len(made)

    cache = dashboard._Throttled(clock=lambda: clock[0])
    assert cache.get("page", make) == b"page 1"
    clock[0] = 15.0
    assert cache.get("page", make) == b"page 1"  # fresh until 0 + 20 * 1 s
    assert cache.get("json", make) == b"page 2"  # each kind on its own
    clock[0] = 20.0
    assert cache.get("page", make) == b"page 3"
    assert made == [0.0, 15.0, 20.0]


def test_manager_dashboard_before_and_after_it_starts():
    from netpool import LocalWorker
    with netpool.Manager(dashboard=True) as m:
        base, token = m.dashboard_url.split("?token=")
        assert _get(base + "data.json")[0] == 403
        data = lambda: json.loads(_get(base + "data.json?token=" + token)[1])  # noqa: E731
        assert data()["sections"][0]["stats"]["totals"]["submitted"] == 0  # not started yet
        m.add_worker(LocalWorker())
        c = m.get_context()
        for i in range(3):
            c.add_task(lambda i=i: -i)
        assert sorted(c.get_results_unordered()) == [-2, -1, 0]
        wait_for(lambda: data()["sections"][0]["stats"]["totals"]["done"] == 3,
                 what="the manager's numbers on its dashboard")
        assert _get(m.dashboard_url)[0] == 200
    with pytest.raises(OSError):
        urllib.request.urlopen(m.dashboard_url, timeout=5)


def test_a_pool_never_ended_gets_its_report_at_exit_after_its_workers_stop(tmp_path):
    path = tmp_path / "exit.html"
    code = ("import netpool\n"
            f"p = netpool.DistributedPool(2, report={str(path)!r})\n"
            "print(p.map(abs, range(-3, 3)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    found = shown(path.read_text())
    # Written by the atexit hook after the runtime's own had stopped the workers.
    assert found["totals.done"] == "6" and found["totals.workers_departed"] == "2"


def test_executor_report_is_written_at_shutdown(tmp_path):
    path = tmp_path / "r.html"
    with netpool.Executor(2, report=str(path)) as ex:
        assert list(ex.map(abs, range(-5, 5))) == [5, 4, 3, 2, 1, 0, 1, 2, 3, 4]
        with pytest.raises(ValueError):
            ex.submit(value_error_if, 1, (1,)).result(60)
        assert ex.dashboard_url is None
    stats = ex._pool.stats()
    page = path.read_text()
    found = check_against(page, stats)
    assert found["totals.done"] == "10" and found["failures.raised.ValueError"] == "1"
