"""Estimation: which parameters the figures can reach, the ABC-SMC posterior, and draws
from it for experiments.

* :func:`screen` moves each uncertain parameter across its prior's 90 % interval, one at a
  time, on common seeds, and records how far each calibration figure moves in units of
  its band. The parameters that move some figure by at least :data:`SCREEN_THRESHOLD`
  half-bands are *estimated*; the others cannot be learnt from the figures (every lever
  is off before 2021, and most costs touch no figure), so their posterior is their prior.
* :func:`calibrate` runs pyabc's ABC-SMC over the estimated parameters: priors as
  declared (log-scale ones perturbed on the log scale), the figures' band centres as the
  observation, a Euclidean distance in half-bands, a median-quantile epsilon schedule, and
  the same seeds for every particle (common random numbers). Its history is pyabc's SQL
  database, so a killed calibration resumes from its last finished generation.
* :func:`posterior_draws` gives experiments the parameter vectors of ``--draws``.
"""

from __future__ import annotations

import functools
import json
import math
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd

from calibration import Target, load_targets
from model.params import DECLARED, PARAMS, Integer, Param, ParamError, Prior, Role

from runs import provenance
from runs.errors import InputError, check_posterior

CALIBRATION = Path(__file__).resolve().parent
SCREENING_FILE = CALIBRATION / "screening.csv"
CALIBRATED_FILE = CALIBRATION / "calibrated.toml"
POSTERIOR_FILE = CALIBRATION / "posterior.parquet"
DEFAULT_DB = "out/calibration/history.db"
DEFAULT_WORK = "out/calibration/work"
SCREEN_THRESHOLD = 0.5     # half-bands a figure must move for the figures to reach it
TOP_PER_FIGURE = 2         # the parameters that move each figure most are estimated
TOP_PER_RATIO = 4          # and those that move each of the ratios below most
# The figures also fix ratios -- 79 of the 80+ firms producing, 7.5 bn yuan from those 79,
# Xianghe's 11 of the area's 39 signings -- that no single figure's largest movers (the
# scale of the relocation) control. The screening ranks the parameters by their relative
# effect on each ratio too, and the top ones are estimated (the distance still counts only
# the figures).
DERIVED = {
    "ratio:operating_share_2020": ("firms_operating", "firms_relocated", 2020),
    "ratio:revenue_per_firm_2020": ("relocated_revenue_yuan", "firms_operating", 2020),
    # Xianghe's 11 of the 39 projects at the 2021 fair: the split between the counties,
    # which the scale of either figure alone does not control.
    "ratio:xianghe_share_of_area_2021": ("firms_signed", "area_projects_signed", 2021),
}
# Estimated whatever the screening says: the screening moves one parameter at a time at
# the declared values, where projects wait for land and the permit stage hardly moves the
# share of firms producing by 2020; where land does not bind, it sets that share with
# `construction_months` (the stage lags of a project that has its land).
# And the two sources of projects: the size of the exposed pool, which sets how fast it
# thins and so what every measure after 2021 acts on, and the rate of new investment
# projects, most of what is signed after 2020. Both move every signing figure, but the
# constants of the location choice (ties, Xianghe's constant) move each more at the
# declared values, so neither is among any figure's two largest movers.
# And the checkpoints' throughput: the daily crossings and the peak delay both move most
# with `beta_commute`, together; only the throughput sets the delay per crossing, which
# the two figures fix jointly (at the declared 180 vehicles an hour no commuting
# coefficient puts both in band).
ALSO_ESTIMATED = ("permit_months_scale", "firm_pool", "new_projects_per_year",
                  "checkpoint_service_veh_h")
# Lever strengths: how strongly a measure acts (the cost, permit and public-service
# coefficients, and the cost of capital that annualises a subsidy). They keep their
# literature priors and are estimated jointly with the rest: the figures of 2014-2021
# depend on them with every measure off (a firm weighs its costs, services and workers'
# access in any year), so drawing them from their priors apart from the parameters fitted
# at their declared values put the draws' 2020 firm stock out of its band (once "cut from
# the fit"; docs/estimation.md). What the figures cannot separate shows as posterior
# correlation with the scale parameters.
LEVER_STRENGTHS = ("beta_cost", "beta_permit_month", "beta_public_services_firm",
                   "beta_worker_access", "cost_of_capital")
# The scale the fit runs at unless `--set` says otherwise: every figure's mean over 40
# seeds is the same at 5,000, 10,000, 20,000 and 50,000 talent agents (firms are whole
# agents at any scale; benchmarks/scale_invariance.py, tests/test_scale.py), and a run to
# 2021 costs about two thirds of the default scale's there. The fit report checks the result at
# the default scale.
ESTIMATION_SCALE = {"talent_agents": 10_000}
FAILED_DISTANCE = 1e6      # what a particle whose run raised scores (never accepted)


# ---------------------------------------------------------------------------- the figures

@dataclass(frozen=True)
class Moment:
    """One calibration figure as the distance sees it."""

    target: Target

    @property
    def key(self) -> str:
        return self.target.key

    @property
    def centre(self) -> float:
        return (self.target.low + self.target.high) / 2

    @property
    def half_band(self) -> float:
        return (self.target.high - self.target.low) / 2


def moments() -> list[Moment]:
    return [Moment(t) for t in load_targets()]


def target_years(ms: list[Moment]) -> tuple[int, ...]:
    """Every year a figure needs, in order (the runs store them)."""
    return tuple(sorted({y for m in ms for y in m.target.years}))


def uncertain() -> list[Param]:
    return [p for p in PARAMS.values() if p.role is Role.UNCERTAINTY]


def held_at_declared(names: list[str]) -> dict:
    """The declared values of the parameters an earlier point set (calibrated.toml) that
    this fit does not estimate: the fit holds them where the point it writes will leave
    them, at their declared values, not at an earlier fit's."""
    return {n: DECLARED[n].default for n, p in PARAMS.items()
            if p.role is Role.UNCERTAINTY and n not in names
            and p.default != DECLARED[n].default}


def _value(p: Param, x: float):
    return int(round(x)) if isinstance(p, Integer) else float(x)


def figures(params: dict, seeds: list[int]) -> dict[str, float]:
    """Each figure's mean over ``seeds`` for one parameter vector (a run to the last
    figure's year per seed). As in ``xianghe run``, a seed with nothing to measure (no
    project signed in the year) is left out of the mean; with none at all, the figure is
    NaN and the particle is never accepted."""
    from model import XiangheModel

    ms = moments()
    until = max(m.target.year for m in ms)
    values = {m.key: [] for m in ms}
    for seed in seeds:
        model = XiangheModel(params, seed=seed)
        model.run_until_year(until)
        annual = model.annual().set_index("year")
        for m in ms:
            values[m.key].append(m.target.measure(annual))
    return {k: float(np.nanmean(v)) if np.isfinite(v).any() else math.nan
            for k, v in ((k, np.asarray(v)) for k, v in values.items())}


def distance(sim: dict[str, float]) -> float:
    """Euclidean distance to the band centres in half-bands: 1 or less puts every figure
    in its band."""
    return math.sqrt(sum(((sim[m.key] - m.centre) / m.half_band) ** 2 for m in moments()))


# ---------------------------------------------------------------------------- screening

