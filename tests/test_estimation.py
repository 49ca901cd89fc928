"""The estimation: priors declared with the parameters, the ABC-SMC calibration, and
experiments over the posterior."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from model.params import PARAMS, ParamError, Prior, Role


def test_every_uncertainty_declares_a_prior_that_holds_its_default():
    for p in PARAMS.values():
        assert (p.prior is not None) == (p.role is Role.UNCERTAINTY), p.name
        if p.prior:
            lo, hi = p.prior_dist.support
            assert p.low <= lo <= p.default <= hi <= p.high, p.name


@pytest.mark.parametrize("text, high", [("uniform(0.1, 0.3)", 1.0), ("loguniform(1e6, 1e8)", 1e9),
                                        ("normal(0.2, 0.6)", 1.0), ("lognormal(2, 30)", 50.0)])
def test_a_prior_is_a_distribution(text, high):
    prior = Prior.parse(text, 0.0, high)
    lo, hi = prior.support
    grid = (np.geomspace(lo, hi, 200_001) if prior.kind == "loguniform"
            else np.linspace(lo, hi, 200_001))
    density = np.array([prior.pdf(x) for x in grid])
    assert np.trapezoid(density, grid) == pytest.approx(1.0, abs=2e-3)
    for q in (0.05, 0.5, 0.95):
        assert prior.cdf(prior.ppf(q)) == pytest.approx(q, abs=1e-9)
    if prior.kind in ("normal", "lognormal"):     # the 90 % interval, before truncation
        assert prior.ppf(0.5) == pytest.approx(
            (prior.a + prior.b) / 2 if prior.kind == "normal" else math.sqrt(prior.a * prior.b),
            rel=0.05)


@pytest.mark.parametrize("text, words", [
    ("gamma(1, 2)", "unknown kind"), ("uniform(2, 1)", "a < b"), ("uniform(1)", "KIND(a, b)"),
    ("uniform(-1, 0.5)", "valid range"), ("loguniform(0, 0.5)", "a > 0"),
])
def test_a_bad_prior_is_refused_in_one_line(text, words):
    with pytest.raises(ParamError, match=re.escape(words)) as err:
        Prior.parse(text, 0.0, 1.0)
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------------------- calibrate

import json  # noqa: E402
import signal  # noqa: E402
import sqlite3  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tomllib  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from calibration import estimation  # noqa: E402
from runs.errors import InputError  # noqa: E402
from tests.helpers import ROOT, xianghe  # noqa: E402

# A calibration in seconds: few particles, one seed, three parameters, a small scale.
FEW = ["county_land_quota_km2", "xianghe_firm_asc", "beta_ties_km"]
# A scale at which most prior draws sign a project in 2021 (the investment figure) on seed
# 1: a particle without it is never accepted, and pyabc's draws are not seeded.
QUICK = {"talent_agents": 10_000}


def _generations(db: Path) -> list[tuple[int, int]]:
    """The history's finished generations, none while pyabc is still creating it."""
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT t, nr_samples FROM populations WHERE t >= 0 "
                                "ORDER BY t").fetchall()
    except sqlite3.OperationalError:         # no table yet, or locked for a moment
        return []


def test_a_small_calibration_writes_the_point_the_sample_and_provenance(tmp_path):
    out, db = tmp_path / "cal", tmp_path / "h.db"
    result = estimation.calibrate(budget=16, seeds=1, population=4, db=str(db), out=out,
                                  names=FEW, base=QUICK, progress=False)
    # the budget rule may stop after one generation, at an acceptance rate left to chance
    assert result.generations >= 1 and result.simulations >= 4
    posterior = pd.read_parquet(out / "posterior.parquet")
    assert list(posterior.columns) == [*FEW, "weight", "distance"]
    assert len(posterior) == 4 and posterior["weight"].sum() == pytest.approx(1.0)
    for name in FEW:    # every particle lies in its prior's support
        lo, hi = PARAMS[name].prior_dist.support
        assert posterior[name].between(lo, hi).all()
    doc = tomllib.loads((out / "calibrated.toml").read_text())
    assert set(doc["values"]) == set(FEW)
    for key in ("budget_particles", "simulations", "generations", "seeds", "git_revision",
                "wall_seconds"):
        assert key in doc["provenance"], key
    assert doc["provenance"]["versions"]["pyabc"] == "0.13.0"
    # The stored point is the weighted median of the stored sample.
    w = posterior["weight"].to_numpy()
    for name in FEW:
        x = posterior[name].to_numpy()
        order = np.argsort(x)
        median = x[order][np.searchsorted(np.cumsum(w[order]), 0.5)]
        assert doc["values"][name] == pytest.approx(median)
    assert len(_generations(db)) == result.generations


