"""The policy report (``xianghe report``, :func:`runs.api.report`).

It runs the baseline, each of the county report's measures alone and their package from
``--from`` (2022) to ``--until`` (2030), paired on the same seeds and the same posterior
draws, on the engine and store the sweeps use: runs are kept in ``DIR/runs/`` as they
finish, so a killed report resumes where it stopped and runs on a Dask cluster. From those
runs alone it computes

- the **effects** of every measure against the baseline on the indicators an official asks
  about, in every year of the window, each with a 95 % interval that holds seed noise and
  parameter uncertainty and the share of its variance due to each
  (:func:`runs.analysis.paired_effects`);
- the **money**: public cost discounted to the first year, cost per extra firm and job,
  additionality, deadweight, diversion, tax gained, net fiscal effect, welfare per yuan,
  each with the central 95 % range of its value over the posterior draws (over seeds
  without draws);
- the **ranking** by a declared criterion, the probability over draws that each measure
  ranks above the next, and which uncertain parameters move that comparison (RBD-FAST
  given-data indices from SALib, and rank correlations);
- the **package against the sum of its parts**;
- the **out-of-sample** table: figures of 2020-2024 that were no calibration target beside
  what was published (``calibration/out_of_sample.toml``);
- a **summary** an official can read, every number of which is a cell of a table below it.

The tables (Parquet and CSV), the seaborn figures and ``report.md`` (or ``.html``) are
written to a folder beside the output and exchanged with it in one rename.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import os
import shutil
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from model import INDICATORS, NAMES
from model.params import PARAMS, levers_set, resolve, starting_in

from . import provenance
from . import scenario as scenarios
from .analysis import SEEDS_ONLY
from .engine import Backend, RunTask, run_tasks
from .errors import InputError
from .experiments import with_draws
from .folders import manifest_of, output, publish, staging
from .store import ResultStore, schema, write_manifest

from .report_options import BASELINE, CRITERIA, PACKAGE, check_measures
OUT_OF_SAMPLE_YEARS = (2020, 2021)
OUT_OF_SAMPLE_FILE = Path(__file__).resolve().parent.parent / "calibration" / "out_of_sample.toml"
RUNS = "runs"
CONFIDENCE = 0.95
SALIB_SEED = 20_220_101     # RBD-FAST's resampling: the same runs give the same indices
# The social discount rate of China's official appraisal of public projects: NDRC &
# Ministry of Construction (2006), "Methods and Parameters for the Economic Evaluation of
# Construction Projects", 3rd ed. (建设项目经济评价方法与参数, 第三版): 8 %.
DISCOUNT_RATE = 0.08
DISCOUNT_SOURCE = ("NDRC & Ministry of Construction 2006, Methods and Parameters for the "
                   "Economic Evaluation of Construction Projects, 3rd ed.: social discount "
                   "rate 8 %")

# The indicators of the report, as an official reads them: label, unit shown, divisor.
# An indicator the report derives from the model's: the commuters.
DERIVED: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "cross_border_commuters": lambda d: d["cross_border_daily_persons"] * d["commuter_share"],
}
HEADLINE: dict[str, tuple[str, str, float]] = {
    "projects_operating": ("projects producing (relocated firms and new projects)",
                           "projects", 1.0),
    "firms_relocated": ("relocated Beijing firms (cumulative)", "firms", 1.0),
    "firms_operating": ("relocated Beijing firms producing", "firms", 1.0),
    "new_projects_operating": ("new investment projects producing", "projects", 1.0),
    "firms_signed": ("projects signed with Xianghe in the year", "projects/year", 1.0),
    "area_projects_signed": ("projects signed with the four counties in the year",
                             "projects/year", 1.0),
    "projects_failed": ("projects failed (cumulative)", "projects", 1.0),
    "relocated_revenue_yuan": ("revenue of the relocated firms", "m yuan/year", 1e6),
    "relocated_tax_yuan": ("tax paid by the relocated firms", "m yuan/year", 1e6),
    "project_tax_yuan": ("tax paid by the projects producing", "m yuan/year", 1e6),
    "relocated_workers_employed": ("people who moved from Beijing, employed in Xianghe",
                                   "people", 1.0),
    "high_skill_to_beijing": ("high-skill workers leaving for a Beijing job", "people/year",
                              1.0),
    "cross_border_commuters": ("cross-border commuters", "people/day", 1.0),
    "checkpoint_peak_delay_min": ("checkpoint delay at peak", "minutes", 1.0),
    "checkpoint_event_delay_min": ("checkpoint delay on security days", "minutes", 1.0),
    "development_intensity": ("development intensity", "% of county area", 0.01),
    "worker_surplus_yuan": ("workers' surplus", "m yuan/year", 1e6),
    "firm_surplus_yuan": ("firms' surplus", "m yuan/year", 1e6),
}
COLUMNS = [*NAMES, *DERIVED]
# What the summary's findings and the paths figure lead with: everything producing in
# Xianghe, whichever the origin, since after 2021 most of what is signed is new investment.
HEADLINE_OUTCOME = "projects_operating"
UNITS = {i.name: i.unit for i in INDICATORS} | {"cross_border_commuters": "people/day"}

# The unit costs each lever's public money depends on (model/policy.py and the submodels
# that spend): the money table says which of them are assumptions.
LEVER_COSTS: dict[str, tuple[str, ...]] = {
    "sector_targeting": (),
    "mode_industry_chain": ("mode_cost_yuan",),
    "mode_associations": ("mode_cost_yuan",),
    "mode_zgc_parks": ("mode_cost_yuan",),
    "mode_platform_branches": ("mode_cost_yuan",),
    "permit_devolution": ("devolution_cost_yuan",),
    "commitment_system": ("commitment_cost_yuan",),
    "provincial_land_quota": ("provincial_quota_cost_yuan",),
    "space_fund_yuan": ("space_fund_cost_yuan_m2",),
    "fast_spatial_plan": ("spatial_plan_cost_yuan",),
    "hall_conversion": ("hall_conversion_cost_yuan_m2",),
    "investment_subsidy_rate": (),
    "incubator_fund_yuan": (),
    "ftz_extension": ("ftz_cost_yuan",),
    "talent_housing_eligibility": ("talent_housing_cost_yuan",),
    "vocational_recognition": ("vocational_recognition_cost_yuan",),
    "services_spending_yuan": (),
    "checkpoint_lanes": ("lane_cost_yuan",),
    "bus_lines": ("bus_line_cost_yuan",),
    "entry_permits_per_year": (),
    "regional_coordination": ("coordination_cost_yuan",),
    "neighbours_match": (),     # the neighbours' money, not Xianghe's
}


# ---------------------------------------------------------------------------- criteria

@dataclass(frozen=True)
class Metric:
    """A money figure computed from the mean over runs of the paired quantities.

    An ``additive`` figure is a mean over runs (a cost, a gain): its interval is the
    effects' (:func:`runs.analysis.mean_interval`), so a figure that is also an effect has
    one interval. A ratio is not a mean over runs: its brackets show the spread of its
    per-draw (per-seed) values, and say so."""

    name: str
    label: str
    unit: str
    divisor: float
    value: Callable[[dict], np.ndarray]
    higher_is_better: bool = True
    additive: bool = False


def _ratio(num, den, scale: float = 1.0):
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, scale * num / den, np.nan)


def _per_100m(num, cost):
    """``num`` per 100 m yuan of public cost; a measure that costs nothing (or saves money)
    and gains is infinitely cost-effective, one that gains nothing is 0."""
    num, cost = np.asarray(num, dtype=float), np.asarray(cost, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        free = np.where(num > 0, np.inf, np.where(num < 0, -np.inf, 0.0))
        return np.where(cost > 0, 1e8 * num / cost, free)


def _additionality(q):
    """Of the projects that got land in Xianghe under the measure, the share that would not
    have without it: the extra landings (none where the measure lands fewer) over the
    landings under the measure. In [0, 1]; undefined where nothing landed."""
    extra = np.maximum(np.asarray(q["landed_b"], dtype=float)
                       - np.asarray(q["landed_a"], dtype=float), 0.0)
    return _ratio(extra, q["landed_b"])


def _diversion(q):
    """Of the extra projects signing with Xianghe, the share its neighbours (Tongzhou,
    Sanhe, Dachang) would have signed without the measure: the fall in their signings, at
    most the extra signings and at least none, over the extra signings. In [0, 1];
    undefined without extra signings."""
    signed = np.asarray(q["d_signed"], dtype=float)
    diverted = np.clip(-np.asarray(q["d_neighbours"], dtype=float), 0.0,
                       np.maximum(signed, 0.0))
    return _ratio(diverted, signed)


METRICS: tuple[Metric, ...] = (
    Metric("public_cost_yuan", "public cost, discounted", "m yuan", 1e6,
           lambda q: q["cost"], higher_is_better=False, additive=True),
    Metric("extra_firms_producing", "extra projects producing at the end (relocated firms "
           "and new projects)", "projects", 1.0,
           lambda q: q["d_operating"], additive=True),
    Metric("extra_jobs", "extra jobs at the projects producing at the end", "jobs", 1.0,
           lambda q: q["d_jobs"], additive=True),
    Metric("cost_per_extra_firm_yuan", "cost per extra project producing", "m yuan", 1e6,
           lambda q: _ratio(q["cost"], q["d_operating"]), higher_is_better=False),
    Metric("cost_per_extra_job_yuan", "cost per extra job", "yuan", 1.0,
           lambda q: _ratio(q["cost"], q["d_jobs"]), higher_is_better=False),
    Metric("additionality", "additionality: share of the projects landing under the "
           "measure that came because of it", "share", 1.0, _additionality),
    Metric("deadweight", "deadweight: share that would have come without it", "share", 1.0,
           lambda q: 1.0 - _additionality(q), higher_is_better=False),
    Metric("diversion", "diversion: share of the extra projects signing with Xianghe that "
           "its neighbours lose", "share", 1.0, _diversion,
           higher_is_better=False),
    Metric("tax_gained_yuan", "tax gained from the projects producing, discounted", "m yuan",
           1e6,
           lambda q: q["tax"], additive=True),
    Metric("net_fiscal_yuan", "net fiscal effect (tax gained - cost)", "m yuan", 1e6,
           lambda q: q["tax"] - q["cost"], additive=True),
    Metric("welfare_gained_yuan", "workers' and firms' surplus gained, discounted",
           "m yuan", 1e6, lambda q: q["welfare"], additive=True),
    Metric("welfare_per_yuan", "surplus gained per yuan of public cost", "yuan/yuan", 1.0,
           lambda q: _ratio(q["welfare"], q["cost"])),
    Metric("firms_per_100m_yuan", "extra projects producing per 100 m yuan", "projects", 1.0,
           lambda q: _per_100m(q["d_operating"], q["cost"])),
    Metric("jobs_per_100m_yuan", "extra jobs per 100 m yuan", "jobs", 1.0,
           lambda q: _per_100m(q["d_jobs"], q["cost"])),
)
METRIC = {m.name: m for m in METRICS}
assert set(CRITERIA) <= set(METRIC), "every criterion is a money figure"


# ---------------------------------------------------------------------------- the plan

@dataclass
class Plan:
    """What a report runs: scenarios (the baseline first), seeds, draws, years."""

    names: list[str]                 # baseline, the measures, the package (if any)
    params: list[dict]
    measures: list[str]
    package: bool
    seeds: list[int]
    draws: list[dict] | None
    start: int
    until: int
    criterion: str
    sources: list[str] = field(default_factory=list)

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(range(min(OUT_OF_SAMPLE_YEARS[0], self.start - 1), self.until + 1))

    def tasks(self) -> list[RunTask]:
        tasks = []
        for point, params in enumerate(self.params):
            for ps, recorded in with_draws(params, self.draws):
                for s in self.seeds:
                    tasks.append(RunTask(len(tasks), point, s, ps, recorded, self.years))
        return tasks

    def digest(self) -> str:
        """Identity of the runs: every parameter of every scenario (defaults included, so a
        new calibration or default is another report), the seeds, draws and years."""
        identity = {"scenarios": {name: resolve(params) for name, params
                                  in zip(self.names, self.params, strict=True)},
                    "seeds": self.seeds, "draws": self.draws, "years": self.years,
                    "version": provenance.package_version()}
        text = json.dumps(identity, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def plan(measures: list | None, seeds: list[int], draws: list[dict] | None, start: int,
         until: int, criterion: str, common: dict | None = None) -> Plan:
    """The scenarios of a report: the baseline, each measure alone (levers from
    ``start``), and, with two or more, their package (composed as a scenario file's
    ``extends`` list composes); ``common`` values (``--set``) go into every one."""
    loaded = [ref if isinstance(ref, scenarios.Scenario) else scenarios.load(ref)
              for ref in check_measures(measures)]
    names = [sc.name for sc in loaded]
    base = scenarios.load(BASELINE)
    params = [dict(base.params)] + [starting_in(sc.params, start) for sc in loaded]
    package = len(loaded) > 1
    if package:
        combined: dict = {}
        for p in params[1:]:
            combined.update(p)
        params.append(combined)
        names.append(PACKAGE)
    params = [{**p, **(common or {})} for p in params]
    for name, p in zip([BASELINE, *names], params, strict=True):
        try:
            resolve(p)
        except ValueError as err:
            raise InputError(f"scenario {name!r}: {err}") from None
    return Plan([BASELINE, *names], params, [sc.name for sc in loaded], package, seeds,
                draws, start, until, criterion, [sc.source for sc in loaded])


# ---------------------------------------------------------------------------- running

def runs_state(out: Path, digest: str | None = None) -> str:
    """What ``out/runs`` holds: "none", "ours" (this report's runs, or any report's when
    ``digest`` is None), "other" (another report's), "damaged" (runs stored, but their
    manifest missing or unreadable)."""
    store_dir = Path(out) / RUNS
    path = store_dir / "manifest.json"
    if not path.exists():
        return "damaged" if (store_dir / "results").is_dir() else "none"
    try:
        stored = json.loads(path.read_text())
        stored_digest = stored["digest"]
    except (OSError, ValueError, KeyError, TypeError):
        return "damaged"
    return "ours" if digest is None or stored_digest == digest else "other"


def check_runs(out: Path, digest: str, repair: bool) -> None:
    """Refuse, with the line that says which, a folder holding another report's runs, or
    damaged runs without ``repair``."""
    state = runs_state(out, digest)
    if state == "other":
        raise InputError(f"--out {out}: holds the runs of another report (other measures, "
                         "seeds, draws, years or model version); allowed: an empty folder, "
                         "or the same arguments to resume that report")
    if state == "damaged" and not repair:
        raise InputError(f"--out {out}: its runs' manifest ({out / RUNS / 'manifest.json'}) "
                         "is missing or damaged; allowed: --repair sets it aside and "
                         "rebuilds the report from the runs that are sound")


def run_plan(p: Plan, out: Path, *, workers: int, scheduler: str | None, progress: bool,
             batch: int = 2, repair: bool = False, kind: str = "report") -> pd.DataFrame:
    """Run what ``out/runs`` does not hold yet; every run of the plan, one row a run and
    year, with its scenario's name. With ``repair``, a damaged manifest of the runs is set
    aside and written again, and parts that are not this report's are set aside. ``kind``:
    the command whose runs they are (a report, a discovery), named in their manifest."""
    store_dir = out / RUNS
    digest = p.digest()
    check_runs(out, digest, repair)
    manifest_path = store_dir / "manifest.json"
    if repair and manifest_path.exists() and runs_state(out, digest) == "damaged":
        os.replace(manifest_path, store_dir / "manifest.json.damaged")
        print(f"{store_dir}: set aside a damaged manifest as manifest.json.damaged",
              file=sys.stderr)
    table_schema = schema([], extra=["draw"] if p.draws is not None else [])
    store = ResultStore(store_dir, table_schema, identity=digest)
    # A damaged part (a disk fault) is set aside and its runs computed again, and copies
    # of a run are removed: every run is seeded, so nothing a report shows can change.
    for done in store.verify(repair=True):
        print(f"{store_dir}: {done}", file=sys.stderr)
    tasks = p.tasks()
    store_dir.mkdir(parents=True, exist_ok=True)
    write_manifest(store_dir, {"kind": kind, "digest": digest, "scenarios": p.names,
                               "scenario_params": p.params, "seeds": p.seeds,
                               "draw_parameters": p.draws, "years": list(p.years),
                               "runs": len(tasks),
                               "package_version": provenance.package_version()})
    backend = Backend(workers, scheduler)
    try:
        run_tasks(tasks, backend, store=store, batch=batch, progress=progress, desc=kind)
    finally:
        backend.close()
    df = store.read()
    failed = df[df["status"] != "ok"]
    if len(failed):
        raise InputError(f"a report run failed (scenario {p.names[int(failed['point'].iloc[0])]}, "
                         f"seed {int(failed['seed'].iloc[0])}): {failed['error'].iloc[0]}")
    if df["run_id"].nunique() != len(tasks):
        raise InputError(f"--out {out}: {df['run_id'].nunique()} of {len(tasks)} runs stored; "
                         "allowed: run the same command again to finish them")
    return df


def tidy_runs(df: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """The stored rows as the report reads them: scenario, (draw,) seed, year, indicators
    and the derived ones."""
    keys = _keys(df)
    out = df.assign(scenario=df["point"].map(dict(enumerate(names))))
    for name, derive in DERIVED.items():
        out[name] = derive(out)
    return out[["scenario", *keys, "year", *COLUMNS]].sort_values(
        ["scenario", *keys, "year"], key=lambda c: c.map(names.index) if c.name == "scenario"
        else c).reset_index(drop=True)


# ---------------------------------------------------------------------------- analysis

def _keys(runs: pd.DataFrame) -> list[str]:
    return ["draw", "seed"] if "draw" in runs else ["seed"]


def _at(runs: pd.DataFrame, scenario: str, year: int) -> pd.DataFrame:
    return runs[(runs["scenario"] == scenario) & (runs["year"] == year)]


def effects_table(runs: pd.DataFrame, names: list[str], years: range) -> pd.DataFrame:
    """Every scenario against the baseline on the headline indicators, each year."""
    from .analysis import paired_effects

    keys, cols = _keys(runs), list(HEADLINE)
    frames = []
    for name in names[1:]:
        for year in years:
            e = paired_effects(_at(runs, BASELINE, year)[[*keys, *cols]],
                               _at(runs, name, year)[[*keys, *cols]], CONFIDENCE, cols)
            if "share_param" not in e:
                e = e.assign(sd_param=np.nan, sd_seed=np.nan, share_param=np.nan)
            e.insert(0, "year", year)
            e.insert(0, "measure", name)
            frames.append(e)
    out = pd.concat(frames, ignore_index=True)
    out["share_seed"] = 1.0 - out["share_param"]
    out["unit"] = out["indicator"].map(UNITS)
    return out


def paired_quantities(runs: pd.DataFrame, name: str, start: int, until: int) -> pd.DataFrame:
    """For each (draw,) seed: what the money figures are made of, the measure ``name``
    against the baseline -- discounted cost, tax and surplus over ``start..until`` and the
    changes at the end."""
    keys = _keys(runs)
    window = list(range(start, until + 1))
    factor = pd.Series([(1.0 + DISCOUNT_RATE) ** -(y - start) for y in window], index=window)

    def wide(scenario: str, col: str) -> pd.DataFrame:
        rows = runs[runs["scenario"] == scenario]
        return rows.pivot_table(index=keys, columns="year", values=col, aggfunc="first")

    def discounted(col: str) -> pd.Series:
        d = wide(name, col)[window] - wide(BASELINE, col)[window]
        return (d * factor).sum(axis=1)

    def landed(scenario: str, col: str) -> pd.Series:
        w = wide(scenario, col)
        return w[until] - w[start - 1]

    q = pd.DataFrame({
        "cost": discounted("public_spending_yuan"),
        "tax": discounted("project_tax_yuan"),
        "welfare": discounted("worker_surplus_yuan") + discounted("firm_surplus_yuan"),
        "d_operating": wide(name, "projects_operating")[until]
        - wide(BASELINE, "projects_operating")[until],
        "d_jobs": wide(name, "project_jobs")[until]
        - wide(BASELINE, "project_jobs")[until],
        "landed_a": landed(BASELINE, "projects_landed"),
        "landed_b": landed(name, "projects_landed"),
        "d_neighbours": (wide(name, "neighbours_projects_signed")[window]
                         - wide(BASELINE, "neighbours_projects_signed")[window]).sum(axis=1),
        "d_signed": (wide(name, "firms_signed")[window]
                     - wide(BASELINE, "firms_signed")[window]).sum(axis=1),
    })
    return q.reset_index()


QUANTITIES = ("cost", "tax", "welfare", "d_operating", "d_jobs", "landed_a", "landed_b",
              "d_neighbours", "d_signed")


def _cluster_means(q: pd.DataFrame) -> pd.DataFrame:
    """Means of the paired quantities by posterior draw (by seed without draws)."""
    by = "draw" if "draw" in q else "seed"
    return q.groupby(by)[list(QUANTITIES)].mean().sort_index()


def spread(values: np.ndarray) -> tuple[float, float]:
    """The central ``CONFIDENCE`` range of per-draw (per-seed) values, read off the values
    themselves (no interpolation, so an infinite ratio stays one). With 40 values or
    fewer it is their range (:func:`bracket_words` says so)."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if values.size < 2:
        return np.nan, np.nan
    tail = 100 * (1 - CONFIDENCE) / 2
    return (float(np.percentile(values, tail, method="inverted_cdf")),
            float(np.percentile(values, 100 - tail, method="inverted_cdf")))


