"""The coverage check on synthetic data (`xianghe calibrate --coverage`): its estimator is
calibrated where the answer is known, it sees intervals that are too narrow, and the
command runs the real model, resumes and refuses bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from calibration.coverage import assess, regression_abc, weighted_quantiles

ROOT = Path(__file__).resolve().parents[1]


def _linear_gaussian(n: int, rng, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Three parameters with standard normal priors; four figures, linear in them plus
    Gaussian noise; the third parameter moves no figure."""
    a = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.0], [0.8, -0.6, 0.0], [0.3, 0.0, 0.0]])
    z = rng.standard_normal((n, 3))
    return z, z @ a.T + noise * rng.standard_normal((n, 4))


def test_the_estimator_covers_where_the_posterior_is_known():
    rng = np.random.default_rng(5)
    z_ref, s_ref = _linear_gaussian(4000, rng, 0.5)
    z_true, s_data = _linear_gaussian(300, rng, 0.5)
    table, ranks = assess(["a", "b", "inert"], z_ref, s_ref, z_true, s_data, accept=0.05)
    assert table["coverage"].between(0.83, 0.96).all(), table
    assert (table["rank_ks_p"] > 0.001).all(), table
    # The figures inform a and b, not the inert one, whose interval stays the prior's.
    width = table.set_index("parameter")["width_vs_prior"]
    assert width["a"] < 0.6 and width["b"] < 0.6 and width["inert"] > 0.85
    r = ranks[["a", "b", "inert"]].to_numpy()
    assert len(ranks) == 300 and ((r >= 0) & (r <= 1)).all()


def test_the_check_sees_intervals_that_are_too_narrow():
    """Reference runs without the noise the data carry: the posterior is over-confident,
    and the check must say so (coverage under 80 %, a rank histogram far from uniform)."""
    rng = np.random.default_rng(6)
    z_ref, s_ref = _linear_gaussian(4000, rng, 0.02)
    z_true, s_data = _linear_gaussian(300, rng, 0.8)
    table, _ = assess(["a", "b", "inert"], z_ref, s_ref, z_true, s_data, accept=0.01)
    informed = table[table["parameter"] != "inert"]
    assert (informed["verdict"] == "under-covers").all(), table
    assert (informed["rank_ks_p"] < 0.01).all(), table


def test_regression_adjustment_and_weighted_quantiles():
    # With figures exactly linear in the parameter, the adjustment puts every kept point
    # on the truth.
    z = np.linspace(-2, 2, 101)[:, None]
    s = 3.0 * z
    adjusted, w = regression_abc(z, s, np.array([1.5]), 21, np.ones(1))
    assert np.allclose(adjusted, 0.5) and w.min() >= 0 and w.max() <= 1
    x = np.arange(1.0, 101.0)
    assert weighted_quantiles(x, np.ones(100), [0.5])[0] == pytest.approx(50.5)
    assert weighted_quantiles(x, np.where(x > 50, 1.0, 0.0), [0.5])[0] > 70


def _xianghe(*args):
    return subprocess.run([sys.executable, "-m", "runs.cli", *args], cwd=ROOT, check=False,
                          capture_output=True, text=True, timeout=600)


def test_the_command_runs_resumes_and_refuses_other_settings(tmp_path):
    out = tmp_path / "coverage"
    small = ("calibrate", "--coverage", "--budget", "30", "--datasets", "4", "--seeds", "1",
             "--workers", "1", "--set", "talent_agents=2000", "--quiet", "--out", str(out))
    done = _xianghe(*small)
    assert done.returncode == 0, done.stderr
    assert "under-cover" in done.stdout or "every parameter" in done.stdout
    table = pd.read_csv(out / "coverage.csv")
    assert len(table) == len(json.loads((out / "settings.json").read_text())["names"]) > 10
    assert table["coverage"].between(0, 1).all()
    assert (out / "coverage.png").stat().st_size > 10_000
    tolerances = pd.read_csv(out / "tolerances.csv")
    assert list(tolerances["accept"]) == [0.02, 0.05, 0.1, 0.2, 0.5]
    assert tolerances["mean_coverage"].between(0, 1).all() and "nearest 20%" in done.stdout
    parts = sorted(p.name for p in (out / "reference" / "results").glob("part-*.parquet"))
    # The same command again finds every run done and runs none.
    again = _xianghe(*small)
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in (out / "reference" / "results").glob("part-*.parquet")) \
        == parts
    pd.testing.assert_frame_equal(pd.read_csv(out / "coverage.csv").drop(columns="seconds"),
                                  table.drop(columns="seconds"))
    other = _xianghe(*[a if a != "4" else "5" for a in small])
    assert other.returncode == 2
    assert other.stderr.strip().count("\n") == 0 and "datasets" in other.stderr


@pytest.mark.parametrize("args, field", [(("--datasets", "1"), "--datasets"),
                                         (("--budget", "0"), "--budget"),
                                         (("--datasets", "5", "--method", "abc-smc"),
                                          "--method")])
def test_bad_input_is_one_line(tmp_path, args, field):
    out = tmp_path / "c"
    done = _xianghe("calibrate", "--coverage", *args, "--out", str(out))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and field in done.stderr
    assert not out.exists()
