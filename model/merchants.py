"""Merchants of Beijing wholesale markets that relocate as wholes to Xianghe's platforms.

Mechanism (report: the stone-materials and auto-parts cities took Beijing wholesale
markets, ~1,800 merchants; the furniture city consolidates 700,000 m2 of idle exhibition
halls to take home-furnishing and hotel-supply markets): when a Beijing market closes,
each of its merchants chooses by a logit to follow it to the platform, move to another
market elsewhere, or quit. A platform takes only as many merchants as it has places
(more once idle halls are repurposed); followers without a place wait for one, giving up
for another market at a constant rate, and take places as they free up. Merchants trading
on a platform quit at a constant yearly rate, and new merchants join an open platform at a
constant yearly rate of those trading there (drawn by the trade the platform already has),
while it has free places.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from .choice import draw, hazard_probability, logit_probabilities, stochastic_round
from .params import View, view
from .world import World


class MerchantState(IntEnum):
    """Where a merchant trades; every merchant is in exactly one state."""

    BEIJING_MARKET = 0
    XIANGHE_PLATFORM = 1
    ELSEWHERE = 2
    QUIT = 3
    WAITING = 4   # followed the market but found no place on the platform yet


QUARTER_YEARS = 0.25


@view
class MerchantParams(View):
    """What merchants' choices read."""

    merchant_follow_asc: float
    merchant_elsewhere_asc: float
    merchant_exit_rate: float
    merchant_entry_rate: float
    merchant_wait_give_up_rate: float
    hall_conversion: bool


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


def advance_quarter(merchants: Merchants, world: World, mp: MerchantParams, year: float,
                    rng: np.random.Generator) -> None:
    """Markets closing this quarter relocate; merchants quit, give up or take free places."""
    n = merchants.market.size
    u_choice, u_exit, u_order = rng.random((3, n))
    state = merchants.state

    trading = state == MerchantState.XIANGHE_PLATFORM
    state[trading & (u_exit < hazard_probability(mp.merchant_exit_rate))] = MerchantState.QUIT
    waiting = state == MerchantState.WAITING
    giving_up = u_exit < hazard_probability(mp.merchant_wait_give_up_rate)
    state[waiting & giving_up] = MerchantState.ELSEWHERE

    closing = (world.market_year >= year) & (world.market_year < year + QUARTER_YEARS)
    v = np.array([mp.merchant_follow_asc, mp.merchant_elsewhere_asc, 0.0])   # quit: reference
    outcome = np.array([MerchantState.WAITING, MerchantState.ELSEWHERE, MerchantState.QUIT])
    members = np.flatnonzero(closing[merchants.market])
    prob = logit_probabilities(np.broadcast_to(v, (members.size, 3)))
    state[members] = outcome[draw(prob, u_choice[members])]

    places = np.round((world.market_capacity + mp.hall_conversion
                       * world.market_halls_capacity) / merchants.weight)
    on_platform = np.bincount(merchants.market[state == MerchantState.XIANGHE_PLATFORM],
                              minlength=places.size)
    waiting = np.flatnonzero(state == MerchantState.WAITING)
    waiting = waiting[np.lexsort((u_order[waiting], merchants.market[waiting]))]
    queue_position = np.arange(waiting.size) - np.searchsorted(
        merchants.market[waiting], merchants.market[waiting])
    free = np.maximum(places - on_platform, 0)[merchants.market[waiting]]
    state[waiting[queue_position < free]] = MerchantState.XIANGHE_PLATFORM
    _enter(merchants, world, mp, year, places, rng)


def _enter(merchants: Merchants, world: World, mp: MerchantParams, year: float,
           places: np.ndarray, rng: np.random.Generator) -> None:
    """New merchants join each open platform at ``merchant_entry_rate`` a year of those
    trading there, as long as it has free places; they are new agents."""
    trading = np.bincount(merchants.market[merchants.state == MerchantState.XIANGHE_PLATFORM],
                          minlength=places.size)
    expected = trading * hazard_probability(mp.merchant_entry_rate)
    entrants = np.minimum(stochastic_round(expected, rng.random(places.size)),
                          np.maximum(places - trading, 0).astype(np.int64))
    entrants[world.market_year > year] = 0
    if entrants.sum():
        merchants.market = np.concatenate(
            [merchants.market, np.repeat(np.arange(places.size), entrants)])
        merchants.state = np.concatenate(
            [merchants.state, np.full(entrants.sum(), MerchantState.XIANGHE_PLATFORM,
                                      dtype=merchants.state.dtype)])
