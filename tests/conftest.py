"""Shared fixtures: small, fast model runs reused across tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import settings

from model.params import FULL_SCALE_TALENT
from runs.experiments import run_scenario

settings.register_profile("ci", max_examples=12, deadline=None, derandomize=True)
settings.register_profile("dev", max_examples=25, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# The default scale: one firm agent per real firm.
TEST_AGENTS = FULL_SCALE_TALENT
SEEDS = (1, 2, 3)


@pytest.fixture(scope="session")
def baseline_runs():
    """The baseline to 2020 over three seeds."""
    return run_scenario({"talent_agents": TEST_AGENTS}, 1, len(SEEDS), 2020, progress=False)


BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dask_cluster():
    """A real Dask scheduler and two single-threaded workers on the loopback interface."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)]
    deadline = time.monotonic() + 60
    while True:                         # until the scheduler listens
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "the Dask scheduler did not start"
            time.sleep(0.1)
    for _ in range(2):
        procs.append(subprocess.Popen([str(BIN / "dask"), "worker", address, "--host",
                                       "127.0.0.1", "--nthreads", "1", "--no-dashboard"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      cwd=ROOT))
    from distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(2, timeout=60)
    yield address
    for p in reversed(procs):       # nothing of theirs to keep: no graceful shutdown
        p.kill()
    for p in procs:
        p.wait(timeout=30)
