"""The policy report: a small report regenerated, every number in its tables and summary
checked against the runs it was made from (recomputed here by plain pandas, not by the
report's code), exact repetition, resumption after a kill, and bad input."""

from __future__ import annotations

import os
import re
import subprocess

import numpy as np
import pandas as pd
import pytest

from runs import api
from runs import report as reports
from tests.helpers import ROOT, kill_when_a_part_is_stored, xianghe

SMALL = {"talent_agents": 3000}
ARGS = dict(measures=["permits", "commuting"], seeds=2, draws=3, until=2024,
            params=SMALL, workers=2)
KEYS = ["draw", "seed"]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "rep"
    rep = api.report(**ARGS, out=out)
    return rep, out


def _tables(out):
    return {name: pd.read_csv(out / "tables" / f"{name}.csv") for name in reports.Report.TABLES}


def _paired(runs, measure, year, col):
    a = runs[(runs.scenario == "baseline") & (runs.year == year)].set_index(KEYS)[col]
    b = runs[(runs.scenario == measure) & (runs.year == year)].set_index(KEYS)[col]
    return (b - a).sort_index()


def test_the_report_writes_its_document_tables_figures_and_runs(small):
    rep, out = small
    assert (out / "report.md").is_file()
    for name in reports.Report.TABLES:
        assert (out / "tables" / f"{name}.parquet").is_file()
        assert (out / "tables" / f"{name}.csv").is_file()
    for fig in ("effects", "paths", "ranking"):
        assert (out / "figures" / f"{fig}.png").stat().st_size > 10_000
    stored = pd.concat(pd.read_parquet(p) for p in (out / "runs" / "results").glob("*.parquet"))
    # 3 scenarios (baseline, two measures, package = 4) x 3 draws x 2 seeds
    assert stored["run_id"].nunique() == 4 * 3 * 2
    assert set(rep.runs["scenario"]) == {"baseline", "permits", "commuting", "package"}
    assert os.fspath(rep) == os.fspath(out / "report.md")     # the contract's "path"


def test_every_effect_is_the_paired_difference_of_the_stored_runs(small):
    _, out = small
    t = _tables(out)
    runs, effects = t["runs"], t["effects"]
    assert set(effects["year"]) == set(range(2022, 2025))
    for r in effects.itertuples():
        d = _paired(runs, r.measure, r.year, r.indicator)
        assert r.effect == pytest.approx(d.mean(), rel=1e-9, abs=1e-9)
        # the interval: t over draws of sqrt(parameter variance + Monte Carlo error)
        per_draw = d.groupby(level="draw").mean()
        within = d.groupby(level="draw").var(ddof=1).mean()
        between = per_draw.var(ddof=1)
        var_param = max(between - within / 2, 0.0)
        from scipy import stats

        half = stats.t.ppf(0.975, 2) * np.sqrt(var_param + between / 3)
        assert r.ci_high - r.effect == pytest.approx(half, rel=1e-7, abs=1e-9)
        total = var_param + between / 3
        if total > 0:
            assert r.share_param == pytest.approx(var_param / total, rel=1e-7, abs=1e-12)
            assert r.share_param + r.share_seed == pytest.approx(1.0)


