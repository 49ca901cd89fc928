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
from .params import skill_shares
from .services import HOUSEHOLD_WEIGHTS, household_index
from .world import World

NO_CAR, OTHER_PLATE, BEIJING_PLATE = 0, 1, 2
# Where the Beijing staff of exposed firms live in 2014: central city, Tongzhou (assumption).
STAFF_HOME_SHARES = np.array([0.65, 0.35])
# Where out-commuters from the focus county work in 2014: central city, Tongzhou (assumption).
OUT_COMMUTE_SHARES = np.array([0.45, 0.55])


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
    def create(cls, n: int, world: World, p: dict, staff: np.ndarray,
               rng: np.random.Generator) -> "Talent":
        """Draw ``n`` agents: the focus county's workforce and the exposed firms' staff."""
        staff_people = float(staff.sum())
        people = p["xianghe_workforce_people"] + staff_people
        n_staff = int(round(n * staff_people / people))
        n_local = n - n_staff
        beijing, tongzhou, focus = world.region("beijing"), world.region("tongzhou"), world.focus

        def skills(k, high):
            return rng.choice(3, size=k, p=skill_shares(high, p["skilled_share"]))

        # The focus county's workforce: residents working at home, out-commuters, in-commuters.
        u = rng.random(n_local)
        out = p["initial_out_commuter_share"]
        inc = p["initial_in_commuter_share"]
        home_l = np.where(u < inc, np.where(u < inc / 2, beijing, tongzhou), focus)
        v = rng.random(n_local)
        job_l = np.where(
            home_l == focus,
            np.where(v < out * OUT_COMMUTE_SHARES[0], beijing,
                     np.where(v < out, tongzhou, focus)),
            focus,
        )
        # The exposed firms' staff, drawn in proportion to each firm's staff.
        employer_s = rng.choice(staff.size, size=n_staff, p=staff / staff_people)
        home_s = np.where(rng.random(n_staff) < STAFF_HOME_SHARES[0], beijing, tongzhou)

        home = np.concatenate([home_l, home_s]).astype(np.int8)
        job = np.concatenate([job_l, np.full(n_staff, beijing)]).astype(np.int8)
        has_car = rng.random(n) < p["car_share_households"]
        plate = np.where((rng.random(n) < p["beijing_plate_share"]) | (world.side[home] == 0),
                         BEIJING_PLATE, OTHER_PLATE)
        return cls(
            weight=people / n,
            skill=np.concatenate([skills(n_local, p["high_skill_share"]),
                                  skills(n_staff, p["staff_high_skill_share"])]).astype(np.int8),
            children=rng.random(n) < p["children_share"],
            car=np.where(has_car, plate, NO_CAR).astype(np.int8),
            home=home,
            job=job,
            employer=np.concatenate([np.full(n_local, -1), employer_s]).astype(np.int32),
            local=home == focus,
            moved=np.zeros(n, dtype=bool),
        )


@dataclass
class Conditions:
    """What every worker faces this quarter, by kind of agent (computed once a quarter)."""

    regions: np.ndarray       # the talent regions, (T,)
    slot: np.ndarray          # (R,) position of each region among them, -1 if none
    utility: np.ndarray       # (skill, children, car, T, T) before agent-specific terms
    p_car: np.ndarray         # (skill, car, T, T)
    crossing: np.ndarray      # (T, T) home and job on different sides of the checkpoints
    inbound_peak: np.ndarray  # (T, T) the morning commute enters Beijing at the peak
    barred_cost: np.ndarray   # (skill, children, T_job) utility lost when barred from buying
    kept_wage: np.ndarray     # (skill, T) utility of keeping a Beijing firm's pay in each region
    focus_slot: int
    restriction_on: bool


def conditions(world: World, p: dict, services: np.ndarray, year: float,
               delay_min: float, bus_load: float) -> Conditions:
    """Utilities of each (home, job) pair for each kind of agent."""
    regions = np.flatnonzero(world.talent)
    side = world.side[regions]
    crossing = side[:, None] != side[None, :]
    from_hebei = (side[:, None] == 1) & (side[None, :] == 0)
    into_beijing = np.where(from_hebei, 1.0, np.where(crossing, commuting.OFFPEAK_DELAY_SHARE,
                                                      0.0))
    times = commuting.trip_minutes_and_yuan(world.distance_km[np.ix_(regions, regions)],
                                            crossing, into_beijing, delay_min, bus_load)
    wage = world.wage_yuan[regions]                           # (T, skill)
    permit = commuting.permit_day_share(p["entry_permits_per_year"], p["entry_permit_days"],
                                        year)
    p_car, commute_cost = commuting.commute_choice(wage, times, p, permit, from_hebei,
                                                   crossing)

    income = wage.T[:, None, :]                                # (skill, 1, job)
    housing = world.housing_cost_yuan[regions][None, :, None]  # (1, home, 1)
    base = (p["beta_log_wage"] * np.log(income)
            - p["beta_housing"] * housing / income
            + world.home_asc[regions][None, :, None])          # (skill, home, job)
    beta_s = np.array([p["beta_services_high"], p["beta_services_other"],
                       p["beta_services_other"]])
    served = household_index(services)[:, regions]             # (children, home)
    utility = (base[:, None, None]
               - p["beta_commute"] * (commute_cost / income[:, None])[:, None]
               + (beta_s[:, None, None] * served[None, :, :])[:, :, None, :, None])
    focus_slot = int(np.flatnonzero(regions == world.focus)[0])
    # Barred from buying, a household rents at a premium and its children have no
    # guaranteed school place: enrolment follows home ownership.
    premium = (p["beta_housing"] * p["purchase_restriction_premium"]
               * world.housing_cost_yuan[world.focus] / wage.T)[:, None, :]   # (skill, 1, job)
    schooling = (beta_s[:, None] * HOUSEHOLD_WEIGHTS[:, 0][None, :]
                 * services[world.focus, 0])[:, :, None]                    # (skill, children, 1)
    barred_cost = premium + schooling
    slot = np.full(world.side.size, -1)
    slot[regions] = np.arange(regions.size)
    log_wage = np.log(wage.T)                                  # (skill, T)
    beijing = int(slot[world.region("beijing")])
    kept_wage = p["beta_log_wage"] * (log_wage[:, [beijing]] - log_wage)
    return Conditions(regions, slot, utility, p_car, crossing, into_beijing == 1.0, barred_cost,
                      kept_wage, focus_slot, year >= world.purchase_restriction_year)