def spread_words(n: int, per: str) -> str:
    """What :func:`spread` gives for ``n`` values, in words."""
    central = n * (1 - CONFIDENCE) / 2 > 1   # below that, inverted-cdf percentiles are the ends
    return (f"central 95 % of its {n} per-{per} values" if central
            else f"range of its {n} per-{per} values")


def bracket_words(p: Plan) -> dict[str, str]:
    """What the brackets of a report hold, in words: ``interval`` (a mean's 95 % interval,
    as the effects') and ``spread`` (the spread of a ratio's per-draw values, whose number
    each row of the tables says: a ratio is undefined where its denominator is not
    positive)."""
    per = "draw" if p.draws else "seed"
    holds = "seeds and parameters" if p.draws else "seeds only"
    return {"interval": f"95 % interval ({holds})",
            "spread": f"spread of its per-{per} values: their range, or their central "
                      "95 % above 40 values"}


def money_table(quantities: dict[str, pd.DataFrame], p: Plan) -> pd.DataFrame:
    """A row per scenario and money figure: its value, brackets and what they hold
    (``bracket``), its unit and what the cost rests on. An additive figure (a cost, a
    gain) is the mean over run pairs with the effects' 95 % interval, so a figure that is
    also an effect (extra firms producing) has the same interval there; a ratio is
    computed from those means and bracketed by the spread of its per-draw (per-seed)
    values. ``quantities``: each scenario's :func:`paired_quantities`."""
    from .analysis import mean_interval

    words = bracket_words(p)
    keys = ["draw", "seed"] if p.draws else ["seed"]
    unit = "draw" if p.draws else "seed"
    rows = []
    for name, params in zip(p.names[1:], p.params[1:], strict=True):
        q = quantities[name]
        mean = {k: q[k].mean() for k in QUANTITIES}
        clusters = _cluster_means(q)
        per = {k: clusters[k].to_numpy() for k in QUANTITIES}
        per_run = {k: q[k].to_numpy() for k in QUANTITIES}
        additive = [m for m in METRICS if m.additive]
        runs = pd.DataFrame({m.name: m.value(per_run) for m in additive},
                            index=pd.MultiIndex.from_frame(q[keys]) if len(keys) > 1
                            else pd.Index(q["seed"], name="seed"))
        intervals = mean_interval(runs, CONFIDENCE)
        basis = cost_basis(params, p.params[0])
        for m in METRICS:
            if m.additive:
                r = intervals.loc[m.name]
                value, low, high = r["effect"], r["ci_low"], r["ci_high"]
                bracket = words["interval"]
            else:
                values = np.asarray(m.value(per), dtype=float)
                (low, high), value = spread(values), m.value(mean)
                bracket = spread_words(int((~np.isnan(values)).sum()), unit)
            rows.append({"measure": name, "metric": m.name, "value": float(value),
                         "ci_low": float(low), "ci_high": float(high),
                         "bracket": bracket,
                         "unit": "yuan" if m.unit == "m yuan" else m.unit,
                         "cost_basis": basis})
    return pd.DataFrame(rows)


