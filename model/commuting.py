"""Commuting across the Beijing checkpoints: travel costs, mode choice and the queue.

Mechanism:

* **Generalised cost** of a commute = money + value of time x minutes, the value of time
  being a share of the after-tax wage (Whittington & Cook 2018: about half). Trips that
  enter Beijing from the Hebei side pass a checkpoint once a day: cars queue, bus
  passengers go through the bus inspection and ride buses that crowd as their load rises
  (BPR form, t = t0 (1 + 0.15 (v/c)^4), BPR 1964).
* **Mode** is a binary logit, car against bus. A car with a non-Beijing plate needs an
  entry permit; from November 2019 a car may have at most ``permits x days`` permit days
  a year, so it can be driven into Beijing on at most that share of working days.
* **Checkpoint delay** at the morning peak is the wait in a multi-server queue (Lin, Wang
  & Sadek 2014: a checkpoint is better a queue than a link): lanes are servers, the
  arrivals are the Beijing-bound cars of the peak. Below saturation the M/M/c (Erlang C)
  wait applies; above it the queue grows through the peak and the mean wait is the fluid
  one, ``(arrivals / capacity - 1) x peak hours / 2``. Major-event security days cut the
  throughput of every lane. The delay feeds back into next quarter's commuting costs.
"""

from __future__ import annotations

import numpy as np

ROAD_FACTOR = 1.3          # road km per straight-line km
CAR_MIN_PER_KM = 1.5       # congested car speed, 40 km/h
BUS_MIN_PER_KM = 2.2
CAR_FIXED_MIN = 8.0        # parking, access
BUS_FIXED_MIN = 20.0       # walking to badly placed stops, waiting
LOCAL_MIN = 30.0           # a commute within one region
CAR_YUAN_PER_KM = 0.8      # fuel and wear
CAR_FIXED_YUAN = 10.0      # tolls, parking
BUS_FARE_YUAN = 8.0
LOCAL_YUAN = 5.0
BUS_CHECK_MIN = 15.0       # passengers leave the bus for the identity check
OFFPEAK_DELAY_SHARE = 0.3  # a reverse commuter enters Beijing off the peak
WORKING_DAYS = 250.0
HOURS_PER_YEAR = 2000.0
AFTER_TAX_SHARE = 0.8
MAX_CROWDING = 2.0         # beyond this, riders wait for the next bus rather than squeeze in
DAYS_PER_WEEK, WORKING_DAYS_PER_WEEK = 7.0, 5.0


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
                         service_veh_h: float) -> float:
    """Mean clearance time (queue plus inspection) at the morning peak, in minutes."""
    arrivals = peak_vehicles / peak_hours
    capacity = lanes * service_veh_h
    stationary = erlang_c_wait_hours(min(arrivals, 0.99 * capacity), lanes, service_veh_h)
    # A queue that would outlast the peak itself makes travellers leave earlier instead:
    # the overload is capped at twice the capacity.
    fluid = min(max(0.0, arrivals / capacity - 1.0), 2.0) * peak_hours / 2.0
    return 60.0 * (max(stationary, fluid) + 1.0 / service_veh_h)


def bus_crowding(load: float) -> float:
    """Factor on bus travel time at a given load (riders over capacity), BPR form."""
    return min(MAX_CROWDING, 1.0 + 0.15 * load**4)


def permit_day_share(permits: int, days: int, year: float) -> float:
    """Share of working days a non-Beijing car may enter Beijing.

    A permit runs for calendar days, of which five in seven are working days.
    """
    if year < 2019.75:
        return 1.0
    return min(1.0, permits * days * WORKING_DAYS_PER_WEEK / DAYS_PER_WEEK / WORKING_DAYS)


def trip_minutes_and_yuan(distance_km: np.ndarray, crossing: np.ndarray, into_beijing_peak,
                          delay_min: float, bus_load: float):
    """One-way minutes and yuan by car and by bus between talent regions, (T, T) each.

    ``into_beijing_peak`` is 1 where the morning trip enters Beijing at the peak, the
    off-peak share where the evening trip does, 0 where no checkpoint is passed.
    """
    road = distance_km * ROAD_FACTOR
    local = distance_km == 0
    car_min = np.where(local, LOCAL_MIN, CAR_FIXED_MIN + CAR_MIN_PER_KM * road)
    bus_min = np.where(local, LOCAL_MIN, BUS_FIXED_MIN + BUS_MIN_PER_KM * road)
    bus_min = np.where(crossing, bus_min * bus_crowding(bus_load) + BUS_CHECK_MIN, bus_min)
    car_delay = into_beijing_peak * delay_min
    car_yuan = np.where(local, LOCAL_YUAN, CAR_FIXED_YUAN + CAR_YUAN_PER_KM * road)
    bus_yuan = np.where(local, LOCAL_YUAN, BUS_FARE_YUAN)
    return car_min, car_delay, bus_min, car_yuan, bus_yuan


# With no cross-border bus, crossing without a car costs as much as a year's pay.
NO_BUS_COST_SHARE = 1.0


def commute_choice(wage_yuan: np.ndarray, times, p: dict, permit_share: float,
                   plate_needs_permit: np.ndarray, crossing: np.ndarray):
    """Car probability and expected yearly commuting cost, (skill, car status, T, T).

    Args:
        wage_yuan: (T, 3) wages by job region and skill.
        times: output of :func:`trip_minutes_and_yuan`.
        p: parameters in force.
        permit_share: share of days a non-Beijing car may enter Beijing.
        plate_needs_permit: (T, T) True where a non-Beijing car needs a permit.
        crossing: (T, T) True where the commute crosses the checkpoints.
    """
    car_min, car_delay, bus_min, car_yuan, bus_yuan = times
    days = WORKING_DAYS * p["commute_days_share"]
    income = wage_yuan.T[:, None, :]                     # (skill, 1, job)
    vot_min = p["value_of_time_share"] * income * AFTER_TAX_SHARE / (HOURS_PER_YEAR * 60.0)
    car_cost = days * (2 * (car_yuan + vot_min * car_min) + vot_min * car_delay)
    bus_cost = days * 2 * (bus_yuan + vot_min * bus_min)
    if p["bus_lines"] == 0:
        bus_cost = np.where(crossing, NO_BUS_COST_SHARE * income, bus_cost)
    v_car = -p["beta_commute"] * car_cost / income
    v_bus = p["bus_asc"] - p["beta_commute"] * bus_cost / income
    p_car_free = 1.0 / (1.0 + np.exp(np.clip(v_bus - v_car, -50, 50)))   # (skill, T, T)
    limit = np.where(plate_needs_permit, permit_share, 1.0)
    p_car = np.stack([np.zeros_like(p_car_free),           # no car
                      p_car_free * limit,                   # non-Beijing plate
                      p_car_free])                          # Beijing plate
    p_car = np.moveaxis(p_car, 0, 1)                        # (skill, car, T, T)
    cost = p_car * car_cost[:, None] + (1.0 - p_car) * bus_cost[:, None]
    return p_car, cost
