"""Every declared range is one the model honours: each parameter at either end of its range
gives possible outputs (shares in [0, 1] that add up, counts of at least 0, checkpoint
delays under their declared ceiling), and no value is silently capped."""

from __future__ import annotations

import numpy as np
import pytest

from model import INDICATORS, PARAMS, XiangheModel
from model.commuting import CommutingParams, delay_ceiling_min
from model.indicators import NULLABLE, SIGNED
from model.params import FIRST_YEAR, StartYear, Switch, levers_set, resolve

SHARES = [i.name for i in INDICATORS if i.unit == "share"]
COUNTS = [i.name for i in INDICATORS if i.name not in SIGNED
          and i.unit.split("/")[0] in ("firms", "projects", "merchants", "people", "yuan")]
SCALE = 1_000
# Parameters bound to another (shares of one whole, permit days a year): at the end of
# its range, the other gives way.
PARTNERS = {"high_skill_share": {"skilled_share": 0.0},
            "staff_high_skill_share": {"skilled_share": 0.0},
            "skilled_share": {"high_skill_share": 0.0, "staff_high_skill_share": 0.0},
            "education_weight_no_children": {"health_weight_no_children": 0.0},
            "health_weight_no_children": {"education_weight_no_children": 0.0},
            "education_weight_children": {"health_weight_children": 0.0},
            "health_weight_children": {"education_weight_children": 0.0},
            "entry_permits_per_year": {"entry_permit_days": 1},
            "entry_permit_days": {"entry_permits_per_year": 1}}


def _ends():
    for p in PARAMS.values():
        if isinstance(p, StartYear) or p.name == "talent_agents":
            continue
        ends = (False, True) if isinstance(p, Switch) else (p.low, p.high)
        for value in ends:
            yield pytest.param(p.name, value, id=f"{p.name}={value}")


def _from_2014(params: dict) -> dict:
    """Every lever set starting in 2014, so the run reaches its value."""
    return {**params, **{PARAMS[lever].start_year: FIRST_YEAR for lever in levers_set(params)}}


def _at(name: str, value) -> dict:
    return _from_2014({"talent_agents": SCALE, name: value, **PARTNERS.get(name, {})})


def _check_possible(params: dict, until: int = 2021) -> None:
    m = XiangheModel(params, seed=1)
    m.run_until_year(until)
    q = m.quarterly()
    for name in SHARES:
        ok = q[name].between(0.0, 1.0) | (q[name].isna() & (name in NULLABLE))
        assert ok.all(), (name, q[name].min(), q[name].max())
    for name in COUNTS:       # event indicators are null in a quarter without events
        assert ((q[name] >= 0) | (q[name].isna() & (name in NULLABLE))).all(), name
    modes = q["car_share"] + q["bus_share"] + q["other_mode_share"]
    crossing = q["cross_border_daily_persons"] > 0
    assert np.allclose(modes[crossing], 1.0), modes[crossing].describe()
    values = resolve(params)
    cp = CommutingParams.of(values)
    assert (q["checkpoint_peak_delay_min"] <= delay_ceiling_min(cp) + 1e-9).all()
    assert (q["checkpoint_event_delay_min"]
            <= delay_ceiling_min(cp, event_day=True) + 1e-9).all()


@pytest.mark.parametrize("name,value", list(_ends()))
def test_each_parameter_at_either_end_of_its_range_gives_possible_outputs(name, value):
    _check_possible(_at(name, value))


@pytest.mark.parametrize("end", ["low", "high"])
def test_every_lever_at_once_at_one_end(end):
    params = {"talent_agents": SCALE}
    for p in PARAMS.values():
        if p.role == "lever" and not isinstance(p, StartYear):
            params[p.name] = (end == "high") if isinstance(p, Switch) else getattr(p, end)
    params["entry_permit_days"] = 1
    _check_possible(_from_2014(params), until=2024)


def test_one_slow_lane_gives_a_bounded_delay_not_days():
    params = _from_2014({"talent_agents": SCALE, "checkpoint_lanes": 1,
                         "checkpoint_service_veh_h": 10})
    m = XiangheModel(params, seed=1)
    m.run_until_year(2016)
    q = m.quarterly()
    ceiling = delay_ceiling_min(CommutingParams.of(resolve(params)), event_day=True)
    assert q["checkpoint_event_delay_min"].max() <= ceiling < 8 * 60


def test_without_buses_no_one_is_counted_on_a_bus():
    m = XiangheModel(_from_2014({"talent_agents": SCALE, "bus_lines": 0}), seed=1)
    m.run_until_year(2016)
    q = m.quarterly()
    assert (q["bus_share"] == 0).all() and (q["bus_load"] == 0).all()
    assert np.allclose(q["car_share"] + q["other_mode_share"], 1.0)


@pytest.mark.parametrize("km2", [PARAMS["construction_land_2014_km2"].low, 100.0,
                                 PARAMS["construction_land_2014_km2"].high])
def test_construction_land_is_honoured_up_to_the_end_of_its_range(km2):
    m = XiangheModel({"talent_agents": SCALE, "construction_land_2014_km2": km2}, seed=1)
    assert m.land.used_m2 == km2 * 1e6