def screen(seeds: list[int], workers: int = 1, scheduler: str | None = None,
           progress: bool = True, base: dict | None = None) -> pd.DataFrame:
    """A row per uncertain parameter: how far each figure moves, in half-bands, when the
    parameter goes from its prior's 5th to its 95th percentile (the others at their
    defaults, the same seeds), the largest of these, and whether it is estimated."""
    from runs.engine import RunTask, run_all

    ms = moments()
    years = target_years(ms)
    names = [p.name for p in uncertain()]
    base = {**ESTIMATION_SCALE, **(base or {})}
    tasks, k = [], 0
    for i, p in enumerate(uncertain()):
        for side, q in enumerate((0.05, 0.95)):
            params = {**(base or {}), p.name: _value(p, p.prior_dist.ppf(q))}
            for seed in seeds:
                tasks.append(RunTask(k, 2 * i + side, seed, params, {}, years))
                k += 1
    df = pd.DataFrame(run_all(tasks, workers, scheduler, progress=progress,
                              desc="screening", what="a screening run"))
    out = []
    for i, name in enumerate(names):
        row = {"parameter": name, "prior": PARAMS[name].prior,
               "q05": PARAMS[name].prior_dist.ppf(0.05),
               "q95": PARAMS[name].prior_dist.ppf(0.95)}
        for m in ms:
            per_point = m.target.by_run(df, ["point", "seed"]).groupby(level="point").mean()
            lo, hi = per_point.get(2 * i, math.nan), per_point.get(2 * i + 1, math.nan)
            row[m.key] = abs(hi - lo) / m.half_band
        row["largest"] = max(row[m.key] for m in ms)
        for key, (num, den, year) in DERIVED.items():
            at = df[df["year"] == year]
            ratio = [at.loc[at["point"] == 2 * i + side, num].mean()
                     / max(at.loc[at["point"] == 2 * i + side, den].mean(), 1e-9)
                     for side in (0, 1)]
            row[key] = abs(ratio[1] - ratio[0]) / max(abs(np.mean(ratio)), 1e-9)
        out.append(row)
    df = pd.DataFrame(out)
    return classify(df).sort_values("largest", ascending=False).reset_index(drop=True)


def classify(df: pd.DataFrame) -> pd.DataFrame:
    """Each screened parameter's place in the fit (column ``fit``):

    * ``estimated`` -- among the :data:`TOP_PER_FIGURE` that move some figure most, or the
      :data:`TOP_PER_RATIO` that move one of the :data:`DERIVED` ratios most (lever
      strengths aside), or in :data:`ALSO_ESTIMATED`: the ABC estimates it;
    * ``lever`` -- a lever strength (:data:`LEVER_STRENGTHS`): estimated with its
      literature prior, whatever the screening says of it (:func:`estimated_names`);
    * ``held`` -- moves a figure by :data:`SCREEN_THRESHOLD` half-bands or more, but less
      than the estimated ones: held at its declared value, in the fit and in the draws
      (the posterior is conditional on it);
    * ``prior`` -- moves no figure by that much: the figures cannot teach anything about
      it, so its posterior is its prior and draws take it from there.
    """
    df = df.copy()
    keys = [m.key for m in moments()]
    lever = df["parameter"].isin(LEVER_STRENGTHS)
    top = set()
    for key, n in [*((k, TOP_PER_FIGURE) for k in keys),
                   *((k, TOP_PER_RATIO) for k in DERIVED if k in df)]:
        top |= set(df[~lever].nlargest(n, key)["parameter"])
    top |= set(ALSO_ESTIMATED)
    df["largest"] = df[keys].max(axis=1)
    df["fit"] = np.select([lever, df["parameter"].isin(top),
                           df["largest"] >= SCREEN_THRESHOLD],
                          ["lever", "estimated", "held"], default="prior")
    return df.drop(columns=["estimated"], errors="ignore")


def estimated_names(path: Path = SCREENING_FILE) -> list[str]:
    """The parameters the calibration estimates, as the committed screening chose them:
    the estimated ones and the lever strengths, which keep their literature priors but are
    estimated jointly with the rest (the figures of 2014-2021 depend on them even with
    every measure off: a firm weighs costs, services and workers' access in any year)."""
    if not path.exists():
        raise InputError(f"{path}: no screening; run `xianghe calibrate --screen` first")
    groups = screened(path)
    return groups["estimated"] + groups["lever"]


def screened(path: Path = SCREENING_FILE) -> dict[str, list[str]]:
    """The screening's parameters by their place in the fit (see :func:`classify`)."""
    if not path.exists():
        raise InputError(f"{path}: no screening; run `xianghe calibrate --screen` first")
    try:
        df = pd.read_csv(path)
        chosen = list(df["parameter"])
        fit = dict(zip(df["parameter"], df["fit"], strict=True))
    except (OSError, ValueError, KeyError) as err:
        raise InputError(f"{path}: unreadable screening ({type(err).__name__}); allowed: "
                         "the file `xianghe calibrate --screen` writes") from None
    for name in chosen:
        if name not in PARAMS or PARAMS[name].prior is None:
            raise InputError(f"{path}: {name!r} is not an uncertain parameter with a prior; "
                             "allowed: names from `xianghe params` of role uncertainty")
    groups: dict[str, list[str]] = {"estimated": [], "lever": [], "held": [], "prior": []}
    for p in uncertain():                       # declaration order
        place = fit.get(p.name, "prior")
        if place not in groups:
            raise InputError(f"{path}: {p.name}: fit {place!r}; allowed: "
                             f"{', '.join(groups)}")
        groups[place].append(p.name)
    return groups


# ---------------------------------------------------------------------------- pyabc glue

# The sampler moves every parameter on the normal scores of its prior, z = Phi^-1(F(x)),
# where each prior is a standard normal. pyabc's kernel transition is a Gaussian mixture,
# which fits an unbounded normal and no box: on the parameters' own scales a particle near
# the edges of several uniform priors gets the kernel mass that leaks over them back as
# importance weight, and in 15 dimensions a handful of particles took all of it (an
# effective sample of 1.3 of 200 in the calibration of 5f545bf).
SCALE = "normal scores of the prior"
_STANDARD = NormalDist()


@functools.cache
def _prior_rv_class():
    """The pyabc random variable of a declared prior on the sampler's scale (the prior's
    normal scores: a standard normal whatever the prior). Built on first use, so that
    importing this module does not import pyabc (seconds). Its draws come from numpy's
    global state because pyabc owns the sampler's randomness: it reseeds that state from
    entropy in every task it hands a worker (pyabc/sampler/eps_mixin.py), and accepts
    particles in the order workers finish, so a calibration is a stochastic search whose
    result is committed; experiments draw from that file with their own Generator."""
    from pyabc.random_variables import RVBase

    class PriorRV(RVBase):
        def __init__(self, prior: Prior):
            self.prior = prior

        def copy(self):
            return PriorRV(self.prior)

        def rvs(self, *args, **kwargs):
            return float(np.random.standard_normal())

        def pdf(self, z, *args, **kwargs):
            return _STANDARD.pdf(float(z)) if np.isfinite(z) else 0.0

        def pmf(self, z, *args, **kwargs):
            return self.pdf(z)

        def cdf(self, z, *args, **kwargs):
            return _STANDARD.cdf(float(z))

    return PriorRV


# The transition's covariance floor on the normal-scores scale (prior sd 1): a tenth of a
# prior sd. pyabc fits a Gaussian kernel to the last generation; with fewer particles than
# parameters its covariance is singular, a proposal's density under it can underflow to 0,
# and the generation's weights become NaN (pyabc then stops with "total weight nan"). The
# floor keeps the kernel proper; with 200 particles in 15 dimensions it is small beside
# the fitted spread, and the weights stay exact importance weights of the kernel used.
KERNEL_FLOOR_SD = 0.1


