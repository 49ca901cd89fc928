"""Enterprise relocation: a move hazard, a location logit, then a project pipeline.

Mechanism (structure after Nguyen et al. 2013, Ann. Reg. Sci. 50:685-703, and UrbanSim's
employment location choice: a stay/move decision, then a location logit):

1. **Hazard.** Each quarter a Beijing firm considers moving at the yearly rate
   ``base * mobility * (1 + push * restricted * 0.5**(years since edition / half-life))
   * (land cost share / median) ** land_rent_push``. The base is the Chinese average firm
   migration rate (3.2 % a year, Tang et al. 2020). The catalogue of restricted industries
   restricts a growing share of sub-classes (2014: 45 %, 2015: 78 %, 2018 edition); a firm
   is restricted when its sub-class rank falls under the share. Mobility is lognormal, so
   the firms that move easily move first and relocations thin out by themselves: the
   report's "easy relocations are done" is an outcome, not an input.
2. **Location.** A firm that considers moving chooses between staying and each destination
   region by a logit on the cost of land and wages as a share of revenue (net of
   subsidies), months from signing to permits, distance to its Beijing partners weighted by
   its ties, public services for its staff, access to skilled workers, and the bonus the
   focus county's measures give its sector. Restricted firms cannot go to regions inside
   Beijing and find staying costly.
3. **Pipeline.** Choosing a destination signs a project: signed -> land acquired (or blocked
   after waiting too long for land) -> permits -> construction -> producing. Projects fail
   at a rate that rises with environmental thresholds for polluting sectors; producing
   polluting firms leave again at a rate that rises with the same thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from .choice import draw, hazard_probability, logit_probabilities
from .params import skill_shares
from .world import World

# Yearly cost of holding a yuan of land: the user cost of capital tied up in land.
LAND_ANNUALISATION = 0.06
# Years over which a subsidy on intended investment is weighed against yearly costs.
SUBSIDY_YEARS = 10.0
# Skilled-worker access of the focus county once vocational status is mutually recognised.
VOCATIONAL_ACCESS_GAIN = 1.3
# Largest project a repurposed exhibition hall can take, m2 of land.
HALL_MAX_PROJECT_M2 = 10_000.0
# Full strength of the incubator fund: yuan a year from which it works at its maximum.
INCUBATOR_FULL_YUAN = 1.0e8
# Catalogue editions: (decimal year in force, share of manufacturing sub-classes restricted).
# The 2018 share is the parameter catalogue_share_2018.
CATALOGUE_EDITIONS = ((2014.5, 0.45), (2015.5, 0.78), (2018.75, None))


class State(IntEnum):
    """Where a firm is; every firm is in exactly one state."""

    IN_BEIJING = 0
    SIGNED = 1
    PERMITS = 2
    BUILDING = 3
    PRODUCING = 4
    LEFT_AGAIN = 5
    FAILED = 6
    BLOCKED = 7


PIPELINE = (State.SIGNED, State.PERMITS, State.BUILDING)
# States of a firm that has left Beijing (failed and blocked projects never did).
MOVED = (*PIPELINE, State.PRODUCING, State.LEFT_AGAIN)


def catalogue(year: float, share_2018: float) -> tuple[float, float]:
    """Share of sub-classes restricted at ``year`` and years since the latest edition."""
    share, since = 0.0, np.inf
    for start, edition_share in CATALOGUE_EDITIONS:
        if year >= start:
            share = share_2018 if edition_share is None else edition_share
            since = year - start
    return share, since


def environmental_threshold(year: float, growth: float) -> float:
    """Stringency of environmental and energy thresholds, 1 in 2014."""
    return 1.0 + growth * max(0.0, year - 2014.0)


def move_rate(mobility, restricted, land_ratio, push, since, halflife, base, land_push):
    """Yearly rate at which each Beijing firm considers moving (see module docstring).

    ``land_ratio`` is a firm's Beijing land cost share over the median firm's.
    """
    decay = 0.0 if not np.isfinite(since) else 0.5 ** (since / halflife)
    catalogue_push = 1.0 + push * restricted * decay
    return base * mobility * catalogue_push * land_ratio**land_push


@dataclass
class Firms:
    """Beijing firms exposed to relocation pressure, one array entry per firm agent."""

    weight: float            # real firms per agent
    sector: np.ndarray
    staff: np.ndarray        # people
    revenue: np.ndarray      # yuan/year
    land_m2: np.ndarray
    investment: np.ndarray   # yuan, intended investment of a project
    ties: np.ndarray         # 0..1 strength of ties to Beijing partners
    mobility: np.ndarray     # ease of moving, mean 1
    rank: np.ndarray         # sub-class rank against the catalogue share
    land_ratio: np.ndarray   # Beijing land cost share over the median firm's (fixed)
    state: np.ndarray
    region: np.ndarray       # destination region, -1 while in Beijing
    sign_month: np.ndarray
    stage_end_month: np.ndarray
    wait_quarters: np.ndarray

    @classmethod
    def create(cls, n: int, weight: float, world: World, p: dict, rng: np.random.Generator):
        """Draw ``n`` firm agents."""
        sector = rng.choice(len(world.sector_names), size=n, p=world.sector_share)
        size = rng.lognormal(0.0, 1.0, n)
        revenue = p["firm_revenue_median_yuan"] * world.sector_revenue[sector] * size
        staff = p["firm_staff_median"] * size**0.7 * rng.lognormal(0.0, 0.5, n)
        land = staff * p["land_need_m2_per_staff"] * world.sector_land[sector]
        investment = land * p["investment_yuan_per_m2"] * rng.lognormal(0.0, 0.4, n)
        sigma = p["mobility_sigma"]
        land_share = land * world.land_price_yuan_m2[world.region("beijing")] / revenue
        return cls(
            weight=weight,
            sector=sector,
            staff=staff,
            revenue=revenue,
            land_m2=land,
            investment=investment,
            ties=rng.beta(2.0, 2.0, n),
            mobility=rng.lognormal(-0.5 * sigma**2, sigma, n),
            rank=rng.random(n),
            land_ratio=land_share / np.median(land_share),
            state=np.zeros(n, dtype=np.int8),
            region=np.full(n, -1, dtype=np.int8),
            sign_month=np.zeros(n),
            stage_end_month=np.zeros(n),
            wait_quarters=np.zeros(n, dtype=np.int16),
        )

    def restricted(self, world: World, share: float) -> np.ndarray:
        """Whether each firm's sub-class is on the catalogue."""
        return self.rank < share * world.sector_catalogue[self.sector]

    def location_cost_share(self, world: World, land_price: np.ndarray,
                            subsidy_rate: np.ndarray, skill_mix: np.ndarray) -> np.ndarray:
        """Yearly land and wage cost net of subsidy, over revenue, (n, R).

        The wage bill is priced at the region's wages: staff who follow keep their Beijing
        pay for a while, but the firm replaces them at local pay as they leave.
        """
        wage_bill = world.wage_yuan @ skill_mix
        cost = (
            self.land_m2[:, None] * land_price[None, :] * LAND_ANNUALISATION
            + self.staff[:, None] * wage_bill[None, :]
            - self.investment[:, None] * subsidy_rate[None, :] / SUBSIDY_YEARS
        )
        return cost / self.revenue[:, None]


