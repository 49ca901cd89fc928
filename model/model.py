"""The relocation model: Beijing enterprises and talent choosing between Beijing and Xianghe.

A Mesa model of the Beijing-Tianjin-Hebei policy of moving Beijing's "non-capital
functions" out, seen from Xianghe County (Hebei), calibrated to the county's 2021 report.
It runs in quarters from 2014Q1. Each quarter, in this order:

1. the measures in force are looked up (module ``policy``);
2. public services improve (``services``) and the county receives land quota, redevelops
   idle land and builds housing for its new residents (``land``);
3. Beijing firms consider moving, choose a location and move their projects through the
   pipeline (``enterprises``);
4. wholesale markets closing in Beijing relocate their merchants (``merchants``);
5. staff of firms that started producing elsewhere follow, commute or leave, then a share
   of all workers re-chooses home and job (``talent``), facing last quarter's checkpoint
   delay and bus crowding they have learnt to expect;
6. cross-border trips, mode shares and the checkpoint queue are computed from where
   everyone now lives and works (``commuting``); the indicators are recorded.

Agents of each kind are held as arrays and decide together with numpy; each agent stands
for ``weight`` real units, so indicators are in real firms, merchants and people whatever
the scale.
"""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd
from mesa.datacollection import DataCollector

from . import commuting, enterprises, merchants, services, talent
from .enterprises import MOVED, PIPELINE, Firms, QuarterDraws, State
from .indicators import NAMES, SIGNED_COUNT, SIGNED_INVESTMENT, annual
from .land import M2_PER_KM2, Land
from .merchants import Merchants
from .params import FIRST_YEAR, resolve
from .policy import in_force
from .talent import Talent
from .world import load_world

def quarters_to_end_of(year: int) -> int:
    """Quarters from 2014Q1 to the end of ``year``: the model time at which it ends."""
    return (year - FIRST_YEAR + 1) * 4


# From this many talent agents up, one firm or merchant agent is one real firm or merchant.
FULL_SCALE_TALENT = 50_000


