"""Talent: where workers live and work, chosen by a logit over home and job regions.

Mechanism: each quarter a share of workers reconsiders home and job together. Every
(home, job) pair of the talent regions has a utility

    beta_w ln(wage) - beta_h housing / income - beta_c commuting cost / income
    + beta_s(skill) services(home, children) + home constant
    - home_move_cost [new home] - job_change_cost [new job region]
    - beta_h premium x housing / income [barred from buying in the focus county]

Wages differ by skill and region (Beijing average wage 166,803 yuan in 2019 against
Langfang's 91,670 in 2020); high-skill households weigh public services more (Su et al.
2019); commuting costs include the checkpoint delay (module ``commuting``). Households that
are not local and pay social security in Beijing may not buy in the focus county from
2017Q2 (Langfang's purchase restriction): they rent at a premium and, since school
enrolment follows home ownership, lose the county's education services; the
talent-housing measure lifts the bar for high-skill staff who work in the county.

When a firm starts producing in another talent region, its Beijing staff choose between
commuting to it, moving home to it, and leaving it for another Beijing job, by the same
utilities. Nothing scripts the direction of flows: the "reverse flow" of high-skill talent
towards Beijing jobs is whatever these choices produce.

Homes and jobs (:class:`Markets`): a premium on each region's homes and jobs enters every
pair's utility. The run starts from the equilibrium of 2014 conditions
(:func:`place_at_equilibrium`), with home premia that put the 2014 homes where the data do;
after that, jobs are finite (2014's plus those the relocated firms bring) and the job premia
move each quarter towards filling them (:func:`clear`). The same utilities tell a firm what
its Beijing staff would cost it in each region (:func:`staff_cost`) and how many skilled
workers its jobs there could reach (:func:`labour_market_access`); the logsums value
workers' surplus (:func:`surplus_yuan`).

Utilities depend on an agent only through its skill, children, car and current home and
job, so they are computed once per kind of agent and gathered for all agents with numpy.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from . import commuting
from .choice import draw, hazard_probability, logit_probabilities, logsum
from .commuting import CommutingParams, Links
from .enterprises import NO_WEIGHT, capital_recovery_factor
from .params import View, view
from .services import HouseholdWeights, household_index
from .world import World, skill_shares

NO_CAR, OTHER_PLATE, BEIJING_PLATE = 0, 1, 2


@view
class PopulationParams(View):
    """What the creation of the talent agents reads."""

    xianghe_workforce_people: int
    high_skill_share: float
    skilled_share: float
    staff_high_skill_share: float
    children_share: float
    car_share_households: float
    beijing_plate_share: float
    initial_out_commuter_share: float
    initial_in_commuter_share: float
    staff_home_central_share: float
    out_commute_central_share: float
    in_commute_central_share: float


@view
class TalentParams(View):
    """What workers' home and job choices read."""

    talent_reconsider_rate: float
    beta_log_wage: float
    beta_housing: float
    beta_commute: float
    beta_services_high: float
    beta_services_other: float
    home_move_cost: float
    job_change_cost: float
    purchase_restriction_premium: float
    talent_housing_eligibility: bool
    background_job_growth: float
    job_premium_adjustment: float


@view
class StaffParams(View):
    """What a relocating firm reckons its Beijing staff will cost it (see :func:`staff_cost`)."""

    staff_high_skill_share: float
    skilled_share: float
    children_share: float
    car_share_households: float
    staff_home_central_share: float
    staff_commute_compensation_share: float
    staff_replacement_cost_share: float
    key_staff_replacement_cost_share: float
    cost_of_capital: float
    subsidy_horizon_years: float