def test_every_money_figure_comes_from_the_stored_runs(small):
    _, out = small
    t = _tables(out)
    runs, money = t["runs"], t["money"]
    rate = reports.DISCOUNT_RATE
    for measure in ("permits", "commuting", "package"):
        def disc(col, measure=measure):
            return sum(_paired(runs, measure, y, col).mean() / (1 + rate) ** (y - 2022)
                       for y in range(2022, 2025))

        def window(scenario, col):
            at = runs[runs.scenario == scenario].set_index(KEYS)
            return (at[at.year == 2024][col] - at[at.year == 2021][col]).mean()

        cost = disc("public_spending_yuan")
        firms = _paired(runs, measure, 2024, "projects_operating").mean()
        jobs = _paired(runs, measure, 2024, "project_jobs").mean()
        landed_a, landed_b = (window("baseline", "projects_landed"),
                              window(measure, "projects_landed"))
        expected = {
            "public_cost_yuan": cost,
            "extra_firms_producing": firms,
            "extra_jobs": jobs,
            "tax_gained_yuan": disc("project_tax_yuan"),
            "net_fiscal_yuan": disc("project_tax_yuan") - cost,
            "welfare_gained_yuan": disc("worker_surplus_yuan") + disc("firm_surplus_yuan"),
            "additionality": max(landed_b - landed_a, 0.0) / landed_b,
            "firms_per_100m_yuan": 1e8 * firms / cost,
            "cost_per_extra_firm_yuan": cost / firms if firms > 0 else np.nan,
        }
        got = money[money["measure"] == measure].set_index("metric")
        # a cost or a gain: the effects' interval (t over draws of the parameter variance
        # and the Monte Carlo error), so extra firms producing has the effects' interval
        per_run = sum(_paired(runs, measure, y, "public_spending_yuan") / (1 + rate) ** (y - 2022)
                      for y in range(2022, 2025))
        per_draw = per_run.groupby(level="draw").mean()
        between = per_draw.var(ddof=1)
        var_param = max(between - per_run.groupby(level="draw").var(ddof=1).mean() / 2, 0.0)
        from scipy import stats

        half = stats.t.ppf(0.975, 2) * np.sqrt(var_param + between / 3)
        assert got.loc["public_cost_yuan", "ci_high"] - cost == pytest.approx(half, rel=1e-7)
        assert got.loc["public_cost_yuan", "bracket"] == "95 % interval (seeds and parameters)"
        effect = t["effects"].set_index(["measure", "indicator", "year"]).loc[
            (measure, "projects_operating", 2024)]
        assert got.loc["extra_firms_producing", ["ci_low", "ci_high"]].tolist() == \
            pytest.approx([effect["ci_low"], effect["ci_high"]], rel=1e-9, abs=1e-9)
        # a ratio: the range of its 3 per-draw values, and said so
        firms_draw = _paired(runs, measure, 2024, "projects_operating").groupby(level="draw").mean()
        ratio = np.where(per_draw > 0, 1e8 * firms_draw / per_draw,
                         np.sign(firms_draw) * np.inf)
        assert got.loc["firms_per_100m_yuan", "ci_low"] == pytest.approx(ratio.min())
        assert got.loc["firms_per_100m_yuan", "ci_high"] == pytest.approx(ratio.max())
        assert got.loc["firms_per_100m_yuan", "bracket"] == "range of its 3 per-draw values"
        for share in ("additionality", "deadweight", "diversion"):
            values = got.loc[share, ["value", "ci_low", "ci_high"]].dropna()
            assert ((values >= 0) & (values <= 1)).all(), (measure, share, values)
        for metric, value in expected.items():
            if np.isnan(value):
                assert np.isnan(got.loc[metric, "value"]), metric
            else:
                assert got.loc[metric, "value"] == pytest.approx(value, rel=1e-9,
                                                                 abs=1e-6), (measure, metric)
            lo, hi = got.loc[metric, ["ci_low", "ci_high"]]
            if not np.isnan(lo):
                assert lo <= hi
    assert money[money["metric"] == "public_cost_yuan"]["cost_basis"].str.contains(
        "devolution_cost_yuan").any()


def test_the_ranking_orders_the_criterion_and_counts_draws(small):
    _, out = small
    t = _tables(out)
    ranking, runs = t["ranking"], t["runs"]
    crit = t["money"][t["money"]["metric"] == "firms_per_100m_yuan"].set_index("measure")
    assert list(ranking["measure"]) == list(crit.loc[["permits", "commuting"], "value"]
                                            .sort_values(ascending=False).index)

    def per_draw(measure):
        rate = reports.DISCOUNT_RATE
        cost = sum(_paired(runs, measure, y, "public_spending_yuan").groupby(level="draw")
                   .mean() / (1 + rate) ** (y - 2022) for y in range(2022, 2025))
        firms = _paired(runs, measure, 2024, "projects_operating").groupby(level="draw").mean()
        return np.where(cost > 0, 1e8 * firms / cost, np.sign(firms) * np.inf)

    first, second = ranking["measure"]
    assert ranking["p_above_next"].iloc[0] == pytest.approx(
        np.mean(per_draw(first) > per_draw(second)))


def test_the_package_against_the_sum_of_its_parts(small):
    _, out = small
    t = _tables(out)
    runs = t["runs"]
    for r in t["interactions"].itertuples():
        parts = sum(_paired(runs, m, 2024, r.indicator) for m in ("permits", "commuting"))
        package = _paired(runs, "package", 2024, r.indicator)
        assert r.interaction == pytest.approx((package - parts).mean(), rel=1e-9, abs=1e-6)


