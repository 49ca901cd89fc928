"""How much of a miss is the seeds' noise? The figures at one point over many seeds.

Runs one parameter vector (the calibrated point by default, at the estimation's scale of
10,000 talent agents) to the targets' last year on ``--seeds`` seeds and prints, for every
target, the standard deviation of one seed's figure in half-bands, the mean's distance
from the band centre, and the share of k-seed means in band for k = 1, 2, 5 and 8 (the
seeds cut into consecutive groups of k) -- for each figure and for all twelve at once.

That joint share bounds what any sampler whose target is "every figure in band on k
seeds" can accept: no proposal, however near the best point, is accepted more often
(docs/estimation.md, "The seeds' noise"). It measures; it asserts nothing.

    uv run python benchmarks/seed_noise.py [--seeds 96] [--first-seed 1001] [--workers 2]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from calibration.estimation import ESTIMATION_SCALE, moments, target_years  # noqa: E402
from runs.api import scenario_params  # noqa: E402
from runs.engine import Backend, RunTask, run_tasks  # noqa: E402

GROUPS = (1, 2, 5, 8)


def half_bands(seeds: list[int], backend: Backend) -> pd.DataFrame:
    """Each target's figure per seed, in half-bands from its band's centre."""
    ms = moments()
    params = scenario_params("baseline", dict(ESTIMATION_SCALE))
    tasks = [RunTask(k, 0, s, params, {}, target_years(ms)) for k, s in enumerate(seeds)]
    rows: list[dict] = []
    run_tasks(tasks, backend, keep=rows.extend, progress=False)
    df = pd.DataFrame(rows)
    return pd.DataFrame({m.key: (m.target.by_run(df, ["seed"]) - m.centre) / m.half_band
                         for m in ms})


def in_band_shares(y: pd.DataFrame, k: int) -> pd.Series:
    """The share of k-seed means in band, per figure and (``all``) for every figure."""
    groups = y.iloc[:len(y) // k * k].groupby(np.arange(len(y) // k * k) // k).mean()
    inside = groups.abs() <= 1
    return pd.concat([inside.mean(), pd.Series({"all": inside.all(axis=1).mean()})])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=96)
    ap.add_argument("--first-seed", type=int, default=1001)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    backend = Backend(args.workers, None)
    started = time.perf_counter()
    try:
        y = half_bands(seeds, backend)
    finally:
        backend.close()
    table = pd.DataFrame({"sd_one_seed": y.std(), "mean": y.mean(),
                          **{f"in_band_{k}_seeds": in_band_shares(y, k) for k in GROUPS}}
                         ).reindex([*y.columns, "all"])
    print(f"python {platform.python_version()}, {platform.machine()}; the calibrated point "
          f"at {ESTIMATION_SCALE['talent_agents']:,} talent agents, seeds {seeds[0]}-"
          f"{seeds[-1]}, {time.perf_counter() - started:.0f} s on {args.workers} workers")
    print("figures in half-bands from the band centre (|y| <= 1 is in band)")
    print(table.round(2).to_string(na_rep=""))


if __name__ == "__main__":
    main()
