"""The experiments: a scenario over replicate seeds, a paired comparison, a sweep.

Each is a list of :class:`~runs.engine.RunTask` on the one engine (this process, local
processes or a Dask cluster) and, where it keeps its runs, the one store
(:class:`~runs.store.ResultStore`): a run's replicate seeds are a one-point design. The
command line is a thin layer over these functions; they return pandas objects.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from model import INDICATORS, NAMES
from model.indicators import EVENT_COLUMNS, RATIOS, pooled, ratio_of
from model.params import FIRST_YEAR, levers_set, resolve

from . import provenance
from .design import Design, points
from .engine import Backend, RunTask, Session, run_all, run_tasks
from .errors import InputError
from .folders import manifest_of, output, publish, staging
from .scenario import Scenario, load
from .store import RESULTS, ResultStore, check_out, schema, write_manifest

UNITS = {i.name: i.unit for i in INDICATORS} | {"projects_diverted_from_neighbours": "projects/year"}
# Runs finished by an interrupted `run --out DIR`, kept in DIR until the run completes.
CHECKPOINTS = ".checkpoints"


@dataclass
class RunResult:
    """A scenario's runs: one row a seed and year, and one a seed and quarter."""

    annual: pd.DataFrame      # seed, year, every indicator
    quarterly: pd.DataFrame   # seed, year, quarter, every indicator
    session: Session
    events: pd.DataFrame      # seed, year and the events behind the event indicators
    levers: dict = field(default_factory=dict)   # lever -> {"value", "from"}: what was set

    def indicators(self, year: int) -> tuple[dict[str, float], list[dict[str, float]]]:
        """Every indicator in ``year``: over the seeds (the mean; the event indicators pool
        the events of all seeds), and per seed. NaN where a seed (or all) had no event."""
        order = ["draw", "seed"] if "draw" in self.annual else ["seed"]
        rows = self.annual[self.annual["year"] == year].sort_values(order)
        per_seed = [{n: float(r[n]) for n in NAMES} for r in rows.to_dict(orient="records")]
        mean = {n: float(rows[n].mean()) for n in NAMES}
        events = self.events[self.events["year"] == year].to_dict(orient="records")
        mean.update(pooled(events))
        # A ratio over the seeds is the ratio of the pooled flows, not a mean of ratios.
        mean.update({name: ratio_of(mean, parts) for name, parts in RATIOS.items()})
        return mean, per_seed


def _failed(df: pd.DataFrame) -> None:
    failed = df[df["status"] != "ok"]
    if len(failed):
        raise InputError(f"a run failed (seed {int(failed['seed'].iloc[0])}): "
                         f"{failed['error'].iloc[0]}")


def with_draws(params: dict, draws: list[dict] | None) -> list[tuple[dict, dict]]:
    """(parameters, recorded values) for each posterior draw: the draw's vector under the
    scenario's and ``--set`` values, which win; one entry, no draw, without draws."""
    if draws is None:
        return [(params, {})]
    return [({**vector, **params}, {"draw": d}) for d, vector in enumerate(draws)]


