"""Each measure moves its mechanism in the expected direction.

Every comparison runs the same seeds with and without the measure (common random numbers:
each submodel draws the same random numbers whatever the levers), so the difference is
the measure's effect, not noise between seeds. A measure is switched on from 2014 unless
the test gives its start year: the counterfactual history, asked for as a user asks for it,
shows each mechanism on the many projects of the calibration window.
"""

from __future__ import annotations

import numpy as np
import pytest

from model import XiangheModel
from model.enterprises import State
from model.params import FIRST_YEAR, PARAMS, levers_set
from model.world import MODES, load_world

SEEDS = (1, 2, 3)
# Land made scarce so that the land measures have something to relieve.
SCARCE_LAND = {"county_land_quota_km2": 1.2}


def _run(params: dict, until: int = 2020) -> list[XiangheModel]:
    params = {**{PARAMS[lever].start_year: FIRST_YEAR for lever in levers_set(params)},
              **params}
    models = []
    for seed in SEEDS:
        m = XiangheModel(params, seed=seed)
        m.run_until_year(until)
        models.append(m)
    return models


def _indicator(models, name: str, year: int) -> float:
    return float(np.mean([m.annual().set_index("year").loc[year, name] for m in models]))


def _relocated_in(models, sectors: np.ndarray) -> float:
    """Firms relocated to the focus county in the given sectors, mean over seeds."""
    counts = []
    for m in models:
        f = m.firms
        moved = (f.region == m.world.focus) & (f.state != State.IN_BEIJING)
        counts.append((moved & sectors[f.sector]).sum() * f.weight)
    return float(np.mean(counts))


@pytest.fixture(scope="module")
def base():
    return _run({})


@pytest.fixture(scope="module")
def scarce():
    return _run(SCARCE_LAND)


def test_scarce_land_blocks_projects(scarce):
    assert _indicator(scarce, "land_blocked_projects", 2020) > 3


def _months_to_production(models, first: int = 2015, last: int = 2020) -> float:
    """The median months from signing to production of every project that started in
    the focus county in ``first``-``last``, pooled over the seeds."""
    return float(np.median(np.concatenate([
        months for m in models for year, parts in m.production_months.items()
        if first <= year <= last for months in parts])))


@pytest.mark.parametrize("lever", ["permit_devolution", "commitment_system"])
def test_permit_reforms_shorten_signing_to_production(base, lever):
    """Pooled over six years: a single year's median of a few dozen starts moves with the
    projects the reform attracts, which queue for the same land."""
    assert _months_to_production(_run({lever: True})) < _months_to_production(base)


def test_investment_subsidy_attracts_firms_and_costs_money(base):
    with_it = _run({"investment_subsidy_rate": 0.2})
    assert _indicator(with_it, "firms_relocated", 2020) > _indicator(base, "firms_relocated", 2020)
    assert (_indicator(with_it, "public_spending_yuan", 2020)
            > _indicator(base, "public_spending_yuan", 2020))


def test_sector_targeting_shifts_relocations_to_target_sectors(base):
    with_it = _run({"sector_targeting": 1.0})
    w = load_world()
    target, other = w.sector_target, ~w.sector_target
    assert _relocated_in(with_it, target) > _relocated_in(base, target)
    assert _relocated_in(with_it, other) < _relocated_in(base, other)


@pytest.mark.parametrize("mode", MODES)
def test_each_attraction_mode_brings_its_sectors(base, mode):
    with_it = _run({f"mode_{mode}": True})
    sectors = load_world().sector_modes[:, MODES.index(mode)]
    assert _relocated_in(with_it, sectors) > _relocated_in(base, sectors)


@pytest.mark.parametrize("lever,value,flag", [
    ("ftz_extension", True, "sector_ftz"),
    ("incubator_fund_yuan", 1.0e8, "sector_incubator"),
])
def test_policy_innovation_brings_its_sectors(base, lever, value, flag):
    with_it = _run({lever: value})
    sectors = getattr(load_world(), flag)
    assert _relocated_in(with_it, sectors) > _relocated_in(base, sectors)


def test_vocational_recognition_attracts_firms(base):
    with_it = _run({"vocational_recognition": True})
    assert _indicator(with_it, "firms_relocated", 2020) > _indicator(base, "firms_relocated", 2020)


@pytest.mark.parametrize("lever,value", [
    ("provincial_land_quota", True),
    ("space_fund_yuan", 3.0e8),
    ("fast_spatial_plan", True),
])
def test_land_measures_unblock_projects(scarce, lever, value):
    with_it = _run({**SCARCE_LAND, lever: value})
    assert (_indicator(with_it, "land_blocked_projects", 2020)
            < _indicator(scarce, "land_blocked_projects", 2020))


def test_space_fund_is_public_spending(scarce):
    with_it = _run({**SCARCE_LAND, "space_fund_yuan": 3.0e8})
    assert (_indicator(with_it, "public_spending_yuan", 2016)
            == pytest.approx(_indicator(scarce, "public_spending_yuan", 2016) + 3.0e8))


