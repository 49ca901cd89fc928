"""Robust policy search: a small search run for real, its Pareto set non-dominated among
what it scored, every score recomputed from the stored runs by plain pandas, each member's
robustness kept on fresh states within the stated noise, the same arguments giving the same
tables and running nothing again, resumption after a kill, a Dask cluster, the space
searched and bad input."""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest

from runs import api
from runs import optimize as optimization
from runs.report import DISCOUNT_RATE
from tests.helpers import kill_when_a_part_is_stored, xianghe

SMALL = {"talent_agents": 3000}
ARGS = {"measures": ["permits", "commuting"], "draws": 8, "seeds": 1, "until": 2024,
        "params": SMALL, "min_gain": 3, "min_share": 0.3, "epsilons": (1e6, 0.5, 0.05),
        "population": 4, "generations": 3}
CLI = ["optimize", "--measures", "permits,commuting", "--draws", "8", "--seeds", "1",
       "--until", "2024", "--set", "talent_agents=3000", "--min-gain", "3", "--min-share",
       "0.3", "--epsilons", "1e6,0.5,0.05", "--population", "4", "--generations", "3",
       "--quiet"]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("optimization") / "op"
    return api.optimize(**ARGS, out=out, workers=2), out


def _parts(out):
    return {p.name: p.stat().st_mtime_ns for p in (out / "runs" / "results").glob("*.parquet")}


def _stored(out) -> pd.DataFrame:
    return pd.concat(pd.read_parquet(p) for p in (out / "runs" / "results").glob("*.parquet"))


def test_a_search_writes_its_pareto_set_tables_figures_and_runs(small):
    o, out = small
    assert (out / "optimization.md").is_file() and (out / "manifest.json").is_file()
    for name in optimization.TABLES:
        assert (out / "tables" / f"{name}.csv").is_file(), name
    for name in ("pareto-front", "pareto-levers"):
        assert (out / "figures" / f"{name}.png").is_file(), name
    assert len(o.pareto) >= 1 and o.pareto["candidate"].is_unique
    assert o.evaluations["generation"].max() == 3
    assert o.summary in (out / "optimization.md").read_text()


def test_no_setting_scored_beats_a_member_by_an_epsilon_on_every_score(small):
    o, _out = small
    eps = dict(zip(optimization.OBJECTIVES, ARGS["epsilons"], strict=True))
    ev = o.evaluations
    assert len(o.pareto) >= 2
    for m in o.pareto.itertuples():
        better = ((ev["cost_yuan"] <= m.cost_yuan - eps["cost_yuan"])
                  & (ev["gain"] >= m.gain + eps["gain"])
                  & (ev["robustness"] >= m.robustness + eps["robustness"]))
        assert not better.any(), m.candidate


def _recomputed(stored: pd.DataFrame, candidate: str, draws: range, min_gain: float,
                start: int = 2022, until: int = 2024) -> dict:
    """A candidate's scores from its stored runs and the baseline's, by plain pandas."""
    rows = stored[stored["draw"].isin(draws)]

    def wide(key: str, col: str) -> pd.DataFrame:
        mine = rows[rows["point"] == optimization._hash(key)]
        return mine.pivot_table(index=["draw", "seed"], columns="year", values=col)

    years = list(range(start, until + 1))
    factor = np.array([(1 + DISCOUNT_RATE) ** -(y - start) for y in years])
    cost = ((wide(candidate, "public_spending_yuan")[years]
             - wide("{}", "public_spending_yuan")[years]) * factor).sum(axis=1)
    gain = (wide(candidate, "projects_operating")[until]
            - wide("{}", "projects_operating")[until])
    return {"cost_yuan": cost.mean(), "gain": gain.mean(),
            "robustness": (gain >= min_gain).mean()}


def test_every_score_is_recomputed_from_the_stored_runs(small):
    o, out = small
    stored = _stored(out)
    for m in o.pareto.itertuples():
        search = _recomputed(stored, m.candidate, range(8), ARGS["min_gain"])
        fresh = _recomputed(stored, m.candidate, range(8, 16), ARGS["min_gain"])
        assert np.isclose(m.cost_yuan, search["cost_yuan"])
        assert np.isclose(m.gain, search["gain"])
        assert np.isclose(m.robustness, search["robustness"])
        assert np.isclose(m.fresh_gain, fresh["gain"])
        assert np.isclose(m.fresh_robustness, fresh["robustness"])


def test_each_member_keeps_its_robustness_on_fresh_draws_and_seeds(small):
    o, out = small
    stored = _stored(out)
    fresh = stored[stored["draw"] >= 8]
    assert set(fresh["seed"]) == {1 + optimization.FRESH}
    assert set(stored[stored["draw"] < 8]["seed"]) == {1}
    p = o.pareto
    assert p["holds"].all(), p[["robustness", "fresh_robustness", "noise"]]
    assert ((p["fresh_robustness"] - p["robustness"]).abs() <= p["noise"]).all()
    meeting = p[p["fresh_robustness"] >= ARGS["min_share"]]
    assert o.chosen is not None and len(meeting)
    assert o.chosen["fresh_cost_yuan"] == meeting["fresh_cost_yuan"].min()
    assert f"member {int(o.chosen['member'])}:" in o.summary