def run_scenario(params: dict, seed: int, replicates: int, until: int, *,
                 checkpoints: Path | None = None, workers: int = 1,
                 scheduler: str | None = None, progress: bool = True,
                 draws: list[dict] | None = None) -> RunResult:
    """Run seeds ``seed .. seed + replicates - 1`` from 2014Q1 to the end of ``until``,
    for each of ``draws`` (posterior parameter vectors; see
    :func:`calibration.estimation.posterior_draws`) if given.

    With ``checkpoints``, finished seeds are stored there and a later call with the same
    parameters and ``until`` takes them from there instead of running them again, so an
    interrupted run resumes without losing the seeds it finished.
    """
    years = tuple(range(FIRST_YEAR, until + 1))
    tasks: list[RunTask] = []
    for i, (ps, recorded) in enumerate(with_draws(params, draws)):
        for s in range(seed, seed + replicates):
            tasks.append(RunTask(len(tasks), i, s, ps, recorded, years, quarterly=True))
    extra = ["draw"] if draws is not None else []
    rows: list[dict] = []
    store = None
    if checkpoints is not None:
        key = json.dumps({"params": resolve(params), "until": until, "draws": draws,
                          "version": provenance.package_version()}, sort_keys=True)
        folder = Path(checkpoints) / hashlib.sha256(key.encode()).hexdigest()[:16]
        store = ResultStore(folder, schema([], quarterly=True, extra=extra))
    backend = Backend(workers, scheduler)
    try:
        session = run_tasks(tasks, backend, store=store, keep=rows.extend, batch=1,
                            progress=progress, desc="simulating")
    finally:
        backend.close()
    df = store.read() if store is not None else pd.DataFrame(rows)
    _failed(df)
    yearly = df["quarter"].isna()
    annual = df.loc[yearly, ["year", *NAMES, *extra, "seed"]].sort_values(
        [*extra, "seed", "year"])
    quarterly = df.loc[~yearly, [*extra, "seed", "year", "quarter", *NAMES]].astype(
        {"quarter": "int64"}).sort_values([*extra, "seed", "year", "quarter"])
    events = df.loc[yearly, [*extra, "seed", "year", *EVENT_COLUMNS]].sort_values(
        [*extra, "seed", "year"])
    levers = levers_set(params)
    annual = annual.reset_index(drop=True)
    annual.attrs["levers"] = levers
    return RunResult(annual, quarterly.reset_index(drop=True), session,
                     events.reset_index(drop=True), levers)


def tidy_quarterly(quarterly: pd.DataFrame) -> pd.DataFrame:
    """Long table: (draw,) seed, year, quarter, indicator, value, unit."""
    extra = ["draw"] if "draw" in quarterly else []
    df = quarterly.melt(id_vars=[*extra, "seed", "year", "quarter"], value_vars=list(NAMES),
                        var_name="indicator", value_name="value")
    df = df.sort_values([*extra, "seed", "indicator", "year", "quarter"], kind="stable",
                        key=lambda c: c.map(NAMES.index) if c.name == "indicator" else c)
    df["unit"] = df["indicator"].map(UNITS)
    return df.reset_index(drop=True)


