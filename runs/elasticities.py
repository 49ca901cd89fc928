"""Magnitudes against the literature (``xianghe elasticities``).

For each of the report's measures, run from 2022 against the baseline on the same seeds to
2030, this prints:

- the **implied elasticity** of relocations to the cost of locating in Xianghe: the change
  in the projects signed with Xianghe in 2022-2030 over the change in what locating there
  costs the Beijing firms still exposed in 2025, each relative to its midpoint (an arc
  elasticity). The measure's change in
  Xianghe's location utility is turned into yuan with the firms' own price of a yuan
  (``beta_cost / revenue``), so a permit month or a sector bonus counts as the money it is
  worth to them; the cost is their yearly land, wage and staff cost there, net of subsidy;
- the **additionality**: the share of the firms that got land in Xianghe in 2022-2030 with
  the measure that would not have without it;
- the **public cost**, discounted to 2022 at the firms' cost of capital, per extra firm and
  per extra job at the relocated firms in 2030;
- the gain in workers' surplus in 2030, for the measures whose benefit is to residents;

each beside the range published studies report (see ``LITERATURE``; docs/evidence.md).

It also prints the **new investment projects' location elasticities**: how the number of
new projects choosing a county responds to its industrial land price and to its wages, at
the baseline in 2025 (from the logit: for each project, ``-beta_cost * share * (1 - P)``,
where ``share`` is that cost's share of its revenue there and ``P`` its probability of
choosing the county, averaged over the projects weighted by ``P``), beside the new-plant
literature (``NEW_PLANTS``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm import tqdm

from model import XiangheModel
from model.enterprises import State, cost_shares, location_utilities

from . import scenario as scenarios
from .scenario import MEASURES

FROM, PROBE, UNTIL = 2022, 2025, 2030
YUAN_PER_USD = 6.7      # 2014-2020 average, not adjusted for prices
YUAN_PER_GBP = 10.5


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    source: str

    def holds(self, value: float) -> bool | None:
        return None if not math.isfinite(value) else self.low <= value <= self.high


LITERATURE = {
    "elasticity": Range(
        -3.0, -1.0, "Bartik 1991 (84 studies): elasticity of business location to local "
        "costs and taxes within a metropolitan area, -1 to -3"),
    "additionality": Range(
        0.02, 0.25, "Bartik 2018, Upjohn WP 18-289: 2-25 % of incentivised firms would not "
        "have come but for the incentive"),
    "cost_per_job_yuan": Range(
        6_300 * YUAN_PER_USD, 21_000 * YUAN_PER_GBP,
        "Criscuolo et al. 2019, AER 109(1) (NBER w17842): about $6,300 a job; UK Regional "
        "Selective Assistance evaluations: GBP 8,000-21,000 a job (1995 prices); at "
        f"{YUAN_PER_USD} yuan/$ and {YUAN_PER_GBP} yuan/GBP, not price-adjusted"),
}


# The new-plant literature: conditional-logit (Poisson) elasticities of new manufacturing
# plants' location to local costs. A model figure within a factor of two of the estimate
# counts as in range.
NEW_PLANTS = {
    "labour": Range(
        -0.92, -0.23, "Guimaraes, Figueiredo & Woodward 2004, J. Regional Science 44(1) "
        "(new manufacturing plants in US counties): labour cost -0.46; in range within a "
        "factor of two"),
    "land": Range(
        -0.52, -0.13, "the same study: property taxes -0.26, the nearest published cost "
        "of land and buildings (no study of Chinese county land prices gives one); in "
        "range within a factor of two"),
}
PROSPECTS = 4_000      # new projects drawn a seed to measure them


def new_project_elasticities(seed: int, seeds: int, common: dict) -> pd.DataFrame:
    """The new projects' elasticities to each receiving county's land price and wages,
    at the baseline in :data:`PROBE`, one row a county and factor (mean over seeds)."""
    from model.enterprises import (ArrivalParams, FirmPopulationParams, Firms, HazardParams,
                                   choice_probabilities)
    from model.params import resolve
    from model.world import skill_shares

    params = resolve({**scenarios.load("baseline").params, **common})
    rows = []
    for s in range(seed, seed + seeds):
        m = XiangheModel(params, seed=s)
        m.run_until_year(PROBE)
        world, setting = m.world, m.setting()
        lp = setting.lp
        firms = Firms.prospects(PROSPECTS, 1.0, world, FirmPopulationParams.of(params),
                                ArrivalParams.of(params), np.random.default_rng([s, PROBE]))
        p, destinations = choice_probabilities(firms, world, HazardParams.of(params),
                                               float(PROBE), setting)
        wage_bill = world.wage_yuan @ skill_shares(lp.staff_high_skill_share, lp.skilled_share)
        for region in np.flatnonzero(world.area):
            pj = p[:, 1 + int(np.flatnonzero(destinations == region)[0])]
            shares = {
                "land": firms.land_m2 * setting.land_price[region] * lp.cost_of_capital,
                "labour": firms.staff * wage_bill[region],
            }
            for factor, cost in shares.items():
                each = -lp.beta_cost * cost / firms.revenue * (1.0 - pj)
                rows.append({"seed": s, "county": str(world.region_names[region]),
                             "factor": factor,
                             "elasticity": float((pj * each).sum() / pj.sum()),
                             "share_choosing": float(pj.mean())})
    df = pd.DataFrame(rows).groupby(["county", "factor"], sort=False)[
        ["elasticity", "share_choosing"]].mean().reset_index()
    df["low"] = df["factor"].map(lambda f: NEW_PLANTS[f].low)
    df["high"] = df["factor"].map(lambda f: NEW_PLANTS[f].high)
    df["in_range"] = [NEW_PLANTS[f].holds(e) for f, e in zip(df["factor"], df["elasticity"],
                                                             strict=True)]
    return df


@dataclass(frozen=True)
class Probe:
    """One scenario's run for one seed: its years, and what firms weigh in the probe year."""

    name: tuple             # (draw, scenario)
    seed: int
    annual: pd.DataFrame
    setting: object
    exposed: np.ndarray      # firms still in Beijing at the end of the probe year