def _kernel_cov(X: np.ndarray, w: np.ndarray, bandwidth) -> np.ndarray:
    """The kernel's covariance before the floor: the particles' weighted covariance times
    the bandwidth factor of their effective number (pyabc's rule). When one particle holds
    all the weight bar rounding (1 - sum w^2 = 0), the weighted covariance divides by zero
    and pyabc's came out infinite: a 3-particle calibration in 26 dimensions stopped so on
    one CPU and not on another. The kernel then takes the particles' unweighted spread."""
    n, dim = X.shape
    n_eff = 1.0 / float(np.sum(w ** 2))
    if n < 2:
        return np.zeros((dim, dim))
    cov = None
    if 1.0 - float(np.sum(w ** 2)) > 1e-9:
        cov = np.atleast_2d(np.cov(X, aweights=w, rowvar=False))
    if cov is None or not np.isfinite(cov).all():
        cov = np.atleast_2d(np.cov(X, rowvar=False))
    return cov * bandwidth(max(n_eff, 1.0), dim) ** 2


@functools.cache
def _transition_class():
    """pyabc's multivariate normal kernel with a covariance floor (``KERNEL_FLOOR_SD``)."""
    import scipy.stats as st
    from pyabc.transition import MultivariateNormalTransition

    class FlooredTransition(MultivariateNormalTransition):
        def fit(self, X, w):
            # pyabc passes a generation's importance weights as they are: with few
            # particles in many dimensions their total can be 1e-17. The kernel depends
            # only on their ratios: rescale by the largest first.
            w = np.asarray(w, dtype=float)
            top = float(np.max(w)) if w.size else 0.0
            if np.isfinite(top) and top > 0:
                w = w / top
                w = w / w.sum()
            self.w = w
            self._X_arr = X.to_numpy(dtype=float)
            self.cov = _kernel_cov(self._X_arr, w, self.bandwidth_selector) * self.scaling
            self.cov = self.cov + KERNEL_FLOOR_SD ** 2 * np.eye(self.cov.shape[0])
            self.normal = st.multivariate_normal(cov=self.cov)
            self._range = np.arange(len(self._X_arr))

    return FlooredTransition


def to_values(theta: dict, priors: dict) -> dict:
    """Parameter values from a point of the sampler's space (``priors``: name -> Prior)."""
    out = {}
    for name, prior in priors.items():
        q = _STANDARD.cdf(min(max(float(theta[name]), -8.0), 8.0))
        out[name] = _value(PARAMS[name], prior.ppf(q))
    return out


def read_priors(path: str | Path | None) -> dict[str, Prior]:
    """Priors replacing the declared ones for a calibration, from a TOML file's
    ``[priors]`` table (``name = "kind(a, b)"``); a parameter named there is estimated."""
    if path is None:
        return {}
    try:
        table = tomllib.loads(Path(path).read_text("utf-8")).get("priors")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise InputError(f"--priors {path}: cannot read it ({type(err).__name__}); "
                         "allowed: a TOML file with a [priors] table") from None
    if not isinstance(table, dict) or not table:
        raise InputError(f"--priors {path}: no [priors] table; allowed: "
                         '[priors] with lines such as beta_cost = "lognormal(5, 25)"')
    out = {}
    for name, text in table.items():
        p = PARAMS.get(name)
        if p is None or p.role is not Role.UNCERTAINTY:
            raise InputError(f"--priors {path}: {name!r} is not an uncertain parameter; "
                             "allowed: a parameter of role uncertainty (`xianghe params`)")
        if not isinstance(text, str):
            raise InputError(f"--priors {path}: {name}: allowed: a string such as "
                             '"uniform(0.1, 0.3)"')
        try:
            out[name] = Prior.parse(text, p.low, p.high)
        except ParamError as err:
            raise InputError(f"--priors {path}: {name}: {err}") from None
    return out


@dataclass(frozen=True)
class Simulator:
    """The model as pyabc calls it: a point in, the figures' means over the common seeds
    out. A run that raises scores :data:`FAILED_DISTANCE` rather than stopping the fit."""

    priors: dict            # name -> Prior of each estimated parameter
    seeds: tuple[int, ...]
    base: dict | None = None  # values every particle runs with (``--set``)

    def __call__(self, theta: dict) -> dict:
        values = {**(self.base or {}), **to_values(theta, self.priors)}
        try:
            return figures(values, list(self.seeds))
        except Exception:  # noqa: BLE001 - a run that fails scores far, the fit goes on
            return {m.key: m.centre + FAILED_DISTANCE * m.half_band for m in moments()}


class _BudgetSpent(Exception):
    """A generation reached the particles the budget had left before it was complete."""


class _Counted:
    """An executor or Dask client whose finished submissions move the progress bar, and
    which refuses more than ``limit`` submissions (pyabc's parallel samplers ignore their
    ``max_eval``: a generation that no particle passes would sample for ever)."""

    def __init__(self, inner, bar):
        self._inner, self._bar = inner, bar
        self.submitted, self.limit = 0, math.inf

    def submit(self, fn, *args, **kwargs):
        if self.submitted >= self.limit:
            raise _BudgetSpent
        self.submitted += 1
        future = self._inner.submit(fn, *args, **kwargs)
        future.add_done_callback(self._done)
        return future

    def _done(self, future) -> None:
        if not future.cancelled():
            self._bar.update(1)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def _distance(x: dict, x0: dict) -> float:   # pyabc calls it with (simulated, observed)
    d = math.sqrt(sum(((x[m.key] - x0[m.key]) / m.half_band) ** 2 for m in moments()))
    return d if math.isfinite(d) else FAILED_DISTANCE


def _db_url(db: str) -> str:
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).resolve()}"


def _check_db(db: str, resume: bool) -> tuple[str, int | None]:
    """The history's URL and, to resume, its run id; a clear error for an unreadable or
    unreachable database, or one that does or does not hold a calibration."""
    url = _db_url(db)
    import sqlalchemy

    if url.startswith("sqlite:"):
        path = Path(url.removeprefix("sqlite:///"))
        if not resume:
            if path.exists() and path.stat().st_size:
                with path.open("rb") as f:
                    sqlite = f.read(16) == b"SQLite format 3\x00"
                raise InputError(
                    f"--db {db}: already holds a calibration; allowed: --resume to continue "
                    "it, or a new file" if sqlite else
                    f"--db {db}: is a file that is not a pyabc history (not SQLite); allowed: "
                    "a new file, or the --db of an earlier calibration with --resume")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                probe = path.parent / f".{path.name}.probe"
                probe.write_bytes(b"")
                probe.unlink()
            except OSError as err:
                raise InputError(f"--db {db}: cannot write there ({err.strerror}); allowed: "
                                 "a file in a writable folder") from None
            return url, None
        if not path.exists():
            raise InputError(f"--db {db}: no such history to resume; allowed: the --db of "
                             "an earlier calibration")
    try:
        engine = sqlalchemy.create_engine(url)
        with engine.connect() as conn:
            tables = set(sqlalchemy.inspect(conn).get_table_names())
            ids = (conn.execute(sqlalchemy.text("SELECT id FROM abc_smc")).scalars().all()
                   if "abc_smc" in tables else [])
        engine.dispose()
    except sqlalchemy.exc.ArgumentError:
        raise InputError(f"--db {db}: not a database URL; allowed: a file path or an "
                         "SQLAlchemy URL such as postgresql://host/db") from None
    except (sqlalchemy.exc.DatabaseError, sqlalchemy.exc.OperationalError) as err:
        why = str(err.orig if getattr(err, "orig", None) else err).splitlines()[0]
        raise InputError(f"--db {db}: cannot read the history ({why}); allowed: a pyabc "
                         "history that answers") from None
    except ModuleNotFoundError as err:
        raise InputError(f"--db {db}: no driver for it ({err.name}); allowed: sqlite, or a "
                         "server whose driver is installed") from None
    if resume and not ids:
        raise InputError(f"--db {db}: holds no calibration to resume; allowed: the --db of "
                         "an earlier calibration")
    if not resume and ids:
        raise InputError(f"--db {db}: already holds a calibration; allowed: --resume to "
                         "continue it, or a new database")
    return url, (max(ids) if ids else None)


