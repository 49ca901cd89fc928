"""The pure functions where the mechanisms live, tested alone."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from model import commuting, enterprises
from model.choice import draw, logit_probabilities
from model.land import Land, LandParams, set_asking_prices, share_quota
from model.params import defaults


@given(arrays(float, st.tuples(st.integers(1, 30), st.integers(1, 12)),
              elements=st.floats(-300, 300)),
       st.data())
def test_choice_probabilities_sum_to_one(utility, data):
    mask = data.draw(arrays(bool, utility.shape))
    mask[:, data.draw(st.integers(0, utility.shape[1] - 1))] = True
    p = logit_probabilities(utility, mask)
    assert np.allclose(p.sum(axis=1), 1.0)
    assert (p[~mask] == 0).all() and (p >= 0).all()
    chosen = draw(p, np.random.default_rng(0).random(utility.shape[0]))
    assert mask[np.arange(len(chosen)), chosen].all()


def test_draws_follow_probabilities():
    p = np.tile([0.2, 0.5, 0.3], (200_000, 1))
    chosen = draw(p, np.random.default_rng(1).random(len(p)))
    assert np.allclose(np.bincount(chosen) / len(p), [0.2, 0.5, 0.3], atol=0.005)


# The premium's speed fixed here, whatever the calibration makes of it (its prior's middle).
LAND = LandParams.of({**defaults(), "land_price_adjustment": 0.015})
READY_M2 = LAND.space_fund_ready_m2
OVERLOAD = defaults()["queue_overload_cap"]
EDITIONS = (2014.5, 2015.5, 2018.75)


def test_erlang_c_reduces_to_mm1():
    lam, mu = 6.0, 10.0
    assert commuting.erlang_c_wait_hours(lam, 1, mu) == pytest.approx(lam / (mu * (mu - lam)))


def test_checkpoint_delay_rises_with_traffic_and_falls_with_lanes():
    base = commuting.checkpoint_delay_min(20_000, 3.0, 36, 170, OVERLOAD)
    assert commuting.checkpoint_delay_min(25_000, 3.0, 36, 170, OVERLOAD) > base
    assert commuting.checkpoint_delay_min(20_000, 3.0, 48, 170, OVERLOAD) < base
    assert commuting.checkpoint_delay_min(20_000, 3.0, 36, 170 * 0.55, OVERLOAD) > 2 * base


def test_permit_limit_applies_from_november_2019():
    assert commuting.permit_day_share(12, 7, 2019.5, 2019.75, 250.0) == 1.0
    # 12 permits of 7 calendar days: 84 days, of which 60 working days, out of 250.
    assert commuting.permit_day_share(12, 7, 2020.0, 2019.75, 250.0) == pytest.approx(60 / 250)
    assert commuting.permit_day_share(52, 7, 2020.0, 2019.75, 250.0) == 1.0


def test_catalogue_editions():
    assert enterprises.catalogue(2014.0, EDITIONS, (0.45, 0.78, 0.85))[0] == 0.0
    assert enterprises.catalogue(2014.75, EDITIONS, (0.45, 0.78, 0.85)) == (0.45, 0.25)
    assert enterprises.catalogue(2016.0, EDITIONS, (0.45, 0.78, 0.85))[0] == 0.78
    assert enterprises.catalogue(2019.0, EDITIONS, (0.45, 0.78, 0.85))[0] == 0.85


def test_land_is_granted_in_signing_order_and_never_past_the_cap():
    land = Land.create(area_km2=10, cap_share=0.3, used_km2=2.99, anchor=1000, idle_km2=0)
    land.supply(50_000, release_share=1.0, plan_approved=False, fund_yuan=0, cost_yuan_m2=1, ready_m2=READY_M2)
    none = np.zeros(3, bool)
    granted = land.allocate(np.array([30_000.0, 5_000.0, 5_000.0]), none, none)
    assert granted.tolist() == [False, False, False]   # head of line does not fit the cap
    assert land.used_m2 <= land.cap_m2
    granted = land.allocate(np.array([4_000.0, 5_000.0]), none[:2], none[:2])
    assert granted.tolist() == [True, True]
    assert land.used_m2 <= land.cap_m2


def _county(anchor=1000.0, waiting=0.0, pool=0.0) -> Land:
    one = Land.create(area_km2=100, cap_share=0.3, used_km2=20, anchor=anchor, idle_km2=0)
    one.waiting_m2, one.quota_pool_m2 = waiting, pool
    return one


def test_a_county_sets_its_price_against_its_neighbours():
    """The asking price is the geometric mean of the county's anchor and its neighbours'
    prices, weighted by competition: it follows a neighbour that cuts its price, ignores
    counties across the Beijing boundary, and a county alone asks its anchor."""
    side = np.array([1, 1, 0])          # two counties on one side, one across

    def asking(neighbour_price: float, competition: float) -> tuple[float, float]:
        lands = {0: _county(1000.0), 1: _county(neighbour_price), 2: _county(4500.0)}
        set_asking_prices(lands, side, competition)
        return lands[0].asking, lands[2].asking

    assert asking(800.0, 0.0) == pytest.approx((1000.0, 4500.0))     # alone: the anchor
    assert asking(800.0, 1.0)[0] == pytest.approx(800.0)             # all competition
    assert asking(800.0, 0.3)[0] == pytest.approx(1000.0 ** 0.7 * 800.0 ** 0.3)
    assert asking(600.0, 0.3)[0] < asking(800.0, 0.3)[0]             # a rival cuts: it follows
    assert asking(600.0, 0.3)[1] == asking(800.0, 0.3)[1] == 4500.0  # across the boundary: not


def test_land_price_rises_with_scarcity_only_where_land_binds():
    """Projects waiting with no land ready raise the scarcity premium; where land is ready
    and nobody waits it falls back to none, never below the asking price; extra supply
    eases it."""
    queue, glut = _county(waiting=1e5), _county(pool=1e6)
    for _ in range(200):
        queue.adjust_premium(LAND, 1e4)
        glut.adjust_premium(LAND, 1e4)
    assert queue.price > 1000 * 1.5
    assert glut.price == glut.asking == 1000.0
    for _ in range(400):                                # the queue clears: back to asking
        queue.waiting_m2, queue.quota_pool_m2 = 0.0, 1e6
        queue.adjust_premium(LAND, 1e4)
    assert queue.price == pytest.approx(1000.0)
    tight, eased = _county(waiting=1e5), _county(waiting=1e5, pool=1e5)
    tight.adjust_premium(LAND, 1e4)
    eased.adjust_premium(LAND, 1e4)
    assert eased.price < tight.price


def test_a_neighbours_quarter_brings_its_quota_and_moves_its_premium():
    land = _county(waiting=1e6)
    land.quota_m2 = 4e5
    land.advance_neighbour_quarter(LAND)
    assert land.quota_pool_m2 == pytest.approx(1e5) and land.premium > 1.0


def test_a_shared_quota_goes_where_projects_wait():
    """Regional coordination: the usable quota of a county where nobody waits goes to one
    where projects wait, up to what they wait for; a county's own queue keeps its own."""
    short, spare, busy = _county(waiting=3e5), _county(pool=1e6), _county(waiting=1e5, pool=5e4)
    lands = {0: short, 1: spare, 2: busy}
    share_quota(lands)
    assert short.quota_pool_m2 == pytest.approx(3e5)
    assert busy.quota_pool_m2 == pytest.approx(1e5)
    assert spare.quota_pool_m2 == pytest.approx(1e6 - 3e5 - 5e4)
    assert sum(x.quota_pool_m2 for x in lands.values()) == pytest.approx(1e6 + 5e4)