def write_run_outputs(out: Path, scenario: Scenario, params: dict, seeds: list[int],
                      until: int, result: RunResult, seconds: float,
                      draws: list[dict] | None = None) -> None:
    """Replace the contents of ``out`` with the tidy tables, the plot and manifest.json,
    all at once: they are written to a folder beside it, manifest last, and exchanged
    with it in one rename."""
    from .plots import indicator_panels, new_stage_panels

    new = staging(out)
    try:
        quarterly = tidy_quarterly(result.quarterly)
        quarterly.to_parquet(new / "quarterly.parquet", index=False)
        quarterly.to_csv(new / "quarterly.csv", index=False)
        result.annual.to_parquet(new / "annual.parquet", index=False)
        result.annual.to_csv(new / "annual.csv", index=False)
        indicator_panels(quarterly).savefig(new / "indicators.png", dpi=130)
        new_stage_panels(result.annual).savefig(new / "new-stage.png", dpi=130)
        manifest = manifest_of(
            "run",
            scenario=scenario.name,
            scenario_file=scenario.source,
            description=scenario.description,
            parameters=resolve(params),
            levers=result.levers,
            seeds=seeds,
            draws=None if draws is None else len(draws),
            draw_parameters=draws,
            until=until,
            package_version=provenance.package_version(),
            versions=provenance.versions(),
            git_revision=provenance.git_revision(),
            seconds=round(seconds, 3),
            written=provenance.timestamp(),
        )
        (new / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        publish(new, out, "run")
    finally:
        if new.exists():
            shutil.rmtree(new, ignore_errors=True)


def run_to_folder(scenario: Scenario, params: dict, seed: int, replicates: int, until: int,
                  out: Path | None, *, workers: int = 1, scheduler: str | None = None,
                  progress: bool = True, wait: bool = False,
                  draws: list[dict] | None = None) -> RunResult:
    """A scenario's runs, written to ``out`` (if given) once all have finished; an
    interrupted run resumes from the seeds it finished. ``out`` is checked writable before
    anything runs and locked while the command writes there (``wait``: wait for another
    writer rather than refuse)."""
    started = time.perf_counter()
    if out is None:
        return run_scenario(params, seed, replicates, until, workers=workers,
                            scheduler=scheduler, progress=progress, draws=draws)
    out = Path(out)
    with output(out, "run", wait=wait):
        result = run_scenario(params, seed, replicates, until, checkpoints=out / CHECKPOINTS,
                              workers=workers, scheduler=scheduler, progress=progress,
                              draws=draws)
        write_run_outputs(out, scenario, params, list(range(seed, seed + replicates)), until,
                          result, time.perf_counter() - started, draws)
    return result


@dataclass
class Comparison:
    """Scenario B against A, paired on the same seeds (and posterior draws)."""

    effects: pd.DataFrame   # a row per indicator: unit, a, b, effect, se, ci, pairs, holds
    runs: pd.DataFrame      # a row per run: side (a or b), scenario, (draw,) seed, indicators
    names: tuple[str, str] = ("a", "b")
    levers: dict = field(default_factory=dict)   # side -> levers_set of its parameters


def compare(params_a: dict, params_b: dict, seed: int, replicates: int, until: int, *,
            workers: int = 1, scheduler: str | None = None,
            progress: bool = True, draws: list[dict] | None = None,
            names: tuple[str, str] = ("a", "b")) -> Comparison:
    """Paired effects of B against A in ``until`` over seeds ``seed .. seed+replicates-1``
    and, if given, posterior ``draws``: A and B run on the same draws and seeds. The runs
    are labelled by side (``a``, ``b``) and scenario name (``names``); the effects frame's
    ``attrs`` hold the names, the levers each side sets and what the interval holds."""
    from .analysis import paired_effects

    seeds = list(range(seed, seed + replicates))
    tasks = []
    for i, params in enumerate((params_a, params_b)):
        for ps, recorded in with_draws(params, draws):
            for s in seeds:
                tasks.append(RunTask(len(tasks), i, s, ps, recorded, (until,)))
    df = pd.DataFrame(run_all(tasks, workers, scheduler, progress=progress, desc="compare"))
    sides = df.pop("point")
    df.insert(1, "side", sides.map({0: "a", 1: "b"}))
    df.insert(2, "scenario", sides.map(dict(enumerate(names))))
    effects = paired_effects(df[sides == 0], df[sides == 1])
    effects.insert(1, "unit", effects["indicator"].map(UNITS))
    levers = {"a": levers_set(params_a), "b": levers_set(params_b)}
    effects.attrs.update(a=names[0], b=names[1], levers=levers, until=until, seeds=seeds,
                         draws=None if draws is None else len(draws))
    return Comparison(effects, df, names, levers)


def write_comparison(out: Path, result, names: list[str], until: int, wait: bool) -> None:
    """effects.csv, runs.parquet, the forest plot and manifest.json (the scenarios, the
    levers each sets and from when, the seeds and draws, what the intervals hold),
    replacing the folder's contents at once."""
    from .plots import effects_forest, save

    attrs = result.effects.attrs
    manifest = manifest_of(
        "comparison", a=names[0], b=names[1], until=until, seeds=attrs.get("seeds"),
        draws=attrs.get("draws"), levers=result.levers,
        interval={"confidence": 0.95, "holds": result.effects["interval_holds"].iloc[0]},
        package_version=provenance.package_version(), versions=provenance.versions(),
        git_revision=provenance.git_revision(), written=provenance.timestamp())
    with output(out, "comparison", wait=wait):
        new = staging(out)
        try:
            result.effects.to_csv(new / "effects.csv", index=False)
            result.runs.to_parquet(new / "runs.parquet", index=False)
            save(effects_forest(result.effects, *names, until), new / "effects")
            (new / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
            publish(new, out, "comparison")
        finally:
            shutil.rmtree(new, ignore_errors=True)


def sweep_digest(design: Design, scenario_params: dict,
                 draws: list[dict] | None = None) -> str:
    """Identity of what a sweep computes: the design, every parameter of the scenario it
    starts from (the defaults included, so a new calibration or default is another sweep,
    never resumed into this one) and the posterior draws it runs on (none: the defaults)."""
    identity = {"design": design.digest, "scenario": resolve(scenario_params)}
    if draws is not None:
        identity["draws"] = draws
    text = json.dumps(identity, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def sweep_tasks(design: Design, scenario_params: dict,
                draws: list[dict] | None = None) -> list[RunTask]:
    """Every (point, seed) run of a design -- every (point, draw, seed) run over posterior
    draws -- in a fixed order with fixed run ids. A point's values win over a draw's."""
    table = points(design)
    starts = design.starts()
    tasks = []
    for point, row in enumerate(table.itertuples(index=False)):
        values = {name: _plain(v) for name, v in zip(table.columns, row, strict=True)}
        for ps, recorded in with_draws({**scenario_params, **starts, **values}, draws):
            for s in range(1, design.seeds + 1):
                tasks.append(RunTask(len(tasks), point, s, ps, {**values, **recorded},
                                     design.years))
    return tasks


def lever_start_years(design: Design, scenario_params: dict) -> dict[str, int | str]:
    """From when each lever the design or its scenario sets applies: a year, or "design"
    where its start year is itself a design parameter."""
    from model.params import PARAMS, POLICY_YEAR

    values = {**scenario_params, **design.starts()}
    out: dict[str, int | str] = {n: lv["from"] for n, lv in levers_set(values).items()}
    for name in design.params:
        if PARAMS[name].start_year is not None:
            out[name] = int(values.get(PARAMS[name].start_year, POLICY_YEAR))
    for name in design.params:          # a start year the design varies
        lever = getattr(PARAMS[name], "lever", None)
        if lever is not None:
            out[lever] = "design"
    return out


def _plain(value):
    """numpy scalars to plain Python, so tasks pickle small and compare equal."""
    return value.item() if hasattr(value, "item") else value


def run_sweep(design: Design, design_file: str, out: Path, workers: int,
              scheduler: str | None, batch: int, progress: bool = True, *,
              wait: bool = False, repair: bool = False,
              draws: list[dict] | None = None) -> dict:
    """Run what is missing of a design into ``out``; return the session recorded.

    ``out`` is checked writable before anything runs and locked while the sweep writes
    (``wait``: wait for another sweep on it rather than refuse). A damaged part file, a
    damaged or missing manifest and runs stored twice are refused with one line, or, with
    ``repair``, set aside, written again and removed, and the runs they held computed again.
    """
    out = Path(out)
    scenario = load(design.scenario)
    try:
        resolve(scenario.params)
    except ValueError as err:
        raise InputError(f"scenario {design.scenario!r}: {err}") from None
    digest = sweep_digest(design, scenario.params, draws)
    tasks = sweep_tasks(design, scenario.params, draws)
    with output(out, "sweep", wait=wait, store=RESULTS,
                need_bytes=16 * 2**20 + 4096 * len(tasks)):
        manifest = check_out(out, digest, repair)
        store = ResultStore(out, schema(design.names,
                                        extra=["draw"] if draws is not None else []),
                            identity=digest)
        hint = f"`xianghe sweep {design_file} --out {out} --repair`"
        for done in store.verify(repair=repair, hint=hint):
            print(f"{out}: {done}", file=sys.stderr)
        backend = Backend(workers, scheduler)
        try:
            out.mkdir(parents=True, exist_ok=True)
            manifest = manifest or manifest_of(
                "sweep",
                design_file=design_file,
                design=design.to_dict(),
                sweep_digest=digest,
                scenario_params=scenario.params,
                levers_from=lever_start_years(design, scenario.params),
                points=len(points(design)),
                draws=None if draws is None else len(draws),
                draw_parameters=draws,
                runs=len(tasks),
                package_version=provenance.package_version(),
                versions=provenance.versions(),
                git_revision=provenance.git_revision(),
                sessions=[],
            )
            write_manifest(out, manifest)

            def record(session: Session) -> None:
                manifest["sessions"].append({
                    "started": provenance.timestamp(session.started),
                    "seconds": round(session.seconds, 3),
                    "executor": session.executor,
                    "runs_ok": session.runs_ok,
                    "runs_failed": session.runs_failed,
                    "runs_per_minute": session.runs_per_minute,
                    "complete": len(store.done()) == len(tasks),
                })
                write_manifest(out, manifest)

            run_tasks(tasks, backend, store=store, batch=batch, progress=progress,
                      desc="sweep", on_finish=record)
        finally:
            backend.close()
    return manifest["sessions"][-1]