@dataclass
class Calibration:
    """What :func:`calibrate` leaves: the history and the posterior it wrote."""

    db: str
    run_id: int
    generations: int
    simulations: int
    epsilon: float
    seconds: float
    posterior: pd.DataFrame
    point: dict


def calibrate(*, budget: int = 1200, seeds: int = 2, population: int = 200,
              workers: int = 1, scheduler: str | None = None, db: str = DEFAULT_DB,
              resume: bool = False, out: Path = CALIBRATION, first_seed: int = 1,
              names: list[str] | None = None, observed: dict | None = None,
              priors: str | Path | None = None, base: dict | None = None,
              progress: bool = True) -> Calibration:
    """Fit the estimated parameters by ABC-SMC while ``budget`` particles (each run over
    ``seeds`` common seeds) pay for another generation, then write ``out/calibrated.toml`` and
    ``out/posterior.parquet``. ``observed`` replaces the band centres (parameter
    recovery on synthetic figures)."""
    if budget < 1:
        raise InputError(f"--budget {budget}: allowed: an integer of 1 or more particles")
    if seeds < 1:
        raise InputError(f"--seeds {seeds}: allowed: an integer of 1 or more")
    if population < 2:
        raise InputError(f"--population {population}: allowed: an integer of 2 or more")
    names = list(names) if names is not None else estimated_names()
    base = {**ESTIMATION_SCALE, **(base or {})}
    for name in names:
        p = PARAMS.get(name)
        if p is None or p.prior is None:
            raise InputError(f"estimated parameter {name!r}: allowed: an uncertain parameter "
                             "with a declared prior (`xianghe params`)")
    given = read_priors(priors)
    names += [n for n in given if n not in names]
    chosen = {n: given.get(n, PARAMS[n].prior_dist) for n in names}
    url, run_id = _check_db(db, resume)
    # Input checked: only now the slow import (pyabc takes seconds).
    import logging

    import pyabc
    from tqdm import tqdm

    for name in ("ABC", "ABC.History", "ABC.Sampler", "ABC.Distance", "ABC.Epsilon",
                 "ABC.Population", "ABC.Transition", "ABC.Predictor", "ABC.Sumstat"):
        logging.getLogger(name).setLevel(logging.WARNING)

    from runs.engine import Backend
    out = Path(out)
    started = time.perf_counter()
    common = list(range(first_seed, first_seed + seeds))
    settings = {"names": names, "seeds": common, "population": population, "scale": SCALE,
                "observed": observed, "priors": {n: p.text for n, p in chosen.items()},
                "set": base or {}}

    prior = pyabc.Distribution(**{n: _prior_rv_class()(chosen[n]) for n in names})
    backend = Backend(workers, scheduler)      # an unreachable scheduler: one line, no bar
    bar = tqdm(total=budget, desc="calibrating", unit="particle", disable=not progress)
    if scheduler:
        sampler = pyabc.sampler.DaskDistributedSampler(dask_client=backend.client,
                                                       client_max_jobs=backend.slots)
    else:   # this process (workers 1) or local processes, through the engine's executor
        sampler = pyabc.sampler.ConcurrentFutureSampler(backend.executor,
                                                        client_max_jobs=backend.slots)
    sampler.client = counted = _Counted(sampler.client, bar)
    held = {**held_at_declared(names), **(base or {})}
    abc = pyabc.ABCSMC(Simulator(chosen, tuple(common), held), prior, _distance,
                       population_size=population, sampler=sampler,
                       transitions=_transition_class()(),
                       eps=pyabc.epsilon.QuantileEpsilon(
                           # a new run accepts every particle that gives all figures; a
                           # resumed one starts from its last generation's distances
                           # (pyabc would otherwise apply a numeric start at the resume)
                           initial_epsilon=FAILED_DISTANCE / 2 if run_id is None
                           else "from_sample", alpha=0.5, weighted=False))
    x0 = observed or {m.key: m.centre for m in moments()}
    try:
        if run_id is None:
            history = abc.new(url, x0, meta_info={"xianghe": json.dumps(settings)})
        else:
            history = abc.load(url, run_id)
            stored = _stored(history)
            if stored != json.loads(json.dumps(settings)):
                raise InputError(f"--db {db}: its calibration used other settings "
                                 f"({_differences(stored, settings)}); allowed: --resume "
                                 "with the same --seeds, --population, --priors and --set")
        bar.n = min(history.total_nr_simulations, budget)
        bar.refresh()
        if history.total_nr_simulations < budget:
            t = abc.initialize_components_before_run(
                minimum_epsilon=0.0, max_nr_populations=10_000, min_acceptance_rate=0.0,
                max_total_nr_simulations=budget, max_walltime=None, min_eps_diff=0.0)
            while True:
                # The budget bounds a generation too: one that overruns what the budget
                # has left by more than half the budget is given up (the generations
                # finished stay in the history). A generation started on the acceptance
                # rate's promise usually completes; one that nothing passes ends.
                counted.submitted = 0
                left = max(budget - history.total_nr_simulations, 0)
                counted.limit = max(left + budget // 2, population)
                try:
                    ret = abc.run_generation(t=t)
                except _BudgetSpent:
                    break
                bar.n = min(history.total_nr_simulations, budget)
                bar.set_postfix(generation=t, epsilon=f"{abc.eps(t):.3g}",
                                accepted=f"{ret.get('acceptance_rate', 0):.0%}")
                if not ret["successful"] or abc.check_terminate(
                        t=t, acceptance_rate=ret["acceptance_rate"]):
                    break
                # Start no generation the budget cannot pay for, judged by this one's
                # acceptance rate: the budget then bounds the time, not just the start.
                expected = population / max(ret["acceptance_rate"], 1e-3)
                if history.total_nr_simulations + expected > budget:
                    break
                t += 1
            history.done()
        bar.close()
    finally:
        bar.close()
        try:
            sampler.stop()
        except Exception:  # noqa: BLE001 - a sampler that never started has nothing to stop
            pass
        backend.close()
    seconds = time.perf_counter() - started
    if history.max_t < 0:
        raise InputError(f"--budget {budget}: not {population} of {counted.submitted} "
                         "particles gave every figure (a particle that leaves one undefined, "
                         "such as no project signed in 2021, is never accepted); allowed: a "
                         "larger --budget, or --priors/--set under which the model produces "
                         "every figure")
    frame, weights = history.get_distribution()
    distances = history.get_weighted_distances()
    posterior = pd.DataFrame({n: [to_values({n: z}, {n: chosen[n]})[n] for z in frame[n]]
                              for n in names})
    posterior["weight"] = np.asarray(weights) / np.sum(weights)
    posterior["distance"] = distances["distance"].to_numpy()
    point = _point(posterior, names)
    populations = history.get_all_populations()
    last = populations[populations["t"] >= 0].iloc[-1]
    result = Calibration(db=url, run_id=history.id, generations=int(last["t"]) + 1,
                         simulations=int(history.total_nr_simulations),
                         epsilon=float(last["epsilon"]), seconds=seconds,
                         posterior=posterior, point=point)
    _write_results(out, result, settings, budget)
    return result


METHODS = {
    "abc-mcmc": "ABC-MCMC (Marjoram et al. 2003) with delayed acceptance (Christen & Fox "
                "2005): chains on the prior restricted to every figure in its band on the "
                "common seeds and on the second stage's; a random walk of every parameter "
                "alternating with one parameter a chain drawn from its prior",
    "history-matching": "history matching (GP emulators, implausibility cut-off 3), then "
                        "rejection ABC inside: every figure in its band on the common seeds",
    "emulation": "sequential emulation (Wilkinson 2014): GP emulators of the figures' means "
                 "refined in waves of draws from their posterior, the prior times each "
                 "figure's probability that a five-seed mean lies in its band; the sample "
                 "drawn by tempered SMC on the last emulators",
}
CHAINS = 16          # ABC-MCMC chains (each step runs one proposal a chain)
STAGE_SEEDS = 8      # ABC-MCMC's second stage: a point in band on seeds 1-2 runs on to 8
BURN_IN = 0.5        # the share of ABC-MCMC's budget before its states are kept
POINT_SEEDS = 20     # further seeds on which the point is chosen among the nearest particles
POINT_CANDIDATES = 20  # the nearest particles it is chosen among


def match(*, method: str = "abc-mcmc", budget: int | None = None, seeds: int = 2,
          population: int = 200, waves: int | None = None, wave_size: int | None = None,
          chains: int = CHAINS,
          workers: int = 1, scheduler: str | None = None,
          work: Path = Path(DEFAULT_WORK), resume: bool = False, out: Path = CALIBRATION,
          first_seed: int = 1, names: list[str] | None = None, observed: dict | None = None,
          priors: str | Path | None = None, base: dict | None = None,
          point_seeds: int = POINT_SEEDS, stage_seeds: int = STAGE_SEEDS,
          start: str | Path | None = None, burn_in: float = BURN_IN,
          progress: bool = True) -> Calibration:
    """The posterior of the prior restricted to every figure in its band (the mean over
    ``seeds`` common seeds), by ``method``: ``abc-mcmc`` (:mod:`calibration.abc_mcmc`:
    ``chains`` chains from ``start``, until ``budget`` points have run on the first
    ``seeds`` seeds, those in band there running on to seed ``stage_seeds``, the first
    ``burn_in`` of the budget burn-in; every other step one parameter a chain drawn afresh
    from its prior) or
    ``history-matching`` (:mod:`calibration.history_matching`: ``waves`` waves of
    ``wave_size`` points cut the space no run can fit, then prior draws in what is left
    are kept when every figure lies in its band, until ``population`` are kept or
    ``budget`` points have run) or ``emulation`` (:mod:`calibration.emulation`: ``waves``
    waves of ``wave_size`` points, each drawn from the posterior on emulators fitted to
    every run before it, the first around the starts of ``start``; then ``population``
    draws from the last emulators' posterior). Writes ``out/posterior.parquet`` (``population``
    particles of equal weight) and ``out/calibrated.toml`` (of the ten particles nearest
    the figures, the one nearest on ten further seeds). Its work folder ``work`` keeps every design and
    run: ``resume`` continues it after an interruption, also with a larger ``budget``
    (the designs already made are kept; the budget is not one of the settings)."""
    from calibration import history_matching as hm

    from runs.errors import check_count

    budget = budget or {"abc-mcmc": 1500, "emulation": 2200}.get(method, 3000)
    waves = waves or (5 if method == "emulation" else 4)
    wave_size = wave_size or (400 if method == "emulation" else 350)
    for option, value, least in (("--budget", budget, 1), ("--seeds", seeds, 1),
                                 ("--population", population, 2), ("--waves", waves, 1),
                                 ("--wave-size", wave_size, 2), ("--chains", chains, 1)):
        check_count(option, value, least)
    names = list(names) if names is not None else estimated_names()
    base = {**ESTIMATION_SCALE, **(base or {})}
    given = read_priors(priors)
    names += [n for n in given if n not in names]
    chosen = {n: given.get(n, PARAMS[n].prior_dist) for n in names}
    common = list(range(first_seed, first_seed + seeds))
    if method == "abc-mcmc":
        if not 0 <= burn_in < 1:
            raise InputError(f"--burn-in {burn_in}: the share of the budget before the "
                             "chains' states are kept; allowed: from 0 up to, not "
                             "including, 1")
        second = list(range(first_seed + seeds, first_seed + max(stage_seeds, seeds)))
        starts, start_from = _starts(start, names, chosen, observed)
        own = {"chains": chains, "second_stage_seeds": second, "burn_in": burn_in,
               "redrawn": names, "start": start_from,
               "starts": np.round(starts, 12).tolist()}
    elif method == "emulation":
        if budget < wave_size + population:
            raise InputError(f"--budget {budget}: emulation runs at least one wave of "
                             f"--wave-size {wave_size} points and its sample of --population "
                             f"{population}; allowed: {wave_size + population} or more")
        starts, start_from = _starts(start, names, chosen, observed)
        own = {"waves": waves, "wave_size": wave_size, "start": start_from,
               "starts": np.round(starts, 12).tolist()}
    else:
        own = {"waves": waves, "wave_size": wave_size}
    settings = {"method": method, "names": names, "seeds": common,
                "population": population, "observed": observed, **own,
                "priors": {n: p.text for n, p in chosen.items()}, "set": base}
    work = Path(work)
    stored = hm.read_settings(work)
    if stored is not None and not resume:
        raise InputError(f"--work {work}: holds an earlier calibration; allowed: --resume to "
                         "continue it, or a new --work folder")
    if stored is not None and stored != json.loads(json.dumps(settings)):
        raise InputError(f"--work {work}: its calibration used other settings "
                         f"({_differences(stored, settings)}); allowed: --resume with the "
                         "same settings, or a new --work folder")
    from runs.engine import Backend

    backend = Backend(workers, scheduler)     # an unreachable scheduler: one line, nothing written
    try:
        hm.write_settings(work, settings)
        held = {**held_at_declared(names), **base}
        problem = hm.Problem(names, chosen, common, held, moments(), observed)
        diagnostics: dict = {}
        if method == "abc-mcmc":
            from calibration.abc_mcmc import abc_mcmc

            try:
                result, diagnostics = abc_mcmc(
                    problem, work, backend, start=starts, budget=budget,
                    population=population, chains=chains, second=tuple(second),
                    independent=tuple(range(len(names))),
                    burn_in=burn_in, progress=progress)
            except ValueError as err:
                raise InputError(f"--method abc-mcmc: {err}; allowed: a start that fits "
                                 "(--start point, the calibrated point of "
                                 "calibration/calibrated.toml, or --start FILE, a posterior "
                                 "sample), or a larger --budget") from None
        elif method == "emulation":
            from calibration.emulation import emulate

            result = emulate(problem, work, backend, budget=budget, population=population,
                             waves=waves, wave_size=wave_size, starts=starts,
                             progress=progress)
            diagnostics = result.diagnostics
        else:
            result = hm.history_match(problem, work, backend, budget=budget,
                                      population=population, waves=waves,
                                      wave_size=wave_size, progress=progress)
        if method != "emulation" and result.candidates == 0:
            raise InputError(f"--waves {waves}: they ruled out every point of the prior (no "
                             f"point within {hm.CUTOFF:g} standard deviations of every band); "
                             "allowed: --priors or --set under which the model can reach "
                             "the figures")
        if method != "emulation" and result.accepted < 2:
            raise InputError(f"--budget {budget}: {result.accepted} of {result.candidates} "
                             "particles drawn after the waves put every figure in its band; "
                             "allowed: a larger --budget or more --waves")
        point = _nearest_point(result, problem,
                               list(range(first_seed + seeds, first_seed + seeds + point_seeds)),
                               backend, result.emulated_distance if method == "emulation" else None)
    finally:
        backend.close()
    out = Path(out)
    calibration = Calibration(db=str(work), run_id=0,
                              generations=diagnostics.get("steps", len(result.waves) + 1),
                              simulations=result.simulations, epsilon=1.0,
                              seconds=result.seconds, posterior=result.posterior,
                              point=point)
    nearest = ("whose emulated means are nearest the figures" if method == "emulation"
               else "nearest the figures")
    info = {"method": METHODS[method],
            "point": f"of the {POINT_CANDIDATES} particles {nearest}, the one "
                     f"nearest on {point_seeds} further seeds"}
    if method == "abc-mcmc":
        per_parameter = {"ess": "ess_by_parameter", "rhat": "rhat_by_parameter",
                         "redraw_acceptance": "redraw_acceptance"}
        info.update({k: v for k, v in diagnostics.items() if k not in per_parameter})
        info.update({name: json.dumps(diagnostics[k]) for k, name in per_parameter.items()
                     if k in diagnostics})
    elif method == "emulation":
        ess = dict(zip(names, np.round(diagnostics["ess"], 1).tolist(), strict=True))
        keys = [m.key for m in problem.moments]
        info.update({
            "sampler": "tempered SMC on the emulators", "islands": diagnostics["islands"],
            "smc_particles": diagnostics["particles"],
            "smc_ancestors": diagnostics["ancestors"],
            "smc_temperatures": json.dumps(diagnostics["temperatures"]),
            "smc_acceptance": round(diagnostics["acceptance"], 4),
            "waves": len(result.waves), "wave_size": wave_size,
            "ess_min": min(ess.values()), "ess_min_parameter": min(ess, key=ess.get),
            "ess_by_parameter": json.dumps(ess),
            "waves_record": json.dumps(result.waves),
            "emulated_mean_half_bands": json.dumps(dict(zip(
                keys, np.round(diagnostics["emulated_mean"], 3).tolist(), strict=True))),
            "sample_in_band_share_common_seeds": round(float(
                (result.posterior["distance"] <= 1).mean()), 4)})
    else:
        info.update({"waves": len(result.waves), "wave_size": wave_size,
                     "nroy_share": result.waves[-1]["nroy_share"] if result.waves else 1.0,
                     "final_candidates": result.candidates, "accepted": result.accepted,
                     "acceptance_rate": round(result.accepted / max(result.candidates, 1),
                                              4)})
    _write_results(out, calibration, settings, budget, info)
    return calibration


def _starts(start: str | Path | None, names: list[str], priors: dict,
            observed: dict | None) -> tuple[np.ndarray, str]:
    """The chains' starts, normal scores a row, and where they came from: the particles of
    a posterior sample (``start`` a file; by default the project's posterior when it holds
    exactly ``names`` and the figures are the real ones), else the calibrated point."""
    def scores(values: dict) -> list[float]:
        return [_STANDARD.inv_cdf(min(max(priors[n].cdf(values[n]), 1e-4), 1 - 1e-4))
                for n in names]

    if start is None and observed is None and POSTERIOR_FILE.is_file():
        held = [c for c in load_posterior(POSTERIOR_FILE).columns
                if c not in ("weight", "distance")]
        if sorted(held) == sorted(names):
            start = POSTERIOR_FILE
    if start is None or str(start) == "point":
        return np.array([scores({n: PARAMS[n].default for n in names})]), "point"
    path = Path(start)
    if not path.is_file():
        raise InputError(f"--start {start}: no such file; allowed: point (the calibrated "
                         "point) or a posterior sample (.parquet)")
    sample = load_posterior(path)
    missing = [n for n in names if n not in sample.columns]
    if missing:
        raise InputError(f"--start {start}: holds no column {missing[0]}; allowed: a "
                         "posterior sample of every estimated parameter, or point")
    return np.array([scores(row) for row in sample[names].to_dict("records")]), str(path)


def _nearest_point(result, problem, seeds: list[int], backend,
                   distance: np.ndarray | None = None) -> dict:
    """Of the accepted particles nearest the figures (largest deviation in half-bands, by
    default the posterior's ``distance``; ``distance`` a particle replaces it, e.g. by
    emulated means), the one nearest on further seeds: a particle chosen on the seeds it
    was accepted on would carry their luck."""
    from runs.engine import RunTask, run_tasks

    post = result.posterior
    by = post["distance"] if distance is None else pd.Series(distance, index=post.index)
    nearest = by.sort_values(kind="stable").index[:POINT_CANDIDATES]
    years = target_years(problem.moments)
    tasks = [RunTask(len(seeds) * i + k, int(i), seed,
                     {**problem.held, **{n: post.loc[i, n] for n in problem.names}}, {}, years)
             for i in nearest for k, seed in enumerate(seeds)]
    rows: list[dict] = []
    run_tasks(tasks, backend, keep=rows.extend, progress=False)
    df = pd.DataFrame(rows)
    df = df[df["status"] == "ok"]
    worst = pd.Series(0.0, index=list(nearest))
    for m in problem.moments:
        per = m.target.by_run(df, ["point", "seed"]).groupby(level="point").mean()
        worst = np.maximum(worst, ((per - problem.centre(m)) / m.half_band).abs()
                           .reindex(worst.index).fillna(np.inf))
    best = int(worst.idxmin())
    return {n: _value(PARAMS[n], post.loc[best, n]) for n in problem.names}


def _stored(history) -> dict:
    """The settings a history's calibration was started with."""
    import ast

    try:
        return json.loads(ast.literal_eval(history.get_abc().json_parameters)["xianghe"])
    except (ValueError, SyntaxError, KeyError, TypeError):
        return {}


def _differences(a: dict, b: dict) -> str:
    return ", ".join(f"{k} {a.get(k)} vs {b.get(k)}" for k in b if a.get(k) != b.get(k))


def _point(posterior: pd.DataFrame, names: list[str]) -> dict:
    """The point estimate: each parameter's weighted posterior median."""
    point = {}
    for name in names:
        order = np.argsort(posterior[name].to_numpy())
        cum = np.cumsum(posterior["weight"].to_numpy()[order])
        x = float(posterior[name].to_numpy()[order][np.searchsorted(cum, 0.5)])
        point[name] = _value(PARAMS[name], x)
    return point


def _write_results(out: Path, result: Calibration, settings: dict, budget: int,
                   method: dict | None = None) -> None:
    """calibrated.toml and posterior.parquet, each written beside and renamed into place."""
    out.mkdir(parents=True, exist_ok=True)
    method = method or {
        "method": "ABC-SMC (pyabc), median-quantile epsilon, Euclidean distance in half-bands",
        "point": "weighted posterior median of each estimated parameter"}
    info = {
        **method,
        "budget_particles": budget, "simulations": result.simulations,
        "generations": result.generations, "final_epsilon": round(result.epsilon, 6),
        "effective_sample_size": round(float(1 / np.sum(result.posterior["weight"] ** 2)), 1),
        "population": settings["population"], "seeds": settings["seeds"],
        "synthetic_observation": settings["observed"] is not None,
        "set": settings.get("set", {}),
        # priors that --priors replaced (the fit report's contraction is against these)
        "priors_replaced": {n: text for n, text in settings.get("priors", {}).items()
                            if text != PARAMS[n].prior_dist.text},
        "wall_seconds": round(result.seconds, 1),
        "git_revision": provenance.git_revision(),
        "versions": {k: v for k, v in provenance.versions().items()},
        "written": provenance.timestamp(),
    }
    tmp = _point_file(out, result.point, info, f"{info['point']} ({info['method']}).")
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(result.posterior, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                           b"xianghe": json.dumps(info).encode()})
    ptmp = out / ".posterior.parquet.new"
    pq.write_table(table, ptmp)
    ptmp.replace(out / POSTERIOR_FILE.name)
    tmp.replace(out / CALIBRATED_FILE.name)


