"""What several test modules share: the command line as a subprocess, a small grid design."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Eight runs to 2018 at a small scale: a sweep in seconds.
GRID = """
scenario = "baseline"
sampler = "grid"
seeds = 2
years = [2016, 2018]
[params]
talent_agents = [3000]
bus_lines = [4, 8]
bus_lines_start_year = [2017]
checkpoint_lanes = [30, 40]
checkpoint_lanes_start_year = [2017]
"""


def command(*args: str) -> list[str]:
    """``xianghe ARGS`` as this environment runs it."""
    return [sys.executable, "-m", "runs.cli", *args]


def xianghe(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(command(*args), capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout)


def one_line(run: subprocess.CompletedProcess, *needles: str) -> str:
    """A refusal as the project promises it: exit status 2 and one line on stderr holding
    each of ``needles``."""
    assert run.returncode == 2, (run.returncode, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]
