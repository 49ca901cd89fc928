"""Every parameter of the model, declared once.

A parameter has a name, a default, a unit, a valid range, a role and a source.
Roles follow the EMA Workbench vocabulary:

* ``uncertainty`` -- something we do not know; the calibration fits it or a sweep explores it;
* ``lever`` -- something policy sets; its default is the measure "as it was" up to 2020;
* ``setting`` -- how the simulation is run (scale), not a property of the world.

Each lever gets a companion ``<lever>_start_year``: before that year the lever keeps
its "as it was" default, from the first quarter of that year on it takes the value set.

Everything else -- ``--set`` parsing, ``xianghe params``, scenario validation, sweep
designs, the interactive page and the parameter table in the README -- is derived from
:data:`PARAMS`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Role = Literal["uncertainty", "lever", "setting"]
Kind = Literal["float", "int", "bool"]

FIRST_YEAR = 2014
LAST_YEAR = 2100
DAYS_PER_YEAR = 366


class ParamError(ValueError):
    """A parameter value that is not allowed; the message is one line for the user."""


@dataclass(frozen=True)
class Param:
    """One declared parameter."""

    name: str
    default: float | int | bool
    unit: str
    low: float
    high: float
    role: Role
    group: str
    meaning: str
    source: str
    kind: Kind = "float"

    @property
    def allowed(self) -> str:
        """The allowed values, in words, for error messages."""
        if self.kind == "bool":
            return "true or false"
        kind = "an integer" if self.kind == "int" else "a number"
        return f"{kind} in [{_fmt(self.low)}, {_fmt(self.high)}]"

    def check(self, value: Any) -> float | int | bool:
        """Return ``value`` as this parameter's type, or raise :class:`ParamError`."""
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            raise ParamError(f"parameter {self.name}: got {value!r}; allowed: {self.allowed}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParamError(f"parameter {self.name}: got {value!r}; allowed: {self.allowed}")
        if self.kind == "int" and not float(value).is_integer():
            raise ParamError(f"parameter {self.name}: got {value!r}; allowed: {self.allowed}")
        if math.isnan(value) or not self.low <= value <= self.high:
            raise ParamError(f"parameter {self.name}: got {value!r}; allowed: {self.allowed}")
        return int(value) if self.kind == "int" else float(value)

    def parse(self, text: str) -> float | int | bool:
        """Parse a command-line string such as ``0.3`` or ``true``."""
        text = text.strip()
        if self.kind == "bool":
            lowered = text.lower()
            if lowered in ("true", "1", "yes", "on"):
                return True
            if lowered in ("false", "0", "no", "off"):
                return False
            raise ParamError(f"parameter {self.name}: got {text!r}; allowed: {self.allowed}")
        try:
            number = int(text) if self.kind == "int" else float(text)
        except ValueError:
            raise ParamError(
                f"parameter {self.name}: got {text!r}; allowed: {self.allowed}"
            ) from None
        return self.check(number)


def _fmt(x: float) -> str:
    return f"{x:g}"


def _p(name, default, unit, low, high, role, group, meaning, source, kind="float") -> Param:
    return Param(name, default, unit, low, high, role, group, meaning, source, kind)


REPORT = "county report 2021 (BRIEF)"
ASSUMED = "assumption, fitted by calibration"
ASSUMED_FIXED = "assumption, to be set from independent evidence"

_DECLARED: list[Param] = [
    # --- scale -------------------------------------------------------------------------
    _p("talent_agents", 50_000, "agents", 100, 5_000_000, "setting", "scale",
       "talent agents standing for the workforce; firms and merchants scale with it "
       "(one agent per real firm or merchant from 50,000 talent agents up)", "CONTRACT", "int"),
    # --- population ----------------------------------------------------------------------
    _p("xianghe_workforce_people", 230_000, "people", 50_000, 1_000_000, "uncertainty",
       "population", "workers living or working in Xianghe in 2014",
       "census: 449,038 residents 2020, 343,372 in 2010; ~0.6 employed (assumption)", "int"),
    _p("firm_pool", 6_000, "firms", 500, 50_000, "uncertainty", "population",
       "Beijing enterprises exposed to relocation pressure in 2014",
       "BRIEF: 2,800+ manufacturing/polluting firms left Beijing 2014-2020; pool size assumed",
       "int"),
    _p("firm_staff_median", 60, "people", 5, 2_000, "uncertainty", "population",
       "median staff of an exposed firm (lognormal, sigma 0.9)", ASSUMED_FIXED),
    _p("high_skill_share", 0.18, "share", 0.0, 1.0, "uncertainty", "population",
       "share of high-skill workers (university degree)", "census education shares (assumption)"),
    _p("skilled_share", 0.37, "share", 0.0, 1.0, "uncertainty", "population",
       "share of skilled workers (vocational qualification); the rest are general",
       "census education shares (assumption)"),
    _p("staff_high_skill_share", 0.30, "share", 0.0, 1.0, "uncertainty", "population",
       "share of high-skill workers among the Beijing staff of exposed firms",
       ASSUMED_FIXED),
    _p("children_share", 0.45, "share", 0.0, 1.0, "uncertainty", "population",
       "share of households with children of school age", ASSUMED_FIXED),
    _p("car_share_households", 0.75, "share", 0.0, 1.0, "uncertainty", "population",
       "share of households with a car", ASSUMED_FIXED),
    _p("beijing_plate_share", 0.72, "share", 0.0, 1.0, "uncertainty", "population",
       "share of Xianghe-resident car owners who drive a Beijing-plated car (their own, "
       "a relative's or a rented plate) and need no entry permit", ASSUMED),
    _p("initial_out_commuter_share", 0.25, "share", 0.0, 0.9, "uncertainty", "population",
       "share of Xianghe-resident workers with a job in Beijing or Tongzhou in 2014",
       "BTI 2022: ~330,000 Hebei/Tianjin commuters, 43% from the three counties (assumption)"),
    _p("initial_in_commuter_share", 0.04, "share", 0.0, 0.5, "uncertainty", "population",
       "share of the Xianghe workforce living in Beijing or Tongzhou in 2014", ASSUMED_FIXED),
    # --- enterprise relocation hazard ----------------------------------------------------
    _p("firm_base_move_rate", 0.032, "1/year", 0.0, 0.5, "uncertainty", "enterprises",
       "rate at which a firm considers moving without policy push (some then stay, so "
       "the realised rate is lower)",
       "Tang, Li, Ni & Yuan 2020, China Econ. Rev. 64:101560 (3.2% a year moved)"),
    _p("catalogue_push", 10.0, "factor", 0.0, 50.0, "uncertainty", "enterprises",
       "extra relocation hazard of a firm whose sub-class the catalogue restricts, "
       "right after an edition", ASSUMED),
    _p("catalogue_push_halflife_years", 1.5, "years", 0.1, 20.0, "uncertainty", "enterprises",
       "half-life of the enforcement push after each catalogue edition", ASSUMED),
    _p("catalogue_share_2018", 0.85, "share", 0.0, 1.0, "uncertainty", "enterprises",
       "share of manufacturing sub-classes restricted by the 2018 edition "
       "(2014: 45%, 2015: 78% are data)", "BRIEF (2014, 2015); 2018 value assumed"),
    _p("mobility_sigma", 1.2, "log sd", 0.0, 3.0, "uncertainty", "enterprises",
       "spread of firms' ease of moving (lognormal); the easy movers go first", ASSUMED_FIXED),
    _p("land_rent_push", 0.6, "elasticity", 0.0, 5.0, "uncertainty", "enterprises",
       "elasticity of the move hazard to a firm's Beijing land cost share",
       "Tang et al. 2020; Zheng & Shi 2018, Land Use Policy 76:58-67"),
    _p("beta_cost", 12.0, "1/(cost share)", 0.0, 200.0, "uncertainty", "enterprises",
       "disutility of location cost as a share of revenue (land, wages, net of subsidy)",
       "Bartik 1991: elasticity -1 to -3 within a metro (assumption)"),
    _p("beta_permit_month", 0.06, "1/month", 0.0, 1.0, "uncertainty", "enterprises",
       "disutility of a month from signing to permits", ASSUMED),
    _p("beta_ties_km", 0.004, "1/km", 0.0, 1.0, "uncertainty", "enterprises",
       "disutility of distance to Beijing partners, per km, for a firm with full ties",
       "Nguyen et al. 2013 (structure); value assumed"),
    _p("beta_public_services_firm", 1.5, "1/index", 0.0, 20.0, "uncertainty", "enterprises",
       "weight of staff public services in the firm's choice", ASSUMED_FIXED),
    _p("beta_worker_access", 0.8, "1/log", 0.0, 10.0, "uncertainty", "enterprises",
       "weight of the log of skilled-worker access", ASSUMED_FIXED),
    _p("xianghe_firm_asc", -2.1, "utility", -20.0, 20.0, "uncertainty", "enterprises",
       "Xianghe's alternative-specific constant in the location logit", ASSUMED),
    _p("stay_asc", 1.5, "utility", -20.0, 20.0, "uncertainty", "enterprises",
       "constant of staying in Beijing once a firm considers moving", ASSUMED),
    _p("restricted_stay_penalty", 3.0, "utility", 0.0, 20.0, "uncertainty", "enterprises",
       "disutility of staying in Beijing for a firm the catalogue restricts", ASSUMED),
    _p("firm_revenue_median_yuan", 80000000.0, "yuan/year", 1e6, 1e10, "uncertainty", "enterprises",
       "median revenue of an exposed firm (lognormal, sigma 1.0)", ASSUMED),
    _p("land_need_m2_per_staff", 250.0, "m2/person", 10.0, 5_000.0, "uncertainty",
       "enterprises", "industrial land a manufacturing firm needs per staff member "
       "(services need a fifth of it)", ASSUMED_FIXED),
    _p("investment_yuan_per_m2", 18000.0, "yuan/m2", 500.0, 100_000.0, "uncertainty",
       "enterprises", "intended investment per m2 of land of a relocating project", ASSUMED),
    _p("tax_share_of_revenue", 0.055, "share", 0.0, 0.5, "uncertainty", "enterprises",
       "taxes paid by a producing firm as a share of revenue",
       "assumption: VAT + income tax of Chinese manufacturing firms, to be checked"),
    # --- pipeline ------------------------------------------------------------------------
    _p("construction_months", 12.0, "months", 1.0, 60.0, "uncertainty", "pipeline",
       "months of construction after permits", ASSUMED_FIXED),
    _p("land_wait_max_quarters", 6, "quarters", 1, 40, "uncertainty", "pipeline",
       "quarters a signed project waits for land before it is abandoned as blocked",
       ASSUMED_FIXED, "int"),
    _p("project_failure_rate", 0.03, "1/year", 0.0, 1.0, "uncertainty", "pipeline",
       "rate at which a project in the pipeline fails", ASSUMED),
    _p("leave_again_rate", 0.008, "1/year", 0.0, 1.0, "uncertainty", "pipeline",
       "rate at which a producing polluting firm leaves again, per unit of threshold",
       ASSUMED),
    _p("env_threshold_growth", 0.25, "1/year", 0.0, 2.0, "uncertainty", "pipeline",
       "yearly rise of environmental and energy thresholds (2014 = 1)", ASSUMED_FIXED),
    # --- merchants -----------------------------------------------------------------------
    _p("merchant_follow_asc", 2.0, "utility", -10.0, 10.0, "uncertainty", "merchants",
       "constant of following the market to Xianghe's platform", ASSUMED),
    _p("merchant_elsewhere_asc", 0.0, "utility", -10.0, 10.0, "uncertainty", "merchants",
       "constant of moving to another market elsewhere (quitting is the reference, 0)",
       ASSUMED_FIXED),
    _p("merchant_exit_rate", 0.05, "1/year", 0.0, 1.0, "uncertainty", "merchants",
       "rate at which a merchant trading in Xianghe quits", ASSUMED_FIXED),
    # --- talent --------------------------------------------------------------------------
    _p("talent_reconsider_rate", 0.10, "1/year", 0.0, 1.0, "uncertainty", "talent",
       "rate at which a worker reconsiders home and job", ASSUMED_FIXED),
    _p("beta_log_wage", 3.0, "1/log yuan", 0.0, 20.0, "uncertainty", "talent",
       "weight of the log wage in home/job choice", ASSUMED_FIXED),
    _p("beta_housing", 2.5, "1/(cost share)", 0.0, 20.0, "uncertainty", "talent",
       "disutility of housing cost as a share of income", ASSUMED_FIXED),
    _p("beta_commute", 3.0, "1/(cost share)", 0.0, 20.0, "uncertainty", "talent",
       "disutility of generalised commuting cost as a share of income", ASSUMED_FIXED),
    _p("beta_services_high", 3.0, "1/index", 0.0, 20.0, "uncertainty", "talent",
       "weight of public services for high-skill households",
       "Su, Hua & Liang 2019, IRSR 42:400-430 (high-skilled weigh them more)"),
    _p("beta_services_other", 1.5, "1/index", 0.0, 20.0, "uncertainty", "talent",
       "weight of public services for skilled and general households", "Su et al. 2019"),
    _p("home_move_cost", 3.0, "utility", 0.0, 20.0, "uncertainty", "talent",
       "disutility of moving home", ASSUMED_FIXED),
    _p("job_change_cost", 1.5, "utility", 0.0, 20.0, "uncertainty", "talent",
       "disutility of changing job region", ASSUMED_FIXED),
    _p("value_of_time_share", 0.5, "share of wage", 0.0, 2.0, "uncertainty", "talent",
       "value of travel time as a share of the after-tax hourly wage",
       "Whittington & Cook 2018, J. Benefit-Cost Anal."),
    _p("purchase_restriction_premium", 0.35, "share", 0.0, 3.0, "uncertainty", "talent",
       "extra housing cost of a household barred from buying in Xianghe "
       "(non-local, social security outside Hebei; restriction from 2017Q2)", ASSUMED_FIXED),
    # --- commuting -----------------------------------------------------------------------
    _p("noncommute_trips_per_resident", 0.045, "persons/resident/day", 0.0, 1.0,
       "uncertainty", "commuting",
       "Xianghe residents crossing the border on a working day for other purposes",
       ASSUMED_FIXED),
    _p("commute_days_share", 0.9, "share", 0.0, 1.0, "uncertainty", "commuting",
       "share of working days a cross-border commuter actually crosses", ASSUMED_FIXED),
    _p("checkpoint_service_veh_h", 180.0, "vehicles/hour/lane", 10.0, 2_000.0, "uncertainty",
       "commuting", "vehicles one checkpoint lane clears per hour on normal days", ASSUMED),
    _p("peak_share", 0.6, "share", 0.01, 1.0, "uncertainty", "commuting",
       "share of the day's Beijing-bound vehicles arriving in the morning peak", ASSUMED_FIXED),
    _p("peak_hours", 3.0, "hours", 0.25, 12.0, "uncertainty", "commuting",
       "length of the morning peak", ASSUMED_FIXED),
    _p("event_service_factor", 0.55, "share", 0.05, 1.0, "uncertainty", "commuting",
       "checkpoint throughput on major-event security days relative to normal days",
       ASSUMED_FIXED),
    _p("event_days_share", 0.08, "share", 0.0, 1.0, "uncertainty", "commuting",
       "share of working days under major-event security", ASSUMED_FIXED),
    _p("delay_learning", 0.4, "share", 0.01, 1.0, "uncertainty", "commuting",
       "weight of the latest quarter in the checkpoint delay and bus crowding commuters "
       "expect (adaptive expectations)", ASSUMED_FIXED),
    _p("car_occupancy", 1.3, "persons/vehicle", 1.0, 5.0, "uncertainty", "commuting",
       "persons per cross-border car", ASSUMED_FIXED),
    _p("bus_line_capacity", 9000.0, "persons/day", 100.0, 50_000.0, "uncertainty",
       "commuting", "cross-border passengers one bus line carries a working day",
       ASSUMED_FIXED),
    _p("bus_asc", -2.3, "utility", -20.0, 20.0, "uncertainty", "commuting",
       "constant of the bus against the car (stops badly placed, transfers)", ASSUMED),
    # --- land ----------------------------------------------------------------------------
    _p("county_land_quota_km2", 1.9, "km2/year", 0.0, 20.0, "uncertainty", "land",
       "new construction-land quota the county receives a year", ASSUMED),
    _p("construction_land_2014_km2", 118.5, "km2", 0.0, 1_000.0, "uncertainty", "land",
       "construction land in the focus county at the start of 2014",
       "back-cast from the report's 27.8% of 458 km2 in 2020 (assumption)"),
    _p("plan_release_share", 0.7, "share", 0.0, 1.0, "uncertainty", "land",
       "share of the yearly quota usable before the territorial spatial plan is approved",
       ASSUMED_FIXED),
    _p("resident_growth", 6_000.0, "people/year", 0.0, 100_000.0, "uncertainty", "land",
       "residents the county gains a year besides the workers the model moves",
       "census 2010-2020: +10,600 a year in all (assumption for the part not modelled)"),
    _p("residents_per_worker", 1.8, "people/worker", 1.0, 5.0, "uncertainty", "land",
       "residents per resident worker (household size over earners)",
       "census 449,038 residents against ~250,000 workers (assumption)"),
    _p("housing_land_m2_per_resident", 60.0, "m2/person", 0.0, 500.0, "uncertainty", "land",
       "construction land taken by housing and infrastructure per new resident",
       ASSUMED_FIXED),
    _p("background_land_km2", 0.75, "km2/year", 0.0, 20.0, "uncertainty", "land",
       "construction land taken a year by infrastructure and local firms", ASSUMED),
    _p("land_price_elasticity", 0.8, "elasticity", 0.0, 5.0, "uncertainty", "land",
       "elasticity of the industrial land price to the scarcity of land left under the cap",
       ASSUMED_FIXED),
    _p("idle_industrial_land_km2", 3.0, "km2", 0.0, 50.0, "uncertainty", "land",
       "idle land held by firms that the space-optimisation fund can redevelop", ASSUMED_FIXED),
    _p("space_fund_cost_yuan_m2", 1_500.0, "yuan/m2", 10.0, 100_000.0, "uncertainty", "land",
       "public cost of returning one m2 of idle land to use", ASSUMED_FIXED),
    # --- public services -----------------------------------------------------------------
    _p("services_drift", 0.006, "index/year", 0.0, 0.1, "uncertainty", "public services",
       "yearly rise of Xianghe's public-service indices as it was "
       "(cross-region services, 30 hospitals under insurance agreement)", REPORT),
    _p("services_yuan_per_point", 2.0e9, "yuan/index point", 1e7, 1e12, "uncertainty",
       "public services", "yearly spending that closes one hundredth of the gap between "
       "Xianghe's public-service indices and Beijing's", ASSUMED_FIXED),
    # --- levers: targeting and attraction modes ------------------------------------------
    _p("sector_targeting", 0.0, "strength", 0.0, 1.0, "lever", "targeting",
       "focus on functions Beijing cannot hold, cannot do without, cannot go far: "
       "utility bonus for '1+3+2' sectors, screening of general manufacturing", REPORT),
    _p("mode_industry_chain", False, "on/off", 0, 1, "lever", "targeting",
       "industry-chain attraction (auto parts, equipment, bio-health leaders)", REPORT, "bool"),
    _p("mode_associations", False, "on/off", 0, 1, "lever", "targeting",
       "attraction through industry associations (back-office services)", REPORT, "bool"),
    _p("mode_zgc_parks", False, "on/off", 0, 1, "lever", "targeting",
       "parks co-built with Zhongguancun, park in park with incubators", REPORT, "bool"),
    _p("mode_platform_branches", False, "on/off", 0, 1, "lever", "targeting",
       "branches of large platform firms", REPORT, "bool"),
    _p("mode_bonus", 0.8, "utility", 0.0, 10.0, "uncertainty", "targeting",
       "utility an attraction mode adds for the sectors it works on", ASSUMED_FIXED),
    _p("mode_cost_yuan", 3.0e7, "yuan/year", 0.0, 1e10, "uncertainty", "targeting",
       "yearly public cost of running one attraction mode", ASSUMED_FIXED),
    # --- levers: permits -----------------------------------------------------------------
    _p("permit_devolution", False, "on/off", 0, 1, "lever", "permits",
       "provincial and city approval powers devolved to the county", REPORT, "bool"),
    _p("commitment_system", False, "on/off", 0, 1, "lever", "permits",
       "enterprise-investment commitment system, build first and inspect after", REPORT, "bool"),
    _p("devolution_permit_months", 4.0, "months", 0.0, 60.0, "uncertainty", "permits",
       "months for permits once powers are devolved (as it was: the region's own)",
       ASSUMED_FIXED),
    _p("commitment_overlap_share", 0.6, "share", 0.0, 1.0, "uncertainty", "permits",
       "share of the permit time that overlaps construction under the commitment system",
       ASSUMED_FIXED),
    # --- levers: land --------------------------------------------------------------------
    _p("provincial_land_quota", False, "on/off", 0, 1, "lever", "land",
       "major projects put into provincial key projects, landing on provincial quota",
       REPORT, "bool"),
    _p("major_project_yuan", 3.0e8, "yuan", 0.0, 1e11, "uncertainty", "land",
       "intended investment from which a project counts as major", ASSUMED_FIXED),
    _p("space_fund_yuan", 0.0, "yuan/year", 0.0, 1e10, "lever", "land",
       "industrial-space optimisation fund co-developing idle land", REPORT),
    _p("fast_spatial_plan", False, "on/off", 0, 1, "lever", "land",
       "faster approval of the territorial spatial plan: quota released at once",
       REPORT, "bool"),
    _p("hall_conversion", False, "on/off", 0, 1, "lever", "land",
       "repurpose 700,000 m2 of idle exhibition halls for markets and small firms",
       REPORT, "bool"),
    # --- levers: policy innovation -------------------------------------------------------
    _p("ftz_extension", False, "on/off", 0, 1, "lever", "subsidies",
       "free-trade-zone and services-opening pilot policies extended to Xianghe",
       REPORT, "bool"),
    _p("investment_subsidy_rate", 0.0, "share of investment", 0.0, 0.5, "lever", "subsidies",
       "subsidy and reward paid as a share of a project's intended investment", REPORT),
    _p("incubator_fund_yuan", 0.0, "yuan/year", 0.0, 1e10, "lever", "subsidies",
       "special fund for pilot bases and incubators", REPORT),
    _p("services_spending_yuan", 0.0, "yuan/year", 0.0, 1e11, "lever", "talent",
       "spending to close the public-service gap (schools, hospitals)", REPORT),
    _p("talent_housing_eligibility", False, "on/off", 0, 1, "lever", "talent",
       "high-level talent with Beijing social security who work in Xianghe may buy a home",
       REPORT, "bool"),
    _p("vocational_recognition", False, "on/off", 0, 1, "lever", "talent",
       "mutual recognition of vocational-school status with Beijing", REPORT, "bool"),
    # --- levers: commuting ---------------------------------------------------------------
    _p("checkpoint_lanes", 36, "lanes", 1, 400, "lever", "commuting",
       "inbound inspection lanes over the Xianghe-Beijing checkpoints", ASSUMED_FIXED, "int"),
    _p("bus_lines", 6, "lines", 0, 200, "lever", "commuting",
       "cross-border bus lines", "Xinhua 2017-07-29: 938, 938 express, 810, "
       "two commuter expresses, 101", "int"),
    _p("entry_permits_per_year", 12, "permits/year", 0, 366, "lever", "commuting",
       "entry permits a non-Beijing car may get a year (limit from Nov 2019)", "BRIEF", "int"),
    _p("entry_permit_days", 7, "days", 1, 366, "lever", "commuting",
       "days one entry permit lasts", "BRIEF", "int"),
    _p("bus_line_cost_yuan", 6.0e6, "yuan/year", 0.0, 1e9, "uncertainty", "commuting",
       "yearly public subsidy for running one cross-border bus line", ASSUMED_FIXED),
    _p("lane_cost_yuan", 1.5e6, "yuan/year", 0.0, 1e9, "uncertainty", "commuting",
       "yearly cost of staffing one checkpoint lane", ASSUMED_FIXED),
]


def _with_start_years(declared: list[Param]) -> dict[str, Param]:
    params: dict[str, Param] = {}
    for p in declared:
        params[p.name] = p
        if p.role == "lever":
            start = f"{p.name}_start_year"
            params[start] = Param(
                start, FIRST_YEAR, "year", FIRST_YEAR, LAST_YEAR, "lever", p.group,
                f"first year in which {p.name} takes the value set", "scenario choice", "int",
            )
    return params


PARAMS: dict[str, Param] = _with_start_years(_DECLARED)
LEVERS: tuple[str, ...] = tuple(p.name for p in _DECLARED if p.role == "lever")


def skill_shares(high: float, skilled: float) -> np.ndarray:
    """Shares of high-skill, skilled and general workers (the rest), summing to one."""
    shares = np.array([high, skilled, max(0.0, 1.0 - high - skilled)])
    return shares / shares.sum()


def defaults() -> dict[str, float | int | bool]:
    """Every parameter at its default."""
    return {name: p.default for name, p in PARAMS.items()}


def lookup(name: str) -> Param:
    """The declaration of ``name``, or a :class:`ParamError` naming the problem."""
    try:
        return PARAMS[name]
    except KeyError:
        raise ParamError(
            f"unknown parameter {name!r}; `xianghe params` lists the {len(PARAMS)} allowed"
        ) from None


def resolve(overrides: dict[str, Any] | None = None) -> dict[str, float | int | bool]:
    """Defaults updated by ``overrides``, each checked against its declaration."""
    values = defaults()
    for name, value in (overrides or {}).items():
        values[name] = lookup(name).check(value)
    permit_days = values["entry_permits_per_year"] * values["entry_permit_days"]
    if permit_days > DAYS_PER_YEAR:
        raise ParamError(
            f"parameters entry_permits_per_year x entry_permit_days: {permit_days} days; "
            f"allowed: at most {DAYS_PER_YEAR} days a year"
        )
    for high in ("high_skill_share", "staff_high_skill_share"):
        total = values[high] + values["skilled_share"]
        if total > 1.0:
            raise ParamError(
                f"parameters {high} + skilled_share: {total:g}; allowed: at most 1"
            )
    return values