def calibration_info(folder: Path) -> dict:
    """The provenance a calibration stored in ``folder/posterior.parquet`` ({} if none)."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(Path(folder) / POSTERIOR_FILE.name).metadata or {}
        return json.loads(meta.get(b"xianghe", b"{}"))
    except (OSError, ValueError):
        return {}


def _toml(value) -> str:
    """A provenance value in TOML: JSON's, but for the floats JSON has no word for (an
    R-hat of chains that never moved is infinite)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return json.dumps(value)


def _point_file(out: Path, point: dict, info: dict, what: str) -> Path:
    """calibrated.toml written beside its place (the caller renames it into place)."""
    lines = ["# The calibrated point the baseline uses (written by `xianghe calibrate`):",
             f"# {what}",
             "# The uncertain parameters not listed keep their declared defaults (held at",
             "# them, or beyond the figures' reach: see calibration/screening.csv).", "",
             "[values]"]
    lines += [f"{k} = {v!r}" for k, v in point.items()]
    lines += ["", "[provenance]"]
    lines += [f"{k} = {_toml(v)}" for k, v in info.items() if not isinstance(v, dict)]
    lines += ["", "[provenance.versions]"]
    lines += [f"{json.dumps(k)} = {json.dumps(str(v))}" for k, v in info["versions"].items()]
    tmp = out / ".calibrated.toml.new"
    tmp.write_text("\n".join(lines) + "\n", "utf-8")
    return tmp


