"""Properties that hold for any valid parameter set (hypothesis draws whole parameter sets)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model import PARAMS, XiangheModel
from model.enterprises import State
from model.merchants import MerchantState
from model.indicators import EVENT_COLUMNS, NULLABLE
from model.params import FIRST_YEAR, LEVERS, Integer, StartYear, Switch

# Scale and shares are drawn separately: shares of one whole must add up to at most one.
SHARES = ("high_skill_share", "staff_high_skill_share", "skilled_share",
          *(f"{kind}_weight_{who}" for kind in ("education", "health")
            for who in ("no_children", "children")))
FREE = [p for p in PARAMS.values()
        if p.name not in ("talent_agents", *SHARES) and not isinstance(p, StartYear)]


def _value(p):
    if isinstance(p, Switch):
        return st.booleans()
    if isinstance(p, Integer):
        return st.integers(int(p.low), int(min(p.high, p.low + 1_000)))
    return st.floats(p.low, p.high, allow_nan=False)


@st.composite
def parameter_sets(draw):
    values = {p.name: draw(_value(p)) for p in FREE}
    values["skilled_share"] = draw(st.floats(0.0, 0.6))
    values["high_skill_share"] = draw(st.floats(0.0, 1.0 - values["skilled_share"]))
    values["staff_high_skill_share"] = draw(st.floats(0.0, 1.0 - values["skilled_share"]))
    for who in ("no_children", "children"):
        values[f"education_weight_{who}"] = draw(st.floats(0.0, 1.0))
        values[f"health_weight_{who}"] = draw(
            st.floats(0.0, max(0.0, 1.0 - values[f"education_weight_{who}"] - 1e-12)))
    values["talent_agents"] = draw(st.integers(200, 3_000))
    values["entry_permit_days"] = draw(
        st.integers(1, 366 // max(1, values["entry_permits_per_year"])))
    for lever in LEVERS:    # within the four years run, so every lever can act
        values[PARAMS[lever].start_year] = draw(st.integers(FIRST_YEAR, FIRST_YEAR + 4))
    return values


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(parameter_sets(), st.integers(0, 2**32 - 1))
def test_any_valid_parameter_set_keeps_the_invariants(params, seed):
    m = XiangheModel(params, seed=seed)
    for _ in range(4 * 4):
        m.step()
        f, t, w = m.firms, m.talent, m.world
        assert np.isin(f.state, [s.value for s in State]).all()
        assert ((f.region == -1) == (f.state == State.IN_BEIJING)).all()
        assert np.isin(m.merchants.state, [s.value for s in MerchantState]).all()
        assert w.talent[t.home].all() and w.talent[t.job].all()
        for land in m.lands.values():
            assert land.used_m2 <= land.cap_m2 + 1e-6
            assert land.premium >= 1.0 and land.price > 0.0
        assert ((m.services >= 0) & (m.services <= 1)).all()
        values = np.array([v for k, v in m.quarter_values.items() if k not in NULLABLE],
                          dtype=float)
        assert np.isfinite(values).all()
    annual = m.annual().drop(columns=["year", *NULLABLE, *EVENT_COLUMNS]).to_numpy(dtype=float)
    assert np.isfinite(annual).all()
