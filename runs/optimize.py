"""Robust policy search (``xianghe optimize``, :func:`runs.api.optimize`): which settings
of the levers reach an aim in most states of the world, at what public cost?

The county chooses its measures before it knows which of the model's uncertain parameters
are true. A many-objective robust search (Kasprzyk et al. 2013, *Environmental Modelling
& Software* 42; Kwakkel 2017, *EMS* 96) scores each setting of the levers over the same
states of the world and keeps the settings no other beats on every score:

* **The levers searched** are those the chosen measures set (default: the county report's
  seven, :data:`runs.scenario.MEASURES`). A switch is on or off; a number ranges from its
  "as it was" default to three times the step the county report proposes
  (``runs/scenarios``: a subsidy rate of 0.1 is searched over 0-0.3, 48 checkpoint lanes
  over 36-72), within its declared range, on a grid of a 120th of that range (the
  proposal on it; so a package reads as a package, and a setting met twice is run once);
  the search starts from the county report's package, each measure alone and the
  baseline (:func:`proposals`) beside random settings. ``ranges`` (``--range
  NAME=LOW:HIGH``) sets another. With ``start_years`` (``--start-years 2022:2026``) each
  measure's first year is searched too (the levers of a measure start together).
* **The states of the world**: ``draws`` parameter draws (the calibration's posterior, or
  with ``space="prior"`` the lever strengths and the parameters the figures cannot inform
  from their priors) x ``seeds`` seeds: every candidate and the baseline run on the same
  ones (common random numbers), so a difference between two candidates is theirs.
* **The scores**: the mean discounted public cost (yuan, as the report discounts it), the
  mean gain (extra projects producing in Xianghe at the end of ``until``), and the
  robustness: the share of the states in which the setting meets the aim (at least
  ``min_gain`` extra projects and, if given, a cost of at most ``max_cost_per_job`` yuan
  per extra job; the aim of :mod:`runs.discover`).
* **The search**: NSGA-II (Deb et al. 2002) from platypus, with EMA Workbench's
  ``Problem`` (its decision variables and directions) and its ``CombinedVariator`` (the
  operators for a mix of reals, integers and switches), keeping an epsilon-box archive
  (:data:`EPSILONS`) as EMA's searches do. What is wrapped: platypus asks an
  ``Evaluator`` to score a generation at a time, and :class:`StoreEvaluator` runs the
  generation's settings through the project's engine and store instead of EMA's
  evaluators -- a setting's runs are stored under a name made of its levers, draw and
  seed, so a killed search, started again with the same arguments, replays its seeded
  generations from the stored runs and goes on where it stopped, runs on a Dask cluster
  with ``--scheduler``, and never runs a setting twice. platypus draws from Python's global
  ``random``; the search seeds it and puts the caller's state back after.
* **The check**: every member of the Pareto set is run again on fresh draws and seeds, and
  its robustness there is set beside the search's, with the noise the two estimates
  carry (:func:`noise`): a search picks members partly for their luck on its own states,
  and the fresh states say what is left of it. The cheapest member meeting the aim in at
  least ``min_share`` of the fresh states is named.

Tables (CSV and Parquet), figures (the front: cost against gain coloured by robustness;
the levers of the Pareto set in parallel coordinates) and ``optimization.md`` are written
at once beside the runs, as :mod:`runs.discover` writes its folder.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd

from model.params import PARAMS, Switch, levers_set

from . import provenance
from . import scenario as scenarios
from .engine import Backend, RunTask, run_tasks
from .errors import InputError
from .folders import manifest_of, output
from .report import BASELINE, RUNS, paired_quantities, runs_state, write_folder
from .store import ResultStore, schema, write_manifest

STEP_TIMES = 3          # a number is searched up to this many times the county report's step
GRID = 120              # ... on a grid of this many steps (the report's value on it)
# The epsilon-box archive's resolution by default (Laumanns et al. 2002; ``--epsilons``):
# two settings closer than this on every score are one for the Pareto set.
EPSILONS = {"cost_yuan": 2.5e8, "gain": 5.0, "robustness": 0.05}
OBJECTIVES = tuple(EPSILONS)
FAMILY_ALPHA = 0.05     # the chance that any member's fresh robustness strays beyond noise
FRESH = 10_000          # fresh draws and seeds: the search's seed plus this
SEARCH_SEED = 20_250    # mixed with --seed for platypus's random stream
NEEDED = ("public_spending_yuan", "project_tax_yuan", "worker_surplus_yuan",
          "firm_surplus_yuan", "projects_operating", "project_jobs", "projects_landed",
          "neighbours_projects_signed", "firms_signed")
TABLES = ("pareto", "evaluations", "space")


# ---------------------------------------------------------------------------- the space

@dataclass(frozen=True)
class Lever:
    """A decision variable: a lever (or a measure's first year) and its range."""

    name: str
    low: float | int | None = None     # None for a switch
    high: float | int | None = None
    measure: str = ""
    proposed: float | int | bool | None = None   # the county report's value

    @property
    def switch(self) -> bool:
        return self.low is None

    @property
    def integer(self) -> bool:
        return not self.switch and (self.name.endswith("_from")
                                    or PARAMS[self.name].type is int)

    def value(self, raw):
        """A decoded variable as the lever's value, on the search's grid."""
        if self.switch:
            return bool(raw)
        if self.integer:
            return int(min(max(int(raw), self.low), self.high))
        step = (self.high - self.low) / GRID
        return float(round(self.low + round((float(raw) - self.low) / step) * step, 12))


def space(measures: list[str], ranges: dict[str, tuple[float, float]] | None = None,
          start_years: tuple[int, int] | None = None) -> list[Lever]:
    """The decision variables: every lever the ``measures`` set (a switch on or off, a
    number from its default to :data:`STEP_TIMES` its proposed step, or ``ranges``), and
    with ``start_years`` each measure's first year."""
    levers: dict[str, Lever] = {}
    names = []
    for ref in measures:
        sc = ref if isinstance(ref, scenarios.Scenario) else scenarios.load(ref)
        m = sc.name
        names.append(m)
        for name in levers_set(sc.params):
            p = PARAMS[name]
            proposed = sc.params[name]
            if isinstance(p, Switch):
                levers[name] = Lever(name, measure=m, proposed=proposed)
                continue
            far = p.default + STEP_TIMES * (proposed - p.default)
            low, high = max(p.low, min(p.default, far)), min(p.high, max(p.default, far))
            levers[name] = Lever(name, p.type(low), p.type(high), m, proposed)
    for name, (low, high) in (ranges or {}).items():
        if name not in levers or levers[name].switch:
            numbers = sorted(n for n, lv in levers.items() if not lv.switch)
            raise InputError(f"--range {name}: not a number lever the measures set; "
                             f"allowed: {', '.join(numbers)}")
        p = PARAMS[name]
        if not (p.low <= low < high <= p.high):
            raise InputError(f"--range {name}={low:g}:{high:g}: allowed: LOW < HIGH within "
                             f"{p.range_text}")
        was = levers[name]
        levers[name] = Lever(name, p.type(low), p.type(high), was.measure,
                             min(max(was.proposed, p.type(low)), p.type(high)))
    out = list(levers.values())
    if start_years is not None:
        out += [Lever(f"{m}_from", start_years[0], start_years[1], m) for m in names
                if any(lv.measure == m for lv in levers.values())]
    if not out:
        raise InputError("--measures: they set no lever; allowed: measures that set levers")
    return out


def proposals(levers: list[Lever], start: int) -> list[dict]:
    """The settings a search starts from beside random ones: the county report's package
    (every lever as proposed, from ``start``), each measure alone as proposed, and the
    baseline (every lever as it was). A search that starts from the known policies needs
    fewer generations to improve on them (as EMA Workbench's ``initial_population``)."""
    def setting(measures: set[str]) -> dict:
        values = {}
        for lv in levers:
            if lv.name.endswith("_from"):
                values[lv.name] = min(max(start, lv.low), lv.high)
            elif lv.measure in measures:
                values[lv.name] = lv.proposed
            else:
                values[lv.name] = False if lv.switch else PARAMS[lv.name].default
        return values

    measures = list(dict.fromkeys(lv.measure for lv in levers))
    return [setting(set(measures)), *(setting({m}) for m in measures), setting(set())]


def settings(levers: list[Lever], values: dict, start: int) -> dict:
    """A candidate's parameter values: its levers, each starting its measure's first year
    (searched, or ``start``)."""
    params = {lv.name: values[lv.name] for lv in levers if not lv.name.endswith("_from")}
    for name in levers_set(params):
        measure = next(lv.measure for lv in levers if lv.name == name)
        params[PARAMS[name].start_year] = int(values.get(f"{measure}_from", start))
    return params


def key(params: dict) -> str:
    """A candidate's name: the levers it sets away from their defaults, with their years
    (the baseline is ``{}``), as canonical JSON."""
    return json.dumps(levers_set(params), sort_keys=True)


def _hash(*parts) -> int:
    text = json.dumps(parts, sort_keys=True)
    return int(hashlib.sha256(text.encode()).hexdigest()[:15], 16)


def noise(p1: float, n1: int, p2: float, n2: int, members: int) -> float:
    """The difference two independent estimates of one share (``p1`` of ``n1`` states,
    ``p2`` of ``n2``) stay within, for every one of ``members`` at once, with probability
    1 - :data:`FAMILY_ALPHA` (Bonferroni): z times the binomial standard error of the
    difference, the share taken as the pooled one shrunk toward a half by one state each
    way (so that a share of 0 or 1 still has noise)."""
    pooled = (p1 * n1 + p2 * n2 + 1) / (n1 + n2 + 2)
    z = NormalDist().inv_cdf(1 - FAMILY_ALPHA / (2 * max(members, 1)))
    return z * math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))


