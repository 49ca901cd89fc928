"""Sequential emulation: Gaussian-process emulators of the figures' means, refined in waves
where the posterior lies, and the posterior sampled on them.

Every sampler that accepts a point by its own runs (ABC-MCMC, ABC-SMC with a uniform
kernel, rejection inside history matching's cut) is bounded by the seeds' noise: at the
calibrated point only 0.31 of two-seed means put every figure in band
(``benchmarks/seed_noise.py``), so chains stick and weights degenerate. This module
judges a point by the *mean* of its figures instead, which emulators estimate by pooling
neighbouring runs: the route of Wilkinson (2014, "Accelerating ABC methods using Gaussian
processes", AISTATS) and of history matching's waves (Andrianakis et al. 2015, PLoS
Comput Biol 11(1): e1003968), with the synthetic likelihood's idea of a Gaussian model
of the noise (Wood 2010, Nature 466).

* **The figures** of a run are measured as in :mod:`calibration.history_matching`: in
  half-bands from their band centres, the mean over the common seeds.
* **The seeds' noise** of each figure is measured from the runs themselves: the variance
  over a point's seeds, pooled over the points within ``NEAR`` half-bands of every band
  (the noise where the posterior lies; a Poisson count's noise grows with its level).
* **An emulator** per figure: a linear mean in the prior's normal scores and a Gaussian
  process on its residuals (scikit-learn; a squared-exponential kernel with a length per
  parameter), every run's noise variance given on the diagonal (``alpha``: the one-seed
  variance over its number of seeds) rather than fitted -- fitted, the white-noise term
  went to zero and the process interpolated the seeds' luck. Hyperparameters are fitted
  on ``HYPER_POINTS`` runs drawn from the latest ``GP_POINTS``, on which it is then
  conditioned.
* **The posterior on the emulators**: the prior times, for each figure, the probability
  that the mean over ``JUDGED_SEEDS`` seeds lies in its band, the emulator's variance and
  that mean's noise variance added: the posterior of an ABC with a uniform kernel on
  every figure of a five-seed mean (the fit report judges draws by five seeds), the
  figures taken as independent given the point. ``CHAINS`` random-walk Metropolis chains
  sample it, started at the runs it rates highest, their covariance and scale adapted
  during the burn-in (Roberts & Rosenthal 2001).
* **A wave** runs ``wave_size`` draws of that posterior (the first: the starts, as many
  points around them and a Latin hypercube over the prior), and the emulators are fitted
  again on every run so far: each wave teaches them where the last one thought the
  posterior was, which corrects the emulators exactly where the posterior needs them.
* **The posterior sample** is ``population`` states of the last emulators' chains, run on
  the common seeds for the record. Its effective size and split R-hat come from the
  chains (BDA3 §11.4-11.5). The emulators choose the particles; whether they reproduce
  the figures is for the fit report to say, which runs them on seeds no wave used.

As in history matching, every design is written before its runs and the runs as they
finish; emulators and chains are computed again from those files with fixed random
states, so a calibration killed at any moment resumes where it stopped and makes the same
posterior.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from calibration import history_matching as hm

GP_POINTS = 1500      # the latest runs each process is conditioned on
HYPER_POINTS = 500    # the runs its hyperparameters are fitted on
JUDGED_SEEDS = 5      # the posterior judges the mean over this many seeds
NEAR = 3.0            # half-bands: the points whose seeds measure the noise
NOISE_FLOOR = 0.05    # half-bands: the smallest one-seed noise sd a figure is given
UNMEASURED = 1.0      # half-bands squared: the noise variance where one seed measures none
CHAINS = 200          # Metropolis chains on the emulators
BURN_IN = 400         # steps before their states are kept
THIN = 10             # steps between kept states
KEPT = 10             # kept states a chain, at least (R-hat needs several)
SEED = 20_251         # the designs' and the chains' random states (with the wave index)


@dataclass
class Emulators:
    """One emulator a figure: linear coefficients (intercept first) and a fitted process
    on the residuals; figures in half-bands."""

    betas: list[np.ndarray]
    gps: list

    def predict(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each figure's emulated mean and the variance of that estimate, a column a
        figure (the seeds' noise is not in it)."""
        means, variances = [], []
        for beta, gp in zip(self.betas, self.gps, strict=True):
            mu, sd = gp.predict(z, return_std=True)
            means.append(beta[0] + z @ beta[1:] + mu)
            variances.append(np.maximum(sd ** 2, 1e-8))
        return np.array(means).T, np.array(variances).T