def test_every_particle_runs_the_same_seeds(monkeypatch):
    seen = []
    real = estimation.figures

    def spy(params, seeds):
        seen.append(tuple(seeds))
        return real({**params, "talent_agents": 500}, seeds)

    monkeypatch.setattr(estimation, "figures", spy)
    sim = estimation.Simulator({n: PARAMS[n].prior_dist for n in FEW}, (3, 4))
    for theta in ({n: 0.0 for n in FEW}, {n: 1.2816 for n in FEW}):
        assert set(sim(theta)) == {m.key for m in estimation.moments()}
    assert seen == [(3, 4), (3, 4)]


@pytest.mark.parametrize("name", ["catalogue_push", "permit_months_scale", "firm_pool"])
def test_the_sampler_moves_each_parameter_on_its_priors_normal_scores(name):
    """A standard normal in the sampler's space is the prior on the parameter's scale."""
    from statistics import NormalDist

    prior = PARAMS[name].prior_dist
    for q in (0.01, 0.05, 0.5, 0.95, 0.99):
        z = NormalDist().inv_cdf(q)
        value = estimation.to_values({name: z}, {name: prior})[name]
        assert value == pytest.approx(prior.ppf(q), rel=1e-6, abs=1.0)
    rv = estimation._prior_rv_class()(prior)
    assert rv.pdf(0.0) == pytest.approx(NormalDist().pdf(0.0))
    assert rv.cdf(1.0) == pytest.approx(NormalDist().cdf(1.0))


def test_the_kernel_stays_proper_with_fewer_particles_than_parameters():
    """Four particles in fifteen dimensions: pyabc's own kernel is singular there, and a
    proposal's density could underflow to 0 (weights NaN); the floored one gives every
    proposal a positive, finite density."""
    np.random.seed(0)
    names = [f"p{i}" for i in range(15)]
    particles = pd.DataFrame(np.random.standard_normal((4, 15)), columns=names)
    kernel = estimation._transition_class()()
    kernel.fit(particles, np.full(4, 0.25))
    assert np.linalg.eigvalsh(kernel.cov).min() >= estimation.KERNEL_FLOOR_SD ** 2 * 0.999
    density = kernel.pdf(kernel.rvs(size=200))
    assert np.all(np.isfinite(density)) and np.all(density > 0)


def test_the_kernel_stays_finite_when_one_particle_holds_all_the_weight():
    """Three particles in 26 dimensions, one with all the weight bar 1e-22: the weighted
    covariance divides by zero there (1 - sum w^2 = 0) and pyabc's kernel came out
    infinite, which stopped a test calibration on one CPU and not on another."""
    from pyabc.transition import MultivariateNormalTransition

    np.random.seed(1)
    names = [f"p{i}" for i in range(26)]
    particles = pd.DataFrame(np.random.standard_normal((3, 26)), columns=names)
    weights = np.array([1.0, 1e-22, 1e-22])
    with np.errstate(all="ignore"), pytest.raises(ValueError, match="infs or NaNs"):
        MultivariateNormalTransition().fit(particles, weights)   # what the floor replaces
    kernel = estimation._transition_class()()
    kernel.fit(particles, weights)
    assert np.isfinite(kernel.cov).all()
    spread = np.cov(particles.to_numpy(), rowvar=False)
    assert np.trace(kernel.cov) > np.trace(spread) * 0.01       # the particles' spread, not 0
    density = kernel.pdf(kernel.rvs(size=50))
    assert np.all(np.isfinite(density)) and np.all(density > 0)


