"""The experiments: a scenario over replicate seeds, a paired comparison, a sweep.

Each is a list of :class:`~runs.engine.RunTask` on the one engine (this process, local
processes or a Dask cluster) and, where it keeps its runs, the one store
(:class:`~runs.store.ResultStore`): a run's replicate seeds are a one-point design. The
command line is a thin layer over these functions; they return pandas objects.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from model import INDICATORS, NAMES
from model.params import FIRST_YEAR, resolve

from . import provenance
from .design import Design, points
from .engine import Backend, RunTask, Session, run_tasks
from .errors import InputError, check_folder
from .scenario import Scenario, load
from .store import ResultStore, check_out, read_manifest, schema, write_manifest

UNITS = {i.name: i.unit for i in INDICATORS}
# Runs finished by an interrupted `run --out DIR`, kept in DIR until the run completes.
CHECKPOINTS = ".checkpoints"


@dataclass
class RunResult:
    """A scenario's runs: one row a seed and year, and one a seed and quarter."""

    annual: pd.DataFrame      # seed, year, every indicator
    quarterly: pd.DataFrame   # seed, year, quarter, every indicator
    session: Session

    def indicators(self, year: int) -> tuple[dict[str, float], list[dict[str, float]]]:
        """Mean over seeds and per-seed values of every indicator in ``year``."""
        rows = self.annual[self.annual["year"] == year].sort_values("seed")
        per_seed = [{n: float(r[n]) for n in NAMES} for r in rows.to_dict(orient="records")]
        mean = {n: float(rows[n].mean()) for n in NAMES}
        return mean, per_seed


def _failed(df: pd.DataFrame) -> None:
    failed = df[df["status"] != "ok"]
    if len(failed):
        raise InputError(f"a run failed (seed {int(failed['seed'].iloc[0])}): "
                         f"{failed['error'].iloc[0]}")


def run_scenario(params: dict, seed: int, replicates: int, until: int, *,
                 checkpoints: Path | None = None, workers: int = 1,
                 scheduler: str | None = None, progress: bool = True) -> RunResult:
    """Run seeds ``seed .. seed + replicates - 1`` from 2014Q1 to the end of ``until``.

    With ``checkpoints``, finished seeds are stored there and a later call with the same
    parameters and ``until`` takes them from there instead of running them again, so an
    interrupted run resumes without losing the seeds it finished.
    """
    years = tuple(range(FIRST_YEAR, until + 1))
    tasks = [RunTask(k, 0, s, params, {}, years, quarterly=True)
             for k, s in enumerate(range(seed, seed + replicates))]
    rows: list[dict] = []
    store = None
    if checkpoints is not None:
        key = json.dumps({"params": resolve(params), "until": until,
                          "version": provenance.package_version()}, sort_keys=True)
        folder = Path(checkpoints) / hashlib.sha256(key.encode()).hexdigest()[:16]
        store = ResultStore(folder, schema([], quarterly=True))
    backend = Backend(workers, scheduler)
    try:
        session = run_tasks(tasks, backend, store=store, keep=rows.extend, batch=1,
                            progress=progress, desc="simulating")
    finally:
        backend.close()
    df = store.read() if store is not None else pd.DataFrame(rows)
    _failed(df)
    yearly = df["quarter"].isna()
    annual = df.loc[yearly, ["year", *NAMES, "seed"]].sort_values(["seed", "year"])
    quarterly = df.loc[~yearly, ["seed", "year", "quarter", *NAMES]].astype(
        {"quarter": "int64"}).sort_values(["seed", "year", "quarter"])
    return RunResult(annual.reset_index(drop=True), quarterly.reset_index(drop=True), session)


def tidy_quarterly(quarterly: pd.DataFrame) -> pd.DataFrame:
    """Long table: seed, year, quarter, indicator, value, unit."""
    df = quarterly.melt(id_vars=["seed", "year", "quarter"], value_vars=list(NAMES),
                        var_name="indicator", value_name="value")
    df = df.sort_values(["seed", "indicator", "year", "quarter"], kind="stable",
                        key=lambda c: c.map(NAMES.index) if c.name == "indicator" else c)
    df["unit"] = df["indicator"].map(UNITS)
    return df.reset_index(drop=True)


