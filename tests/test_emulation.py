"""calibration/emulation.py: the emulators and their posterior on a figure whose mean is
known (y = 3 z0 half-bands plus the seeds' noise, so the band holds |z0| <= 1/3), the
noise measured from the seeds, and the method inside ``match`` (resumed after kill -9)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from calibration import emulation
from calibration.emulation import (
    Pair,
    fit,
    genealogy_ess,
    log_likelihood,
    log_posterior,
    pair_covariance,
    pair_in_band,
    rotate,
    sample,
    seed_noise,
)


def _emulators(noise_sd: float = 0.5, figures: int = 1):
    rng = np.random.default_rng(1)
    z = rng.standard_normal((300, 2))
    y = np.column_stack([3 * z[:, 0] + noise_sd * rng.standard_normal(300)
                         for _ in range(figures)])
    with ThreadPoolExecutor(2) as pool:
        return fit(z, y, np.full_like(y, noise_sd ** 2), pool)


def test_the_emulator_learns_the_mean_and_leaves_the_seeds_noise_out_of_its_variance():
    em = _emulators()
    grid = np.column_stack([np.linspace(-1, 1, 21), np.zeros(21)])
    mean, var = em.predict(grid)
    assert np.abs(mean[:, 0] - 3 * grid[:, 0]).max() < 0.3
    assert var.max() < 0.25 ** 2          # the mean's uncertainty, far below the noise's


def test_a_failed_run_is_emulated_as_far_out_not_dropped_into_the_band():
    rng = np.random.default_rng(4)
    z = rng.standard_normal((200, 1))
    y = (3 * z).copy()
    y[z[:, 0] > 1.5] = np.nan             # the runs out there failed
    with ThreadPoolExecutor(1) as pool:
        em = fit(z, y, np.full_like(y, 0.01), pool)
    assert em.predict(np.array([[2.5]]))[0][0, 0] > 3


def test_its_posterior_puts_the_draws_where_the_mean_is_in_band():
    em = _emulators()
    noise = np.array([0.5 ** 2 / emulation.JUDGED_SEEDS])
    inside, outside = np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]])
    assert log_posterior(em, inside, noise)[0] > log_posterior(em, outside, noise)[0] + 5
    with ThreadPoolExecutor(2) as pool:
        draws, diag = sample(em, noise, 400, [3], pool, islands=2, particles=500)
    assert draws.shape == (400, 2)
    assert np.mean(np.abs(draws[:, 0]) <= 1 / 3 + 0.1) > 0.9
    assert np.std(draws[:, 1]) > 0.7       # the parameter the figure ignores keeps its prior
    assert min(diag["ess"]) > 100 and diag["particles"] == 1000
    assert 0.1 < diag["acceptance"] < 0.5
    # the islands' random states are their own: the same draws without workers
    again, _ = sample(em, noise, 400, [3], None, islands=2, particles=500)
    assert np.array_equal(again, draws)


def test_the_effective_size_counts_families_not_particles():
    """Copies of a few ancestors are worth a few draws, however many particles they fill;
    independent particles are worth their number."""
    rng = np.random.default_rng(5)
    free = rng.standard_normal((2000, 3))
    assert genealogy_ess(free, np.arange(2000)) == pytest.approx([2000] * 3, rel=0.1)
    ten = np.repeat(rng.standard_normal((10, 3)), 200, axis=0)
    assert genealogy_ess(ten, np.repeat(np.arange(10), 200)).max() < 20


def test_a_mean_over_five_seeds_is_judged_with_its_noise():
    """The posterior weighs a point by the chance that a five-seed mean of its figure lies
    in band: a point whose mean sits on the band's edge counts half as much as one at the
    centre, and a noisier figure spreads the draws further (its edge is softer)."""
    em = _emulators()
    noise = np.array([0.2 ** 2])
    edge, centre = np.array([[1 / 3, 0.0]]), np.array([[0.0, 0.0]])
    drop = log_posterior(em, centre, noise)[0] - log_posterior(em, edge, noise)[0]
    assert drop == pytest.approx(np.log(2) + 0.5 / 9, abs=0.15)
    quiet, _ = sample(em, np.array([0.0]), 400, [3], islands=1, particles=800)
    noisy, _ = sample(em, np.array([0.5]), 400, [3], islands=1, particles=800)
    assert np.std(noisy[:, 0]) > np.std(quiet[:, 0])


@pytest.mark.parametrize("m1, v1, me, ve, cov, ratio", [
    (0.0, 0.4, 0.0, 0.1, 0.0, 1.0), (-0.9, 0.6, 1.2, 0.2, 0.15, 5 / 6),
    (2.5, 0.05, -2.0, 0.3, -0.05, 1.3), (0.3, 1e-4, 0.4, 0.05, 0.0, 0.8)])
def test_a_pairs_chance_of_both_bands_is_the_bivariate_normals(m1, v1, me, ve, cov, ratio):
    """Both figures in band, |first| <= 1 and |second| <= 1 where second = (first +
    excess) / ratio, by the quadrature against a million bivariate normal draws; a nearly
    certain first (the last case) as well as a spread one."""
    rng = np.random.default_rng(7)
    draws = rng.multivariate_normal([m1, me], [[v1, cov], [cov, ve]], 1_000_000)
    second = (draws[:, 0] + draws[:, 1]) / ratio
    expected = np.mean((np.abs(draws[:, 0]) <= 1) & (np.abs(second) <= 1))
    got = pair_in_band(np.array([m1]), np.array([v1]), np.array([me]), np.array([ve]),
                       cov, ratio)[0]
    assert got == pytest.approx(expected, abs=2e-3)


def test_a_pair_is_emulated_as_its_first_and_the_excess_and_judged_together():
    """The second figure's column holds ratio * second - first; the emulators give the
    figure back, and the likelihood takes the pair's probability, not the product."""
    runs = np.arange(24.0).reshape(2, 3, 4)
    pair = Pair(1, 3, 0.5)
    turned = rotate(runs, [pair])
    assert np.array_equal(turned[..., 3], 0.5 * runs[..., 3] - runs[..., 1])
    assert np.array_equal(turned[..., [0, 1, 2]], runs[..., [0, 1, 2]])
    em = _emulators(figures=2)
    em.pairs = [Pair(0, 1, 2.0, 0.01)]
    z = np.array([[0.1, 0.0], [0.3, 0.5]])
    mean, var = em.predict(z)
    back, back_var = em.figures(z)
    assert back[:, 1] == pytest.approx((mean[:, 0] + mean[:, 1]) / 2)
    assert back_var[:, 1] == pytest.approx((var[:, 0] + var[:, 1]) / 4)
    noise = np.array([0.04, 0.02])
    both = pair_in_band(mean[:, 0], var[:, 0] + 0.04, mean[:, 1], var[:, 1] + 0.02, 0.01, 2.0)
    assert log_likelihood(em, z, noise) == pytest.approx(np.log(both))


