"""Construction land in the receiving counties: the cap, the quota, idle land and the price.

Every receiving county (Tongzhou, Xianghe, Sanhe, Dachang) keeps land accounts: its
construction land may never exceed the cap of its plan; it receives a yearly quota; signed
projects wait for land in signing order (head-of-line: a big project at the front holds back
smaller ones behind it) and are blocked when they wait too long. The focus county's
accounts are fuller (its measures act on them): until the territorial spatial plan is
approved only part of its quota can be used and the rest is held back; housing for new
residents and infrastructure take quota first, or, while projects wait too, their share of
it in proportion to what each waits for; major projects put into the provincial key
projects land on provincial quota, still under the cap; the space-optimisation fund returns
idle land held by firms to use, and repurposed exhibition halls take small clean projects,
both already construction land and so needing neither quota nor room under the cap. Under
regional coordination the four share their quota: what a county cannot use goes to those
whose projects wait.

The price of industrial land is the counties' policy, not a scarcity rent alone: counties
competing for investment keep it low and set it against what their neighbours offer (Hu &
Xu 2021, 改革; Land Use Policy 2020, 104704; the Xianghe and Sanhe auctions stayed at
600-900 yuan/m2 from 2020 to 2026 while land grew scarcer, docs/evidence.md). A county asks

    asking = anchor ** (1 - competition) * (geometric mean of its neighbours' prices) ** competition

where the anchor is the price it would ask alone and the neighbours are the other receiving
counties on its side of the Beijing boundary, at last quarter's prices. Only where land
really binds does the price rise above that: a scarcity premium, never below 1, grows each
quarter with the excess demand for ready land,

    premium *= exp(adjustment * (waiting - ready) / (waiting + ready + released))

where ``waiting`` is the land needed by projects still waiting at the end of last quarter,
``ready`` the land ready for them now (usable quota within the cap, redeveloped idle land)
and ``released`` this quarter's new quota; it falls back towards 1 while land is ready and
no project waits. The price a firm weighs is ``asking * premium``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .params import View, view

M2_PER_KM2 = 1.0e6
QUARTERS_PER_YEAR = 4.0


@view
class LandParams(View):
    """What the land accounts read each quarter."""

    county_land_quota_km2: float
    plan_release_share: float
    fast_spatial_plan: bool
    space_fund_yuan: float
    space_fund_cost_yuan_m2: float
    space_fund_ready_m2: float
    hall_conversion: bool
    hall_conversion_cost_yuan_m2: float
    resident_growth: float
    residents_per_worker: float
    housing_land_m2_per_resident: float
    background_land_km2: float
    land_price_adjustment: float
    land_price_competition: float
    regional_coordination: bool


@dataclass
class Land:
    """Land accounts of one receiving county, in m2, and the price it asks."""

    area_m2: float
    cap_m2: float
    used_m2: float
    anchor: float                   # yuan/m2 it asks when land is not short and alone
    quota_m2: float = 0.0           # yearly quota (a neighbour's; the focus county's is a parameter)
    quota_pool_m2: float = 0.0
    quota_held_m2: float = 0.0      # quota held back until the spatial plan is approved
    idle_left_m2: float = 0.0       # idle land not yet redeveloped
    idle_ready_m2: float = 0.0      # redeveloped idle land waiting for a project
    hall_m2: float = 0.0            # repurposed exhibition-hall space free for small firms
    halls_opened: bool = False
    residents: float = 0.0          # residents housed so far (housing land is never given back)
    residents_2014: float = 0.0
    other_backlog_m2: float = 0.0   # land housing and infrastructure still wait for
    asking: float = 0.0             # the price it asks before scarcity (set each quarter)
    premium: float = 1.0            # scarcity premium on the asking price, at least 1
    waiting_m2: float = 0.0         # land needed by projects still waiting after allocation

    @classmethod
    def create(cls, area_km2: float, cap_share: float, used_km2: float, anchor: float,
               idle_km2: float = 0.0, residents: float = 0.0, quota_km2: float = 0.0) -> Land:
        cap = area_km2 * cap_share * M2_PER_KM2
        used = min(used_km2 * M2_PER_KM2, cap)
        return cls(area_km2 * M2_PER_KM2, cap, used, anchor, quota_km2 * M2_PER_KM2,
                   idle_left_m2=idle_km2 * M2_PER_KM2, residents=residents,
                   residents_2014=residents, asking=anchor)

    @property
    def room_m2(self) -> float:
        return self.cap_m2 - self.used_m2

    @property
    def intensity(self) -> float:
        """Construction land over county area."""
        return self.used_m2 / self.area_m2

    @property
    def ready_m2(self) -> float:
        """Land ready for a project on county quota: usable quota within the cap, and
        redeveloped idle land."""
        return max(0.0, min(self.quota_pool_m2, self.room_m2)) + self.idle_ready_m2

    @property
    def price(self) -> float:
        """Industrial land price, yuan/m2: the asking price times the scarcity premium."""
        return self.asking * self.premium

    def adjust_premium(self, lp: LandParams, released_m2: float) -> None:
        """Move the scarcity premium with last quarter's queue against the land ready now;
        never below 1: land that no project wants does not go below the asking price."""
        waiting, ready = self.waiting_m2, self.ready_m2
        total = waiting + ready + released_m2
        if total > 0.0:
            self.premium *= math.exp(lp.land_price_adjustment * (waiting - ready) / total)
        self.premium = max(self.premium, 1.0)

    def advance_neighbour_quarter(self, lp: LandParams) -> None:
        """A neighbour's quarter: its quota arrives (all of it usable), and its premium
        moves with its queue."""
        released = self.quota_m2 / QUARTERS_PER_YEAR
        self.quota_pool_m2 += released
        self.adjust_premium(lp, released)

    def advance_quarter(self, lp: LandParams, quarter: int, extra_workers_at_home: float,
                        hall_space_m2: float, halls_m2: float) -> float:
        """A quarter's quota, redevelopment, halls, housing and infrastructure; return the
        public money spent (the space fund, and the refit of the halls the quarter they
        open).

        Args:
            lp: the land parameters in force.
            quarter: quarters since 2014Q1, this one excluded.
            extra_workers_at_home: workers living in the county beyond those of 2014.
            hall_space_m2: repurposed hall space for small firms, once halls open.
            halls_m2: the idle halls refitted when they open.
        """
        quota = lp.county_land_quota_km2 * M2_PER_KM2 / QUARTERS_PER_YEAR
        spent = self.supply(quota, lp.plan_release_share, lp.fast_spatial_plan,
                            lp.space_fund_yuan / QUARTERS_PER_YEAR, lp.space_fund_cost_yuan_m2,
                            lp.space_fund_ready_m2)
        if lp.hall_conversion and self.open_halls(hall_space_m2):
            spent += halls_m2 * lp.hall_conversion_cost_yuan_m2
        residents = (self.residents_2014 + extra_workers_at_home * lp.residents_per_worker
                     + lp.resident_growth * quarter / QUARTERS_PER_YEAR)
        housing = max(0.0, residents - self.residents) * lp.housing_land_m2_per_resident
        self.residents = max(residents, self.residents)
        self.other_backlog_m2 += housing + lp.background_land_km2 * M2_PER_KM2 / QUARTERS_PER_YEAR
        self.take_for_other_uses()
        self.adjust_premium(lp, quota)
        return spent

    def supply(self, quota_m2: float, release_share: float, plan_approved: bool,
               fund_yuan: float, cost_yuan_m2: float, ready_m2: float) -> float:
        """Add a quarter's quota and redevelop idle land; return the fund actually spent."""
        if plan_approved:
            self.quota_pool_m2 += quota_m2 + self.quota_held_m2
            self.quota_held_m2 = 0.0
        else:
            self.quota_pool_m2 += quota_m2 * release_share
            self.quota_held_m2 += quota_m2 * (1.0 - release_share)
        wanted = max(0.0, ready_m2 - self.idle_ready_m2)
        redeveloped = min(self.idle_left_m2, fund_yuan / cost_yuan_m2, wanted)
        self.idle_left_m2 -= redeveloped
        self.idle_ready_m2 += redeveloped
        return redeveloped * cost_yuan_m2

    def open_halls(self, m2: float) -> bool:
        """Repurposed exhibition halls become space for small firms, once; True the time
        they open."""
        if self.halls_opened:
            return False
        self.hall_m2 += m2
        self.halls_opened = True
        return True

    def take_for_other_uses(self) -> float:
        """Housing and infrastructure take quota within the cap for the land they wait
        for; while projects wait too, only their share of the quota in proportion to what
        each waits for (what they cannot take waits for later quota)."""
        backlog = self.other_backlog_m2
        share = backlog / (backlog + self.waiting_m2) if backlog > 0.0 else 0.0
        taken = max(0.0, min(backlog, self.room_m2, self.quota_pool_m2 * share))
        self.used_m2 += taken
        self.quota_pool_m2 -= taken
        self.other_backlog_m2 -= taken
        return taken

    def allocate(self, need_m2: np.ndarray, provincial: np.ndarray,
                 small: np.ndarray) -> np.ndarray:
        """Grant land to waiting projects, given in signing order; return who got it.

        Small clean projects draw first on repurposed halls. Projects on provincial quota
        draw only on room under the cap; the others on redeveloped idle land first, then
        on county quota within the cap.
        """
        granted = np.zeros(len(need_m2), dtype=bool)
        halls = np.flatnonzero(small)
        fits = np.cumsum(need_m2[halls]) <= self.hall_m2
        granted[halls[fits]] = True
        self.hall_m2 -= need_m2[halls[fits]].sum()

        prov = np.flatnonzero(provincial & ~granted)
        fits = np.cumsum(need_m2[prov]) <= self.room_m2
        granted[prov[fits]] = True
        self.used_m2 += need_m2[prov[fits]].sum()

        county = np.flatnonzero(~provincial & ~granted)
        new_land = max(0.0, min(self.quota_pool_m2, self.room_m2))
        fits = np.cumsum(need_m2[county]) <= self.idle_ready_m2 + new_land
        taken = need_m2[county[fits]].sum()
        granted[county[fits]] = True
        from_idle = min(taken, self.idle_ready_m2)
        self.idle_ready_m2 -= from_idle
        self.used_m2 += taken - from_idle
        self.quota_pool_m2 -= taken - from_idle
        self.waiting_m2 = float(need_m2[~granted].sum())
        return granted


