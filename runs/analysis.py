"""What a sweep or a pair of scenarios says: paired effects and sensitivity indices."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from model import NAMES

from .design import MORRIS_LEVELS, Design, points
from .errors import InputError


def paired_effects(a: pd.DataFrame, b: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Effect of B against A on each indicator, paired by seed (common random numbers).

    Args:
        a, b: one row per seed (column ``seed``) and a column per indicator.

    Returns:
        One row per indicator: mean of A and of B, mean difference B - A, its standard
        error, and the confidence interval from Student's t over the paired differences.
    """
    a = a.set_index("seed").sort_index()
    b = b.set_index("seed").sort_index()
    diff = b[list(NAMES)] - a[list(NAMES)]
    n = len(diff)
    mean = diff.mean()
    se = diff.std(ddof=1) / np.sqrt(n) if n > 1 else pd.Series(np.nan, index=diff.columns)
    t = stats.t.ppf(0.5 + confidence / 2, n - 1) if n > 1 else np.nan
    return pd.DataFrame({
        "a": a[list(NAMES)].mean(), "b": b[list(NAMES)].mean(), "effect": mean,
        "se": se, "ci_low": mean - t * se, "ci_high": mean + t * se,
    }).rename_axis("indicator").reset_index()


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
