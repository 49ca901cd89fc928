"""Commuting across the Beijing checkpoints: trip costs, mode choice, flows and the queue.

Mechanism:

* **Generalised cost** of a commute = money + value of time x minutes, the value of time
  being a share of the after-tax wage (Whittington & Cook 2018: about half). Trips that
  enter Beijing from the Hebei side pass a checkpoint once a day: cars queue, bus
  passengers go through the bus inspection and ride buses that crowd as their load rises
  (BPR form, t = t0 (1 + alpha (v/c)^beta), BPR 1964).
* **Mode** is a binary logit, car against bus. A car with a non-Beijing plate needs an
  entry permit; from November 2019 a car may have at most ``permits x days`` permit days
  a year, so it can be driven into Beijing on at most that share of working days.
* **Flows**: where everyone lives and works gives the cross-border commuters; residents
  crossing for other purposes add to them. The Beijing-bound cars of the morning peak
  are the checkpoints' arrivals; bus riders over the lines' capacity are the bus load.
* **Checkpoint delay** at the morning peak is the wait in a multi-server queue (Lin, Wang
  & Sadek 2014: a checkpoint is better a queue than a link): lanes are servers. Below
  saturation the M/M/c (Erlang C) wait applies; above it the queue grows through the peak
  and the mean wait is the fluid one, ``(arrivals / capacity - 1) x peak hours / 2``, up to
  a declared overload beyond which travellers leave earlier instead. Major-event security
  days cut the throughput of every lane.
* **Learning**: commuters choose on the delay and crowding they expect, updated each
  quarter towards what they saw (adaptive expectations).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from .params import View, view

DAYS_PER_WEEK, WORKING_DAYS_PER_WEEK = 7.0, 5.0
MINUTES_PER_HOUR = 60.0
# The Erlang C wait is evaluated short of saturation, where it is finite; beyond it the
# fluid queue takes over.
STATIONARY_LOAD_LIMIT = 0.99


@view
class CommutingParams(View):
    """What the commuting submodel reads."""

    road_factor: float
    car_min_per_km: float
    bus_min_per_km: float
    car_fixed_min: float
    bus_fixed_min: float
    local_trip_min: float
    car_yuan_per_km: float
    car_fixed_yuan: float
    bus_fare_yuan: float
    local_trip_yuan: float
    bus_check_min: float
    offpeak_delay_share: float
    bus_crowding_alpha: float
    bus_crowding_beta: float
    bus_crowding_max: float
    working_days: float
    working_hours: float
    after_tax_share: float
    value_of_time_share: float
    commute_days_share: float
    beta_commute: float
    bus_asc: float
    no_bus_cost_share: float
    bus_lines: int
    bus_line_capacity: float
    entry_permits_per_year: int
    entry_permit_days: int
    noncommute_trips_per_resident: float
    car_occupancy: float
    peak_share: float
    peak_hours: float
    checkpoint_lanes: int
    checkpoint_service_veh_h: float
    event_service_factor: float
    event_days_share: float
    queue_overload_cap: float
    delay_learning: float


@dataclass(frozen=True)
class Links:
    """Commutes between the talent regions, (T, T) each: home in rows, job in columns."""

    distance_km: np.ndarray
    crossing: np.ndarray       # home and job on different sides of the checkpoints
    inbound_peak: np.ndarray   # the morning trip enters Beijing from Hebei, at the peak

    @classmethod
    def between(cls, side: np.ndarray, distance_km: np.ndarray) -> Links:
        """Links of regions on ``side`` (0 Beijing, 1 Hebei, 2 other) at ``distance_km``."""
        crossing = side[:, None] != side[None, :]
        return cls(distance_km, crossing, (side[:, None] == 1) & (side[None, :] == 0))

    def delay_exposure(self, offpeak_share: float) -> np.ndarray:
        """Share of the peak checkpoint delay each commute meets: all of it entering at the
        peak, ``offpeak_share`` for a reverse commuter entering in the evening, none where
        no checkpoint is passed."""
        return np.where(self.inbound_peak, 1.0, np.where(self.crossing, offpeak_share, 0.0))


class Trips(NamedTuple):
    """One-way minutes and yuan by car and by bus, (T, T) each."""

    car_min: np.ndarray
    car_delay_min: np.ndarray
    bus_min: np.ndarray
    car_yuan: np.ndarray
    bus_yuan: np.ndarray


def erlang_c_wait_hours(arrivals_h: float, servers: int, service_h: float) -> float:
    """Mean wait in queue of an M/M/c queue (hours); requires arrivals < servers x rate."""
    if arrivals_h <= 0.0:
        return 0.0
    a = arrivals_h / service_h
    erlang_b = 1.0
    for k in range(1, servers + 1):
        erlang_b = a * erlang_b / (k + a * erlang_b)
    rho = a / servers
    erlang_c = erlang_b / (1.0 - rho * (1.0 - erlang_b))
    return erlang_c / (servers * service_h - arrivals_h)


def checkpoint_delay_min(peak_vehicles: float, peak_hours: float, lanes: int,
                         service_veh_h: float, overload_cap: float) -> float:
    """Mean clearance time (queue plus inspection) at the morning peak, in minutes.

    The wait never exceeds the declared ceiling ``overload_cap x peak_hours / 2``: a queue
    longer than that is not sat through at the peak (travellers leave earlier instead), and
    a stationary queue cannot build up for longer than the peak lasts.
    """
    arrivals = peak_vehicles / peak_hours
    capacity = lanes * service_veh_h
    stationary = erlang_c_wait_hours(min(arrivals, STATIONARY_LOAD_LIMIT * capacity), lanes,
                                     service_veh_h)
    ceiling = overload_cap * peak_hours / 2.0
    fluid = min(max(0.0, arrivals / capacity - 1.0), overload_cap) * peak_hours / 2.0
    return MINUTES_PER_HOUR * (min(max(stationary, fluid), ceiling) + 1.0 / service_veh_h)


def delay_ceiling_min(cp: CommutingParams, event_day: bool = False) -> float:
    """The largest clearance time :func:`checkpoint_delay_min` can give, in minutes."""
    service = cp.checkpoint_service_veh_h * (cp.event_service_factor if event_day else 1.0)
    return MINUTES_PER_HOUR * (cp.queue_overload_cap * cp.peak_hours / 2.0 + 1.0 / service)


def bus_crowding(load: float, cp: CommutingParams) -> float:
    """Factor on bus travel time at a given load (riders over capacity), BPR form."""
    return min(cp.bus_crowding_max, 1.0 + cp.bus_crowding_alpha * load**cp.bus_crowding_beta)


def permit_day_share(permits: int, days: int, year: float, limit_year: float,
                     working_days: float) -> float:
    """Share of working days a non-Beijing car may enter Beijing.

    A permit runs for calendar days, of which five in seven are working days.
    """
    if year < limit_year:
        return 1.0
    return min(1.0, permits * days * WORKING_DAYS_PER_WEEK / DAYS_PER_WEEK / working_days)


def trip_minutes_and_yuan(links: Links, cp: CommutingParams, delay_min: float,
                          bus_load: float) -> Trips:
    """One-way minutes and yuan by car and by bus between talent regions."""
    road = links.distance_km * cp.road_factor
    local = links.distance_km == 0
    car_min = np.where(local, cp.local_trip_min, cp.car_fixed_min + cp.car_min_per_km * road)
    bus_min = np.where(local, cp.local_trip_min, cp.bus_fixed_min + cp.bus_min_per_km * road)
    bus_min = np.where(links.crossing,
                       bus_min * bus_crowding(bus_load, cp) + cp.bus_check_min, bus_min)
    car_delay = links.delay_exposure(cp.offpeak_delay_share) * delay_min
    car_yuan = np.where(local, cp.local_trip_yuan,
                        cp.car_fixed_yuan + cp.car_yuan_per_km * road)
    bus_yuan = np.where(local, cp.local_trip_yuan, cp.bus_fare_yuan)
    return Trips(car_min, car_delay, bus_min, car_yuan, bus_yuan)


def commute_choice(wage_yuan: np.ndarray, trips: Trips, cp: CommutingParams,
                   permit_share: float, links: Links) -> tuple[np.ndarray, np.ndarray]:
    """Car probability and expected yearly commuting cost, (skill, car status, T, T).

    Args:
        wage_yuan: (T, 3) wages by job region and skill.
        trips: the trips' minutes and yuan.
        cp: the commuting parameters in force.
        permit_share: share of days a non-Beijing car may enter Beijing.
        links: the commutes; a non-Beijing car needs a permit on those entering Beijing
            from Hebei.
    """
    days = cp.working_days * cp.commute_days_share
    income = wage_yuan.T[:, None, :]                     # (skill, 1, job)
    vot_min = (cp.value_of_time_share * income * cp.after_tax_share
               / (cp.working_hours * MINUTES_PER_HOUR))
    car_cost = days * (2 * (trips.car_yuan + vot_min * trips.car_min)
                       + vot_min * trips.car_delay_min)
    bus_cost = days * 2 * (trips.bus_yuan + vot_min * trips.bus_min)
    if cp.bus_lines == 0:
        bus_cost = np.where(links.crossing, cp.no_bus_cost_share * income, bus_cost)
    v_car = -cp.beta_commute * car_cost / income
    v_bus = cp.bus_asc - cp.beta_commute * bus_cost / income
    p_car_free = 1.0 / (1.0 + np.exp(np.clip(v_bus - v_car, -50, 50)))   # (skill, T, T)
    limit = np.where(links.inbound_peak, permit_share, 1.0)
    p_car = np.stack([np.zeros_like(p_car_free),           # no car
                      p_car_free * limit,                   # non-Beijing plate
                      p_car_free])                          # Beijing plate
    p_car = np.moveaxis(p_car, 0, 1)                        # (skill, car, T, T)
    cost = p_car * car_cost[:, None] + (1.0 - p_car) * bus_cost[:, None]
    return p_car, cost


@dataclass(frozen=True)
class Flows:
    """Who crossed the checkpoints on an average working day of the quarter, and the
    delay and crowding that followed."""

    persons: float
    commuters: float
    car_share: float
    bus_share: float
    peak_delay_min: float
    event_delay_min: float
    bus_load: float

    @property
    def commuter_share(self) -> float:
        """Share of the persons crossing who cross to work."""
        return self.commuters / self.persons if self.persons > 0 else 0.0

    @property
    def other_mode_share(self) -> float:
        """Share of cross-border commuters who go neither by car nor on a bus: those the
        buses have no place for (shared cars, company shuttles, ...)."""
        return max(0.0, 1.0 - self.car_share - self.bus_share)


def flows(workers: np.ndarray, crossing: np.ndarray, inbound_peak: np.ndarray,
          p_car: np.ndarray, weight: float, residents: float, cp: CommutingParams) -> Flows:
    """Flows over the checkpoints from every worker's commute, computed from how many
    workers there are of each kind (skill, car) on each commute (home, job): the workers of
    one cell share their commute and their probability of driving.

    Args:
        workers: (skill, car, T, T) worker agents of each kind on each commute.
        crossing: (T, T) whether a commute crosses the checkpoints.
        inbound_peak: (T, T) whether it enters Beijing at the morning peak.
        p_car: (skill, car, T, T) probability of going by car.
        weight: real people per worker agent.
        residents: residents of the focus county, who also cross for other purposes.
        cp: the commuting parameters in force.
    """
    scale = weight * cp.commute_days_share
    crossers = workers * crossing
    n_cross = int(crossers.sum())
    drivers = float((crossers * p_car).sum())
    car_share = drivers / n_cross if n_cross else 0.0
    commuters = n_cross * scale
    other = cp.noncommute_trips_per_resident * residents
    inbound_cars = (float((workers * inbound_peak * p_car).sum()) * scale
                    + other * car_share) / cp.car_occupancy
    peak = inbound_cars * cp.peak_share
    delay = checkpoint_delay_min(peak, cp.peak_hours, cp.checkpoint_lanes,
                                 cp.checkpoint_service_veh_h, cp.queue_overload_cap)
    event_delay = checkpoint_delay_min(
        peak, cp.peak_hours, cp.checkpoint_lanes,
        cp.checkpoint_service_veh_h * cp.event_service_factor, cp.queue_overload_cap)
    riders = (n_cross - drivers) * scale + other * (1.0 - car_share)
    capacity = cp.bus_lines * cp.bus_line_capacity
    bus_load = riders / capacity if capacity > 0 else 0.0
    # The buses carry at most their capacity; those without a place cross by other means.
    carried = min(riders, capacity) / riders if riders > 0 else 0.0
    bus_share = (1.0 - car_share) * carried if n_cross else 0.0
    return Flows(commuters + other, commuters, car_share, bus_share, delay, event_delay,
                 bus_load)


@dataclass
class Expectations:
    """The peak delay, event-day delay and bus load commuters expect, learnt from the
    quarters they have seen."""

    seen: Flows | None = None
    expected: np.ndarray = field(default_factory=lambda: np.zeros(3))

    def delay_min(self, event_days_share: float) -> float:
        """Expected checkpoint delay on an average working day."""
        peak, event, _ = self.expected
        return (1.0 - event_days_share) * peak + event_days_share * event

    @property
    def bus_load(self) -> float:
        return self.expected[2]

    def learn(self, seen: Flows, weight: float) -> None:
        """Move the expectations towards what was seen, by ``weight``."""
        self.seen = seen
        observed = np.array([seen.peak_delay_min, seen.event_delay_min, seen.bus_load])
        self.expected += weight * (observed - self.expected)
