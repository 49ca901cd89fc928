"""The Python interface for scripted experiments (docs/api.md).

    from runs import api
    base = api.run("baseline", replicates=10, until=2030)            # a row per seed and year
    eff = api.compare("baseline", "permits", replicates=10, draws=20)  # a row per indicator
    grid = api.sweep("runs/designs/subsidy-lanes-grid.toml", out="out/grid", workers=2)
    api.run("baseline", params={"investment_subsidy_rate": 0.1})     # like --set: from 2022
    api.run("baseline", params={"investment_subsidy_rate": 0.1}, start_year=2014)  # history

Each function returns pandas objects and, given ``out``, writes the same files as the
command; the command line is a thin layer over these functions. Bad input raises
:class:`InputError` (a ``ValueError``) with the one line the command prints, before
anything runs or is written. Runs are reproducible: the same arguments give the same
numbers, whatever ``workers`` or ``scheduler`` spread them over.

A lever set by ``params`` starts in the policy year (2022, the first after the figures the
model is fitted to) unless ``start_year`` says otherwise, and ``start_year`` moves every
lever the scenario sets too; the frames' ``attrs["levers"]`` say what applied from when.
A lever that starts after ``until`` raises a :class:`LeverNotInForce` warning.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from model.params import (FIRST_YEAR, LAST_YEAR, ParamError, is_year, levers_set, lookup,
                          resolve, starting_in)

from . import scenario as scenarios
from .errors import (FewDraws, InputError, LeverNotInForce, check_count, check_posterior,
                     check_runs)
from .folders import prepare

if TYPE_CHECKING:   # pandas loads with the runs, not to check their input
    import pandas as pd

__all__ = ["InputError", "LeverNotInForce", "FewDraws", "Scenario", "scenario", "run", "run_result", "compare",
           "comparison", "sweep", "sweep_session", "scenario_params", "report", "discover",
           "optimize"]

Scenario = scenarios.Scenario
ScenarioRef = str | Path | Scenario


def scenario(name: str, params: dict[str, Any], *, extends: str | list[str] = "baseline",
             start_year: int | None = None, description: str = "") -> Scenario:
    """A measure (or any scenario) defined in code, by the rules of a scenario file: it
    starts from ``extends`` and its levers take effect from ``start_year``, e.g.
    ``api.scenario("fast-track", {"permit_devolution": True}, start_year=2022)``. Pass it
    wherever a scenario name is taken."""
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"scenario name {name!r}: allowed: a non-empty string")
    _mapping("params", params)
    if start_year is not None:
        _check_year("start_year", start_year)
    return scenarios.define(name, params, extends=extends, start_year=start_year,
                            description=description)


def _mapping(option: str, value) -> None:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise InputError(f"{option} {value!r}: allowed: a dict of parameter names to values "
                         "(`xianghe params` lists the names)")


def _load(ref: ScenarioRef) -> Scenario:
    return ref if isinstance(ref, Scenario) else scenarios.load(str(ref))


def _user_errors(fn):
    """A parameter refused by its declaration is the same user error as any other."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ParamError as err:
            raise InputError(str(err)) from None

    return wrapper


def _folder(out, option: str = "--out") -> Path:
    """``out`` as a path, or an :class:`InputError` for anything that is not one."""
    if not isinstance(out, str | os.PathLike):
        raise InputError(f"{option} {out!r}: allowed: a folder path (str or os.PathLike)")
    return Path(out)


def _check_until(until: int) -> None:
    _check_year("--until", until)


def _check_count(option: str, value: int, least: int, why: str = "") -> None:
    check_count(option, value, least, why)


def _workers(workers: int | None, default: int | None = None) -> int:
    """``workers``, checked; by default ``default``, else every core."""
    if workers is not None:
        _check_count("--workers", workers, 1)
    return workers or default or os.cpu_count() or 1


