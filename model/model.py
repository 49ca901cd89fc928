"""The relocation model: Beijing enterprises and talent choosing between Beijing and Xianghe.

A Mesa model of the Beijing-Tianjin-Hebei policy of moving Beijing's "non-capital
functions" out, seen from Xianghe County (Hebei), calibrated to the county's 2021 report.
It runs in quarters from 2014Q1. Each quarter, in this order:

1. the measures in force are looked up (module ``policy``);
2. public services improve (``services``); every receiving county receives land quota
   (the focus county also redevelops idle land and builds housing for its new residents),
   sets its asking price against its neighbours' and moves its scarcity premium with its
   queue (``land``);
3. new investment projects arrive; Beijing firms consider moving; both choose a location
   (a relocating firm weighing what its Beijing staff would cost it there) and move their
   projects through the pipeline (``enterprises``);
4. wholesale markets closing in Beijing relocate their merchants (``merchants``);
5. firms that started producing bring their jobs; their staff follow, commute or leave,
   then a share of all workers re-chooses home and job as the job premia move to fill the
   jobs (``talent``), facing last quarter's checkpoint delay and bus crowding they have
   learnt to expect;
6. cross-border trips, mode shares and the checkpoint queue are computed from where
   everyone now lives and works (``commuting``); the indicators are recorded.

Agents of each kind are held as arrays and decide together with numpy; each agent stands
for ``weight`` real units, so indicators are in real firms, merchants and people whatever
the scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mesa
import numpy as np
import pandas as pd
from mesa.datacollection import DataCollector

from . import commuting, enterprises, merchants, services, talent
from .commuting import CommutingParams, Expectations, Flows
from .enterprises import (ArrivalParams, FirmPopulationParams, Firms, HazardParams,
                          LocationParams, PipelineParams, Quarter, QuarterDraws, Setting,
                          Staffing)
from .indicators import HELPERS, NAMES, SIGNED_COUNT, SIGNED_INVESTMENT, QuarterOutcome, annual
from .indicators import measure as measure_indicators
from .land import Land, LandParams, set_asking_prices
from .merchants import MerchantParams, Merchants
from .params import FIRST_YEAR, PARAMS, resolve
from .policy import SpendingParams, in_force, running_cost_quarter
from .services import HouseholdWeights, ServiceParams
from .talent import Places, PopulationParams, StaffParams, Talent, TalentParams
from .world import load_world

# The model starts from the equilibrium of 2014 conditions: this many rounds in which the
# workers are placed at the equilibrium of their home and job choice and commuters learn
# the delay that follows, at this weight (see ``_settle``).
SETTLING_ROUNDS = 8
SETTLING_WEIGHT = 0.5


def quarters_to_end_of(year: int) -> int:
    """Quarters from 2014Q1 to the end of ``year``: the model time at which it ends."""
    return (year - FIRST_YEAR + 1) * 4


@dataclass(frozen=True)
class Views:
    """Every submodel's parameters in force in one year."""

    hazard: HazardParams
    location: LocationParams
    pipeline: PipelineParams
    merchants: MerchantParams
    talent: TalentParams
    commuting: CommutingParams
    households: HouseholdWeights
    services: ServiceParams
    land: LandParams
    spending: SpendingParams
    staff: StaffParams
    arrivals: ArrivalParams
    neighbours: LocationParams | None = None   # the measures the neighbours run, if any

    @classmethod
    def of(cls, values: dict, neighbours: LocationParams | None = None) -> Views:
        return cls(HazardParams.of(values), LocationParams.of(values),
                   PipelineParams.of(values), MerchantParams.of(values),
                   TalentParams.of(values), CommutingParams.of(values),
                   HouseholdWeights.of(values), ServiceParams.of(values),
                   LandParams.of(values), SpendingParams.of(values), StaffParams.of(values),
                   ArrivalParams.of(values), neighbours)


# Measures regional coordination does not share: how a county grants permits and
# recognises its workers' credentials.
OWN_REFORMS = ("permit_devolution", "commitment_system", "vocational_recognition")