def cost_basis(params: dict, base: dict) -> str:
    """In words: which unit costs of the measure's levers are assumptions."""
    levers = [n for n in params if n in LEVER_COSTS and params[n] != base.get(n, PARAMS[n].default)]
    assumed = sorted({c for n in levers for c in LEVER_COSTS[n]
                      if PARAMS[c].source.lower().startswith("assumption")})
    unknown = [n for n in params if PARAMS.get(n) is not None and PARAMS[n].start_year
               and n not in LEVER_COSTS and params[n] != base.get(n, PARAMS[n].default)]
    parts = []
    if assumed:
        parts.append("assumed unit cost: " + ", ".join(assumed))
    if unknown:
        parts.append("cost of " + ", ".join(unknown) + " not declared")
    return "; ".join(parts) or "the measure's own amounts (no assumed unit cost)"


def per_cluster(quantities: dict[str, pd.DataFrame], p: Plan, metric: str) -> pd.DataFrame:
    """The criterion of each measure for each posterior draw (seed without draws)."""
    out = {}
    for name in p.measures:
        clusters = _cluster_means(quantities[name])
        out[name] = METRIC[metric].value({k: clusters[k].to_numpy() for k in QUANTITIES})
        index = clusters.index
    return pd.DataFrame(out, index=index)


