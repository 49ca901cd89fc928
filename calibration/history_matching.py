"""History matching with Gaussian-process emulators, then rejection ABC inside what is left.

The posterior issue found ABC-SMC's importance weights degenerate in the 21 dimensions of
the fit whatever its budget or distance (an effective sample of about 2 of 500): a
Gaussian proposal fitted to a flat-topped ABC posterior leaves the particles in its tails
with weights larger by factors of e^10. This module takes the route of Andrianakis et al.
(2015, PLoS Comput Biol 11(1): e1003968) and Vernon, Goldstein & Bower (2010, Bayesian
Analysis 5(4)): cut away, in waves, the parameter space where an emulator says no run can
reproduce the figures, then sample the prior inside what is left and keep the runs whose
figures all lie in their bands (rejection ABC, Pritchard et al. 1999, with a uniform
kernel in the largest deviation). The accepted particles are draws from the prior
restricted to the bands, each of weight one: the effective sample is the sample.

* **The figures** of a run are measured in half-bands from their band centres
  (``y = (figure - centre) / half_band``: |y| <= 1 is in band), the mean over the common
  seeds, as the ABC-SMC fit measures them.
* **A wave** runs a design of points on the prior's normal scores (``z = Phi^-1(F(x))``):
  the first a Latin hypercube over the whole prior, each later one points drawn from the
  prior restricted to the space not yet ruled out (NROY). One emulator per figure is fitted
  to the wave's runs: a linear mean in ``z`` and a Gaussian process on its residuals
  (scikit-learn; squared-exponential kernel with a length per parameter, and a white-noise
  term that takes the seeds' noise). Figures further than ``CLIP`` half-bands from their
  band are emulated as ``CLIP`` away: such points are far outside whatever their value.
* **Implausibility** of a point for a figure: ``|E[y]| / sqrt(Var_emulator + Var_seeds +
  OBS_SD^2)``, where ``OBS_SD`` = 1/3 half-band makes the band's edge three standard
  deviations from its centre. A point is ruled out when any figure's implausibility under
  any wave's emulators exceeds ``CUTOFF`` = 3 (Pukelsheim's three-sigma rule, the usual
  cut-off of history matching).
* **The prior inside NROY** is sampled by random-walk Metropolis chains whose target is
  the standard normal prior times the indicator of NROY, started from the last wave's
  points that are not ruled out, proposals scaled 2.38/sqrt(d) (Roberts & Rosenthal
  2001) on the covariance of those points, thinned.
* **The final stage** draws such points in chunks, runs them on the common seeds and
  accepts every run whose figures all lie in their bands, until the population is
  reached or the budget is spent. The emulators only choose where to look: a particle is
  accepted by its own runs, never by an emulator. What the cut can cost is stated: where
  an emulator wrongly ruled out a region, the posterior misses it (the cut-off of 3 and
  the emulator's own variance make that rare, and the fit report's checks would show a
  posterior that missed the figures).

Everything is written to a work folder as it is made -- each wave's design before its
runs, the runs in a Parquet store as they finish -- and everything else (emulators, NROY
samples) is computed again from those files with fixed random states, so a calibration
killed at any moment resumes where it stopped and makes the same posterior.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd


CUTOFF = 3.0          # implausibility beyond which a point is ruled out
OBS_SD = 1.0 / 3.0    # the band's half-width as three standard deviations
CLIP = 10.0           # half-bands: a figure further out is emulated as this far
CHAINS = 200          # Metropolis chains sampling NROY
BURN_IN = 60          # steps of each chain before its states are kept
THIN = 5              # steps between kept states
SEED = 20_241         # the design's and the chains' random states (with the wave index)


# ---------------------------------------------------------------------------- emulators

@dataclass
class Emulator:
    """One figure's emulator from one wave: a linear mean and a Gaussian process on the
    residuals, in half-bands."""

    key: str
    coef: np.ndarray
    intercept: float
    gp: object = None           # sklearn GaussianProcessRegressor, None if too few runs
    constant_var: float = 0.0   # the residual variance where there is no GP

    @classmethod
    def fit(cls, key: str, z: np.ndarray, y: np.ndarray) -> Emulator:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, WhiteKernel
        from sklearn.gaussian_process.kernels import ConstantKernel as C

        ok = np.isfinite(y)
        z, y = z[ok], np.clip(y[ok], -CLIP, CLIP)
        d = z.shape[1]
        if len(y) < d + 3:      # too few runs for a mean, let alone a process
            mean = float(np.mean(y)) if len(y) else 0.0
            return cls(key, np.zeros(d), mean, None,
                       float(np.var(y)) if len(y) > 1 else CLIP ** 2)
        design = np.column_stack([np.ones(len(z)), z])
        beta, *_ = np.linalg.lstsq(design, y, rcond=None)
        resid = y - design @ beta
        kernel = (C(1.0, (1e-3, 1e3)) * RBF(np.full(d, 3.0), (0.1, 1e3))
                  + WhiteKernel(0.1, (1e-6, 10.0)))
        gp = GaussianProcessRegressor(kernel, normalize_y=True, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp.fit(z, resid)
        return cls(key, beta[1:], float(beta[0]), gp)

    def predict(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance (emulator and seeds' noise) of the figure at points ``z``."""
        mean = self.intercept + z @ self.coef
        if self.gp is None:
            return np.clip(mean, -CLIP, CLIP), np.full(len(z), self.constant_var)
        mu, sd = self.gp.predict(z, return_std=True)
        return np.clip(mean + mu, -CLIP, CLIP), sd ** 2