def set_asking_prices(lands: dict[int, Land], side: np.ndarray, competition: float) -> None:
    """Each county sets its asking price against its neighbours' prices of last quarter
    (the other receiving counties on its side of the Beijing boundary; alone, its anchor)."""
    prices = {r: land.price for r, land in lands.items()}
    for r, land in lands.items():
        peers = [math.log(prices[n]) for n in lands if n != r and side[n] == side[r]]
        if not peers:
            land.asking = land.anchor
            continue
        land.asking = math.exp((1.0 - competition) * math.log(land.anchor)
                               + competition * sum(peers) / len(peers))


def share_quota(lands: dict[int, Land]) -> None:
    """Regional coordination's shared quota: the usable quota of counties where no project
    waits goes to those where projects wait, up to what they wait for and their room."""
    spare = {r: max(0.0, min(l.quota_pool_m2, l.room_m2)) for r, l in lands.items()
             if l.waiting_m2 <= 0.0}
    short = {r: l for r, l in lands.items() if l.waiting_m2 > 0.0}
    for r, land in short.items():
        need = min(land.waiting_m2 - land.ready_m2, land.room_m2 - land.quota_pool_m2)
        for giver in spare:
            if need <= 0.0:
                break
            moved = min(spare[giver], need)
            spare[giver] -= moved
            lands[giver].quota_pool_m2 -= moved
            land.quota_pool_m2 += moved
            need -= moved
