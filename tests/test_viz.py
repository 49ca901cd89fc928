"""The interactive page, served for real and driven in Debian's Chromium with Playwright."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from benchmarks.page_step import CHROMIUM, CHROMIUM_ARGS, MAP, STEP_TIMED, serve

ROOT = Path(__file__).resolve().parents[1]
CHARTS = ".vue-grid-item canvas"      # the indicator charts, drawn by ECharts in the browser
SHOTS = Path(os.environ.get("XIANGHE_SCREENSHOTS", tempfile.gettempdir()))


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's Chromium: skipped where it is absent, unless XIANGHE_REQUIRE_BROWSER=1 (CI)."""
    if not Path(CHROMIUM).exists():
        message = f"no browser at {CHROMIUM} (XIANGHE_CHROMIUM): apt-get install chromium"
        if os.environ.get("XIANGHE_REQUIRE_BROWSER") == "1":
            pytest.fail(message + "; XIANGHE_REQUIRE_BROWSER=1 demands it", pytrace=False)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="module")
def server(chromium):
    proc, url = serve()
    yield url
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture
def page(chromium, server):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport={"width": 1600, "height": 1100})
        pg.problems = []
        pg.on("console", lambda m: pg.problems.append(m.text) if m.type == "error" else None)
        pg.on("pageerror", lambda e: pg.problems.append(f"pageerror: {e}"))
        pg.on("requestfailed", lambda r: pg.problems.append(f"failed: {r.url}"))
        pg.on("request", lambda r: pg.problems.append(f"external: {r.url}")
              if urlparse(r.url).hostname not in ("127.0.0.1", "localhost", None)
              and urlparse(r.url).scheme in ("http", "https", "ws", "wss") else None)
        pg.goto(server, wait_until="networkidle")
        pg.get_by_role("button", name="Step").wait_for(timeout=60_000)
        pg.locator(MAP).first.wait_for(timeout=60_000)
        pg.locator(CHARTS).first.wait_for(timeout=60_000)
        yield pg
        browser.close()


def _map_source(page: Page) -> str:
    return page.locator(MAP).first.get_attribute("src")


def _until_redrawn(page: Page, before: str) -> None:
    page.wait_for_function(
        "([sel, before]) => { const e = document.querySelector(sel);"
        " return e !== null && e.src !== before; }", arg=[MAP, before], timeout=30_000)


def _no_error_shown(page: Page) -> None:
    assert page.get_by_role("alert").count() == 0
    assert "Traceback" not in page.locator("body").inner_text()


@pytest.mark.slow
def _step(page: Page) -> None:
    before = _map_source(page)
    page.get_by_role("button", name="Step").click()
    _until_redrawn(page, before)


def _permits_on_and_reset(page: Page) -> None:
    """Switch permit devolution on and Reset, a quarter in: a new model's first map is the
    picture loaded, which the browser would keep, so the Reset would not show."""
    _step(page)
    page.get_by_text("Permit devolution", exact=True).first.click()    # open the group
    switch = page.get_by_role("switch", name="Permit devolution")
    # The switch's own label, once the group has finished opening (Playwright waits for a
    # stable element); the server then sets the state, so wait for that, not the click.
    page.locator("label", has_text="Permit devolution").click()
    expect(switch).to_be_checked(timeout=10_000)
    before = _map_source(page)
    page.get_by_role("button", name="Reset").click()
    _until_redrawn(page, before)


def test_page_draws_changes_with_a_lever_and_steps(page):
    charts_before = page.locator(CHARTS).first.screenshot()
    _permits_on_and_reset(page)

    step = page.get_by_role("button", name="Step")
    timings = []
    for _ in range(6):
        # Timed in the browser, from the click to the new map in the page (the charts
        # come in the same update), so the test driver's own round trips do not count.
        timings.append(step.evaluate(STEP_TIMED, MAP) / 1000)
    page.get_by_text("Time: 6.0").wait_for()
    time.sleep(0.5)   # the charts' canvas is repainted by the browser after the data arrive
    assert page.locator(CHARTS).first.screenshot() != charts_before
    _no_error_shown(page)
    assert page.problems == []
    page.screenshot(path=SHOTS / "xianghe-page.png", full_page=True)
    print(f"page step, click to redrawn map and charts (in the browser): median "
          f"{sorted(timings)[3] * 1000:.0f} ms, {min(timings) * 1000:.0f}-"
          f"{max(timings) * 1000:.0f} ms over {len(timings)} steps")