def ranking_table(money: pd.DataFrame, per: pd.DataFrame, criterion: str) -> pd.DataFrame:
    """Measures ranked by ``criterion`` (its value from the mean over run pairs), with the
    probability over draws that each ranks above the next."""
    m = METRIC[criterion]
    rows = money[(money["metric"] == criterion) & money["measure"].isin(per.columns)]
    rows = rows.sort_values("value", ascending=not m.higher_is_better, kind="stable",
                            na_position="last").reset_index(drop=True)
    order = rows["measure"].tolist()
    above = []
    for i, name in enumerate(order):
        if i + 1 == len(order):
            above.append(np.nan)
            continue
        a, b = per[name].to_numpy(), per[order[i + 1]].to_numpy()
        above.append(float(np.mean(a > b if m.higher_is_better else a < b)))
    return pd.DataFrame({"rank": range(1, len(order) + 1), "measure": order,
                         "criterion": criterion, "value": rows["value"],
                         "ci_low": rows["ci_low"], "ci_high": rows["ci_high"],
                         "bracket": rows["bracket"], "p_above_next": above,
                         "next": [*order[1:], None]})


RBD_FAST_MIN_DRAWS = 20   # below this SALib's given-data RBD-FAST indices are noise


def ranking_sensitivity(per: pd.DataFrame, ranking: pd.DataFrame,
                        draws: list[dict] | None) -> pd.DataFrame:
    """For each measure and the one ranked next: which uncertain parameters move the gap
    in the criterion between them over the posterior draws. Spearman's rank correlation
    of each parameter with the gap (sorted by its size), and, from
    ``RBD_FAST_MIN_DRAWS`` draws, SALib's first-order RBD-FAST index on the draws as
    given data (on the ranks of the gap). Empty without draws."""
    columns = ["measure", "next", "parameter", "rho", "p_value", "S1", "S1_conf"]
    if draws is None or len(draws) < 5:
        return pd.DataFrame(columns=columns)
    from scipy import stats

    names = [n for n in draws[0] if PARAMS[n].type is not bool
             and len({d[n] for d in draws}) > 1]
    x = np.array([[float(d[n]) for n in names] for d in draws])
    rows = []
    for r in ranking.dropna(subset=["next"]).itertuples():
        gap = per[r.measure].to_numpy() - per[r.next].to_numpy()
        y = stats.rankdata(np.nan_to_num(gap, nan=0.0, posinf=1e300, neginf=-1e300))
        if np.ptp(y) == 0:
            continue
        s1 = s1_conf = np.full(len(names), np.nan)
        if len(draws) >= RBD_FAST_MIN_DRAWS:
            from SALib.analyze import rbd_fast

            problem = {"num_vars": len(names), "names": names,
                       "bounds": [[float(c.min()), float(c.max())] for c in x.T]}
            s = rbd_fast.analyze(problem, x, y, M=4, num_resamples=200,
                                 conf_level=CONFIDENCE, seed=SALIB_SEED,
                                 print_to_console=False)
            s1, s1_conf = np.asarray(s["S1"]), np.asarray(s["S1_conf"])
        for j, name in enumerate(names):
            rho, pv = stats.spearmanr(x[:, j], y)
            rows.append({"measure": r.measure, "next": r.next, "parameter": name,
                         "rho": float(rho), "p_value": float(pv), "S1": float(s1[j]),
                         "S1_conf": float(s1_conf[j])})
    if not rows:
        return pd.DataFrame(columns=columns)
    out = pd.DataFrame(rows, columns=columns)
    out["_order"] = out["measure"].map(ranking["measure"].tolist().index)
    out["_size"] = -out["rho"].abs()
    return (out.sort_values(["_order", "_size"], kind="stable")
            .drop(columns=["_order", "_size"]).reset_index(drop=True))


def interactions_table(runs: pd.DataFrame, p: Plan) -> pd.DataFrame:
    """The package's effect against the sum of its parts' effects at the end, per
    indicator: the difference is the interaction, paired on the same (draw,) seed."""
    if not p.package:
        return pd.DataFrame(columns=["indicator", "package", "sum_of_parts", "interaction",
                                     "ci_low", "ci_high"])
    from .analysis import paired_effects

    keys, cols = _keys(runs), list(HEADLINE)
    base = _at(runs, BASELINE, p.until).set_index(keys)[cols]
    package = _at(runs, PACKAGE, p.until).set_index(keys)[cols] - base
    parts = sum(_at(runs, m, p.until).set_index(keys)[cols] - base for m in p.measures)
    e = paired_effects(parts.reset_index(), package.reset_index(), CONFIDENCE, cols)
    return pd.DataFrame({"indicator": e["indicator"], "package": e["b"],
                         "sum_of_parts": e["a"], "interaction": e["effect"],
                         "ci_low": e["ci_low"], "ci_high": e["ci_high"],
                         "unit": e["indicator"].map(UNITS)})


def read_out_of_sample(path: Path = OUT_OF_SAMPLE_FILE) -> list[dict]:
    return tomllib.loads(Path(path).read_text("utf-8"))["figure"]


def out_of_sample_table(runs: pd.DataFrame, until: int) -> pd.DataFrame:
    """The baseline's figures that were no calibration target (2020-2024), beside what was
    published: mean over every run, 90 % interval over draws (seeds without draws), and
    whether the published figure holds it. Predictions, never fitted."""
    rows = []
    by = "draw" if "draw" in runs else "seed"
    for f in read_out_of_sample():
        if f["year"] > until:
            continue
        at = _at(runs, BASELINE, f["year"])
        per = at.groupby(by)[f["indicator"]].mean()
        mean = float(at[f["indicator"]].mean())
        low, high = f.get("low"), f.get("high")
        if low is None and high is None:
            holds = None
        else:
            holds = bool((low is None or mean >= low) and (high is None or mean <= high))
        rows.append({"indicator": f["indicator"], "year": f["year"], "model": mean,
                     "q05": float(per.quantile(0.05)), "q95": float(per.quantile(0.95)),
                     "unit": UNITS[f["indicator"]], "published": f["published"],
                     "published_low": low, "published_high": high, "consistent": holds,
                     "source": f["source"]})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- the report

@dataclass
class Report:
    """What ``xianghe report`` wrote, as pandas objects (:func:`runs.api.report`)."""

    effects: pd.DataFrame        # measure, year, indicator, a, b, effect, ci, shares
    money: pd.DataFrame          # measure, metric, value, ci_low, ci_high, unit, cost_basis
    ranking: pd.DataFrame        # rank, measure, value, ci, p_above_next
    sensitivity: pd.DataFrame    # measure, next, parameter, S1, S1_conf, rho, p_value
    interactions: pd.DataFrame   # indicator, package, sum_of_parts, interaction, ci
    out_of_sample: pd.DataFrame  # indicator, year, model, q05, q95, published, source
    runs: pd.DataFrame           # scenario, (draw,) seed, year, every indicator
    summary: str
    path: Path | None = None
    robustness: list = field(default_factory=list)   # runs.robustness.Finding, if asked

    TABLES = ("effects", "money", "ranking", "sensitivity", "interactions", "out_of_sample",
              "runs")

    def __fspath__(self) -> str:
        """The written report's path: ``open(api.report(...))`` reads it."""
        return os.fspath(self.path)


def analyse(runs: pd.DataFrame, p: Plan) -> Report:
    """Every table of the report from its runs (:func:`tidy_runs`)."""
    effects = effects_table(runs, p.names, range(p.start, p.until + 1))
    quantities = {name: paired_quantities(runs, name, p.start, p.until)
                  for name in p.names[1:]}
    money = money_table(quantities, p)
    per = per_cluster(quantities, p, p.criterion)
    ranking = ranking_table(money, per, p.criterion)
    return Report(effects, money, ranking, ranking_sensitivity(per, ranking, p.draws),
                  interactions_table(runs, p), out_of_sample_table(runs, p.until), runs, "")


# ---------------------------------------------------------------------------- words

