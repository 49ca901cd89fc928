"""Designs of experiments: which parameter values to run, with which seeds, for which years.

A design file is TOML (docs/commands.md)::

    scenario = "baseline"      # every run starts from this scenario
    sampler = "grid"           # grid | lhs | sobol | morris
    samples = 16               # base samples for lhs / sobol / morris (ignored by grid)
    seeds = 5                  # replicate seeds 1..5, the same for every design point
    years = [2020, 2025, 2030] # years whose indicators are stored
    [params]
    talent_agents = [5000, 10000]            # grid: a list of values
    some_lever = { low = 0.0, high = 0.3 }   # lhs / sobol / morris: a range

Optional: ``sampler_seed`` (default 0) seeds the sampler, so the same file always gives
the same points; ``start_year`` is the first year of every lever the design sets (unless
its ``<lever>_start_year`` is itself a design parameter), by default the policy year 2022. Grid takes the full product of the lists. Latin hypercube (scipy.stats.qmc)
gives ``samples`` points; Sobol (SALib, Saltelli's scheme without second-order terms) gives
``samples x (D + 2)`` and Morris (SALib) ``samples x (D + 1)`` for D parameters. Integer
parameters are rounded (Latin hypercube gives each integer an equal share; a Morris
integer range must split into three equal steps); a range must lie inside the parameter's
declared range, and every sampled point must be one the model accepts.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from model.params import (FIRST_YEAR, LAST_YEAR, PARAMS, Integer, Number, ParamError, is_year,
                          lookup)

from .errors import InputError, check_count, check_runs

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

SAMPLERS = ("grid", "lhs", "sobol", "morris")
KEYS = {"scenario", "sampler", "samples", "seeds", "years", "params", "sampler_seed",
        "start_year"}
MORRIS_LEVELS = 4


@dataclass(frozen=True)
class Design:
    """A parsed, checked design."""

    scenario: str
    sampler: str
    samples: int
    seeds: int
    years: tuple[int, ...]
    params: dict            # name -> list of values (grid) or [low, high] (others)
    sampler_seed: int = 0
    start_year: int | None = None   # first year of the design's levers (None: their own)

    @property
    def names(self) -> list[str]:
        return list(self.params)

    def starts(self) -> dict[str, int]:
        """The start years the design gives its levers: ``{companion: year}``."""
        if self.start_year is None:
            return {}
        companions = (PARAMS[n].start_year for n in self.params if PARAMS[n].start_year)
        return {c: self.start_year for c in companions if c not in self.params}

    @property
    def until(self) -> int:
        return max(self.years)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["years"] = list(self.years)
        if d["start_year"] is None:     # a design without it keeps the digest it had
            del d["start_year"]
        return d

    @property
    def digest(self) -> str:
        """Identity of the design: two files with the same content share it.

        The parameters' order is part of it: it orders the sampled columns and the points.
        """
        text = json.dumps({**self.to_dict(), "order": self.names}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def problem(self) -> dict:
        """The SALib problem of a range design."""
        return {"num_vars": len(self.params), "names": self.names,
                "bounds": [list(v) for v in self.params.values()]}


def _fail(path, message: str):
    raise InputError(f"design {path}: {message}")


def load_design(path: str | Path) -> Design:
    """Read and check a design file; every problem is an :class:`InputError`."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise InputError(f"design file {path} does not exist") from None
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"design {path}: malformed TOML: {err}".replace("\n", " ")) from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"design {path}: cannot be read: {err}".replace("\n", " ")) from None
    unknown = set(data) - KEYS
    if unknown:
        _fail(path, f"unknown key {sorted(unknown)[0]!r}; allowed: {', '.join(sorted(KEYS))}")

    sampler = data.get("sampler", "grid")
    if sampler not in SAMPLERS:
        _fail(path, f"unknown sampler {sampler!r}; allowed: {', '.join(SAMPLERS)}")
    scenario = data.get("scenario", "baseline")
    if not isinstance(scenario, str):
        _fail(path, "scenario must be a string")
    samples = data.get("samples", 16)
    seeds = data.get("seeds", 1)
    try:
        check_count("samples", samples, 1)
        check_count("seeds", seeds, 1)
    except InputError as err:
        _fail(path, str(err))
    sampler_seed = data.get("sampler_seed", 0)
    if isinstance(sampler_seed, bool) or not isinstance(sampler_seed, int) or sampler_seed < 0:
        _fail(path, f"sampler_seed {sampler_seed!r}; allowed: an integer of 0 or more")
    years = data.get("years", [2020])
    if not isinstance(years, list) or not years or not all(is_year(y) for y in years):
        _fail(path, f"years {years!r}; allowed: a non-empty list of years in "
                    f"[{FIRST_YEAR}, {LAST_YEAR}]")
    start_year = data.get("start_year")
    if start_year is not None and not is_year(start_year):
        _fail(path, f"start_year {start_year!r}; allowed: a year in [{FIRST_YEAR}, {LAST_YEAR}]")
    raw = data.get("params", {})
    if not isinstance(raw, dict) or not raw:
        _fail(path, "params must be a table naming at least one parameter")

    params = {}
    for name, spec in raw.items():
        try:
            p = lookup(name)
        except ParamError as err:
            _fail(path, str(err))
        if sampler == "grid":
            if not isinstance(spec, list) or not spec:
                _fail(path, f"parameter {name}: the grid sampler needs a non-empty list "
                            "of values")
            try:
                params[name] = [p.check(v) for v in spec]
            except ParamError as err:
                _fail(path, str(err))
        else:
            if (not isinstance(spec, dict) or set(spec) != {"low", "high"}):
                _fail(path, f"parameter {name}: the {sampler} sampler needs a range "
                            "{ low = ..., high = ... }")
            if not isinstance(p, Number):
                _fail(path, f"parameter {name}: a true/false parameter cannot be sampled "
                            "from a range; use the grid sampler")
            try:
                low, high = p.check(spec["low"]), p.check(spec["high"])
            except ParamError as err:
                _fail(path, str(err))
            if not low < high:
                _fail(path, f"parameter {name}: empty range [{low}, {high}]; "
                            "allowed: low < high")
            steps = MORRIS_LEVELS - 1
            if sampler == "morris" and isinstance(p, Integer) and (high - low) % steps:
                _fail(path, f"parameter {name}: the integer range [{low}, {high}] does not "
                            f"split into {steps} equal steps for Morris's {MORRIS_LEVELS} "
                            f"levels; allowed: high - low a multiple of {steps}")
            params[name] = [low, high]
    design = Design(scenario, sampler, samples, seeds, tuple(sorted(set(years))), params,
                    sampler_seed, start_year)
    if sampler in ("sobol", "morris") and len(params) < 2:
        _fail(path, f"the {sampler} sampler needs at least two parameters")
    try:
        check_runs("design points", count_points(design), f"the {sampler} design's points")
    except InputError as err:
        _fail(path, str(err))
    if sampler != "grid":
        _check_points(path, design)
    return design


