"""Coverage on synthetic data: do the estimation's intervals hold what they say?

Simulation-based calibration (Talts, Betancourt, Simpson, Vehtari & Gelman 2018,
arXiv:1804.06788; Cook, Gelman & Rubin 2006): draw a true parameter vector from the prior,
let the model make the figures at it, estimate from those figures, and see where the truth
falls in the posterior. Over many synthetic data sets, a posterior that is right puts the
truth inside its 90 % interval 90 % of the time, and the truth's rank among the posterior
draws is uniform. A rank histogram that is U-shaped says the intervals are too narrow
(over-confident), one that is humped says they are too wide, one that leans says they are
biased.

Running the full ABC-MCMC calibration (26 minutes here) for each of 100 data sets is out of
reach, so the posterior of each data set comes from one **reference table** of prior runs
shared by all of them: rejection ABC with local-linear regression adjustment (Beaumont,
Zhang & Balding 2002, *Genetics* 162(4)), the estimator of R's ``abc`` package whose
``cv4abc`` checks coverage the same way (Csilléry, François & Blum 2012, *Methods Ecol.
Evol.* 3(3)). What is checked is therefore the estimation's *design* -- the twelve figures
as summaries, each the mean over two common seeds at 10,000 talent agents, the
parameters estimated and their priors, the seed noise -- with a standard ABC estimator,
not the chains of :mod:`calibration.abc_mcmc` themselves (their target, the prior
restricted to the bands, is a uniform-kernel ABC posterior with the bands as tolerance;
the fit report checks what the chains found).

* The reference: ``reference`` vectors drawn from the prior (on its normal scores, where
  every prior is a standard normal), each run on the common seeds 1 and 2 exactly as a
  calibration particle runs; figures in half-bands from the band centres.
* The synthetic data sets: ``datasets`` further prior draws, each run on seeds the
  reference never uses (1001 and 1002), so a data set's seed noise is its own, as the
  county's figures' is.
* Each data set's posterior: the ``accept`` share of the reference nearest its figures
  (Euclidean distance on the figures scaled by their median absolute deviation over the
  reference), weighted by the Epanechnikov kernel, each normal score adjusted by a
  weighted linear regression on the figures' differences. The share is a tolerance, and
  the check is run at every share of ``TOLERANCES`` (cheap: the runs are the same), as
  ``cv4abc`` does: a regression on twelve figures fitted to few neighbours follows their
  noise and its intervals come out too narrow, while a large share lets the nonlinearity
  in. The default ``ACCEPT`` is the smallest share at which no parameter under-covered
  when the check was first run (``tolerances.csv`` shows all of them).
* Per parameter: the share of data sets whose truth lies inside the 90 % interval (with a
  Wilson 95 % interval for that share), the truth's quantile in each posterior (the SBC
  rank, uniform when calibrated; a Kolmogorov-Smirnov p-value against uniform), and the
  interval's mean width as a share of the prior's 90 % width (1 where the figures teach
  nothing). A parameter whose coverage falls below 80 % is named *under-covers*, above
  95 % *over-covers* (conservative intervals).

Every design is written before its runs and the runs as they finish (Parquet stores under
the output folder), so a check killed at any moment resumes with the same command.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

REFERENCE = 2000          # prior runs in the reference table
DATASETS = 100            # synthetic data sets
ACCEPT = 0.2              # share of the reference kept for each data set (see TOLERANCES)
TOLERANCES = (0.02, 0.05, 0.1, 0.2, 0.5)   # the shares assessed side by side
LEVEL = 0.90              # the intervals checked
COVERS = (0.80, 0.95)     # coverage below the first under-covers, above the second over-covers
DATA_FIRST_SEED = 1001    # the synthetic data sets' seeds, never a calibration's
SEED = 20_260             # the designs' random state
BINS = 10                 # bins of the rank histograms
FILES = ("settings.json", "reference", "datasets", "coverage.csv", "ranks.csv",
         "tolerances.csv", "coverage.png", "coverage.svg")


# ---------------------------------------------------------------------------- the estimator

def regression_abc(z_ref: np.ndarray, s_ref: np.ndarray, s_obs: np.ndarray, keep: int,
                   scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rejection ABC with local-linear regression adjustment (Beaumont et al. 2002): the
    ``keep`` reference points nearest ``s_obs`` (distance on ``(s - s_obs) / scale``),
    their parameters ``z_ref`` adjusted to ``s_obs`` by a weighted least-squares fit, and
    their Epanechnikov weights. Returns ``(z_adjusted, weights)``."""
    diff = (s_ref - s_obs) / scale
    d = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    keep = min(keep, len(d))
    near = np.argpartition(d, keep - 1)[:keep]
    h = d[near].max()
    w = 1.0 - (d[near] / h) ** 2 if h > 0 else np.ones(keep)
    x = np.column_stack([np.ones(keep), diff[near]])
    root = np.sqrt(w)[:, None]
    beta = np.linalg.lstsq(root * x, root * z_ref[near], rcond=None)[0]
    return z_ref[near] - diff[near] @ beta[1:], w