class XiangheModel(mesa.Model):
    """Enterprises, merchants and talent choosing between Beijing and Xianghe.

    Args:
        params: parameter values by name (see ``model.params``); missing ones default.
        seed: seed of Mesa's random number generator; every random draw derives from it.
        **overrides: further parameter values, as keywords (as the Solara page passes them).
    """

    def __init__(self, params: dict | None = None, *, seed: int | None = None, **overrides):
        values = resolve({**(params or {}), **overrides})
        super().__init__(rng=seed)
        self.params = values
        self.world = load_world()
        self._rng_firms, self._rng_merchants, self._rng_talent, init = self.rng.spawn(4)
        w = self.world
        p = values

        firm_weight = max(1.0, FULL_SCALE_TALENT / p["talent_agents"])
        n_firms = max(1, int(round(p["firm_pool"] / firm_weight)))
        self.firms = Firms.create(n_firms, p["firm_pool"] / n_firms, w, p, init)
        self.merchants = Merchants.create(w, firm_weight)
        self.talent = Talent.create(p["talent_agents"], w, p,
                                    self.firms.staff * self.firms.weight, init)
        self.services = w.services.copy()
        self.land = Land.create(w.area_km2, w.intensity_cap, p["construction_land_2014_km2"],
                                w.land_price_yuan_m2[w.focus], p["idle_industrial_land_km2"])
        self.workers_home_2014 = self._workers_at_home()
        self.residents = w.residents_2014

        self.year = FIRST_YEAR       # calendar year of the quarter simulated next
        self.delay_min = 0.0
        self.event_delay_min = 0.0
        self.bus_load = 0.0
        # What commuters expect, learnt from the quarters they have seen.
        self.expected = np.zeros(3)   # peak delay, event delay, bus load
        self.production_months: dict[int, list[np.ndarray]] = {}
        self.quarter_values: dict[str, float] = {}
        self._settle_commuting(in_force(p, FIRST_YEAR))

        reporters = {"year": "year", "quarter": lambda m: (m.steps - 1) % 4 + 1}
        for name in (*NAMES, SIGNED_COUNT, SIGNED_INVESTMENT):
            reporters[name] = lambda m, n=name: m.quarter_values[n]
        self.datacollector = DataCollector(model_reporters=reporters)

    # --- schedule ---------------------------------------------------------------------
    def step(self) -> None:
        """Advance one quarter (Mesa counts it in ``steps`` and ``time``: one unit a quarter)."""
        quarter = self.steps - 1     # quarters since 2014Q1, this one excluded
        w, p = self.world, in_force(self.params, self.year)
        year_f = self.year + (quarter % 4) / 4.0
        month = 3.0 * quarter
        spending = self._spending_on_measures(p)

        spending += services.advance_quarter(self.services, w.focus, p)
        spending += self._advance_land(p, quarter)
        land_price = w.land_price_yuan_m2.copy()
        land_price[w.focus] = self.land.price(p["land_price_elasticity"])

        fq = enterprises.advance_quarter(
            self.firms, w, p, year_f, month, self.land, land_price, self.services,
            QuarterDraws.draw(self.firms.state.size, self._rng_firms))
        spending += fq.subsidy_yuan
        self.production_months.setdefault(self.year, []).append(fq.months_to_production)

        merchants.advance_quarter(self.merchants, w, p, year_f, self._rng_merchants)

        n = self.talent.skill.size
        u_follow, u_reconsider, u_choice = self._rng_talent.random((3, n))
        cond = self._conditions(p, year_f)
        eligible = bool(p["talent_housing_eligibility"])
        talent.release(self.talent, fq.left_again)
        talent.staff_follow(self.talent, fq.started, self.firms.region, cond, p, eligible, w,
                            u_follow)
        tq = talent.reconsider(self.talent, cond, p, eligible, w, u_reconsider, u_choice)

        flows = self._commuting_flows(cond, p)
        self._learn(p["delay_learning"])
        self._record(p, fq, tq, flows, land_price[w.focus], spending)
        self.datacollector.collect(self)
        self.year = FIRST_YEAR + self.steps // 4

    def run_until_year(self, year: int) -> None:
        """Run to the end of calendar ``year`` (Mesa's ``run_until`` takes model time)."""
        self.run_until(quarters_to_end_of(year))

    # --- submodel glue ----------------------------------------------------------------
    def _workers_at_home(self) -> float:
        return float((self.talent.home == self.world.focus).sum() * self.talent.weight)

    def _advance_land(self, p: dict, quarter: int) -> float:
        spent = self.land.supply(p["county_land_quota_km2"] * M2_PER_KM2 / 4.0,
                                 p["plan_release_share"], p["fast_spatial_plan"],
                                 p["space_fund_yuan"] / 4.0, p["space_fund_cost_yuan_m2"])
        if p["hall_conversion"]:
            self.land.open_halls(self.world.hall_firm_space_m2)
        residents = (self.world.residents_2014
                     + (self._workers_at_home() - self.workers_home_2014)
                     * p["residents_per_worker"]
                     + p["resident_growth"] * quarter / 4.0)
        housing = max(0.0, residents - self.residents) * p["housing_land_m2_per_resident"]
        self.residents = max(residents, self.residents)
        self.land.take_first(housing + p["background_land_km2"] * M2_PER_KM2 / 4.0)
        return spent

    def _spending_on_measures(self, p: dict) -> float:
        modes = (p["mode_industry_chain"] + p["mode_associations"] + p["mode_zgc_parks"]
                 + p["mode_platform_branches"])
        yearly = (modes * p["mode_cost_yuan"] + p["incubator_fund_yuan"]
                  + p["bus_lines"] * p["bus_line_cost_yuan"]
                  + p["checkpoint_lanes"] * p["lane_cost_yuan"])
        return yearly / 4.0

    def _learn(self, weight: float) -> None:
        seen = np.array([self.delay_min, self.event_delay_min, self.bus_load])
        self.expected += weight * (seen - self.expected)

    def _conditions(self, p: dict, year_f: float) -> talent.Conditions:
        e = p["event_days_share"]
        peak, event, bus_load = self.expected
        delay = (1.0 - e) * peak + e * event
        return talent.conditions(self.world, p, self.services, year_f, delay, bus_load)

    def _commuting_flows(self, c: talent.Conditions, p: dict) -> dict[str, float]:
        t = self.talent
        h, j = c.slot[t.home], c.slot[t.job]
        cross = c.crossing[h, j]
        p_car = c.p_car[t.skill, t.car, h, j]
        scale = t.weight * p["commute_days_share"]
        n_cross = int(cross.sum())
        car_share = float(p_car[cross].mean()) if n_cross else 0.0
        commuters = n_cross * scale
        other = p["noncommute_trips_per_resident"] * self.residents
        inbound_cars = (p_car[c.inbound_peak[h, j]].sum() * scale + other * car_share) \
            / p["car_occupancy"]
        peak = inbound_cars * p["peak_share"]
        self.delay_min = commuting.checkpoint_delay_min(
            peak, p["peak_hours"], p["checkpoint_lanes"], p["checkpoint_service_veh_h"])
        self.event_delay_min = commuting.checkpoint_delay_min(
            peak, p["peak_hours"], p["checkpoint_lanes"],
            p["checkpoint_service_veh_h"] * p["event_service_factor"])
        riders = (1.0 - p_car[cross]).sum() * scale + other * (1.0 - car_share)
        capacity = p["bus_lines"] * p["bus_line_capacity"]
        self.bus_load = riders / capacity if capacity > 0 else 0.0
        persons = commuters + other
        return {
            "cross_border_daily_persons": persons,
            "commuter_share": commuters / persons if persons > 0 else 0.0,
            "car_share": car_share,
        }

    def _settle_commuting(self, p: dict) -> None:
        """Start from the commuting equilibrium of 2014 rather than from an empty road."""
        for _ in range(8):
            self._commuting_flows(self._conditions(p, float(FIRST_YEAR)), p)
            self._learn(0.5)

    def _record(self, p, fq, tq, flows, focus_price, spending) -> None:
        f, w = self.firms, self.world
        in_focus = f.region == w.focus
        producing = in_focus & (f.state == State.PRODUCING)
        signed_focus = fq.signed[f.region[fq.signed] == w.focus]
        revenue = float(f.revenue[producing].sum() * f.weight / 4.0)
        t = self.talent
        self.quarter_values = {
            "firms_relocated": float(in_focus.sum() * f.weight),
            "firms_operating": float(producing.sum() * f.weight),
            "firms_left_again": float((in_focus & (f.state == State.LEFT_AGAIN)).sum()
                                      * f.weight),
            "land_blocked_projects": float((in_focus & (f.state == State.BLOCKED)).sum()
                                           * f.weight),
            "pipeline_projects": float((in_focus & np.isin(f.state, PIPELINE)).sum()
                                       * f.weight),
            "mean_signed_investment_yuan": (float(f.investment[signed_focus].mean())
                                            if signed_focus.size else 0.0),
            "months_sign_to_production": (float(np.median(fq.months_to_production))
                                          if fq.months_to_production.size else 0.0),
            "relocated_revenue_yuan": revenue,
            "relocated_tax_yuan": revenue * p["tax_share_of_revenue"],
            "market_merchants": self.merchants.trading_in_xianghe(),
            "relocated_workers_employed": float((t.moved & (t.job == w.focus)).sum()
                                                * t.weight),
            "high_skill_to_beijing": tq.high_to_beijing * t.weight,
            "high_skill_to_xianghe": tq.high_to_focus * t.weight,
            **flows,
            "checkpoint_peak_delay_min": self.delay_min,
            "checkpoint_event_delay_min": self.event_delay_min,
            "development_intensity": self.land.intensity,
            "industrial_land_price_yuan_m2": focus_price,
            "public_spending_yuan": spending,
            "firms_signed": float(signed_focus.size * f.weight),
            "firms_left_beijing": float(np.isin(f.state, MOVED).sum() * f.weight),
            "relocated_firm_jobs": float(f.staff[producing].sum() * f.weight),
            "bus_load": self.bus_load,
            "public_service_index": float(self.services[w.focus].mean()),
            SIGNED_COUNT: float(signed_focus.size),
            SIGNED_INVESTMENT: float(f.investment[signed_focus].sum()),
        }

    # --- results ----------------------------------------------------------------------
    def quarterly(self) -> pd.DataFrame:
        """Every indicator for every quarter run, one row a quarter."""
        df = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        return df.drop(columns=[SIGNED_COUNT, SIGNED_INVESTMENT])

    def annual(self) -> pd.DataFrame:
        """Every indicator for every year run, one row a year."""
        df = self.datacollector.get_model_vars_dataframe()
        months = {y: np.concatenate(v) for y, v in self.production_months.items()}
        return annual(df, months)
