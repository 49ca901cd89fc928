"""The command line keeps to its contract (docs/commands.md): output shape, options, exit status 2 on bad input."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from model import NAMES, PARAMS
from runs.scenario import available

CONTRACT_INDICATORS = (
    "firms_relocated", "firms_operating", "firms_left_again", "land_blocked_projects",
    "pipeline_projects", "mean_signed_investment_yuan", "months_sign_to_production",
    "relocated_revenue_yuan", "relocated_tax_yuan", "market_merchants",
    "relocated_workers_employed", "high_skill_to_beijing", "high_skill_to_xianghe",
    "cross_border_daily_persons", "commuter_share", "car_share", "checkpoint_peak_delay_min",
    "checkpoint_event_delay_min", "development_intensity", "industrial_land_price_yuan_m2",
    "public_spending_yuan", "projects_failed", "projects_waiting_for_land",
    "worker_surplus_yuan", "firm_surplus_yuan",
)
# Indicators that are null where there is nothing to measure (events, ratios).
EVENTS = ("mean_signed_investment_yuan", "months_sign_to_production",
          "xianghe_share_of_area_signings")
SHARE_EVENTS = ("xianghe_share_of_area_signings",)     # a share: 0 when Xianghe signs none


def xianghe(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "runs.cli", *args], capture_output=True,
                          text=True, cwd=cwd or Path(__file__).resolve().parents[1],
                          timeout=600)


def test_run_json_prints_every_contract_indicator():
    out = xianghe("run", "--json", "--quiet", "--set", "talent_agents=5000")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert set(doc) == {"scenario", "seed", "until", "replicates", "draws", "levers",
                        "indicators", "per_seed"}
    assert doc["levers"] == {}
    assert doc["draws"] is None
    assert (doc["scenario"], doc["seed"], doc["until"], doc["replicates"]) == (
        "baseline", 1, 2020, 1)
    assert set(CONTRACT_INDICATORS) <= set(doc["indicators"])
    # An indicator with nothing to measure is null, never 0; the others are numbers.
    assert all(math.isfinite(v) for k, v in doc["indicators"].items() if k not in EVENTS)
    assert all(v is None or v > 0 or (k in SHARE_EVENTS and v == 0)
               for k, v in doc["indicators"].items() if k in EVENTS)
    assert doc["per_seed"] == [doc["indicators"]]


def test_a_lever_set_on_its_own_starts_in_2022_and_says_so():
    """The README's own example changes nothing up to 2021 and says, in one line, that its
    lever starts after the run; --from 2014 asks for the counterfactual history."""
    base = xianghe("run", "--json", "--quiet")
    late = xianghe("run", "--set", "investment_subsidy_rate=0.1", "--json", "--quiet")
    early = xianghe("run", "--set", "investment_subsidy_rate=0.1", "--from", "2014", "--json",
                    "--quiet")
    assert base.returncode == late.returncode == early.returncode == 0, late.stderr
    base, doc, history = (json.loads(r.stdout) for r in (base, late, early))
    assert doc["indicators"] == base["indicators"]
    assert doc["levers"] == {"investment_subsidy_rate": {"value": 0.1, "from": 2022}}
    lines = late.stderr.strip().splitlines()
    assert len(lines) == 1 and "investment_subsidy_rate starts in 2022, after the run ends" \
        in lines[0], late.stderr
    assert history["levers"]["investment_subsidy_rate"]["from"] == 2014
    assert history["indicators"]["firms_operating"] != base["indicators"]["firms_operating"]
    assert early.stderr == ""


def test_replicates_until_and_set():
    out = xianghe("run", "commuting", "--json", "--quiet", "--until", "2023", "--replicates",
                  "2", "--seed", "7", "--set", "talent_agents=4000", "--set", "bus_lines=9")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["until"] == 2023 and doc["seed"] == 7 and len(doc["per_seed"]) == 2
    for name in NAMES:
        if name in EVENTS:      # they pool the events (or flows) of both seeds instead
            continue
        mean = (doc["per_seed"][0][name] + doc["per_seed"][1][name]) / 2
        assert doc["indicators"][name] == pytest.approx(mean)


@pytest.mark.slow
def test_same_seed_gives_identical_json():
    args = ("run", "--json", "--quiet", "--set", "talent_agents=5000", "--seed", "3")
    assert xianghe(*args).stdout == xianghe(*args).stdout


@pytest.mark.slow
def test_replicates_equal_single_runs():
    """A seed gives the same numbers whether it runs alone or among replicates."""
    both = json.loads(xianghe("run", "--json", "--quiet", "--replicates", "2", "--seed", "4",
                              "--set", "talent_agents=3000").stdout)
    alone = json.loads(xianghe("run", "--json", "--quiet", "--seed", "5",
                               "--set", "talent_agents=3000").stdout)
    assert both["per_seed"][1] == alone["indicators"]


@pytest.mark.slow
def test_out_writes_tables_plot_and_manifest(tmp_path):
    out = tmp_path / "result"
    run = xianghe("run", "--quiet", "--replicates", "2", "--out", str(out), "--set",
                  "talent_agents=3000")
    assert run.returncode == 0, run.stderr
    quarterly = pd.read_parquet(out / "quarterly.parquet")
    assert set(quarterly.columns) == {"seed", "year", "quarter", "indicator", "value", "unit"}
    assert len(quarterly) == 2 * 28 * len(NAMES)
    assert pd.read_csv(out / "quarterly.csv").shape == quarterly.shape
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seeds"] == [1, 2]
    assert manifest["parameters"]["talent_agents"] == 3000
    assert set(manifest["parameters"]) == set(PARAMS)
    assert {"package_version", "git_revision", "seconds"} <= set(manifest)
    assert (out / "indicators.png").stat().st_size > 10_000
    assert (out / "new-stage.png").stat().st_size > 10_000
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_scenarios_and_params_lists():
    scenarios = xianghe("scenarios").stdout.splitlines()
    assert [line.split()[0] for line in scenarios] == [p.stem for p in available()]
    assert {"baseline", "permits", "subsidies", "land", "talent", "commuting",
            "report-package"} <= {line.split()[0] for line in scenarios}
    listed = [line.split()[0] for line in xianghe("params").stdout.splitlines()]
    assert listed == list(PARAMS)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


BAD_INPUTS = {
    "unknown scenario": (["run", "no-such-scenario"], "unknown scenario"),
    "unknown parameter": (["run", "--set", "no_such=1"], "unknown parameter 'no_such'"),
    "wrong type": (["run", "--set", "bus_lines=many"], "bus_lines"),
    "not an integer": (["run", "--set", "bus_lines=2.5"], "bus_lines"),
    "out of range": (["run", "--set", "investment_subsidy_rate=0.9"],
                     "investment_subsidy_rate"),
    "nan": (["run", "--set", "beta_cost=nan"], "beta_cost"),
    "bad bool": (["run", "--set", "permit_devolution=maybe"], "permit_devolution"),
    "no equals": (["run", "--set", "bus_lines"], "NAME=VALUE"),
    "bad year": (["run", "--until", "1990"], "--until"),
    "bad replicates": (["run", "--replicates", "0"], "--replicates"),
    "unknown option": (["run", "--frobnicate"], "--frobnicate"),
    "skill shares": (["run", "--set", "high_skill_share=0.7", "--set", "skilled_share=0.5"],
                     "skilled_share"),
    "permit days": (["run", "--set", "entry_permits_per_year=60", "--set",
                     "entry_permit_days=7"], "at most 366 days"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_exits_2_with_one_line(case, tmp_path):
    args, needle = BAD_INPUTS[case]
    out = tmp_path / "out"
    run = xianghe(*args, "--out", str(out), "--quiet")
    assert run.returncode == 2
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], run.stderr
    assert not out.exists()


FILE_CASES = {
    "malformed": ("bad.toml", 'name = "x"\n[params\n', "malformed TOML"),
    "string value": ("str.toml", '[params]\nbus_lines = "ten"\n', "bus_lines"),
    "nan value": ("nan.toml", "[params]\nbeta_cost = nan\n", "beta_cost"),
    "unknown key": ("key.toml", 'nmae = "x"\n', "unknown key"),
    "unknown param": ("par.toml", "[params]\nfoo = 1\n", "unknown parameter"),
    "extends itself": ("self.toml", 'extends = "SELF"\n', "extends itself"),
    "start year": ("start.toml", "start_year = 1990\n[params]\nbus_lines = 9\n", "start_year"),
    "extends a number": ("ext.toml", "extends = [1]\n", "extends"),
}


@pytest.mark.parametrize("case", sorted(FILE_CASES))
def test_bad_scenario_file_exits_2(case, tmp_path):
    name, text, needle = FILE_CASES[case]
    path = _write(tmp_path, name, text.replace("SELF", str(tmp_path / name)))
    out = tmp_path / "out"
    run = xianghe("run", str(path), "--out", str(out), "--quiet")
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], run.stderr
    assert not out.exists()


def test_scenario_loop_through_two_files(tmp_path):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text(f'extends = "{b}"\n')
    b.write_text(f'extends = "{a}"\n')
    run = xianghe("run", str(a), "--quiet")
    assert run.returncode == 2 and "extends itself" in run.stderr


def test_scenario_extends_and_overrides(tmp_path):
    path = _write(tmp_path, "mine.toml",
                  'name = "mine"\ndescription = "d"\nextends = "commuting"\n'
                  "[params]\ntalent_agents = 3000\nbus_lines = 20\n")
    from runs.scenario import load
    sc = load(str(path))
    assert sc.params["bus_lines"] == 20 and sc.params["checkpoint_lanes"] == 48
    assert sc.params["talent_agents"] == 3000


def test_scenarios_compose_in_order_with_one_start_year(tmp_path):
    from runs.scenario import load

    path = _write(tmp_path, "both.toml",
                  'extends = ["subsidies", "commuting"]\nstart_year = 2025\n'
                  "[params]\nbus_lines = 30\ninvestment_subsidy_rate = 0.2\n"
                  "investment_subsidy_rate_start_year = 2023\n")
    sc = load(str(path))
    assert sc.params["bus_lines"] == 30 and sc.params["bus_lines_start_year"] == 2025
    assert sc.params["checkpoint_lanes"] == 48                       # from commuting
    assert sc.params["checkpoint_lanes_start_year"] == 2022          # its own start year
    assert sc.params["investment_subsidy_rate_start_year"] == 2023   # the lever's own wins
    assert sc.params["incubator_fund_yuan"] == 1e8                   # from subsidies
    mine = _write(tmp_path, "mine.toml", "[params]\nbus_lines = 3\n")
    later = _write(tmp_path, "later.toml", f'extends = ["commuting", "{mine}"]\n')
    assert load(str(later)).params["bus_lines"] == 3                 # a later parent wins
    earlier = _write(tmp_path, "earlier.toml", f'extends = ["{mine}", "commuting"]\n')
    assert load(str(earlier)).params["bus_lines"] == 12


def test_report_package_is_the_composition_of_the_measures():
    from runs.scenario import load

    measures = ("targeting", "permits", "land", "subsidies", "talent", "commuting",
                "coordination")
    composed = {}
    for name in measures:
        composed.update(load(name).params)
    assert load("report-package").params == composed


def test_elasticities_prints_each_measure_beside_the_literature():
    run = xianghe("elasticities", "--seeds", "1", "--measures", "permits,subsidies", "--set",
                  "talent_agents=5000", "--json", "--quiet")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert [r["measure"] for r in out["measures"]] == ["permits", "subsidies"]
    assert {"elasticity", "additionality", "cost_per_job_yuan"} <= set(out["literature"])
    subsidies = out["measures"][1]
    assert subsidies["public_cost_yuan"] > 0 and subsidies["cost_change_share"] < 0
    assert subsidies["elasticity_in_range"] in (True, False, None)
    # the new projects' elasticities to each county's land price and wages, negative (a
    # dearer county draws fewer) and beside the new-plant literature
    new = out["new_projects"]
    assert set(new["literature"]) == {"land", "labour"}
    rows = {(r["county"], r["factor"]): r for r in new["elasticities"]}
    assert set(rows) == {(c, f) for c in ("tongzhou", "xianghe", "sanhe", "dachang")
                         for f in ("land", "labour")}
    assert all(r["elasticity"] < 0 and r["in_range"] in (True, False) for r in rows.values())
    text = xianghe("elasticities", "--seeds", "1", "--measures", "permits", "--set",
                   "talent_agents=5000", "--quiet")
    assert text.returncode == 0 and "Bartik" in text.stdout and "permits" in text.stdout
    assert "Guimaraes, Figueiredo & Woodward" in text.stdout


def test_elasticities_over_draws_give_each_measures_predictive_range():
    args = ("elasticities", "--seeds", "1", "--draws", "2", "--measures", "permits,subsidies",
            "--set", "talent_agents=5000", "--json", "--quiet")
    run = xianghe(*args)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    rows = out["draws"]
    assert [(r["draw"], r["measure"]) for r in rows] == [
        (d, m) for d in range(2) for m in ("permits", "subsidies")]
    # each draw is a parameter vector of its own (the lever strengths among them), recorded
    assert len({json.dumps(p, sort_keys=True) for p in out["parameters"]}) == 2
    assert all("beta_cost" in p for p in out["parameters"])
    summary = {(r["measure"], r["magnitude"]): r for r in out["predictive"]}
    additionality = summary["subsidies", "additionality"]
    values = sorted(r["additionality"] for r in rows if r["measure"] == "subsidies"
                    and r["additionality"] is not None)
    assert additionality["draws"] == len(values)
    if values:
        assert values[0] <= additionality["median"] <= values[-1]
        assert additionality["share_in_range"] == pytest.approx(
            sum(0.02 <= v <= 0.25 for v in values) / len(values))
    assert xianghe(*args).stdout == run.stdout          # the same draws, the same numbers
    text = xianghe(*args[:-2], "--quiet")
    assert text.returncode == 0 and "5-95 % of the draws" in text.stdout


def test_elasticities_over_the_lever_priors_draw_the_strengths_and_keep_the_fit():
    """``--prior-draws``: the lever strengths and the measures' own parameters vary over
    the draws; the parameters the figures fix are not drawn (they stay at the point)."""
    from calibration import estimation

    run = xianghe("elasticities", "--seeds", "1", "--prior-draws", "2", "--measures",
                  "subsidies", "--set", "talent_agents=5000", "--json", "--quiet")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["over"] == "prior" and len(out["parameters"]) == 2
    a, b = out["parameters"]
    fitted = set(estimation.screened()["estimated"]) | set(estimation.screened()["held"])
    assert set(estimation.LEVER_STRENGTHS) <= set(a) and not fitted & set(a)
    assert all(a[n] != b[n] for n in estimation.LEVER_STRENGTHS)
    assert {r["measure"] for r in out["predictive"]} == {"subsidies"}


@pytest.mark.parametrize("args, needle", [
    (["--measures", "nope"], "--measures 'nope'"),
    (["--seeds", "0"], "--seeds"),
    (["--draws", "0"], "--draws"),
    (["--prior-draws", "0"], "--prior-draws"),
    (["--prior-draws", "2", "--draws", "2"], "not both"),
    (["--set", "no_such=1"], "no_such"),
])
def test_elasticities_bad_input_exits_2(args, needle):
    run = xianghe("elasticities", *args, "--quiet")
    assert run.returncode == 2 and run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], run.stderr


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is not on the PATH")
def test_uv_run_answers_without_a_word_on_stderr():
    """The README's form, `uv run xianghe --help`, adds nothing to stderr: uv has nothing
    to compile or install on every call (`compile-bytecode = true` made it compile 10,000
    files and say so each time)."""
    root = Path(__file__).resolve().parents[1]
    for dont_write in ("1", ""):
        out = subprocess.run(["uv", "run", "xianghe", "--help"], capture_output=True,
                             text=True, cwd=root, timeout=120,
                             env={**os.environ, "PYTHONDONTWRITEBYTECODE": dont_write})
        assert out.returncode == 0 and out.stdout.startswith("usage: xianghe")
        assert out.stderr == ""


def test_a_missing_bytecode_cache_is_named_with_its_cure(monkeypatch, capsys):
    """Where Python may not write bytecode and the libraries have none, a simulating
    command says so in one line (it would otherwise spend seconds compiling, silently)."""
    import importlib.util

    from runs import cli

    monkeypatch.setattr(importlib.util, "cache_from_source", lambda path: "/nonexistent.pyc")
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    cli._bytecode_note()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "uv sync --compile-bytecode" in err
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    cli._bytecode_note()
    assert capsys.readouterr().err == ""
