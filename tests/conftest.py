"""Shared fixtures: small, fast model runs reused across tests."""

from __future__ import annotations

import os

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
