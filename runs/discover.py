"""Scenario discovery (``xianghe discover``, :func:`runs.api.discover`): under which states
of the world does a measure, or a package of measures, fail its aim?

The county must choose measures before it knows which of the model's uncertain parameters
are true. Scenario discovery (Lempert, Popper & Bankes 2003; Bryant & Lempert 2010,
*Technological Forecasting & Social Change* 77(1)) runs the measure over many states of
the world, marks those where it fails an aim, and looks for a few ranges of a few
parameters that hold most of the failures (coverage) and little else (density):

* **The states of the world** are parameter vectors: ``posterior`` draws (the estimated
  parameters from the calibration's posterior, the rest from their priors: what
  ``--draws`` samples everywhere), or, with ``space="prior"``, the lever strengths and the
  parameters the figures cannot inform drawn from their priors and the rest at the
  calibrated point (:func:`calibration.estimation.lever_prior_draws`), the wider space
  where the measures' strengths are unknown. Each runs on the same seeds with and without
  the measure, as the policy report runs them (its plan, engine and store: a killed
  discovery resumes, ``--scheduler`` runs it on a Dask cluster).
* **The aim**: at least ``min_gain`` more projects producing in Xianghe at the end of
  ``until`` than without the measure, and, if given, a public cost of at most
  ``max_cost_per_job`` yuan (discounted, as the report discounts) per extra job. A case (a
  draw and a seed) fails when it misses either.
* **PRIM** (Friedman & Fisher 1999) and **CART** (Breiman et al. 1984), both from EMA
  Workbench (Kwakkel 2017, *Environmental Modelling & Software* 96), on the parameters
  that vary over the draws. PRIM peels a box toward the failures; of its peeling
  trajectory each box loses the restrictions whose quasi-p-value (Bryant & Lempert 2010:
  the chance that a restriction that strong arises by luck) is not below
  ``QP_SIGNIFICANT``, and the box kept is the densest that still holds ``MIN_COVERAGE`` of
  the failures -- a stated rule, not a choice by eye; none such, no box is claimed.

Tables (CSV and Parquet), two figures (PRIM's coverage-density trade-off; the kept box's
limits on the parameters' ranges) and ``discovery.md`` are written at once, beside the
runs, as the report writes its folder.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from model.params import PARAMS, levers_set

from . import provenance
from .folders import manifest_of, output
from .report import RUNS, Plan, check_runs, paired_quantities, run_plan, tidy_runs, write_folder
from .report import plan as report_plan

SPACES = ("posterior", "prior")
MIN_COVERAGE = 0.5      # the kept PRIM box: the densest holding at least this share of failures
MASS_MIN = 0.05         # PRIM stops peeling when a box holds less than this share of the cases
PEEL_ALPHA = 0.05       # the share of the cases a peel removes (EMA Workbench's default)
MIN_CASES = 20          # fewer cases than this: PRIM's boxes are noise
QP_SIGNIFICANT = 0.05   # a restriction whose quasi-p-value is below this is reported as real
CART_SEED = 20_221      # the random state of CART's tie-breaking (the same cases, the same leaves)
TABLES = ("cases", "trajectory", "box", "cart")
TRAJECTORY = ["box", "coverage", "density", "mass", "res_dim", "n", "kept"]
LIMITS = ["parameter", "low", "high", "range_low", "range_high", "qp_value"]
BOX = [*LIMITS, "box_coverage", "box_density", "box_mass"]
LEAVES = ["leaf", "mass", "coverage", "density", "rule"]


@dataclass
class Discovery:
    """What :func:`discover` found: a row a case (``cases``: its parameters, gain, cost
    per job and whether it failed), PRIM's peeling ``trajectory``, the kept ``box``'s
    limits, CART's leaves (``cart``), the plain-words ``summary`` and the files."""

    cases: pd.DataFrame
    trajectory: pd.DataFrame
    box: pd.DataFrame
    cart: pd.DataFrame
    summary: str
    path: Path | None = None


def plan(measures: list | None, seeds: list[int], draws: list[dict], start: int,
         until: int, common: dict | None = None) -> Plan:
    """The baseline and the measure (one) or the package of ``measures`` (several), from
    ``start``, on every draw and seed: the report's plan of them (its composition and
    checks), less the measures run alone beside a package."""
    full = report_plan(measures, seeds, draws, start, until, "firms_per_100m_yuan", common)
    return replace(full, names=[full.names[0], full.names[-1]],
                   params=[full.params[0], full.params[-1]])