def neighbours_measures(params: dict, year: int) -> LocationParams | None:
    """The measures Xianghe's neighbours run in ``year``: under regional coordination the
    four counties' common offer (Xianghe's); with ``neighbours_match``, what Xianghe ran
    ``neighbours_match_lag_years`` earlier (levers switch at a year's start, so a
    neighbour starts a measure in the first year at least the lag after Xianghe's start:
    lags of 0.5 and 1 both mean the next year); else none beyond what they ran in 2014."""
    now = in_force(params, year)
    if now["regional_coordination"]:
        # The common offer is the attraction measures and the subsidy; each county keeps
        # its own permit procedures and its own recognition of credentials.
        return LocationParams.of({**now, **{k: PARAMS[k].default for k in OWN_REFORMS}})
    if now["neighbours_match"]:
        return LocationParams.of(in_force(params, math.floor(
            year - params["neighbours_match_lag_years"])))
    return None


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
        self.world = w = load_world()
        (self._rng_firms, self._rng_merchants, self._rng_talent, init,
         self._rng_arrivals, self._rng_projects) = self.rng.spawn(6)

        # One agent per firm and per merchant at any scale: a firm takes land, signs and
        # produces whole, so a heavier agent would move land and revenue in lumps (with
        # 10,000 talent agents, 5 firms to an agent left relocated revenue a quarter low);
        # talent agents carry the workforce in proportion, whatever their number.
        n_firms = max(1, int(round(values["firm_pool"])))
        self.firm_population = FirmPopulationParams.of(values)
        self.firms = Firms.create(n_firms, values["firm_pool"] / n_firms, w,
                                  self.firm_population, init)
        self.n_exposed = n_firms     # agents after these are new investment projects
        self.projects_arrived = 0    # new projects arrived so far, kept or not
        self.merchants = Merchants.create(w, 1.0)
        self.talent = Talent.create(values["talent_agents"], w, PopulationParams.of(values),
                                    self.firms.staff * self.firms.weight, init)
        self.places = Places.of(w)
        self.markets = talent.Markets.of(self.talent, self.places)
        self.services = w.services.copy()
        self.lands = {int(r): Land.create(w.county_area_km2[r], w.county_cap_share[r],
                                          w.county_land_2014_km2[r], w.land_price_yuan_m2[r],
                                          quota_km2=w.county_quota_km2[r])
                      for r in np.flatnonzero(w.area) if r != w.focus}
        self.lands[w.focus] = self.land = Land.create(
            w.area_km2, w.intensity_cap, values["construction_land_2014_km2"],
            values["xianghe_land_price_yuan_m2"], values["idle_industrial_land_km2"],
            w.residents_2014)
        set_asking_prices(self.lands, w.side, values["land_price_competition"])

        self.year = FIRST_YEAR       # calendar year of the quarter simulated next
        self._views_in_force = (FIRST_YEAR, Views.of(in_force(values, FIRST_YEAR),
                                                     neighbours_measures(values, FIRST_YEAR)))
        self.commuters = Expectations()
        self.production_months: dict[int, list[np.ndarray]] = {}
        self.last: QuarterOutcome | None = None
        self.quarter_values: dict[str, float] = {}
        self._settle(init)
        self.workers_home_2014 = self._workers_at_home()
        # What surplus counts against: 2014 conditions, every lever at its default.
        v = Views.of(in_force(values, FIRST_YEAR - 1))
        cond = self._conditions(v, float(FIRST_YEAR))
        self._conditions_2014 = (cond, v.talent)
        self._logsums_2014 = np.full(talent.kind_count(self.places), np.nan)
        self._setting_2014 = self._setting(v, cond)

        reporters = {"year": "year", "quarter": lambda m: (m.steps - 1) % 4 + 1}
        for name in (*NAMES, *HELPERS):
            reporters[name] = lambda m, n=name: m.quarter_values[n]
        self.datacollector = DataCollector(model_reporters=reporters)

    # --- schedule ---------------------------------------------------------------------
    def step(self) -> None:
        """Advance one quarter (Mesa counts it in ``steps`` and ``time``: one unit a quarter)."""
        quarter = self.steps - 1     # quarters since 2014Q1, this one excluded
        v = self.views()
        frozen = self.year >= self.params["freeze_year"]
        when = Quarter(self._driver_year() + (0.0 if frozen else (quarter % 4) / 4.0),
                       3.0 * quarter)
        trend_quarter = min(quarter, 4 * (self.params["freeze_year"] - FIRST_YEAR))
        w = self.world

        spending = running_cost_quarter(v.spending)
        spending += services.advance_quarter(self.services, w.focus, v.services, not frozen)
        set_asking_prices(self.lands, w.side, v.land.land_price_competition)
        spending += self.land.advance_quarter(
            v.land, trend_quarter, self._workers_at_home() - self.workers_home_2014,
            w.hall_firm_space_m2, w.idle_halls_m2)
        for region, land in self.lands.items():
            if region != w.focus:
                land.advance_neighbour_quarter(v.land)
        cond = self._conditions(v, when.year)
        setting = self._setting(v, cond)
        self.firms.drop_settled_elsewhere(self.n_exposed, np.flatnonzero(w.area))
        arrivals = Firms.arrive(self.firms.weight, w, self.firm_population, v.arrivals,
                                trend_quarter / 4.0, self._rng_arrivals)
        arrivals.serial[:] = self.projects_arrived + np.arange(arrivals.serial.size)
        self.projects_arrived += arrivals.serial.size
        self.firms.append(arrivals)
        draws = QuarterDraws.drawn(self.n_exposed, self.firms.serial[self.n_exposed:],
                                   self.projects_arrived, (self._rng_firms, self._rng_projects))
        self.last_draws = draws
        fq = enterprises.advance_quarter(self.firms, w, v.hazard, v.pipeline, when, self.lands,
                                         setting, self._setting_2014, draws)
        spending += fq.subsidy_yuan
        self.production_months.setdefault(self.year, []).append(fq.months_to_production)

        merchants.advance_quarter(self.merchants, w, v.merchants, when.year,
                                  self._rng_merchants)
        tq = self._move_talent(v, cond, fq, quarter)
        self._census = talent.take_census(self.talent, self.places)
        flows = self._commute(cond, v.commuting)

        signed = fq.signed[self.firms.region[fq.signed] == w.focus]
        self.last = QuarterOutcome(fq, tq, flows, setting.land_price.copy(), spending,
                                   signed, self._worker_surplus(v, cond))
        self.quarter_values = measure_indicators(self)
        self.datacollector.collect(self)
        self.year = FIRST_YEAR + self.steps // 4

    def run_until_year(self, year: int) -> None:
        """Run to the end of calendar ``year`` (Mesa's ``run_until`` takes model time)."""
        self.run_until(quarters_to_end_of(year))

    def views(self) -> Views:
        """The submodels' parameters in force this year (levers switch on at a year's start)."""
        year, views = self._views_in_force
        if year != self._driver_year():
            year = self._driver_year()
            views = Views.of(in_force(self.params, year),
                             neighbours_measures(self.params, year))
            self._views_in_force = (year, views)
        return views

    def _driver_year(self) -> int:
        """The year whose events, trends and levers are in force (``freeze_year``)."""
        return min(self.year, self.params["freeze_year"])

    # --- submodel glue ----------------------------------------------------------------
    def _workers_at_home(self) -> float:
        return float((self.talent.home == self.world.focus).sum() * self.talent.weight)

    def _conditions(self, v: Views, year: float) -> talent.Conditions:
        """What workers face, at the delay and crowding they expect."""
        return talent.conditions(
            self.world, self.places, v.talent, v.commuting, v.households, self.services, year,
            self.commuters.delay_min(v.commuting.event_days_share), self.commuters.bus_load,
            self.markets)

    def setting(self) -> Setting:
        """What a firm choosing a location would weigh now (the workers counted afresh, in
        case they were moved since the last step)."""
        self._census = talent.take_census(self.talent, self.places)
        v = self.views()
        return self._setting(v, self._conditions(v, float(self._driver_year())))

    def _setting(self, v: Views, cond: talent.Conditions) -> Setting:
        """What firms choosing a location weigh this quarter."""
        land_price = self.world.land_price_yuan_m2.copy()
        for region, land in self.lands.items():
            land_price[region] = land.price
        return Setting(v.location, land_price, self.services.copy(), self._staffing(v, cond),
                       v.neighbours)

    def _worker_surplus(self, v: Views, cond: talent.Conditions) -> float:
        """Workers' surplus from their home, job and commute choices against 2014."""
        cond_2014, tp_2014 = self._conditions_2014
        return talent.surplus_yuan(self.talent, cond, v.talent, cond_2014, tp_2014,
                                   self.world, self._logsums_2014, self._census)

    def _staffing(self, v: Views, cond: talent.Conditions) -> Staffing:
        """What firms expect of each region's labour: the cost of their Beijing staff, and
        skilled workers within reach relative to 2014 (scaling the regions' data)."""
        w = self.world
        access = w.worker_access.copy()
        now = talent.labour_market_access(self.talent, cond, v.talent, self._census)
        then = self._access_2014
        growth = np.ones(w.side.size)
        growth[self.places.regions] = np.divide(now, then, out=np.ones_like(now),
                                                where=then > 0)
        cost = talent.staff_cost(cond, v.talent, v.staff, w)
        # A region whose workers are not modelled finds the labour of the one it names.
        like = np.flatnonzero(w.labour_like >= 0)
        growth[like] = growth[w.labour_like[like]]
        cost[like] = cost[w.labour_like[like]]
        return Staffing(cost, access * growth)

    def _move_talent(self, v: Views, cond: talent.Conditions, fq: enterprises.FirmQuarter,
                     quarter: int):
        """Firms that started producing or left again bring or take their jobs; their staff
        follow, commute or leave; then a share of all workers re-chooses home and job."""
        n = self.talent.skill.size
        u_follow, u_reconsider, u_choice = self._rng_talent.random((3, n))
        f = self.firms
        self.markets.move_firm_jobs(f.staff[fq.started] * f.weight, f.region[fq.started],
                                    self.places, 1.0)
        self.markets.move_firm_jobs(f.staff[fq.left_again] * f.weight,
                                    f.region[fq.left_again], self.places, -1.0)
        talent.release(self.talent, fq.left_again)
        talent.staff_follow(self.talent, fq.started, f.region, cond, v.talent,
                            self.world, u_follow)
        jobs = self.markets.jobs(quarter / 4.0, v.talent.background_job_growth)
        return talent.reconsider(self.talent, cond, v.talent, self.world, self.markets, jobs,
                                 u_reconsider, u_choice)

    def _commute(self, cond: talent.Conditions, cp: CommutingParams) -> Flows:
        """Flows over the checkpoints from where everyone now lives and works; commuters
        learn the delay and crowding that follow."""
        flows = self._flows_at(cond, cp)
        self.commuters.learn(flows, cp.delay_learning)
        return flows

    def _settle(self, rng: np.random.Generator) -> None:
        """Start from the equilibrium of 2014 conditions rather than from the drawn homes
        and jobs and an empty road: rounds in which every worker is placed where the
        stationary distribution of the home and job choice puts its kind, filling the homes
        and jobs of 2014 (``talent.place_at_equilibrium``), and commuters learn the delay
        that follows; then the exposed firms' staff are those of their skill who work in
        Beijing."""
        v = self.views()
        t = self.talent
        uniforms = rng.random(t.skill.size)
        for _ in range(SETTLING_ROUNDS):
            cond = self._conditions(v, float(FIRST_YEAR))
            talent.place_at_equilibrium(t, cond, v.talent, self.markets, uniforms)
            self._census = talent.take_census(t, self.places)
            flows = self._flows_at(cond, v.commuting)
            self.commuters.learn(flows, SETTLING_WEIGHT)
        talent.reassign_staff(t, self.world, rng)
        t.moved[:] = False
        t.local[:] = t.home == self.world.focus
        # The workers by kind as they stand between quarters: taken after they move.
        self._census = talent.take_census(t, self.places)
        self._access_2014 = talent.labour_market_access(t, cond, v.talent, self._census)

    def _flows_at(self, cond: talent.Conditions, cp: CommutingParams) -> Flows:
        """Flows from the workers of each kind (skill, car) on each commute: from the
        census of the workers by kind, sums over at most 9 T² cells, not gathers over
        every agent."""
        t, places = self.talent, self.places
        return commuting.flows(self._census.workers(), places.links.crossing,
                               places.links.inbound_peak, cond.p_car, t.weight,
                               self.land.residents, cp)

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