def fmt(x, divisor: float = 1.0) -> str:
    """A number as the report prints it (also in the summary, so that every number there
    is found in a table)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, bool | np.bool_):
        return "yes" if x else "no"
    if isinstance(x, str):
        return x
    if isinstance(x, int | np.integer):
        return f"{int(x):,}"
    x = float(x) / divisor
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    a = abs(x)
    if a < 1e-9:
        return "0"
    if a >= 100:
        text = f"{x:,.0f}"
    elif a >= 10:
        text = f"{x:.1f}"
    elif a >= 0.1 or a == 0:
        text = f"{x:.2f}"
    else:
        text = f"{x:.2g}"
    return "0" if text in ("-0", "-0.00", "-0.0") else text


def pct(x) -> str:
    return "–" if x is None or x != x else f"{100 * x:.0f} %"


def interval(lo, hi, divisor: float = 1.0) -> str:
    return f"[{fmt(lo, divisor)}, {fmt(hi, divisor)}]"


def _label(indicator: str) -> tuple[str, str, float]:
    return HEADLINE.get(indicator, (indicator.replace("_", " "), UNITS.get(indicator, ""), 1.0))


NOT_DEFINED = "n/a"


# A figure or a spread needs two values: a ratio undefined in all draws but one, an
# effect measured in one pair only.
NO_SPREAD = "(no spread: fewer than two values)"


def interval_text(lo, hi, divisor: float = 1.0) -> str:
    """A bracket as the report prints it, or :data:`NO_SPREAD` where there is none."""
    if lo is None or hi is None or lo != lo or hi != hi:
        return NO_SPREAD
    return interval(lo, hi, divisor)


def effects_view(effects: pd.DataFrame, year: int) -> pd.DataFrame:
    """The effects table as printed: one row per measure and indicator in ``year``; the
    interval's column says what it holds, and the shares of its variance are shown where
    it holds the parameters too."""
    rows = []
    at = effects[effects["year"] == year]
    over_draws = (at["interval_holds"] != SEEDS_ONLY).any()
    holds = "seeds and parameters" if over_draws else "seeds only"
    for r in at.itertuples():
        label, unit, div = _label(r.indicator)
        row = {"measure": r.measure, "indicator": label, "unit": unit,
               "baseline": fmt(r.a, div), "with measure": fmt(r.b, div),
               "effect": fmt(r.effect, div),
               f"95 % interval ({holds})": interval_text(r.ci_low, r.ci_high, div)}
        if over_draws:
            no_spread = r.share_param != r.share_param
            row["share from parameters"] = "none: no spread" if no_spread else pct(r.share_param)
            row["share from seeds"] = "none: no spread" if no_spread else pct(r.share_seed)
        rows.append(row)
    return pd.DataFrame(rows)


def _money_cell(value, low, high, divisor: float) -> str:
    if value != value:
        return NOT_DEFINED
    return f"{fmt(value, divisor)} {interval_text(low, high, divisor)}"


def money_view(money: pd.DataFrame, words: dict[str, str]) -> pd.DataFrame:
    """Figures as rows, measures as columns; a column says what each row's brackets hold
    (``words``: :func:`bracket_words`)."""
    rows = []
    for name, group in money.groupby("measure", sort=False):
        row = {"measure": name}
        for r in group.itertuples():
            m = METRIC[r.metric]
            row[f"{m.label} ({m.unit})"] = _money_cell(r.value, r.ci_low, r.ci_high,
                                                      m.divisor)
        row["cost rests on"] = group["cost_basis"].iloc[0]
        rows.append(row)
    out = pd.DataFrame(rows).set_index("measure").T.reset_index(names="figure")
    out.insert(1, "[brackets]", [words["interval" if m.additive else "spread"]
                                 for m in METRICS] + [""])
    return out


def money_notes(money: pd.DataFrame, per: str) -> str | None:
    """What the placeholders of the money table mean, for those it shows."""
    undefined = money[money["value"].isna()]
    notes = []
    if (money["value"].notna() & money["ci_low"].isna()).any():
        notes.append(f"{NO_SPREAD}: a ratio whose denominator is positive in only one {per} "
                     "(in the others the measure adds no firm, job, landing or signing, or "
                     "costs nothing) has no spread to show.")
    if len(undefined):
        why = {"cost_per_extra_firm_yuan": "the measure adds no project producing",
               "cost_per_extra_job_yuan": "it adds no job",
               "additionality": "no project landed under it",
               "deadweight": "no project landed under it",
               "diversion": "it adds no signing",
               "welfare_per_yuan": "it costs no public money"}
        cases = sorted({f"{METRIC[m].label.split(':')[0]} where {why[m]}"
                        for m in undefined["metric"] if m in why})
        notes.append(f"{NOT_DEFINED}: not defined, a ratio without a denominator ("
                     + "; ".join(cases) + ").")
    if np.isinf(money["value"]).any() or np.isinf(money[["ci_low", "ci_high"]]).any(axis=None):
        notes.append("∞: the measure gains at no public cost (or while saving money), so "
                     "its gain per yuan has no bound.")
    return " ".join(notes) or None


def ranking_view(ranking: pd.DataFrame, words: dict[str, str]) -> pd.DataFrame:
    m = METRIC[ranking["criterion"].iloc[0]]      # a report has one measure at least
    return pd.DataFrame({
        "rank": ranking["rank"], "measure": ranking["measure"],
        f"{m.label} ({m.unit})": [fmt(v, m.divisor) for v in ranking["value"]],
        words["spread"]: [interval_text(a, b, m.divisor) for a, b in
                                     zip(ranking["ci_low"], ranking["ci_high"], strict=True)],
        "P(ranks above the next)": [pct(v) if isinstance(n, str) else "(last)"
                                    for v, n in zip(ranking["p_above_next"], ranking["next"],
                                                    strict=True)],
    })


def sensitivity_view(sens: pd.DataFrame, top: int = 3) -> pd.DataFrame:
    rows = []
    with_s1 = sens["S1"].notna().any()
    for (measure, nxt), g in sens.groupby(["measure", "next"], sort=False):
        for r in g.head(top).itertuples():
            row = {"comparison": f"{measure} vs {nxt}", "parameter": r.parameter,
                   "Spearman rho": fmt(r.rho), "p": fmt(r.p_value)}
            if with_s1:
                row |= {"S1 (RBD-FAST)": fmt(r.S1), "± (95 %)": fmt(r.S1_conf)}
            rows.append(row)
    return pd.DataFrame(rows)


def interactions_view(inter: pd.DataFrame, holds: str) -> pd.DataFrame:
    rows = []
    for r in inter.itertuples():
        label, unit, div = _label(r.indicator)
        rows.append({"indicator": label, "unit": unit, "package": fmt(r.package, div),
                     "sum of the parts": fmt(r.sum_of_parts, div),
                     "interaction": fmt(r.interaction, div),
                     f"95 % interval ({holds})": interval_text(r.ci_low, r.ci_high, div)})
    return pd.DataFrame(rows)


def out_of_sample_view(oos: pd.DataFrame, over: str) -> pd.DataFrame:
    rows = []
    for r in oos.itertuples():
        label, unit, div = _label(r.indicator)
        consistent = ("no range published" if r.consistent is None
                      or r.consistent != r.consistent else fmt(bool(r.consistent)))
        rows.append({"figure": label if r.indicator in HEADLINE else r.indicator,
                     "year": str(r.year), "model (prediction)": fmt(r.model, div),
                     f"5-95 % of the {over}": interval(r.q05, r.q95, div),
                     "unit": unit if r.indicator in HEADLINE else r.unit,
                     "published": r.published, "inside the published range": consistent,
                     "source": r.source})
    return pd.DataFrame(rows)


def levers_view(p: Plan) -> pd.DataFrame:
    """Every lever each scenario sets away from the baseline, its value and first year."""
    rows = []
    for name, params in zip(p.names[1:], p.params[1:], strict=True):
        for lever, lv in levers_set(params).items():
            rows.append({"scenario": name, "lever": lever,
                         "value": PARAMS[lever].format(lv["value"]), "from": str(lv["from"])})
    return pd.DataFrame(rows, columns=["scenario", "lever", "value", "from"])


def _row(effects: pd.DataFrame, measure: str, indicator: str, year: int):
    r = effects[(effects["measure"] == measure) & (effects["indicator"] == indicator)
                & (effects["year"] == year)]
    return r.iloc[0]


def _excludes_zero(r) -> bool:
    return bool(r.ci_low > 0 or r.ci_high < 0)


# The calibration targets' indicators as the summary names them.
TARGET_WORDS = {"firms_relocated": "firms relocated", "firms_operating": "firms producing",
                "relocated_revenue_yuan": "their revenue",
                "mean_signed_investment_yuan": "the investment signed",
                "market_merchants": "merchants on the market platforms",
                "cross_border_daily_persons": "daily border crossings",
                "checkpoint_peak_delay_min": "checkpoint delay at peak",
                "development_intensity": "development intensity",
                "firms_signed": "projects signed with Xianghe",
                "area_projects_signed": "projects signed with the four receiving counties",
                "industrial_land_price_yuan_m2": "the industrial land price"}
# Fewer posterior draws than this leave a statement about the parameters' uncertainty (a
# rank held in 90 % of the draws, an RBD-FAST index) unsupported: the summary says so.
MIN_DRAWS = 20
WORDS = dict(enumerate(("no", "one", "two", "three", "four", "five", "six", "seven", "eight",
                        "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen")))


def uncertainty(p: Plan) -> dict[str, str | bool]:
    """What the report's runs can say about uncertainty, in words: ``holds`` (what an
    interval holds), ``across`` (what a finding holds across) and ``assessed`` (whether
    the parameters' uncertainty is covered by enough draws)."""
    if not p.draws:
        return {"holds": "seeds only", "assessed": False,
                "across": "the seeds, at the calibrated parameters (their uncertainty is "
                          "left out: `--draws`)"}
    n = len(p.draws)
    if n < MIN_DRAWS:
        return {"holds": "seeds and parameters", "assessed": False,
                "across": f"the seeds and {WORDS.get(n, n)} parameter draws (too few to "
                          f"be sure of the parameters' uncertainty: {MIN_DRAWS} or more "
                          "are needed)"}
    return {"holds": "seeds and parameters", "assessed": True,
            "across": "the uncertainty (seeds and parameter draws)"}


def baseline_fit_table(runs: pd.DataFrame, targets) -> pd.DataFrame:
    """How the baseline's runs reproduce the figures fitted to, a row per target whose
    years the runs hold: the band, the mean over the draws (each the mean of its seeds;
    over the seeds without draws), the share of the draws (or seeds) in band, and whether
    the mean is in band."""
    base = runs[runs["scenario"] == BASELINE]
    keys = _keys(base)
    rows = []
    for t in targets:
        if not set(t.years) <= set(base["year"]):
            continue
        per_run = t.by_run(base, keys).dropna()
        if per_run.empty:
            continue
        per = per_run.groupby(level="draw").mean() if "draw" in keys else per_run
        rows.append({"figure": t.indicator,
                     "period": "-".join(map(str, sorted({t.years[0], t.years[-1]}))),
                     "low": t.low, "high": t.high, "mean": float(per.mean()),
                     "share_in_band": float(((per >= t.low) & (per <= t.high)).mean()),
                     "in_band": bool(t.low <= per.mean() <= t.high)})
    return pd.DataFrame(rows, columns=["figure", "period", "low", "high", "mean",
                                       "share_in_band", "in_band"])


def baseline_fit(runs: pd.DataFrame, targets) -> tuple[int, int, float]:
    """``(targets in band on average, targets assessed, least share in band)`` of
    :func:`baseline_fit_table`."""
    table = baseline_fit_table(runs, targets)
    if table.empty:
        return 0, 0, 1.0
    return int(table["in_band"].sum()), len(table), float(table["share_in_band"].min())


def baseline_fit_view(table: pd.DataFrame, p: Plan) -> pd.DataFrame:
    each = "draws" if p.draws else "seeds"
    return pd.DataFrame({
        "figure": table["figure"], "period": table["period"],
        "band": [f"{fmt(lo)} – {fmt(hi)}" for lo, hi in zip(table["low"], table["high"],
                                                              strict=True)],
        f"mean over the {each}": [fmt(x) for x in table["mean"]],
        f"{each} in band": [pct(x) for x in table["share_in_band"]],
        "mean in band": ["yes" if x else "no" for x in table["in_band"]]})


def summary(rep: Report, p: Plan) -> list[str]:
    """The plain-language summary: paragraphs, every number taken from a table, and no
    claim the runs cannot support (:func:`uncertainty`)."""
    from calibration import load_targets

    e, until = rep.effects, p.until
    u = uncertainty(p)
    holds = f"95 % interval ({u['holds']})"
    over = (f"{len(p.draws)} parameter sets drawn from the estimated (posterior) "
            f"distribution, each run on {len(p.seeds)} random seeds"
            if p.draws else f"{len(p.seeds)} random seeds at the calibrated parameters")
    targets = load_targets()
    years = sorted({y for t in targets for y in t.years})
    named = dict.fromkeys(TARGET_WORDS.get(t.indicator, t.indicator.replace("_", " "))
                          for t in targets)
    paras = [
        "**What the model is.** A simulation of Beijing firms deciding whether and where to "
        "relocate, and of workers choosing where to live and work and how to cross the "
        "Beijing checkpoints, quarter by quarter from 2014. Each measure of the county's "
        f"2021 report was switched on from {p.start} and compared with carrying on as before "
        f"(the baseline) up to {until}, on the same {over}: a difference between a measure "
        "and the baseline is therefore the measure's, not chance.",
        f"**What it was fitted to.** {WORDS.get(len(targets), len(targets)).capitalize()} "
        f"published figures of {years[0]}–{years[-1]} "
        f"({', '.join(named)}). "
        "Its other outputs for those years are predictions, compared with whatever was "
        "published in the out-of-sample table below.",
    ]
    inside, assessed, least = baseline_fit(rep.runs, targets)
    if assessed:
        each = "draw" if p.draws else "seed"
        paras[-1] += (f" In this report's baseline, {inside} of the {assessed} figures its "
                      f"runs measure lie within their published bands on average over the "
                      f"{'draws' if p.draws else 'seeds'}; for every figure at least "
                      f"{pct(least)} of the {each}s{' (each the mean of its seeds)' if p.draws else ''}"
                      " fall in its band.")
    findings = []
    firms = e[(e["year"] == until) & (e["indicator"] == HEADLINE_OUTCOME)
              & (e["measure"].isin(p.measures))]
    best = firms.loc[firms["effect"].idxmax()]
    label, unit, div = _label(HEADLINE_OUTCOME)
    if _excludes_zero(best):
        findings.append(
            f"**{best['measure']}** adds the most projects producing in Xianghe (relocated "
            f"firms and new projects) by {until}: "
            f"{fmt(best['effect'], div)} {interval(best['ci_low'], best['ci_high'], div)} "
            f"({holds}) against {fmt(best['a'], div)} in the baseline.")
    else:
        findings.append(
            f"No measure on its own changes the number of projects producing in Xianghe by "
            f"{until} beyond its {holds}: the largest effect, of **{best['measure']}**, is "
            f"{fmt(best['effect'], div)} {interval_text(best['ci_low'], best['ci_high'], div)}"
            f" projects against {fmt(best['a'], div)} in the baseline.")
    if p.package:
        pk = _row(e, PACKAGE, HEADLINE_OUTCOME, until)
        inter = rep.interactions.set_index("indicator").loc[HEADLINE_OUTCOME]
        together = ("more than" if inter["ci_low"] > 0 else "less than" if inter["ci_high"] < 0
                    else "not clearly different from")
        everything = ("Both measures" if len(p.measures) == 2 else
                      f"All {WORDS.get(len(p.measures), len(p.measures))} measures")
        findings.append(
            f"{everything} together (the package) add {fmt(pk['effect'], div)} "
            f"{interval_text(pk['ci_low'], pk['ci_high'], div)} projects producing by {until}, "
            f"{together} the sum of their effects alone ({fmt(inter['sum_of_parts'], div)}; "
            f"the difference is {fmt(inter['interaction'], div)} "
            f"{interval_text(inter['ci_low'], inter['ci_high'], div)})"
            + (": the measures reinforce one another." if together == "more than" else "."))
    rk = rep.ranking
    if len(rk) > 1:
        top = rk.iloc[0]
        m = METRIC[top["criterion"]]
        sure = top["p_above_next"]
        first = (f"Per 100 m yuan of public money ({m.label}), **{top['measure']}** ranks "
                 f"first ({fmt(top['value'], m.divisor)} "
                 f"{interval_text(top['ci_low'], top['ci_high'], m.divisor)}, "
                 f"{top['bracket']})")
        if not p.draws:
            findings.append(
                f"{first}; it ranks above **{top['next']}** in {pct(sure)} of the seeds at "
                "the calibrated parameters. Whether that holds across the parameters' "
                "uncertainty is not assessed without posterior draws (`--draws`).")
        elif not u["assessed"]:
            findings.append(
                f"{first}. With {WORDS.get(len(p.draws), len(p.draws))} parameter draws, "
                "whether the first place holds across the parameters' uncertainty is not "
                f"assessed ({MIN_DRAWS} or more draws are needed).")
        else:
            findings.append(
                f"{first}; it ranks above **{top['next']}** in {pct(sure)} of the parameter "
                "draws" + (", so the first place holds across the uncertainty."
                           if sure >= 0.9 else ", so the first place is not settled."))
    # the largest effect on anything else, relative to the baseline, among those whose
    # interval excludes zero
    others = e[(e["year"] == until) & ~e["indicator"].isin([HEADLINE_OUTCOME])
               & e["measure"].isin(p.measures)].copy()
    others["relative"] = others["effect"].abs() / others["a"].abs().clip(lower=1e-9)
    clear = others[(others["ci_low"] > 0) | (others["ci_high"] < 0)].sort_values(
        "relative", ascending=False, kind="stable")
    if len(clear):
        r = clear.iloc[0]
        label, unit, div = _label(r["indicator"])
        findings.append(
            f"Of the effects on other outcomes whose {holds} excludes zero, the largest "
            f"against the baseline is that of **{r['measure']}** on the {label}: "
            f"{fmt(r['effect'], div)} {unit} {interval(r['ci_low'], r['ci_high'], div)} in "
            f"{until}, against {fmt(r['a'], div)} in the baseline.")
    findings = findings[:3]
    paras.append(f"**{WORDS[len(findings)].capitalize()} findings, across {u['across']}.**")
    paras.extend(f"{i}. {text}" for i, text in enumerate(findings, 1))
    assumed = rep.money.drop_duplicates("measure")
    n_assumed = int(assumed["cost_basis"].str.startswith("assumed").sum())
    intervals = (f"Intervals hold the randomness of the simulation and the uncertainty of the "
                 f"estimated parameters over {WORDS.get(len(p.draws), len(p.draws))} "
                 "posterior draws" if p.draws else
                 "Intervals hold the randomness of the simulation only: the parameters are "
                 "at their calibrated point, and what the data leave uncertain about them is "
                 "left out (`--draws`)")
    paras.append(
        "**What the model cannot say.** It does not forecast the number of firms Beijing "
        "will still push out after 2022; it takes that pace from the years it was fitted "
        f"to. The public cost of {WORDS.get(n_assumed, n_assumed)} of the "
        f"{WORDS.get(len(assumed), len(assumed))} scenarios compared rests "
        "on unit costs the county has not published (marked in the money table). It counts "
        "only the tax the projects producing in Xianghe pay, not the county's other revenue, and values "
        "people's and firms' gains by their own choices, not by the county's aims. "
        f"{intervals}; none holds errors in the model's structure.")
    return paras


# ---------------------------------------------------------------------------- writing

def _figures(rep: Report, p: Plan, folder: Path) -> list[tuple[str, str]]:
    """The report's figures (PNG and SVG); (file stem, caption) of each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.ticker import MaxNLocator

    from .plots import save

    sns.set_theme(style="whitegrid", context="paper")
    out = []
    e = rep.effects[rep.effects["year"] == p.until]
    order = p.names[1:]
    palette = dict(zip(order, sns.color_palette("colorblind", len(order)), strict=True))
    inds = list(HEADLINE)
    cols = 4
    fig, axes = plt.subplots(-(-len(inds) // cols), cols, figsize=(14, 2.6 * -(-len(inds) // cols)),
                             constrained_layout=True)
    for ax, ind in zip(axes.flat, inds, strict=False):
        label, unit, div = _label(ind)
        g = e[e["indicator"] == ind].set_index("measure").loc[order]
        y = np.arange(len(order))
        for i, name in enumerate(order):
            r = g.loc[name]
            ax.errorbar(r["effect"] / div, i, xerr=[[(r["effect"] - r["ci_low"]) / div],
                                                     [(r["ci_high"] - r["effect"]) / div]],
                        fmt="o", color=palette[name], capsize=2)
        ax.axvline(0, color="0.3", lw=0.8)
        ax.set_yticks(y, order, fontsize=7)
        ax.invert_yaxis()
        ax.set_title(f"{label} ({unit})", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    for ax in axes.flat[len(inds):]:
        ax.set_visible(False)
    fig.suptitle(f"Effect of each measure against the baseline in {p.until} "
                 f"(point: mean; bar: 95 % interval, {uncertainty(p)['holds']})")
    save(fig, folder / "effects")
    out.append(("effects", f"Effects in {p.until}, with 95 % intervals "
                           f"({uncertainty(p)['holds']})"))

    path_inds = [HEADLINE_OUTCOME, "relocated_workers_employed", "cross_border_commuters",
                 "checkpoint_peak_delay_min"]
    fig, axes = plt.subplots(1, len(path_inds), figsize=(15, 3.6), constrained_layout=True)
    for ax, ind in zip(axes, path_inds, strict=True):
        label, unit, div = _label(ind)
        for name in order:
            g = rep.effects[(rep.effects["measure"] == name)
                            & (rep.effects["indicator"] == ind)].sort_values("year")
            ax.plot(g["year"], g["effect"] / div, color=palette[name], label=name, lw=1.4)
            ax.fill_between(g["year"], g["ci_low"] / div, g["ci_high"] / div,
                            color=palette[name], alpha=0.12)
        ax.axhline(0, color="0.3", lw=0.8)
        ax.set_title(f"{label} ({unit})", fontsize=9)
        ax.set_xlabel("")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].legend(fontsize=7, loc="upper left")
    fig.suptitle(f"Effect against the baseline, {p.start}-{p.until} "
                 f"(band: 95 % interval, {uncertainty(p)['holds']})")
    save(fig, folder / "paths")
    out.append(("paths", f"The path of the effects, {p.start}-{p.until}"))

    rk = rep.ranking
    if len(rk):
        m = METRIC[p.criterion]
        fig, ax = plt.subplots(figsize=(7, 0.5 * len(rk) + 1.6), constrained_layout=True)
        finite = rk[np.isfinite(rk["value"])]
        for i, r in enumerate(finite.itertuples()):
            lo = r.ci_low if np.isfinite(r.ci_low) else r.value
            hi = r.ci_high if np.isfinite(r.ci_high) else r.value
            ax.errorbar(r.value / m.divisor, i, xerr=[[(r.value - lo) / m.divisor],
                                                     [(hi - r.value) / m.divisor]],
                        fmt="o", color=palette[r.measure], capsize=3)
        ax.set_yticks(range(len(finite)), finite["measure"])
        ax.invert_yaxis()
        ax.axvline(0, color="0.3", lw=0.8)
        ax.set_xlabel(f"{m.label} ({m.unit}); bar: {bracket_words(p)['spread']}")
        ax.set_title("Measures ranked by the criterion")
        save(fig, folder / "ranking")
        out.append(("ranking", f"The ranking, with the {bracket_words(p)['spread']}"))
    return out


def _md_table(df: pd.DataFrame) -> str:
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(fmt(v).replace("|", "/") for v in row) + " |")
    return "\n".join(lines)


def _html_table(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(fmt(v))}</td>" for v in row) + "</tr>"
                   for row in df.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _inline_html(text: str) -> str:
    import re

    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(text))


def render(blocks: list[tuple], form: str) -> str:
    """Blocks (("h1"|"h2"|"p", text), ("table", df), ("img", file, alt)) as Markdown or
    a standalone HTML page."""
    if form == "md":
        parts = []
        for b in blocks:
            if b[0] == "h1":
                parts.append(f"# {b[1]}")
            elif b[0] == "h2":
                parts.append(f"## {b[1]}")
            elif b[0] == "p":
                parts.append(b[1])
            elif b[0] == "table":
                parts.append(_md_table(b[1]))
            elif b[0] == "img":
                parts.append(f"![{b[2]}]({b[1]})")
        return "\n\n".join(parts) + "\n"
    parts = []
    for b in blocks:
        if b[0] in ("h1", "h2"):
            parts.append(f"<{b[0]}>{html.escape(b[1])}</{b[0]}>")
        elif b[0] == "p":
            parts.append(f"<p>{_inline_html(b[1])}</p>")
        elif b[0] == "table":
            parts.append(_html_table(b[1]))
        elif b[0] == "img":
            parts.append(f'<figure><img src="{html.escape(b[1])}" alt="{html.escape(b[2])}" '
                         f'style="max-width:100%"><figcaption>{html.escape(b[2])}</figcaption>'
                         "</figure>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.45}"
             "table{border-collapse:collapse;font-size:0.85em;margin:1em 0}"
             "td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>Xianghe: the county report's measures</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")


def document(rep: Report, p: Plan, figures: list[tuple[str, str]]) -> list[tuple]:
    """The report's blocks: the summary first, then every table behind it."""
    m = METRIC[p.criterion]
    u = uncertainty(p)
    words = bracket_words(p)
    over = (f"{len(p.draws)} posterior draws × {len(p.seeds)} seeds" if p.draws
            else f"{len(p.seeds)} seeds, parameters at the calibrated point")
    fig = dict(figures)
    levers = levers_view(p)
    blocks: list[tuple] = [
        ("h1", f"Which of the county report's measures work, {p.start}-{p.until}"),
        ("p", f"Written for the county's development and reform bureau and the officials "
              "who will read the proposals, not for modellers. Generated by `xianghe "
              f"report` from {len(rep.runs.groupby(['scenario', *_keys(rep.runs)]))} "
              f"simulation runs ({over}); every number in the summary is in a table below."),
        ("h2", "Summary"),
        *[("p", text) for text in rep.summary.split("\n\n")],
        ("h2", "The measures compared"),
        ("p", "Each scenario's levers, the value set and the first year it applies; every "
              "other lever stays as it was up to 2020, as in the baseline."),
        ("table", levers if len(levers) else
         pd.DataFrame({"scenario": ["(none)"], "lever": ["no lever set"]})),
        ("h2", f"1. Effects of each measure in {p.until}"),
        ("p", "Each measure against the baseline on the same seeds and parameter draws. "
              + ("The interval holds both the randomness of the simulation (seeds) and what "
                 "the data cannot pin down (parameter draws); the last two columns split its "
                 "variance between them."
                 if p.draws else
                 "The interval holds the randomness of the simulation (seeds) only: the "
                 "parameters are at their calibrated point, and their uncertainty is left "
                 "out (`--draws`).")
              + " `package` is all the measures together."),
        ("table", effects_view(rep.effects, p.until)),
    ]
    if "effects" in fig:
        blocks.append(("img", "figures/effects.png", fig["effects"]))
    if "paths" in fig:
        blocks.append(("img", "figures/paths.png", fig["paths"]))
    blocks += [
        ("h2", "2. Money"),
        ("p", f"Public cost: the measure's extra public spending over the baseline's, net of "
              f"subsidies clawed back, {p.start}-{p.until}, discounted to {p.start} at "
              f"{DISCOUNT_RATE:.0%} ({DISCOUNT_SOURCE}). Tax gained and surplus gained are "
              "discounted the same way. Extra firms and jobs are counted at the end "
              f"({p.until}). Additionality: of the firms that got land in Xianghe in "
              f"{p.start}-{p.until} under the measure, the share that would not have without "
              "it (its extra landings, none where it lands fewer, over its landings); "
              "deadweight is the rest. Diversion: of the extra projects signing with "
              f"Xianghe in {p.start}-{p.until}, the share its neighbours lose (the fall in "
              "Tongzhou's, Sanhe's and Dachang's signings, at most the extra signings). "
              "All three lie in [0, 1]. The `[brackets]` column "
              f"says what each row's brackets hold: for a cost or a gain, its {words['interval']}, "
              "the same as the effects'; for a ratio, the spread of its values over the "
              f"{f'{len(p.draws)} draws (each the mean of its seeds)' if p.draws else f'{len(p.seeds)} seeds'}"
              " where it is defined (its denominator positive): their range, or their "
              "central 95 % above 40 values (`tables/money.csv` gives each row's count). "
              "The last row says which unit costs are assumptions."),
        ("table", money_view(rep.money, words)),
    ]
    notes = money_notes(rep.money, "draw" if p.draws else "seed")
    if notes:
        blocks.append(("p", notes))
    ranking_note = ("" if u["assessed"] else
                    f" With {'no posterior draws' if not p.draws else f'{len(p.draws)} draws'}"
                    " this share says nothing about the parameters' uncertainty"
                    f" ({MIN_DRAWS} or more draws are needed).")
    blocks += [
        ("h2", f"3. Ranking by {m.label}"),
        ("p", "P(ranks above the next): the share of the parameter draws (seeds without "
              "draws) in which the measure does better on the criterion than the one "
              "ranked below it." + ranking_note + " The criterion is `--criterion` (one of "
              + ", ".join(CRITERIA) + ")."),
        ("table", ranking_view(rep.ranking, words)),
    ]
    if "ranking" in fig:
        blocks.append(("img", "figures/ranking.png", fig["ranking"]))
    blocks.append(("h2", "4. What could change the ranking"))
    if len(rep.sensitivity):
        blocks += [
            ("p", "For each measure and the next in the ranking: the three uncertain "
                  "parameters whose value over the posterior draws goes most with the gap in "
                  "the criterion between them (Spearman's rank correlation, with its p)"
                  + (", and SALib's first-order RBD-FAST index on the draws as given data, "
                     "with its 95 % half-width" if len(p.draws) >= RBD_FAST_MIN_DRAWS else
                     f"; SALib's RBD-FAST index needs {RBD_FAST_MIN_DRAWS} draws or more")
                  + ". With few draws these are rough: a parameter matters where p is small"
                  + (" and the index clears its half-width."
                     if len(p.draws) >= RBD_FAST_MIN_DRAWS else ".")),
            ("table", sensitivity_view(rep.sensitivity)),
        ]
    else:
        blocks.append(("p", "Needs 5 or more posterior draws (`--draws`)."))
    blocks.append(("h2", f"5. The package against the sum of its parts, {p.until}"))
    if len(rep.interactions):
        blocks += [("p", "Interaction: the package's effect less the sum of the measures' "
                         "effects alone, paired on the same runs."),
                   ("table", interactions_view(rep.interactions, u["holds"]))]
    else:
        blocks.append(("p", "Needs two or more measures."))
    per = "per-draw means" if p.draws else "seeds"
    blocks += [
        ("h2", "6. Out of sample: figures of 2020-2024 that were not fitted"),
        ("p", "The baseline's figures for 2020-2024 that were no calibration target, beside "
              "what was published (`calibration/out_of_sample.toml`). They are predictions: "
              f"nothing was tuned to them. The range is the 5th to 95th percentile of the "
              f"{per}."),
        ("table", out_of_sample_view(rep.out_of_sample, per)),
    ]
    from calibration import load_targets

    fitted = baseline_fit_table(rep.runs, load_targets())
    if len(fitted):
        blocks += [
            ("h2", "7. The baseline against the figures fitted to"),
            ("p", f"The baseline's figures of the years the model was fitted to, beside their "
                  f"published bands: {int(fitted['in_band'].sum())} of {len(fitted)} "
                  f"figures lie in band on average over the "
                  f"{'draws (each the mean of its seeds)' if p.draws else 'seeds'}. A figure "
                  "of a period of several years is the sum of its years in each run; one "
                  "whose years the runs do not hold is left out."),
            ("table", baseline_fit_view(fitted, p)),
        ]
    from .robustness import blocks as robustness_blocks

    blocks += robustness_blocks(rep.robustness, 8 if len(fitted) else 7)
    blocks += [
        ("h2", "Tables and runs"),
        ("p", "Every table above, unrounded, is in `tables/` as Parquet and CSV; the runs "
              "they come from are in `tables/runs.*` and `runs/` (the store a resumed "
              "report continues)."),
    ]
    return blocks


def _link_runs(src: Path, dst: Path) -> None:
    """Hard-link the stored runs into the new folder (copy where links cannot be made)."""
    for path in sorted(src.rglob("*")):
        target = dst / path.relative_to(src)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)