def test_other_uses_share_the_quota_with_waiting_projects():
    land = Land.create(area_km2=100, cap_share=0.3, used_km2=20, anchor=1000, idle_km2=0)
    land.quota_pool_m2, land.other_backlog_m2 = 1e5, 3e5
    assert land.take_for_other_uses() == pytest.approx(1e5)     # nobody else waits: all
    land.quota_pool_m2, land.waiting_m2 = 1e5, 1e5
    assert land.take_for_other_uses() == pytest.approx(1e5 * 2e5 / 3e5)
    assert land.other_backlog_m2 == pytest.approx(2e5 - 1e5 * 2e5 / 3e5)


def test_idle_land_needs_no_quota_and_the_fund_stops_when_enough_is_ready():
    land = Land.create(area_km2=100, cap_share=0.3, used_km2=20, anchor=1000, idle_km2=1)
    spent = land.supply(0, 1.0, False, fund_yuan=3e7, cost_yuan_m2=1500, ready_m2=READY_M2)
    assert spent == pytest.approx(3e7)
    one = np.zeros(1, bool)
    granted = land.allocate(np.array([15_000.0]), one, one)
    assert granted.all() and land.used_m2 == pytest.approx(20e6)
    assert land.supply(0, 1.0, False, fund_yuan=1e12, cost_yuan_m2=1500, ready_m2=READY_M2) == pytest.approx(
        READY_M2 * 1500 - 5_000 * 1500)


