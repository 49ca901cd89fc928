"""Discrete choice: multinomial logit probabilities and draws, for many agents at once.

The location, merchant and home/job choices of the model are all logit choices
(Nguyen et al. 2013; UrbanSim's employment location choice). Everything here is a pure
function on arrays: rows are agents, columns alternatives.
"""

from __future__ import annotations

import numpy as np


def logit_probabilities(utility: np.ndarray, available: np.ndarray | None = None) -> np.ndarray:
    """Choice probabilities of a multinomial logit, row by row.

    Args:
        utility: (n, k) systematic utilities.
        available: optional (n, k) mask; unavailable alternatives get probability 0.
            Every row must have at least one available alternative.

    Returns:
        (n, k) probabilities; each row sums to one.
    """
    u = np.asarray(utility, dtype=float)
    if available is not None:
        u = np.where(available, u, -np.inf)
    u = u - u.max(axis=1, keepdims=True)
    e = np.exp(u)
    return e / e.sum(axis=1, keepdims=True)


def logsum(utility: np.ndarray, available: np.ndarray | None = None) -> np.ndarray:
    """Expected maximum utility of each row's choice (up to a constant common to all
    rows and situations): ``log(sum(exp(u)))`` over the available alternatives, the
    consumer surplus of a logit in utility units (Small & Rosen 1981)."""
    u = np.asarray(utility, dtype=float)
    if available is not None:
        u = np.where(available, u, -np.inf)
    top = u.max(axis=1)
    return top + np.log(np.exp(u - top[:, None]).sum(axis=1))


def draw(probabilities: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Alternative chosen by each row, by inverse CDF on one uniform number a row.

    Passing the uniforms in (rather than a generator) lets two runs that share a seed
    share their draws: common random numbers across policy variants.
    """
    cdf = np.cumsum(probabilities, axis=1)
    cdf[:, -1] = 1.0
    return (uniforms[:, None] >= cdf).sum(axis=1)


def hazard_probability(rate_per_year: np.ndarray | float, years: float = 0.25) -> np.ndarray:
    """Probability of an event within ``years`` for a constant yearly hazard rate."""
    return -np.expm1(-np.asarray(rate_per_year, dtype=float) * years)


def stochastic_round(x: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Round to an integer up or down at random, keeping the expectation."""
    floor = np.floor(x)
    return (floor + (uniforms < (x - floor))).astype(np.int64)