def test_a_pairs_noise_covariance_is_pooled_over_the_points_seeds():
    """Seeds that move the first and the excess together by a known covariance, on
    points near every band, measured within a tenth."""
    rng = np.random.default_rng(3)
    cov = np.array([[0.5, -0.2], [-0.2, 0.3]])
    runs = [np.zeros((200, 4, 2)) for _ in range(2)]
    for wave in runs:
        wave[:] = rng.multivariate_normal([0, 0], cov, (200, 4)) + 0.2
        wave[:5, 0, 0] = np.nan                  # failed runs leave their point fewer seeds
    assert pair_covariance(runs, Pair(0, 1, 1.0)) == pytest.approx(-0.2, abs=0.02)
    assert pair_covariance([r[:, :1] for r in runs], Pair(0, 1, 1.0)) == 0.0


def test_the_seeds_noise_is_measured_where_the_figures_are_near():
    y = np.array([[0.5, 0.2]] * 20 + [[8.0, 9.0]] * 20)
    spread = np.array([[0.3, 0.1]] * 20 + [[50.0, 50.0]] * 20)
    assert seed_noise(y, spread) == pytest.approx([0.3, 0.1])
    # One seed a point measures nothing: the stated default, never NaN.
    nothing = seed_noise(y, np.full_like(y, np.nan))
    assert nothing == pytest.approx([emulation.UNMEASURED] * 2)
    # Far from every band, all points measure it.
    assert seed_noise(y[20:], spread[20:]) == pytest.approx([50.0, 50.0])


