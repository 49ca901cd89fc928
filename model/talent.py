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

Utilities depend on an agent only through its skill, children, car and current home and
job, so they are computed once per kind of agent and gathered for all agents with numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import commuting
from .choice import draw, hazard_probability, logit_probabilities
from .commuting import CommutingParams, Links
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
    barred_cost: np.ndarray   # (skill, children, T_job) utility lost when barred from buying
    kept_wage: np.ndarray     # (skill, T) utility of keeping a Beijing firm's pay in each region
    restriction_on: bool


def conditions(world: World, places: Places, tp: TalentParams, cp: CommutingParams,
               weights: HouseholdWeights, services: np.ndarray, year: float,
               delay_min: float, bus_load: float) -> Conditions:
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
        barred_cost=_barred_cost(world, tp, weights, services, wage, beta_s),
        kept_wage=tp.beta_log_wage * (log_wage[:, [places.beijing_slot]] - log_wage),
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
    slot = c.places.slot
    T = c.places.regions.size
    u = pair_utilities(t, affected, c, tp, world)
    h, ds = slot[t.home[affected]], slot[d]
    beijing = c.places.beijing_slot
    rows = np.arange(affected.size)
    # Following the firm is not a job change: no job-change cost, and the firm's pay.
    follow = tp.job_change_cost + c.kept_wage[t.skill[affected], ds]
    commute = u[rows, h * T + ds] + follow
    move = u[rows, ds * T + ds] + follow
    leave = u[rows, h * T + beijing]
    # Staff already living where the firm goes have nothing to move: commute is all.
    available = np.ones((affected.size, 3), dtype=bool)
    available[:, 1] = h != ds
    choice = draw(logit_probabilities(np.column_stack([commute, move, leave]), available),
                  uniforms[affected])
    new_home = np.where(choice == 1, d, t.home[affected])
    new_job = np.where(choice == 2, world.region("beijing"), d)
    employer = t.employer[affected].copy()
    _apply(t, affected, new_home.astype(np.int8), new_job.astype(np.int8), world.focus, world)
    t.employer[affected] = np.where(choice == 2, -1, employer)


def _staff_to_follow(t: Talent, started: np.ndarray, firm_region: np.ndarray,
                     world: World) -> tuple[np.ndarray, np.ndarray]:
    """Workers whose firm started producing in another talent region, and that region.

    Staff of firms going where no talent region is (elsewhere) stay in Beijing jobs and
    lose the employer.
    """
    none = np.empty(0, dtype=np.int64)
    if started.size == 0:
        return none, none
    destination = np.full(firm_region.size, -1)
    destination[started] = firm_region[started]
    dest = np.where(t.employer >= 0, destination[np.maximum(t.employer, 0)], -1)
    affected = np.flatnonzero((dest >= 0) & (dest != t.job))
    d = dest[affected]
    talent_destination = world.talent[d]
    t.employer[affected[~talent_destination]] = -1
    return affected[talent_destination], d[talent_destination]


def release(t: Talent, firms_gone: np.ndarray) -> None:
    """Staff of firms that left the region they work in lose that employer."""
    if firms_gone.size:
        t.employer[np.isin(t.employer, firms_gone)] = -1


def reconsider(t: Talent, c: Conditions, tp: TalentParams, world: World,
               u_reconsider: np.ndarray, u_choice: np.ndarray) -> TalentQuarter:
    """A share of all workers re-chooses home and job."""
    idx = np.flatnonzero(u_reconsider < hazard_probability(tp.talent_reconsider_rate))
    if idx.size == 0:
        return TalentQuarter(0, 0)
    regions = c.places.regions
    T = regions.size
    choice = draw(logit_probabilities(pair_utilities(t, idx, c, tp, world)), u_choice[idx])
    new_home = regions[choice // T].astype(np.int8)
    new_job = regions[choice % T].astype(np.int8)
    focus = world.focus
    old_job = t.job[idx]
    high = t.skill[idx] == 0
    to_beijing = int((high & (old_job == focus) & (world.side[new_job] == 0)).sum())
    to_focus = int((high & (world.side[old_job] == 0) & (new_job == focus)).sum())
    _apply(t, idx, new_home, new_job, focus, world)
    return TalentQuarter(to_beijing, to_focus)
