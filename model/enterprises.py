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
   region by a logit on the cost of land, wages and its Beijing staff (their commute or
   their replacement, ``talent.staff_cost``) as a share of revenue (net of subsidies),
   months from signing to permits, distance to its Beijing partners weighted by its ties,
   public services for its staff, access to skilled workers (which grows as commuting
   gets easier, ``talent.labour_market_access``), and the bonus the focus county's
   measures give its sector. Its surplus from the choice, against 2014 conditions, is
   the logsum in yuan (:func:`surplus_yuan`). Restricted firms cannot go to regions inside
   Beijing and find staying costly.
3. **Pipeline.** Choosing a destination signs a project: signed -> land acquired (or blocked
   after waiting too long for land) -> permits -> construction -> producing. Projects fail
   at a rate that rises with environmental thresholds for polluting sectors; producing
   polluting firms leave again at a rate that rises with the same thresholds. Every
   receiving county's land is accounted (``land``).

Besides the Beijing firms the catalogue pushes, **new investment projects** arrive each
quarter (:meth:`Firms.arrive`): new lines and subsidiaries of Beijing firms, firms from
elsewhere in China that want to be near Beijing, and spin-offs of pilot and incubation
platforms, drawn as the firms are (sector, size, land, investment, ties). A new project
chooses once, when it arrives, among the receiving counties and elsewhere (it has no
Beijing site to stay in), by the same location logit (the choice of new plants: Carlton
1983; Figueiredo, Guimaraes & Woodward 2002), without Beijing staff to keep (it hires where
it settles), then goes through the same pipeline. The focus county's measures act on it as
on a relocating firm; the neighbours run their own measures, as they were or, with
``neighbours_match``, Xianghe's after a lag; under ``regional_coordination`` the four offer
Xianghe's attraction measures and subsidy together.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from .choice import draw, hazard_probability, logit_probabilities, logsum
from .land import share_quota
from .params import FIRST_YEAR, View, view
from .world import World, skill_shares

MONTHS_PER_QUARTER = 3.0
# A weight on money below this is none: surplus is not converted into yuan with it.
NO_WEIGHT = 1e-9


@view
class FirmPopulationParams(View):
    """What the creation of the firm agents reads."""

    firm_revenue_median_yuan: float
    firm_staff_median: float
    firm_size_sigma: float
    staff_size_elasticity: float
    staff_sigma: float
    land_need_m2_per_staff: float
    investment_yuan_per_m2: float
    investment_sigma: float
    mobility_sigma: float
    ties_beta_shape: float


@view
class HazardParams(View):
    """What the rate at which firms consider moving reads."""

    firm_base_move_rate: float
    catalogue_push: float
    catalogue_push_halflife_years: float
    catalogue_share_2014: float
    catalogue_share_2015: float
    catalogue_share_2018: float
    catalogue_share_2022: float
    land_rent_push: float


@view
class LocationParams(View):
    """What a firm's choice of location reads: its costs, the focus county's measures."""

    beta_cost: float
    beta_permit_month: float
    beta_ties_km: float
    beta_public_services_firm: float
    beta_worker_access: float
    xianghe_firm_asc: float
    stay_asc: float
    restricted_stay_penalty: float
    cost_of_capital: float
    subsidy_horizon_years: float
    staff_high_skill_share: float
    skilled_share: float
    investment_subsidy_rate: float
    vocational_recognition: bool
    vocational_access_gain: float
    permit_months_scale: float
    permit_devolution: bool
    commitment_system: bool
    devolution_permit_months: float
    commitment_overlap_share: float
    sector_targeting: float
    mode_industry_chain: bool
    mode_associations: bool
    mode_zgc_parks: bool
    mode_platform_branches: bool
    mode_bonus: float
    ftz_extension: bool
    incubator_fund_yuan: float
    incubator_full_yuan: float
    neighbour_firm_asc: float
    regional_coordination: bool
    coordination_area_bonus: float