@pytest.mark.slow
def test_a_killed_emulation_resumes_to_the_same_posterior(tmp_path):
    from tests.test_history_matching import kill_and_resume

    kill_and_resume(tmp_path, "wave-2/results/part-*.parquet", 1, method="emulation")


def test_the_stock_gap_benchmark_reads_a_calibrations_waves(tmp_path, capsys):
    import sys

    from benchmarks import stock_gap
    from tests.test_history_matching import _match

    _match(tmp_path, method="emulation")
    z, y, fit_, keys, names, _problem = stock_gap.gaps([tmp_path / "work"])
    waves = sorted((tmp_path / "work").glob("wave-*"))
    assert len(z) == sum(len(np.load(w / "design.npy")) for w in waves)
    assert y.shape == (len(z), len(keys)) and z.shape[1] == len(names)
    others = [j for j, k in enumerate(keys) if k not in (stock_gap.RELOCATED,
                                                          stock_gap.PRODUCING)]
    assert (fit_ == np.all(np.abs(np.nan_to_num(y[:, others], nan=9)) <= 1, axis=1)).all()
    sys.argv = ["stock_gap.py", str(tmp_path / "work")]
    stock_gap.main()
    said = capsys.readouterr().out
    assert f"{len(z)} runs, {int(fit_.sum())} with every figure but the two stocks" in said
    assert ("gap relocated - producing" in said) == (fit_.sum() >= 2)
    assert ("left again" in said) == (fit_.sum() >= 2)
    # the firm stocks of 2020, a row a run in the order of the figures' rows
    stocks = stock_gap.stocks_2020(stock_gap.finished_waves([tmp_path / "work"], _problem))
    assert len(stocks) == len(z)
    held = stocks.dropna()
    assert (held["firms_operating"] + held["firms_left_again"]
            <= held["firms_relocated"] + 1e-9).all()


def test_priors_a_calibration_replaced_are_in_its_provenance_and_its_contraction(tmp_path):
    """A calibration with --priors records the priors it replaced, and the fit report's
    contraction measures the posterior against them, not the declared ones."""
    import pandas as pd

    from calibration.estimation import calibration_info
    from calibration.fit_report import calibration_priors, contraction
    from tests.test_history_matching import FEW, _match

    path = tmp_path / "priors.toml"
    path.write_text('[priors]\ncounty_land_quota_km2 = "uniform(1, 2)"\n')
    _match(tmp_path, method="emulation", priors=path)
    info = calibration_info(tmp_path / "cal")
    assert info["priors_replaced"] == {"county_land_quota_km2": "uniform(1, 2)"}
    priors = calibration_priors(info)
    posterior = pd.read_parquet(tmp_path / "cal" / "posterior.parquet")
    assert posterior["county_land_quota_km2"].between(1, 2).all()
    row = contraction(posterior, None, priors).set_index("parameter").loc[
        "county_land_quota_km2"]
    assert row["prior"] == "uniform(1, 2)"
    assert row["prior_sd"] == pytest.approx(1 / np.sqrt(12), rel=0.01)
    assert set(FEW) - {"county_land_quota_km2"} <= set(posterior.columns)
