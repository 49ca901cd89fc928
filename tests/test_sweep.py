"""Sweeps: local processes and a real Dask cluster agree, a killed sweep resumes, a failing
run is a failure row, bad input exits 2; compare, sensitivity and plots work end to end."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from runs.design import load_design, points
from runs.store import read_results
from tests.conftest import _free_port
from tests.helpers import GRID, ROOT, xianghe

BIN = Path(sys.executable).parent


def _design(tmp_path: Path, text: str, name: str = "design.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("local")
    design = _design(tmp, GRID)
    out = tmp / "out"
    run = xianghe("sweep", str(design), "--out", str(out), "--workers", "2", "--quiet")
    assert run.returncode == 0, run.stderr
    return design, out


def test_sweep_stores_one_row_per_run_and_year(local_sweep):
    design, out = local_sweep
    df = pd.read_parquet(out / "results")
    assert len(df) == 4 * 2 * 2
    assert {"run_id", "point", "seed", "year", "bus_lines", "checkpoint_lanes",
            "firms_relocated", "status", "error"} <= set(df.columns)
    assert (df["status"] == "ok").all() and df["error"].isna().all()
    assert sorted(df["seed"].unique()) == [1, 2]
    assert not df.duplicated(["run_id", "year"]).any()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["design"]["params"]["bus_lines"] == [4, 8]
    assert {"package_version", "git_revision", "sessions"} <= set(manifest)
    assert manifest["sessions"][-1]["complete"]


def test_a_design_start_year_starts_its_levers_and_the_manifest_says_so(tmp_path):
    """A design's levers start in the policy year unless its `start_year` says otherwise;
    levers that start after the last year stored are named on stderr."""
    plain = GRID.replace("bus_lines_start_year = [2017]\n", "").replace(
        "checkpoint_lanes_start_year = [2017]\n", "")
    late = xianghe("sweep", str(_design(tmp_path, plain, "late.toml")), "--out",
                   str(tmp_path / "late"), "--workers", "1", "--quiet")
    assert late.returncode == 0, late.stderr
    assert "bus_lines, checkpoint_lanes start in 2022, after the run ends (2018)" in late.stderr
    df = read_results(tmp_path / "late")
    assert df.groupby(["seed", "year"])["checkpoint_peak_delay_min"].nunique().eq(1).all()
    assert json.loads((tmp_path / "late" / "manifest.json").read_text())["levers_from"] == {
        "bus_lines": 2022, "checkpoint_lanes": 2022}
    early = xianghe("sweep", str(_design(tmp_path, "start_year = 2017\n" + plain,
                                         "early.toml")),
                    "--out", str(tmp_path / "early"), "--workers", "1", "--quiet")
    assert early.returncode == 0 and "note" not in early.stderr, early.stderr
    manifest = json.loads((tmp_path / "early" / "manifest.json").read_text())
    assert manifest["levers_from"] == {"bus_lines": 2017, "checkpoint_lanes": 2017}
    df = read_results(tmp_path / "early")
    assert df[df["year"] == 2018].groupby("seed")["checkpoint_peak_delay_min"].nunique().gt(1).all()


def test_same_seeds_at_every_point(local_sweep):
    """Common random numbers: levers that start in 2017 change nothing before."""
    _, out = local_sweep
    df = read_results(out)
    early = df[df["year"] == 2016].set_index(["seed", "bus_lines", "checkpoint_lanes"])
    firms = early["firms_relocated"].unstack(["bus_lines", "checkpoint_lanes"])
    assert (firms.nunique(axis=1) == 1).all()


def test_running_again_does_nothing_more(local_sweep):
    design, out = local_sweep
    before = read_results(out)
    run = xianghe("sweep", str(design), "--out", str(out), "--workers", "2", "--quiet")
    assert run.returncode == 0 and "0 run(s) ok" in run.stdout
    pd.testing.assert_frame_equal(read_results(out), before)


@pytest.mark.slow
def test_dask_cluster_gives_exactly_the_local_results(local_sweep, dask_cluster, tmp_path):
    design, local_out = local_sweep
    out = tmp_path / "dask"
    run = xianghe("sweep", str(design), "--out", str(out), "--scheduler", dask_cluster,
                  "--quiet")
    assert run.returncode == 0, run.stderr
    assert "dask" in json.loads((out / "manifest.json").read_text())["sessions"][-1]["executor"]
    pd.testing.assert_frame_equal(read_results(out), read_results(local_out))


@pytest.mark.slow
def test_killed_sweep_resumes_to_the_uninterrupted_result(tmp_path):
    text = GRID.replace("talent_agents = [3000]", "talent_agents = [60000]").replace(
        "years = [2016, 2018]", "years = [2020, 2024]")
    design = _design(tmp_path, text)
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    args = ["sweep", str(design), "--workers", "1", "--batch", "1", "--quiet"]
    assert xianghe(*args, "--out", str(whole)).returncode == 0

    proc = subprocess.Popen([sys.executable, "-m", "runs.cli", *args, "--out", str(broken)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while len(list((broken / "results").glob("part-*.parquet"))) < 2:
        assert proc.poll() is None, "the sweep ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    stored = read_results(broken)
    assert 0 < stored["run_id"].nunique() < 8

    assert xianghe(*args, "--out", str(broken)).returncode == 0
    resumed = read_results(broken)
    assert not resumed.duplicated(["run_id", "year"]).any()
    pd.testing.assert_frame_equal(resumed, read_results(whole))


@pytest.mark.slow
def test_a_failing_point_is_a_failure_row_and_the_others_complete(tmp_path):
    design = _design(tmp_path, """