def cases(runs: pd.DataFrame, p: Plan, min_gain: float,
          max_cost_per_job: float | None) -> pd.DataFrame:
    """A row a draw and seed: the draw's varying parameters, the gain in projects producing
    at the end, the discounted public cost, its cost per extra job, and ``fails``."""
    q = paired_quantities(runs, p.names[1], p.start, p.until)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_job = np.where(q["d_jobs"] > 0, q["cost"] / q["d_jobs"], np.inf)
    fails = q["d_operating"].to_numpy() < min_gain
    if max_cost_per_job is not None:
        fails |= per_job > max_cost_per_job
    params = pd.DataFrame(p.draws)
    varying = [c for c in params.columns
               if params[c].nunique() > 1 and pd.api.types.is_numeric_dtype(params[c])]
    out = q[["draw", "seed"]].join(params[varying], on="draw")
    return out.assign(gain=q["d_operating"], cost_yuan=q["cost"], jobs=q["d_jobs"],
                      cost_per_job_yuan=per_job, fails=fails)


def _parameters(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c in PARAMS]


def _limits(box, i: int, x: pd.DataFrame) -> pd.DataFrame:
    """Box ``i`` of a PRIM trajectory: a row per parameter it restricts, its limits, the
    parameter's range over the cases and the smaller quasi-p-value of its two limits."""
    _stats, limits = box.inspect(i, style="data")[0]
    limits = limits.droplevel(0, axis=1)
    rows = []
    for name, r in limits.iterrows():
        qp = r["qp value"]
        qp = qp.dropna() if isinstance(qp, pd.Series) else pd.Series([qp]).dropna()
        rows.append({"parameter": name, "low": float(r["min"]), "high": float(r["max"]),
                     "range_low": float(x[name].min()), "range_high": float(x[name].max()),
                     "qp_value": float(qp.min()) if len(qp) else np.nan})
    # in the cases' column order, not EMA's (which follows Python's string hashing)
    order = {name: i for i, name in enumerate(x.columns)}
    return pd.DataFrame(sorted(rows, key=lambda r: order[r["parameter"]]), columns=LIMITS)