@view
class ArrivalParams(View):
    """What the arrival of new investment projects reads."""

    new_projects_per_year: float
    new_projects_growth: float
    new_project_beijing_share: float
    new_project_platform_share: float
    new_project_size: float
    elsewhere_ties_share: float


@view
class PipelineParams(View):
    """What the progress of signed projects reads."""

    env_threshold_growth: float
    env_threshold_max: float
    project_failure_rate: float
    incubator_fund_yuan: float
    incubator_full_yuan: float
    incubator_failure_cut: float
    leave_again_rate: float
    provincial_land_quota: bool
    major_project_yuan: float
    hall_max_project_m2: float
    land_wait_max_quarters: int
    construction_months: float
    stage_duration_sigma: float
    subsidy_clawback: bool


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
    PROSPECT = 8      # a new project looking for a site this quarter


class Origin(IntEnum):
    """Where a project comes from."""

    RELOCATION = 0    # a Beijing firm the catalogue pushes (the exposed pool)
    BEIJING = 1       # a new line or subsidiary of a Beijing firm
    ELSEWHERE = 2     # a firm from elsewhere in China that wants to be near Beijing
    PLATFORM = 3      # a spin-off of a pilot or incubation platform


PIPELINE = (State.SIGNED, State.PERMITS, State.BUILDING)
# States of a project that never reached production.
GAVE_UP = (State.FAILED, State.BLOCKED)
# States of a firm that has left Beijing (failed and blocked projects never did).
MOVED = (*PIPELINE, State.PRODUCING, State.LEFT_AGAIN)


def catalogue(year: float, edition_years: tuple[float, ...],
              edition_shares: tuple[float, ...]) -> tuple[float, float]:
    """Share of sub-classes restricted at ``year`` and years since the latest edition."""
    share, since = 0.0, np.inf
    for start, edition_share in zip(edition_years, edition_shares, strict=True):
        if year >= start:
            share = edition_share
            since = year - start
    return share, since


def edition_shares(hp: HazardParams, world: World) -> tuple[float, ...]:
    """The share each catalogue edition restricts, from the parameters the data name."""
    return tuple(getattr(hp, name) for name in world.catalogue_shares)


def environmental_threshold(year: float, growth: float, maximum: float) -> float:
    """Stringency of environmental and energy thresholds, 1 in 2014.

    It rises at ``growth`` a year at first and tends to ``maximum``:
    ``1 + (max - 1) (1 - exp(-growth t / (max - 1)))`` for ``t`` years since 2014.
    """
    room = maximum - 1.0
    if room <= 0.0:
        return 1.0
    return 1.0 + room * -math.expm1(-growth * max(0.0, year - FIRST_YEAR) / room)


def move_rate(mobility, restricted, land_ratio, since, hp: HazardParams):
    """Yearly rate at which each Beijing firm considers moving (see module docstring).

    ``land_ratio`` is a firm's Beijing land cost share over the median firm's.
    """
    decay = 0.0 if not np.isfinite(since) else 0.5 ** (since / hp.catalogue_push_halflife_years)
    catalogue_push = 1.0 + hp.catalogue_push * restricted * decay
    return hp.firm_base_move_rate * mobility * catalogue_push * land_ratio**hp.land_rent_push


def capital_recovery_factor(rate: float, years: float) -> float:
    """Yearly payment over ``years`` that a yuan today buys at interest ``rate``."""
    if rate == 0.0:
        return 1.0 / years
    return rate / -math.expm1(-years * math.log1p(rate))


def incubator_strength(fund_yuan: float, full_yuan: float) -> float:
    """How far the incubator fund works, 0 to 1: in proportion up to its full strength."""
    return min(1.0, fund_yuan / full_yuan)


@dataclass(frozen=True)
class Staffing:
    """What a firm choosing a location expects of each region's labour, this quarter."""

    cost_yuan: np.ndarray   # (R,) keeping or replacing its Beijing staff, yuan a head a year
    access: np.ndarray      # (R,) skilled workers within reach, Beijing = 1 in 2014