def sector_bonus(world: World, p: dict) -> np.ndarray:
    """Utility the focus county's targeting and attraction measures add, by sector."""
    bonus = p["mode_bonus"]
    targeting = p["sector_targeting"]
    modes = np.array([p["mode_industry_chain"], p["mode_associations"],
                      p["mode_zgc_parks"], p["mode_platform_branches"]], dtype=float)
    incubator = min(1.0, p["incubator_fund_yuan"] / INCUBATOR_FULL_YUAN)
    return bonus * (
        targeting * np.where(world.sector_target, 1.0, -world.sector_pollution)
        + world.sector_modes.astype(float) @ modes
        + p["ftz_extension"] * world.sector_ftz
        + incubator * world.sector_incubator
    )


def permit_months(world: World, p: dict) -> np.ndarray:
    """Months from land to permits in each region, with the focus county's reforms."""
    months = world.permit_months.copy()
    if p["permit_devolution"]:
        months[world.focus] = min(months[world.focus], p["devolution_permit_months"])
    if p["commitment_system"]:
        months[world.focus] *= 1.0 - p["commitment_overlap_share"]
    return months


def location_utilities(firms: Firms, world: World, p: dict, land_price: np.ndarray,
                       services: np.ndarray, restricted: np.ndarray,
                       origin: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Utilities of staying (column 0) and of each destination region, and availability.

    Returns:
        utilities (n, 1 + D), availability (n, 1 + D), destination region indices (D,).
    """
    destinations = np.flatnonzero(world.firm_destination)
    focus = world.focus
    subsidy = np.zeros(len(world.region_names))
    subsidy[focus] = p["investment_subsidy_rate"]
    access = world.worker_access.copy()
    if p["vocational_recognition"]:
        access[focus] *= VOCATIONAL_ACCESS_GAIN
    asc = world.firm_asc.copy()
    asc[focus] = p["xianghe_firm_asc"]
    months = permit_months(world, p)
    skill_mix = skill_shares(p["staff_high_skill_share"], p["skilled_share"])
    cost = firms.location_cost_share(world, land_price, subsidy, skill_mix)
    distance = world.distance_km[origin]
    region_terms = (
        asc
        - p["beta_permit_month"] * months
        + p["beta_public_services_firm"] * services.mean(axis=1)
        + p["beta_worker_access"] * np.log(access)
    )
    v = (
        region_terms[None, :]
        - p["beta_cost"] * cost
        - p["beta_ties_km"] * firms.ties[:, None] * distance[None, :]
    )
    v[:, focus] += sector_bonus(world, p)[firms.sector]
    stay = (
        p["stay_asc"] - p["restricted_stay_penalty"] * restricted
        - p["beta_cost"] * cost[:, origin] + region_terms[origin] - world.firm_asc[origin]
    )
    utilities = np.column_stack([stay, v[:, destinations]])
    available = np.ones_like(utilities, dtype=bool)
    available[:, 1:] = ~(world.in_beijing[destinations][None, :] & restricted[:, None])
    return utilities, available, destinations



@dataclass
class QuarterDraws:
    """The random numbers firms use in one quarter, drawn in fixed number (CRN)."""

    hazard: np.ndarray
    choice: np.ndarray
    failure: np.ndarray
    leave: np.ndarray
    timing: np.ndarray
    duration: np.ndarray  # (n, 2) standard normals: permit and construction times

    @classmethod
    def draw(cls, n: int, rng: np.random.Generator) -> "QuarterDraws":
        u = rng.random((5, n))
        return cls(u[0], u[1], u[2], u[3], u[4], rng.standard_normal((n, 2)))


@dataclass
class FirmQuarter:
    """What the firms did in one quarter."""

    signed: np.ndarray            # firms that signed a project (any destination)
    started: np.ndarray           # firms that started producing (any destination)
    months_to_production: np.ndarray  # of the focus-county starters
    left_again: np.ndarray        # firms that left the focus county again
    subsidy_yuan: float


def _stage_months(mean_months: np.ndarray | float, normals: np.ndarray) -> np.ndarray:
    return mean_months * np.exp(0.25 * normals - 0.5 * 0.25**2)


def advance_quarter(firms: Firms, world: World, p: dict, year: float, month: float,
                    land, land_price: np.ndarray, services: np.ndarray,
                    draws: QuarterDraws) -> FirmQuarter:
    """One quarter of relocation decisions and project progress, for all firms at once."""
    focus = world.focus
    origin = world.region("beijing")
    share, since = catalogue(year, p["catalogue_share_2018"])
    restricted = firms.restricted(world, share)
    threshold = environmental_threshold(year, p["env_threshold_growth"])
    pollution = world.sector_pollution[firms.sector]
    s = firms.state
    end_of_quarter = month + 3.0

    # 1. Beijing firms consider moving and choose where.
    rate = move_rate(firms.mobility, restricted, firms.land_ratio, p["catalogue_push"], since, p["catalogue_push_halflife_years"],
                     p["firm_base_move_rate"], p["land_rent_push"])
    considering = np.flatnonzero((s == State.IN_BEIJING)
                                 & (draws.hazard < hazard_probability(rate)))
    signed = considering[:0]
    subsidy = 0.0
    if considering.size:
        sub = _subset(firms, considering)
        v, available, destinations = location_utilities(
            sub, world, p, land_price, services, restricted[considering], origin)
        choice = draw(logit_probabilities(v, available), draws.choice[considering])
        signed = considering[choice > 0]
        firms.region[signed] = destinations[choice[choice > 0] - 1]
        s[signed] = State.SIGNED
        firms.sign_month[signed] = month + 3.0 * draws.timing[signed]
        firms.wait_quarters[signed] = 0
        in_focus = signed[firms.region[signed] == focus]
        subsidy = float(firms.investment[in_focus].sum() * p["investment_subsidy_rate"])

    # 2. Projects under way fail at a rate that rises with environmental thresholds.
    incubator = min(1.0, p["incubator_fund_yuan"] / INCUBATOR_FULL_YUAN)
    fail_rate = (p["project_failure_rate"] * (1.0 + pollution * (threshold - 1.0))
                 * (1.0 - 0.5 * incubator * world.sector_incubator[firms.sector]))
    in_pipeline = np.isin(s, PIPELINE)
    failing = in_pipeline & (draws.failure < hazard_probability(fail_rate))
    failing[signed] = False
    s[failing] = State.FAILED

    # 3. Signed projects wait for land: only the focus county's land is accounted.
    waiting = np.flatnonzero(s == State.SIGNED)
    elsewhere = waiting[firms.region[waiting] != focus]
    queue = waiting[firms.region[waiting] == focus]
    queue = queue[np.argsort(firms.sign_month[queue], kind="stable")]
    granted_at = np.full(len(s), np.nan)
    granted_at[elsewhere] = firms.sign_month[elsewhere]
    provincial = (np.full(queue.size, p["provincial_land_quota"], dtype=bool)
                  & (firms.investment[queue] >= p["major_project_yuan"]))
    small = ((firms.land_m2[queue] <= HALL_MAX_PROJECT_M2)
             & (world.sector_pollution[firms.sector[queue]] == 0))
    # An agent standing for several firms needs the land of all of them.
    granted = land.allocate(firms.land_m2[queue] * firms.weight, provincial, small)
    granted_at[queue[granted]] = np.maximum(firms.sign_month[queue[granted]], month)
    got_land = np.flatnonzero(~np.isnan(granted_at))
    s[got_land] = State.PERMITS
    months = permit_months(world, p)[firms.region[got_land]]
    firms.stage_end_month[got_land] = granted_at[got_land] + _stage_months(
        months, draws.duration[got_land, 0])
    still = queue[~granted]
    firms.wait_quarters[still] += 1
    blocked = still[firms.wait_quarters[still] >= p["land_wait_max_quarters"]]
    s[blocked] = State.BLOCKED

    # 4. Permits, then construction; a stage ending within the quarter starts the next.
    done = np.flatnonzero((s == State.PERMITS) & (firms.stage_end_month <= end_of_quarter))
    s[done] = State.BUILDING
    firms.stage_end_month[done] += _stage_months(p["construction_months"],
                                                 draws.duration[done, 1])
    started = np.flatnonzero((s == State.BUILDING)
                             & (firms.stage_end_month <= end_of_quarter))
    s[started] = State.PRODUCING
    focus_started = started[firms.region[started] == focus]
    months_to_production = (firms.stage_end_month[focus_started]
                            - firms.sign_month[focus_started])

    # 5. Producing polluting firms leave the focus county again as thresholds rise.
    leave_rate = p["leave_again_rate"] * pollution * threshold
    leaving = ((s == State.PRODUCING) & (firms.region == focus)
               & (draws.leave < hazard_probability(leave_rate)))
    leaving[started] = False
    s[leaving] = State.LEFT_AGAIN

    return FirmQuarter(
        signed=signed,
        started=started,
        months_to_production=months_to_production,
        left_again=np.flatnonzero(leaving),
        subsidy_yuan=subsidy * firms.weight,
    )


def _subset(firms: Firms, index: np.ndarray) -> Firms:
    return Firms(firms.weight, *(getattr(firms, f)[index] for f in _ARRAYS))


_ARRAYS = ("sector", "staff", "revenue", "land_m2", "investment", "ties", "mobility", "rank",
           "land_ratio", "state", "region", "sign_month", "stage_end_month", "wait_quarters")