def weighted_quantiles(x: np.ndarray, w: np.ndarray, qs) -> np.ndarray:
    """Quantiles of the weighted sample ``x`` (interpolated on the mid-points of the
    cumulative weights)."""
    order = np.argsort(x)
    cum = np.cumsum(w[order])
    mid = (cum - 0.5 * w[order]) / cum[-1]
    return np.interp(qs, mid, x[order])


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson's 95 % interval for a share of ``k`` in ``n``."""
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def assess(names: list[str], z_ref: np.ndarray, s_ref: np.ndarray, z_true: np.ndarray,
           s_data: np.ndarray, accept: float = ACCEPT,
           level: float = LEVEL) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Coverage of :func:`regression_abc`'s intervals over the data sets ``s_data`` made at
    ``z_true``: per parameter, and each data set's rank (the truth's quantile in its
    posterior). Rows of the reference or the data with a missing figure are left out."""
    from scipy.stats import kstest, norm

    ok = np.isfinite(s_ref).all(axis=1) & np.isfinite(z_ref).all(axis=1)
    z_ref, s_ref = z_ref[ok], s_ref[ok]
    good = np.isfinite(s_data).all(axis=1)
    scale = np.median(np.abs(s_ref - np.median(s_ref, axis=0)), axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    keep = max(round(accept * len(z_ref)), len(names) + 2, s_ref.shape[1] + 2)
    tail = (1 - level) / 2
    lows, highs, ranks = [], [], []
    for k in np.flatnonzero(good):
        z_adj, w = regression_abc(z_ref, s_ref, s_data[k], keep, scale)
        q = np.array([weighted_quantiles(z_adj[:, j], w, [tail, 1 - tail])
                      for j in range(len(names))])
        lows.append(q[:, 0])
        highs.append(q[:, 1])
        ranks.append(np.clip((w[:, None] * (z_adj < z_true[k])).sum(axis=0) / w.sum(), 0, 1))
    lows, highs, ranks = np.array(lows), np.array(highs), np.array(ranks)
    truths = z_true[good]
    inside = (lows <= truths) & (truths <= highs)
    prior_width = 2 * norm.ppf(1 - tail)
    rows = []
    for j, name in enumerate(names):
        n, k = int(inside.shape[0]), int(inside[:, j].sum())
        share = k / n if n else float("nan")
        low, high = wilson(k, n)
        verdict = ("under-covers" if share < COVERS[0] else
                   "over-covers" if share > COVERS[1] else "calibrated")
        rows.append({"parameter": name, "datasets": n, "coverage": share,
                     "coverage_low": low, "coverage_high": high,
                     "rank_ks_p": float(kstest(ranks[:, j], "uniform").pvalue) if n else
                     float("nan"),
                     "width_vs_prior": float(np.mean(highs[:, j] - lows[:, j]) / prior_width),
                     "verdict": verdict})
    table = pd.DataFrame(rows)
    rank_table = pd.DataFrame(ranks, columns=names)
    rank_table.insert(0, "dataset", np.flatnonzero(good))
    return table, rank_table


def tolerance_table(names, z_ref, s_ref, z_true, s_data,
                    shares=TOLERANCES) -> pd.DataFrame:
    """The check at each share of the reference kept: mean and least coverage, how many
    parameters under- and over-cover, the mean width against the prior's, the worst."""
    rows = []
    runs = int((np.isfinite(s_ref).all(axis=1) & np.isfinite(z_ref).all(axis=1)).sum())
    for share in shares:
        t, _ = assess(names, z_ref, s_ref, z_true, s_data, share)
        worst = t.loc[t["coverage"].idxmin()]
        rows.append({"accept": share, "kept": max(round(share * runs),
                                                  len(names) + 2, s_ref.shape[1] + 2),
                     "mean_coverage": t["coverage"].mean(), "least_coverage": worst["coverage"],
                     "least_covered": worst["parameter"],
                     "under_cover": int((t["verdict"] == "under-covers").sum()),
                     "over_cover": int((t["verdict"] == "over-covers").sum()),
                     "mean_width_vs_prior": t["width_vs_prior"].mean()})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- the runs