@dataclass(frozen=True)
class Setting:
    """What a firm choosing a location weighs besides itself, in one quarter: the focus
    county's measures (``lp``), its neighbours' (``neighbours``: the measures they run,
    in the same declaration), land prices, services and labour."""

    lp: LocationParams
    land_price: np.ndarray   # (R,) yuan/m2
    services: np.ndarray     # (R, 3) public-service indices
    staffing: Staffing
    neighbours: LocationParams | None = None


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
    subsidy_yuan: np.ndarray   # subsidy paid to the project at signing (per real firm)
    origin: np.ndarray         # Origin: a relocating Beijing firm, or a new project
    serial: np.ndarray         # a new project's arrival number (0, 1, ...); -1: exposed

    @classmethod
    def create(cls, n: int, weight: float, world: World, fp: FirmPopulationParams,
               rng: np.random.Generator) -> Firms:
        """Draw ``n`` firm agents of the exposed Beijing pool."""
        return cls(weight=weight, **_draw(n, world, fp, rng, np.full(n, Origin.RELOCATION)))

    @classmethod
    def arrive(cls, weight: float, world: World, fp: FirmPopulationParams,
               ap: ArrivalParams, years: float, rng: np.random.Generator) -> Firms:
        """The new investment projects arriving in one quarter (``years`` since 2014Q1),
        as agents of ``weight`` real projects each: a Poisson number at the declared rate
        and trend (see :meth:`prospects`)."""
        rate = ap.new_projects_per_year * (1.0 + ap.new_projects_growth) ** years / 4.0
        return cls.prospects(int(rng.poisson(rate / weight)), weight, world, fp, ap, rng)

    @classmethod
    def prospects(cls, n: int, weight: float, world: World, fp: FirmPopulationParams,
                  ap: ArrivalParams, rng: np.random.Generator) -> Firms:
        """``n`` new projects looking for a site, split by origin at the declared shares;
        spin-offs are in the incubator sectors."""
        share_elsewhere = max(0.0, 1.0 - ap.new_project_beijing_share
                              - ap.new_project_platform_share)
        p = np.array([ap.new_project_beijing_share, share_elsewhere,
                      ap.new_project_platform_share])
        origin = rng.choice([Origin.BEIJING, Origin.ELSEWHERE, Origin.PLATFORM], size=n,
                            p=p / p.sum())
        arrays = _draw(n, world, fp, rng, origin, ap)
        arrays["state"][:] = State.PROSPECT
        return cls(weight=weight, **arrays)

    def append(self, other: Firms) -> None:
        """Add ``other``'s agents (of the same weight) after these."""
        for f in dataclasses.fields(self):
            if f.name != "weight":
                setattr(self, f.name, np.concatenate([getattr(self, f.name),
                                                      getattr(other, f.name)]))

    def drop_settled_elsewhere(self, first_new: int, keep_regions: np.ndarray) -> None:
        """Forget the new projects (agents from ``first_new`` on) that signed outside
        ``keep_regions``: nothing is measured of them, and keeping them would make each
        quarter cost more than the last. The exposed firms keep their places (workers
        name their employer by it)."""
        gone = ~np.isin(self.region[first_new:], keep_regions) & (
            self.state[first_new:] != State.PROSPECT)
        if gone.any():
            keep = np.concatenate([np.arange(first_new), first_new + np.flatnonzero(~gone)])
            for f in dataclasses.fields(self):
                if f.name != "weight":
                    setattr(self, f.name, getattr(self, f.name)[keep])

    def subset(self, index: np.ndarray) -> Firms:
        """The firms ``index`` (copies of their arrays)."""
        return dataclasses.replace(self, **{
            f.name: getattr(self, f.name)[index]
            for f in dataclasses.fields(self) if f.name != "weight"})

    def restricted(self, world: World, share: float) -> np.ndarray:
        """Whether each firm's sub-class is on the catalogue."""
        return self.rank < share * world.sector_catalogue[self.sector]

    def location_cost_share(self, world: World, land_price: np.ndarray,
                            subsidy_rate: np.ndarray, skill_mix: np.ndarray,
                            staff_cost_yuan: np.ndarray, lp: LocationParams) -> np.ndarray:
        """Yearly land, wage and staff cost net of subsidy, over revenue, (n, R).

        The wage bill is priced at the region's wages: staff who follow keep their Beijing
        pay for a while, but the firm replaces them at local pay as they leave. Keeping or
        replacing its Beijing staff costs ``staff_cost_yuan`` a head and a year in each
        region (``talent.staff_cost``: their commute through the checkpoints, or their
        replacement). Land and the
        subsidy are turned into yearly flows with the same cost of capital: land at its user
        cost, the subsidy (paid once) as the annuity it buys over the subsidy horizon.
        """
        wage_bill = world.wage_yuan @ skill_mix
        annuity = capital_recovery_factor(lp.cost_of_capital, lp.subsidy_horizon_years)
        keeps_staff = (self.origin == Origin.RELOCATION)[:, None]   # new projects hire
        cost = (
            self.land_m2[:, None] * land_price[None, :] * lp.cost_of_capital
            + self.staff[:, None] * (wage_bill[None, :] + staff_cost_yuan[None, :] * keeps_staff)
            - self.investment[:, None] * subsidy_rate[None, :] * annuity
        )
        return cost / self.revenue[:, None]