@dataclass
class Talent:
    """Workers, one array entry per talent agent (``weight`` real people each)."""

    weight: float
    skill: np.ndarray       # 0 high, 1 skilled, 2 general
    children: np.ndarray    # bool: children of school age
    car: np.ndarray         # 0 none, 1 non-Beijing plate, 2 Beijing plate
    home: np.ndarray        # region index
    job: np.ndarray         # region index
    employer: np.ndarray    # firm agent index, -1 for other employers
    local: np.ndarray       # bool: a household of the focus county (may buy there)
    moved: np.ndarray       # bool: moved home from the Beijing side to the focus county

    @classmethod
    def create(cls, n: int, world: World, pp: PopulationParams, staff: np.ndarray,
               rng: np.random.Generator) -> Talent:
        """Draw ``n`` agents: the focus county's workforce and the exposed firms' staff."""
        staff_people = float(staff.sum())
        people = pp.xianghe_workforce_people + staff_people
        n_staff = int(round(n * staff_people / people))
        n_local = n - n_staff
        beijing, tongzhou, focus = world.region("beijing"), world.region("tongzhou"), world.focus

        def skills(k, high):
            return rng.choice(3, size=k, p=skill_shares(high, pp.skilled_share))

        # The focus county's workforce: residents working at home, out-commuters, in-commuters.
        u = rng.random(n_local)
        out = pp.initial_out_commuter_share
        inc = pp.initial_in_commuter_share
        home_l = np.where(u < inc, np.where(u < inc * pp.in_commute_central_share,
                                            beijing, tongzhou), focus)
        v = rng.random(n_local)
        job_l = np.where(
            home_l == focus,
            np.where(v < out * pp.out_commute_central_share, beijing,
                     np.where(v < out, tongzhou, focus)),
            focus,
        )
        # The exposed firms' staff, drawn in proportion to each firm's staff.
        employer_s = rng.choice(staff.size, size=n_staff, p=staff / staff_people)
        home_s = np.where(rng.random(n_staff) < pp.staff_home_central_share, beijing, tongzhou)

        home = np.concatenate([home_l, home_s]).astype(np.int8)
        job = np.concatenate([job_l, np.full(n_staff, beijing)]).astype(np.int8)
        has_car = rng.random(n) < pp.car_share_households
        plate = np.where((rng.random(n) < pp.beijing_plate_share) | (world.side[home] == 0),
                         BEIJING_PLATE, OTHER_PLATE)
        return cls(
            weight=people / n,
            skill=np.concatenate([skills(n_local, pp.high_skill_share),
                                  skills(n_staff, pp.staff_high_skill_share)]).astype(np.int8),
            children=rng.random(n) < pp.children_share,
            car=np.where(has_car, plate, NO_CAR).astype(np.int8),
            home=home,
            job=job,
            employer=np.concatenate([np.full(n_local, -1), employer_s]).astype(np.int32),
            local=home == focus,
            moved=np.zeros(n, dtype=bool),
        )


@dataclass(frozen=True)
class Places:
    """The talent regions and the commutes between them: fixed for a run."""

    regions: np.ndarray       # region index of each talent region, (T,)
    slot: np.ndarray          # (R,) position of each region among them, -1 if none
    links: Links
    focus_slot: int
    beijing_slot: int

    @classmethod
    def of(cls, world: World) -> Places:
        regions = np.flatnonzero(world.talent)
        slot = np.full(world.side.size, -1)
        slot[regions] = np.arange(regions.size)
        links = Links.between(world.side[regions], world.distance_km[np.ix_(regions, regions)])
        return cls(regions, slot, links, int(slot[world.focus]),
                   int(slot[world.region("beijing")]))


@dataclass
class Conditions:
    """What every worker faces this quarter, by kind of agent (computed once a quarter)."""

    places: Places
    utility: np.ndarray       # (skill, children, car, T, T) before agent-specific terms
    p_car: np.ndarray         # (skill, car, T, T)
    commute_cost: np.ndarray  # (skill, car, T, T) expected yearly generalised cost, yuan
    barred_cost: np.ndarray   # (skill, children, T_job) utility lost when barred from buying
    kept_wage: np.ndarray     # (skill, T) utility of keeping a Beijing firm's pay in each region
    income: np.ndarray        # (skill, T) wage by job region
    home_premium: np.ndarray  # (T,) utility of a home in each region (see ``Markets``)
    job_premium: np.ndarray   # (T,) utility of a job in each region that fills its jobs
    restriction_on: bool