def _probe(task: tuple[tuple, dict, int]) -> Probe:
    name, params, seed = task
    m = XiangheModel(params, seed=seed)
    m.run_until_year(PROBE)
    setting = m.setting()
    exposed = np.flatnonzero(m.firms.state == State.IN_BEIJING)
    m.run_until_year(UNTIL)
    return Probe(name, seed, m.annual().assign(seed=seed), setting, exposed)


def _cost_change(base: Probe, measure: Probe, params: dict) -> tuple[float, float]:
    """Yearly cost of locating in Xianghe for the firms exposed in the baseline's probe
    year, in yuan: under the baseline, and its change with the measure (money and the
    yuan worth of the measure's other terms)."""
    m = XiangheModel(params, seed=base.seed)        # the same firms, before any moved
    firms, world = m.firms.subset(base.exposed), m.world
    focus, beijing = world.focus, world.region("beijing")
    column = 1 + int(np.flatnonzero(np.flatnonzero(world.firm_destination) == focus)[0])
    none = np.zeros(base.exposed.size, dtype=bool)
    v_base = location_utilities(firms, world, base.setting, none, beijing)[0][:, column]
    v_measure = location_utilities(firms, world, measure.setting, none, beijing)[0][:, column]
    lp = base.setting.lp
    cost = cost_shares(firms, world, base.setting)[:, focus] * firms.revenue
    change = -(v_measure - v_base) * firms.revenue / lp.beta_cost
    return float(cost.sum()), float(change.sum())


def arc_elasticity(n_a: float, n_b: float, c_a: float, c_b: float) -> float:
    """Arc (midpoint) elasticity of ``n`` to ``c``; NaN where either change is nil or the
    cost after the measure is not positive (the measure is worth more than it)."""
    if c_a <= 0 or c_b <= 0 or n_a + n_b <= 0 or abs(c_b - c_a) < 1e-3 * c_a:
        return float("nan")
    return ((n_b - n_a) / (n_a + n_b)) / ((c_b - c_a) / (c_a + c_b))


def _discounted(spending: pd.Series, rate: float) -> float:
    years = spending.index.to_numpy()
    return float((spending / (1.0 + rate) ** (years - FROM)).sum())


