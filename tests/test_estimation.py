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