@pytest.mark.slow
def test_impossible_combination_is_named_on_the_page(page, server):
    from runs.cli import PAGE_TITLE

    assert page.title() == PAGE_TITLE           # the tab names the page
    with urllib.request.urlopen(server, timeout=30) as r:     # and so does the first byte
        assert f"<title>{PAGE_TITLE}</title>" in r.read().decode()
    expect(page.get_by_role("tab", name=re.compile("page 0", re.IGNORECASE))).to_be_hidden()
    page.get_by_text("Land", exact=True).click()               # a lever starts in 2022
    expect(page.get_by_text("from 2022").first).to_be_visible()
    page.get_by_text("Commuting", exact=True).click()
    for name in ("Entry permits per year", "Entry permit days"):
        slider = page.get_by_role("slider", name=re.compile("^" + name))
        slider.focus()
        slider.press("End")
    error = page.get_by_role("alert")
    error.wait_for(timeout=10_000)
    assert "at most 366 days" in error.inner_text()
    page.get_by_role("button", name="Step").click()
    page.get_by_text("Time: 1.0").wait_for()
    before = _map_source(page)
    page.get_by_role("button", name="Reset").click()         # keeps the last valid values
    _until_redrawn(page, before)
    page.get_by_text("Time: 0.0").wait_for()
    assert "Traceback" not in page.locator("body").inner_text()
    assert page.problems == []


@pytest.mark.slow
def test_the_comparison_view_sets_the_levers_beside_the_baseline_and_draws_a_fan(page):
    # No empty card: SolaraViz's "Model Parameters" card holds the comparison's switch.
    card = page.locator(".v-card", has_text="Model Parameters")
    expect(card.get_by_role("checkbox", name="Compare with the baseline (same seed)")
           ).to_be_checked()
    _permits_on_and_reset(page)
    for _ in range(4):
        _step(page)
    view = page.locator(".vue-grid-item", has_text="Your levers against the baseline")
    view.get_by_text("2014Q4").wait_for(timeout=30_000)
    expect(view.get_by_text("Levers: from 2022, permit devolution true.")).to_be_visible()
    table = view.locator("table")
    for header in ("baseline (same seed)", "with your levers", "difference"):
        expect(table).to_contain_text(header)
    expect(table).to_contain_text("Firms producing in Xianghe")
    assert view.locator("canvas").count() >= 1
    page.get_by_role("button", name=re.compile("Show the fan of posterior draws")).click()
    view.get_by_text("The difference your levers make").wait_for(timeout=240_000)
    assert view.locator("canvas").count() >= 2        # the comparison and the fan
    time.sleep(0.5)
    _no_error_shown(page)
    assert page.problems == []
    page.set_viewport_size({"width": 1600, "height": 2100})   # the fan below the table
    time.sleep(1.0)
    page.screenshot(path=SHOTS / "xianghe-comparison.png", full_page=True)


def test_the_comparison_names_its_series_and_computes_the_difference():
    from runs.app import (BASE_LABEL, LEVERS_LABEL, Controls, XiangheApp, comparison_option,
                          comparison_rows)

    model = XiangheApp(Controls("permits"))
    for _ in range(8):
        model.step()
    assert model.reference.steps == model.steps == 8
    assert model.reference.params["permit_devolution"] is False
    assert model.params["permit_devolution"] is True
    option = comparison_option(model)
    for i, legend in enumerate(option["legend"]):
        assert legend["data"] == [BASE_LABEL, LEVERS_LABEL]
        assert [s["name"] for s in option["series"] if s["xAxisIndex"] == i] == legend["data"]
    for _, a, b, d in comparison_rows(model):
        assert d == pytest.approx(b - a)
    same = XiangheApp(Controls("baseline"))          # no lever changed: no difference
    for _ in range(8):
        same.step()
    assert all(d == 0 for *_, d in comparison_rows(same))


def test_controls_start_from_a_scenario_and_keep_the_last_valid_values():
    from runs.app import Controls, XiangheApp

    controls = Controls("commuting")
    assert controls.values.value["checkpoint_lanes"] == 48
    assert controls.values.value["checkpoint_lanes_start_year"] == 2022
    controls.set("bus_lines", 20)
    assert XiangheApp(controls).params["bus_lines"] == 20
    controls.set("entry_permits_per_year", 100)
    assert "at most 366 days" in controls.error.value
    model = XiangheApp(controls)
    assert model.params["entry_permits_per_year"] == 24 and model.params["bus_lines"] == 20
    controls.set("entry_permits_per_year", 30)
    assert controls.error.value is None


def test_a_negative_seed_is_named_not_raised():
    from runs.app import Controls, XiangheApp

    controls = Controls()
    controls.seed.set(-1)
    controls.check()
    assert "seed -1" in controls.error.value
    assert XiangheApp(controls).params == XiangheApp(Controls()).params


def test_viz_refuses_a_port_in_use():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        run = subprocess.run([sys.executable, "-m", "runs.cli", "viz", "--port", str(port)],
                             capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert run.returncode == 2
    assert len(run.stderr.strip().splitlines()) == 1 and "cannot serve" in run.stderr


def test_every_chart_has_a_legend_naming_each_of_its_series():
    """No colour code to learn: each small chart's legend names its lines and targets."""
    from runs.app import Controls, XiangheApp, indicator_charts_option

    option = indicator_charts_option(XiangheApp(Controls()))
    assert len(option["legend"]) == len(option["grid"])
    for i, legend in enumerate(option["legend"]):
        drawn = [s["name"] for s in option["series"] if s["xAxisIndex"] == i]
        assert set(legend["data"]) == set(drawn)
        assert not any("_" in name for name in drawn)
