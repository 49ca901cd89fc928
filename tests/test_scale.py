"""The calibration targets do not depend on the number of talent agents, from the scale
the estimation runs at (``ESTIMATION_SCALE``) up to the default: the fit may run there.

Each target's mean over the same 30 seeds at the two scales must agree within 3.5
standard errors of their difference (Welch), and a figure with no seed noise exactly.
benchmarks/scale_invariance.py prints the table at more scales and seeds.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from calibration.estimation import ESTIMATION_SCALE, moments, target_years
from model.params import FULL_SCALE_TALENT
from runs.engine import RunTask, run_all

SEEDS = range(601, 631)


def _targets(scale: int) -> dict[str, np.ndarray]:
    ms = moments()
    tasks = [RunTask(k, 0, s, {"talent_agents": scale}, {}, target_years(ms))
             for k, s in enumerate(SEEDS)]
    df = pd.DataFrame(run_all(tasks, workers=2, progress=False))
    return {m.key: m.target.by_run(df, ["seed"]).dropna().to_numpy(float) for m in ms}


@pytest.mark.slow
def test_the_targets_are_the_same_at_the_estimation_scale_as_at_the_default():
    small, full = _targets(ESTIMATION_SCALE["talent_agents"]), _targets(FULL_SCALE_TALENT)
    apart = {}
    for key, x in full.items():
        y = small[key]
        assert len(x) >= 25 and len(y) >= 25, key     # a figure most seeds give
        se = math.sqrt(x.var(ddof=1) / len(x) + y.var(ddof=1) / len(y))
        gap = abs(y.mean() - x.mean())
        if (se == 0 and gap > 1e-9 * abs(x.mean())) or (se > 0 and gap > 3.5 * se):
            apart[key] = (x.mean(), y.mean(), se)
    assert not apart, apart


def test_firms_are_whole_agents_at_any_scale():
    """A firm signs, takes land and produces whole, a merchant trades whole: their agents
    are the firm pool and the markets' merchants whatever the number of talent agents
    (which carry the workforce in proportion)."""
    from model import XiangheModel

    for scale in (3_000, FULL_SCALE_TALENT):
        m = XiangheModel({"talent_agents": scale, "firm_pool": 1234}, seed=1)
        assert m.n_exposed == 1234 and m.firms.weight == 1.0
        assert m.merchants.weight == 1.0
        assert m.merchants.market.size == m.world.market_merchants.sum()
        assert m.talent.home.size == scale
