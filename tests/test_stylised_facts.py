"""The stylised facts of the county's report emerge in the baseline, and 2020 is within a factor of two
of every calibration target."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from calibration import load_targets


@pytest.fixture(scope="module")
def annual(baseline_runs) -> pd.DataFrame:
    """Mean over seeds, one row a year."""
    return baseline_runs.annual.drop(columns="seed").groupby("year").mean()


def test_relocations_per_year_fall_after_the_first_years(annual):
    signed = annual["relocations_signed"]
    assert signed.loc[2015:2016].mean() > 1.5 * signed.loc[2019:2020].mean()


def test_lack_of_land_blocks_some_projects_by_2020(annual):
    assert annual.loc[2020, "land_blocked_projects"] > 0


@pytest.mark.xfail(strict=True, reason="not reproduced: from the 2014 equilibrium the "
                   "high-skill flows between Xianghe and Beijing-side jobs balance; the "
                   "reverse flow came from the drift of a start away from equilibrium "
                   "(docs/odd.md, patterns)")
def test_more_high_skill_leave_xianghe_jobs_for_beijing_than_the_reverse(annual):
    assert annual["high_skill_to_beijing"].sum() > annual["high_skill_to_xianghe"].sum()


def test_most_cross_border_commuters_drive(annual):
    assert annual.loc[2020, "car_share"] > 0.5


def test_event_days_are_far_slower_than_normal_days(annual):
    assert (annual["checkpoint_event_delay_min"] > 2 * annual["checkpoint_peak_delay_min"]).all()


def test_construction_land_never_exceeds_the_cap(annual):
    assert (annual["development_intensity"] <= 0.309 + 1e-12).all()


@pytest.mark.parametrize("target", load_targets(), ids=lambda t: t.key)
def test_baseline_within_a_factor_of_two_of_each_target(baseline_runs, target):
    from runs.experiments import run_scenario

    runs = (baseline_runs if target.year <= 2020
            else run_scenario({}, 1, 3, target.year, progress=False))
    figure = target.by_run(runs.annual, ["seed"]).mean()
    assert target.value / 2 <= figure <= target.value * 2, (
        f"{target.key}: {figure:.4g} against {target.value:.4g}")


def test_all_indicators_finite_but_events_in_years_without_any(baseline_runs):
    from model.indicators import NULLABLE, RATIOS

    annual = baseline_runs.annual
    assert np.isfinite(annual.drop(columns=list(NULLABLE)).to_numpy(dtype=float)).all()
    assert np.isfinite(baseline_runs.quarterly.drop(columns=list(NULLABLE)).to_numpy(float)).all()
    for name, (num, den) in RATIOS.items():     # null exactly where the denominator is 0
        for frame in (annual, baseline_runs.quarterly):
            assert (frame[name].isna() == (frame[den] == 0)).all(), name
    events = baseline_runs.events.set_index(["seed", "year"])
    for name, count in [("mean_signed_investment_yuan", events["signed_projects"]),
                        ("months_sign_to_production", events["production_months"].map(len))]:
        values = annual.set_index(["seed", "year"])[name]
        assert (values.isna() == (count == 0)).all(), name     # null exactly where none


def test_event_indicators_pool_the_events_of_all_seeds(baseline_runs):
    mean, per_seed = baseline_runs.indicators(2018)
    events = baseline_runs.events[baseline_runs.events["year"] == 2018]
    months = np.concatenate([np.asarray(m, float) for m in events["production_months"]])
    assert mean["months_sign_to_production"] == pytest.approx(np.median(months))
    assert mean["mean_signed_investment_yuan"] == pytest.approx(
        events["signed_investment_yuan"].sum() / events["signed_projects"].sum())


def test_relocated_firms_got_land_and_failed_projects_are_counted_apart(annual):
    assert (annual["projects_failed"] > 0).any()
    assert (annual["firms_relocated"] >= annual["firms_operating"]
            + annual["firms_left_again"]).all()


def test_indicators_are_in_real_units_whatever_the_scale(annual):
    """A quarter of the agents, each standing for more firms and people, tells the same story."""
    from runs.experiments import run_scenario

    small, _ = run_scenario({"talent_agents": 12_500}, 1, 4, 2020, progress=False).indicators(2020)
    full = annual.loc[2020]
    for name, tolerance in [("firms_relocated", 0.3), ("relocated_revenue_yuan", 0.4),
                            ("market_merchants", 0.15), ("cross_border_daily_persons", 0.1),
                            ("development_intensity", 0.01), ("checkpoint_peak_delay_min", 0.3)]:
        assert abs(small[name] / full[name] - 1) < tolerance, (name, small[name], full[name])