def pair_utilities(t: Talent, idx: np.ndarray, c: Conditions, p: dict, eligibility: bool,
                   world: World) -> np.ndarray:
    """Utilities of all (home, job) pairs for agents ``idx``, (n, T*T)."""
    T = c.regions.size
    home, job = c.slot[t.home[idx]], c.slot[t.job[idx]]
    u = c.utility[t.skill[idx], t.children[idx].astype(int), t.car[idx]].copy()  # (n, T, T)
    u -= p["home_move_cost"] * (np.arange(T)[None, :] != home[:, None])[:, :, None]
    u -= p["job_change_cost"] * (np.arange(T)[None, :] != job[:, None])[:, None, :]
    # Staff of a Beijing firm keep the firm's Beijing pay while they keep their job.
    staff = np.flatnonzero(t.employer[idx] >= 0)
    u[staff, :, job[staff]] += c.kept_wage[t.skill[idx[staff]], job[staff]][:, None]
    if c.restriction_on:
        f = c.focus_slot
        side = world.side[c.regions]
        beijing_security = (t.employer[idx] >= 0)[:, None] | (side[None, :] == 0)   # (n, job)
        barred = ~t.local[idx][:, None] & (home != f)[:, None] & beijing_security
        if eligibility:
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
                 p: dict, eligibility: bool, world: World, uniforms: np.ndarray) -> None:
    """Beijing staff of firms that started producing elsewhere: commute, move or leave."""
    if started.size == 0:
        return
    destination = np.full(firm_region.size, -1)
    destination[started] = firm_region[started]
    dest = np.where(t.employer >= 0, destination[np.maximum(t.employer, 0)], -1)
    affected = np.flatnonzero((dest >= 0) & (dest != t.job))
    if affected.size == 0:
        return
    d = dest[affected]
    talent_destination = world.talent[d]
    # Staff of firms going where no talent region is (elsewhere) stay in Beijing jobs.
    stay_behind = affected[~talent_destination]
    t.employer[stay_behind] = -1
    affected, d = affected[talent_destination], d[talent_destination]
    if affected.size == 0:
        return
    T = c.regions.size
    slot = c.slot
    u = pair_utilities(t, affected, c, p, eligibility, world)
    h, ds = slot[t.home[affected]], slot[d]
    beijing = slot[world.region("beijing")]
    rows = np.arange(affected.size)
    # Following the firm is not a job change: no job-change cost, and the firm's pay.
    follow = p["job_change_cost"] + c.kept_wage[t.skill[affected], ds]
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


def release(t: Talent, firms_gone: np.ndarray) -> None:
    """Staff of firms that left the region they work in lose that employer."""
    if firms_gone.size:
        t.employer[np.isin(t.employer, firms_gone)] = -1


def reconsider(t: Talent, c: Conditions, p: dict, eligibility: bool, world: World,
               u_reconsider: np.ndarray, u_choice: np.ndarray) -> TalentQuarter:
    """A share of all workers re-chooses home and job."""
    idx = np.flatnonzero(u_reconsider < hazard_probability(p["talent_reconsider_rate"]))
    if idx.size == 0:
        return TalentQuarter(0, 0)
    T = c.regions.size
    choice = draw(logit_probabilities(pair_utilities(t, idx, c, p, eligibility, world)),
                  u_choice[idx])
    new_home = c.regions[choice // T].astype(np.int8)
    new_job = c.regions[choice % T].astype(np.int8)
    focus = world.focus
    old_job = t.job[idx]
    high = t.skill[idx] == 0
    to_beijing = int((high & (old_job == focus) & (world.side[new_job] == 0)).sum())
    to_focus = int((high & (world.side[old_job] == 0) & (new_job == focus)).sum())
    _apply(t, idx, new_home, new_job, focus, world)
    return TalentQuarter(to_beijing, to_focus)