sampler = "grid"
seeds = 1
years = [2015]
[params]
talent_agents = [2000]
high_skill_share = [0.2, 0.9]
""")
    out = tmp_path / "out"
    run = xianghe("sweep", str(design), "--out", str(out), "--workers", "2", "--quiet")
    assert run.returncode == 0, run.stderr
    df = read_results(out).set_index("high_skill_share")
    assert df.loc[0.2, "status"] == "ok" and pd.isna(df.loc[0.2, "error"])
    assert df.loc[0.9, "status"] == "failed"
    assert "high_skill_share + skilled_share" in df.loc[0.9, "error"]
    assert pd.isna(df.loc[0.9, "firms_relocated"])


BAD_DESIGNS = {
    "unknown parameter": ('sampler = "grid"\n[params]\nno_such = [1]\n', "unknown parameter"),
    "empty list": ('sampler = "grid"\n[params]\nbus_lines = []\n', "non-empty list"),
    "empty range": ('sampler = "lhs"\n[params]\nbus_lines = { low = 5, high = 5 }\n',
                    "empty range"),
    "out of range": ('sampler = "lhs"\n[params]\nbus_lines = { low = 1, high = 999 }\n',
                     "bus_lines"),
    "unknown sampler": ('sampler = "halton"\n[params]\nbus_lines = [1]\n', "unknown sampler"),
    "list for lhs": ('sampler = "lhs"\n[params]\nbus_lines = [1, 2]\n', "needs a range"),
    "malformed": ('sampler = "grid"\n[params\n', "malformed TOML"),
    "bad years": ('years = [1900]\n[params]\nbus_lines = [1]\n', "years"),
    "morris integer steps": ('sampler = "morris"\n[params]\nbus_lines = { low = 4, high = 8 }'
                             '\nbeta_cost = { low = 5.0, high = 9.0 }\n', "3 equal steps"),
    "sampled point refused": ('sampler = "lhs"\nsamples = 8\n[params]\n'
                              'high_skill_share = { low = 0.1, high = 0.9 }\n'
                              'skilled_share = { low = 0.3, high = 0.6 }\n', "design point"),
}


@pytest.mark.parametrize("case", sorted(BAD_DESIGNS))
def test_bad_design_exits_2_with_one_line(case, tmp_path):
    text, needle = BAD_DESIGNS[case]
    out = tmp_path / "out"
    run = xianghe("sweep", str(_design(tmp_path, text)), "--out", str(out), "--quiet")
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], run.stderr
    assert not out.exists()


@pytest.mark.slow
def test_unreachable_scheduler_exits_2(tmp_path):
    out = tmp_path / "out"
    run = xianghe("sweep", str(_design(tmp_path, GRID)), "--out", str(out), "--scheduler",
                  f"tcp://127.0.0.1:{_free_port()}", "--quiet")
    assert run.returncode == 2 and "no Dask scheduler" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_folder_of_another_design_exits_2_and_keeps_its_results(local_sweep, tmp_path):
    _, out = local_sweep
    before = read_results(out)
    other = _design(tmp_path, GRID.replace("bus_lines = [4, 8]", "bus_lines = [5]"))
    run = xianghe("sweep", str(other), "--out", str(out), "--quiet")
    assert run.returncode == 2 and "different design" in run.stderr
    pd.testing.assert_frame_equal(read_results(out), before)


@pytest.mark.parametrize("sampler,size", [("lhs", 6), ("sobol", 4 * (2 + 2)),
                                          ("morris", 4 * (2 + 1))])
def test_samplers_give_reproducible_points_inside_the_ranges(tmp_path, sampler, size):
    design = load_design(_design(tmp_path, f"""