@pytest.mark.parametrize("start", [2014, 2022])
def test_hall_conversion_lets_the_furniture_market_in(start):
    """Also when the halls open after the market closed (2021Q3): waiting merchants enter."""
    base23 = _run({}, 2023)
    with_it = _run({"hall_conversion": True, "hall_conversion_start_year": start}, 2023)
    assert (_indicator(with_it, "market_merchants", 2023)
            > _indicator(base23, "market_merchants", 2023) + 300)


def test_talent_housing_eligibility_keeps_movers(base):
    with_it = _run({"talent_housing_eligibility": True})
    assert (_indicator(with_it, "relocated_workers_employed", 2020)
            > _indicator(base, "relocated_workers_employed", 2020))


def test_public_service_spending_raises_the_index(base):
    with_it = _run({"services_spending_yuan": 2.0e9})
    assert (_indicator(with_it, "public_service_index", 2020)
            > _indicator(base, "public_service_index", 2020) + 0.02)


def test_more_lanes_cut_the_checkpoint_delay(base):
    with_it = _run({"checkpoint_lanes": 48})
    for name in ("checkpoint_peak_delay_min", "checkpoint_event_delay_min"):
        assert _indicator(with_it, name, 2020) < _indicator(base, name, 2020)


def test_more_bus_lines_take_commuters_out_of_cars(base):
    with_it = _run({"bus_lines": 14})
    assert _indicator(with_it, "car_share", 2020) < _indicator(base, "car_share", 2020)
    assert _indicator(with_it, "bus_load", 2020) < _indicator(base, "bus_load", 2020)


def test_relaxing_the_entry_permit_limit_lets_more_drive(base):
    with_it = _run({"entry_permits_per_year": 36})
    assert _indicator(with_it, "car_share", 2020) > _indicator(base, "car_share", 2020)
    assert _indicator(with_it, "car_share", 2018) == pytest.approx(
        _indicator(base, "car_share", 2018))


def test_a_measure_waits_for_its_start_year(base):
    later = _run({"investment_subsidy_rate": 0.3, "investment_subsidy_rate_start_year": 2019})
    early = _run({"investment_subsidy_rate": 0.3})
    assert _indicator(later, "firms_relocated", 2018) == _indicator(base, "firms_relocated", 2018)
    assert _indicator(early, "firms_relocated", 2018) > _indicator(base, "firms_relocated", 2018)
    assert _indicator(later, "public_spending_yuan", 2020) > _indicator(
        base, "public_spending_yuan", 2020)


def test_a_subsidy_is_weighed_as_the_annuity_it_buys():
    from model.enterprises import capital_recovery_factor

    assert capital_recovery_factor(0.0, 10) == pytest.approx(0.1)
    assert capital_recovery_factor(0.06, 10) == pytest.approx(0.06 / (1 - 1.06**-10))
    # Discounting at the cost of capital makes a yuan today worth more than a tenth a year.
    assert capital_recovery_factor(0.06, 10) > 0.1


def test_environmental_thresholds_rise_then_saturate():
    from model.enterprises import environmental_threshold

    path = [environmental_threshold(y, 0.25, 4.0) for y in np.arange(2014, 2101, 0.25)]
    assert path[0] == 1.0 and np.all(np.diff(path) > 0) and max(path) < 4.0
    assert path[4] == pytest.approx(1.0 + 0.25, rel=0.05)     # the first year: the growth
    assert path[-1] > 3.99
    assert environmental_threshold(2030, 0.25, 1.0) == 1.0


def test_clawback_recovers_the_subsidy_of_failed_projects_and_changes_no_choice():
    subsidy = {"investment_subsidy_rate": 0.2, "project_failure_rate": 0.3}
    paid, clawed = _run(subsidy, 2024), _run({**subsidy, "subsidy_clawback": True}, 2024)
    for a, b in zip(paid, clawed, strict=True):
        assert (a.firms.state == b.firms.state).all()
    spent = sum(_indicator(paid, "public_spending_yuan", y) for y in range(2014, 2025))
    spent_back = sum(_indicator(clawed, "public_spending_yuan", y) for y in range(2014, 2025))
    assert spent_back < spent


def test_every_measure_has_a_public_cost():
    from model.params import LEVERS, PARAMS

    def spent(models) -> float:     # one-off costs (the hall refit) fall in the first year
        return sum(_indicator(models, "public_spending_yuan", y) for y in range(2014, 2017))

    small = {"talent_agents": 5000}     # costs are in real units whatever the scale
    base = spent(_run(small, 2016))
    for lever in LEVERS:
        p = PARAMS[lever]
        if lever == "subsidy_clawback":
            continue   # it saves money: tested above
        if lever == "neighbours_match":
            continue   # the neighbours' policy, paid from their budgets, not Xianghe's
        if p.type is bool:
            on = {lever: True}
        elif lever in ("checkpoint_lanes", "bus_lines"):
            on = {lever: p.default + 6}
        else:
            continue   # money levers (subsidy, funds, spending) are themselves the cost
        assert spent(_run({**small, **on}, 2016)) > base, lever
