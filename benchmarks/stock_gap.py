"""Why no posterior holds both firm stocks of 2020 in band: the gap between the firms that
got land in Xianghe by 2020 (band 80-90) and those producing there (74-86), over the runs
a calibration made where every *other* figure is in band, and the parameters that move it.

The county's report has 80+ relocated and 79 of them producing: a gap of a few firms.
In the model the gap is the firms still in permits or construction at the end of 2020
plus those that left again, so it measures the pipeline's length. The script reads the
waves of calibrations' work folders (``xianghe calibrate --method emulation`` or
``history-matching``; every wave's runs on seeds 1-2) and prints the gap's quantiles
there and each estimated parameter's correlation with it (in the prior's normal scores).
It also splits the gap into the firms still in permits or construction and those that left
again, and says how often both stocks would be in band if the county counted as
relocated only the firms built (producing or left again). It reads the waves whose runs
have all finished and runs no model; it measures and asserts nothing.

    uv run python benchmarks/stock_gap.py out/calibration/work [more work folders]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from calibration import estimation as est  # noqa: E402
from calibration import history_matching as hm  # noqa: E402
from runs.engine import Backend  # noqa: E402
from runs.store import ResultStore, schema  # noqa: E402

RELOCATED, PRODUCING = "firms_relocated_2020", "firms_operating_2020"


def gaps(folders: list[Path]) -> tuple:
    """The normal scores and figures (half-bands) of every wave's runs in ``folders``,
    the mask of runs with every other figure in band, the figures' keys, the parameters'
    names and the problem (bands and centres)."""
    settings = hm.read_settings(folders[0]) or {}
    names = settings.get("names") or est.estimated_names()
    stated = settings.get("priors", {})          # the calibration's own priors (--priors)
    priors = {n: (est.Prior.parse(stated[n], est.PARAMS[n].low, est.PARAMS[n].high)
                  if n in stated else est.PARAMS[n].prior_dist) for n in names}
    held = {**est.held_at_declared(names), **est.ESTIMATION_SCALE, **settings.get("set", {})}
    problem = hm.Problem(names, priors, settings.get("seeds", [1, 2]), held, est.moments(),
                         settings.get("observed"))

    waves = finished_waves(folders, problem)
    if not waves:
        raise SystemExit(f"no finished wave-* under {', '.join(map(str, folders))}")
    backend = Backend(1, None)
    try:
        z = np.vstack([np.load(w / "design.npy") for w in waves])
        y = np.vstack([hm.run_design(w, np.load(w / "design.npy"), problem, backend)
                       for w in waves])
    finally:
        backend.close()
    keys = [m.key for m in problem.moments]
    others = [j for j, k in enumerate(keys) if k not in (RELOCATED, PRODUCING)]
    fit = np.all(np.abs(np.nan_to_num(y[:, others], nan=np.inf)) <= 1, axis=1)
    return z, y, fit, keys, names, problem


def finished_waves(folders: list[Path], problem) -> list[Path]:
    """The wave folders under ``folders`` whose design has every run stored (in the order
    the waves ran)."""
    def finished(wave: Path) -> bool:
        return (wave / "design.npy").is_file() and len(ResultStore(wave, schema([])).done()) \
            >= len(np.load(wave / "design.npy")) * len(problem.seeds)

    def number(wave: Path) -> tuple:
        return wave.parent.as_posix(), int(wave.name.split("-")[1])

    return sorted((w for f in folders for w in f.glob("wave-*") if finished(w)), key=number)


def stocks_2020(waves: list[Path]) -> pd.DataFrame:
    """Each run's firms given land in Xianghe, producing there and left again at the end
    of 2020 (mean over its seeds), a row a point, in the order of ``gaps``' rows."""
    columns = ["point", "seed", "year", "status", "firms_relocated", "firms_operating",
               "firms_left_again"]
    per_wave = []
    for wave in waves:
        runs = ResultStore(wave, schema([])).read()[columns]
        runs = runs[(runs["status"] == "ok") & (runs["year"] == 2020)]
        means = runs.groupby("point")[columns[4:]].mean()
        per_wave.append(means.reindex(range(len(np.load(wave / "design.npy")))))
    return pd.concat(per_wave, ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("work", type=Path, nargs="+", help="calibration work folders")
    args = ap.parse_args()
    z, y, fit, keys, names, problem = gaps(args.work)
    if fit.sum() < 2:
        print(f"{len(z)} runs, {int(fit.sum())} with every figure but the two stocks in "
              "band: too few to measure the gap")
        return
    moments = {m.key: m for m in problem.moments}
    r, p = keys.index(RELOCATED), keys.index(PRODUCING)
    firms = {j: problem.centre(moments[keys[j]]) + moments[keys[j]].half_band * y[fit, j]
             for j in (r, p)}
    gap = firms[r] - firms[p]
    inside = np.abs(y[fit][:, [r, p]]) <= 1
    print(f"{len(z)} runs, {int(fit.sum())} with every figure but the two stocks in band "
          f"(means of seeds {', '.join(map(str, problem.seeds))})")
    print(f"  of those, relocated in band {inside[:, 0].mean():.2f}, producing in band "
          f"{inside[:, 1].mean():.2f}, both {inside.all(axis=1).mean():.2f}")
    print("  gap relocated - producing, firms: 5/25/50/75/95 % "
          + " / ".join(f"{q:.1f}" for q in np.percentile(gap, [5, 25, 50, 75, 95])))
    print("  producing / relocated: 5/50/95 % "
          + " / ".join(f"{q:.3f}" for q in np.percentile(firms[p] / firms[r], [5, 50, 95])))
    stocks = stocks_2020(finished_waves(args.work, problem))[fit]
    building = stocks["firms_relocated"] - stocks["firms_operating"] - stocks["firms_left_again"]
    print("  of the gap, firms in permits or construction at the end of 2020: 5/50/95 % "
          + " / ".join(f"{q:.1f}" for q in np.nanpercentile(building, [5, 50, 95]))
          + "; left again: " + " / ".join(f"{q:.1f}" for q in
                                         np.nanpercentile(stocks["firms_left_again"],
                                                          [5, 50, 95])))
    built = stocks["firms_operating"] + stocks["firms_left_again"]
    band = {k: (moments[k].target.low, moments[k].target.high) for k in (RELOCATED, PRODUCING)}
    both_built = (built.between(*band[RELOCATED])
                  & stocks["firms_operating"].between(*band[PRODUCING])).mean()
    print(f"  both stocks in band if relocated counted only the firms built (producing or "
          f"left again): {both_built:.2f}")
    corr = np.array([np.corrcoef(z[fit, i], gap)[0, 1] for i in range(len(names))])
    print("  correlation of each parameter's normal score with the gap (largest first):")
    for i in np.argsort(-np.abs(corr))[:8]:
        print(f"    {names[i]:32s} {corr[i]:+.2f}")


if __name__ == "__main__":
    main()
