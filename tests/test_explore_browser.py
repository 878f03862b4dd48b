"""The explorer in a real headless Chromium (Playwright): ``rsnn-brian explore`` served, a slider moved, a run loaded.

Needs Panel and Playwright (``pip install .[explore]``) and a Chromium (``apt-get install -y
chromium``; another one through ``RSNN_BRIAN_CHROMIUM``); skipped with the reason otherwise.
Playwright's own browser download is not used. Screenshots go to ``tmp_path`` and, if
``RSNN_BRIAN_ARTEFACTS`` names a folder, there too (``explore.png``, ``explore_run.png``).
"""

import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("panel", reason="the explorer needs Panel: pip install .[explore]")
pytest.importorskip("playwright.sync_api", reason="the browser test needs Playwright: pip install .[explore]")

from playwright.sync_api import expect, sync_playwright  # noqa: E402
from test_explore import make_tiny_run  # noqa: E402

from rsnn_brian.explore.command import free_port  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: Longest wait for the server, for the first page (Brian2's first runs) and for any one update.
START_S, FIRST_PAGE_S, UPDATE_S = 60, 60, 30


def _chromium() -> str | None:
    env = os.environ.get("RSNN_BRIAN_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


CHROMIUM = _chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium found (apt-get install -y chromium, or set "
                                "RSNN_BRIAN_CHROMIUM to a Chromium executable)")


@pytest.fixture(scope="module")
def server():
    """``python -m rsnn_brian explore --port N --no-browser`` on a free localhost port; stopped at the end."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "rsnn_brian", "explore", "--port", str(port), "--no-browser"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    seen, deadline = [], time.monotonic() + START_S
    try:
        while True:
            try:
                line = lines.get(timeout=max(deadline - time.monotonic(), 0.1))
            except queue.Empty:
                line = None
            if line is not None:
                seen.append(line)
                if "serving http://127.0.0.1:" in line:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("rsnn-brian explore did not start:\n" + "".join(seen))
        assert f"http://127.0.0.1:{port}/" in line
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def page(server, tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(str(profile), executable_path=CHROMIUM, headless=True,
                                                    args=CHROMIUM_ARGS, viewport={"width": 1500, "height": 1000})
        try:
            pg = ctx.new_page()
            pg.set_default_timeout(UPDATE_S * 1000)
            expect.set_options(timeout=UPDATE_S * 1000)
            pg.goto(server, timeout=FIRST_PAGE_S * 1000)
            expect(pg.locator(".explore-neuron-stats")).to_contain_text("spikes", timeout=FIRST_PAGE_S * 1000)
            yield pg
        finally:
            ctx.close()


def _text(page, cls: str) -> str:
    """The rendered text of a Markdown pane (its content sits in the component's shadow root)."""
    return page.locator(f".{cls} .markdown, .{cls} p").first.inner_text()


def _neuron_spikes(page) -> int:
    # the pane is re-rendered while the page updates: wait until it shows a count
    expect(page.locator(".explore-neuron-stats")).to_contain_text(re.compile(r"Neuron:\s*\d+ spikes"))
    m = re.search(r"Neuron:\s*(\d+) spikes", _text(page, "explore-neuron-stats"))
    assert m, _text(page, "explore-neuron-stats")
    return int(m.group(1))


def _plotted(page, source: str, column: str) -> list:
    """A column of a named ColumnDataSource, read from the page's Bokeh document."""
    return page.evaluate("([s, c]) => Array.from(Bokeh.documents[0].get_model_by_name(s).data[c])",
                         [source, column])


def _save(page, tmp_path, name: str) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    out = os.environ.get("RSNN_BRIAN_ARTEFACTS")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(out) / name)
    assert path.stat().st_size > 10_000
    return path


def test_moving_the_threshold_up_gives_fewer_spikes(page, tmp_path):
    before = _neuron_spikes(page)
    assert before > 0
    assert len(_plotted(page, "neuron_spikes", "t_ms")) == before
    v_before = _plotted(page, "neuron_trace", "v")
    handle = page.locator(".explore-v_th .noUi-handle")
    track = page.locator(".explore-v_th .noUi-base").bounding_box()
    box = handle.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(track["x"] + 0.65 * track["width"], y, steps=10)      # 20 -> about 39
    page.mouse.up()
    expect(page.locator(".explore-neuron-stats")).not_to_contain_text(f"Neuron: {before} spikes")
    after = _neuron_spikes(page)
    threshold = float(page.locator(".explore-v_th input").input_value())
    assert threshold > 30
    assert after < before, (before, after, threshold)
    assert len(_plotted(page, "neuron_spikes", "t_ms")) == after
    assert max(_plotted(page, "neuron_trace", "v")) > max(v_before)     # v climbs higher before it fires
    assert _plotted(page, "neuron_spikes", "y") == pytest.approx([threshold] * after)
    _save(page, tmp_path, "explore.png")
    page.locator(".bk-tab", has_text="Model & config").click()              # the model and its TOML follow
    th = round(threshold, 9)
    expect(page.locator(".explore-toml")).to_contain_text(f"thresholds = [{th!r}, {th!r}, {th * 0.75!r}]")
    expect(page.locator(".explore-equations")).to_contain_text(f"v_th = {th!r}")
    _save(page, tmp_path, "explore_model.png")
    page.locator(".bk-tab", has_text="Neuron & network").click()


def test_a_bad_threshold_shows_a_message_and_keeps_the_plots(page):
    plotted = _plotted(page, "neuron_spikes", "t_ms")
    box = page.locator(".explore-v_th input")
    good = box.input_value()
    box.fill("0")
    box.press("Enter")
    message = page.locator(".explore-message")
    expect(message).to_contain_text("threshold must be > 0")
    assert _plotted(page, "neuron_spikes", "t_ms") == plotted
    box.fill(good)
    box.press("Enter")
    expect(message).to_be_hidden()


def test_a_run_directory_shows_its_learning_curve_and_a_sample(page, tmp_path):
    run = make_tiny_run(tmp_path / "run")
    page.locator(".bk-tab", has_text=re.compile(r"^Run$")).click()
    path = page.locator(".explore-run-path input")
    path.fill(str(tmp_path))                                             # the parent: not a run
    page.locator(".explore-load button").click()
    expect(page.locator(".explore-message")).to_contain_text("not a run directory")
    path.fill(str(run))
    path.press("Enter")                      # commit the box's value before the click is sent
    page.wait_for_timeout(1000)
    page.locator(".explore-load button").click()
    status = page.locator(".explore-run-status")
    # the page updates when the load callback returns, after the first test sample is simulated;
    # on a machine where Brian2 has not compiled this network's Cython code yet that takes a while
    expect(status).to_contain_text("784-12-R10-10", timeout=180_000)
    expect(page.locator(".explore-message")).to_be_hidden()
    table = page.locator(".explore-run-status table").inner_text()
    assert re.search(r"epoch\s+train accuracy \(%\)\s+test accuracy \(%\)\s+1\s+[\d.]+\s+[\d.]+", table), table
    assert _plotted(page, "curve_run_test", "epoch") == [1]
    assert _plotted(page, "curve_run_train", "epoch") == [1]
    expect(page.locator(".explore-sample-stats")).to_contain_text("Sample 0: label")
    counts = _plotted(page, "sample_output", "count")
    assert len(counts) == 10
    assert len(_plotted(page, "sample_raster", "t_ms")) > 0               # the input's spikes at least
    _save(page, tmp_path, "explore_run.png")