def refine_point(out: Path, *, runs: int = 800, seeds: list[int] | None = None,
                 workers: int = 1, scheduler: str | None = None,
                 progress: bool = True) -> tuple[dict, float]:
    """Replace ``out/calibrated.toml`` by the :func:`refine`-ment of the posterior
    particle in ``out/posterior.parquet`` closest to the figures -- or of the point an
    earlier refinement left there, if that is closer -- keeping the calibration's
    provenance and adding the refinement's."""
    if runs < 1:
        raise InputError(f"--budget {runs}: allowed: an integer of 1 or more model runs")
    started = time.perf_counter()
    posterior = load_posterior(out / POSTERIOR_FILE.name)
    names = [c for c in posterior.columns if c in PARAMS]
    best = posterior.loc[posterior["distance"].idxmin()]
    start = {n: _value(PARAMS[n], best[n]) for n in names}
    start_d = float(best["distance"])
    try:
        doc = tomllib.loads((out / CALIBRATED_FILE.name).read_text("utf-8"))
        before = doc["provenance"]
    except (OSError, tomllib.TOMLDecodeError, KeyError):
        doc, before = {}, {}
    # The calibration's provenance is the posterior's (calibrated.toml may be older).
    calibration = calibration_info(out)
    info = dict(calibration) or dict(before)
    info.pop("versions", None)
    seeds = list(seeds or before.get("refine_seeds") or info.get("seeds") or [1, 2])
    # An earlier refinement of the same parameters: go on from it (on more seeds, say), at
    # the step it had come down to -- whichever calibration's posterior it started from.
    if "refine_runs" in before and set(doc.get("values", {})) == set(names):
        start = dict(doc["values"])
        runs_before, step = int(before["refine_runs"]), float(before.get("refine_step", 0.25))
        start_d = float(before.get("start_distance", start_d))
        origin = before.get("refine_from_calibration", before.get("git_revision"))
        seconds_before = float(before.get("refine_seconds", 0.0))
    else:
        runs_before, step, seconds_before = 0, 0.25, 0.0
        origin = info.get("git_revision")
    info["calibration_git_revision"] = info.get("calibration_git_revision",
                                                info.get("git_revision"))
    point, d, step, made = refine(start, list(seeds), workers=workers, scheduler=scheduler,
                            runs=runs, step=step,
                            base={**held_at_declared(names), **(calibration.get("set") or {})},
                            progress=progress)
    info.update({
        "point": "pattern search (Hooke-Jeeves) on the common seeds from the posterior "
                 "particle closest to the figures",
        "refine_from_calibration": origin,
        "start_distance": round(start_d, 6),
        "point_distance": round(d, 6), "refine_seeds": seeds, "refine_step": step,
        "refine_runs": runs_before + made,
        "refine_seconds": round(seconds_before + time.perf_counter() - started, 1),
        "git_revision": provenance.git_revision(),
        "versions": dict(provenance.versions()), "written": provenance.timestamp(),
    })
    tmp = _point_file(out, point, info,
                      "a minimum-distance refinement of the posterior's closest particle.")
    tmp.replace(out / CALIBRATED_FILE.name)
    return point, d


