"""`runs.api`, the interface for scripted experiments: the command line is a layer over it,
so both give the same numbers and refuse the same input with the same line."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pandas as pd
import pytest

from runs import api
from runs.scenario import load
from tests.helpers import GRID, ROOT, xianghe

SMALL = {"talent_agents": 3000}


def test_run_gives_a_row_per_seed_and_year_and_the_numbers_the_command_prints():
    df = api.run("baseline", seed=3, replicates=2, until=2017, params=SMALL)
    assert isinstance(df, pd.DataFrame)
    assert sorted(df["seed"].unique()) == [3, 4]
    assert sorted(df["year"].unique()) == [2014, 2015, 2016, 2017]
    assert len(df) == 8
    out = json.loads(xianghe("run", "--json", "--quiet", "--seed", "3", "--replicates", "2",
                             "--until", "2017", "--set", "talent_agents=3000").stdout)
    last = df[df["year"] == 2017].sort_values("seed")
    for name in ("firms_relocated", "cross_border_daily_persons", "market_merchants"):
        assert [s[name] for s in out["per_seed"]] == pytest.approx(last[name].tolist())


def test_params_act_like_set():
    with_rate = api.run("baseline", until=2016, params={**SMALL, "checkpoint_lanes": 60},
                        start_year=2014)
    by_text = api.run("baseline", until=2016, params={**SMALL, "checkpoint_lanes": "60"},
                      start_year=2014)
    plain = api.run("baseline", until=2016, params=SMALL)
    pd.testing.assert_frame_equal(with_rate, by_text)
    assert not with_rate["checkpoint_peak_delay_min"].equals(plain["checkpoint_peak_delay_min"])
    assert with_rate.attrs["levers"] == {"checkpoint_lanes": {"value": 60, "from": 2014}}


def test_a_lever_set_on_its_own_starts_in_the_policy_year():
    """`params` changes 2022 on, not the history the model is fitted to, and says so; the
    counterfactual history is asked for with start_year."""
    subsidy = {**SMALL, "investment_subsidy_rate": 0.2}
    plain = api.run("baseline", until=2021, params=SMALL)
    with pytest.warns(api.LeverNotInForce, match="investment_subsidy_rate starts in 2022"):
        late = api.run("baseline", until=2021, params=subsidy)
    pd.testing.assert_frame_equal(late, plain, check_exact=True)
    assert late.attrs["levers"] == {"investment_subsidy_rate": {"value": 0.2, "from": 2022}}
    history = api.run("baseline", until=2021, params=subsidy, start_year=2014)
    assert not history["firms_relocated"].equals(plain["firms_relocated"])
    later = api.run("baseline", until=2024, params=subsidy)
    assert not later["firms_relocated"].equals(
        api.run("baseline", until=2024, params=SMALL)["firms_relocated"])


def test_compare_gives_a_row_per_indicator_as_the_command_does(tmp_path):
    eff = api.compare("baseline", "commuting", replicates=2, until=2023, params=SMALL,
                      workers=1, out=tmp_path / "cmp")
    assert {"indicator", "a", "b", "effect", "se", "ci_low", "ci_high"} <= set(eff.columns)
    assert eff["indicator"].is_unique
    assert {"effects.csv", "runs.parquet", "effects.png", "manifest.json"} <= {
        p.name for p in (tmp_path / "cmp").iterdir()}
    manifest = json.loads((tmp_path / "cmp" / "manifest.json").read_text())
    assert manifest["levers"]["b"]["checkpoint_lanes"] == {"value": 48, "from": 2022}
    assert manifest["interval"]["holds"] == "seeds" and manifest["seeds"] == [1, 2]
    out = json.loads(xianghe("compare", "baseline", "commuting", "--replicates", "2",
                             "--until", "2023", "--set", "talent_agents=3000", "--workers",
                             "1", "--json", "--quiet").stdout)
    printed = [float("nan") if e["effect"] is None else e["effect"] for e in out["effects"]]
    assert printed == pytest.approx(eff["effect"].tolist(), nan_ok=True)
    assert out["interval"]["holds"] == "seeds" and "seed noise only" in out["interval"]["says"]
    assert out["levers"]["b"]["checkpoint_lanes"] == {"value": 48, "from": 2022}


def test_a_comparison_shows_b_minus_a_units_and_what_its_interval_holds():
    """B - A equals the difference of the means shown, event indicators included (over the
    pairs where both sides had an event, counted in `pairs`); the runs carry the
    scenarios' names."""
    result = api.comparison("baseline", "subsidies", replicates=3, until=2023, params=SMALL,
                            workers=1)
    eff = result.effects.set_index("indicator")
    shown = eff[(eff["pairs"] > 0) & eff["a"].notna()]
    assert shown["effect"].to_numpy() == pytest.approx((shown["b"] - shown["a"]).to_numpy(),
                                                       rel=1e-9, abs=1e-6)
    # A quantity of the pair alone, with no value on either side: what B took from the
    # neighbours.
    diverted = eff.loc["projects_diverted_from_neighbours"]
    assert pd.isna(diverted["a"]) and pd.isna(diverted["b"])
    assert diverted["effect"] == pytest.approx(-eff.loc["neighbours_projects_signed", "effect"])
    assert (eff["pairs"] <= 3).all() and (eff.drop(["mean_signed_investment_yuan",
                                                    "months_sign_to_production"])["pairs"] == 3).all()
    assert eff.loc["firms_relocated", "unit"] == "firms"
    assert (eff["interval_holds"] == "seeds").all()
    assert eff.attrs["levers"]["b"]["investment_subsidy_rate"] == {"value": 0.1, "from": 2022}
    assert set(result.runs["scenario"]) == {"baseline", "subsidies"}
    assert set(result.runs["side"]) == {"a", "b"}