def test_the_noise_holds_two_estimates_of_one_share_as_often_as_it_says():
    rng = np.random.default_rng(7)
    for p, n in ((0.5, 16), (0.8, 40), (0.95, 100)):
        a = rng.binomial(n, p, 4000) / n
        b = rng.binomial(n, p, 4000) / n
        allowed = np.array([optimization.noise(x, n, y, n, 1) for x, y in zip(a, b)])
        assert np.mean(np.abs(a - b) > allowed) <= optimization.FAMILY_ALPHA


def test_the_same_arguments_run_nothing_again_and_write_the_same_tables(small):
    _o, out = small
    before = _parts(out)
    first = {n: (out / "tables" / f"{n}.csv").read_bytes() for n in optimization.TABLES}
    state = random.getstate()
    api.optimize(**ARGS, out=out, workers=2)
    assert random.getstate() == state
    assert _parts(out) == before
    for name in optimization.TABLES:
        assert (out / "tables" / f"{name}.csv").read_bytes() == first[name], name


def test_the_space_searched_follows_the_county_reports_steps():
    levers = {lv.name: lv for lv in optimization.space(["subsidies", "commuting", "permits"])}
    assert (levers["investment_subsidy_rate"].low, levers["investment_subsidy_rate"].high) \
        == (0.0, pytest.approx(0.3))
    assert (levers["checkpoint_lanes"].low, levers["checkpoint_lanes"].high) == (36, 72)
    assert levers["permit_devolution"].switch and levers["checkpoint_lanes"].integer
    ranged = optimization.space(["subsidies"], {"investment_subsidy_rate": (0.05, 0.2)},
                                (2022, 2025))
    by = {lv.name: lv for lv in ranged}
    assert (by["investment_subsidy_rate"].low, by["investment_subsidy_rate"].high) == (0.05, 0.2)
    assert (by["subsidies_from"].low, by["subsidies_from"].high) == (2022, 2025)
    params = optimization.settings(ranged, {"investment_subsidy_rate": 0.1,
                                            "incubator_fund_yuan": 0.0,
                                            "ftz_extension": True, "subsidies_from": 2024},
                                   2022)
    assert params["investment_subsidy_rate_start_year"] == 2024
    assert params["ftz_extension_start_year"] == 2024
    assert "incubator_fund_yuan_start_year" not in params
    assert json.loads(optimization.key(params))["ftz_extension"] == {"from": 2024,
                                                                    "value": True}


def test_the_variator_flips_a_switch_and_keeps_integers_in_range():
    random.seed(3)
    levers = optimization.space(["permits", "commuting"])
    problem = optimization._problem(levers)
    from platypus import RandomGenerator

    parent = RandomGenerator().generate(problem)
    variator = optimization._variator(len(levers))
    switch = next(i for i, lv in enumerate(levers) if lv.switch)
    child = variator.mutate_categorical(parent, switch, problem.types[switch])
    before = optimization.decode(problem, levers, RandomGenerator().generate(problem))
    assert set(before) == {lv.name for lv in levers}
    assert child.variables[switch] in ([0], [1])
    for _ in range(50):
        a, b = variator.evolve([RandomGenerator().generate(problem) for _ in range(2)])
        for values in (optimization.decode(problem, levers, a),
                       optimization.decode(problem, levers, b)):
            for lv in levers:
                if not lv.switch:
                    assert lv.low <= values[lv.name] <= lv.high


@pytest.mark.slow
def test_a_killed_search_resumes_to_the_pareto_set_of_one_uninterrupted(small, tmp_path):
    _o, whole = small
    out = tmp_path / "op"
    args = [*CLI, "--workers", "1", "--out", str(out)]
    kill_when_a_part_is_stored(args, out / "runs" / "results")
    kept = _parts(out)
    assert kept and not (out / "optimization.md").exists()
    run = xianghe(*args, timeout=600)
    assert run.returncode == 0, run.stderr
    assert all(_parts(out).get(name) is not None for name in kept)
    assert not _stored(out).duplicated(["run_id", "year"]).any()
    assert (out / "tables" / "pareto.csv").read_bytes() == \
        (whole / "tables" / "pareto.csv").read_bytes()


@pytest.mark.slow
def test_a_search_on_a_dask_cluster_finds_the_pareto_set_of_one_run_here(small, tmp_path,
                                                                        dask_cluster):
    o, _out = small
    there = api.optimize(**ARGS, out=tmp_path / "dask", scheduler=dask_cluster)
    pd.testing.assert_frame_equal(o.pareto, there.pareto)


