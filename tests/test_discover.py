"""Scenario discovery: a small discovery run for real, its cases recomputed from the stored
runs by plain pandas, PRIM finding a planted condition and claiming none in noise, a new aim
on the same runs, resumption after a kill, a Dask cluster, and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from runs import api
from runs import discover as discovery
from tests.helpers import kill_when_a_part_is_stored, xianghe

SMALL = {"talent_agents": 3000}
ARGS = {"measures": ["permits", "commuting"], "draws": 24, "seeds": 1, "until": 2023,
        "params": SMALL, "workers": 2}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("discovery") / "dv"
    first = api.discover(**ARGS, min_gain=0, out=out)
    return first, out


def _parts(out):
    return {p.name: p.stat().st_mtime_ns for p in (out / "runs" / "results").glob("*.parquet")}


def test_a_discovery_writes_its_document_tables_and_runs(small):
    d, out = small
    assert (out / "discovery.md").is_file() and (out / "manifest.json").is_file()
    for name in discovery.TABLES:
        assert (out / "tables" / f"{name}.csv").is_file(), name
    assert len(d.cases) == 24 and d.cases["draw"].nunique() == 24
    assert d.summary in (out / "discovery.md").read_text()


def test_every_case_is_the_paired_difference_of_the_stored_runs(small):
    d, out = small
    runs = pd.concat(pd.read_parquet(p) for p in (out / "runs" / "results").glob("*.parquet"))
    end = runs[runs["year"] == 2023].set_index(["point", "draw", "seed"])["projects_operating"]
    gain = (end.xs(1, level="point") - end.xs(0, level="point")).sort_index()
    mine = d.cases.set_index(["draw", "seed"])["gain"].sort_index()
    assert np.allclose(mine.to_numpy(), gain.to_numpy())
    assert (d.cases["fails"] == (d.cases["gain"] < 0)).all()


def test_another_aim_reads_the_same_runs_and_runs_nothing_again(small):
    d, out = small
    before = _parts(out)
    middle = float(d.cases["gain"].median())
    again = api.discover(**ARGS, min_gain=middle, out=out)
    assert _parts(out) == before
    assert (again.cases["fails"] == (again.cases["gain"] < middle)).all()
    assert 0 < again.cases["fails"].sum() < len(again.cases)
    assert len(again.trajectory) > 1 and again.trajectory["kept"].sum() <= 1
    assert (out / "figures" / "prim-tradeoff.png").is_file()
    for name in discovery.TABLES:
        assert pd.read_csv(out / "tables" / f"{name}.csv").shape[0] == len(getattr(again, name))


def _synthetic(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"draw": np.arange(n), "seed": 1,
                         "beta_cost": rng.uniform(5, 25, n),
                         "firm_pool": rng.uniform(3500, 12000, n),
                         "beta_commute": rng.uniform(1.5, 8, n)})


def test_prim_finds_a_planted_condition():
    table = _synthetic(300, 1)
    table["fails"] = (table["beta_cost"] > 18) & (table["firm_pool"] < 8000)
    traj, box = discovery.prim_boxes(table)
    assert traj["kept"].sum() == 1
    assert (box["box_coverage"] >= discovery.MIN_COVERAGE).all()
    assert (box["box_density"] > 0.8).all()
    limits = box.set_index("parameter")
    assert set(limits.index) == {"beta_cost", "firm_pool"}
    assert 16 < limits.loc["beta_cost", "low"] < 19
    assert 7000 < limits.loc["firm_pool", "high"] < 9000
    assert (box["qp_value"] < discovery.QP_SIGNIFICANT).all()
    leaves = discovery.cart_leaves(table)
    assert leaves["rule"].str.contains("beta_cost").any()


def test_prim_claims_no_box_in_noise():
    table = _synthetic(200, 2)
    table["fails"] = np.random.default_rng(3).random(200) < 0.4
    traj, box = discovery.prim_boxes(table)
    assert not traj["kept"].any() and box.empty


@pytest.mark.slow
def test_a_killed_discovery_resumes_without_redoing_finished_runs(tmp_path):
    out = tmp_path / "dv"
    args = ["discover", "--measures", "permits", "--draws", "6", "--seeds", "1", "--from",
            "2021", "--until", "2021", "--min-gain", "0", "--set", "talent_agents=3000",
            "--workers", "1", "--out", str(out), "--quiet"]
    results = out / "runs" / "results"
    kill_when_a_part_is_stored(args, results)
    kept = _parts(out)
    done = set(pd.concat(pd.read_parquet(results / n) for n in kept)["run_id"])
    assert 0 < len(done) < 12 and not (out / "discovery.md").exists()
    run = xianghe(*args)
    assert run.returncode == 0, run.stderr
    parts = _parts(out)
    assert all(parts.get(name) is not None for name in kept)
    stored = pd.concat(pd.read_parquet(p) for p in results.glob("*.parquet"))
    assert sorted(stored["run_id"].unique()) == list(range(12))
    assert not stored.duplicated(["run_id", "year"]).any()
    assert (out / "discovery.md").exists()


@pytest.mark.slow
def test_a_discovery_on_a_dask_cluster_has_the_cases_of_one_run_here(tmp_path, dask_cluster):
    args = {"measures": ["permits"], "draws": 4, "seeds": 1, "from_year": 2021,
            "until": 2021, "params": SMALL, "min_gain": 0}
    here = api.discover(**args, out=tmp_path / "here", workers=1)
    there = api.discover(**args, out=tmp_path / "dask", scheduler=dask_cluster)
    pd.testing.assert_frame_equal(here.cases, there.cases)


@pytest.mark.parametrize("args, message", [
    (["--space", "everywhere"], "--space 'everywhere': allowed: posterior, prior"),
    (["--min-gain", "nan"], "--min-gain nan: allowed"),
    (["--max-cost-per-job", "-5"], "--max-cost-per-job -5.0: allowed: a positive"),
    (["--draws", "1"], "--draws 1: allowed"),
    (["--measures", "teleport"], "--measures 'teleport': not a measure"),
    (["--space", "prior", "--posterior", "x.parquet"], "allowed only with --space posterior"),
    (["--until", "2101"], "--until 2101: allowed"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "dv"
    run = xianghe("discover", *args, "--out", str(out), timeout=120)
    assert run.returncode == 2, run.stderr
    assert run.stderr.count("\n") == 1 and message in run.stderr, run.stderr
    assert not out.exists()


def test_a_discoverys_folder_is_not_taken_for_a_report(small, tmp_path):
    _d, out = small
    run = xianghe("report", "--out", str(out), timeout=120)
    assert run.returncode == 2 and "holds the output of `xianghe discover`" in run.stderr


def test_the_same_arguments_write_the_same_tables(small):
    d, out = small
    middle = float(d.cases["gain"].median())
    api.discover(**ARGS, min_gain=middle, out=out)
    first = {n: (out / "tables" / f"{n}.csv").read_bytes() for n in discovery.TABLES}
    api.discover(**ARGS, min_gain=middle, out=out)
    for name in discovery.TABLES:
        assert (out / "tables" / f"{name}.csv").read_bytes() == first[name], name


def test_the_tables_do_not_depend_on_pythons_string_hashing():
    """EMA Workbench orders a box's parameters by set iteration, which follows the string
    hashing that Python seeds anew in each process: processes with other hash seeds must
    write the same box and leaves (on the example report's 400 cases, whose leaves
    restrict up to five parameters)."""
    import os
    import subprocess
    import sys

    from tests.helpers import ROOT

    cases = ROOT / "docs" / "report" / "tables" / "robustness_1_cases.csv"
    code = ("import sys, pandas as pd; from runs import discover as dv; "
            "t = pd.read_csv(sys.argv[1]); "
            "print(dv.cart_leaves(t).to_csv(index=False)); "
            "print(dv.prim_boxes(t)[1].to_csv(index=False))")
    outputs = set()
    for seed in ("1", "2", "3", "4"):
        run = subprocess.run([sys.executable, "-c", code, str(cases)], cwd=ROOT,
                             capture_output=True, text=True, timeout=300,
                             env={**os.environ, "PYTHONHASHSEED": seed})
        assert run.returncode == 0, run.stderr
        outputs.add(run.stdout)
    assert len(outputs) == 1