def test_the_out_of_sample_figures_are_the_baselines_and_not_targets(small):
    _, out = small
    t = _tables(out)
    runs, oos = t["runs"], t["out_of_sample"]
    from calibration import load_targets

    targeted = {(x.indicator, x.year) for x in load_targets()}
    assert len(oos) >= 8
    for r in oos.itertuples():
        assert (r.indicator, r.year) not in targeted
        at = runs[(runs.scenario == "baseline") & (runs.year == r.year)]
        assert r.model == pytest.approx(at[r.indicator].mean(), rel=1e-9)
        assert r.source


def test_every_number_in_the_summary_is_in_a_table_below_it(small):
    rep, out = small
    text = (out / "report.md").read_text()
    summary, tables = text.split("## Summary", 1)[1].split("\n## ", 1)
    assert summary.strip()
    cells = set(re.findall(r"(?<=\| )[^|]+(?= \|)", tables))
    tokens = set()
    for cell in cells:
        tokens.update(re.findall(r"-?[\d,]*\d(?:\.\d+)?(?:e-?\d+)?", cell))
    tokens.update(re.findall(r"-?[\d,]*\d(?:\.\d+)?", tables))
    numbers = re.findall(r"-?[\d,]*\d(?:\.\d+)?(?: %)?", summary)
    allowed_words = {"2014", "2019", "2021", "2020", "2019-2021", "2022", "2024", "3", "2", "100",
                     str(reports.MIN_DRAWS)}
    for n in numbers:
        n = n.rstrip(" %").strip()
        if n in allowed_words:
            continue
        assert n in tokens, f"{n} in the summary is in no table"
    assert rep.summary.split("\n\n")[0] in text


def test_the_same_arguments_reproduce_every_table_and_run_nothing_again(small):
    rep, out = small
    before = {p.name: p.read_bytes() for p in (out / "tables").glob("*.csv")}
    parts = sorted(p.name for p in (out / "runs" / "results").glob("*.parquet"))
    api.report(**ARGS, out=out)
    after = {p.name: p.read_bytes() for p in (out / "tables").glob("*.csv")}
    assert before == after
    assert sorted(p.name for p in (out / "runs" / "results").glob("*.parquet")) == parts