def prim_boxes(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """PRIM on the cases' parameters toward the failures: its peeling trajectory (the kept
    box marked) and the kept box's limits with its own coverage, density and mass. Peeling
    always reaches denser boxes, and on few cases its later boxes fit the cases' luck, so
    a box is read as Bryant & Lempert (2010) read it: its restrictions whose quasi-p-value
    is not below ``QP_SIGNIFICANT`` are dropped, and the box kept is the densest on the
    trajectory whose remaining restrictions still hold ``MIN_COVERAGE`` of the failures;
    none such, no box (an empty table)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim

        x = table[_parameters(table)].astype(float)
        y = table["fails"].to_numpy(dtype=bool)
        box = prim.Prim(x, y, peel_alpha=PEEL_ALPHA, mass_min=MASS_MIN).find_box()
        traj = box.peeling_trajectory.copy()
        kept, limits = None, pd.DataFrame()
        for i in traj.sort_values(["density", "res_dim"], ascending=[False, True]).index:
            if traj.loc[i, "coverage"] < MIN_COVERAGE:
                continue
            real = _limits(box, int(i), x)
            real = real[real["qp_value"] < QP_SIGNIFICANT].reset_index(drop=True)
            if real.empty:
                continue
            inside = np.ones(len(x), dtype=bool)
            for r in real.itertuples():
                inside &= (x[r.parameter] >= r.low).to_numpy() & (
                    x[r.parameter] <= r.high).to_numpy()
            if (inside & y).sum() >= MIN_COVERAGE * y.sum():
                kept = int(i)
                limits = real.assign(box_coverage=(inside & y).sum() / y.sum(),
                                     box_density=(inside & y).sum() / inside.sum(),
                                     box_mass=inside.mean())
                break
    traj["kept"] = traj.index == kept
    traj = traj.rename(columns={"id": "box"})[TRAJECTORY]
    return traj.reset_index(drop=True), limits.reindex(columns=BOX)


def cart_leaves(table: pd.DataFrame) -> pd.DataFrame:
    """CART's leaves: for each, its limits on the parameters it splits, the share of the
    cases it holds (mass), and its coverage and density of the failures."""
    x = table[_parameters(table)].astype(float)
    y = table["fails"].to_numpy(dtype=bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import cart
        from sklearn.tree import DecisionTreeClassifier

        class SeededCART(cart.CART):
            """EMA Workbench's CART with the tree's random state fixed: scikit-learn
            breaks ties between equally good splits at random, and EMA leaves its state
            unset, so the same cases gave other leaves from one run to the next."""

            def build_tree(self) -> None:
                self.clf = DecisionTreeClassifier(
                    min_samples_leaf=int(self.mass_min * self.x.shape[0]),
                    random_state=CART_SEED)
                self.clf.fit(self._x, self.y)

        tree = SeededCART(x, y, mass_min=MASS_MIN)
        tree.build_tree()
        stats = tree.stats_to_dataframe()
        boxes = tree.boxes_to_dataframe()
    rows = []
    for leaf in stats.index:
        limits = boxes[leaf]
        # in the cases' column order: EMA lists a box's parameters in an order that
        # changes with Python's string hashing, from one process to the next
        limits = limits.reindex([n for n in x.columns if n in limits.index])
        rule = [f"{n} in [{lo:.4g}, {hi:.4g}]" for n, (lo, hi)
                in zip(limits.index, limits[["min", "max"]].to_numpy(), strict=True)
                if lo > x[n].min() or hi < x[n].max()]
        rows.append({"leaf": leaf, "mass": float(stats.loc[leaf, "mass"]),
                     "coverage": float(stats.loc[leaf, "coverage"]),
                     "density": float(stats.loc[leaf, "density"]),
                     "rule": " and ".join(rule) or "(every case)"})
    return pd.DataFrame(rows, columns=LEAVES)


def aim_words(min_gain: float, max_cost_per_job: float | None, until: int) -> str:
    words = f"at least {min_gain:g} more projects producing in Xianghe at the end of {until}"
    if max_cost_per_job is not None:
        words += f" at a public cost of at most {max_cost_per_job:,.0f} yuan per extra job"
    return words


def summary(table: pd.DataFrame, box: pd.DataFrame, traj: pd.DataFrame, p: Plan,
            aim: str) -> str:
    """The findings in plain words, every number from the tables."""
    n, failed = len(table), int(table["fails"].sum())
    what = ("the package of " + ", ".join(p.measures)) if p.package else p.measures[0]
    lines = [(f"Aim: {aim}. Over {n} cases ({table['draw'].nunique()} parameter draws x "
              f"{table['seed'].nunique()} seeds), {what} fails it in {failed} "
              f"({failed / n:.0%}); its gain is {table['gain'].median():.1f} projects at the "
              f"median ({table['gain'].quantile(0.05):.1f} to "
              f"{table['gain'].quantile(0.95):.1f}, 5-95 %).")]
    if failed == 0 or failed == n:
        lines.append("With no contrast between cases that fail and cases that do not, there "
                     "is no condition to discover: set another aim (`--min-gain`).")
        return " ".join(lines)
    if traj.empty:
        lines.append(f"Fewer than {MIN_CASES} cases, or no parameter that varies: no box is "
                     "sought (`--draws`).")
        return " ".join(lines)
    if box.empty:
        lines.append(f"No box on PRIM's trajectory keeps {MIN_COVERAGE:.0%} of the failures "
                     f"once its restrictions that could be luck (quasi-p >= {QP_SIGNIFICANT}) "
                     "are dropped: no condition is claimed from these cases (more `--draws` "
                     "may find one; CART's leaves are below).")
        return " ".join(lines)
    first = box.iloc[0]
    limits = "; ".join(f"{r.parameter} between {r.low:.4g} and {r.high:.4g} (of "
                       f"{r.range_low:.4g}-{r.range_high:.4g}, quasi-p {r.qp_value:.2g})"
                       for r in box.itertuples())
    lines.append(f"PRIM's box holds {first['box_coverage']:.0%} of the failures (coverage), "
                 f"and {first['box_density']:.0%} of the cases in it fail (density, against "
                 f"{failed / n:.0%} overall; it holds {first['box_mass']:.0%} of the cases); "
                 f"it restricts {len(box)} parameter(s): {limits}.")
    return " ".join(lines)


def _figures(traj: pd.DataFrame, box: pd.DataFrame, folder: Path) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    from .plots import save

    folder.mkdir()
    sns.set_theme(style="whitegrid", context="paper")
    made = []
    fig, ax = plt.subplots(figsize=(5.5, 4))
    sns.scatterplot(data=traj, x="coverage", y="density", hue="res_dim", palette="viridis",
                    ax=ax, s=30)
    kept = traj[traj["kept"]]
    ax.scatter(kept["coverage"], kept["density"], s=140, facecolors="none",
               edgecolors="crimson", linewidths=1.5, label="kept box")
    ax.set(xlabel="coverage (share of the failures in the box)",
           ylabel="density (share of the box's cases that fail)",
           title="PRIM's peeling trajectory")
    ax.legend(title="parameters restricted", fontsize=7, title_fontsize=7)
    fig.tight_layout()
    save(fig, folder / "prim-tradeoff")
    made.append(("PRIM's trade-off of coverage against density", "figures/prim-tradeoff.png"))
    if len(box):
        span = (box["range_high"] - box["range_low"]).replace(0, np.nan)
        lo = (box["low"] - box["range_low"]) / span
        hi = (box["high"] - box["range_low"]) / span
        fig, ax = plt.subplots(figsize=(5.5, 0.6 + 0.45 * len(box)))
        ax.barh(box["parameter"], hi - lo, left=lo, color=sns.color_palette()[0])
        ax.set(xlim=(0, 1), xlabel="the box's limits within each parameter's range "
                                   "over the cases (0 = lowest, 1 = highest)",
               title="Where the measure fails: the kept box")
        fig.tight_layout()
        save(fig, folder / "prim-box")
        made.append(("The kept box's limits", "figures/prim-box.png"))
    return made


def _markdown(d: Discovery, p: Plan, aim: str, figures: list[tuple[str, str]]) -> str:
    def table(df: pd.DataFrame) -> str:
        cols = list(df.columns)
        rows = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for r in df.itertuples(index=False):
            rows.append("| " + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v)
                                          for v in r) + " |")
        return "\n".join(rows)

    parts = ["# Scenario discovery", "", d.summary, "",
             f"Measures: {', '.join(p.measures)} from {p.start}; aim: {aim}.", "",
             "## The kept box (PRIM)", "", table(d.box) if len(d.box) else "(none)", "",
             "## The peeling trajectory", "", table(d.trajectory), "",
             "## CART's leaves", "", table(d.cart) if len(d.cart) else "(none)", ""]
    for caption, path in figures:
        parts += [f"![{caption}]({path})", ""]
    return "\n".join(parts)


def write(d: Discovery, p: Plan, out: Path, aim: str, info: dict) -> Path:
    """The folder, written at once: discovery.md, tables, figures, the runs, manifest."""
    def fill(new: Path) -> None:
        figures = _figures(d.trajectory, d.box, new / "figures") if len(d.trajectory) else []
        (new / "discovery.md").write_text(_markdown(d, p, aim, figures), "utf-8")

    write_folder(out, "discovery", {name: getattr(d, name) for name in TABLES}, fill, info)
    return out / "discovery.md"


def make(p: Plan, out: Path, *, min_gain: float, max_cost_per_job: float | None,
         space: str, workers: int = 1, scheduler: str | None = None, progress: bool = True,
         wait: bool = False, repair: bool = False) -> Discovery:
    """Run the plan into ``out`` (resuming), find the boxes and write the folder."""
    out = Path(out)
    started = time.perf_counter()
    check_runs(out, p.digest(), repair)
    with output(out, "discovery", wait=wait, store=RUNS):
        df = run_plan(p, out, workers=workers, scheduler=scheduler, progress=progress,
                      repair=repair, kind="discovery")
        table = cases(tidy_runs(df, p.names), p, min_gain, max_cost_per_job)
        aim = aim_words(min_gain, max_cost_per_job, p.until)
        contrast = 0 < table["fails"].sum() < len(table)
        if contrast and len(table) >= MIN_CASES and _parameters(table):
            traj, box = prim_boxes(table)
            leaves = cart_leaves(table)
        else:
            traj, box = pd.DataFrame(columns=TRAJECTORY), pd.DataFrame(columns=BOX)
            leaves = pd.DataFrame(columns=LEAVES)
        d = Discovery(table, traj, box, leaves, summary(table, box, traj, p, aim))
        info = manifest_of(
            "discovery", summary=d.summary, aim=aim, min_gain=min_gain, max_cost_per_job=max_cost_per_job,
            space=space, measures=p.measures, package=p.package, seeds=p.seeds,
            draws=len(p.draws), **{"from": p.start}, until=p.until,
            levers={name: levers_set(params) for name, params
                    in zip(p.names, p.params, strict=True)},
            min_coverage=MIN_COVERAGE, mass_min=MASS_MIN, peel_alpha=PEEL_ALPHA,
            package_version=provenance.package_version(), versions=provenance.versions(),
            git_revision=provenance.git_revision(),
            seconds=round(time.perf_counter() - started, 1), written=provenance.timestamp())
        d.path = write(d, p, out, aim, info)
    return d