# ---------------------------------------------------------------------------- scoring

class Runs:
    """The runs of a search in ``out/runs``: each candidate's, stored under names made of
    its levers, draw and seed; scored against the baseline on the same states."""

    def __init__(self, out: Path, draws: list[dict], seeds: list[int], fresh_draws: list[dict],
                 fresh_seeds: list[int], start: int, until: int, common: dict, *,
                 min_gain: float, max_cost_per_job: float | None, backend: Backend,
                 progress: bool):
        self.states = {"search": (0, draws, seeds),
                       "fresh": (len(draws), fresh_draws, fresh_seeds)}
        self.start, self.until, self.common = start, until, common
        self.years = tuple(range(start - 1, until + 1))
        self.min_gain, self.max_cost_per_job = min_gain, max_cost_per_job
        self.backend, self.progress = backend, progress
        self.dir = out / RUNS
        self.digest = hashlib.sha256(json.dumps(
            {"draws": draws + fresh_draws, "seeds": [seeds, fresh_seeds], "years": self.years,
             "common": common, "version": provenance.package_version()},
            sort_keys=True, default=str).encode()).hexdigest()[:16]
        self.store = ResultStore(self.dir, schema([], extra=["draw"]), identity=self.digest)
        self.rows: dict[int, list[pd.DataFrame]] = {}
        self.scores: dict[tuple[str, str], dict] = {}

    def open(self, repair: bool) -> None:
        """Refuse another search's runs; check the stored runs (a damaged part set aside
        with ``repair``), write the runs' manifest and read what is stored."""
        state = runs_state(self.dir.parent, self.digest)
        if state == "other":
            raise InputError(f"--out {self.dir.parent}: holds the runs of a search on other "
                             "states (draws, seeds, --space, --from, --until, --set or model "
                             "version); allowed: an empty folder, or those same arguments "
                             "(other measures, ranges, aims or search settings reuse its runs)")
        if state == "damaged" and not repair:
            raise InputError(f"--out {self.dir.parent}: its runs' manifest is missing or "
                             "damaged; allowed: --repair writes it again and keeps the runs "
                             "that are sound")
        for done in self.store.verify(repair=repair, hint="--repair"):
            print(f"{self.dir}: {done}", flush=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        write_manifest(self.dir, {"kind": "optimization", "digest": self.digest,
                                  "years": list(self.years),
                                  "package_version": provenance.package_version()})
        stored = self.store.read()
        if len(stored):
            stored = stored[stored["status"] == "ok"]
            for point, rows in stored.groupby("point"):
                self.rows[int(point)] = [rows[["run_id", "draw", "seed", "year", *NEEDED]]]

    def _tasks(self, params: dict, which: str) -> list[RunTask]:
        offset, draws, seeds = self.states[which]
        k = key(params)
        point = _hash(k)
        return [RunTask(_hash(k, offset + d, s), point, s, {**vector, **self.common, **params},
                        {"draw": offset + d}, self.years)
                for d, vector in enumerate(draws) for s in seeds]

    def states_of(self, which: str) -> int:
        """How many states (draws x seeds) the ``which`` states are."""
        _offset, draws, seeds = self.states[which]
        return len(draws) * len(seeds)

    def _complete(self, point: int, which: str) -> bool:
        offset, draws, _seeds = self.states[which]
        got = self.rows.get(point)
        if not got:
            return False
        frame = pd.concat(got)
        mine = frame[(frame["draw"] >= offset) & (frame["draw"] < offset + len(draws))]
        return mine["run_id"].nunique() == self.states_of(which)

    def score(self, candidates: list[dict], which: str = "search", desc: str = "runs"
              ) -> list[dict]:
        """Each candidate's scores on the ``which`` states ("search" or "fresh"), running
        what is not stored, the baseline with them."""
        todo: list[RunTask] = []
        points: set[int] = set()
        for params in [{}, *candidates]:
            tasks = self._tasks(params, which)
            point = tasks[0].point
            if point not in points and not self._complete(point, which):
                todo += tasks
                points.add(point)
        if todo:
            kept: list[dict] = []
            run_tasks(todo, self.backend, store=self.store, keep=kept.extend, batch=16,
                      progress=self.progress, desc=desc)
            new = pd.DataFrame(kept)
            failed = new[new["status"] != "ok"] if len(new) else new
            if len(failed):
                raise InputError(f"a search run failed (seed {int(failed['seed'].iloc[0])}): "
                                 f"{failed['error'].iloc[0]}")
            for point, rows in (new.groupby("point") if len(new) else []):
                self.rows.setdefault(int(point), []).append(
                    rows[["run_id", "draw", "seed", "year", *NEEDED]])
            if not all(self._complete(point, which) for point in points):
                raise InputError(f"--out {self.dir.parent}: runs of the search are missing "
                                 "from its store; allowed: --repair")
        return [self._score(params, which) for params in candidates]

    def cases(self, params: dict, which: str) -> pd.DataFrame:
        """A row a state: cost, gain, jobs and whether the candidate meets the aim."""
        offset, draws, _seeds = self.states[which]

        def runs_of(p: dict, name: str) -> pd.DataFrame:
            frame = pd.concat(self.rows[_hash(key(p))])
            frame = frame[(frame["draw"] >= offset) & (frame["draw"] < offset + len(draws))]
            return frame.drop_duplicates(["run_id", "year"]).assign(scenario=name)

        both = pd.concat([runs_of({}, BASELINE), runs_of(params, "candidate")])
        q = paired_quantities(both, "candidate", self.start, self.until)
        with np.errstate(divide="ignore", invalid="ignore"):
            per_job = np.where(q["d_jobs"] > 0, q["cost"] / q["d_jobs"], np.inf)
        meets = q["d_operating"].to_numpy() >= self.min_gain
        if self.max_cost_per_job is not None:
            meets &= per_job <= self.max_cost_per_job
        return q[["draw", "seed"]].assign(cost_yuan=q["cost"], gain=q["d_operating"],
                                          jobs=q["d_jobs"], meets=meets)

    def _score(self, params: dict, which: str) -> dict:
        k = (key(params), which)
        if k not in self.scores:
            c = self.cases(params, which)
            self.scores[k] = {"cost_yuan": float(c["cost_yuan"].mean()),
                              "gain": float(c["gain"].mean()),
                              "robustness": float(c["meets"].mean()), "states": len(c)}
        return self.scores[k]


# ---------------------------------------------------------------------------- the search

def _problem(levers: list[Lever]):
    from ema_workbench import BooleanParameter, IntegerParameter, RealParameter, ScalarOutcome
    from ema_workbench.em_framework.optimization import Problem

    variables = [BooleanParameter(lv.name) if lv.switch
                 else IntegerParameter(lv.name, lv.low, lv.high) if lv.integer
                 else RealParameter(lv.name, lv.low, lv.high) for lv in levers]
    objectives = [ScalarOutcome("cost_yuan", kind=ScalarOutcome.MINIMIZE),
                  ScalarOutcome("gain", kind=ScalarOutcome.MAXIMIZE),
                  ScalarOutcome("robustness", kind=ScalarOutcome.MAXIMIZE)]
    # "robust": the search is over levers, each scored over many states of the world
    return Problem("robust", variables, objectives, reference=("draws",))


def encode(problem, levers: list[Lever], values: dict):
    """Lever values as a platypus solution (:func:`decode`'s inverse)."""
    from platypus import Solution

    solution = Solution(problem)
    solution.variables[:] = [kind.encode([int(bool(values[lv.name]))] if lv.switch
                                         else values[lv.name])
                             for lv, kind in zip(levers, problem.types, strict=True)]
    return solution


def decode(problem, levers: list[Lever], solution) -> dict:
    """A platypus solution as lever values, on the search's grid."""
    values = {}
    for lv, kind, raw in zip(levers, problem.types, solution.variables, strict=True):
        decoded = kind.decode(raw)
        if lv.switch:
            decoded = problem.decision_variables[lv.name].categories[decoded[0]].value
        values[lv.name] = lv.value(decoded)
    return values


def _evaluator(problem, levers: list[Lever], runs: Runs, start: int, generations: int,
               log: list[dict]):
    from platypus.evaluator import Evaluator

    class StoreEvaluator(Evaluator):
        """Scores a generation at a time through the project's engine and store (what
        EMA Workbench's evaluators would run through its own model interface)."""

        generation = 0

        def evaluate_all(self, jobs, **kwargs):
            self.generation += 1
            values = [decode(problem, levers, job.solution) for job in jobs]
            candidates = [settings(levers, v, start) for v in values]
            scores = runs.score(candidates, "search",
                                desc=f"generation {self.generation}/{generations}")
            for job, v, c, s in zip(jobs, values, candidates, scores, strict=True):
                objectives = [s[o] for o in OBJECTIVES]
                problem.function = lambda _vars, objectives=objectives: objectives
                job.solution.evaluate()
                log.append({"generation": self.generation, "candidate": key(c), **v,
                            **{o: s[o] for o in OBJECTIVES}})
            return jobs

    return StoreEvaluator()


def _variator(nvars: int):
    """EMA Workbench's operators for mixed variables (SBX and polynomial mutation for
    numbers, HUX and bit flips for integers, swaps and flips for switches), mended where
    EMA 3.0 does not fit: each variable mutates with probability 1/n (the usual rate, Deb
    2001; EMA's default of 1 mutates every lever of every child), an integer's bits flip
    one at a time with probability 1/bits (EMA flips them all), and a switch flips to its
    other value (EMA compares platypus's encoded subsets with their elements and fails)."""
    from ema_workbench.em_framework.optimization import CombinedVariator
    from platypus import Integer, Subset

    class Variator(CombinedVariator):
        def mutate_integer(self, child, i, kind, probability=None):
            return super().mutate_integer(child, i, kind, 1.0 / kind.nbits)

        def mutate_categorical(self, child, i, kind):
            others = [e for e in kind.elements if [e] != list(child.variables[i])]
            child.variables[i] = [random.choice(others)]
            return child

        _mutate = {**CombinedVariator._mutate, Integer: mutate_integer,
                   Subset: mutate_categorical}

    return Variator(crossover_prob=0.5, mutation_prob=1.0 / nvars)


@dataclass
class Optimization:
    """What :func:`make` found: the ``pareto`` set (levers, the search's scores, the fresh
    scores and whether the robustness held), every ``evaluations`` row of the search, the
    ``space`` searched, the ``chosen`` member (the cheapest meeting the aim on fresh
    states; None if none does), the plain-words ``summary`` and the folder's file."""

    pareto: pd.DataFrame
    evaluations: pd.DataFrame
    space: pd.DataFrame
    chosen: pd.Series | None
    summary: str
    path: Path | None = None


def search(levers: list[Lever], runs: Runs, *, population: int, generations: int,
           start: int, seed: int, epsilons: dict[str, float] = EPSILONS
           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """NSGA-II over ``levers`` for ``population x generations`` evaluations: the
    epsilon-nondominated archive and every evaluation, in order."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import platypus

        problem = _problem(levers)
        log: list[dict] = []
        state = random.getstate()
        random.seed(_hash(SEARCH_SEED, seed))
        try:
            known = [encode(problem, levers, v) for v in proposals(levers, start)]
            algorithm = platypus.NSGAII(
                problem, population_size=population, variator=_variator(len(levers)),
                generator=platypus.InjectedPopulation(known[:population][::-1]),
                evaluator=_evaluator(problem, levers, runs, start, generations, log),
                archive=platypus.EpsilonBoxArchive([epsilons[o] for o in OBJECTIVES]))
            algorithm.run(population * generations)
            members = [decode(problem, levers, s) for s in algorithm.archive]
        finally:
            random.setstate(state)
    evaluations = pd.DataFrame(log)
    names = [lv.name for lv in levers]
    pareto = pd.DataFrame(members, columns=names)
    pareto["candidate"] = [key(settings(levers, m, start)) for m in members]
    pareto = pareto.drop_duplicates("candidate")
    scored = evaluations.drop_duplicates("candidate").set_index("candidate")[list(OBJECTIVES)]
    pareto = pareto.join(scored, on="candidate")
    return pareto.sort_values(["cost_yuan", "gain"]).reset_index(drop=True), evaluations


def check(pareto: pd.DataFrame, levers: list[Lever], runs: Runs, start: int,
          min_share: float) -> tuple[pd.DataFrame, pd.Series | None]:
    """Every member on fresh draws and seeds: its fresh scores, the noise allowed and
    whether its robustness held; and the cheapest member whose fresh robustness is at
    least ``min_share``."""
    candidates = [settings(levers, r, start) for r in pareto.to_dict("records")]
    fresh = runs.score(candidates, "fresh", desc="fresh states")
    n, m = runs.states_of("search"), runs.states_of("fresh")
    out = pareto.assign(fresh_cost_yuan=[f["cost_yuan"] for f in fresh],
                        fresh_gain=[f["gain"] for f in fresh],
                        fresh_robustness=[f["robustness"] for f in fresh])
    out["noise"] = [noise(r, n, f, m, len(out))
                    for r, f in zip(out["robustness"], out["fresh_robustness"], strict=True)]
    out["holds"] = (out["fresh_robustness"] - out["robustness"]).abs() <= out["noise"]
    out.insert(0, "member", range(1, len(out) + 1))
    meeting = out[out["fresh_robustness"] >= min_share].sort_values("fresh_cost_yuan")
    return out, (meeting.iloc[0] if len(meeting) else None)


# ---------------------------------------------------------------------------- writing

def package_words(row: pd.Series, levers: list[Lever]) -> str:
    """A member's levers, as an official reads them: what is on and at what level."""
    parts = []
    for lv in levers:
        v = row[lv.name]
        if lv.name.endswith("_from"):
            continue
        if lv.switch:
            if v:
                parts.append(lv.name)
        elif v != PARAMS[lv.name].default:
            level = (f"{v / 1e6:,.0f} m {PARAMS[lv.name].unit}" if lv.name.endswith("_yuan")
                     else PARAMS[lv.name].format(v))
            parts.append(f"{lv.name} {level}")
    years = [f"{lv.measure} from {int(row[lv.name])}" for lv in levers
             if lv.name.endswith("_from")]
    return (", ".join(parts) or "nothing (the baseline)") + (
        f" ({'; '.join(years)})" if years else "")


def summary(opt: Optimization, levers: list[Lever], aim: str, min_share: float,
            states: tuple[int, int]) -> str:
    p = opt.pareto
    held = int(p["holds"].sum())
    def span(low: str, high: str) -> str:
        return low if low == high else f"{low} to {high}"

    members = f"{len(p)} member{'s' if len(p) != 1 else ''}"
    lines = [f"Aim: {aim}, in at least {min_share:.0%} of the states of the world. The search "
             f"scored {opt.evaluations['candidate'].nunique()} settings of {len(levers)} "
             f"levers on {states[0]} states; its Pareto set has {members}, costing "
             f"{span(f'{p.cost_yuan.min() / 1e6:,.0f}', f'{p.cost_yuan.max() / 1e6:,.0f}')} "
             f"m yuan and gaining {span(f'{p.gain.min():.1f}', f'{p.gain.max():.1f}')} "
             "projects on average."]
    lines.append(f"Run again on {states[1]} fresh states, the Pareto set keeps its "
                 f"robustness within the noise of two estimates of a share in {held} of "
                 f"{len(p)} (a difference beyond it for any member has a chance of "
                 f"{FAMILY_ALPHA:.0%}).")
    c = opt.chosen
    if c is None:
        lines.append(f"No member meets the aim in {min_share:.0%} of the fresh states: the "
                     "aim is out of the reach of these levers, or the search needs more "
                     "generations (`--generations`).")
    else:
        lines.append(f"The cheapest member meeting it is member {int(c['member'])}: "
                     f"{package_words(c, levers)}; it costs {c['fresh_cost_yuan'] / 1e6:,.0f} "
                     f"m yuan, gains {c['fresh_gain']:.1f} projects and meets the aim in "
                     f"{c['fresh_robustness']:.0%} of the fresh states ({c['robustness']:.0%} "
                     "in the search's).")
    return " ".join(lines)


def _figures(opt: Optimization, levers: list[Lever], folder: Path) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    from .plots import save

    folder.mkdir()
    sns.set_theme(style="whitegrid", context="paper")
    made = []
    p, ev = opt.pareto, opt.evaluations.drop_duplicates("candidate")
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.scatter(ev["cost_yuan"] / 1e9, ev["gain"], s=10, color="0.8", label="settings scored")
    points = ax.scatter(p["cost_yuan"] / 1e9, p["gain"], c=p["robustness"], cmap="viridis",
                        vmin=0, vmax=1, s=45, edgecolors="k", linewidths=0.4,
                        label="Pareto set")
    if opt.chosen is not None:
        c = opt.chosen
        ax.scatter([c["cost_yuan"] / 1e9], [c["gain"]], s=160, facecolors="none",
                   edgecolors="crimson", linewidths=1.5, label="cheapest meeting the aim")
    fig.colorbar(points, ax=ax, label="robustness (share of states meeting the aim)")
    ax.set(xlabel="public cost, discounted (bn yuan)",
           ylabel="extra projects producing at the end (mean)",
           title="The Pareto front of the levers")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save(fig, folder / "pareto-front")
    made.append(("The Pareto front: cost against gain, coloured by robustness",
                 "figures/pareto-front.png"))
    axes = [lv for lv in levers if lv.switch or lv.high > lv.low] + list(OBJECTIVES)
    names = [a.name if isinstance(a, Lever) else a for a in axes]
    scaled = pd.DataFrame(index=p.index)
    for a, name in zip(axes, names, strict=True):
        if isinstance(a, Lever):
            lo, hi = (0, 1) if a.switch else (a.low, a.high)
        else:
            lo, hi = (0, 1) if name == "robustness" else (ev[name].min(), ev[name].max())
        scaled[name] = (p[name].astype(float) - lo) / ((hi - lo) or 1)
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(names)), 4))
    cmap = plt.get_cmap("viridis")
    for i, row in scaled.iterrows():
        ax.plot(range(len(names)), row.to_numpy(), color=cmap(p.loc[i, "robustness"]),
                alpha=0.8, linewidth=1.2)
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
    ax.set(ylim=(-0.05, 1.05), ylabel="within the range searched (0 low, 1 high)",
           title="The Pareto set's levers and scores")
    fig.colorbar(plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, 1)), ax=ax,
                 label="robustness")
    fig.tight_layout()
    save(fig, folder / "pareto-levers")
    made.append(("The Pareto set in parallel coordinates", "figures/pareto-levers.png"))
    return made


