"""The new stage: new investment projects besides the relocating Beijing firms, the
neighbouring counties as regions with their own land, and the regional measures.

Comparisons run the same seeds with and without a measure (common random numbers), so a
difference is the measure's effect; the levers start in 2022, and the signings of
2022-2025 are summed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model import XiangheModel
from model.enterprises import Origin, State
from runs.experiments import run_scenario
from runs.scenario import load

SEEDS = range(1, 6)
UNTIL = 2025
SUBSIDY = {"investment_subsidy_rate": 0.1, "investment_subsidy_rate_start_year": 2022}


def _params(*scenarios: str, **extra) -> dict:
    values: dict = {}
    for name in scenarios:
        values.update(load(name).params)
    return {**values, **extra}


def _signed(params: dict, seeds: range = SEEDS, until: int = UNTIL) -> pd.DataFrame:
    """Per seed: the projects signed in 2022 to ``until`` (summed) with Xianghe, its
    neighbours and the four counties together."""
    annual = run_scenario(params, seeds.start, len(seeds), until, progress=False).annual
    after = annual[annual["year"] >= 2022]
    return after.groupby("seed")[["firms_signed", "neighbours_projects_signed",
                                  "area_projects_signed", "new_projects_signed"]].sum()


# --- new investment projects ------------------------------------------------------------

def test_without_new_projects_the_model_is_the_relocation_only_model():
    """At a rate of 0 no project arrives: every agent is an exposed Beijing firm, nothing
    is signed by a new project, and the other arrival parameters change nothing at all."""
    none = {"new_projects_per_year": 0.0}
    m = XiangheModel(none, seed=4)
    m.run_until_year(2022)
    assert m.firms.state.size == m.n_exposed
    assert (m.firms.origin == Origin.RELOCATION).all()
    annual = m.annual()
    assert (annual["new_projects_signed"] == 0).all()
    assert (annual["new_projects_operating"] == 0).all()
    assert (annual["firms_signed"] == annual["relocations_signed"]).all()
    other = XiangheModel({**none, "new_project_size": 3.0, "new_projects_growth": 0.08,
                          "new_project_beijing_share": 0.5, "elsewhere_ties_share": 0.6},
                         seed=4)
    other.run_until_year(2022)
    pd.testing.assert_frame_equal(annual, other.annual())


def test_new_projects_leave_the_exposed_firms_random_numbers_alone():
    """The exposed firms draw from their own stream: in the first quarter, before the new
    projects can have changed anything they weigh, the same Beijing firms decide to move
    and choose the same counties whatever the number of new projects (whether a signed firm
    already has its land may differ: the new projects compete for the same quota)."""
    runs = []
    for rate in (0.0, 2000.0):
        m = XiangheModel({"new_projects_per_year": rate}, seed=2)
        m.step()
        f = m.firms
        runs.append((f.state[:m.n_exposed] != State.IN_BEIJING, f.region[:m.n_exposed].copy(),
                     int((f.origin != Origin.RELOCATION).sum())))
    assert runs[0][2] == 0 and runs[1][2] > 0
    assert np.array_equal(runs[0][0], runs[1][0]) and np.array_equal(runs[0][1], runs[1][1])


def test_new_projects_choose_among_the_counties_and_elsewhere_never_beijing():
    m = XiangheModel({"new_projects_per_year": 2000.0}, seed=3)
    m.run_until_year(2016)
    f, w = m.firms, m.world
    new = f.origin != Origin.RELOCATION
    assert new.any()
    chosen = f.region[new & (f.state != State.PROSPECT)]
    assert w.firm_destination[chosen].all()
    # the new projects kept are those of the four counties (the others are forgotten once
    # the quarter they chose in is over)
    earlier = new & (f.sign_month < 3.0 * (m.steps - 1))
    assert earlier.any() and w.area[f.region[earlier]].all()


# --- the neighbours' land -----------------------------------------------------------------

def test_a_countys_land_price_follows_its_neighbours_with_competition():
    """With no weight on its neighbours Xianghe asks its anchor; with weight it moves
    towards Sanhe's and Dachang's prices (above its anchor here), never Tongzhou's."""
    prices = {}
    for competition in (0.0, 0.6):
        m = XiangheModel({"land_price_competition": competition,
                          "xianghe_land_price_yuan_m2": 500.0}, seed=1)
        m.step()
        prices[competition] = m.lands[m.world.focus].asking
    assert prices[0.0] == pytest.approx(500.0)
    assert 500.0 < prices[0.6] < 817.0