def test_a_measure_defined_in_code_is_the_scenario_file_it_repeats():
    permits = api.scenario("permits-in-code",
                           {"permit_devolution": True, "commitment_system": True},
                           start_year=2022)
    assert permits.params == load("permits").params
    assert permits.params["permit_devolution_start_year"] == 2022


def test_sweep_returns_the_results_table(tmp_path):
    design = tmp_path / "grid.toml"
    design.write_text(GRID)
    df = api.sweep(design, out=tmp_path / "grid", workers=1)
    assert len(df) == 4 * 2 * 2                 # points x seeds x years
    assert (df["status"] == "ok").all()
    pd.testing.assert_frame_equal(df, api.sweep(design, out=tmp_path / "grid", workers=1))


def _cli_line(*args: str) -> str:
    run = xianghe(*args)
    assert run.returncode == 2, run.stderr
    return run.stderr.strip().removeprefix("xianghe: error: ")


@pytest.mark.parametrize("call, args", [
    (lambda: api.run("baseline", until=1990), ("run", "--until", "1990")),
    (lambda: api.run("nosuch"), ("run", "nosuch")),
    (lambda: api.run("baseline", params={"investment_subsidy_rate": 7.0}),
     ("run", "--set", "investment_subsidy_rate=7")),
    (lambda: api.run("baseline", params={"no_such_parameter": 1}),
     ("run", "--set", "no_such_parameter=1")),
    (lambda: api.compare("baseline", "permits", replicates=1),
     ("compare", "baseline", "permits", "--replicates", "1")),
    (lambda: api.run("baseline", draws=2, posterior="/nonexistent/posterior.parquet"),
     ("run", "--draws", "2", "--posterior", "/nonexistent/posterior.parquet")),
    (lambda: api.run("baseline", workers=0), ("run", "--workers", "0")),
])
def test_bad_input_raises_the_line_the_command_prints(call, args):
    with pytest.raises(api.InputError) as err:
        call()
    assert isinstance(err.value, ValueError)
    assert "\n" not in str(err.value)
    assert str(err.value) == _cli_line(*args)


