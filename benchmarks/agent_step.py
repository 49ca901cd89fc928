"""Per-agent step cost and peak memory of the Xianghe model, against Mesa's Boltzmann example
and against a bare numpy kernel of the talent quarter's shape (the floor).

For every case (a model and a number of agents) the script

* builds the model (timed separately, reported as build seconds),
* runs a few warm-up steps (not timed),
* times ``--steps`` further steps with ``time.perf_counter`` and reports microseconds per
  agent-step, ``elapsed / (steps * agents) * 1e6``; for the Xianghe model one step is one
  quarter and the agents are its talent agents,
* reports the process's resident memory before the build and its peak (``ru_maxrss``).

Each case runs in its own freshly spawned process, so the peak memory belongs to that case
alone. The yardstick is Mesa's own Boltzmann wealth example (pure-Python agents on an
``OrthogonalMooreGrid`` of about four agents a cell, with the data collection it ships with).

Nothing is asserted: the script only measures and prints. The ratios printed under the table
(larger vs smallest size of the Xianghe model, Xianghe vs Boltzmann at equal size) are for
reading, not pass/fail. Note that below 50,000 talent agents the Xianghe model also scales
down its firm count, so its per-agent cost at small sizes is not a pure talent cost.

Run from the project root::

    uv run python benchmarks/agent_step.py             # full run, a few minutes
    uv run python benchmarks/agent_step.py --quick     # smoke test, seconds
    uv run python benchmarks/agent_step.py --sizes 10000 50000 --mesa-sizes 10000 --steps 4
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import platform
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

XIANGHE = "xianghe"
BOLTZMANN = "mesa-boltzmann"
FLOOR = "numpy-floor"
WARMUP_STEPS = 2
SEED = 1
AGENTS_PER_CELL = 4
QUICK_SIZES = [2_000, 5_000]
QUICK_STEPS = 2
# ru_maxrss is in KiB on Linux and in bytes on macOS.
RSS_BYTES_PER_UNIT = 1 if sys.platform == "darwin" else 1024


@dataclass(frozen=True)
class Case:
    """One measurement: a model at a number of agents, timed over some steps.

    Attributes:
        model: ``XIANGHE`` or ``BOLTZMANN``.
        agents: number of agents (talent agents for the Xianghe model).
        steps: number of timed steps.
    """

    model: str
    agents: int
    steps: int


@dataclass(frozen=True)
class Result:
    """What one case measured, or why it failed.

    Attributes:
        case: the case measured.
        build_s: seconds to construct the model.
        us_per_agent_step: microseconds per agent per timed step.
        base_rss_mib: peak resident memory of the process before the build, MiB.
        peak_rss_mib: peak resident memory of the process at the end, MiB.
        detail: a short note on the model built (firm count, grid size).
        error: the exception raised, if the case failed; the other fields are then NaN.
    """

    case: Case
    build_s: float = math.nan
    us_per_agent_step: float = math.nan
    base_rss_mib: float = math.nan
    peak_rss_mib: float = math.nan
    detail: str = ""
    error: str = ""


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss * RSS_BYTES_PER_UNIT / 2**20


def build_xianghe(agents: int):
    """Build the project model with ``agents`` talent agents.

    Args:
        agents: number of talent agents.

    Returns:
        The model and a note on its firm count.
    """
    from model import XiangheModel

    built = XiangheModel({"talent_agents": agents}, seed=SEED)
    return built, f"{built.firms.state.size} firms"


def build_boltzmann(agents: int):
    """Build Mesa's Boltzmann wealth example with about ``AGENTS_PER_CELL`` agents a cell.

    Args:
        agents: number of money agents.

    Returns:
        The model and a note on its grid size.
    """
    from mesa.examples.basic.boltzmann_wealth_model.model import (
        BoltzmannScenario,
        BoltzmannWealth,
    )

    side = max(1, round(math.sqrt(agents / AGENTS_PER_CELL)))
    scenario = BoltzmannScenario(n=agents, width=side, height=side, rng=SEED)
    return BoltzmannWealth(scenario), f"grid {side}x{side}"


class NumpyFloor:
    """A bare numpy kernel of the talent quarter's shape, the floor a model of this kind
    can reach: every agent draws three uniforms, the share that reconsiders (5 %) chooses
    among the 16 (home, job) pairs of 4 regions by a logit from its kind's utility row
    (18 kinds) with the costs of moving from its own pair, and the flows are counted by
    (kind, home, job) cell. No firms, land, markets or indicators."""

    T, KINDS, RECONSIDER = 4, 18, 0.05

    def __init__(self, agents: int):
        import numpy as np

        self.np, self.rng = np, np.random.default_rng(SEED)
        self.kind = self.rng.integers(0, self.KINDS, agents)
        self.pair = self.rng.integers(0, self.T * self.T, agents)
        self.base = self.rng.normal(size=(self.KINDS, self.T * self.T))
        pairs = np.arange(self.T * self.T)
        self.switch = -(0.5 * (pairs[:, None] // self.T != pairs[None, :] // self.T)
                        + 0.3 * (pairs[:, None] % self.T != pairs[None, :] % self.T))

    def step(self) -> None:
        np = self.np
        u = self.rng.random((3, self.kind.size))
        idx = np.flatnonzero(u[0] < self.RECONSIDER)
        v = self.base[self.kind[idx]] + self.switch[self.pair[idx]]
        v -= v.max(axis=1, keepdims=True)
        p = np.exp(v)
        cdf = np.cumsum(p, axis=1)
        self.pair[idx] = (u[1, idx, None] * cdf[:, -1:] >= cdf).sum(axis=1)
        self.flows = np.bincount(self.kind * self.T * self.T + self.pair,
                                 minlength=self.KINDS * self.T * self.T)


def build_floor(agents: int):
    """The numpy floor kernel (:class:`NumpyFloor`) of ``agents`` agents."""
    return NumpyFloor(agents), "bare numpy logit kernel"


BUILDERS = {XIANGHE: build_xianghe, BOLTZMANN: build_boltzmann, FLOOR: build_floor}


def import_model_code(kind: str) -> None:
    """Import the modules a case needs, so that the base memory includes them.

    Args:
        kind: ``XIANGHE`` or ``BOLTZMANN``.
    """
    if kind == XIANGHE:
        import model.model as _  # noqa: F401  (the package itself loads lazily)
    elif kind == FLOOR:
        import numpy as _  # noqa: F401
    else:
        import mesa.examples.basic.boltzmann_wealth_model.model as _  # noqa: F401


def measure(case: Case) -> Result:
    """Build, warm up and time one case in the current process.

    Args:
        case: the case to measure.

    Returns:
        Its timings and memory.
    """
    import_model_code(case.model)
    base = peak_rss_mib()

    start = time.perf_counter()
    built, detail = BUILDERS[case.model](case.agents)
    build_s = time.perf_counter() - start

    for _ in range(WARMUP_STEPS):
        built.step()
    start = time.perf_counter()
    for _ in range(case.steps):
        built.step()
    elapsed = time.perf_counter() - start

    return Result(case, build_s=build_s,
                  us_per_agent_step=elapsed / (case.steps * case.agents) * 1e6,
                  base_rss_mib=base, peak_rss_mib=peak_rss_mib(), detail=detail)


def measure_isolated(case: Case) -> Result:
    """Measure one case in a freshly spawned process, so its peak memory is its own.

    Args:
        case: the case to measure.

    Returns:
        Its result; a failure (exception, killed process) is recorded in ``error``.
    """
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        try:
            return pool.submit(measure, case).result()
        except Exception as exc:  # noqa: BLE001 - report any failure and go on
            return Result(case, error=f"{type(exc).__name__}: {exc}")


def format_table(results: list[Result]) -> str:
    """Lay the results out as a fixed-width table.

    Args:
        results: the measured cases.

    Returns:
        The table, one line per case, with a header.
    """
    header = (f"{'case':<15}{'agents':>10}{'steps':>7}{'us/agent-step':>15}{'build s':>9}"
              f"{'base RSS MiB':>14}{'peak RSS MiB':>14}{'delta MiB':>11}  detail")
    lines = [header, "-" * len(header)]
    for r in results:
        c = r.case
        lines.append(
            f"{c.model:<15}{c.agents:>10,}{c.steps:>7}{r.us_per_agent_step:>15.4f}"
            f"{r.build_s:>9.3f}{r.base_rss_mib:>14.1f}{r.peak_rss_mib:>14.1f}"
            f"{r.peak_rss_mib - r.base_rss_mib:>11.1f}  {r.error or r.detail}")
    return "\n".join(lines)


def format_ratios(results: list[Result]) -> list[str]:
    """Ratios of microseconds per agent-step, for reading (nothing is asserted).

    The Xianghe model's larger sizes are compared with its smallest (1.0 means linear
    scaling), and the Xianghe model with the Boltzmann example at each size both ran.

    Args:
        results: the measured cases.

    Returns:
        One line per ratio.
    """
    cost = {(r.case.model, r.case.agents): r.us_per_agent_step
            for r in results if not r.error}
    own = sorted(n for m, n in cost if m == XIANGHE)
    lines = [f"linearity  {XIANGHE} {n:,} vs {own[0]:,}: "
             f"{cost[XIANGHE, n] / cost[XIANGHE, own[0]]:.2f}x" for n in own[1:]]
    lines += [f"yardstick  {XIANGHE} / {BOLTZMANN} at {n:,}: "
              f"{cost[XIANGHE, n] / cost[BOLTZMANN, n]:.3f}x"
              for n in own if (BOLTZMANN, n) in cost]
    lines += [f"floor      {XIANGHE} / {FLOOR} at {n:,}: "
              f"{cost[XIANGHE, n] / cost[FLOOR, n]:.2f}x"
              for n in own if (FLOOR, n) in cost]
    return lines


def environment() -> str:
    """A line naming the interpreter, library versions and machine."""
    from importlib.metadata import version

    return (f"python {platform.python_version()}, mesa {version('mesa')}, "
            f"numpy {version('numpy')}, {platform.system()} {platform.machine()}, "
            f"{multiprocessing.cpu_count()} cpus")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line.

    Args:
        argv: arguments, without the program name; ``None`` reads ``sys.argv``.

    Returns:
        The options, with ``--quick`` already applied.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000],
                        help="talent agents of the Xianghe model cases")
    parser.add_argument("--mesa-sizes", type=int, nargs="+", default=[10_000, 100_000],
                        help="agents of the Mesa Boltzmann wealth cases")
    parser.add_argument("--steps", type=int, default=8,
                        help=f"timed steps per case, after {WARMUP_STEPS} warm-up steps")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke test: sizes {QUICK_SIZES} for both models, "
                             f"{QUICK_STEPS} timed steps")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.mesa_sizes, args.steps = QUICK_SIZES, QUICK_SIZES, QUICK_STEPS
    if args.steps < 1 or min(args.sizes + args.mesa_sizes) < 1:
        parser.error("--steps and every size must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    """Measure every case, each in its own process, and print the table and ratios.

    Args:
        argv: arguments, without the program name; ``None`` reads ``sys.argv``.
    """
    args = parse_args(argv)
    cases = ([Case(XIANGHE, n, args.steps) for n in args.sizes]
             + [Case(BOLTZMANN, n, args.steps) for n in args.mesa_sizes]
             + [Case(FLOOR, n, args.steps) for n in args.sizes])
    results = []
    for case in cases:
        print(f"running {case.model} at {case.agents:,} agents ...", file=sys.stderr, flush=True)
        results.append(measure_isolated(case))

    print(environment())
    print(f"seed {SEED}; {WARMUP_STEPS} warm-up steps untimed; one step = one model step "
          f"(a quarter for {XIANGHE}); {BOLTZMANN} grid side = round(sqrt(agents / "
          f"{AGENTS_PER_CELL})), about {AGENTS_PER_CELL} agents a cell")
    print("base RSS = peak RSS of the case's process after imports, before the build\n")
    print(format_table(results))
    print()
    print("\n".join(format_ratios(results)))
    failed = [r for r in results if r.error]
    if failed:
        print(f"\n{len(failed)} case(s) failed; see the detail column")


if __name__ == "__main__":
    main()
