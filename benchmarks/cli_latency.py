"""How long the command line takes to answer when it has no simulating to do.

Each case is a whole process, started the way a user starts it (the ``xianghe`` script of
the environment), timed from start to exit with ``time.perf_counter``; the script prints
the median and the range over ``--repeat`` runs. Where ``uv`` is on the PATH it also times
``uv run xianghe --help``, the form the README gives, with and without
PYTHONDONTWRITEBYTECODE set: uv's own check of the environment on every call. It asserts
nothing: a benchmark measures.

Run from the project root::

    uv run python benchmarks/cli_latency.py
    uv run python benchmarks/cli_latency.py --repeat 21
"""

from __future__ import annotations

import argparse
import os
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


def time_case(command: list[str], repeat: int, env: dict | None = None) -> list[float]:
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False, env=env)
        seconds.append(time.perf_counter() - started)
    return seconds


def _uv_cases() -> dict[str, tuple[list[str], dict]]:
    uv = shutil.which("uv")
    if uv is None:
        return {}
    plain = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {"uv run xianghe --help": ([uv, "run", "xianghe", "--help"], plain),
            "  the same, PYTHONDONTWRITEBYTECODE=1": ([uv, "run", "xianghe", "--help"],
                                                     {**plain, "PYTHONDONTWRITEBYTECODE": "1"})}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=11, help="runs per case (default 11)")
    args = parser.parse_args()
    print(f"{'case':<34} {'median s':>9} {'min s':>7} {'max s':>7}   ({args.repeat} runs each)")
    cases = {name: ([*_command(), *case], None) for name, case in CASES.items()}
    for name, (command, env) in {**cases, **_uv_cases()}.items():
        seconds = time_case(command, args.repeat, env)
        print(f"{name:<34} {statistics.median(seconds):>9.3f} {min(seconds):>7.3f} "
              f"{max(seconds):>7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