def test_an_unwritable_folder_is_refused_before_anything_runs(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(api.InputError):
        api.run("baseline", params=SMALL, out=blocker / "out")
    assert blocker.read_text() == "x"


@pytest.mark.parametrize("script, args, written", [
    ("custom_measure.py", ["--replicates", "2", "--until", "2023"],
     ["fast-track.csv", "against-baseline/effects.csv", "against-permits/effects.csv"]),
    ("subsidy_frontier.py", ["--replicates", "2", "--until", "2023", "--rates", "0.1,0.3"],
     ["frontier.csv", "frontier-per-seed.csv", "frontier.png"]),
])
def test_the_examples_run(tmp_path, script, args, written):
    run = subprocess.run([sys.executable, str(ROOT / "runs" / "examples" / script), *args,
                          "--talent-agents", "3000", "--workers", "1", "--out",
                          str(tmp_path / "out")], capture_output=True, text=True, cwd=tmp_path,
                         timeout=600)
    assert run.returncode == 0, run.stderr
    for name in written:
        assert (tmp_path / "out" / name).exists(), name


def test_the_model_package_lists_what_it_promises():
    """Tab completion and tools that look for a Mesa model by listing the package find it,
    though the package loads it only on first use."""
    import mesa

    import model

    assert set(model.__all__) <= set(dir(model))
    found = [getattr(model, name) for name in dir(model) if not name.startswith("_")]
    assert any(isinstance(x, type) and issubclass(x, mesa.Model) for x in found)


PLAIN_SCRIPT = """
from runs import api
eff = api.compare("baseline", "commuting", replicates=2, until=2016, workers=2,
                  params={"talent_agents": 3000})
rows = api.run("baseline", replicates=2, until=2015, workers=2, params={"talent_agents": 3000})
print(len(eff), len(rows))
"""


@pytest.mark.parametrize("how", ["file", "stdin"])
def test_a_script_without_a_main_guard_runs_on_several_workers(tmp_path, how):
    """A plain script (no ``if __name__ == "__main__":``) and the same fed on stdin use
    two worker processes; the workers never run the script again."""
    script = tmp_path / "plain.py"
    script.write_text(PLAIN_SCRIPT)
    command = [sys.executable, str(script)] if how == "file" else [sys.executable, "-"]
    run = subprocess.run(command, input=None if how == "file" else PLAIN_SCRIPT,
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stderr
    from model import NAMES

    assert run.stdout.split() == [str(len(NAMES) + 1), "4"]    # and the diverted row


def test_a_worker_that_dies_fails_its_task_with_a_line_not_a_hang():
    from runs.pool import WorkerDied, WorkerPool

    with WorkerPool(2) as pool:
        assert list(pool.map(abs, [-1, -2, 3])) == [1, 2, 3]
        with pytest.raises(ZeroDivisionError):          # a task's error comes back as such
            pool.submit(divmod, 1, 0).result(timeout=60)
        with pytest.raises(WorkerDied, match="ended while running a task"):
            pool.submit(_kill_self).result(timeout=60)
        with pytest.raises(WorkerDied):                 # a broken pool takes nothing more
            pool.submit(abs, -1).result(timeout=60)


def test_a_task_the_worker_cannot_load_comes_back_as_an_error_and_the_pool_goes_on():
    from runs.pool import WorkerPool

    with WorkerPool(1) as pool:
        with pytest.raises((AttributeError, ModuleNotFoundError, ImportError)):
            pool.submit(_Unloadable()).result(timeout=60)
        assert pool.submit(abs, -4).result(timeout=60) == 4


def test_shutdown_without_waiting_still_runs_what_was_queued():
    from runs.pool import WorkerPool

    pool = WorkerPool(1)
    futures = [pool.submit(abs, -i) for i in range(5)]
    pool.shutdown(wait=False)
    assert [f.result(timeout=60) for f in futures] == [0, 1, 2, 3, 4]


def test_an_experiments_pool_is_kept_for_the_next_unless_it_was_interrupted():
    from runs.pool import release, shared

    first = shared(2)
    release(first)
    again = shared(2)
    assert again is first and again.submit(abs, -1).result(timeout=60) == 1
    other = shared(2)                   # while one experiment holds it, another gets its own
    assert other is not again
    release(other)
    release(again)
    interrupted = shared(2)
    interrupted.submit(time.sleep, 30)
    release(interrupted)                # a task still running: its workers are stopped
    assert shared(2) is not interrupted


class _Unloadable:
    """Pickles by a reference the worker cannot resolve."""

    def __reduce__(self):
        import importlib

        return (importlib.import_module, ("no_such_module_anywhere",))

    def __call__(self):
        return None


def _kill_self():
    import os
    import signal

    os.kill(os.getpid(), signal.SIGKILL)


def test_a_ratio_row_is_the_ratio_of_sums_not_the_mean_of_ratios():
    """Xianghe's share of the area's signings over seeds is its signings over theirs
    (docs/indicators.md): on side B 20 of 30, 0.667, where the mean of the per-seed
    ratios (0.8 and 0.6) would be 0.7."""
    from runs.analysis import paired_effects

    cols = ["firms_signed", "area_projects_signed", "xianghe_share_of_area_signings"]
    a = pd.DataFrame({"seed": [1, 2], "firms_signed": [1.0, 10.0],
                      "area_projects_signed": [10.0, 10.0]})
    b = pd.DataFrame({"seed": [1, 2], "firms_signed": [8.0, 12.0],
                      "area_projects_signed": [10.0, 20.0]})
    for df in (a, b):
        df["xianghe_share_of_area_signings"] = df["firms_signed"] / df["area_projects_signed"]
    row = paired_effects(a, b, columns=cols).set_index("indicator").loc[
        "xianghe_share_of_area_signings"]
    assert row["a"] == pytest.approx(11 / 20) and row["b"] == pytest.approx(20 / 30)
    assert row["effect"] == pytest.approx(20 / 30 - 11 / 20)
    assert row["ci_low"] <= row["effect"] <= row["ci_high"]
