"""Construction land in the focus county: the cap, the quota, idle land and the land price.

Mechanism: construction land grows with housing for new residents, with infrastructure and
local firms, and with relocated projects, and may never exceed the cap of the coordinated
development plan (30.9 % of the county, report). The county receives a yearly quota; until
the territorial spatial plan is approved only part of it can be used and the rest is held
back, to be released when the plan is approved. Housing and infrastructure take quota
first, or, while projects wait too, their share of it in proportion to what each waits for;
what they cannot have waits for later quota. Projects wait in signing order for what is left
(head-of-line: a big project at the front holds back smaller ones behind it). Major
projects put into the provincial key projects land on provincial quota, still under the
cap. The space-optimisation fund returns idle land held by firms to use, as projects need
it; repurposed exhibition halls take small clean projects. Both are already construction
land, so they need neither quota nor room under the cap.

The price of industrial land has two parts. Its long-run level rises as the room left under
the cap shrinks: ``price_2014 * (room_2014 / room) ** elasticity``, the room counted no
lower than a declared floor. The county, which sells the land, moves it with the market:
each quarter a premium on that level grows with the excess demand for ready land,

    premium *= exp(adjustment * (waiting - ready) / (waiting + ready + released))

where ``waiting`` is the land needed by projects still waiting at the end of last quarter,
``ready`` the land ready for them now (usable quota within the cap, redeveloped idle land)
and ``released`` this quarter's new quota: projects queuing for land raise the price, land
no project wants lowers it, never below a declared floor. So extra supply lowers the price
firms weigh, and demand raises it, as well as the cap.
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
    land_price_elasticity: float
    land_room_floor_share: float
    land_price_adjustment: float
    land_price_floor_share: float


@dataclass
class Land:
    """Land accounts of the focus county, in m2."""

    area_m2: float
    cap_m2: float
    used_m2: float
    room_2014_m2: float
    price_2014: float
    quota_pool_m2: float = 0.0
    quota_held_m2: float = 0.0      # quota held back until the spatial plan is approved
    idle_left_m2: float = 0.0       # idle land not yet redeveloped
    idle_ready_m2: float = 0.0      # redeveloped idle land waiting for a project
    hall_m2: float = 0.0            # repurposed exhibition-hall space free for small firms
    halls_opened: bool = False
    residents: float = 0.0          # residents housed so far (housing land is never given back)
    residents_2014: float = 0.0
    other_backlog_m2: float = 0.0   # land housing and infrastructure still wait for
    premium: float = 1.0            # market premium on the long-run price
    waiting_m2: float = 0.0         # land needed by projects still waiting after allocation

    @classmethod
    def create(cls, area_km2: float, cap_share: float, used_km2: float, price: float,
               idle_km2: float, residents: float = 0.0) -> Land:
        cap = area_km2 * cap_share * M2_PER_KM2
        used = min(used_km2 * M2_PER_KM2, cap)
        return cls(area_km2 * M2_PER_KM2, cap, used, max(cap - used, 1.0), price,
                   idle_left_m2=idle_km2 * M2_PER_KM2, residents=residents,
                   residents_2014=residents)

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

    def long_run_price(self, lp: LandParams) -> float:
        """The price's level from the scarcity of room under the cap, yuan/m2."""
        room = max(self.room_m2, lp.land_room_floor_share * self.room_2014_m2)
        return self.price_2014 * (self.room_2014_m2 / room) ** lp.land_price_elasticity

    def price(self, lp: LandParams) -> float:
        """Industrial land price, yuan/m2: the long-run level times the market premium."""
        return self.long_run_price(lp) * self.premium

    def adjust_price(self, lp: LandParams, released_m2: float) -> None:
        """Move the market premium with last quarter's queue against the land ready now."""
        waiting, ready = self.waiting_m2, self.ready_m2
        total = waiting + ready + released_m2
        if total > 0.0:
            self.premium *= math.exp(lp.land_price_adjustment * (waiting - ready) / total)
        floor = lp.land_price_floor_share * self.price_2014 / self.long_run_price(lp)
        self.premium = max(self.premium, floor)

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
        self.adjust_price(lp, quota)
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
