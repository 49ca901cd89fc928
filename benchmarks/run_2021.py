"""What one run costs: the baseline from 2014Q1 to the end of 2021 (the calibration window,
what every ABC particle and every refinement step runs) at the default scale, in this
process, and where the time goes.

The runs are timed one after another on seeds 1, 2, ... after an untimed warm-up run (the
first one pays for imports and numpy's first calls); the script prints each run's time,
their median and range, the build (the 2014 equilibrium) apart from the 32 quarters, and a
profile of the same runs: the model's functions that take most of the time themselves
(``tottime``) and the numpy calls they make most often. It asserts nothing: a benchmark
measures. On a loaded machine the times vary by tens of per cent; compare medians taken
alternately on the same machine.

Run from the project root::

    uv run python benchmarks/run_2021.py
    uv run python benchmarks/run_2021.py --runs 11 --until 2030 --set talent_agents=10000
"""

from __future__ import annotations

import argparse
import cProfile
import platform
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model import XiangheModel  # noqa: E402
from runs.api import scenario_params  # noqa: E402


def _timed(params: dict, seed: int, until: int) -> tuple[float, float]:
    """Seconds to build a model and to run it to the end of ``until``."""
    start = time.perf_counter()
    m = XiangheModel(params, seed=seed)
    built = time.perf_counter()
    m.run_until_year(until)
    return built - start, time.perf_counter() - built


def _profile_lines(params: dict, seeds: range, until: int, top: int) -> list[str]:
    profile = cProfile.Profile()
    profile.enable()
    for seed in seeds:
        XiangheModel(params, seed=seed).run_until_year(until)
    profile.disable()
    stats = pstats.Stats(profile).stats
    total = sum(v[2] for v in stats.values())        # every function's own time
    rows = sorted(((v[2], v[0], f"{Path(k[0]).name}:{k[1]}({k[2]})") for k, v in stats.items()
                   if "/model/" in k[0]), reverse=True)
    numpy_calls = sorted(((v[0], v[2], k[2]) for k, v in stats.items()
                          if "numpy" in k[0] or k[0] == "~"), reverse=True)
    lines = [f"profile of {len(seeds)} runs: {total:.3f} s of own time in all functions",
             f"  {'own s':>7} {'share':>6} {'calls':>7}  model function"]
    lines += [f"  {t:7.3f} {t / total:6.1%} {n:7d}  {name}" for t, n, name in rows[:top]]
    lines += [f"  {'calls':>7} {'own s':>7}  most frequent numpy and built-in calls"]
    lines += [f"  {n:7d} {t:7.3f}  {name}" for n, t, name in numpy_calls[:6]]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7, help="timed runs (default 7)")
    ap.add_argument("--until", type=int, default=2021, help="last year (default 2021)")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="a parameter value (repeatable)")
    ap.add_argument("--top", type=int, default=12, help="model functions in the profile")
    args = ap.parse_args()
    overrides = {}
    for item in args.set:
        name, _, value = item.partition("=")
        overrides[name] = float(value) if "." in value or "e" in value else int(value)
    params = scenario_params("baseline", overrides)
    m = XiangheModel(params, seed=1)
    print(f"python {platform.python_version()}, {platform.machine()}; baseline to the end of "
          f"{args.until}, {m.talent.skill.size:,} talent agents, {m.n_exposed:,} exposed "
          f"firms (seed 1)")
    m.run_until_year(args.until)                    # warm-up, untimed
    times = [_timed(params, seed, args.until) for seed in range(1, args.runs + 1)]
    whole = [b + r for b, r in times]
    print(f"one run: median {statistics.median(whole):.3f} s, range "
          f"{min(whole):.3f}-{max(whole):.3f} s over {args.runs} runs (seeds 1-{args.runs})")
    print(f"  build (the 2014 equilibrium): median {statistics.median(b for b, _ in times):.3f} s;"
          f" the quarters: median {statistics.median(r for _, r in times):.3f} s")
    print("\n".join(_profile_lines(params, range(1, 4), args.until, args.top)))


if __name__ == "__main__":
    main()
