"""Merchants of Beijing wholesale markets that relocate as wholes to Xianghe's platforms.

Mechanism (report: the stone-materials and auto-parts cities took Beijing wholesale
markets, ~1,800 merchants; the furniture city consolidates 700,000 m2 of idle exhibition
halls to take home-furnishing and hotel-supply markets): when a Beijing market closes,
each of its merchants chooses by a logit to follow it to the platform, move to another
market elsewhere, or quit. A platform takes only as many merchants as it has places;
followers beyond that go elsewhere. Merchants trading on a platform quit at a constant
yearly rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from .choice import draw, hazard_probability, logit_probabilities
from .world import World


class MerchantState(IntEnum):
    """Where a merchant trades; every merchant is in exactly one state."""

    BEIJING_MARKET = 0
    XIANGHE_PLATFORM = 1
    ELSEWHERE = 2
    QUIT = 3


@dataclass
class Merchants:
    """Merchants of the relocating markets, one array entry per merchant agent."""

    weight: float
    market: np.ndarray
    state: np.ndarray

    @classmethod
    def create(cls, world: World, weight: float) -> "Merchants":
        counts = np.maximum(1, np.round(world.market_merchants / weight)).astype(int)
        market = np.repeat(np.arange(len(counts)), counts)
        return cls(weight, market, np.zeros(market.size, dtype=np.int8))

    def trading_in_xianghe(self) -> float:
        """Real merchants on the platforms."""
        return float((self.state == MerchantState.XIANGHE_PLATFORM).sum() * self.weight)


def advance_quarter(merchants: Merchants, world: World, p: dict, year: float,
                    rng: np.random.Generator) -> None:
    """Markets closing this quarter relocate; platform merchants may quit."""
    n = merchants.market.size
    u_choice, u_exit, u_order = rng.random((3, n))
    state = merchants.state

    trading = state == MerchantState.XIANGHE_PLATFORM
    state[trading & (u_exit < hazard_probability(p["merchant_exit_rate"]))] = MerchantState.QUIT

    closing = np.flatnonzero((world.market_year >= year) & (world.market_year < year + 0.25))
    for m in closing:
        members = np.flatnonzero(merchants.market == m)
        v = np.array([p["merchant_follow_asc"], p["merchant_elsewhere_asc"], 0.0])
        prob = logit_probabilities(np.broadcast_to(v, (members.size, 3)))
        choice = draw(prob, u_choice[members])
        state[members] = np.array([MerchantState.XIANGHE_PLATFORM, MerchantState.ELSEWHERE,
                                   MerchantState.QUIT])[choice]
        places = world.market_capacity[m] + p["hall_conversion"] * world.market_halls_capacity[m]
        followers = members[choice == 0]
        followers = followers[np.argsort(u_order[followers])]
        over = followers[int(places / merchants.weight):]
        state[over] = MerchantState.ELSEWHERE
