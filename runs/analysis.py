"""What a sweep or a pair of scenarios says: paired effects and sensitivity indices."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from model import NAMES

from .design import MORRIS_LEVELS, Design, points
from .errors import InputError


def paired_effects(a: pd.DataFrame, b: pd.DataFrame, confidence: float = 0.95,
                   columns: list[str] | None = None) -> pd.DataFrame:
    """Effect of B against A on each indicator, paired by seed (common random numbers) and,
    where the rows carry a ``draw``, by posterior draw too.

    Args:
        a, b: one row per seed (column ``seed``), or per draw and seed (``draw``), and a
            column per indicator.
        columns: the indicators to compare (default: every indicator of the model).

    Returns:
        One row per indicator: mean of A and of B, mean difference B - A, its standard
        error, and the interval. Over seeds alone, the interval is Student's t over the
        paired differences: it holds the mean effect at these parameters. Over draws, it
        holds the effect with the parameters uncertain: its half-width is
        ``t * sqrt(var_param + se**2)``, where ``var_param`` is the variance of the
        per-draw effect less what its seeds' noise explains (``sd_seed**2 / seeds``,
        floored at 0) and ``se`` the Monte Carlo error of the mean over draws;
        ``share_param`` is the part of that variance due to the parameters.
    """
    keys = ["draw", "seed"] if "draw" in a.columns else ["seed"]
    columns = list(columns or NAMES)
    a = a.set_index(keys).sort_index()
    b = b.set_index(keys).sort_index()
    diff = b[columns] - a[columns]
    out = {"a": a[columns].mean(), "b": b[columns].mean(), "effect": diff.mean()}
    if keys == ["seed"]:
        n = len(diff)
        se = diff.std(ddof=1) / np.sqrt(n) if n > 1 else pd.Series(np.nan, index=diff.columns)
        t = stats.t.ppf(0.5 + confidence / 2, n - 1) if n > 1 else np.nan
        out.update(se=se, ci_low=out["effect"] - t * se, ci_high=out["effect"] + t * se)
        return pd.DataFrame(out).rename_axis("indicator").reset_index()
    by_draw = diff.groupby(level="draw")
    per_draw = by_draw.mean()
    draws, seeds = len(per_draw), int(by_draw.size().min())
    between = per_draw.var(ddof=1) if draws > 1 else pd.Series(0.0, index=diff.columns)
    within = by_draw.var(ddof=1).mean() if seeds > 1 else pd.Series(0.0, index=diff.columns)
    var_param = (between - within / seeds).clip(lower=0.0)
    se2 = between / draws
    t = stats.t.ppf(0.5 + confidence / 2, draws - 1) if draws > 1 else np.nan
    half = t * np.sqrt(var_param + se2)
    total = var_param + se2
    out.update(se=np.sqrt(se2), ci_low=out["effect"] - half, ci_high=out["effect"] + half,
               sd_param=np.sqrt(var_param), sd_seed=np.sqrt(within),
               share_param=(var_param / total).where(total > 0))
    return pd.DataFrame(out).rename_axis("indicator").reset_index()


def point_means(results: pd.DataFrame, design: Design, indicator: str,
                year: int) -> np.ndarray:
    """The indicator in ``year`` for each design point, averaged over seeds, in point order."""
    if indicator not in NAMES:
        raise InputError(f"--indicator {indicator!r}: unknown; allowed: {', '.join(NAMES)}")
    if year not in design.years:
        raise InputError(f"--year {year}: not stored by this sweep; allowed: "
                         f"{', '.join(map(str, design.years))}")
    rows = results[results["year"] == year]
    failed = rows.loc[rows["status"] != "ok", "point"].unique()
    if failed.size:
        raise InputError(f"design points {sorted(failed.tolist())[:5]} failed; sensitivity "
                         "needs every point (see their error column)")
    expected = len(points(design))
    means = rows.groupby("point")[indicator].mean()
    if len(means) != expected:
        raise InputError(f"the sweep is incomplete ({len(means)} of {expected} points); "
                         "run `xianghe sweep` again on the folder to finish it")
    return means.sort_index().to_numpy()


def sensitivity(results: pd.DataFrame, design: Design, indicator: str,
                year: int) -> pd.DataFrame:
    """Sobol (first and total order) or Morris (mu*, sigma) indices of each parameter."""
    if design.sampler not in ("sobol", "morris"):
        raise InputError(f"sensitivity needs a sobol or morris design; this one is "
                         f"{design.sampler!r}")
    y = point_means(results, design, indicator, year)
    problem = design.problem()
    if design.sampler == "sobol":
        from SALib.analyze import sobol

        s = sobol.analyze(problem, y, calc_second_order=False, seed=design.sampler_seed)
        return pd.DataFrame({"parameter": design.names, "S1": s["S1"],
                             "S1_conf": s["S1_conf"], "ST": s["ST"], "ST_conf": s["ST_conf"]})
    from SALib.analyze import morris

    x = points(design).to_numpy(dtype=float)
    s = morris.analyze(problem, x, y, num_levels=MORRIS_LEVELS, seed=design.sampler_seed)
    return pd.DataFrame({"parameter": design.names, "mu_star": s["mu_star"],
                         "mu_star_conf": s["mu_star_conf"], "sigma": s["sigma"]})