def _draw(n: int, world: World, fp: FirmPopulationParams, rng: np.random.Generator,
          origin: np.ndarray, ap: ArrivalParams | None = None) -> dict[str, np.ndarray]:
    """The arrays of ``n`` agents drawn as the exposed firms are (sector, size, staff, land,
    investment, ties, mobility, rank); new projects (``ap``) are scaled by
    ``new_project_size``, a spin-off is in an incubator sector, and a project from
    elsewhere has the ties of ``elsewhere_ties_share``."""
    sector = rng.choice(len(world.sector_names), size=n, p=world.sector_share)
    size = rng.lognormal(0.0, fp.firm_size_sigma, n)
    if ap is not None:
        incubator = np.flatnonzero(world.sector_incubator)
        shares = world.sector_share[incubator] / world.sector_share[incubator].sum()
        sector = np.where(origin == Origin.PLATFORM, rng.choice(incubator, size=n, p=shares),
                          sector)
        size = size * ap.new_project_size
    revenue = fp.firm_revenue_median_yuan * world.sector_revenue[sector] * size
    staff = (fp.firm_staff_median * size**fp.staff_size_elasticity
             * rng.lognormal(0.0, fp.staff_sigma, n))
    land = staff * fp.land_need_m2_per_staff * world.sector_land[sector]
    investment = land * fp.investment_yuan_per_m2 * rng.lognormal(0.0, fp.investment_sigma, n)
    ties = rng.beta(fp.ties_beta_shape, fp.ties_beta_shape, n)
    if ap is not None:
        ties = np.where(origin == Origin.ELSEWHERE, ties * ap.elsewhere_ties_share, ties)
    sigma = fp.mobility_sigma
    land_share = land * world.land_price_yuan_m2[world.region("beijing")] / revenue
    return dict(
        sector=sector,
        staff=staff,
        revenue=revenue,
        land_m2=land,
        investment=investment,
        ties=ties,
        mobility=rng.lognormal(-0.5 * sigma**2, sigma, n),
        rank=rng.random(n),
        land_ratio=land_share / np.median(land_share) if n else land_share,
        state=np.zeros(n, dtype=np.int8),
        region=np.full(n, -1, dtype=np.int8),
        sign_month=np.zeros(n),
        stage_end_month=np.zeros(n),
        wait_quarters=np.zeros(n, dtype=np.int16),
        subsidy_yuan=np.zeros(n),
        origin=np.asarray(origin, dtype=np.int8),
        serial=np.full(n, -1, dtype=np.int64),
    )