def test_html_format_writes_a_page(tmp_path):
    rep = api.report(measures=["permits"], seeds=2, draws=0, from_year=2021, until=2021,
                     params=SMALL, out=tmp_path / "r", format="html", workers=1)
    page = (tmp_path / "r" / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<table>" in page and "<img" in page
    assert "Summary" in page and not (tmp_path / "r" / "report.md").exists()
    assert len(rep.interactions) == 0          # one measure: no package


@pytest.mark.slow
def test_a_killed_report_resumes_without_redoing_finished_runs(tmp_path):
    out = tmp_path / "rep"
    args = ["report", "--measures", "permits", "--seeds", "4", "--draws", "0", "--from",
            "2021", "--until", "2021", "--set", "talent_agents=3000", "--workers", "1",
            "--out", str(out), "--quiet"]
    results = out / "runs" / "results"
    kill_when_a_part_is_stored(args, results)
    kept = {p.name: p.stat().st_mtime_ns for p in results.glob("*.parquet")}
    done = set(pd.concat(pd.read_parquet(results / n) for n in kept)["run_id"])
    assert 0 < len(done) < 8 and not (out / "report.md").exists()
    run = xianghe(*args)
    assert run.returncode == 0, run.stderr
    parts = {p.name: p.stat().st_mtime_ns for p in (out / "runs" / "results").glob("*.parquet")}
    assert all(parts.get(name) is not None for name in kept)      # kept, hard-linked
    stored = pd.concat(pd.read_parquet(p) for p in (out / "runs" / "results").glob("*.parquet"))
    assert sorted(stored["run_id"].unique()) == list(range(8))
    assert not stored.duplicated(["run_id", "year"]).any()       # nothing run twice
    assert (out / "report.md").exists()


@pytest.mark.parametrize("args, message", [
    (["--measures", "permits,teleport"], "--measures 'teleport': not a measure"),
    (["--draws", "2", "--posterior", "/nonexistent/posterior.parquet"], "no posterior"),
    (["--until", "2101"], "--until 2101: allowed"),
    (["--from", "2014"], "--from 2014: allowed"),
    (["--from", "2025", "--until", "2024"], "--from 2025: allowed"),
    (["--seeds", "1"], "--seeds 1: allowed"),
    (["--draws", "1"], "--draws 1: allowed: 0 (the calibrated point only) or an integer of 2"),
    (["--format", "pdf"], "--format 'pdf': allowed"),
    (["--criterion", "votes"], "--criterion 'votes': allowed"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "rep"
    run = xianghe("report", *args, "--out", str(out), timeout=120)
    assert run.returncode == 2, run.stderr
    assert run.stderr.count("\n") == 1 and message in run.stderr, run.stderr
    assert not out.exists()


def test_an_unwritable_folder_is_refused_by_command_and_api(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    run = xianghe("report", "--out", str(blocker / "rep"), timeout=120)
    assert run.returncode == 2 and run.stderr.count("\n") == 1
    with pytest.raises(api.InputError) as err:
        api.report(out=blocker / "rep")
    assert str(err.value) == run.stderr.strip().removeprefix("xianghe: error: ")
    assert blocker.read_text() == "x"


def test_bad_input_is_refused_before_the_simulation_stack_loads():
    """The contract's 'answers at once': refusing a report's (and a run's, and a
    comparison's) options imports neither pandas nor numpy."""
    code = """
import sys
from runs import api
for call in (lambda: api.report(from_year=2014), lambda: api.report(measures="teleport"),
             lambda: api.report(criterion="votes"), lambda: api.run(until=3000),
             lambda: api.comparison("baseline", "permits", params={"bus_lines": -1}),
             lambda: api.report(draws=2, posterior="/nonexistent/posterior.parquet")):
    try:
        call()
    except api.InputError:
        pass
    else:
        raise SystemExit("not refused")
from runs import cli
for argv in (["compare", "baseline", "permits", "--set", "bus_lines=-1"],
             ["run", "--until", "3000"], ["report", "--measures", "teleport"]):
    if cli.main(argv) != 2:
        raise SystemExit(f"not refused: {argv}")
heavy = [m for m in ("pandas", "numpy", "mesa") if m in sys.modules]
raise SystemExit(f"loaded {heavy}" if heavy else 0)
"""
    import sys

    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_damaged_run_file_is_set_aside_and_its_runs_computed_again(tmp_path):
    args = dict(measures=["permits"], seeds=2, draws=0, from_year=2021, until=2021,
                params=SMALL, out=tmp_path / "r", workers=1)
    api.report(**args)
    before = (tmp_path / "r" / "tables" / "effects.csv").read_bytes()
    part = sorted((tmp_path / "r" / "runs" / "results").glob("*.parquet"))[0]
    part.write_bytes(b"not parquet")                   # a disk fault
    api.report(**args)
    assert (tmp_path / "r" / "tables" / "effects.csv").read_bytes() == before
    assert list((tmp_path / "r" / "runs" / "damaged").glob("*.parquet"))


@pytest.mark.slow
def test_a_report_on_a_dask_cluster_has_the_tables_of_one_run_here(tmp_path, dask_cluster):
    args = dict(measures=["permits"], seeds=2, draws=2, from_year=2021, until=2021,
                params=SMALL)
    api.report(**args, out=tmp_path / "here", workers=1)
    api.report(**args, out=tmp_path / "dask", scheduler=dask_cluster)
    for name in reports.Report.TABLES:
        here = (tmp_path / "here" / "tables" / f"{name}.csv").read_bytes()
        assert (tmp_path / "dask" / "tables" / f"{name}.csv").read_bytes() == here, name


@pytest.mark.parametrize("draws", [2, 0])
def test_a_small_report_cannot_contradict_itself(tmp_path, draws):
    """One interval per figure (extra firms producing has the effects' interval), every
    bracket named, shares in [0, 1], no unexplained placeholder, and a summary that claims
    nothing its few draws (or none) cannot support; the command says so on stderr."""
    out = tmp_path / "rep"
    run = xianghe("report", "--seeds", "2", "--draws", str(draws), "--measures", "land,permits",
                  "--until", "2024", "--set", "talent_agents=3000", "--workers", "2",
                  "--out", str(out), "--quiet")
    assert run.returncode == 0, run.stderr
    notes = [line for line in run.stderr.splitlines() if line.startswith("xianghe: note:")]
    assert len(notes) == (1 if draws else 0) and (not draws or "too few" in notes[0])
    t = _tables(out)
    money = t["money"].set_index(["measure", "metric"])
    effects = t["effects"].set_index(["measure", "indicator", "year"])
    for measure in ("land", "permits", "package"):
        e = effects.loc[(measure, "projects_operating", 2024)]
        m = money.loc[(measure, "extra_firms_producing")]
        assert [m["ci_low"], m["ci_high"]] == pytest.approx([e["ci_low"], e["ci_high"]])
    shares = money.loc[(slice(None), ["additionality", "deadweight", "diversion"]),
                       ["value", "ci_low", "ci_high"]].to_numpy().ravel()
    shares = shares[~np.isnan(shares)]
    assert ((shares >= 0) & (shares <= 1)).all()
    text = (out / "report.md").read_text()
    assert "| – |" not in text and "[–" not in text and "– [" not in text
    holds = "seeds and parameters" if draws else "seeds only"
    for header in re.findall(r"^\| .*interval.* \|$", text, flags=re.MULTILINE):
        assert f"interval ({holds})" in header or "[brackets]" in header, header
    summary = text.split("## Summary", 1)[1].split("\n## ", 1)[0]
    assert "holds across the uncertainty" not in summary
    if draws:
        assert "too few to be sure of the parameters' uncertainty" in summary
        assert "is not assessed" in summary
    else:
        assert "left out" in summary and "uncertainty of the estimated parameters" not in summary


def test_a_damaged_runs_manifest_is_named_and_repaired(tmp_path):
    """Not "another report's": the line says the manifest is damaged and how to mend it;
    --repair rebuilds the report from the sound runs, the same tables. One report made,
    copied, its manifest deleted in one copy and garbled in the other."""
    import shutil

    made = tmp_path / "made"
    args = ["report", "--measures", "permits", "--seeds", "2", "--draws", "0", "--from",
            "2021", "--until", "2021", "--set", "talent_agents=3000", "--workers", "1",
            "--quiet"]
    assert xianghe(*args, "--out", str(made)).returncode == 0
    before = (made / "tables" / "effects.csv").read_bytes()
    for damage in ("deleted", "garbled"):
        out = tmp_path / damage
        shutil.copytree(made, out)
        manifest = out / "runs" / "manifest.json"
        if damage == "deleted":
            manifest.unlink()
        else:
            manifest.write_text("{not json")
        refused = xianghe(*args, "--out", str(out))
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
        assert "missing or damaged" in refused.stderr and "--repair" in refused.stderr
        assert "another report" not in refused.stderr
        repaired = xianghe(*args, "--out", str(out), "--repair")
        assert repaired.returncode == 0, repaired.stderr
        assert (out / "tables" / "effects.csv").read_bytes() == before, damage
    other = xianghe(*[a if a != "2021" else "2022" for a in args], "--out", str(made))
    assert other.returncode == 2 and "holds the runs of another report" in other.stderr


def test_the_summary_says_how_well_the_baseline_reproduces_the_figures():
    """`baseline_fit` counts the targets whose mean over the draws lies in band, and the
    least share of draws in band, from the baseline's runs only."""
    from calibration import load_targets
    from runs.report import baseline_fit

    target = next(t for t in load_targets() if t.indicator == "firms_relocated")
    rows = []
    for draw, value in enumerate((target.low, target.high, target.high + 100, target.low)):
        for seed in (1, 2):
            rows.append({"scenario": "baseline", "draw": draw, "seed": seed,
                         "year": target.years[0], "firms_relocated": value})
            rows.append({"scenario": "permits", "draw": draw, "seed": seed,
                         "year": target.years[0], "firms_relocated": -1.0})
    inside, assessed, least = baseline_fit(pd.DataFrame(rows), [target])
    # mean over draws: (low + high + high + 100 + low) / 4, above the band by 25
    assert (inside, assessed) == (int(target.low <= (2 * target.low + 2 * target.high + 100) / 4
                                      <= target.high), 1)
    assert least == 0.75
    assert baseline_fit(pd.DataFrame(rows).query("year < 0"), [target]) == (0, 0, 1.0)