def conditions(world: World, places: Places, tp: TalentParams, cp: CommutingParams,
               weights: HouseholdWeights, services: np.ndarray, year: float,
               delay_min: float, bus_load: float, markets: Markets) -> Conditions:
    """Utilities of each (home, job) pair for each kind of agent."""
    wage = world.wage_yuan[places.regions]                    # (T, skill)
    trips = commuting.trip_minutes_and_yuan(places.links, cp, delay_min, bus_load)
    permit = commuting.permit_day_share(cp.entry_permits_per_year, cp.entry_permit_days,
                                        year, world.entry_permit_limit_year, cp.working_days)
    p_car, commute_cost = commuting.commute_choice(wage, trips, cp, permit, places.links)
    beta_s = np.array([tp.beta_services_high, tp.beta_services_other,
                       tp.beta_services_other])
    income = wage.T[:, None, :]                                # (skill, 1, job)
    log_wage = np.log(wage.T)                                  # (skill, T)
    return Conditions(
        places=places,
        utility=_pair_utility(world, places, tp, weights, services, income, commute_cost,
                              beta_s),
        p_car=p_car,
        commute_cost=commute_cost,
        barred_cost=_barred_cost(world, tp, weights, services, wage, beta_s),
        kept_wage=tp.beta_log_wage * (log_wage[:, [places.beijing_slot]] - log_wage),
        income=wage.T,
        home_premium=markets.home_premium.copy(),
        job_premium=markets.job_premium.copy(),
        restriction_on=year >= world.purchase_restriction_year,
    )


def _pair_utility(world: World, places: Places, tp: TalentParams, weights: HouseholdWeights,
                  services: np.ndarray, income: np.ndarray, commute_cost: np.ndarray,
                  beta_s: np.ndarray) -> np.ndarray:
    """Utility of each (home, job) pair before agent-specific terms,
    (skill, children, car, T, T)."""
    regions = places.regions
    housing = world.housing_cost_yuan[regions][None, :, None]  # (1, home, 1)
    base = (tp.beta_log_wage * np.log(income)
            - tp.beta_housing * housing / income
            + world.home_asc[regions][None, :, None])          # (skill, home, job)
    served = household_index(services, weights)[:, regions]    # (children, home)
    return (base[:, None, None]
            - tp.beta_commute * (commute_cost / income[:, None])[:, None]
            + (beta_s[:, None, None] * served[None, :, :])[:, :, None, :, None])


def _barred_cost(world: World, tp: TalentParams, weights: HouseholdWeights,
                 services: np.ndarray, wage: np.ndarray, beta_s: np.ndarray) -> np.ndarray:
    """Utility a household barred from buying in the focus county loses there,
    (skill, children, job): it rents at a premium and its children have no guaranteed
    school place, since enrolment follows home ownership."""
    premium = (tp.beta_housing * tp.purchase_restriction_premium
               * world.housing_cost_yuan[world.focus] / wage.T)[:, None, :]  # (skill, 1, job)
    schooling = (beta_s[:, None] * weights.matrix()[:, 0][None, :]
                 * services[world.focus, 0])[:, :, None]                    # (skill, children, 1)
    return premium + schooling


def pair_utilities(t: Talent, idx: np.ndarray, c: Conditions, tp: TalentParams,
                   world: World) -> np.ndarray:
    """Utilities of all (home, job) pairs for agents ``idx``, (n, T*T)."""
    places = c.places
    T = places.regions.size
    home, job = places.slot[t.home[idx]], places.slot[t.job[idx]]
    u = c.utility[t.skill[idx], t.children[idx].astype(int), t.car[idx]].copy()  # (n, T, T)
    u -= tp.home_move_cost * (np.arange(T)[None, :] != home[:, None])[:, :, None]
    u -= tp.job_change_cost * (np.arange(T)[None, :] != job[:, None])[:, None, :]
    u += c.home_premium[None, :, None] + c.job_premium[None, None, :]
    # Staff of a Beijing firm keep the firm's Beijing pay while they keep their job.
    staff = np.flatnonzero(t.employer[idx] >= 0)
    u[staff, :, job[staff]] += c.kept_wage[t.skill[idx[staff]], job[staff]][:, None]
    if c.restriction_on:
        f = places.focus_slot
        side = world.side[places.regions]
        beijing_security = (t.employer[idx] >= 0)[:, None] | (side[None, :] == 0)   # (n, job)
        barred = ~t.local[idx][:, None] & (home != f)[:, None] & beijing_security
        if tp.talent_housing_eligibility:
            exempt = (t.skill[idx] == 0)[:, None] & (np.arange(T) == f)[None, :] & (
                t.employer[idx] >= 0)[:, None]
            barred &= ~exempt
        u[:, f, :] -= barred * c.barred_cost[t.skill[idx], t.children[idx].astype(int)]
    return u.reshape(idx.size, T * T)


@dataclass
class TalentQuarter:
    """Flows of one quarter, in agents."""

    high_to_beijing: int
    high_to_focus: int