def _settings(names, reference, datasets, seeds, base) -> dict:
    """What the runs depend on (the tolerance does not: it only reads them)."""
    return {"kind": "coverage", "names": names, "reference": reference,
            "datasets": datasets, "seeds": seeds,
            "data_seeds": list(range(DATA_FIRST_SEED, DATA_FIRST_SEED + len(seeds))),
            "set": base}


def check(out: Path, *, reference: int = REFERENCE, datasets: int = DATASETS,
          accept: float = ACCEPT, seeds: int = 2, workers: int = 1,
          scheduler: str | None = None, base: dict | None = None,
          progress: bool = True) -> pd.DataFrame:
    """Run the coverage check (module doc) into ``out`` and return the per-parameter table.
    A folder holding an interrupted check with the same settings is resumed; one with
    other settings is refused."""
    from tqdm import tqdm

    from calibration import history_matching as hm
    from calibration.estimation import (ESTIMATION_SCALE, PARAMS, estimated_names,
                                        held_at_declared, moments)
    from runs.engine import Backend
    from runs.errors import InputError

    started = time.perf_counter()
    out = Path(out)
    names = estimated_names()
    base = {**ESTIMATION_SCALE, **(base or {})}
    common = list(range(1, seeds + 1))
    settings = _settings(names, reference, datasets, common, base)
    path = out / "settings.json"
    if path.is_file():
        stored = json.loads(path.read_text())
        if stored != json.loads(json.dumps(settings)):
            changed = sorted(k for k in settings if stored.get(k) != settings[k])
            raise InputError(f"--out {out}: holds a coverage check with other settings "
                             f"({', '.join(changed)}); allowed: the same settings to resume "
                             "it, or a new --out folder")
    priors = {n: PARAMS[n].prior_dist for n in names}
    held = {**held_at_declared(names), **base}
    problem = hm.Problem(names, priors, common, held, moments())
    data_problem = hm.Problem(names, priors, settings["data_seeds"], held, moments())
    backend = Backend(workers, scheduler)
    try:
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / ".settings.json.new"
        tmp.write_text(json.dumps(settings, indent=1))
        tmp.replace(path)
        rng = np.random.default_rng(SEED)
        draws = rng.standard_normal((reference + datasets, len(names)))
        z_ref = hm._design(out / "reference", lambda: draws[:reference])
        z_true = hm._design(out / "datasets", lambda: draws[reference:])
        bar = tqdm(total=(reference + datasets) * seeds, unit="run", desc="coverage",
                   disable=not progress)
        s_ref = hm.run_design(out / "reference", z_ref, problem, backend, bar)
        s_data = hm.run_design(out / "datasets", z_true, data_problem, backend, bar)
        bar.close()
    finally:
        backend.close()
    table, ranks = assess(names, z_ref, s_ref, z_true, s_data, accept)
    table["accept"] = accept
    table["reference_runs"] = int(np.isfinite(s_ref).all(axis=1).sum())
    table["seconds"] = round(time.perf_counter() - started, 1)
    tolerances = tolerance_table(names, z_ref, s_ref, z_true, s_data)
    for frame, name in ((table, "coverage.csv"), (ranks, "ranks.csv"),
                        (tolerances, "tolerances.csv")):
        tmp = out / f".{name}.new"
        frame.to_csv(tmp, index=False)
        tmp.replace(out / name)
    plot(table, ranks, out / "coverage.png")
    return table


