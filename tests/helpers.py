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


def kill_when_a_part_is_stored(args: tuple[str, ...] | list[str], results: Path,
                               within: float = 300) -> None:
    """Start ``xianghe ARGS`` in a process group of its own and kill -9 the group as soon
    as ``results`` (a store's folder) holds a finished part file."""
    import os
    import signal
    import time

    proc = subprocess.Popen(command(*args), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + within
    while not (results.is_dir() and list(results.glob("*.parquet"))):
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
