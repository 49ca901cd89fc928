"""Every count is bounded before it costs memory, and every bad file or argument is one line
(exit 2) on the command line and an InputError in the API. Real processes, real files."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from runs import api
from tests.helpers import GRID, ROOT, command
from tests.helpers import one_line as _refused

HUGE = "100000000"
MAX_REFUSAL_RSS_MB = 200


# Measures the peak memory of the command it runs. Linux counts in a child's peak the
# memory of the process it was forked from (up to its exec), so the command is started from
# this small interpreter rather than from pytest, which holds hundreds of MB.
MEASURE = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[2:])
open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(done.returncode)
"""


def _measured(*args: str, cwd: Path = ROOT) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run ``xianghe ARGS``; its result, wall seconds and peak memory (MB, its own)."""
    import sys
    import tempfile

    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        started = time.monotonic()
        run = subprocess.run([sys.executable, "-c", MEASURE, rss.name, *command(*args)],
                             cwd=cwd, capture_output=True, text=True, timeout=600)
        seconds = time.monotonic() - started
        peak_kb = int(rss.read() or 0)
    return run, seconds, peak_kb / 1024


@pytest.fixture(scope="module")
def designs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("designs")
    grid = folder / "grid.toml"
    grid.write_text(GRID)
    lhs = folder / "lhs.toml"
    lhs.write_text(f'sampler = "lhs"\nsamples = {HUGE}\n[params]\n'
                   'bus_lines = { low = 4, high = 16 }\n')
    return {"grid": grid, "lhs": lhs, "out": folder / "out"}


@pytest.mark.parametrize("args", [
    ("run", "--draws", HUGE),
    ("run", "--replicates", HUGE),
    ("run", "--replicates", "200", "--draws", "200"),
    ("run", "--workers", HUGE),
    ("compare", "baseline", "permits", "--replicates", HUGE),
    ("report", "--seeds", HUGE),
    ("report", "--draws", HUGE),
    ("discover", "--draws", HUGE),
    ("discover", "--seeds", HUGE),
    ("elasticities", "--seeds", HUGE),
    ("calibrate", "--budget", HUGE),
    ("calibrate", "--population", HUGE),
    ("sweep", "{lhs}", "--out", "{out}"),
    ("sweep", "{grid}", "--out", "{out}", "--batch", HUGE),
], ids=lambda a: " ".join(a[:3]))
def test_a_count_at_a_hundred_million_is_refused_at_once(designs, args):
    args = [a.format(**designs) for a in args]
    run, seconds, rss_mb = _measured(*args)
    line = _refused(run, "allowed")
    assert re.search(r"\d[\d,]* (runs|\()|at most|\[\d+, [\d,]+\]", line), line
    assert rss_mb < MAX_REFUSAL_RSS_MB, f"{rss_mb:.0f} MB to refuse {' '.join(args)}"
    # At once, not the minutes of the work it refuses: a process start, which a loaded
    # 2-core machine running the suite on two workers stretched to 2.8 s once.
    assert seconds < 10, seconds
    assert not designs["out"].exists()


@pytest.fixture(scope="module")
def nan_posterior(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("posterior") / "nan.parquet"
    df = pd.read_parquet(ROOT / "calibration" / "posterior.parquet")
    df["weight"] = float("nan")
    df.to_parquet(path)
    return path


@pytest.mark.parametrize("args", [
    ("run", "--draws", "2", "--posterior", "{p}"),
    ("compare", "baseline", "permits", "--draws", "2", "--posterior", "{p}"),
    ("report", "--draws", "2", "--posterior", "{p}", "--out", "{tmp}/rep"),
    ("sweep", "{grid}", "--draws", "2", "--posterior", "{p}", "--out", "{tmp}/sw"),
    ("calibrate", "--recover", "--posterior", "{p}", "--out", "{tmp}/rec"),
], ids=lambda a: a[0] + (" --recover" if "--recover" in a else ""))
def test_a_posterior_with_nan_weights_is_one_line(nan_posterior, designs, tmp_path, args):
    args = [a.format(p=nan_posterior, grid=designs["grid"], tmp=tmp_path) for a in args]
    _refused(_measured(*args)[0], str(nan_posterior), "weights")
    assert list(tmp_path.iterdir()) == []


def test_a_fit_report_of_a_folder_without_a_posterior_is_one_line(tmp_path):
    _refused(_measured("calibrate", "--report", "--out", str(tmp_path))[0], "no posterior")
    assert list(tmp_path.iterdir()) == []


def test_posterior_without_draws_is_refused_not_ignored(tmp_path):
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"not a posterior")
    _refused(_measured("run", "--posterior", str(garbage))[0], "--posterior",
             "only with --draws")
    _refused(_measured("calibrate", "--posterior", str(garbage), "--out",
                       str(tmp_path / "cal"))[0], "only with --recover")


def test_an_unreachable_scheduler_is_one_line_without_a_progress_bar(tmp_path):
    for method in (["--db", str(tmp_path / "h.db"), "--method", "abc-smc"],
                   ["--work", str(tmp_path / "work")]):
        run = _measured("calibrate", "--scheduler", "tcp://127.0.0.1:1", "--out",
                        str(tmp_path / "cal"), *method)[0]
        _refused(run, "no Dask scheduler answers")
        assert "calibrating" not in run.stderr and "\r" not in run.stderr
        assert list(tmp_path.iterdir()) == []


def test_a_history_that_is_not_one_is_named_as_such(tmp_path):
    db = tmp_path / "garbage.db"
    db.write_bytes(b"this is no database at all" * 10)
    _refused(_measured("calibrate", "--method", "abc-smc", "--db", str(db), "--out",
                       str(tmp_path / "cal"))[0],
             "not a pyabc history")


def test_extends_is_read_beside_the_file_that_extends(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "small.toml").write_text('name = "small"\n[params]\ntalent_agents = 3000\n')
    (folder / "measure.toml").write_text('name = "measure"\nextends = "small.toml"\n'
                                         "[params]\nbus_lines = 9\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(folder / "small.toml", elsewhere / "small.toml")
    (elsewhere / "small.toml").write_text('name = "small"\n[params]\ntalent_agents = 4000\n')
    from runs.scenario import load

    cwd = os.getcwd()
    os.chdir(elsewhere)           # a small.toml here must not be the one extended
    try:
        params = load(str(folder / "measure.toml")).params
    finally:
        os.chdir(cwd)
    assert params["talent_agents"] == 3000 and params["bus_lines"] == 9


@pytest.mark.parametrize("call", [
    lambda: api.run(params=[("bus_lines", 3)]),
    lambda: api.run(draws=math.nan),
    lambda: api.run(replicates=2.5),
    lambda: api.compare("baseline", "permits", draws=True),
    lambda: api.sweep(ROOT / "runs" / "designs" / "subsidy-lanes-grid.toml", out=None),
    lambda: api.scenario("x", None),
    lambda: api.scenario("", {}),
    lambda: api.report(seeds=10**8),
], ids=["params-list", "draws-nan", "replicates-float", "draws-bool", "sweep-out-none",
        "scenario-none", "scenario-unnamed", "report-seeds"])
def test_every_bad_api_argument_is_an_input_error(call):
    with pytest.raises(api.InputError) as err:
        call()
    assert "\n" not in str(err.value) and "allowed" in str(err.value)



def test_the_documented_bounds_are_the_ones_in_force():
    from runs.errors import CEILINGS, MAX_RUNS

    text = (ROOT / "docs" / "commands.md").read_text().split("**Bounds.**")[1].split("##")[0]
    for most, reason in [*CEILINGS.values(), *MAX_RUNS.values()]:
        assert f"| {most:,} | {reason}" in text or f"| {most:,} | the same" in text, (most, reason)