def test_the_effective_sample_size_counts_equal_weights_fully_and_one_weight_once():
    from calibration.fit_report import effective_sample_size

    assert effective_sample_size([0.25] * 4) == pytest.approx(4)
    assert effective_sample_size([1.0, 0, 0, 0]) == pytest.approx(1)
    assert effective_sample_size([3, 1]) == pytest.approx(1.6)


def test_the_distance_counts_half_bands():
    ms = estimation.moments()
    at_centres = {m.key: m.centre for m in ms}
    assert estimation.distance(at_centres) == 0
    one_edge = {**at_centres, ms[0].key: ms[0].target.high}
    assert estimation.distance(one_edge) == pytest.approx(1.0)


def _cal(tmp_path, *args):
    return xianghe("calibrate", "--out", str(tmp_path / "cal"), "--quiet", *args)


@pytest.mark.parametrize("args, words", [
    (["--budget", "0"], "--budget 0"),
    (["--seeds", "0"], "--seeds 0"),
    (["--method", "abc-smc", "--resume", "--db", "{tmp}/none.db"], "no such history"),
    (["--method", "abc-smc", "--resume", "--db", "{tmp}/garbage.db"],
     "cannot read the history"),
    (["--method", "abc-smc", "--db", "postgresql://127.0.0.1:9/nobody"], "--db postgresql"),
    (["--method", "abc-mcmc", "--db", "{tmp}/h.db"], "allowed only with --method abc-smc"),
    (["--resume", "--db", "{tmp}/none.db"], "no such history"),     # --db means abc-smc
    (["--method", "abc-smc", "--work", "{tmp}/w"], "/w: allowed only for an abc-mcmc"),
    (["--waves", "0"], "--waves 0"),
    (["--wave-size", "1"], "--wave-size 1"),
    (["--method", "mcmc"], "invalid choice: 'mcmc'"),
    (["--priors", "{tmp}/priors.toml"], "'no_such_parameter' is not an uncertain"),
    (["--priors", "{tmp}/missing.toml"], "cannot read it"),
    (["--screen", "--report"], "not allowed with argument --screen"),
    (["--start", "{tmp}/none.parquet"], "none.parquet: no such file; allowed: point"),
    (["--burn-in", "1"], "--burn-in 1.0: the share of the budget"),
    (["--method", "history-matching", "--start", "point"], "allowed only for an abc-mcmc"),
    (["--method", "emulation", "--burn-in", "0.3"],
     "--burn-in 0.3: allowed only for an abc-mcmc calibration"),
    (["--method", "emulation", "--start", "{tmp}/none.parquet"], "none.parquet: no such file"),
    (["--method", "emulation", "--budget", "500"], "--budget 500: emulation runs at least"),
])
def test_bad_calibration_input_exits_2_writing_nothing(tmp_path, args, words):
    (tmp_path / "garbage.db").write_bytes(b"this is no database" * 100)
    (tmp_path / "priors.toml").write_text('[priors]\nno_such_parameter = "uniform(0, 1)"\n')
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    before = sorted(p.name for p in tmp_path.iterdir())
    run = _cal(tmp_path, *args)
    assert run.returncode == 2, run.stderr
    assert words in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_calibration_that_no_particle_passes_stops_at_its_budget(tmp_path):
    """With the area's constant at the bottom of its prior, no new investment projects and
    a small exposed pool (1,500 firms), no firm signs in 2021 whatever the land quota, so no particle gives every figure: the
    budget ends the first generation (pyabc alone would sample for ever) and nothing is
    written."""
    with pytest.raises(InputError, match="--budget 6: not 2 of 9 particles gave every"):
        estimation.calibrate(budget=6, seeds=1, population=2, db=str(tmp_path / "h.db"),
                             out=tmp_path / "c", names=FEW[:1],
                             base={**QUICK, "new_projects_per_year": 0, "firm_pool": 1500,
                                   "xianghe_firm_asc": -5.0}, progress=False)
    assert not (tmp_path / "c").exists()