def _apply(t: Talent, idx: np.ndarray, new_home: np.ndarray, new_job: np.ndarray,
           focus: int, world: World) -> None:
    from_beijing_side = world.side[t.home[idx]] == 0
    changed_job = new_job != t.job[idx]
    t.employer[idx[changed_job]] = -1
    t.moved[idx] = np.where(new_home == focus,
                            t.moved[idx] | (from_beijing_side & (new_home != t.home[idx])),
                            False)
    t.home[idx] = new_home
    t.job[idx] = new_job


def staff_follow(t: Talent, started: np.ndarray, firm_region: np.ndarray, c: Conditions,
                 tp: TalentParams, world: World, uniforms: np.ndarray) -> None:
    """Beijing staff of firms that started producing elsewhere: commute, move or leave."""
    affected, d = _staff_to_follow(t, started, firm_region, world)
    if affected.size == 0:
        return
    v, available = _follow_utilities(t, affected, d, c, tp, world)
    choice = draw(logit_probabilities(v, available), uniforms[affected])
    new_home = np.where(choice == MOVE, d, t.home[affected])
    new_job = np.where(choice == LEAVE, world.region("beijing"), d)
    employer = t.employer[affected].copy()
    _apply(t, affected, new_home.astype(np.int8), new_job.astype(np.int8), world.focus, world)
    t.employer[affected] = np.where(choice == LEAVE, -1, employer)


COMMUTE, MOVE, LEAVE = 0, 1, 2


