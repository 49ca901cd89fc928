"""Do the calibration targets depend on the number of talent agents?

Runs the baseline to the targets' last year over the same seeds at several scales and
prints, for every target, its mean at each scale beside the default scale's and the
p-value of a two-sample test (Mann-Whitney) against it, then the cost of a run at each
scale. This is what lets the estimation run at a smaller scale (``ESTIMATION_SCALE`` in
calibration/estimation.py). It measures; it asserts nothing (tests/test_scale.py checks).

    uv run python benchmarks/scale_invariance.py [--seeds 40] [--workers 2]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

from calibration.estimation import moments, target_years  # noqa: E402
from model.params import FULL_SCALE_TALENT  # noqa: E402
from runs.api import scenario_params  # noqa: E402
from runs.engine import Backend, RunTask, run_tasks  # noqa: E402

SCALES = (5_000, 10_000, 20_000, FULL_SCALE_TALENT)


def targets_at(scale: int, seeds: list[int], backend: Backend) -> tuple[dict, float]:
    """Every target's value per seed at ``scale`` talent agents, and seconds per run."""
    ms = moments()
    params = scenario_params("baseline", {"talent_agents": scale})
    tasks = [RunTask(k, 0, s, params, {}, target_years(ms)) for k, s in enumerate(seeds)]
    rows: list[dict] = []
    started = time.perf_counter()
    run_tasks(tasks, backend, keep=rows.extend, progress=False)
    per_run = (time.perf_counter() - started) * backend.slots / len(seeds)
    df = pd.DataFrame(rows)
    return {m.key: m.target.by_run(df, ["seed"]).dropna() for m in ms}, per_run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=40)
    ap.add_argument("--first-seed", type=int, default=301)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    backend = Backend(args.workers, None)
    try:
        run_tasks([RunTask(0, 0, 1, {"talent_agents": 1000}, {}, [2014])], backend,
                  keep=lambda rows: None, progress=False)     # start the workers first
        found = {scale: targets_at(scale, seeds, backend) for scale in SCALES}
    finally:
        backend.close()
    print(f"python {platform.python_version()}, {platform.machine()}; baseline, seeds "
          f"{seeds[0]}-{seeds[-1]}, {args.workers} workers")
    ref = found[FULL_SCALE_TALENT][0]
    head = f"{'target':40s} {FULL_SCALE_TALENT // 1000}k mean"
    for scale in SCALES[:-1]:
        head += f" | {scale // 1000:>3}k mean    p"
    print(head)
    for key, full in ref.items():
        line = f"{key:40s} {full.mean():11.4g}"
        for scale in SCALES[:-1]:
            x = found[scale][0][key]
            p = 1.0 if x.nunique() == full.nunique() == 1 and x.iloc[0] == full.iloc[0] \
                else stats.mannwhitneyu(x, full).pvalue
            line += f" | {x.mean():11.4g} {p:4.2f}"
        print(line)
    print("seconds per run (CPU, the workers' wall time times their number): " + ", ".join(
        f"{scale:,} agents {found[scale][1]:.3f}" for scale in SCALES))


if __name__ == "__main__":
    main()