def test_a_calibration_is_not_started_twice_in_one_history(tmp_path):
    db = tmp_path / "h.db"
    estimation.calibrate(budget=8, seeds=1, population=2, db=str(db), out=tmp_path / "c",
                         names=FEW, base=QUICK, progress=False)
    run = _cal(tmp_path, "--method", "abc-smc", "--db", str(db), "--budget", "4")
    assert run.returncode == 2 and "already holds a calibration" in run.stderr


@pytest.mark.slow
def test_a_killed_calibration_resumes_without_redoing_finished_generations(tmp_path):
    db, out = tmp_path / "h.db", tmp_path / "cal"
    # A budget for several generations; the kill comes after the first, so that the
    # calibration cannot have ended by then (a race when it waited for the second). The
    # budget also bounds the resumed generation (what it has left plus half of it): at 20,
    # a second generation that needed more than 25 particles for its 3 (pyabc's proposals
    # are random, 3-24 measured) was given up and the resume added none.
    args = [sys.executable, "-m", "runs.cli", "calibrate", "--method", "abc-smc",
            "--budget", "40", "--population",
            "3", "--seeds", "1", "--workers", "1", "--db", str(db), "--out", str(out),
            "--set", "talent_agents=10000", "--quiet"]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 600
    while not (db.exists() and len(_generations(db)) >= 1):
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.2)
    import os

    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    finished = _generations(db)
    assert not (out / "posterior.parquet").exists()

    run = subprocess.run([*args, "--resume"], cwd=ROOT, capture_output=True, text=True,
                         timeout=900)
    assert run.returncode == 0, run.stderr
    after = _generations(db)
    assert after[:len(finished)] == finished          # finished generations kept as they were
    assert [t for t, _ in after] == list(range(len(after)))   # each generation once
    assert len(after) > len(finished)
    with sqlite3.connect(db) as conn:       # the resumed generations go on narrowing
        eps = [e for (e,) in conn.execute("SELECT epsilon FROM populations WHERE t >= 0 "
                                          "ORDER BY t")]
    assert all(b <= a for a, b in zip(eps[1:], eps[2:], strict=False)), eps
    assert len(pd.read_parquet(out / "posterior.parquet")) == 3


@pytest.mark.slow
def test_calibration_runs_on_a_dask_cluster(tmp_path, dask_cluster):
    run = _cal(tmp_path, "--method", "abc-smc", "--budget", "8", "--population", "3",
               "--seeds", "1", "--scheduler", dask_cluster, "--db", str(tmp_path / "h.db"),
               "--set", "talent_agents=10000")
    assert run.returncode == 0, run.stderr
    assert len(pd.read_parquet(tmp_path / "cal" / "posterior.parquet")) == 3
    assert len(_generations(tmp_path / "h.db")) >= 1


# ---------------------------------------------------------------------------- --draws