def _follow_utilities(t: Talent, idx: np.ndarray, d: np.ndarray, c: Conditions,
                      tp: TalentParams, world: World,
                      u: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Utilities of commuting to region ``d``, moving home there, or leaving for another
    Beijing job, for the Beijing staff ``idx`` of firms moving to ``d``; (n, 3) with
    availability. ``u``: their :func:`pair_utilities`, where already computed."""
    slot = c.places.slot
    T = c.places.regions.size
    if u is None:
        u = pair_utilities(t, idx, c, tp, world)
    h, ds = slot[t.home[idx]], slot[d]
    rows = np.arange(idx.size)
    # Following the firm is not a job change: no job-change cost, and the firm's pay.
    follow = tp.job_change_cost + c.kept_wage[t.skill[idx], ds]
    commute = u[rows, h * T + ds] + follow
    move = u[rows, ds * T + ds] + follow
    leave = u[rows, h * T + c.places.beijing_slot]
    # Staff already living where the firm goes have nothing to move: commute is all.
    available = np.ones((idx.size, 3), dtype=bool)
    available[:, MOVE] = h != ds
    return np.column_stack([commute, move, leave]), available


def staff_cost(c: Conditions, tp: TalentParams, sp: StaffParams, world: World) -> np.ndarray:
    """What a firm moving to each region expects its Beijing staff to cost it, yuan a head
    and a year, (R,).

    Its staff choose between commuting, moving home and leaving by the same utilities as
    when it does move (:func:`staff_follow`), with the commuting costs, delay, permits and
    buses of the quarter. The firm pays ``staff_commute_compensation_share`` of the extra
    commuting cost of those who commute (in wages or a shuttle), and replaces those who
    leave at ``key_staff_replacement_cost_share`` (high skill) or
    ``staff_replacement_cost_share`` (the others) of a year's local wage, a one-off sum
    spread over its horizon at its cost of capital. The expectation is over the staff's
    skills, children, cars and homes as the exposed firms' staff are drawn. Where no talent
    region is (far away) it replaces them all; in Beijing it keeps them at no cost.
    """
    staff, share = _representative_staff(c.places, sp, world)
    replace = (np.array([sp.key_staff_replacement_cost_share, sp.staff_replacement_cost_share,
                         sp.staff_replacement_cost_share])
               * world.wage_yuan
               * capital_recovery_factor(sp.cost_of_capital, sp.subsidy_horizon_years))  # (R, k)
    cost = replace[:, staff.skill] @ share
    idx = np.arange(share.size)
    beijing = c.places.beijing_slot
    commute = c.commute_cost[staff.skill, staff.car, c.places.slot[staff.home]]   # (n, T)
    u = pair_utilities(staff, idx, c, tp, world)        # the same wherever the firm goes
    for d in c.places.regions:
        ds = c.places.slot[d]
        if ds == beijing:
            cost[d] = 0.0
            continue
        v, available = _follow_utilities(staff, idx, np.full(idx.size, d), c, tp, world, u)
        p = logit_probabilities(v, available)
        extra = np.maximum(0.0, commute[:, ds] - commute[:, beijing])
        per_head = (p[:, COMMUTE] * sp.staff_commute_compensation_share * extra
                    + p[:, LEAVE] * replace[d, staff.skill])
        cost[d] = per_head @ share
    return cost


def labour_market_access(t: Talent, c: Conditions, tp: TalentParams,
                         census: Census | None = None) -> np.ndarray:
    """Skilled and high-skill workers within reach of a job in each talent region, (T,).

    Each such worker counts by the odds they would take the commute from where they live,
    ``exp(-beta_commute * commuting cost / income)``: the commuting market access of
    Ahlfeldt, Redding, Sturm & Wolf (2015, Econometrica 83:2127-89), with the commuting
    costs, checkpoint delay, permits and buses workers face this quarter.
    """
    census = census if census is not None else take_census(t, c.places)
    count = census.workers().sum(axis=3)[:2]                     # (skill<2, car, home)
    odds = np.exp(-tp.beta_commute * c.commute_cost[:2]
                  / c.income[:2, None, None, :])                        # (k, car, home, job)
    return np.einsum("kch,kchj->j", count, odds) * t.weight


def _kind_shape(T: int) -> tuple[int, ...]:
    """The axes :func:`_kind_key` numbers kinds along: skill, children, car, home, job,
    staff or not, local or not."""
    return (3, 2, 3, T, T, 2, 2)


def kind_count(places: Places) -> int:
    """How many kinds :func:`_kind_key` can number."""
    return math.prod(_kind_shape(places.regions.size))


@dataclass(frozen=True)
class Census:
    """The workers by kind (those :func:`pair_utilities` tells apart), counted once: the
    flows, the labour within firms' reach and the workers' surplus all follow from these
    counts, not from passes over every agent."""

    count: np.ndarray       # (K,) workers of each kind, numbered by :func:`_kind_key`
    one: np.ndarray         # (K,) an agent of each kind present
    T: int                  # talent regions

    def workers(self) -> np.ndarray:
        """Workers by (skill, car, home, job), (3, 3, T, T)."""
        return self.count.reshape(_kind_shape(self.T)).sum(axis=(1, 5, 6))

    def kinds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """An agent of each kind present, the workers of that kind, and its number."""
        present = np.flatnonzero(self.count)
        return self.one[present], self.count[present], present


def take_census(t: Talent, places: Places) -> Census:
    """Count the workers by kind, as they are now."""
    key = _kind_key(t, places)
    count = np.bincount(key, minlength=kind_count(places))
    one = np.empty(count.size, dtype=np.intp)
    one[key] = np.arange(key.size)
    return Census(count, one, places.regions.size)


def surplus_yuan(t: Talent, c: Conditions, tp: TalentParams, c_2014: Conditions,
                 tp_2014: TalentParams, world: World,
                 then: np.ndarray | None = None, census: Census | None = None) -> float:
    """Workers' surplus from their home, job and commute choices against 2014 conditions,
    yuan a year: for every worker, the expected best utility of its choice now less under
    the conditions of 2014Q1 (logsums, from where it now lives and works; home and job
    premia at 2014's in both), over the marginal utility of a yuan of its income,
    ``beta_log_wage / wage`` (0 where wages do not enter the choice).

    ``then`` (:func:`kind_count` values, NaN where not yet known) keeps each kind's 2014
    logsum between calls, which never changes: filled in here as kinds appear."""
    if tp.beta_log_wage < NO_WEIGHT:
        return 0.0
    # Premia are prices (wages and rents passing between workers and employers or
    # landlords): held at 2014's, so the surplus counts changed conditions, not transfers.
    c = dataclasses.replace(c, home_premium=c_2014.home_premium,
                            job_premium=c_2014.job_premium)
    if census is None:
        census = take_census(t, c.places)
    kinds, count, keys = census.kinds()
    if then is None:
        before = logsum(pair_utilities(t, kinds, c_2014, tp_2014, world))
    else:
        new = np.isnan(then[keys])
        if new.any():
            then[keys[new]] = logsum(pair_utilities(t, kinds[new], c_2014, tp_2014, world))
        before = then[keys]
    gain = logsum(pair_utilities(t, kinds, c, tp, world)) - before
    wage = c.income[t.skill[kinds], c.places.slot[t.job[kinds]]]
    return float((gain * wage * count).sum() / tp.beta_log_wage * t.weight)


def _kind_key(t: Talent, places: Places, idx: np.ndarray | slice = slice(None)) -> np.ndarray:
    """Each worker's kind among those :func:`pair_utilities` tells apart (skill, children,
    car, home, job, staff or not, local or not), as one integer."""
    T = places.regions.size
    return (((((t.skill[idx].astype(np.intp) * 2 + t.children[idx]) * 3 + t.car[idx]) * T
              + places.slot[t.home[idx]]) * T + places.slot[t.job[idx]]) * 2
            + (t.employer[idx] >= 0)) * 2 + t.local[idx]


def _representative_staff(places: Places, sp: StaffParams,
                          world: World) -> tuple[Talent, np.ndarray]:
    """One agent of each kind of Beijing staff (skill, children, car, home) and the share
    of the staff of that kind."""
    skill, children, car, home = (a.ravel() for a in np.meshgrid(
        np.arange(3), [False, True], [NO_CAR, BEIJING_PLATE],
        [world.region("beijing"), world.region("tongzhou")], indexing="ij"))
    share = (skill_shares(sp.staff_high_skill_share, sp.skilled_share)[skill]
             * np.where(children, sp.children_share, 1.0 - sp.children_share)
             * np.where(car == NO_CAR, 1.0 - sp.car_share_households, sp.car_share_households)
             * np.where(home == world.region("beijing"), sp.staff_home_central_share,
                        1.0 - sp.staff_home_central_share))
    n = share.size
    staff = Talent(weight=1.0, skill=skill.astype(np.int8), children=children,
                   car=car.astype(np.int8), home=home.astype(np.int8),
                   job=np.full(n, world.region("beijing"), dtype=np.int8),
                   employer=np.zeros(n, dtype=np.int32), local=np.zeros(n, dtype=bool),
                   moved=np.zeros(n, dtype=bool))
    return staff, share


def _staff_to_follow(t: Talent, started: np.ndarray, firm_region: np.ndarray,
                     world: World) -> tuple[np.ndarray, np.ndarray]:
    """Workers whose firm started producing in another talent region, and that region.

    Staff of firms going where no talent region is (elsewhere) stay in Beijing jobs and
    lose the employer.
    """
    none = np.empty(0, dtype=np.int64)
    if started.size == 0:
        return none, none
    # One slot past the firms for "no employer" (-1), so one gather finds every
    # worker's firm's destination.
    destination = np.full(firm_region.size + 1, -1)
    destination[started] = firm_region[started]
    dest = destination[t.employer]
    affected = np.flatnonzero((dest >= 0) & (dest != t.job))
    d = dest[affected]
    talent_destination = world.talent[d]
    t.employer[affected[~talent_destination]] = -1
    return affected[talent_destination], d[talent_destination]


def release(t: Talent, firms_gone: np.ndarray) -> None:
    """Staff of firms that left the region they work in lose that employer."""
    if firms_gone.size:
        t.employer[np.isin(t.employer, firms_gone)] = -1


@dataclass
class Markets:
    """Homes and jobs in the talent regions, and the utility premia that fill them.

    Beijing's labour and housing markets are far larger than the workers modelled: they
    take whoever lives or works nowhere else (premia 0). Elsewhere the jobs are those of
    2014 (growing at ``background_job_growth``) plus the staff of the modelled firms
    producing there; whenever workers choose, a premium on each region's jobs (the wage or
    vacancy it takes) moves part of the way (``job_premium_adjustment``) towards the one at
    which those who choose a region would fill its free jobs (:func:`clear`). The home
    premia (rents and amenities the data do not show) are set once, before 2014, so that
    the homes of 2014 are where workers would choose to live; they stay fixed after.
    """

    homes_2014: np.ndarray    # (T,) workers living in each region in 2014
    jobs_2014: np.ndarray     # (T,) jobs of 2014 outside the modelled firms
    firm_jobs: np.ndarray     # (T,) jobs of the modelled firms that moved there
    home_premium: np.ndarray  # (T,) utility
    job_premium: np.ndarray   # (T,) utility
    counted: np.ndarray       # (T,) bool: homes and jobs are counted (not Beijing)

    @classmethod
    def of(cls, t: Talent, places: Places) -> Markets:
        T = places.regions.size

        def count(region):
            return np.bincount(places.slot[region], minlength=T) * t.weight

        return cls(count(t.home), count(t.job), np.zeros(T), np.zeros(T), np.zeros(T),
                   np.arange(T) != places.beijing_slot)

    def jobs(self, years: float, growth: float) -> np.ndarray:
        """Jobs in each region ``years`` after 2014Q1."""
        return self.jobs_2014 * (1.0 + growth) ** years + self.firm_jobs

    def move_firm_jobs(self, staff: np.ndarray, region: np.ndarray, places: Places,
                       sign: float) -> None:
        """Add (``sign`` 1) or remove (-1) the jobs of firms now producing in ``region``."""
        slot = places.slot[region]
        inside = slot >= 0
        np.add.at(self.firm_jobs, slot[inside], sign * staff[inside])


CLEARING_ROUNDS = 8


def clear(t: Talent, choosers: np.ndarray, u: np.ndarray, markets: Markets, places: Places,
          jobs: np.ndarray, adjustment: float, count: np.ndarray | None = None) -> np.ndarray:
    """Choice probabilities over (home, job) pairs, one row of ``u`` (a kind of chooser,
    ``count`` of them among the ``choosers``; one each if not given), (k, T*T), once the
    job premia have closed ``adjustment`` of the gap to those at which the choosers'
    expected choices would fill the jobs the other workers leave free.

    The clearing premia come from a contraction (Berry 1994): each round adds, in every
    counted region, ``log(free jobs / expected choosers)``. Closing only part of the gap
    each quarter is a wage that adjusts over time: jobs go unfilled, or are short of
    room, for a while.
    """
    T = places.regions.size
    others = np.ones(t.job.size, dtype=bool)
    others[choosers] = False
    taken = np.bincount(places.slot[t.job[others]], minlength=T) * t.weight
    free = np.maximum(jobs - taken, 0.5 * t.weight)
    shift = np.zeros(T)
    u = u.reshape(-1, T, T)
    weight = (np.ones(u.shape[0]) if count is None else count.astype(float)) * t.weight
    for _ in range(CLEARING_ROUNDS):
        p = logit_probabilities((u + shift).reshape(-1, T * T))
        chosen = weight @ p.reshape(-1, T, T).sum(axis=1)
        shift += np.where(markets.counted, np.log(free / np.maximum(chosen, 1e-12)), 0.0)
    shift *= adjustment
    markets.job_premium += shift
    return logit_probabilities((u + shift).reshape(-1, T * T))


EQUILIBRIUM_ROUNDS = 500
EQUILIBRIUM_TOLERANCE = 1e-5   # largest log gap between the homes or jobs placed and 2014's


def place_at_equilibrium(t: Talent, c: Conditions, tp: TalentParams, markets: Markets,
                         uniforms: np.ndarray) -> None:
    """Put every worker where the stationary distribution of the home and job choice
    places a worker of its kind, with home and job premia that fill the homes and jobs of
    2014.

    Kinds are (skill, children, car). Every quarter a worker who reconsiders moves from its
    (home, job) pair to another with the logit probabilities of :func:`pair_utilities`
    (home-moving and job-changing costs included): a Markov chain for each kind, whose
    stationary distribution is solved exactly. The premia move by the contraction of
    :func:`clear`, damped whenever it overshoots (the stationary shares react to the premia
    more strongly than one choice does), until the stationary homes and jobs are those of
    2014. ``uniforms`` (one
    a worker) draw each worker's pair. Only for 2014 conditions (before the purchase
    restriction), where an exposed firm's staff choose as anyone else; see
    :func:`reassign_staff`.
    """
    places = c.places
    T = places.regions.size
    kind = (t.skill.astype(np.intp) * 2 + t.children) * 3 + t.car
    K = 18
    mass = np.bincount(kind, minlength=K) * t.weight
    k = np.arange(K)
    base = c.utility[k // 6, (k // 3) % 2, k % 3]                            # (K, T, T)
    pairs = np.arange(T * T)
    moved = (pairs[:, None] // T != pairs[None, :] // T) * tp.home_move_cost
    changed = (pairs[:, None] % T != pairs[None, :] % T) * tp.job_change_cost
    switch = -(moved + changed)                                             # (from, to)
    damping, last_gap = 1.0, np.inf
    for _ in range(EQUILIBRIUM_ROUNDS):
        u = (base + markets.home_premium[:, None] + markets.job_premium).reshape(K, T * T)
        v = u[:, None, :] + switch[None]
        v -= v.max(axis=2, keepdims=True)
        step = np.exp(v)
        step /= step.sum(axis=2, keepdims=True)                             # (K, from, to)
        pi = _stationary(step) * mass[:, None]                              # (K, T*T)
        chosen = pi.sum(axis=0).reshape(T, T)
        floor = 0.5 * t.weight
        home_step = np.where(markets.counted, np.log(
            np.maximum(markets.homes_2014, floor) / np.maximum(chosen.sum(axis=1), 1e-12)), 0.0)
        job_step = np.where(markets.counted, np.log(
            np.maximum(markets.jobs_2014, floor) / np.maximum(chosen.sum(axis=0), 1e-12)), 0.0)
        gap = max(np.abs(home_step).max(), np.abs(job_step).max())
        if gap < EQUILIBRIUM_TOLERANCE:
            break
        if gap > last_gap:      # overshooting: the stationary shares react strongly
            damping *= 0.5
        last_gap = gap
        markets.home_premium += damping * home_step
        markets.job_premium += damping * job_step
    cdf = np.cumsum(pi / np.maximum(mass[:, None], 1e-300), axis=1)
    cdf[:, -1] = 1.0
    pair = (uniforms[:, None] >= cdf[kind]).sum(axis=1)
    t.home[:] = places.regions[pair // T]
    t.job[:] = places.regions[pair % T]


def reassign_staff(t: Talent, world: World, rng: np.random.Generator) -> None:
    """Give the exposed firms' staff places back to workers of the same skill who work in
    Beijing once everyone is placed (as many as there are)."""
    staff = np.flatnonzero(t.employer >= 0)
    employer = t.employer[staff]
    t.employer[:] = -1
    in_beijing = t.job == world.region("beijing")
    for skill in range(3):
        mine = employer[t.skill[staff] == skill]
        pool = np.flatnonzero(in_beijing & (t.skill == skill))
        n = min(mine.size, pool.size)
        t.employer[rng.choice(pool, size=n, replace=False)] = mine[:n]


def _stationary(step: np.ndarray) -> np.ndarray:
    """Stationary distribution of each chain of ``step`` (K, S, S): solves pi P = pi,
    sum(pi) = 1."""
    K, S, _ = step.shape
    a = np.transpose(step, (0, 2, 1)) - np.eye(S)
    a[:, -1, :] = 1.0
    b = np.zeros((K, S))
    b[:, -1] = 1.0
    return np.clip(np.linalg.solve(a, b[..., None])[..., 0], 0.0, None)


def reconsider(t: Talent, c: Conditions, tp: TalentParams, world: World, markets: Markets,
               jobs: np.ndarray, u_reconsider: np.ndarray,
               u_choice: np.ndarray) -> TalentQuarter:
    """A share of all workers re-chooses home and job, filling the jobs free (as far as
    the job premia adjust in a quarter)."""
    idx = np.flatnonzero(u_reconsider < hazard_probability(tp.talent_reconsider_rate))
    if idx.size == 0:
        return TalentQuarter(0, 0)
    regions = c.places.regions
    T = regions.size
    # Workers of one kind face the same options: one row of utilities and probabilities
    # a kind, each worker drawing from its kind's row.
    _, first, kind, count = np.unique(_kind_key(t, c.places, idx), return_index=True,
                                      return_inverse=True, return_counts=True)
    p = clear(t, idx, pair_utilities(t, idx[first], c, tp, world), markets, c.places, jobs,
              tp.job_premium_adjustment, count)
    choice = draw(p[kind], u_choice[idx])
    new_home = regions[choice // T].astype(np.int8)
    new_job = regions[choice % T].astype(np.int8)
    focus = world.focus
    old_job = t.job[idx]
    high = t.skill[idx] == 0
    to_beijing = int((high & (old_job == focus) & (world.side[new_job] == 0)).sum())
    to_focus = int((high & (world.side[old_job] == 0) & (new_job == focus)).sum())
    _apply(t, idx, new_home, new_job, focus, world)
    return TalentQuarter(to_beijing, to_focus)
