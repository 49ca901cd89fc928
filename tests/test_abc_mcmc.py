"""ABC-MCMC's chains: they sample the prior restricted to the figures' bands, and their
effective sample size is read from their autocorrelation."""

import numpy as np
import pytest

from calibration import abc_mcmc
from calibration.history_matching import Problem


def test_the_effective_sample_size_of_independent_and_of_sticky_chains():
    rng = np.random.default_rng(0)
    iid = rng.standard_normal((8, 500))
    assert abc_mcmc.effective_sample_size(iid) == pytest.approx(4000, rel=0.15)
    phi, x = 0.9, np.zeros((8, 2000))
    for t in range(1, 2000):
        x[:, t] = phi * x[:, t - 1] + rng.standard_normal(8)
    expected = 8 * 2000 * (1 - phi) / (1 + phi)       # AR(1): n (1 - phi) / (1 + phi)
    assert abc_mcmc.effective_sample_size(x) == pytest.approx(expected, rel=0.3)


class _Moment:
    def __init__(self, key):
        self.key = key


def test_the_chains_sample_the_prior_inside_the_bands(monkeypatch, tmp_path):
    """A figure that is 3 z_0 half-bands from its centre: in band where |z_0| <= 1/3. The
    chains must give z_0 the standard normal truncated there and leave z_1 a standard
    normal; runs are replaced by that formula (the sampler, not the model, is tested)."""
    calls = []

    def figures_at(folder, z, problem, backend, bar=None):
        calls.append(len(z))
        return np.column_stack([3 * z[:, 0], np.zeros(len(z))])

    monkeypatch.setattr(abc_mcmc, "run_design", figures_at)
    problem = Problem(["a", "b"], {}, [1], {}, [_Moment("f"), _Moment("g")])
    problem.values = lambda z: {"a": float(z[0]), "b": float(z[1])}
    result, info = abc_mcmc.abc_mcmc(problem, tmp_path, None, start=np.array([0.0, 0.0]),
                                     budget=16_000, population=2_000, chains=40,
                                     progress=False)
    a, b = result.posterior["a"].to_numpy(), result.posterior["b"].to_numpy()
    assert np.all(np.abs(a) <= 1 / 3)
    from scipy import stats

    assert a.std() == pytest.approx(stats.truncnorm(-1 / 3, 1 / 3).std(), rel=0.1)
    assert b.std() == pytest.approx(1.0, rel=0.1) and abs(b.mean()) < 0.1
    assert sum(calls) <= 16_000                        # the budget bounds the runs
    assert 0.05 < info["acceptance_rate"] < 0.6        # tuned towards 0.1
    assert info["ess_min"] > 100
    # A start outside the bands is refused, not walked from.
    with pytest.raises(ValueError, match="does not put every figure in band"):
        abc_mcmc.abc_mcmc(problem, tmp_path / "other", None, start=np.array([1.0, 0.0]),
                          budget=100, population=10, chains=2, progress=False)


def test_split_rhat_tells_mixed_chains_from_stuck_ones():
    rng = np.random.default_rng(1)
    assert abc_mcmc.split_rhat(rng.standard_normal((8, 400))) == pytest.approx(1.0, abs=0.02)
    stuck = rng.standard_normal((8, 1)) + 0.01 * rng.standard_normal((8, 400))
    assert abc_mcmc.split_rhat(stuck) > 1.1


