"""The report and the dashboard in a real headless browser (Debian's chromium, driven over
the DevTools protocol on a pipe: tests/_browser.py): they render with no console error, and
the numbers the page shows are those of ``stats()``. Skips without chromium, except in CI."""

import json
import time

import pytest

import netpool
from _browser import Browser, need_chromium
from _tasks import die_once, value_error_if
from conftest import wait_for
from test_report import lookup

pytestmark = pytest.mark.timeout(180)

BAD = (2, 5)

# What the page shows, read in the browser: {data-stat path: text} of the first section.
SHOWN = """(() => { const out = {};
  for (const el of document.querySelector('section.run').querySelectorAll('[data-stat]'))
    out[el.dataset.stat] = el.textContent;
  return out; })()"""


@pytest.fixture(scope="module")
def browser():
    with Browser(need_chromium()) as b:
        yield b


def _rendered(tab) -> dict:
    return tab.eval("""(() => ({
        bars: document.querySelectorAll('#timeline rect.bar').length,
        lanes: document.querySelectorAll('#timeline rect.lane').length,
        deaths: document.querySelectorAll('#timeline .ev.died').length,
        tp: document.querySelectorAll('#throughput rect.tp').length,
        width: document.getElementById('timeline').getBoundingClientRect().width,
        pre: [...document.querySelectorAll('pre')].map(p => p.textContent).join('\\n'),
      }))()""")


def test_report_renders_without_errors_and_shows_the_stats(tmp_path, browser):
    path, marker = tmp_path / "report.html", tmp_path / "marker"
    with netpool.DistributedPool(2, report=str(path)) as pool:
        results = [pool.apply_async(value_error_if, (i, BAD)) for i in range(40)]
        assert pool.apply_async(die_once, (str(marker), "again")).get(60) == "again"
        wait_for(lambda: pool.stats()["failures"]["worker_deaths"], what="the death recorded")
        for r in results:
            r.wait(60)
        pool.close()
        pool.join()
        stats = pool.stats()
    tab = browser.open(path.as_uri())
    tab.settle()
    assert tab.errors == []
    shown = tab.eval(SHOWN)
    assert {"totals.done", "totals.failed", "failures.raised.ValueError"} <= set(shown)
    for key, text in shown.items():
        assert text == str(lookup(stats, key)), key
    assert shown["totals.done"] == "39" and shown["failures.raised.ValueError"] == "2"
    drawn = _rendered(tab)
    assert drawn["lanes"] >= 3  # two workers, and the one that replaced the dead one
    assert drawn["bars"] >= 1 and drawn["tp"] >= 1 and drawn["deaths"] == 1
    assert drawn["width"] > 100  # laid out, not collapsed
    assert "ValueError" in drawn["pre"] and "value_error_if" in drawn["pre"]


def test_a_broken_page_is_noticed(tmp_path, browser):
    """The check can fail: a page whose script throws, or that loads from the network."""
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><script>nope()</script><img src='http://127.0.0.1:9/x.png'>"
                   "</body></html>")
    tab = browser.open(bad.as_uri())
    tab.settle(1.0)
    assert any("nope" in e for e in tab.errors), tab.errors


def test_dashboard_renders_live_numbers(browser):
    with netpool.DistributedPool(2, dashboard=True) as pool:
        pool.map(abs, range(6), 1)
        tab = browser.open(pool.dashboard_url)
        assert tab.eval(SHOWN)["totals.done"] == "6"
        pool.map(abs, range(4), 1)
        deadline = time.monotonic() + 30
        while tab.eval(SHOWN)["totals.done"] != "10":  # the page refreshes itself (2 s)
            assert time.monotonic() < deadline, "the dashboard did not refresh"
            tab.pump(time.monotonic() + 0.2)
        assert tab.eval(SHOWN) == {k: str(lookup(pool.stats(), k)) for k in tab.eval(SHOWN)}
        assert tab.eval("document.getElementById('state').textContent").startswith("live")
        tab.settle()
        assert tab.errors == []
        wrong = browser.open(pool.dashboard_url.split("?")[0] + "?token=nope")
        assert "403" in wrong.eval("document.body.textContent")
        assert json.dumps(tab.errors) == "[]"