def test_land_is_accounted_in_every_receiving_county_and_never_past_its_cap():
    m = XiangheModel({"new_projects_per_year": 2000.0}, seed=5)
    m.run_until_year(2024)
    w = m.world
    assert set(m.lands) == set(np.flatnonzero(w.area).tolist())
    for region, land in m.lands.items():
        assert land.used_m2 <= land.cap_m2 + 1e-6
        landed = (m.firms.region == region) & np.isin(
            m.firms.state, [State.PERMITS, State.BUILDING, State.PRODUCING])
        assert landed.any(), w.region_names[region]


# --- the regional measures ----------------------------------------------------------------

def test_neighbours_matching_shrinks_xianghes_extra_signings_from_its_subsidy():
    """Head, Ries & Swenson (1999): a promotion the neighbours copy largely cancels out.
    Xianghe's extra signings from a 10 % subsidy, paired seed by seed, are fewer when its
    neighbours match it a year later."""
    alone = _signed(_params(**SUBSIDY)) - _signed(_params())
    matched = (_signed(_params("neighbours-match", **SUBSIDY))
               - _signed(_params("neighbours-match")))
    assert (alone["firms_signed"] > 0).all()
    assert (matched["firms_signed"] < alone["firms_signed"]).all(), (alone, matched)
    # On average over the seeds (the land race makes single pairs noisy): alone, Xianghe
    # takes projects from its neighbours; matched, they attract more rather than lose.
    assert alone["neighbours_projects_signed"].mean() < 0
    assert matched["neighbours_projects_signed"].mean() > 0


def test_matching_without_a_new_measure_changes_nothing():
    """The neighbours copy what Xianghe does beyond the measures of 2014-2021: with no new
    measure there is nothing to copy."""
    base = _signed(_params(), seeds=range(1, 3))
    match = _signed(_params("neighbours-match"), seeds=range(1, 3))
    pd.testing.assert_frame_equal(base, match)


def test_regional_coordination_changes_the_split_as_defined():
    """The four attract jointly: the area signs more against elsewhere (its joint
    promotion); all four offer Xianghe's subsidy, so a subsidy no longer diverts projects
    from the neighbours to Xianghe (no subsidy race): its share of the area's signings
    rises with the subsidy alone, and hardly under coordination."""
    base, coord = _signed(_params()), _signed(_params("coordination"))
    assert (coord["area_projects_signed"] > base["area_projects_signed"]).all()
    sub, coord_sub = _signed(_params(**SUBSIDY)), _signed(_params("coordination", **SUBSIDY))

    def share(df):
        return df["firms_signed"] / df["area_projects_signed"]

    race = share(sub) - share(base)
    joint = share(coord_sub) - share(coord)
    assert (race > 0).all()
    assert (joint.abs() < race).all(), (race, joint)
    assert (coord_sub["neighbours_projects_signed"]
            >= coord["neighbours_projects_signed"]).all()


def test_a_shared_quota_lands_projects_that_would_wait():
    """The shared quota alone (no joint promotion, no measure to share): fewer projects
    in the four counties are blocked for lack of land."""
    def blocked(params):
        out = []
        for seed in range(1, 4):
            m = XiangheModel({"new_projects_per_year": 1500.0, **params}, seed=seed)
            m.run_until_year(2026)
            f = m.firms
            out.append(int((np.isin(f.region, list(m.lands))
                            & (f.state == State.BLOCKED)).sum()))
        return np.array(out)

    alone = blocked({})
    shared = blocked({"regional_coordination": True, "regional_coordination_start_year": 2022,
                      "coordination_area_bonus": 0.0})
    assert (shared < alone).all(), (alone, shared)


def test_a_new_project_draws_the_same_numbers_whatever_the_levers():
    """Common random numbers for the new projects too: a project (its arrival number) gets
    the same random numbers in two scenarios even after the scenarios have kept different
    numbers of projects (those settling elsewhere are dropped)."""
    runs = []
    for scenario in ("baseline", "subsidies"):
        m = XiangheModel({**load(scenario).params, "talent_agents": 5000}, seed=1)
        m.run_until_year(2025)
        f = m.firms
        kept = f.serial[m.n_exposed:]
        runs.append((m, dict(zip(kept.tolist(), m.last_draws.choice[m.n_exposed:]))))
    (a, draws_a), (b, draws_b) = runs
    assert a.projects_arrived == b.projects_arrived          # arrivals do not see levers
    assert (a.firms.state.size != b.firms.state.size)         # kept different projects
    both = sorted(set(draws_a) & set(draws_b))
    assert len(both) > 10
    assert [draws_a[k] for k in both] == [draws_b[k] for k in both]