def sector_bonus(world: World, lp: LocationParams) -> np.ndarray:
    """Utility the focus county's targeting and attraction measures add, by sector."""
    modes = np.array([lp.mode_industry_chain, lp.mode_associations,
                      lp.mode_zgc_parks, lp.mode_platform_branches], dtype=float)
    incubator = incubator_strength(lp.incubator_fund_yuan, lp.incubator_full_yuan)
    return lp.mode_bonus * (
        lp.sector_targeting * np.where(world.sector_target, 1.0, -world.sector_pollution)
        + world.sector_modes.astype(float) @ modes
        + lp.ftz_extension * world.sector_ftz
        + incubator * world.sector_incubator
    )


def measures(world: World, setting: Setting) -> list[tuple[np.ndarray, LocationParams]]:
    """Which regions run which measures this quarter: the focus county its own, its
    neighbours theirs (none, as they were, unless the setting says otherwise)."""
    runs = [(np.array([world.focus]), setting.lp)]
    if setting.neighbours is not None:
        runs.append((world.neighbours, setting.neighbours))
    return runs


def permit_months(world: World, setting: Setting) -> np.ndarray:
    """Months from land to permits in each region, with the reforms each county runs."""
    months = world.permit_months * setting.lp.permit_months_scale
    for regions, lp in measures(world, setting):
        if lp.permit_devolution:
            months[regions] = np.minimum(months[regions], lp.devolution_permit_months)
        if lp.commitment_system:
            months[regions] *= 1.0 - lp.commitment_overlap_share
    return months


def cost_shares(firms: Firms, world: World, setting: Setting) -> np.ndarray:
    """Each firm's yearly location cost in each region over its revenue, net of the
    subsidy each county offers, (n, R) (see :meth:`Firms.location_cost_share`)."""
    lp = setting.lp
    subsidy = np.zeros(len(world.region_names))
    for regions, measure in measures(world, setting):
        subsidy[regions] = measure.investment_subsidy_rate
    skill_mix = skill_shares(lp.staff_high_skill_share, lp.skilled_share)
    return firms.location_cost_share(world, setting.land_price, subsidy, skill_mix,
                                     setting.staffing.cost_yuan, lp)