def _hyperparameters(args: tuple):
    """A figure's kernel, fitted on a subsample (module level: it runs in workers)."""
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF
    from sklearn.gaussian_process.kernels import ConstantKernel as C

    z, resid, alpha = args
    kernel = C(1.0, (1e-3, 1e3)) * RBF(np.full(z.shape[1], 3.0), (0.1, 1e3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return GaussianProcessRegressor(kernel, alpha=alpha, random_state=0).fit(
            z, resid).kernel_


def fit(z: np.ndarray, y: np.ndarray, alpha: np.ndarray, executor) -> Emulators:
    """Emulators of every column of ``y`` (half-bands, NaN where a run failed) at points
    ``z``, the runs' noise variances ``alpha`` (same shape as ``y``) on the diagonal;
    the kernels fitted on ``executor`` (any concurrent.futures executor)."""
    from sklearn.gaussian_process import GaussianProcessRegressor

    latest = np.arange(max(0, len(z) - GP_POINTS), len(z))
    rng = np.random.default_rng(SEED)
    sub = np.sort(rng.choice(latest, min(HYPER_POINTS, len(latest)), replace=False))
    design = np.column_stack([np.ones(len(z)), z])
    betas, residuals, jobs = [], [], []
    for j in range(y.shape[1]):
        ok = np.isfinite(y[:, j])
        yj = np.clip(np.where(ok, y[:, j], hm.CLIP), -hm.CLIP, hm.CLIP)
        beta, *_ = np.linalg.lstsq(design[ok], yj[ok], rcond=None)
        resid = yj - design @ beta
        betas.append(beta)
        residuals.append(resid)
        jobs.append((z[sub], resid[sub], alpha[sub, j]))
    kernels = list(executor.map(_hyperparameters, jobs))
    gps = []
    for j, kernel in enumerate(kernels):
        gp = GaussianProcessRegressor(kernel, alpha=alpha[latest, j], optimizer=None)
        gps.append(gp.fit(z[latest], residuals[j][latest]))
    return Emulators(betas, gps)


def log_posterior(emulators: Emulators, z: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """The log density, up to a constant, of the posterior on the emulators at ``z``:
    standard normal prior scores times, per figure, the probability that a mean with the
    emulated mean and variance plus ``noise`` (a variance a figure) lies in its band."""
    mean, var = emulators.predict(z)
    sd = np.sqrt(var + noise)
    inside = norm.cdf((1 - mean) / sd) - norm.cdf((-1 - mean) / sd)
    return -0.5 * np.sum(z ** 2, axis=1) + np.log(np.maximum(inside, 1e-300)).sum(axis=1)


def sample(emulators: Emulators, noise: np.ndarray, runs: np.ndarray, n: int,
           rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """``n`` states of ``CHAINS`` Metropolis chains on the emulators' posterior, started
    at the ``runs`` it rates highest, and the chains' diagnostics (per parameter:
    effective size of the ``n`` states, split R-hat; the acceptance rate)."""
    from calibration.abc_mcmc import effective_sample_size, split_rhat

    d = runs.shape[1]
    target = (lambda x: log_posterior(emulators, x, noise))
    x = runs[np.argsort(-target(runs))[:CHAINS]].copy()
    x = x[np.arange(CHAINS) % len(x)]
    lp = target(x)
    cov, scale, accepted, kept = np.cov(x, rowvar=False), 2.38 ** 2 / d, [], []
    per_chain = max(KEPT, -(-n // CHAINS))
    for step in range(BURN_IN + THIN * per_chain):
        chol = np.linalg.cholesky((cov + 1e-6 * np.eye(d)) * scale)
        y = x + rng.standard_normal((CHAINS, d)) @ chol.T
        lp_y = target(y)
        take = np.log(rng.random(CHAINS)) < lp_y - lp
        x[take], lp[take] = y[take], lp_y[take]
        accepted.append(take.mean())
        if step < BURN_IN and step % 25 == 24:
            cov = np.cov(x, rowvar=False)
            scale *= np.exp(np.mean(accepted[-25:]) - 0.234)
        if step >= BURN_IN and (step - BURN_IN) % THIN == THIN - 1:
            kept.append(x.copy())
    chains = np.stack(kept, axis=1)                      # chains x kept x parameters
    total = chains.shape[0] * chains.shape[1]
    ess = [min(n, effective_sample_size(chains[:, :, j]) * n / total) for j in range(d)]
    rhat = [split_rhat(chains[:, :, j]) for j in range(d)]
    flat = chains.reshape(-1, d)
    chosen = flat[np.sort(rng.choice(total, n, replace=False))] if n < total else flat
    return chosen, {"ess": ess, "rhat": rhat,
                    "acceptance": float(np.mean(accepted[BURN_IN:]))}


def seed_noise(y: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """Each figure's one-seed noise variance (half-bands squared): the variance over a
    point's seeds (``spread``), averaged over the points within ``NEAR`` half-bands of
    every band (over every point where fewer than ten are); ``UNMEASURED`` where no point
    ran two seeds."""
    near = np.all(np.abs(np.nan_to_num(y, nan=np.inf)) <= NEAR, axis=1)
    rows = spread[near] if near.sum() >= 10 else spread
    measured = np.isfinite(rows)
    noise = np.where(measured.any(axis=0),
                     np.nansum(rows, axis=0) / np.maximum(measured.sum(axis=0), 1),
                     UNMEASURED)
    return np.maximum(noise, NOISE_FLOOR ** 2)


@dataclass
class Emulation:
    """What :func:`emulate` found: the posterior sample (equal weights; ``distance``, its
    largest miss on the common seeds), its figures there, a record a wave, points run,
    seconds, the chains' diagnostics, and each particle's largest miss by the emulated
    means (where the point is looked for)."""

    posterior: pd.DataFrame
    figures: pd.DataFrame
    waves: list[dict]
    simulations: int
    seconds: float
    diagnostics: dict
    emulated_distance: np.ndarray     # each particle's largest emulated miss, half-bands


def emulate(problem: hm.Problem, work: Path, backend, *, budget: int, population: int,
            waves: int, wave_size: int, starts: np.ndarray,
            progress: bool = True) -> Emulation:
    """The posterior on emulators refined in up to ``waves`` waves of ``wave_size``
    points, within ``budget`` points run (the final sample's ``population`` included),
    everything kept in ``work``; ``starts`` (normal scores, a row a point) seed the first
    wave."""
    from tqdm.auto import tqdm

    # The bar counts runs; its rate is the average since the start (smoothing 0), so the
    # time left it shows includes the emulators' fits between the waves.
    started = time.perf_counter()
    d = len(problem.names)
    waves = max(1, min(waves, (budget - population) // wave_size))   # budget >= one wave
    bar = tqdm(total=(waves * wave_size + population) * len(problem.seeds), unit="run",
               desc="emulation", disable=not progress, smoothing=0)
    say = bar.write if progress else (lambda _s: None)
    zs, ys, spreads, record = [], [], [], []
    emulators = noise = None

    def refit() -> None:
        nonlocal emulators, noise
        z, y, spread = np.vstack(zs), np.vstack(ys), np.vstack(spreads)
        one_seed = seed_noise(y, spread)
        alpha = np.tile(one_seed / len(problem.seeds), (len(z), 1))
        emulators = fit(z, y, alpha, backend.executor)
        noise = one_seed / JUDGED_SEEDS

    for k in range(waves):
        folder = work / f"wave-{k + 1}"
        rng = np.random.default_rng([SEED, k])
        if k == 0:
            near = min(len(starts), wave_size // 4)

            def first(r=rng, near=near) -> np.ndarray:
                around = starts[r.integers(0, len(starts), near)]
                return np.vstack([starts[:near], around + 0.3 * r.standard_normal((near, d)),
                                  hm._lhs(wave_size - 2 * near, d, SEED)])
            z = hm._design(folder, first)
        else:
            bar.set_postfix_str(f"fitting wave {k + 1}'s emulators")
            refit()
            z = hm._design(folder, lambda r=rng: sample(emulators, noise, np.vstack(zs),
                                                        wave_size, r)[0])
        bar.set_postfix_str(f"wave {k + 1} of {waves}")
        y, spread = hm.run_design(folder, z, problem, backend, bar, spread=True)
        in_band = np.all(np.abs(np.nan_to_num(y, nan=np.inf)) <= 1, axis=1)
        miss = ""
        if emulators is not None:
            rms = np.sqrt(np.nanmean((y - emulators.predict(z)[0]) ** 2, axis=0))
            record_miss = {m.key: round(float(r), 3)
                           for m, r in zip(problem.moments, rms, strict=True)}
            miss = f", emulators' largest root-mean-square miss {max(rms):.2f}"
        else:
            record_miss = {}
        zs.append(z)
        ys.append(y)
        spreads.append(spread)
        largest = float(np.nanmedian(np.nanmax(np.abs(y), axis=1)))
        record.append({"wave": k + 1, "runs": len(z), "in_band": int(in_band.sum()),
                       "median_largest_miss": round(largest, 3), "emulator_rms": record_miss})
        say(f"wave {k + 1}: {len(z)} points, {int(in_band.sum())} with every figure in "
            f"band, median largest miss {largest:.2f} half-bands{miss}")
    bar.set_postfix_str("the posterior sample")
    refit()
    folder = work / "final"
    rng = np.random.default_rng([SEED, 1_000])
    diagnostics_file = folder / "chains.json"
    if not (folder / "design.npy").is_file():
        z, diagnostics = sample(emulators, noise, np.vstack(zs), population, rng)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / ".chains.json.tmp"
        tmp.write_text(json.dumps(diagnostics), "utf-8")
        tmp.replace(diagnostics_file)
        hm._design(folder, lambda: z)
    z = np.load(folder / "design.npy")
    diagnostics = json.loads(diagnostics_file.read_text("utf-8"))
    bar.set_postfix_str("the posterior sample")
    y = hm.run_design(folder, z, problem, backend, bar)
    bar.close()
    rows = [problem.values(point) for point in z]
    posterior = pd.DataFrame({n: [r[n] for r in rows] for n in problem.names})
    posterior["weight"] = 1.0 / len(z)
    posterior["distance"] = np.nanmax(np.abs(np.nan_to_num(y, nan=np.inf)), axis=1)
    figures = pd.DataFrame(y, columns=[m.key for m in problem.moments])
    emulated = emulators.predict(z)[0]
    diagnostics = {**diagnostics, "noise": noise.tolist(),
                   "emulated_mean": emulated.mean(axis=0).tolist()}
    simulations = sum(len(a) for a in zs) + len(z)
    return Emulation(posterior, figures, record, simulations,
                     time.perf_counter() - started, diagnostics,
                     np.max(np.abs(emulated), axis=1))