def _params(overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Parameter values from code (typed, or text as after ``--set``), each checked."""
    if overrides is None:
        return {}
    _mapping("params", overrides)
    out = {}
    for name, value in overrides.items():
        p = lookup(name)
        out[name] = p.parse(value) if isinstance(value, str) else p.check(value)
    return out


def _check_year(option: str, year: int) -> None:
    if not is_year(year):
        raise InputError(f"{option} {year}: allowed: a year in [{FIRST_YEAR}, {LAST_YEAR}]")


@_user_errors
def scenario_params(scenario: ScenarioRef, params: dict[str, Any] | None = None,
                    start_year: int | None = None) -> dict[str, Any]:
    """A scenario's parameter values (a name in ``runs/scenarios``, a TOML file or a
    :class:`Scenario`) with ``params`` over them, checked as a whole; with ``start_year``,
    every lever they set starts that year."""
    values = {**_load(scenario).params, **_params(params)}
    if start_year is not None:
        _check_year("--from", start_year)
        values = starting_in(values, start_year)
    resolve(values)
    return values


def late_levers(starts: dict[str, int], until: int,
                remedy: str = "--from YEAR (start_year=) starts every lever set earlier"
                ) -> str | None:
    """One line naming the levers (``{lever: first year}``) that start after ``until``
    and what starts them earlier, or None."""
    late = {n: y for n, y in starts.items() if isinstance(y, int) and y > until}
    if not late:
        return None
    years = set(late.values())
    names = (f"{', '.join(late)} start{'s' if len(late) == 1 else ''} in {years.pop()}"
             if len(years) == 1 else ", ".join(f"{n} (from {y})" for n, y in late.items())
             + " start")
    return (f"{names}, after the run ends ({until}): the results do not include "
            f"{'it' if len(late) == 1 else 'them'}; {remedy}")


def _warn(note: str | None, category: type[Warning] = LeverNotInForce) -> None:
    """A note (by default a lever's late start) as a warning at the caller's line."""
    if note is not None:
        warnings.warn(note, category,
                      skip_file_prefixes=(os.path.dirname(os.path.abspath(__file__)),))


def _warn_late(values: list[dict[str, Any]], until: int) -> None:
    _warn(late_levers({n: lv["from"] for v in values for n, lv in levers_set(v).items()},
                      until))


def _draws(draws: int | None, seed: int, posterior: str | Path | None):
    """``draws`` posterior draws fixed by ``seed``; none for 0 (or None), when a
    ``posterior`` to draw from makes no sense."""
    check_count("--draws", 0 if draws is None else draws, 0)
    if not draws:
        if posterior is not None:
            raise InputError(f"--posterior {posterior}: allowed only with --draws D (the "
                             "sample the draws come from)")
        return None
    if posterior is not None:
        check_posterior(_folder(posterior, "--posterior"))
    from calibration.estimation import POSTERIOR_FILE, posterior_draws

    return posterior_draws(draws, seed, Path(posterior) if posterior else POSTERIOR_FILE)


@_user_errors
def run_result(scenario: ScenarioRef = "baseline", *, seed: int = 1, replicates: int = 1,
               until: int = 2020, draws: int = 0, params: dict[str, Any] | None = None,
               out: str | Path | None = None, workers: int | None = 1,
               scheduler: str | None = None, posterior: str | Path | None = None,
               progress: bool = False, wait: bool = False, start_year: int | None = None):
    """Everything a run produced (:class:`runs.experiments.RunResult`: ``annual``,
    ``quarterly``, the events, ``levers`` and ``indicators(year)``); see :func:`run`."""
    _check_until(until)
    _check_count("--replicates", replicates, 1)
    _check_count("--seed", seed, 0)
    _check_count("--draws", draws, 0)
    check_runs("run", replicates * max(draws, 1), "--replicates x --draws")
    workers = _workers(workers, default=1)
    if out is not None:
        prepare(_folder(out), "run")
    sc = _load(scenario)
    values = scenario_params(sc, params, start_year)
    vectors = _draws(draws, seed, posterior)
    _warn_late([values], until)
    from .experiments import run_to_folder

    return run_to_folder(sc, values, seed, replicates, until,
                         None if out is None else Path(out), workers=workers,
                         scheduler=scheduler, progress=progress, wait=wait, draws=vectors)


def run(scenario: ScenarioRef = "baseline", *, seed: int = 1, replicates: int = 1, until: int = 2020,
        draws: int = 0, params: dict[str, Any] | None = None, out: str | Path | None = None,
        workers: int | None = 1, scheduler: str | None = None,
        posterior: str | Path | None = None, progress: bool = False,
        wait: bool = False, start_year: int | None = None) -> pd.DataFrame:
    """Run ``scenario`` on seeds ``seed .. seed+replicates-1`` (and, with ``draws`` D, on D
    posterior draws fixed by ``seed``) to the end of ``until``; ``params`` overrides values
    as ``--set`` does, its levers from 2022 unless ``start_year`` (which moves the
    scenario's levers too) says otherwise. Returns a row per seed (and draw) and year:
    ``seed``, ``year`` (``draw``) and every indicator; ``attrs["levers"]`` names each lever
    set with its value and first year. With ``out``, writes the folder ``xianghe run
    --out`` writes (and resumes there after an interruption)."""
    result = run_result(scenario, seed=seed, replicates=replicates, until=until, draws=draws,
                        params=params, out=out, workers=workers, scheduler=scheduler,
                        posterior=posterior, progress=progress, wait=wait,
                        start_year=start_year)
    return result.annual


@_user_errors
def comparison(a: ScenarioRef, b: ScenarioRef, *, seed: int = 1, replicates: int = 5,
               draws: int = 0, until: int = 2030, params: dict[str, Any] | None = None,
               out: str | Path | None = None, workers: int | None = None,
               scheduler: str | None = None, posterior: str | Path | None = None,
               progress: bool = False, wait: bool = False, start_year: int | None = None):
    """Everything a comparison produced (:class:`runs.experiments.Comparison`: ``effects``,
    ``runs``, ``names`` and ``levers``); see :func:`compare`."""
    _check_until(until)
    _check_count("--replicates", replicates, 2, "a confidence interval needs two pairs")
    _check_count("--seed", seed, 0)
    _check_count("--draws", draws, 0)
    if draws == 1:
        raise InputError("--draws 1: allowed: 0 (seeds only) or an integer of 2 or more (an "
                         "interval over draws needs two)")
    check_runs("compare", 2 * replicates * max(draws, 1), "2 scenarios x --replicates x --draws")
    workers = _workers(workers)
    if out is not None:
        prepare(_folder(out), "comparison")
    pair = [_load(a), _load(b)]
    values = [scenario_params(sc, params, start_year) for sc in pair]
    names = (pair[0].name, pair[1].name)
    vectors = _draws(draws, seed, posterior)
    _warn_late(values, until)
    from .experiments import compare as paired

    result = paired(*values, seed, replicates, until, workers=workers, scheduler=scheduler,
                    progress=progress, draws=vectors, names=names)
    if out is not None:
        from .experiments import write_comparison

        write_comparison(Path(out), result, list(names), until, wait)
    return result


def compare(a: ScenarioRef, b: ScenarioRef, *, seed: int = 1, replicates: int = 5,
            draws: int = 0, until: int = 2030, params: dict[str, Any] | None = None,
            out: str | Path | None = None, workers: int | None = None,
            scheduler: str | None = None, posterior: str | Path | None = None,
            progress: bool = False, wait: bool = False,
            start_year: int | None = None) -> pd.DataFrame:
    """Scenario ``b`` against ``a`` in ``until``, paired on the same seeds (and the same
    ``draws`` posterior draws). ``params`` applies to both, its levers from 2022 unless
    ``start_year`` (which moves every lever of both scenarios) says otherwise. Returns a
    row per indicator: ``indicator``, ``unit``, ``a``, ``b``, ``effect`` (B - A of the
    means shown), ``se``, ``ci_low``, ``ci_high`` (95 %), ``pairs`` (the run pairs where
    both sides have a value) and ``interval_holds`` (``"seeds"``: seed noise at fixed
    parameters; ``"seeds and parameters"`` with ``draws``, which adds ``sd_param``,
    ``sd_seed`` and ``share_param``); ``attrs`` names the scenarios and the levers each
    sets with their first year. With ``out``, writes ``effects.csv``, ``runs.parquet`` and
    the forest plot there."""
    return comparison(a, b, seed=seed, replicates=replicates, draws=draws, until=until,
                      params=params, out=out, workers=workers, scheduler=scheduler,
                      posterior=posterior, progress=progress, wait=wait,
                      start_year=start_year).effects


@_user_errors
def sweep_session(design: str | Path, *, out: str | Path, workers: int | None = 1,
                  scheduler: str | None = None, batch: int = 16, draws: int = 0,
                  posterior: str | Path | None = None, progress: bool = False,
                  wait: bool = False, repair: bool = False) -> dict:
    """Run what is missing of ``design`` into ``out``; the session's record (runs ok and
    failed, runs a minute, executor, whether the sweep is complete); see :func:`sweep`.
    ``workers=None`` takes every core."""
    from .design import count_points, load_design
    from .experiments import lever_start_years, run_sweep

    spec = load_design(str(_folder(design, "design")))
    _check_count("--batch", batch, 1)
    _check_count("--draws", draws, 0)
    check_runs("sweep", count_points(spec) * spec.seeds * max(draws, 1),
               "design points x seeds x --draws")
    out = _folder(out)
    _warn(late_levers(lever_start_years(spec, scenarios.load(spec.scenario).params),
                      spec.until, "the design's start_year starts them earlier"))
    vectors = _draws(draws, spec.sampler_seed, posterior)
    return run_sweep(spec, str(design), Path(out), _workers(workers), scheduler, batch,
                     progress=progress, wait=wait, repair=repair, draws=vectors)


def sweep(design: str | Path, *, out: str | Path, workers: int | None = 1,
          scheduler: str | None = None, batch: int = 16, draws: int = 0,
          posterior: str | Path | None = None, progress: bool = False, wait: bool = False,
          repair: bool = False) -> pd.DataFrame:
    """Run the design file ``design`` into ``out`` (resuming what an earlier call left),
    and return its results: a row per run and year (``run_id``, ``point``, ``seed``,
    ``year``, the design's parameters, every indicator, ``status``, ``error``)."""
    sweep_session(design, out=out, workers=workers, scheduler=scheduler, batch=batch,
                  draws=draws, posterior=posterior, progress=progress, wait=wait,
                  repair=repair)
    from .store import read_results

    return read_results(Path(out))


@_user_errors
def report(measures: list[ScenarioRef] | str | None = None, *, seeds: int = 5,
           draws: int = 20, seed: int = 1, from_year: int = 2022, until: int = 2030,
           criterion: str = "firms_per_100m_yuan", params: dict[str, Any] | None = None,
           out: str | Path = "out/report", format: str = "md", workers: int | None = None, scheduler: str | None = None,
           posterior: str | Path | None = None, progress: bool = False,
           wait: bool = False, repair: bool = False,
           robustness: list[str | Path] | str | Path | None = None):
    """The policy report: the baseline, each measure alone (``measures``: names,
    :class:`Scenario` objects or a comma-separated string; default the six of the county
    report) and their package, from ``from_year`` to ``until``, paired on seeds ``seed ..
    seed+seeds-1`` and ``draws`` posterior draws (0: the calibrated point only);
    ``params`` set values in every scenario, as ``--set`` does. Writes
    ``out/report.md`` (``format="html"``: ``.html``), ``out/tables/`` (Parquet and CSV),
    ``out/figures/`` and the runs (``out/runs/``, from which a killed report resumes;
    ``repair`` rebuilds it from the sound runs when their manifest is damaged).
    ``robustness``: folders of :func:`discover` and :func:`optimize` whose findings the
    report adds as a section (where the measures fail, which packages hold up).
    Returns :class:`runs.report.Report`: ``effects``, ``money``, ``ranking``,
    ``sensitivity``, ``interactions``, ``out_of_sample``, ``runs`` and ``summary``."""
    from .report_options import check

    _check_count("--seeds", seeds, 2, "an interval needs two seeds")
    _check_count("--seed", seed, 0)
    _check_count("--draws", draws, 0)
    if draws == 1:
        raise InputError(f"--draws {draws}: allowed: 0 (the calibrated point only) or an "
                         "integer of 2 or more (an interval over draws needs two)")
    if isinstance(measures, str):
        measures = [m.strip() for m in measures.split(",") if m.strip()]
    measures = check(measures, criterion, format, from_year, until)
    if isinstance(robustness, str | os.PathLike):
        robustness = [robustness]
    folders = [_folder(f, "--robustness") for f in (robustness or [])]
    from .robustness import check as check_robustness

    for folder in folders:
        check_robustness(folder)
    scenarios_run = 1 + len(measures) + (len(measures) > 1)
    check_runs("report", scenarios_run * seeds * max(draws, 1),
               f"{scenarios_run} scenarios x --seeds x --draws")
    workers = _workers(workers)
    common = _params(params)
    prepare(_folder(out), "report", store="runs")
    vectors = _draws(draws, seed, posterior)
    from . import report as reports

    if 0 < draws < reports.MIN_DRAWS:
        _warn(f"{draws} posterior draws are too few for statements about the parameters' "
              f"uncertainty ({reports.MIN_DRAWS} or more): the report says so where it would "
              "make one", FewDraws)

    plan = reports.plan(measures, list(range(seed, seed + seeds)), vectors, from_year, until,
                        criterion, common)
    return reports.make(plan, Path(out), format, workers=workers, scheduler=scheduler,
                        progress=progress, wait=wait, repair=repair, robustness=folders)


def _check_aim(space: str, posterior, min_gain: float, max_cost_per_job: float | None) -> None:
    """The states of the world and the aim of a discovery or a search, checked."""
    import math

    if space not in ("posterior", "prior"):
        raise InputError(f"--space {space!r}: allowed: posterior, prior")
    if space == "prior" and posterior is not None:
        raise InputError(f"--posterior {posterior}: allowed only with --space posterior")
    if isinstance(min_gain, bool) or not isinstance(min_gain, int | float) or not math.isfinite(
            min_gain):
        raise InputError(f"--min-gain {min_gain}: allowed: a finite number of projects")
    if max_cost_per_job is not None and (
            isinstance(max_cost_per_job, bool) or not isinstance(max_cost_per_job, int | float)
            or not (math.isfinite(max_cost_per_job) and max_cost_per_job > 0)):
        raise InputError(f"--max-cost-per-job {max_cost_per_job}: allowed: a positive "
                         "number of yuan")


def _states(space: str, draws: int, seed: int, posterior) -> list[dict]:
    """``draws`` parameter vectors fixed by ``seed``: the posterior's (``space``
    "posterior") or the lever strengths' and unreachable parameters' priors ("prior")."""
    if space == "prior":
        from calibration.estimation import lever_prior_draws

        return lever_prior_draws(draws, seed)
    return _draws(draws, seed, posterior)


@_user_errors
def discover(measures: list[ScenarioRef] | str | None = None, *, min_gain: float = 200,
             max_cost_per_job: float | None = None, space: str = "posterior",
             draws: int = 400, seeds: int = 1, seed: int = 1, from_year: int = 2022,
             until: int = 2030, params: dict[str, Any] | None = None,
             out: str | Path = "out/discovery", workers: int | None = None,
             scheduler: str | None = None, posterior: str | Path | None = None,
             progress: bool = False, wait: bool = False, repair: bool = False):
    """Scenario discovery (:mod:`runs.discover`): the measure (one of ``measures``) or their
    package (several; default the county report's seven) against the baseline over
    ``draws`` parameter draws (``space``: "posterior", or "prior" for the lever strengths
    and the parameters the figures cannot inform) and ``seeds`` seeds each; a case fails
    with fewer than ``min_gain`` extra projects producing at the end of ``until`` or, if
    given, a public cost above ``max_cost_per_job`` yuan per extra job. PRIM and CART (EMA
    Workbench) find where the failures lie. Writes ``out/discovery.md``, ``out/tables/``,
    ``out/figures/`` and the runs (``out/runs/``, from which a killed discovery resumes).
    Returns :class:`runs.discover.Discovery`."""
    from .report_options import check_years

    _check_count("--draws", draws, 2, "a box needs cases to tell apart")
    _check_count("--seeds", seeds, 1)
    _check_count("--seed", seed, 0)
    _check_aim(space, posterior, min_gain, max_cost_per_job)
    check_years(from_year, until)
    if isinstance(measures, str):
        measures = [m.strip() for m in measures.split(",") if m.strip()]
    check_runs("discover", 2 * seeds * draws, "2 scenarios x --seeds x --draws")
    workers = _workers(workers)
    common = _params(params)
    prepare(_folder(out), "discovery", store="runs")
    vectors = _states(space, draws, seed, posterior)
    from . import discover as discovery

    p = discovery.plan(measures, list(range(seed, seed + seeds)), vectors, from_year, until,
                       common)
    return discovery.make(p, Path(out), min_gain=min_gain, max_cost_per_job=max_cost_per_job,
                          space=space, workers=workers, scheduler=scheduler,
                          progress=progress, wait=wait, repair=repair)


@_user_errors
def optimize(measures: list[ScenarioRef] | str | None = None, *, min_gain: float = 200,
             max_cost_per_job: float | None = None, min_share: float = 0.8,
             ranges: Mapping[str, tuple[float, float]] | None = None,
             start_years: tuple[int, int] | None = None,
             epsilons: tuple[float, float, float] | None = None, population: int = 16,
             generations: int = 10, space: str = "posterior", draws: int = 16,
             seeds: int = 1, seed: int = 1, from_year: int = 2022, until: int = 2030,
             params: dict[str, Any] | None = None, out: str | Path = "out/optimization",
             workers: int | None = None, scheduler: str | None = None,
             posterior: str | Path | None = None, progress: bool = False,
             wait: bool = False, repair: bool = False):
    """Robust policy search (:mod:`runs.optimize`): NSGA-II (platypus, with EMA
    Workbench's problem and operators) over the levers the ``measures`` set (default the
    county report's seven; number levers up to three times the report's step, or
    ``ranges``; with ``start_years`` (low, high) each measure's first year too), each
    setting scored on ``draws`` x ``seeds`` common states of the world (``space`` as in
    :func:`discover`) by its mean public cost, its mean gain and its robustness (the share
    of states with at least ``min_gain`` extra projects producing at the end of ``until``
    and, if given, a cost per job of at most ``max_cost_per_job``), ``population`` settings
    a generation for ``generations``. The Pareto set is run again on fresh draws and seeds;
    the cheapest member meeting the aim in ``min_share`` of them is named. Writes
    ``out/optimization.md``, ``out/tables/``, ``out/figures/`` and the runs (``out/runs/``,
    from which a killed search resumes). ``epsilons`` (cost in yuan, gain in projects,
    robustness): the Pareto set's resolution (default :data:`runs.optimize.EPSILONS`).
    Returns :class:`runs.optimize.Optimization`."""
    import math

    from .report_options import check_measures, check_years

    _check_count("--draws", draws, 2, "robustness is a share of states")
    _check_count("--seeds", seeds, 1)
    _check_count("--seed", seed, 0)
    _check_count("--population", population, 4, "NSGA-II breeds pairs chosen by tournament")
    _check_count("--generations", generations, 1)
    _check_aim(space, posterior, min_gain, max_cost_per_job)
    if (isinstance(min_share, bool) or not isinstance(min_share, int | float)
            or not (math.isfinite(min_share) and 0 < min_share <= 1)):
        raise InputError(f"--min-share {min_share}: allowed: a share in (0, 1]")
    check_years(from_year, until)
    if start_years is not None:
        if (not isinstance(start_years, tuple | list) or len(start_years) != 2
                or not all(is_year(y) for y in start_years)
                or not from_year <= start_years[0] < start_years[1] <= until):
            shown = (":".join(map(str, start_years)) if isinstance(start_years, tuple | list)
                     else repr(start_years))
            raise InputError(f"--start-years {shown}: allowed: LOW:HIGH, years with "
                             f"{from_year} (--from) <= LOW < HIGH <= {until} (--until)")
        start_years = (int(start_years[0]), int(start_years[1]))
    if ranges is not None:
        _mapping("ranges", ranges)
        for name, bounds in ranges.items():
            if (not isinstance(bounds, tuple | list) or len(bounds) != 2 or any(
                    isinstance(b, bool) or not isinstance(b, int | float) for b in bounds)):
                raise InputError(f"--range {name}: allowed: NAME=LOW:HIGH, two numbers")
    if epsilons is not None and (
            not isinstance(epsilons, tuple | list) or len(epsilons) != 3
            or any(isinstance(e, bool) or not isinstance(e, int | float)
                   or not (math.isfinite(e) and e > 0) for e in epsilons)):
        shown = (",".join(f"{e:g}" if isinstance(e, int | float) else repr(e)
                          for e in epsilons) if isinstance(epsilons, tuple | list)
                 else repr(epsilons))
        raise InputError(f"--epsilons {shown}: allowed: COST,GAIN,SHARE, three positive "
                         "numbers (yuan, projects, share of states)")
    if isinstance(measures, str):
        measures = [m.strip() for m in measures.split(",") if m.strip()]
    chosen = check_measures(measures)
    check_runs("optimize", (population * generations + 1) * seeds * draws,
               "(--population x --generations + 1) x --seeds x --draws")
    workers = _workers(workers)
    common = _params(params)
    from . import optimize as optimization

    levers = optimization.space(chosen, dict(ranges or {}), start_years)
    prepare(_folder(out), "optimization", store="runs")
    fresh = seed + optimization.FRESH
    return optimization.make(
        levers, Path(out), draws=_states(space, draws, seed, posterior),
        fresh_draws=_states(space, draws, fresh, posterior),
        seeds=list(range(seed, seed + seeds)), fresh_seeds=list(range(fresh, fresh + seeds)),
        start=from_year, until=until, common=common, min_gain=min_gain,
        max_cost_per_job=max_cost_per_job, min_share=float(min_share),
        population=population, generations=generations, seed=seed, space_name=space,
        epsilons=(dict(zip(optimization.OBJECTIVES, map(float, epsilons), strict=True))
                  if epsilons is not None else optimization.EPSILONS),
        workers=workers, scheduler=scheduler, progress=progress, wait=wait, repair=repair)