def measure_row(name: str, base: list[Probe], runs: list[Probe], params: dict,
                base_params: dict) -> dict:
    """One measure's magnitudes, pooled over the seeds."""
    def frame(probes):
        return pd.concat([p.annual for p in probes]).set_index(["seed", "year"])

    a, b = frame(base), frame(runs)
    window = slice(FROM, UNTIL)
    signed_a = a.loc[(slice(None), window), "firms_signed"].sum()
    signed_b = b.loc[(slice(None), window), "firms_signed"].sum()
    landed = {}
    for key, df in (("a", a), ("b", b)):
        r = df["firms_relocated"].unstack("year")
        landed[key] = float((r[UNTIL] - r[FROM - 1]).sum())
    extra = landed["b"] - landed["a"]
    cost_total, change_total = 0.0, 0.0
    for pa, pb in zip(base, runs, strict=True):
        cost, change = _cost_change(pa, pb, base_params)
        cost_total += cost
        change_total += change
    cost_change = change_total / cost_total if cost_total > 0 else float("nan")
    elasticity = arc_elasticity(signed_a, signed_b, cost_total, cost_total + change_total)
    rate = base[0].setting.lp.cost_of_capital
    spend = (b["public_spending_yuan"] - a["public_spending_yuan"]).loc[(slice(None), window)]
    cost = sum(_discounted(spend.xs(s, level="seed"), rate) for s in {p.seed for p in base})
    jobs = float((b["relocated_firm_jobs"] - a["relocated_firm_jobs"]).xs(UNTIL, level="year")
                 .sum())
    n = len(base)
    surplus = (b["worker_surplus_yuan"] - a["worker_surplus_yuan"]).xs(UNTIL, level="year")

    def per(x: float) -> float:
        return cost / x if x > 0 else float("nan")

    return {
        "measure": name,
        "extra_firms": extra / n,
        "cost_change_share": cost_change,
        "elasticity": elasticity,
        "additionality": extra / landed["b"] if landed["b"] > 0 else float("nan"),
        "public_cost_yuan": cost / n,
        "cost_per_firm_yuan": per(extra),
        "cost_per_job_yuan": per(jobs),
        "worker_surplus_gain_yuan": float(surplus.mean()),
    }


def elasticities(seed: int, seeds: int, common: dict, measures: tuple[str, ...] = MEASURES,
                 workers: int = 1, progress: bool = True,
                 draws: list[dict] | None = None) -> pd.DataFrame:
    """The magnitudes of each measure against the baseline, one row a measure; with
    ``draws`` (parameter vectors, such as :func:`calibration.estimation.posterior_draws`),
    one row a draw and measure, each draw's runs on the same seeds (column ``draw``)."""
    vectors = [{}] if draws is None else draws
    params = {(k, name): {**scenarios.load(name).params, **vector, **common}
              for k, vector in enumerate(vectors) for name in ("baseline", *measures)}
    tasks = [(key, params[key], s) for key in params for s in range(seed, seed + seeds)]
    bar = tqdm(total=len(tasks), unit="run", desc="elasticities", disable=not progress,
               leave=False)
    probes: dict[tuple, list[Probe]] = {key: [] for key in params}
    if workers > 1:
        from .pool import release, shared

        pool = shared(workers)
        try:
            for probe in pool.map(_probe, tasks):
                probes[probe.name].append(probe)
                bar.update()
        finally:
            release(pool)
    else:
        for task in tasks:
            probe = _probe(task)
            probes[probe.name].append(probe)
            bar.update()
    bar.close()
    rows = [{**({} if draws is None else {"draw": k}),
             **measure_row(name, probes[k, "baseline"], probes[k, name], params[k, name],
                           params[k, "baseline"])}
            for k in range(len(vectors)) for name in measures]
    table = pd.DataFrame(rows)
    for key, bounds in LITERATURE.items():
        table[f"{key}_in_range"] = table[key].map(bounds.holds)
    return table


def predictive(table: pd.DataFrame) -> pd.DataFrame:
    """Over the draws of :func:`elasticities`: per measure and magnitude, the 5 %, median
    and 95 % of the draws and the share of the draws inside the literature's range (of
    the draws where the magnitude exists)."""
    rows = []
    for name, part in table.groupby("measure", sort=False):
        for key, bounds in LITERATURE.items():
            x = part[key].to_numpy(dtype=float)
            x = x[np.isfinite(x)]
            q = np.quantile(x, [0.05, 0.5, 0.95]) if x.size else [float("nan")] * 3
            rows.append({"measure": name, "magnitude": key, "draws": int(x.size),
                         "q05": q[0], "median": q[1], "q95": q[2],
                         "share_in_range": float(np.mean((x >= bounds.low)
                                                         & (x <= bounds.high)))
                         if x.size else float("nan"),
                         "low": bounds.low, "high": bounds.high})
    return pd.DataFrame(rows)