sampler = "{sampler}"
samples = {6 if sampler == "lhs" else 4}
[params]
bus_lines = {{ low = 2, high = 20 }}
beta_cost = {{ low = 5.0, high = 30.0 }}
"""))
    table = points(design)
    assert len(table) == size
    assert table["bus_lines"].between(2, 20).all() and table["beta_cost"].between(5, 30).all()
    assert table["bus_lines"].dtype.kind == "i"
    pd.testing.assert_frame_equal(table, points(design))


@pytest.mark.slow
def test_compare_pairs_seeds_and_reports_intervals(tmp_path):
    out = tmp_path / "cmp"
    run = xianghe("compare", "baseline", "commuting", "--replicates", "3", "--until", "2023",
                  "--set", "talent_agents=4000", "--json", "--quiet", "--out", str(out))
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    effects = {e["indicator"]: e for e in doc["effects"]}
    delay = effects["checkpoint_peak_delay_min"]
    assert delay["effect"] < 0 and delay["ci_high"] < 0
    # Firms weigh their staff's commute, so a cheaper crossing may move a signing from a
    # neighbour to Xianghe; each interval holds its effect.
    for e in doc["effects"]:
        if e["ci_low"] is not None:
            assert e["ci_low"] <= e["effect"] <= e["ci_high"], e["indicator"]
    assert (out / "effects.png").exists() and (out / "effects.svg").exists()


@pytest.mark.slow
def test_sensitivity_and_plots_from_a_morris_sweep(tmp_path):
    design = _design(tmp_path, """
sampler = "morris"
samples = 3
seeds = 1
years = [2016]
start_year = 2014
[params]
talent_agents = { low = 3000, high = 3600 }
checkpoint_lanes = { low = 21, high = 60 }
bus_lines = { low = 4, high = 16 }
""")
    out = tmp_path / "out"
    assert xianghe("sweep", str(design), "--out", str(out), "--quiet").returncode == 0
    run = xianghe("sensitivity", str(out), "--indicator", "checkpoint_peak_delay_min",
                  "--json")
    assert run.returncode == 0, run.stderr
    indices = {r["parameter"]: r for r in json.loads(run.stdout)["indices"]}
    assert indices["checkpoint_lanes"]["mu_star"] > indices["bus_lines"]["mu_star"]
    assert (out / "plots" / "sensitivity-checkpoint_peak_delay_min-2016.svg").exists()
    run = xianghe("plot", str(out), "--indicator", "car_share", "--by", "bus_lines",
                  "--heatmap", "checkpoint_lanes", "bus_lines")
    assert run.returncode == 0, run.stderr
    assert len(list((out / "plots").glob("*.png"))) == 3


def test_sensitivity_refuses_a_grid_sweep(local_sweep):
    _, out = local_sweep
    run = xianghe("sensitivity", str(out), "--indicator", "car_share")
    assert run.returncode == 2 and "sobol or morris" in run.stderr


def test_reordered_parameters_are_another_design(local_sweep, tmp_path):
    """The order of [params] orders the points, so it is part of what a folder holds."""
    _, out = local_sweep
    lines = GRID.splitlines()
    i, j = lines.index("bus_lines = [4, 8]"), lines.index("checkpoint_lanes = [30, 40]")
    lines[i], lines[j] = lines[j], lines[i]
    run = xianghe("sweep", str(_design(tmp_path, "\n".join(lines))), "--out", str(out),
                  "--quiet")
    assert run.returncode == 2 and "different design" in run.stderr


@pytest.mark.parametrize("case", ["scheduler", "manifest", "under a file", "heatmap"])
def test_more_bad_input_exits_2_and_writes_nothing(case, local_sweep, tmp_path):
    _, done = local_sweep
    design = str(_design(tmp_path, GRID))
    afile = tmp_path / "afile"
    afile.write_text("x")
    if case == "scheduler":
        args, needle = ["sweep", design, "--out", str(tmp_path / "o"), "--scheduler",
                        "nonsense://"], "no Dask scheduler"
    elif case == "manifest":
        broken = tmp_path / "broken"
        broken.mkdir()
        (broken / "manifest.json").write_text("{not json")
        args, needle = ["sensitivity", str(broken), "--indicator", "car_share"], "unreadable"
    elif case == "under a file":
        args, needle = ["sweep", design, "--out", str(afile / "sub")], "is a file"
    else:
        args, needle = ["plot", str(done), "--indicator", "car_share", "--heatmap",
                        "bus_lines", "bus_lines"], "two different"
    before = sorted(p.name for p in tmp_path.rglob("*"))
    run = xianghe(*args, "--quiet") if case in ("scheduler", "under a file") else xianghe(*args)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], run.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert not (done / "plots").exists() or case != "heatmap" or not list(
        (done / "plots").glob("lines-car_share*"))


def test_latin_hypercube_gives_integers_equal_shares(tmp_path):
    design = load_design(_design(tmp_path, """
sampler = "lhs"
samples = 400
[params]
bus_lines = { low = 0, high = 3 }
beta_cost = { low = 5.0, high = 30.0 }
"""))
    counts = points(design)["bus_lines"].value_counts()
    assert sorted(counts.index) == [0, 1, 2, 3] and (counts == 100).all()