def write_run_outputs(out: Path, scenario: Scenario, params: dict, seeds: list[int],
                      until: int, result: RunResult, seconds: float) -> None:
    """Write the tidy tables, the plots and manifest.json into ``out``, all or nothing.

    Everything is written to a temporary folder beside ``out`` first and moved in once
    complete, so an interrupted run leaves no half-written file in ``out``.
    """
    from .plots import indicator_panels

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        quarterly = tidy_quarterly(result.quarterly)
        quarterly.to_parquet(tmp / "quarterly.parquet", index=False)
        quarterly.to_csv(tmp / "quarterly.csv", index=False)
        result.annual.to_parquet(tmp / "annual.parquet", index=False)
        result.annual.to_csv(tmp / "annual.csv", index=False)
        indicator_panels(quarterly).savefig(tmp / "indicators.png", dpi=130)
        manifest = {
            "scenario": scenario.name,
            "scenario_file": scenario.source,
            "description": scenario.description,
            "parameters": resolve(params),
            "seeds": seeds,
            "until": until,
            "package_version": provenance.package_version(),
            "versions": provenance.versions(),
            "git_revision": provenance.git_revision(),
            "seconds": round(seconds, 3),
            "written": provenance.timestamp(),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        out.mkdir(exist_ok=True)
        for f in tmp.iterdir():
            os.replace(f, out / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_to_folder(scenario: Scenario, params: dict, seed: int, replicates: int, until: int,
                  out: Path | None, *, workers: int = 1, scheduler: str | None = None,
                  progress: bool = True) -> RunResult:
    """A scenario's runs, written to ``out`` (if given) once all have finished; an
    interrupted run resumes from the seeds it finished."""
    started = time.perf_counter()
    checkpoints = Path(out) / CHECKPOINTS if out is not None else None
    if out is not None:
        check_folder(Path(out))
    result = run_scenario(params, seed, replicates, until, checkpoints=checkpoints,
                          workers=workers, scheduler=scheduler, progress=progress)
    if out is not None:
        write_run_outputs(Path(out), scenario, params, list(range(seed, seed + replicates)),
                          until, result, time.perf_counter() - started)
        shutil.rmtree(checkpoints, ignore_errors=True)
    return result


@dataclass
class Comparison:
    """Scenario B against A, paired on the same seeds."""

    effects: pd.DataFrame   # a row per indicator: a, b, effect, se, ci_low, ci_high
    runs: pd.DataFrame      # a row per run: point 0 is A, point 1 is B


def compare(params_a: dict, params_b: dict, seed: int, replicates: int, until: int, *,
            workers: int = 1, scheduler: str | None = None,
            progress: bool = True) -> Comparison:
    """Paired effects of B against A in ``until`` over seeds ``seed .. seed+replicates-1``."""
    from .analysis import paired_effects

    seeds = range(seed, seed + replicates)
    tasks = [RunTask(i * replicates + k, i, s, params, {}, (until,))
             for i, params in enumerate((params_a, params_b)) for k, s in enumerate(seeds)]
    rows: list[dict] = []
    backend = Backend(workers, scheduler)
    try:
        run_tasks(tasks, backend, keep=rows.extend, progress=progress, desc="compare")
    finally:
        backend.close()
    df = pd.DataFrame(rows)
    _failed(df)
    return Comparison(paired_effects(df[df["point"] == 0], df[df["point"] == 1]), df)


def sweep_digest(design: Design, scenario_params: dict) -> str:
    """Identity of what a sweep computes: the design and the scenario it starts from."""
    text = json.dumps({"design": design.digest, "scenario": scenario_params}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def sweep_tasks(design: Design, scenario_params: dict) -> list[RunTask]:
    """Every (point, seed) run of a design, in a fixed order with fixed run ids."""
    table = points(design)
    tasks = []
    for point, row in enumerate(table.itertuples(index=False)):
        values = {name: _plain(v) for name, v in zip(table.columns, row, strict=True)}
        for s in range(1, design.seeds + 1):
            tasks.append(RunTask(point * design.seeds + (s - 1), point, s,
                                 {**scenario_params, **values}, values, design.years))
    return tasks


def _plain(value):
    """numpy scalars to plain Python, so tasks pickle small and compare equal."""
    return value.item() if hasattr(value, "item") else value


def run_sweep(design: Design, design_file: str, out: Path, workers: int,
              scheduler: str | None, batch: int, progress: bool = True) -> dict:
    """Run what is missing of a design into ``out``; return the session recorded."""
    out = Path(out)
    scenario = load(design.scenario)
    try:
        resolve(scenario.params)
    except ValueError as err:
        raise InputError(f"scenario {design.scenario!r}: {err}") from None
    digest = sweep_digest(design, scenario.params)
    check_out(out, digest)
    tasks = sweep_tasks(design, scenario.params)
    backend = Backend(workers, scheduler)
    store = ResultStore(out, schema(design.names))
    try:
        out.mkdir(parents=True, exist_ok=True)
        manifest = read_manifest(out) or {
            "design_file": design_file,
            "design": design.to_dict(),
            "sweep_digest": digest,
            "scenario_params": scenario.params,
            "points": len(tasks) // design.seeds,
            "runs": len(tasks),
            "package_version": provenance.package_version(),
            "versions": provenance.versions(),
            "git_revision": provenance.git_revision(),
            "sessions": [],
        }
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

        run_tasks(tasks, backend, store=store, batch=batch, progress=progress, desc="sweep",
                  on_finish=record)
    finally:
        backend.close()
    return manifest["sessions"][-1]