def write_folder(out: Path, kind: str, tables: dict[str, pd.DataFrame],
                 fill: Callable[[Path], None], info: dict) -> None:
    """Write a command's folder at once (a report, a discovery, a search): ``tables`` as
    Parquet and CSV in ``tables/``, whatever ``fill`` writes into the new folder (its
    figures and document), the stored runs (hard-linked) and the manifest, built beside
    ``out`` and exchanged with it in one rename."""
    new = staging(out)
    try:
        (new / "tables").mkdir()
        for name, df in tables.items():
            df.to_parquet(new / "tables" / f"{name}.parquet", index=False)
            df.to_csv(new / "tables" / f"{name}.csv", index=False)
        fill(new)
        if (out / RUNS).is_dir():
            _link_runs(out / RUNS, new / RUNS)
        (new / "manifest.json").write_text(json.dumps(info, indent=2, default=str) + "\n")
        publish(new, out, kind)
    finally:
        if new.exists():
            shutil.rmtree(new, ignore_errors=True)


def write(rep: Report, p: Plan, out: Path, form: str, info: dict) -> Path:
    """Write the folder: report, tables, figures, the runs and the manifest, at once."""
    from . import robustness

    def fill(new: Path) -> None:
        figures = _figures(rep, p, new / "figures")
        for name, source in robustness.figures(rep.robustness).items():
            shutil.copy(source, new / "figures" / name)
        (new / f"report.{form}").write_text(render(document(rep, p, figures), form), "utf-8")

    tables = {name: getattr(rep, name) for name in Report.TABLES}
    write_folder(out, "report", {**tables, **robustness.tables(rep.robustness)}, fill, info)
    return out / f"report.{form}"