def test_quota_held_back_is_released_when_the_plan_is_approved():
    land = Land.create(area_km2=100, cap_share=0.3, used_km2=20, anchor=1000, idle_km2=0)
    land.supply(100_000, release_share=0.7, plan_approved=False, fund_yuan=0, cost_yuan_m2=1, ready_m2=READY_M2)
    assert land.quota_pool_m2 == pytest.approx(70_000)
    land.supply(100_000, release_share=0.7, plan_approved=True, fund_yuan=0, cost_yuan_m2=1, ready_m2=READY_M2)
    assert land.quota_pool_m2 == pytest.approx(200_000) and land.quota_held_m2 == 0


def test_halls_take_small_clean_projects_without_quota():
    land = Land.create(area_km2=100, cap_share=0.3, used_km2=20, anchor=1000, idle_km2=0)
    land.open_halls(8_000)
    land.open_halls(8_000)                      # opens once
    small = np.array([True, True, False])
    granted = land.allocate(np.array([5_000.0, 5_000.0, 5_000.0]), np.zeros(3, bool), small)
    assert granted.tolist() == [True, False, False]
    assert land.used_m2 == pytest.approx(20e6) and land.hall_m2 == pytest.approx(3_000)


# --- one choice table a kind of agent ----------------------------------------------------

@pytest.mark.parametrize("params", [{}, {"talent_housing_eligibility": True,
                                         "talent_housing_eligibility_start_year": 2014}])
def test_workers_of_one_kind_face_the_same_choice(params):
    """The workers who reconsider choose from one row of utilities a kind (talent._kind_key):
    every attribute the utilities depend on is in the kind, so any two workers of a kind
    have the same row, under the purchase restriction and its talent exemption too."""
    from model import XiangheModel, talent

    m = XiangheModel({"talent_agents": 5000, **params}, seed=2)
    m.run_until_year(2019)                       # staff, movers, the restriction in force
    cond = m._conditions(m.views(), 2019.0)
    assert cond.restriction_on
    t = m.talent
    idx = np.arange(t.skill.size)
    u = talent.pair_utilities(t, idx, cond, m.views().talent, m.world)
    _, first, kind = np.unique(talent._kind_key(t, m.places, idx), return_index=True,
                               return_inverse=True)
    assert first.size < idx.size / 5                 # far fewer kinds than workers
    assert np.array_equal(u, u[first][kind])


def test_flows_from_counts_of_a_kind_are_the_flows_of_the_agents():
    """The checkpoint flows from the workers of each (skill, car) on each commute equal
    those summed agent by agent."""
    from model import XiangheModel

    m = XiangheModel({"talent_agents": 5000}, seed=3)
    m.run_until_year(2016)
    v = m.views()
    cond = m._conditions(v, 2016.0)
    t, places, cp = m.talent, m.places, v.commuting
    h, j = places.slot[t.home], places.slot[t.job]
    crossing, peak = places.links.crossing[h, j], places.links.inbound_peak[h, j]
    p_car = cond.p_car[t.skill, t.car, h, j]
    assert crossing.any() and peak.any()
    flows = m._flows_at(cond, cp)
    scale = t.weight * cp.commute_days_share
    assert flows.commuters == pytest.approx(crossing.sum() * scale, rel=1e-12)
    assert flows.car_share == pytest.approx(p_car[crossing].mean(), rel=1e-12)
