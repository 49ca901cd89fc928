"""Sweep throughput: runs per minute with 1 and 2 local worker processes, and the
parallel efficiency ``rate(2) / (2 x rate(1))``.

The design is a grid of 12 points x 2 seeds of the baseline at the default scale (50,000
talent agents) to 2025, run through the same runner and storage as ``xianghe sweep``
(a process keeps its local workers from one experiment to the next, so a first sweep on
each worker count starts them, untimed, and the rates are of running, not starting).
The script measures and prints; it asserts nothing.

Run from the project root::

    uv run python benchmarks/sweep_throughput.py
    uv run python benchmarks/sweep_throughput.py --points 4 --until 2018   # quicker
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from runs.design import Design
from runs.experiments import run_sweep
from runs.store import read_results


def design(points: int, until: int) -> Design:
    lanes = [30 + 2 * i for i in range(points)]
    return Design("baseline", "grid", 1, 2, (until,), {"checkpoint_lanes": lanes})


def runs_per_minute(d: Design, workers: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        run_sweep(d, "benchmark", Path(tmp) / "out", workers, None, batch=4, progress=False)
        seconds = time.perf_counter() - started
        runs = read_results(Path(tmp) / "out")["run_id"].nunique()
    return 60.0 * runs / seconds, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=12)
    parser.add_argument("--until", type=int, default=2025)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    d = design(args.points, args.until)
    print(f"{os.cpu_count()} cpus; {args.points} points x {d.seeds} seeds, "
          f"baseline to {args.until}, 50,000 talent agents")
    # A first sweep on each worker count imports the model and starts the workers, which
    # the process then keeps: neither case pays for it.
    rates = {}
    for workers in (1, 2):
        runs_per_minute(design(workers, 2014), workers)
        rate, seconds = max(runs_per_minute(d, workers) for _ in range(args.repeats))
        rates[workers] = rate
        print(f"workers={workers}: {rate:8.1f} runs/minute ({seconds:.1f} s, "
              f"best of {args.repeats})")
    print(f"parallel efficiency on 2 workers: {rates[2] / (2 * rates[1]):.0%}")


if __name__ == "__main__":
    main()