# ---------------------------------------------------------------------------- draws

def load_posterior(path: Path = POSTERIOR_FILE) -> pd.DataFrame:
    """A posterior sample written by :func:`calibrate`; a clear error if there is none."""
    check_posterior(path)
    try:
        df = pd.read_parquet(path)
    except Exception as err:  # noqa: BLE001 - any unreadable file is the same error
        raise InputError(f"--posterior {path}: unreadable ({type(err).__name__}); allowed: "
                         "a posterior.parquet written by `xianghe calibrate`") from None
    bad = [c for c in df.columns if c not in PARAMS and c not in ("weight", "distance")]
    if "weight" not in df or bad or len(df) == 0:
        raise InputError(f"--posterior {path}: not a posterior sample (columns "
                         f"{', '.join(bad) or 'without weight'}); allowed: a posterior.parquet "
                         "written by `xianghe calibrate`")
    weights = pd.to_numeric(df["weight"], errors="coerce").to_numpy(dtype=float)
    if not (np.isfinite(weights).all() and (weights >= 0).all() and weights.sum() > 0):
        raise InputError(f"--posterior {path}: its weights are not finite, non-negative "
                         "numbers with a positive sum; allowed: a posterior.parquet written by "
                         "`xianghe calibrate`")
    for name in (c for c in df.columns if c in PARAMS):
        try:
            for value in df[name].unique():
                PARAMS[name].check(value.item() if hasattr(value, "item") else value)
        except ParamError as err:
            raise InputError(f"--posterior {path}: {err}") from None
    return df


def posterior_draws(draws: int, seed: int, path: Path = POSTERIOR_FILE) -> list[dict]:
    """``draws`` parameter vectors for experiments over the posterior, fixed by ``seed``:
    the estimated parameters from the weighted posterior sample, the parameters the
    screening held at their declared values there, and every other uncertain parameter
    from its prior (those the figures do not inform)."""
    if draws < 1:
        raise InputError(f"--draws {draws}: allowed: an integer of 1 or more")
    posterior = load_posterior(path)
    names = [c for c in posterior.columns if c in PARAMS]
    rng = np.random.default_rng([seed, 20_141])
    rows = rng.choice(len(posterior), size=draws, p=posterior["weight"].to_numpy())
    held = set(screened()["held"]) if SCREENING_FILE.exists() else set()
    others = [p for p in uncertain() if p.name not in names and p.name not in held]
    out = []
    for row in rows:
        vector = {n: _value(PARAMS[n], posterior[n].iloc[row]) for n in names}
        for p in others:
            vector[p.name] = _value(p, p.prior_dist.ppf(float(rng.uniform())))
        out.append(vector)
    return out


