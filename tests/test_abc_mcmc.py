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
    assert 0.1 < info["acceptance_rate"] < 0.6
    assert info["ess_min"] > 100
    # A start outside the bands is refused, not walked from.
    with pytest.raises(ValueError, match="does not put every figure in band"):
        abc_mcmc.abc_mcmc(problem, tmp_path / "other", None, start=np.array([1.0, 0.0]),
                          budget=100, population=10, chains=2, progress=False)
