"""How long the command line takes to answer when it has no simulating to do.

Each case is a whole process, started the way a user starts it (the ``xianghe`` script of
the environment), timed from start to exit with ``time.perf_counter``; the script prints
the median and the range over ``--repeat`` runs. It asserts nothing: a benchmark measures.

Run from the project root::

    uv run python benchmarks/cli_latency.py
    uv run python benchmarks/cli_latency.py --repeat 21
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

CASES = {
    "xianghe --help": ["--help"],
    "xianghe params": ["params"],
    "xianghe scenarios": ["scenarios"],
    "bad input (unknown parameter)": ["run", "--set", "no_such_parameter=1"],
    "bad input (out-of-range value)": ["compare", "baseline", "permits",
                                       "--set", "bus_lines=-1"],
    "bad input (year outside the model)": ["run", "--until", "3000"],
    "bad input (report: unknown measure)": ["report", "--measures", "teleport"],
}


def _command() -> list[str]:
    script = shutil.which("xianghe", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "runs.cli"]


def time_case(args: list[str], repeat: int) -> list[float]:
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([*_command(), *args], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=11, help="runs per case (default 11)")
    args = parser.parse_args()
    print(f"{'case':<34} {'median s':>9} {'min s':>7} {'max s':>7}   ({args.repeat} runs each)")
    for name, case in CASES.items():
        seconds = time_case(case, args.repeat)
        print(f"{name:<34} {statistics.median(seconds):>9.3f} {min(seconds):>7.3f} "
              f"{max(seconds):>7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