@pytest.mark.parametrize("args, message", [
    (["--population", "3"], "--population 3: allowed: an integer in [4,"),
    (["--generations", "0"], "--generations 0: allowed"),
    (["--min-share", "1.5"], "--min-share 1.5: allowed: a share in (0, 1]"),
    (["--range", "bus_lines=9"], "--range bus_lines 9: allowed: LOW:HIGH"),
    (["--range", "permit_devolution=0:1"], "--range permit_devolution: not a number lever"),
    (["--range", "bus_lines=30:10"], "--range bus_lines=30:10: allowed: LOW < HIGH"),
    (["--start-years", "2030:2022"], "--start-years 2030:2022: allowed"),
    (["--measures", "teleport"], "--measures 'teleport': not a measure"),
    (["--space", "everywhere"], "--space 'everywhere': allowed: posterior, prior"),
    (["--draws", "1"], "--draws 1: allowed"),
    (["--epsilons", "1,2"], "--epsilons 1,2: allowed: COST,GAIN,SHARE"),
    (["--population", "1000", "--generations", "1000"], "runs; allowed: at most 50,000"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "op"
    run = xianghe("optimize", *args, "--out", str(out), timeout=120)
    assert run.returncode == 2, run.stderr
    assert run.stderr.count("\n") == 1 and message in run.stderr, run.stderr
    assert not out.exists()


def test_a_searchs_folder_is_not_taken_for_a_discovery_or_a_report(small):
    _o, out = small
    for command in ("discover", "report"):
        run = xianghe(command, "--out", str(out), timeout=120)
        assert run.returncode == 2 and "holds the output of `xianghe optimize`" in run.stderr


def test_a_report_adds_the_searchs_findings_as_a_section(small, tmp_path):
    o, out = small
    api.report(["permits"], seeds=2, draws=0, until=2024, params=SMALL, workers=2,
               out=tmp_path / "rp", robustness=[out])
    text = (tmp_path / "rp" / "report.md").read_text()
    assert "Where the measures fail, and which packages hold up" in text
    assert o.summary in text
    copied = pd.read_csv(tmp_path / "rp" / "tables" / "robustness_1_pareto.csv")
    assert copied["candidate"].tolist() == o.pareto["candidate"].tolist()
    assert f"member {int(o.chosen['member'])}:" in text


def test_a_report_refuses_a_robustness_folder_that_holds_no_search(tmp_path):
    (tmp_path / "notes").mkdir()
    run = xianghe("report", "--robustness", str(tmp_path / "notes"), "--out",
                  str(tmp_path / "rp"), timeout=120)
    assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr
    assert "--robustness" in run.stderr and "holds no discovery or search" in run.stderr
    assert not (tmp_path / "rp").exists()


def test_the_page_loads_a_package_of_the_pareto_set_as_its_levers(small):
    from runs.app import Controls, XiangheApp, pareto_packages

    o, out = small
    packages = pareto_packages(out)
    assert len(packages) == len(o.pareto)
    controls = Controls("land")               # levers of another scenario, to be replaced
    for label, member in zip(packages, o.pareto["candidate"], strict=True):
        controls.load_package(label, packages)
        params = XiangheApp(controls, compare=False).params
        levers = json.loads(member)
        for name, lever in levers.items():
            assert params[name] == lever["value"]
        assert params["provincial_land_quota"] is False     # the land scenario's is gone
        assert json.loads(optimization.key(params)) == levers


@pytest.mark.slow
def test_the_page_served_with_a_pareto_set_loads_a_package_in_the_browser(small):
    """Served with --pareto, the page offers the members; choosing one sets the switches."""
    import os
    from pathlib import Path

    from playwright.sync_api import expect, sync_playwright

    from benchmarks.page_step import CHROMIUM, CHROMIUM_ARGS, serve
    from runs.app import _label, pareto_packages

    if not Path(CHROMIUM).exists():
        if os.environ.get("XIANGHE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"no browser at {CHROMIUM}", pytrace=False)
        pytest.skip(f"no browser at {CHROMIUM}")
    _o, out = small
    packages = pareto_packages(out)
    label, levers = max(packages.items(), key=lambda item: len(item[1]))
    assert {"permit_devolution", "commitment_system"} & set(levers), packages
    proc, url = serve("--pareto", str(out))
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1100})
            page.goto(url, wait_until="networkidle")
            page.get_by_role("button", name="Step").wait_for(timeout=60_000)
            page.locator(".v-select", has_text="Or load a package of the Pareto set").click()
            page.locator(".v-list-item", has_text=label).click()
            page.get_by_text("Permit devolution", exact=True).first.click()   # the group
            for name in ("permit_devolution", "commitment_system"):
                switch = page.get_by_role("switch", name=_label(name))
                if name in levers:
                    expect(switch).to_be_checked(timeout=10_000)
                else:
                    expect(switch).not_to_be_checked(timeout=10_000)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
