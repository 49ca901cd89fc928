"""The indicators the model reports, each declared once with its unit, its
yearly aggregation and how it is measured.

Each quarter the model measures every indicator for that quarter. A year's value is then
the sum of its quarters for flows, the last quarter for stocks and the mean for rates and
shares. Two indicators are about events: ``mean_signed_investment_yuan`` is the investment
signed in the year over the projects signed, and ``months_sign_to_production`` the median
over the projects that started producing in the year. In a year with no such event they
are NaN (null in JSON, empty in tables), never 0; over several seeds they pool the events
of all seeds (:func:`pooled`), rather than average each seed's figure.

A measure is a function of the model after its quarter: it reads the agents' arrays and
what the quarter's submodels returned (``model.last``, a :class:`QuarterOutcome`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .enterprises import GAVE_UP, MOVED, PIPELINE, FirmQuarter, Origin, State
from .talent import TalentQuarter

if TYPE_CHECKING:
    import pandas as pd

    from .commuting import Flows

Aggregation = Literal["flow", "stock", "mean", "special", "ratio"]
# The states of a project that got land in the focus county.
LANDED = (State.PERMITS, State.BUILDING, State.PRODUCING, State.LEFT_AGAIN)
Measure = Callable[[Any], float]


@dataclass(frozen=True)
class QuarterOutcome:
    """What the submodels returned in the quarter just run, for the measures."""

    firms: FirmQuarter
    talent: TalentQuarter
    flows: Flows
    land_price_yuan_m2: np.ndarray   # (R,) the industrial land price each region asks
    spending_yuan: float
    signed_in_focus: np.ndarray   # firms that signed with the focus county this quarter
    worker_surplus_yuan: float    # workers' surplus against 2014 conditions, yuan/year


# The receiving counties beside the focus county, as the indicators name them.
NEIGHBOURS = (("tongzhou", "Tongzhou"), ("sanhe", "Sanhe"), ("dachang", "Dachang"))
# A ratio indicator: numerator and denominator, flows of the same period.
SHARE_OF_AREA = ("firms_signed", "area_projects_signed")


def ratio_of(values: dict, parts: tuple[str, str]) -> float:
    num, den = (values[p] for p in parts)
    return num / den if den > 0 else float("nan")


@dataclass(frozen=True)
class Indicator:
    name: str
    unit: str
    aggregation: Aggregation
    meaning: str
    measure: Measure
    # A number of agents in a state times their weight: identical on every machine. The
    # others are sums of continuous quantities, equal across CPUs within CROSS_CPU_RTOL.
    count: bool = False


N_STATES = len(State)


@dataclass(frozen=True)
class FirmCensus:
    """Firm agents counted once a quarter, which the indicators of that quarter read
    instead of each scanning the firms again."""

    table: np.ndarray                 # (in the focus county or not, state, relocated), counts
    producing_relocated: np.ndarray   # relocated Beijing firms producing in the focus county
    producing_new: np.ndarray         # new projects producing there


def _census(m) -> FirmCensus:
    """The quarter's :class:`FirmCensus`, kept until the model steps or its firm arrays
    change."""
    f = m.firms
    key = (m.steps, id(f.state), f.state.size)
    cached = getattr(m, "_firm_census", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    relocated = f.origin == Origin.RELOCATION
    cell = (((f.region == m.world.focus).astype(np.intp) * N_STATES + f.state) * 2
            + relocated)
    table = np.bincount(cell, minlength=4 * N_STATES).reshape(2, N_STATES, 2)
    producing = ((f.region == m.world.focus) & (f.state == State.PRODUCING))
    census = FirmCensus(table, producing & relocated, producing & ~relocated)
    m._firm_census = (key, census)
    return census


def _in_focus(m, *states: State) -> float:
    """Real projects (of any origin) in the focus county in one of ``states``."""
    return float(_census(m).table[1, list(states)].sum() * m.firms.weight)


def _relocated(m, *states: State) -> float:
    """Real relocated Beijing firms in the focus county in one of ``states``."""
    return float(_census(m).table[1, list(states), 1].sum() * m.firms.weight)


def _producing_in_focus(m, relocated: bool = True) -> np.ndarray:
    """Relocated firms (or, with ``relocated`` False, new projects) producing in the focus
    county."""
    census = _census(m)
    return census.producing_relocated if relocated else census.producing_new


def _signed(m, regions, new: bool | None = None) -> float:
    """Real projects signed this quarter with any of ``regions`` (``new``: only new
    projects, or only relocations)."""
    f, signed = m.firms, m.last.firms.signed
    keep = np.isin(f.region[signed], regions)
    if new is not None:
        keep &= (f.origin[signed] != Origin.RELOCATION) == new
    return float(keep.sum() * f.weight)


def _revenue(m, relocated: bool = True) -> float:
    f = m.firms
    return float(f.revenue[_producing_in_focus(m, relocated)].sum() * f.weight / 4.0)


def _mean_signed_investment(m) -> float:
    signed = m.last.signed_in_focus
    return float(m.firms.investment[signed].mean()) if signed.size else float("nan")


def _median_months(m) -> float:
    months = m.last.firms.months_to_production
    return float(np.median(months)) if months.size else float("nan")


def _relocated_workers(m) -> float:
    t = m.talent
    return float((t.moved & (t.job == m.world.focus)).sum() * t.weight)


INDICATORS: tuple[Indicator, ...] = (
    Indicator("firms_relocated", "firms", "stock",
              "relocated Beijing enterprises (of the exposed pool, not new projects) whose "
              "project got land in Xianghe since 2014Q1 (in the pipeline after land, "
              "producing, or left again), cumulative: the firms that came, as the county "
              "counts them",
              lambda m: _relocated(m, *LANDED),
              count=True),
    Indicator("projects_failed", "projects", "stock",
              "projects signed with Xianghe that never got land or gave up before "
              "production, cumulative",
              lambda m: _in_focus(m, *GAVE_UP),
              count=True),
    Indicator("projects_waiting_for_land", "projects", "stock",
              "signed projects waiting for land in Xianghe at the end of the period",
              lambda m: _in_focus(m, State.SIGNED),
              count=True),
    Indicator("firms_operating", "firms", "stock", "of those, producing in Xianghe",
              lambda m: _relocated(m, State.PRODUCING),
              count=True),
    Indicator("firms_left_again", "firms", "stock",
              "relocated firms that later left Xianghe, cumulative",
              lambda m: _relocated(m, State.LEFT_AGAIN),
              count=True),
    Indicator("land_blocked_projects", "projects", "stock",
              "projects that could not land in Xianghe for lack of land, cumulative",
              lambda m: _in_focus(m, State.BLOCKED),
              count=True),
    Indicator("pipeline_projects", "projects", "stock", "signed and not yet producing",
              lambda m: _in_focus(m, *PIPELINE),
              count=True),
    Indicator("mean_signed_investment_yuan", "yuan", "special",
              "mean intended investment of the projects signed in the period",
              _mean_signed_investment),
    Indicator("months_sign_to_production", "months", "special",
              "median months from signing to production, projects starting production",
              _median_months),
    Indicator("relocated_revenue_yuan", "yuan/year", "flow",
              "revenue of the relocated firms operating in Xianghe", _revenue),
    Indicator("relocated_tax_yuan", "yuan/year", "flow", "tax paid by them",
              lambda m: _revenue(m) * m.params["tax_share_of_revenue"]),
    Indicator("market_merchants", "merchants", "stock",
              "merchants trading in Xianghe's wholesale-market platforms",
              lambda m: m.merchants.trading_in_xianghe(),
              count=True),
    Indicator("relocated_workers_employed", "people", "stock",
              "people who moved their home from Beijing to Xianghe and are employed there",
              _relocated_workers,
              count=True),
    Indicator("high_skill_to_beijing", "people/year", "flow",
              "high-skill workers who left a Xianghe job for a Beijing job",
              lambda m: m.last.talent.high_to_beijing * m.talent.weight,
              count=True),
    Indicator("high_skill_to_xianghe", "people/year", "flow", "the reverse",
              lambda m: m.last.talent.high_to_focus * m.talent.weight,
              count=True),
    Indicator("cross_border_daily_persons", "people/day", "mean",
              "people crossing the Xianghe-Beijing border on an average working day",
              lambda m: m.last.flows.persons),
    Indicator("commuter_share", "share", "mean", "share of them who cross to work",
              lambda m: m.last.flows.commuter_share),
    Indicator("car_share", "share", "mean", "share of cross-border commuters going by car",
              lambda m: m.last.flows.car_share),
    Indicator("bus_share", "share", "mean",
              "share of cross-border commuters going by bus (at most the lines' capacity)",
              lambda m: m.last.flows.bus_share),
    Indicator("other_mode_share", "share", "mean",
              "share of cross-border commuters the buses have no place for, going by other "
              "means; car, bus and other add up to one",
              lambda m: m.last.flows.other_mode_share),
    Indicator("checkpoint_peak_delay_min", "minutes", "mean",
              "average clearance time at the checkpoints at peak, normal days",
              lambda m: m.last.flows.peak_delay_min),
    Indicator("checkpoint_event_delay_min", "minutes", "mean",
              "the same on major-event security days",
              lambda m: m.last.flows.event_delay_min),
    Indicator("development_intensity", "share", "stock", "construction land over county area",
              lambda m: m.land.intensity),
    Indicator("industrial_land_price_yuan_m2", "yuan/m2", "stock",
              "price of industrial land in Xianghe: its asking price, set against Sanhe's "
              "and Dachang's, times its scarcity premium",
              lambda m: float(m.last.land_price_yuan_m2[m.world.focus])),
    Indicator("public_spending_yuan", "yuan/year", "flow",
              "public money spent on the measures (subsidies, funds, buses, lanes, ...), net "
              "of subsidies clawed back from projects that gave up",
              lambda m: m.last.spending_yuan),
    Indicator("worker_surplus_yuan", "yuan/year", "mean",
              "workers' surplus from their home, job and commute choices (logsum in yuan), "
              "against 2014 conditions",
              lambda m: m.last.worker_surplus_yuan),
    Indicator("firm_surplus_yuan", "yuan/year", "flow",
              "relocating firms' surplus from their location choices (logsum in yuan), "
              "against 2014 conditions: summed over the firms that chose in the period",
              lambda m: m.last.firms.surplus_yuan),
    Indicator("firms_signed", "projects/year", "flow",
              "projects signed with Xianghe: relocating Beijing firms and new investment "
              "projects",
              lambda m: float(m.last.signed_in_focus.size * m.firms.weight),
              count=True),
    Indicator("new_projects_signed", "projects/year", "flow",
              "of those, new investment projects (new lines and subsidiaries of Beijing "
              "firms, firms from elsewhere, platform spin-offs)",
              lambda m: _signed(m, [m.world.focus], new=True), count=True),
    Indicator("relocations_signed", "projects/year", "flow",
              "of those, relocating Beijing firms",
              lambda m: _signed(m, [m.world.focus], new=False), count=True),
    Indicator("area_projects_signed", "projects/year", "flow",
              "projects signed in the year with Tongzhou, Sanhe, Dachang and Xianghe together",
              lambda m: _signed(m, np.flatnonzero(m.world.area)), count=True),
    Indicator("neighbours_projects_signed", "projects/year", "flow",
              "projects signed in the year with Tongzhou, Sanhe and Dachang",
              lambda m: _signed(m, m.world.neighbours), count=True),
    *[Indicator(f"projects_signed_{name}", "projects/year", "flow",
                f"projects signed in the year with {label} (relocations and new projects)",
                lambda m, n=name: _signed(m, [m.world.region(n)]), count=True)
      for name, label in NEIGHBOURS],
    Indicator("xianghe_share_of_area_signings", "share", "ratio",
              "Xianghe's share of the projects signed with the four counties: firms_signed "
              "over area_projects_signed of the same period (over seeds, the ratio of their "
              "sums); null in a period with none",
              lambda m: ratio_of(m.quarter_values, SHARE_OF_AREA)),
    Indicator("new_projects_operating", "projects", "stock",
              "new investment projects producing in Xianghe at the end of the period",
              lambda m: float(_producing_in_focus(m, relocated=False).sum() * m.firms.weight),
              count=True),
    Indicator("new_project_jobs", "people", "stock",
              "jobs at the new investment projects producing in Xianghe",
              lambda m: float(m.firms.staff[_producing_in_focus(m, relocated=False)].sum()
                              * m.firms.weight)),
    Indicator("projects_landed", "projects", "stock",
              "projects of either origin (relocating Beijing firms, new projects) that got "
              "land in Xianghe since 2014Q1, cumulative",
              lambda m: _in_focus(m, *LANDED), count=True),
    Indicator("projects_operating", "projects", "stock",
              "projects of either origin producing in Xianghe: firms_operating plus "
              "new_projects_operating",
              lambda m: _in_focus(m, State.PRODUCING), count=True),
    Indicator("project_tax_yuan", "yuan/year", "flow",
              "tax paid by the projects of either origin producing in Xianghe: "
              "relocated_tax_yuan and the new projects' (the same share of revenue)",
              lambda m: ((_revenue(m) + _revenue(m, relocated=False))
                         * m.params["tax_share_of_revenue"])),
    Indicator("project_jobs", "people", "stock",
              "jobs at the projects of either origin producing in Xianghe",
              lambda m: float(m.firms.staff[(m.firms.region == m.world.focus)
                                            & (m.firms.state == State.PRODUCING)].sum()
                              * m.firms.weight)),
    *[Indicator(f"industrial_land_price_{name}_yuan_m2", "yuan/m2", "stock",
                f"price of industrial land in {label}",
                lambda m, n=name: float(m.last.land_price_yuan_m2[m.world.region(n)]))
      for name, label in NEIGHBOURS],
    *[Indicator(f"development_intensity_{name}", "share", "stock",
                f"construction land over the area of {label}",
                lambda m, n=name: m.lands[m.world.region(n)].intensity)
      for name, label in NEIGHBOURS],
    # Beyond the contract.
    Indicator("firms_left_beijing", "firms", "stock",
              "exposed Beijing firms that moved anywhere (failed and blocked projects not "
              "counted), cumulative",
              lambda m: float(_census(m).table[:, list(MOVED), 1].sum() * m.firms.weight),
              count=True),
    Indicator("relocated_firm_jobs", "people", "stock",
              "jobs at the relocated firms producing in Xianghe, whoever fills them",
              lambda m: float(m.firms.staff[_producing_in_focus(m)].sum() * m.firms.weight)),
    Indicator("bus_load", "ratio", "mean",
              "cross-border bus riders wishing to ride over the lines' capacity (above 1: "
              "more than the buses carry; 0 where no bus runs)",
              lambda m: m.last.flows.bus_load),
    Indicator("public_service_index", "index", "stock",
              "Xianghe's mean public-service index, Beijing = 1",
              lambda m: float(m.services[m.world.focus].mean())),
)

NAMES: tuple[str, ...] = tuple(i.name for i in INDICATORS)
COUNTS: tuple[str, ...] = tuple(i.name for i in INDICATORS if i.count)
# How far a continuous indicator may move between two CPUs for the same scenario,
# parameters and seed: numpy's exp and log take different SIMD paths on different CPUs,
# so sums of logsums differ in their last bits (about 1e-14 relative seen). On one machine
# every value repeats to the last digit; counts repeat to the last digit everywhere.
CROSS_CPU_RTOL = 1e-9


def same_across_cpus(name: str, a: float | None, b: float | None) -> bool:
    """Whether two values of indicator ``name`` from the same run on two machines agree:
    a count exactly, a continuous indicator within :data:`CROSS_CPU_RTOL` (relative to the
    larger, with an absolute floor of ``CROSS_CPU_RTOL`` in the indicator's unit for
    values that cancel to about zero). Both missing (no event to measure) agree."""
    if a is None or b is None or a != a or b != b:
        return (a is None or a != a) and (b is None or b != b)
    if name in COUNTS:
        return a == b
    return abs(a - b) <= CROSS_CPU_RTOL * max(abs(a), abs(b), 1.0)
EVENTS = ("mean_signed_investment_yuan", "months_sign_to_production")
# Ratio indicators, with the flows they divide (null where the denominator is 0).
RATIOS: dict[str, tuple[str, str]] = {"xianghe_share_of_area_signings": SHARE_OF_AREA}
# Indicators that may have nothing to measure in a period (null in JSON, empty in tables).
NULLABLE = (*EVENTS, *RATIOS)
# Indicators that may be negative: gains or losses against 2014 conditions, and public
# spending, which is net of the subsidies clawed back from projects that gave up (with
# `subsidy_clawback` on, a quarter of few signings and many failures gets money back).
SIGNED = ("worker_surplus_yuan", "firm_surplus_yuan", "public_spending_yuan")
# Helper columns recorded each quarter for the two indicators that are not plain sums.
SIGNED_COUNT = "_signed_projects"
SIGNED_INVESTMENT = "_signed_investment_yuan"
HELPERS: dict[str, Measure] = {
    SIGNED_COUNT: lambda m: float(m.last.signed_in_focus.size),
    SIGNED_INVESTMENT: lambda m: float(m.firms.investment[m.last.signed_in_focus].sum()),
}


@dataclass(frozen=True)
class Chart:
    """A small chart of key indicators that share a unit: plots and the page show these."""

    title: str
    names: tuple[str, ...]
    divisor: float = 1.0


KEY_CHARTS: tuple[Chart, ...] = (
    Chart("Firms relocated, producing; projects failed",
          ("firms_relocated", "firms_operating", "projects_failed")),
    Chart("Revenue, tax (bn yuan/quarter)", ("relocated_revenue_yuan", "relocated_tax_yuan"),
          1e9),
    Chart("Projects signed with Xianghe per quarter: relocations, new projects",
          ("relocations_signed", "new_projects_signed")),
    Chart("Projects signed per quarter: Xianghe, Tongzhou, Sanhe, Dachang",
          ("firms_signed", "projects_signed_tongzhou", "projects_signed_sanhe",
           "projects_signed_dachang")),
    Chart("Industrial land price (yuan/m2): Xianghe, Tongzhou, Sanhe, Dachang",
          ("industrial_land_price_yuan_m2", "industrial_land_price_tongzhou_yuan_m2",
           "industrial_land_price_sanhe_yuan_m2", "industrial_land_price_dachang_yuan_m2")),
    Chart("Merchants on the market platforms", ("market_merchants",)),
    Chart("Workers who moved from Beijing", ("relocated_workers_employed",)),
    Chart("High-skill moves: to Beijing, to Xianghe (per quarter)",
          ("high_skill_to_beijing", "high_skill_to_xianghe")),
    Chart("Cross-border persons per day (thousands)", ("cross_border_daily_persons",), 1e3),
    Chart("Checkpoint delay (min): normal, event days",
          ("checkpoint_peak_delay_min", "checkpoint_event_delay_min")),
    Chart("Development intensity (%)", ("development_intensity",), 1e-2),
    Chart("Public spending (m yuan/quarter)", ("public_spending_yuan",), 1e6),
    Chart("Workers' surplus against 2014 (bn yuan/year)", ("worker_surplus_yuan",), 1e9),
    Chart("Surplus of firms choosing, against 2014 (m yuan/quarter)", ("firm_surplus_yuan",),
          1e6),
)
KEY_INDICATORS: tuple[str, ...] = tuple(n for c in KEY_CHARTS for n in c.names)


def measure(model) -> dict[str, float]:
    """Every indicator and helper column for the quarter just run (ratios after the flows
    they divide)."""
    values = {i.name: i.measure(model) for i in INDICATORS if i.aggregation != "ratio"}
    values.update({name: ratio_of(values, parts) for name, parts in RATIOS.items()})
    values.update({name: m(model) for name, m in HELPERS.items()})
    return {name: values[name] for name in (*NAMES, *HELPERS)}


def annual(quarters: pd.DataFrame, production_months: dict[int, np.ndarray]) -> pd.DataFrame:
    """Yearly indicators from the quarterly records (columns ``year`` and every name), and
    the events behind the two event indicators (columns ``signed_projects``,
    ``signed_investment_yuan``, ``production_months``: a list), for pooling over seeds."""
    import pandas as pd

    rows = []
    for year, q in quarters.groupby("year", sort=True):
        row: dict = {"year": int(year)}
        for ind in INDICATORS:
            if ind.aggregation == "flow":
                row[ind.name] = float(q[ind.name].sum())
            elif ind.aggregation == "stock":
                row[ind.name] = float(q[ind.name].iloc[-1])
            elif ind.aggregation == "mean":
                row[ind.name] = float(q[ind.name].mean())
        for name, parts in RATIOS.items():
            row[name] = ratio_of(row, parts)
        events = {"signed_projects": float(q[SIGNED_COUNT].sum()),
                  "signed_investment_yuan": float(q[SIGNED_INVESTMENT].sum()),
                  "production_months": [float(x) for x in
                                        production_months.get(int(year), np.empty(0))]}
        row.update(pooled([events]))
        row.update(events)
        rows.append(row)
    return pd.DataFrame(rows, columns=["year", *NAMES, *EVENT_COLUMNS])


EVENT_COLUMNS = ("signed_projects", "signed_investment_yuan", "production_months")


def pooled(events: list[dict]) -> dict[str, float]:
    """The two event indicators over the events of several runs (seeds) of one year: the
    investment of all projects signed over their number, and the median months of all
    starts; NaN where there was none."""
    count = sum(e["signed_projects"] for e in events)
    investment = sum(e["signed_investment_yuan"] for e in events)
    months = [x for e in events for x in e["production_months"]]
    return {"mean_signed_investment_yuan": investment / count if count > 0 else float("nan"),
            "months_sign_to_production": float(np.median(months)) if months else float("nan")}