def _markdown(opt: Optimization, levers: list[Lever], figures: list[tuple[str, str]]) -> str:
    rows = ["| member | package | cost, m yuan | gain | robustness | fresh cost | fresh gain "
            "| fresh robustness | noise | holds |", "|" + "---|" * 10]
    for r in opt.pareto.itertuples(index=False):
        s = pd.Series(r._asdict())
        rows.append(f"| {r.member} | {package_words(s, levers)} | {r.cost_yuan / 1e6:,.0f} | "
                    f"{r.gain:.1f} | {r.robustness:.2f} | {r.fresh_cost_yuan / 1e6:,.0f} | "
                    f"{r.fresh_gain:.1f} | {r.fresh_robustness:.2f} | {r.noise:.2f} | "
                    f"{'yes' if r.holds else 'no'} |")
    parts = ["# Robust policy search", "", opt.summary, "", "## The Pareto set", "", *rows, ""]
    for caption, path in figures:
        parts += [f"![{caption}]({path})", ""]
    return "\n".join(parts)


def write(opt: Optimization, levers: list[Lever], out: Path, info: dict) -> Path:
    """The folder, written at once: optimization.md, tables, figures, the runs, manifest."""
    def fill(new: Path) -> None:
        figures = _figures(opt, levers, new / "figures")
        (new / "optimization.md").write_text(_markdown(opt, levers, figures), "utf-8")

    write_folder(out, "optimization", {name: getattr(opt, name) for name in TABLES}, fill,
                 info)
    return out / "optimization.md"