def lever_prior_draws(draws: int, seed: int) -> list[dict]:
    """``draws`` parameter vectors for the lever strengths' prior predictive: each lever
    strength (:data:`LEVER_STRENGTHS`) and every parameter beyond the figures' reach (the
    screening's ``prior`` place: the measures' own costs and strengths) from its prior,
    fixed by ``seed``; the rest stay at the calibrated point. What the literature's priors
    alone say a measure does, before the figures restrict the strengths."""
    if draws < 1:
        raise InputError(f"--prior-draws {draws}: allowed: an integer of 1 or more")
    screen = screened() if SCREENING_FILE.exists() else {}
    fitted = set(screen.get("estimated", [])) | set(screen.get("held", []))
    drawn = [p for p in uncertain() if p.name in LEVER_STRENGTHS or p.name not in fitted]
    rng = np.random.default_rng([seed, 20_142])
    return [{p.name: _value(p, p.prior_dist.ppf(float(rng.uniform()))) for p in drawn}
            for _ in range(draws)]


# ---------------------------------------------------------------------------- recovery

def recover(out: Path, *, budget: int = 1200, seeds: int = 2, population: int = 200,
            workers: int = 1, scheduler: str | None = None, seed: int = 1,
            posterior: Path = POSTERIOR_FILE, base: dict | None = None,
            progress: bool = True) -> pd.DataFrame:
    """Parameter recovery: take a known vector (a draw of the posterior, fixed by
    ``seed``), let the model produce the figures at it on seeds the calibration does not
    use (101, 102, ...), calibrate to those figures exactly as to the reported ones, and
    compare what comes back with the truth. Writes ``out/recovery.csv`` beside the
    calibration's own files in ``out``."""
    out = Path(out)
    names = estimated_names()
    base = {**ESTIMATION_SCALE, **(base or {})}
    data_seeds = list(range(101, 101 + seeds))
    for k in range(20):    # the first draw whose figures all exist (some project signs)
        truth = {n: v for n, v in posterior_draws(1, seed + k, posterior)[0].items()
                 if n in names}
        synthetic = figures({**(base or {}), **truth}, data_seeds)
        if all(math.isfinite(v) for v in synthetic.values()):
            break
    else:
        raise InputError(f"--recover: no draw of seeds {seed}-{seed + 19} gives every "
                         "figure; allowed: another --seed or posterior")
    result = calibrate(budget=budget, seeds=seeds, population=population, workers=workers,
                       scheduler=scheduler, db=str(out / "history.db"), out=out,
                       names=names, observed=synthetic, base=base, progress=progress)
    post = result.posterior
    w = post["weight"].to_numpy()
    rows = []
    for name in names:
        x = post[name].to_numpy(dtype=float)
        order = np.argsort(x)
        cum = np.cumsum(w[order])

        def q(p, x=x, order=order, cum=cum):
            return float(x[order][min(np.searchsorted(cum, p), len(x) - 1)])

        prior = PARAMS[name].prior_dist
        xs = [prior.ppf(p) for p in np.linspace(0.0005, 0.9995, 2000)]
        prior_sd = float(np.std(xs))
        mean = float(np.sum(w * x))
        post_sd = float(np.sqrt(np.sum(w * (x - mean) ** 2)))
        rows.append({"parameter": name, "true": truth[name], "median": q(0.5),
                     "q05": q(0.05), "q95": q(0.95),
                     "covered": bool(q(0.05) <= truth[name] <= q(0.95)),
                     "error_in_prior_sd": (q(0.5) - truth[name]) / prior_sd,
                     "contraction": 1 - (post_sd / prior_sd) ** 2,
                     "prior_q05": prior.ppf(0.05), "prior_q95": prior.ppf(0.95)})
    table = pd.DataFrame(rows)
    figures_table = pd.DataFrame([{"figure": k, "synthetic": v} for k, v in synthetic.items()])
    tmp = out / ".recovery.csv.new"
    table.to_csv(tmp, index=False)
    tmp.replace(out / "recovery.csv")
    figures_table.to_csv(out / "synthetic-figures.csv", index=False)
    return table


# ---------------------------------------------------------------------------- refinement

def refine(start: dict, seeds: list[int], *, workers: int = 1, scheduler: str | None = None,
           runs: int = 800, step: float = 0.25, base: dict | None = None,
           progress: bool = True) -> tuple[dict, float, float, int]:
    """A pattern search (Hooke & Jeeves) from ``start`` for the vector of the estimated
    parameters nearest the figures on the common ``seeds``: each parameter in turn moves
    ``step`` prior standard deviations (on its sampling scale) up and down, a move that
    lowers the distance is kept, and the step halves after a pass that kept none. Stops
    after about ``runs`` model runs, or once the step is a sixteenth of a quarter prior
    standard deviation. Returns the vector, its distance, the step it ended at and the
    runs it made (the budget, or up to one move's runs past it)."""
    from tqdm import tqdm

    from runs.engine import Backend, RunTask, run_tasks

    names = list(start)
    priors = {n: PARAMS[n].prior_dist for n in names}
    spread = {}
    for n, prior in priors.items():
        zs = [prior._to_z(prior.ppf(q)) for q in np.linspace(0.01, 0.99, 99)]
        spread[n] = float(np.std(zs))
    ms = moments()
    years = target_years(ms)

    def evaluate(vectors: list[dict]) -> list[float]:
        tasks = [RunTask(i * len(seeds) + k, i, s, {**(base or {}), **v}, {}, years)
                 for i, v in enumerate(vectors) for k, s in enumerate(seeds)]
        rows: list[dict] = []
        run_tasks(tasks, backend, keep=rows.extend, progress=False)
        done[0] += len(tasks)
        bar.update(len(tasks))
        df = pd.DataFrame(rows)
        out = []
        for i in range(len(vectors)):
            at = df[df["point"] == i]
            sim = {}
            for m in ms:
                v = m.target.by_run(at, ["seed"]).to_numpy(float)
                sim[m.key] = float(np.nanmean(v)) if np.isfinite(v).any() else math.nan
            d = distance(sim)
            out.append(d if math.isfinite(d) else FAILED_DISTANCE)
        return out

    def moved(x: dict, name: str, sign: int, size: float) -> dict | None:
        prior = priors[name]
        z = prior._to_z(x[name]) + sign * size * spread[name]
        lo, hi = prior.support
        value = prior._from_z(z)
        if not lo <= value <= hi:
            return None
        new = _value(PARAMS[name], value)
        return None if new == x[name] else {**x, name: new}

    backend = Backend(workers, scheduler)      # an unreachable scheduler: one line, no bar
    bar = tqdm(total=runs, desc="refining", unit="run", disable=not progress)
    done = [0]      # runs made (a disabled bar counts nothing: the budget held only with one)
    try:
        best = dict(start)
        best_d = evaluate([best])[0]
        size = step
        while done[0] < runs and size > 0.25 / 16:
            improved = False
            for name in names:
                if done[0] >= runs:
                    break
                trials = [t for t in (moved(best, name, +1, size), moved(best, name, -1, size))
                          if t is not None]
                if not trials:
                    continue
                scores = evaluate(trials)
                i = int(np.argmin(scores))
                if scores[i] < best_d:
                    best, best_d, improved = trials[i], scores[i], True
                    bar.set_postfix(distance=f"{best_d:.3g}", step=size)
            if not improved:
                size /= 2
    finally:
        bar.close()
        backend.close()
    return best, best_d, size, done[0]