def make(p: Plan, out: Path, form: str, *, workers: int = 1, scheduler: str | None = None,
         progress: bool = True, wait: bool = False, repair: bool = False,
         robustness: list[Path] = ()) -> Report:
    """Run the plan into ``out`` (resuming), analyse its runs and write the report, with
    the findings of the discoveries and searches in ``robustness`` (their folders)."""
    import time

    from . import robustness as robust

    out = Path(out)
    started = time.perf_counter()
    check_runs(out, p.digest(), repair)
    with output(out, "report", wait=wait, store=RUNS):
        df = run_plan(p, out, workers=workers, scheduler=scheduler, progress=progress,
                      repair=repair)
        runs = tidy_runs(df, p.names)
        rep = analyse(runs, p)
        rep.summary = "\n\n".join(summary(rep, p))
        rep.robustness = robust.read(list(robustness))
        info = manifest_of(
            "report", report=f"report.{form}", measures=p.measures, package=p.package,
            seeds=p.seeds, draws=None if p.draws is None else len(p.draws), **{"from": p.start},
            until=p.until, criterion=p.criterion,
            levers={name: levers_set(params) for name, params
                    in zip(p.names, p.params, strict=True)},
            discount_rate=DISCOUNT_RATE, scenario_files=p.sources,
            robustness=[str(f) for f in robustness],
            package_version=provenance.package_version(), versions=provenance.versions(),
            git_revision=provenance.git_revision(),
            seconds=round(time.perf_counter() - started, 1), written=provenance.timestamp())
        rep.path = write(rep, p, out, form, info)
    return rep