def make(levers: list[Lever], out: Path, *, draws: list[dict], fresh_draws: list[dict],
         seeds: list[int], fresh_seeds: list[int], start: int, until: int, common: dict,
         min_gain: float, max_cost_per_job: float | None, min_share: float,
         population: int, generations: int, seed: int, space_name: str,
         epsilons: dict[str, float] = EPSILONS, workers: int = 1,
         scheduler: str | None = None, progress: bool = True, wait: bool = False,
         repair: bool = False) -> Optimization:
    """Search, check the Pareto set on fresh states and write the folder (resuming)."""
    from .discover import aim_words

    out = Path(out)
    started = time.perf_counter()
    with output(out, "optimization", wait=wait, store=RUNS):
        backend = Backend(workers, scheduler)
        try:
            runs = Runs(out, draws, seeds, fresh_draws, fresh_seeds, start, until, common,
                        min_gain=min_gain, max_cost_per_job=max_cost_per_job,
                        backend=backend, progress=progress)
            runs.open(repair)
            pareto, evaluations = search(levers, runs, population=population,
                                         generations=generations, start=start, seed=seed,
                                         epsilons=epsilons)
            pareto, chosen = check(pareto, levers, runs, start, min_share)
        finally:
            backend.close()
        table = pd.DataFrame([{"lever": lv.name, "measure": lv.measure,
                               "kind": "switch" if lv.switch else
                               "integer" if lv.integer else "number",
                               "low": lv.low, "high": lv.high} for lv in levers])
        aim = aim_words(min_gain, max_cost_per_job, until)
        opt = Optimization(pareto, evaluations, table, chosen, "")
        opt.summary = summary(opt, levers, aim, min_share,
                              (len(draws) * len(seeds), len(fresh_draws) * len(fresh_seeds)))
        info = manifest_of(
            "optimization", summary=opt.summary, aim=aim, min_gain=min_gain, max_cost_per_job=max_cost_per_job,
            min_share=min_share, space=space_name, levers=table.to_dict("records"),
            population=population, generations=generations, seed=seed, seeds=seeds,
            fresh_seeds=fresh_seeds, draws=len(draws), **{"from": start}, until=until,
            epsilons=epsilons, family_alpha=FAMILY_ALPHA,
            chosen=None if chosen is None else chosen["candidate"],
            package_version=provenance.package_version(), versions=provenance.versions(),
            git_revision=provenance.git_revision(),
            seconds=round(time.perf_counter() - started, 1), written=provenance.timestamp())
        opt.path = write(opt, levers, out, info)
    return opt