@dataclass
class Wave:
    """A wave's emulators, one per figure."""

    index: int
    emulators: list[Emulator]

    def implausibility(self, z: np.ndarray) -> np.ndarray:
        """The largest implausibility over the figures at each point."""
        worst = np.zeros(len(z))
        for em in self.emulators:
            mean, var = em.predict(z)
            worst = np.maximum(worst, np.abs(mean) / np.sqrt(var + OBS_SD ** 2))
        return worst


def implausibility(z: np.ndarray, waves: list[Wave]) -> np.ndarray:
    """Each point's largest implausibility over every wave and figure (points ruled out by
    an earlier wave are not evaluated further: their value is then that wave's)."""
    worst = np.zeros(len(z))
    alive = np.ones(len(z), dtype=bool)
    for wave in waves:
        if not alive.any():
            break
        worst[alive] = np.maximum(worst[alive], wave.implausibility(z[alive]))
        alive &= worst <= CUTOFF
    return worst


def sample_nroy(waves: list[Wave], starts: np.ndarray, n: int,
                rng: np.random.Generator) -> np.ndarray:
    """``n`` points from the standard normal prior restricted to the space no wave rules
    out, by random-walk Metropolis chains started from ``starts`` (points not ruled out;
    where a start is ruled out its chain moves only towards smaller implausibility until
    it is in). Returns fewer than ``n`` only if no chain ever got in."""
    d = starts.shape[1]
    pick = rng.integers(0, len(starts), CHAINS)
    x = starts[pick].copy()
    imp = implausibility(x, waves)
    spread = np.cov(starts, rowvar=False) if len(starts) > d else np.eye(d) * 0.25
    spread = np.atleast_2d(spread) + 1e-4 * np.eye(d)
    chol = np.linalg.cholesky(spread * (2.38 ** 2 / d))
    kept: list[np.ndarray] = []
    step = 0
    while sum(len(k) for k in kept) < n and step < BURN_IN + THIN * (n // CHAINS + 2) * 4:
        y = x + rng.standard_normal((CHAINS, d)) @ chol.T
        imp_y = implausibility(y, waves)
        inside_y, inside_x = imp_y <= CUTOFF, imp <= CUTOFF
        log_ratio = -0.5 * (np.sum(y ** 2, axis=1) - np.sum(x ** 2, axis=1))
        u = np.log(rng.random(CHAINS))
        # Inside: Metropolis on the prior restricted to NROY. Outside: any move that
        # lowers the implausibility, towards NROY.
        take = np.where(inside_x, inside_y & (u < log_ratio), imp_y < imp)
        x[take], imp[take] = y[take], imp_y[take]
        step += 1
        if step == BURN_IN // 2 and (imp <= CUTOFF).sum() > d:   # adapt once
            inside = x[imp <= CUTOFF]
            chol = np.linalg.cholesky((np.cov(inside, rowvar=False) + 1e-4 * np.eye(d))
                                      * (2.38 ** 2 / d))
        if step >= BURN_IN and (step - BURN_IN) % THIN == 0:
            kept.append(x[imp <= CUTOFF].copy())
    out = np.concatenate(kept) if kept else np.empty((0, d))
    return out[rng.permutation(len(out))[:n]]


# ---------------------------------------------------------------------------- the runs

@dataclass
class Problem:
    """What the waves run: the estimated parameters and their priors, the common seeds,
    the values held for every run, the figures."""

    names: list[str]
    priors: dict            # name -> Prior
    seeds: list[int]
    held: dict
    moments: list           # calibration.estimation.Moment
    observed: dict | None = None   # figures replacing the band centres (recovery)

    def centre(self, m) -> float:
        return m.centre if self.observed is None else float(self.observed[m.key])

    def values(self, z: np.ndarray) -> dict:
        from calibration.estimation import to_values

        return {**self.held, **to_values(dict(zip(self.names, z)), self.priors)}


def _lhs(n: int, d: int, seed: int) -> np.ndarray:
    from scipy.stats import norm, qmc

    return norm.ppf(qmc.LatinHypercube(d=d, seed=seed).random(n))


def _runs(folder: Path, z: np.ndarray, problem: Problem, backend, bar=None):
    """The finished runs (a row a run and year) at each point of ``z`` on each common
    seed, run into ``folder``'s store; runs already there are not run again. ``bar``
    (tqdm) counts the runs."""
    from calibration.estimation import target_years
    from runs.engine import RunTask, run_tasks
    from runs.store import ResultStore, schema

    years = target_years(problem.moments)
    tasks, k = [], 0
    for i, point in enumerate(z):
        values = problem.values(point)
        for seed in problem.seeds:
            tasks.append(RunTask(k, i, seed, values, {}, years))
            k += 1
    store = ResultStore(folder, schema([]))
    if bar is not None:
        bar.update(len(store.done()))
    run_tasks(tasks, backend, store=store, progress=False,
              keep=None if bar is None else (lambda _rows: bar.update(1)))
    df = store.read()
    return df[df["status"] == "ok"]


def run_design(folder: Path, z: np.ndarray, problem: Problem, backend, bar=None,
               spread: bool = False):
    """The figures (half-bands from the band centres, mean over the common seeds) at each
    point of ``z``, run into ``folder``'s store; runs already there are not run again.
    ``bar`` (tqdm) counts the runs. With ``spread``, also their variance over the seeds
    (NaN where fewer than two ran)."""
    df = _runs(folder, z, problem, backend, bar)
    y = np.full((len(z), len(problem.moments)), np.nan)
    var = np.full_like(y, np.nan)
    for j, m in enumerate(problem.moments):
        by_point = m.target.by_run(df, ["point", "seed"]).groupby(level="point")
        per = by_point.mean()
        y[per.index.to_numpy(), j] = (per.to_numpy() - problem.centre(m)) / m.half_band
        if spread:
            v = by_point.var()
            var[v.index.to_numpy(), j] = v.to_numpy() / m.half_band ** 2
    return (y, var) if spread else y


def seed_figures(folder: Path, z: np.ndarray, problem: Problem, backend,
                 bar=None) -> np.ndarray:
    """Every run's figures (half-bands from the band centres) at each point of ``z`` on
    each common seed: an array (points, seeds, figures), NaN where a run failed (run as
    :func:`run_design` runs them)."""
    df = _runs(folder, z, problem, backend, bar)
    out = np.full((len(z), len(problem.seeds), len(problem.moments)), np.nan)
    column = {seed: c for c, seed in enumerate(problem.seeds)}
    for j, m in enumerate(problem.moments):
        per = m.target.by_run(df, ["point", "seed"])
        points = per.index.get_level_values("point").to_numpy()
        seeds = np.array([column[s] for s in per.index.get_level_values("seed")], dtype=int)
        out[points, seeds, j] = (per.to_numpy() - problem.centre(m)) / m.half_band
    return out


def _design(folder: Path, make) -> np.ndarray:
    """A wave's design: read back if written, else made and written before any run."""
    path = folder / "design.npy"
    if path.is_file():
        return np.load(path)
    z = make()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / ".design.npy.tmp"
    with open(tmp, "wb") as f:
        np.save(f, z)
    tmp.replace(path)
    return z


@dataclass
class Matching:
    """What :func:`history_match` leaves."""

    posterior: pd.DataFrame          # accepted particles: parameters, weight, distance
    figures: pd.DataFrame            # their figures in half-bands
    waves: list[dict] = field(default_factory=list)   # per wave: runs, NROY share, ...
    simulations: int = 0
    seconds: float = 0.0
    candidates: int = 0              # final-stage points run
    accepted: int = 0


def history_match(problem: Problem, work: Path, backend, *, budget: int, population: int,
                  waves: int, wave_size: int, progress: bool = True) -> Matching:
    """Waves of history matching, then rejection ABC in what they leave (module doc), on
    ``backend`` (:class:`runs.engine.Backend`). ``budget`` bounds the points run (each on
    every common seed), waves included."""
    from tqdm import tqdm

    started = time.perf_counter()
    d = len(problem.names)
    fitted: list[Wave] = []
    record: list[dict] = []
    spent = 0
    # One bar for the whole calibration: its estimate of the time left is to the end of
    # the budget, which the final stage reaches only if it keeps too few particles.
    bar = tqdm(total=budget * len(problem.seeds), unit="run", desc="calibrating",
               disable=not progress)
    say = bar.write if progress else (lambda _s: None)
    starts = None
    for k in range(waves):
        if k > 0 and spent + wave_size > budget // 2:
            break                    # the waves take half the budget at most
        folder = work / f"wave-{k + 1}"
        if k == 0:
            z = _design(folder, lambda: _lhs(wave_size, d, SEED))
        else:
            rng = np.random.default_rng([SEED, k])
            z = _design(folder, lambda s=starts, r=rng: sample_nroy(fitted, s, wave_size, r))
        if len(z) == 0:
            break
        bar.set_postfix_str(f"wave {k + 1}")
        y = run_design(folder, z, problem, backend, bar)
        spent += len(z)
        wave = Wave(k + 1, [Emulator.fit(m.key, z, y[:, j])
                            for j, m in enumerate(problem.moments)])
        fitted.append(wave)
        inside = implausibility(z, fitted) <= CUTOFF
        in_band = np.all(np.abs(y) <= 1, axis=1)
        # The share of the prior not ruled out, estimated on fresh prior draws.
        probe = np.random.default_rng([SEED, 10_000 + k]).standard_normal((20_000, d))
        share = float(np.mean(implausibility(probe, fitted) <= CUTOFF))
        record.append({"wave": k + 1, "runs": len(z), "in_band": int(in_band.sum()),
                       "not_ruled_out": int(inside.sum()), "nroy_share": share})
        say(f"wave {k + 1}: {len(z)} points, {int(in_band.sum())} with every figure "
            f"in band, {int(inside.sum())} not ruled out; NROY ~{share:.2g} of the prior")
        if inside.sum() == 0:
            order = np.argsort(implausibility(z, fitted))
            starts = z[order[:max(d + 1, len(z) // 20)]]
        else:
            starts = z[inside]
    # The final stage: the prior inside NROY, run and accepted by the bands.
    accepted_z, accepted_y, candidates, chunk = [], [], 0, 0
    chunk_size = max(population, 100)
    while sum(len(a) for a in accepted_z) < population and spent < budget:
        folder = work / f"final-{chunk + 1}"
        size = min(chunk_size, budget - spent)
        rng = np.random.default_rng([SEED, 1_000 + chunk])
        z = _design(folder, lambda s=starts, n=size, r=rng: sample_nroy(fitted, s, n, r))
        if len(z) == 0:
            break
        bar.set_postfix_str(f"final stage, {sum(len(a) for a in accepted_z)} kept")
        y = run_design(folder, z, problem, backend, bar)
        spent += len(z)
        candidates += len(z)
        ok = np.all(np.abs(np.nan_to_num(y, nan=np.inf)) <= 1, axis=1)
        accepted_z.append(z[ok])
        accepted_y.append(y[ok])
        say(f"final stage {chunk + 1}: {int(ok.sum())} of {len(z)} accepted "
            f"({sum(len(a) for a in accepted_z)} of {population})")
        chunk += 1
    bar.close()
    z = np.concatenate(accepted_z)[:population] if accepted_z else np.empty((0, d))
    y = (np.concatenate(accepted_y)[:population] if accepted_y
         else np.empty((0, len(problem.moments))))
    rows = [problem.values(point) for point in z]
    posterior = pd.DataFrame({n: [r[n] for r in rows] for n in problem.names})
    posterior["weight"] = 1.0 / max(len(z), 1)
    posterior["distance"] = np.max(np.abs(y), axis=1) if len(z) else []
    figures = pd.DataFrame(y, columns=[m.key for m in problem.moments])
    return Matching(posterior, figures, record, spent, time.perf_counter() - started,
                    candidates, len(z))


def write_settings(work: Path, settings: dict) -> None:
    work.mkdir(parents=True, exist_ok=True)
    tmp = work / ".settings.json.tmp"
    tmp.write_text(json.dumps(settings, indent=1), "utf-8")
    tmp.replace(work / "settings.json")


def read_settings(work: Path) -> dict | None:
    try:
        return json.loads((work / "settings.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None


