"""What a sweep or a pair of scenarios says: paired effects and sensitivity indices."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from model import NAMES
from model.indicators import RATIOS

from .design import MORRIS_LEVELS, Design, points
from .errors import InputError


SEEDS_ONLY = "seeds"
SEEDS_AND_PARAMETERS = "seeds and parameters"


# Quantities of a comparison, not of a run: the projects B diverts from Xianghe's
# neighbours is what their signings lose against A (none on either side alone).
DIVERTED = {"projects_diverted_from_neighbours": ("neighbours_projects_signed", -1.0)}


def paired_effects(a: pd.DataFrame, b: pd.DataFrame, confidence: float = 0.95,
                   columns: list[str] | None = None) -> pd.DataFrame:
    """Effect of B against A on each indicator, paired by seed (common random numbers) and,
    where the rows carry a ``draw``, by posterior draw too.

    Args:
        a, b: one row per seed (column ``seed``), or per draw and seed (``draw``), and a
            column per indicator.
        columns: the indicators to compare (default: every indicator of the model).

    Returns:
        One row per indicator (and ``projects_diverted_from_neighbours``: what the
        neighbours' signings lose, B against A, with no A or B of its own): mean of A and
        of B, mean difference B - A, its standard
        error, the interval, ``pairs`` (the run pairs used) and ``interval_holds``. Only
        pairs where both sides have a value count, in the means too, so the effect is
        always B - A of the means shown: an event indicator (the investment of the
        projects signed in a year) is missing where a side had no event. Over seeds alone
        (``interval_holds`` "seeds"), the interval is Student's t over the paired
        differences: it holds the mean effect at these parameters, not what is unknown
        about them. Over draws ("seeds and parameters"), it holds the effect with the
        parameters uncertain: its half-width is ``t * sqrt(var_param + se**2)``, where
        ``var_param`` is the variance of the per-draw effect less what its seeds' noise
        explains (``sd_seed**2 / seeds``, floored at 0) and ``se`` the Monte Carlo error
        of the mean over draws; ``share_param`` is the part of that variance due to the
        parameters.
    """
    keys = ["draw", "seed"] if "draw" in a.columns else ["seed"]
    columns = list(columns or NAMES)
    a = a.set_index(keys).sort_index()[columns]
    b = b.set_index(keys).sort_index()[columns]
    both = a.notna() & b.notna()
    a_all, b_all = a, b
    a, b = a.where(both), b.where(both)
    diff = b - a
    for name, (source, sign) in DIVERTED.items():
        if source in diff:      # a quantity of the pair, with no value on either side
            diff[name] = sign * diff[source]
    out = mean_interval(diff, confidence)
    out.insert(0, "b", b.mean())
    out.insert(0, "a", a.mean())
    for name, parts in RATIOS.items():
        if name in out.index and all(p in a_all for p in parts):
            out.loc[name, list(RATIO_COLUMNS)] = ratio_effect(a_all, b_all, parts, confidence)
    return out.rename_axis("indicator").reset_index()


RATIO_COLUMNS = ("a", "b", "effect", "se", "ci_low", "ci_high", "pairs")


def ratio_effect(a: pd.DataFrame, b: pd.DataFrame, parts: tuple[str, str],
                 confidence: float = 0.95) -> tuple[float, ...]:
    """A ratio indicator over runs is the ratio of its parts' sums (docs/indicators.md), not
    the mean of each run's ratio: A and B each so, the effect B - A, and its interval by
    the jackknife over the seeds (over the draws when the runs have them, so that it holds
    the parameters' uncertainty as the other rows' do), leaving one out at a time."""
    num, den = parts

    def ratio(df: pd.DataFrame) -> float:
        total = df[den].sum()
        return float(df[num].sum() / total) if total > 0 else float("nan")

    unit = a.index.get_level_values(0)        # the draw, or the seed
    units = np.unique(unit)
    ra, rb = ratio(a), ratio(b)
    leave_one = np.array([ratio(b[unit != u]) - ratio(a[unit != u]) for u in units])
    ok = np.isfinite(leave_one)
    n = int(ok.sum())
    if n < 2 or not np.isfinite(rb - ra):
        return ra, rb, rb - ra, np.nan, np.nan, np.nan, len(units)
    se = float(np.sqrt((n - 1) / n * ((leave_one[ok] - leave_one[ok].mean()) ** 2).sum()))
    t = float(stats.t.ppf(0.5 + confidence / 2, n - 1))
    return ra, rb, rb - ra, se, rb - ra - t * se, rb - ra + t * se, len(units)


def mean_interval(values: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """The mean of per-run values (a paired difference, or anything summed over runs) with
    its interval, a row per column: ``effect``, ``se``, ``ci_low``, ``ci_high``, ``pairs``
    (the runs with a value), ``interval_holds``, and over draws ``sd_param``, ``sd_seed``,
    ``share_param``. ``values`` is indexed by seed, or by draw and seed; see
    :func:`paired_effects` for what each interval holds."""
    mean = values.mean()
    if values.index.names != ["draw", "seed"]:
        n = values.count()
        se = values.std(ddof=1) / np.sqrt(n)
        t = pd.Series(stats.t.ppf(0.5 + confidence / 2, (n - 1).clip(lower=1)),
                      index=n.index).where(n > 1)
        return pd.DataFrame({"effect": mean, "se": se, "ci_low": mean - t * se,
                             "ci_high": mean + t * se, "pairs": n,
                             "interval_holds": SEEDS_ONLY})
    by_draw = values.groupby(level="draw")
    per_draw = by_draw.mean()
    counts = by_draw.count()
    # seeds a draw has a value for, on average; the seeds' variance from the draws with two
    # or more (an event indicator may have fewer in some draws)
    draws, seeds = per_draw.count(), counts.where(counts > 0).mean()
    between = per_draw.var(ddof=1).fillna(0.0)
    within = by_draw.var(ddof=1).mean().fillna(0.0)
    var_param = (between - within / seeds).clip(lower=0.0)
    se2 = between / draws
    t = pd.Series(stats.t.ppf(0.5 + confidence / 2, (draws - 1).clip(lower=1)),
                  index=draws.index).where(draws > 1)
    half = t * np.sqrt(var_param + se2)
    total = var_param + se2
    return pd.DataFrame({"effect": mean, "se": np.sqrt(se2), "ci_low": mean - half,
                         "ci_high": mean + half, "pairs": values.count(),
                         "interval_holds": SEEDS_AND_PARAMETERS,
                         "sd_param": np.sqrt(var_param), "sd_seed": np.sqrt(within),
                         "share_param": (var_param / total).where(total > 0)})


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