# ---------------------------------------------------------------------------- the figure

def plot(table: pd.DataFrame, ranks: pd.DataFrame, path: Path) -> None:
    """Two panels: each parameter's coverage of its 90 % interval (with Wilson's 95 %
    interval, the 80-95 % band shaded) and its interval's width against the prior's; then
    the rank histograms, one a parameter, with the 99 % band of a uniform count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns
    from scipy.stats import binom

    sns.set_theme(style="whitegrid", context="paper")
    names = list(table["parameter"])
    n_par = len(names)
    cols = 6
    rows = -(-n_par // cols)
    top = max(1.5, 0.17 * n_par)
    fig = plt.figure(figsize=(13, 1.8 * (top + rows) + 0.6))
    grid = fig.add_gridspec(1 + rows, cols, height_ratios=[top] + [1] * rows,
                            hspace=0.75, wspace=0.35, top=0.95, bottom=0.04)
    ax = fig.add_subplot(grid[0, :4])
    y = np.arange(n_par)
    ax.axvspan(*COVERS, color="0.9", zorder=0, label="80-95 %")
    ax.axvline(LEVEL, color="0.4", lw=0.8, ls="--")
    colours = {"calibrated": "C0", "under-covers": "C3", "over-covers": "C1"}
    for verdict, part in table.groupby("verdict"):
        idx = part.index.to_numpy()
        ax.errorbar(part["coverage"], y[idx],
                    xerr=[part["coverage"] - part["coverage_low"],
                          part["coverage_high"] - part["coverage"]],
                    fmt="o", ms=4, color=colours[verdict], label=verdict, capsize=2)
    ax.set_yticks(y, names, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0.4, 1.0)
    ax.set_xlabel(f"share of data sets whose truth lies in the {LEVEL:.0%} interval")
    ax.legend(loc="lower left", fontsize=7, frameon=True)
    ax.set_title(f"Coverage over {int(table['datasets'].iloc[0])} synthetic data sets "
                 f"({int(table['reference_runs'].iloc[0])} reference runs, the nearest "
                 f"{table['accept'].iloc[0]:.0%} kept)", fontsize=9)
    ax2 = fig.add_subplot(grid[0, 4:], sharey=ax)
    ax2.barh(y, table["width_vs_prior"], color="0.55")
    ax2.axvline(1.0, color="0.4", lw=0.8, ls="--")
    ax2.set_xlabel("90 % interval width / prior's")
    ax2.tick_params(labelleft=False)
    n = len(ranks)
    lo, hi = binom.ppf([0.005, 0.995], n, 1 / BINS)
    for j, name in enumerate(names):
        a = fig.add_subplot(grid[1 + j // cols, j % cols])
        a.axhspan(lo, hi, color="0.88", zorder=0)
        a.hist(ranks[name], bins=np.linspace(0, 1, BINS + 1), color="C0", edgecolor="white")
        a.axhline(n / BINS, color="0.4", lw=0.8)
        a.set_title(name, fontsize=7)
        a.set_xticks([0, 0.5, 1])
        a.tick_params(labelsize=6)
        if j % cols == 0:
            a.set_ylabel("data sets", fontsize=7)
    fig.suptitle("Simulation-based calibration of the estimation: coverage, interval width "
                 "and rank histograms (the truth's quantile in each posterior; uniform when "
                 "calibrated, grey: 99 % band)", fontsize=9, y=0.985)
    tmp = path.with_name(f".{path.stem}.new{path.suffix}")
    fig.savefig(tmp, dpi=150, bbox_inches="tight")
    tmp.replace(path)
    svg = path.with_suffix(".svg")
    tmp = svg.with_name(f".{svg.stem}.new.svg")
    fig.savefig(tmp, bbox_inches="tight")
    tmp.replace(svg)
    plt.close(fig)