def test_delayed_acceptance_a_prior_block_and_several_starts(monkeypatch, tmp_path):
    """Two stages: on the first seeds a figure 3 z_0 half-bands out (in band where |z_0| <=
    1/3), on the mean over both stages' seeds 7 z_0: the chains must sample z_0 truncated
    to 1/7 and run the second stage only where the first accepts; z_1, in a block drawn from its
    prior every other step, stays a standard normal. Of three starts the one out of band is left out."""
    second_runs = []

    def figures_at(folder, z, problem, backend, bar=None):
        if problem.seeds == [2, 3]:
            second_runs.append(len(z))
            return np.column_stack([9 * z[:, 0] - z[:, 1] * 0, np.zeros(len(z))])
        return np.column_stack([3 * z[:, 0], np.zeros(len(z))])

    monkeypatch.setattr(abc_mcmc, "run_design", figures_at)
    problem = Problem(["a", "b"], {}, [1], {}, [_Moment("f"), _Moment("g")])
    problem.values = lambda z: {"a": float(z[0]), "b": float(z[1])}
    start = np.array([[0.0, 0.0], [2.0, 0.0], [0.1, 1.0]])
    result, info = abc_mcmc.abc_mcmc(problem, tmp_path, None, start=start, budget=16_000,
                                     population=2_000, chains=40, second=(2, 3),
                                     independent=(0, 1), progress=False)
    a, b = result.posterior["a"].to_numpy(), result.posterior["b"].to_numpy()
    from scipy import stats

    assert np.all(np.abs(a) <= 1 / 7)        # (1 * 3a + 2 * 9a) / 3 = 7a in band
    assert a.std() == pytest.approx(stats.truncnorm(-1 / 7, 1 / 7).std(), rel=0.1)
    assert b.std() == pytest.approx(1.0, rel=0.1) and abs(b.mean()) < 0.1
    assert info["starts"] == 3 and info["starts_in_band"] == 2
    assert info["redraw_acceptance"]["b"] > 0.9      # b moves no figure: every draw fits
    assert info["redraw_acceptance"]["a"] < 0.2
    assert sum(second_runs) < 16_000                 # only where the first stage accepted
    assert info["rhat"]["b"] < 1.05 and info["ess"]["b"] > 1000   # a fresh draw a step


def test_a_chain_resumed_with_a_larger_budget_moves_only_to_points_that_ran(monkeypatch,
                                                                          tmp_path):
    """A larger budget lengthens the burn-in, so the resumed chains adapt their kernel
    otherwise than the first run did: the steps already made must be read back, not made
    again from the new kernel, or a chain would move to a point that never ran."""
    ran = []

    def figures_at(folder, z, problem, backend, bar=None):
        ran.extend(map(tuple, z))
        return np.column_stack([3 * z[:, 0], np.zeros(len(z))])

    monkeypatch.setattr(abc_mcmc, "run_design", figures_at)
    problem = Problem(["a", "b"], {}, [1], {}, [_Moment("f"), _Moment("g")])
    problem.values = lambda z: {"a": float(z[0]), "b": float(z[1])}
    kw = dict(start=np.array([0.0, 0.0]), population=400, chains=8, progress=False)
    abc_mcmc.abc_mcmc(problem, tmp_path, None, budget=400, **kw)
    result, _ = abc_mcmc.abc_mcmc(problem, tmp_path, None, budget=800, **kw)
    points = set(ran) | {(0.0, 0.0)}
    kept = result.posterior[["a", "b"]].itertuples(index=False, name=None)
    assert all(p in points for p in kept)


def test_the_scale_does_not_shrink_where_the_figures_are_rough(monkeypatch, tmp_path):
    """Figures so rough that about 7 % of proposals fit whatever the step (a point's luck,
    not its distance): tuned to an acceptance of 0.1 the scale shrank without end; tuned
    to the furthest jumps it grows until the region's edge (|z| <= 2) bounds it."""
    def figures_at(folder, z, problem, backend, bar=None):
        luck = np.modf(np.abs(np.sin(z @ np.array([12.9898, 78.233])) * 43758.5453))[0]
        inside = np.all(np.abs(z) <= 2, axis=1) & ((luck < 0.07) | np.all(z == 0, axis=1))
        return np.where(inside, 0.0, 5.0)[:, None] * np.ones((1, 2))

    monkeypatch.setattr(abc_mcmc, "run_design", figures_at)
    problem = Problem(["a", "b"], {}, [1], {}, [_Moment("f"), _Moment("g")])
    problem.values = lambda z: {"a": float(z[0]), "b": float(z[1])}
    _, info = abc_mcmc.abc_mcmc(problem, tmp_path, None, start=np.array([0.0, 0.0]),
                                budget=6_000, population=200, chains=24, progress=False)
    assert info["proposal_scale"] > abc_mcmc.START_SD
    assert info["acceptance_walk"] < 0.1