def count_points(design: Design) -> int:
    """How many points :func:`points` will give, without drawing them."""
    if design.sampler == "grid":
        return math.prod(len(v) for v in design.params.values())
    extra = {"lhs": 0, "sobol": 2, "morris": 1}[design.sampler]
    return design.samples * (len(design.params) + extra) if extra else design.samples


def _check_points(path, design: Design) -> None:
    """A sampled design must be runnable at every point: an analysis needs them all.

    (A grid may hold combinations the model refuses; those runs become failure rows.)
    """
    from model.params import resolve

    from .scenario import load

    base = load(design.scenario).params
    for point, row in points(design).iterrows():
        try:
            resolve({**base, **row.to_dict()})
        except ParamError as err:
            _fail(path, f"design point {point}: {err}; narrow the ranges")


def points(design: Design) -> pd.DataFrame:
    """The design points, one row each, a column per parameter, index = point number."""
    import numpy as np
    import pandas as pd

    names = design.names
    if design.sampler == "grid":
        rows = list(itertools.product(*design.params.values()))
        return pd.DataFrame(rows, columns=names).rename_axis("point")
    unit = _unit_samples(design)
    df = pd.DataFrame(unit, columns=names)
    for name, (low, high) in design.params.items():
        integer = isinstance(lookup(name), Integer)
        if design.sampler == "lhs":
            # Integers get equal shares of the unit interval, the ends included.
            span = high - low + 1 if integer else high - low
            df[name] = low + df[name] * span
            if integer:
                df[name] = np.minimum(np.floor(df[name]), high)
        if integer:
            df[name] = df[name].round().astype(int)
        df[name] = df[name].clip(low, high)
    return df.rename_axis("point")


def _unit_samples(design: Design) -> np.ndarray:
    import numpy as np

    if design.sampler == "lhs":
        from scipy.stats import qmc

        sampler = qmc.LatinHypercube(d=len(design.params),
                                     rng=np.random.default_rng(design.sampler_seed))
        return sampler.random(design.samples)
    if design.sampler == "sobol":
        from SALib.sample import sobol

        return sobol.sample(design.problem(), design.samples, calc_second_order=False,
                            seed=design.sampler_seed)
    from SALib.sample import morris

    return morris.sample(design.problem(), design.samples, num_levels=MORRIS_LEVELS,
                         seed=design.sampler_seed)