def location_utilities(firms: Firms, world: World, setting: Setting, restricted: np.ndarray,
                       origin: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Utilities of staying (column 0) and of each destination region, and availability
    (a new project has no site to stay in).

    Returns:
        utilities (n, 1 + D), availability (n, 1 + D), destination region indices (D,).
    """
    lp, staffing = setting.lp, setting.staffing
    destinations = np.flatnonzero(world.firm_destination)
    focus = world.focus
    runs = measures(world, setting)
    access = staffing.access.copy()
    for regions, measure in runs:
        if measure.vocational_recognition:
            access[regions] *= measure.vocational_access_gain
    asc = world.firm_asc.copy()
    asc[focus] = lp.xianghe_firm_asc
    asc[world.neighbours] += lp.xianghe_firm_asc + lp.neighbour_firm_asc
    if lp.regional_coordination:
        asc[world.area] += lp.coordination_area_bonus
    months = permit_months(world, setting)
    cost = cost_shares(firms, world, setting)
    distance = world.distance_km[origin]
    region_terms = (
        asc
        - lp.beta_permit_month * months
        + lp.beta_public_services_firm * setting.services.mean(axis=1)
        + lp.beta_worker_access * np.log(access)
    )
    v = (
        region_terms[None, :]
        - lp.beta_cost * cost
        - lp.beta_ties_km * firms.ties[:, None] * distance[None, :]
    )
    for regions, measure in runs:
        v[:, regions] += sector_bonus(world, measure)[firms.sector][:, None]
    stay = (
        lp.stay_asc - lp.restricted_stay_penalty * restricted
        - lp.beta_cost * cost[:, origin] + region_terms[origin] - world.firm_asc[origin]
    )
    utilities = np.column_stack([stay, v[:, destinations]])
    available = np.ones_like(utilities, dtype=bool)
    available[:, 0] = firms.state != State.PROSPECT
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
    def draw(cls, n: int, rng: np.random.Generator) -> QuarterDraws:
        u = rng.random((5, n))
        return cls(u[0], u[1], u[2], u[3], u[4], rng.standard_normal((n, 2)))

    @classmethod
    def drawn(cls, exposed: int, serials: np.ndarray, arrived: int,
              rngs: tuple[np.random.Generator, np.random.Generator]) -> QuarterDraws:
        """Draws for the ``exposed`` firms from their own stream, then for the new projects
        kept (``serials``, their arrival numbers) from another: that stream draws for every
        project that has arrived (``arrived``), kept or not, and each project takes the
        numbers of its arrival number. Both streams draw as many numbers each quarter
        whatever the levers, so the same firm or project gets the same numbers in two
        scenarios (common random numbers), however many projects each keeps."""
        firms, projects = cls.draw(exposed, rngs[0]), cls.draw(arrived, rngs[1])
        return cls(*(np.concatenate([getattr(firms, f.name), getattr(projects, f.name)[serials]])
                     for f in dataclasses.fields(cls)))


@dataclass
class FirmQuarter:
    """What the firms did in one quarter."""

    signed: np.ndarray            # firms that signed a project (any destination)
    started: np.ndarray           # firms that started producing (any destination)
    months_to_production: np.ndarray  # of the focus-county starters
    left_again: np.ndarray        # firms that left the focus county again
    subsidy_yuan: float           # subsidies paid, less those clawed back (real yuan)
    surplus_yuan: float           # surplus of the firms that chose, against 2014 (yuan/year)


@dataclass(frozen=True)
class Quarter:
    """When the quarter is: decimal year and months since 2014Q1 at its start."""

    year: float
    month: float

    @property
    def end_month(self) -> float:
        return self.month + MONTHS_PER_QUARTER


def _stage_months(mean_months: np.ndarray | float, normals: np.ndarray,
                  sigma: float) -> np.ndarray:
    """Lognormal stage durations with the given mean."""
    return mean_months * np.exp(sigma * normals - 0.5 * sigma**2)


def advance_quarter(firms: Firms, world: World, hp: HazardParams, pp: PipelineParams,
                    when: Quarter, lands: dict, setting: Setting, setting_2014: Setting,
                    draws: QuarterDraws) -> FirmQuarter:
    """One quarter of relocation decisions, new projects' choices and project progress,
    for all firms at once (``lands``: the receiving counties' land accounts, by region).

    ``setting_2014`` is what firms weighed in 2014Q1, against which their surplus counts.
    """
    signed, subsidy, surplus = _consider_and_sign(firms, world, hp, when, setting,
                                                  setting_2014, draws)
    threshold = environmental_threshold(when.year, pp.env_threshold_growth,
                                        pp.env_threshold_max)
    going = np.isin(firms.state, GAVE_UP, invert=True)
    _fail(firms, world, pp, threshold, signed, draws)
    _grant_land(firms, world, pp, setting, when, lands, draws)
    clawed_back = _claw_back(firms, pp, going) if pp.subsidy_clawback else 0.0
    started, months_to_production = _advance_stages(firms, world, pp, when, draws)
    leaving = _leave_again(firms, world, pp, threshold, started, draws)
    return FirmQuarter(
        signed=signed,
        started=started,
        months_to_production=months_to_production,
        left_again=leaving,
        subsidy_yuan=(subsidy - clawed_back) * firms.weight,
        surplus_yuan=surplus * firms.weight,
    )


def _claw_back(firms: Firms, pp: PipelineParams, going: np.ndarray) -> float:
    """The subsidy of projects that gave up this quarter is paid back (per agent)."""
    gave_up = going & np.isin(firms.state, GAVE_UP)
    back = float(firms.subsidy_yuan[gave_up].sum())
    firms.subsidy_yuan[gave_up] = 0.0
    return back


def _consider_and_sign(firms: Firms, world: World, hp: HazardParams, when: Quarter,
                       setting: Setting, setting_2014: Setting,
                       draws: QuarterDraws) -> tuple[np.ndarray, float, float]:
    """Step 1: Beijing firms consider moving and choose where; return who signed, the
    subsidy promised to the focus county's signers and the surplus of those who chose
    (per agent)."""
    share, since = catalogue(when.year, world.catalogue_years, edition_shares(hp, world))
    restricted = firms.restricted(world, share)
    rate = move_rate(firms.mobility, restricted, firms.land_ratio, since, hp)
    considering = np.flatnonzero(((firms.state == State.IN_BEIJING)
                                  & (draws.hazard < hazard_probability(rate)))
                                 | (firms.state == State.PROSPECT))
    if considering.size == 0:
        return considering, 0.0, 0.0
    choosers, beijing = firms.subset(considering), world.region("beijing")
    v, available, destinations = location_utilities(choosers, world, setting,
                                                    restricted[considering], beijing)
    v_2014, available_2014, _ = location_utilities(choosers, world, setting_2014,
                                                   restricted[considering], beijing)
    surplus = surplus_yuan(logsum(v, available) - logsum(v_2014, available_2014),
                           choosers.revenue, setting.lp)
    choice = draw(logit_probabilities(v, available), draws.choice[considering])
    signed = considering[choice > 0]
    firms.region[signed] = destinations[choice[choice > 0] - 1]
    firms.state[signed] = State.SIGNED
    firms.sign_month[signed] = when.month + MONTHS_PER_QUARTER * draws.timing[signed]
    firms.wait_quarters[signed] = 0
    in_focus = signed[firms.region[signed] == world.focus]
    rate = setting.lp.investment_subsidy_rate
    firms.subsidy_yuan[in_focus] = firms.investment[in_focus] * rate
    return signed, float(firms.subsidy_yuan[in_focus].sum()), surplus


def choice_probabilities(firms: Firms, world: World, hp: HazardParams, year: float,
                         setting: Setting) -> tuple[np.ndarray, np.ndarray]:
    """The probabilities with which ``firms``, deciding in ``year``, stay (column 0; none
    for a new project) or choose each destination region, (n, 1 + D), and the
    destinations (D,): the choice step of :func:`advance_quarter` without the draw."""
    share, _ = catalogue(year, world.catalogue_years, edition_shares(hp, world))
    v, available, destinations = location_utilities(
        firms, world, setting, firms.restricted(world, share), world.region("beijing"))
    return logit_probabilities(v, available), destinations


def surplus_yuan(gain: np.ndarray, revenue: np.ndarray, lp: LocationParams) -> float:
    """A utility gain of each firm's location choice in yuan a year: location costs enter
    utility as ``beta_cost`` times their share of revenue, so a yuan a year is worth
    ``beta_cost / revenue`` (0 where costs do not enter the choice: ``beta_cost`` under
    ``NO_WEIGHT``)."""
    if lp.beta_cost < NO_WEIGHT:
        return 0.0
    return float((gain * revenue).sum() / lp.beta_cost)


def _fail(firms: Firms, world: World, pp: PipelineParams, threshold: float,
          signed: np.ndarray, draws: QuarterDraws) -> None:
    """Step 2: projects under way fail at a rate that rises with environmental thresholds
    (less where the incubator fund supports the sector)."""
    pollution = world.sector_pollution[firms.sector]
    incubator = incubator_strength(pp.incubator_fund_yuan, pp.incubator_full_yuan)
    fail_rate = (pp.project_failure_rate * (1.0 + pollution * (threshold - 1.0))
                 * (1.0 - pp.incubator_failure_cut * incubator
                    * world.sector_incubator[firms.sector]))
    failing = np.isin(firms.state, PIPELINE) & (draws.failure < hazard_probability(fail_rate))
    failing[signed] = False
    firms.state[failing] = State.FAILED


def _grant_land(firms: Firms, world: World, pp: PipelineParams, setting: Setting,
                when: Quarter, lands: dict, draws: QuarterDraws) -> None:
    """Step 3: signed projects wait for land in every receiving county (``lands``: their
    accounts, by region; land elsewhere is not accounted). Those granted land start on
    their permits; those waiting too long are blocked. The focus county's provincial quota
    and repurposed halls are its own; under regional coordination the counties share
    their quota, so a project waiting where land is short gets what another cannot use."""
    s = firms.state
    waiting = np.flatnonzero(s == State.SIGNED)
    accounted = np.isin(firms.region[waiting], list(lands))
    granted_at = np.full(len(s), np.nan)
    granted_at[waiting[~accounted]] = firms.sign_month[waiting[~accounted]]
    queues = {}
    for region in lands:
        queue = waiting[firms.region[waiting] == region]
        queues[region] = queue[np.argsort(firms.sign_month[queue], kind="stable")]
    still = _allocate(firms, world, pp, when, lands, queues, granted_at)
    if setting.lp.regional_coordination and still.size:
        share_quota(lands)
        still = _allocate(firms, world, pp, when, lands,
                          {r: q[np.isnan(granted_at[q])] for r, q in queues.items()},
                          granted_at)
    got_land = np.flatnonzero(~np.isnan(granted_at))
    s[got_land] = State.PERMITS
    months = permit_months(world, setting)[firms.region[got_land]]
    firms.stage_end_month[got_land] = granted_at[got_land] + _stage_months(
        months, draws.duration[got_land, 0], pp.stage_duration_sigma)
    firms.wait_quarters[still] += 1
    blocked = still[firms.wait_quarters[still] >= pp.land_wait_max_quarters]
    s[blocked] = State.BLOCKED


def _allocate(firms: Firms, world: World, pp: PipelineParams, when: Quarter, lands: dict,
              queues: dict, granted_at: np.ndarray) -> np.ndarray:
    """Each county grants land to its queue (in signing order); return who still waits."""
    still = []
    for region, queue in queues.items():
        focus = region == world.focus
        provincial = (np.full(queue.size, pp.provincial_land_quota and focus, dtype=bool)
                      & (firms.investment[queue] >= pp.major_project_yuan))
        small = ((firms.land_m2[queue] <= pp.hall_max_project_m2)
                 & (world.sector_pollution[firms.sector[queue]] == 0) & focus)
        # An agent standing for several firms needs the land of all of them.
        granted = lands[region].allocate(firms.land_m2[queue] * firms.weight, provincial,
                                         small)
        granted_at[queue[granted]] = np.maximum(firms.sign_month[queue[granted]], when.month)
        still.append(queue[~granted])
    return np.concatenate(still) if still else np.empty(0, dtype=np.intp)


def _advance_stages(firms: Firms, world: World, pp: PipelineParams, when: Quarter,
                    draws: QuarterDraws) -> tuple[np.ndarray, np.ndarray]:
    """Step 4: permits, then construction; a stage ending within the quarter starts the
    next. Return who started producing and the months from signing of the focus county's
    starters."""
    s = firms.state
    done = np.flatnonzero((s == State.PERMITS) & (firms.stage_end_month <= when.end_month))
    s[done] = State.BUILDING
    firms.stage_end_month[done] += _stage_months(pp.construction_months,
                                                 draws.duration[done, 1],
                                                 pp.stage_duration_sigma)
    started = np.flatnonzero((s == State.BUILDING)
                             & (firms.stage_end_month <= when.end_month))
    s[started] = State.PRODUCING
    focus_started = started[firms.region[started] == world.focus]
    return started, firms.stage_end_month[focus_started] - firms.sign_month[focus_started]


def _leave_again(firms: Firms, world: World, pp: PipelineParams, threshold: float,
                 started: np.ndarray, draws: QuarterDraws) -> np.ndarray:
    """Step 5: producing polluting firms leave the focus county again as thresholds rise."""
    pollution = world.sector_pollution[firms.sector]
    leave_rate = pp.leave_again_rate * pollution * threshold
    leaving = ((firms.state == State.PRODUCING) & (firms.region == world.focus)
               & (draws.leave < hazard_probability(leave_rate)))
    leaving[started] = False
    firms.state[leaving] = State.LEFT_AGAIN
    return np.flatnonzero(leaving)
