"""An interrupted `xianghe run --out` resumes without losing the seeds it finished."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import runs.engine as engine
from runs.experiments import run_scenario

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["run", "--quiet", "--replicates", "2", "--until", "2025",
        "--set", "talent_agents=50000"]   # about a second a seed: time to kill between seeds


def _start(out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "runs.cli", *ARGS, "--out", str(out)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path):
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    assert _start(whole).wait(timeout=600) == 0

    proc = _start(broken)
    deadline = time.monotonic() + 300
    while not list(broken.glob(".checkpoints/*/results/part-*.parquet")):
        assert proc.poll() is None, "the run ended before its first seed was saved"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert not (broken / "annual.parquet").exists()

    assert _start(broken).wait(timeout=600) == 0
    for name in ("annual.parquet", "quarterly.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(broken / name),
                                      pd.read_parquet(whole / name))
    assert sorted(pd.read_parquet(broken / "annual.parquet")["seed"].unique()) == [1, 2]
    assert not (broken / ".checkpoints").exists()


def test_a_saved_seed_is_not_run_again(tmp_path, monkeypatch):
    params = {"talent_agents": 500}
    first = run_scenario(params, 1, 1, 2015, progress=False, checkpoints=tmp_path)
    real = engine.simulate

    def refuse(task):
        assert task.seed != 1, "seed 1 was run again"
        return real(task)

    monkeypatch.setattr(engine, "simulate", refuse)
    again = run_scenario(params, 1, 2, 2015, progress=False, checkpoints=tmp_path)
    pd.testing.assert_frame_equal(again.annual[again.annual["seed"] == 1], first.annual)
    assert sorted(again.annual["seed"].unique()) == [1, 2]


def test_other_parameters_do_not_reuse_checkpoints(tmp_path):
    run_scenario({"talent_agents": 500}, 1, 1, 2015, progress=False, checkpoints=tmp_path)
    other = run_scenario({"talent_agents": 500, "bus_lines": 9}, 1, 1, 2015, progress=False,
                         checkpoints=tmp_path)
    assert len(list(tmp_path.iterdir())) == 2
    assert other.session.runs_ok == 1