def _posterior(path: Path, rows: int = 30) -> Path:
    """A posterior sample in the format `calibrate` writes, spread over two parameters'
    priors (the draws' machinery, not a fit, is under test here)."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({name: [PARAMS[name].prior_dist.ppf(q) for q in rng.uniform(size=rows)]
                       for name in ("xianghe_firm_asc", "beta_permit_month")})
    df["weight"] = rng.uniform(size=rows)
    df["weight"] /= df["weight"].sum()
    df["distance"] = 1.0
    df.to_parquet(path, index=False)
    return path


def test_draws_are_fixed_by_the_seed_and_come_from_the_sample(tmp_path):
    path = _posterior(tmp_path / "p.parquet")
    a, b = estimation.posterior_draws(4, 1, path), estimation.posterior_draws(4, 1, path)
    assert a == b and a != estimation.posterior_draws(4, 2, path)
    sample = set(pd.read_parquet(path)["xianghe_firm_asc"])
    for vector in a:
        assert vector["xianghe_firm_asc"] in sample
        # the held parameters keep their declared values; every other comes from its prior
        held = set(estimation.screened()["held"])
        assert set(vector) == {p.name for p in estimation.uncertain()} - held
        lo, hi = PARAMS["firm_pool"].prior_dist.support
        assert lo <= vector["firm_pool"] <= hi


SMALL = ["--set", "talent_agents=3000", "--until", "2016"]


def test_run_over_draws_records_them_and_reproduces(tmp_path):
    path = str(_posterior(tmp_path / "p.parquet"))
    args = ["run", *SMALL, "--replicates", "2", "--draws", "2", "--posterior", path,
            "--json", "--quiet"]
    first, again = xianghe(*args), xianghe(*args)
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    assert doc["draws"] == 2 and len(doc["per_seed"]) == 4
    assert doc["runs"] == [{"draw": d, "seed": s} for d in (0, 1) for s in (1, 2)]
    assert first.stdout == again.stdout
    out = tmp_path / "out"
    run = xianghe(*args[:-2], "--out", str(out), "--quiet")
    assert run.returncode == 0, run.stderr
    annual = pd.read_parquet(out / "annual.parquet")
    assert sorted(annual.groupby(["draw", "seed"]).groups) == [(0, 1), (0, 2), (1, 1), (1, 2)]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["draws"] == 2 and len(manifest["draw_parameters"]) == 2


def test_draws_without_a_posterior_exit_2(tmp_path):
    for command in (["run"], ["compare", "baseline", "permits"]):
        run = xianghe(*command, *SMALL, "--draws", "2", "--posterior",
                      str(tmp_path / "none.parquet"), "--quiet")
        assert run.returncode == 2 and "no posterior" in run.stderr, run.stderr
        assert len(run.stderr.strip().splitlines()) == 1


def test_compare_pairs_a_and_b_on_the_same_draws_and_seeds(tmp_path):
    from runs.experiments import compare

    path = _posterior(tmp_path / "p.parquet")
    draws = estimation.posterior_draws(3, 1, path)
    base = {"talent_agents": 3000}
    result = compare(base, {**base, "permit_devolution": True,
                            "permit_devolution_start_year": 2015},
                     1, 2, 2017, progress=False, draws=draws)
    runs = result.runs
    pairs = [set(map(tuple, runs.loc[runs["side"] == side, ["draw", "seed"]].to_numpy()))
             for side in ("a", "b")]
    assert pairs[0] == pairs[1] == {(d, s) for d in range(3) for s in (1, 2)}
    effects = result.effects.set_index("indicator")
    assert {"sd_param", "sd_seed", "share_param"} <= set(effects.columns)
    assert (effects["interval_holds"] == "seeds and parameters").all()
    row = effects.loc["firms_relocated"]
    assert row["ci_low"] <= row["effect"] <= row["ci_high"]


def test_a_sweep_over_draws_runs_each_point_on_each_draw(tmp_path):
    from tests.helpers import GRID

    design = tmp_path / "d.toml"
    design.write_text(GRID)
    out = tmp_path / "sweep"
    run = xianghe("sweep", str(design), "--out", str(out), "--workers", "2", "--draws", "2",
                  "--posterior", str(_posterior(tmp_path / "p.parquet")), "--quiet")
    assert run.returncode == 0, run.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["draws"] == 2 and manifest["runs"] == 4 * 2 * 2
    from runs.store import read_results, schema

    results = read_results(out, schema(["talent_agents", "bus_lines", "bus_lines_start_year",
                                        "checkpoint_lanes", "checkpoint_lanes_start_year"],
                                       extra=["draw"]), "")
    assert sorted(results["draw"].unique()) == [0, 1]
    sens = xianghe("sensitivity", str(out), "--indicator", "bus_share", "--json")
    assert sens.returncode in (0, 2), sens.stderr     # a grid has no Sobol/Morris indices


def test_recovery_calibrates_to_figures_made_at_a_known_vector(tmp_path):
    posterior = _posterior(tmp_path / "p.parquet")
    table = estimation.recover(tmp_path / "rec", budget=12, seeds=1, population=3,
                               posterior=posterior, base=QUICK, progress=False)
    assert list(table["parameter"]) == estimation.estimated_names()
    truths = [estimation.posterior_draws(1, k, posterior)[0] for k in range(1, 21)]
    assert table.set_index("parameter")["true"].to_dict() in [
        {n: t[n] for n in estimation.estimated_names()} for t in truths]
    assert (table["q05"] <= table["median"]).all() and (table["median"] <= table["q95"]).all()
    synthetic = pd.read_csv(tmp_path / "rec" / "synthetic-figures.csv")
    assert set(synthetic["figure"]) == {m.key for m in estimation.moments()}
    assert (tmp_path / "rec" / "recovery.csv").exists()


def test_the_fit_report_is_made_from_its_runs(tmp_path):
    from calibration.fit_report import write_report

    cal = tmp_path / "cal"
    estimation.calibrate(budget=8, seeds=1, population=2, db=str(tmp_path / "h.db"),
                         out=cal, names=FEW, base=QUICK, progress=False)
    folder = write_report(cal, cal / "report", seeds=2, draws=2, progress=False)
    for name in ("report.md", "fit.csv", "checks.csv", "predictions.csv", "contraction.csv",
                 "posterior-predictive.png", "prior-posterior.png", "runs.parquet"):
        assert (folder / name).exists(), name
    fit = pd.read_csv(folder / "fit.csv")
    runs = pd.read_parquet(folder / "runs.parquet")
    for row in fit.itertuples():
        first, _, last = str(row.period).partition("-")       # "2020" or "2019-2020"
        years = range(int(first), int(last or first) + 1)
        at = runs[runs["year"].isin(years)]
        # A run's figure: the period's sum, none where a year of it has no value.
        per_run = at.groupby(["point", "seed"])[row.indicator].sum(min_count=len(years))
        point = per_run.xs(-1, level="point").dropna()
        assert row.point_mean == pytest.approx(point.mean(), nan_ok=True)
        assert row.point_in_band == (row.low <= point.mean() <= row.high)
        per_draw = per_run[per_run.index.get_level_values("point") >= 0].groupby(
            level="point").mean()
        assert row.posterior_mean == pytest.approx(per_draw.mean(), nan_ok=True)
        # a figure reported as a lower bound ("80+") is the range from its value up
        assert row.observed_is_lower_bound == (row.observed == row.low)
        assert row.observed_in_predictive_90 == (
            per_draw.quantile(0.95) >= row.observed if row.observed_is_lower_bound else
            per_draw.quantile(0.05) <= row.observed <= per_draw.quantile(0.95))
    from calibration.fit_report import DRAW_SEEDS
    assert runs[runs["point"] >= 0].groupby("point")["seed"].nunique().eq(DRAW_SEEDS).all()
    checks = pd.read_csv(folder / "checks.csv")
    assert len(checks) == 4 and checks["passed"].dtype == bool
    shrink = pd.read_csv(folder / "contraction.csv").set_index("parameter")
    assert set(shrink.index) == {p.name for p in estimation.uncertain()}
    assert (shrink.loc[~shrink["estimated"], "contraction"] == 0).all()
    predictions = pd.read_csv(folder / "predictions.csv")
    assert not set(predictions["indicator"]) & {m.target.indicator for m in estimation.moments()
                                                if m.target.year == 2020}
    text = (folder / "report.md").read_text()
    assert "Fit report" in text
    from calibration.fit_report import effective_sample_size
    ess = effective_sample_size(pd.read_parquet(cal / "posterior.parquet")["weight"])
    assert f"effective sample size {ess:.1f}" in text


def test_refining_goes_on_from_the_last_refined_point(tmp_path):
    out = tmp_path / "cal"
    estimation.calibrate(budget=8, seeds=1, population=2, db=str(tmp_path / "h.db"),
                         out=out, names=FEW, base=QUICK, progress=False)
    closest = pd.read_parquet(out / "posterior.parquet")["distance"].min()
    first, d1 = estimation.refine_point(out, runs=8, seeds=[1], progress=False)
    assert set(first) == set(FEW) and d1 <= closest
    doc = tomllib.loads((out / "calibrated.toml").read_text())
    assert doc["values"] == pytest.approx(first)
    # the budget holds without a progress bar too (a disabled bar counted no runs)
    made = doc["provenance"]["refine_runs"]
    assert doc["provenance"]["refine_seeds"] == [1] and 1 <= made <= 8 + 2
    again, d2 = estimation.refine_point(out, runs=4, progress=False)   # the same seeds
    assert d2 <= d1
    doc = tomllib.loads((out / "calibrated.toml").read_text())
    assert doc["provenance"]["refine_seeds"] == [1]
    assert made < doc["provenance"]["refine_runs"] <= made + 4 + 2 or doc["provenance"][
        "refine_step"] <= 0.25 / 16
    # the calibration's own provenance is kept beside the refinement's
    calibration = estimation.calibration_info(out)
    assert doc["provenance"]["simulations"] == calibration["simulations"]
    assert doc["provenance"]["calibration_git_revision"] == calibration["git_revision"]
    assert doc["provenance"]["refine_from_calibration"] == calibration["git_revision"]


def test_the_screening_places_every_uncertain_parameter():
    """The committed screening, read back through the rule that placed it."""
    df = pd.read_csv(estimation.SCREENING_FILE)
    assert set(df["parameter"]) == {p.name for p in estimation.uncertain()}
    again = estimation.classify(df.drop(columns=["fit"]))
    assert list(again["fit"]) == list(df["fit"])
    keys = [m.key for m in estimation.moments()]
    largest = df[keys].max(axis=1)
    assert (largest[df["fit"] == "prior"] < estimation.SCREEN_THRESHOLD).all()
    assert (largest[df["fit"] == "held"] >= estimation.SCREEN_THRESHOLD).all()
    levers = df["parameter"].isin(estimation.LEVER_STRENGTHS)
    assert (df.loc[levers, "fit"] == "lever").all() and levers.sum() == 5
    for key in keys:     # the two that move each figure most are estimated, levers aside
        assert set(df[~levers].nlargest(estimation.TOP_PER_FIGURE, key)["parameter"]) <= set(
            df.loc[df["fit"] == "estimated", "parameter"])
    # a parameter no figure depends on before 2022 is beyond their reach
    assert df.set_index("parameter").loc["mode_cost_yuan", "fit"] == "prior"


def test_the_fit_checks_fail_on_what_the_posterior_issue_asks():
    """Half the particles effective, half the draws in band and the observed value inside
    the draws' 90 % interval for every target, the point in band: each check fails alone,
    naming the target."""
    from calibration.fit_report import fit_checks

    good = pd.DataFrame({"indicator": ["firms_relocated", "checkpoint_peak_delay_min"],
                         "period": ["2020", "2020"], "share_of_draws_in_band": [0.5, 0.9],
                         "observed_in_predictive_90": [True, True],
                         "point_in_band": [True, True]})
    assert fit_checks(good, 100.0, 200)["passed"].all()
    assert not fit_checks(good, 99.9, 200)["passed"][0]
    for column, value in (("share_of_draws_in_band", 0.45), ("observed_in_predictive_90", False),
                          ("point_in_band", False)):
        bad = good.copy()
        bad.loc[1, column] = value
        checks = fit_checks(bad, 150.0, 200)
        assert checks["passed"].sum() == 3
        assert "checkpoint_peak_delay_min 2020" in checks.loc[~checks["passed"], "detail"].item()
        assert "firms_relocated" not in checks.loc[~checks["passed"], "detail"].item()


def test_a_sample_from_chains_passes_only_when_they_converged():
    """Chains add the R-hat check: it fails above 1.1, and where the sampler recorded no
    R-hat; a sample of independent draws has no such row."""
    from calibration.fit_report import MAX_RHAT, fit_checks

    good = pd.DataFrame({"indicator": ["firms_relocated"], "period": ["2020"],
                         "share_of_draws_in_band": [0.9], "observed_in_predictive_90": [True],
                         "point_in_band": [True]})
    assert len(fit_checks(good, 150.0, 200)) == 4
    chains = {"chains": 16, "rhat_max": MAX_RHAT, "rhat_max_parameter": "beta_cost"}
    assert fit_checks(good, 150.0, 200, chains)["passed"].all()
    for bad in ({**chains, "rhat_max": 1.3}, {"chains": 16}):
        checks = fit_checks(good, 150.0, 200, bad)
        assert len(checks) == 5 and checks["passed"].sum() == 4
        assert "R-hat" in checks.loc[~checks["passed"], "check"].item()
    assert "beta_cost" in fit_checks(good, 150.0, 200, {**chains, "rhat_max": 2.0}).loc[1, "detail"]
