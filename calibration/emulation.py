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
  figures taken as independent given the point but for the pairs of ``PAIRS``: the two
  firm stocks count the same firms, so producing is emulated as it is, relocated as the
  relocated not producing (their excess), and the chance that both lie in band is the
  bivariate normal's, their noise covariance measured from the seeds as the variances
  are (:func:`pair_in_band`; the basis emulators of Higdon et al. 2008, JASA 103, rotate
  outputs to components emulated apart in the same way). Tempered sequential Monte Carlo samples
  it (Del Moral, Doucet & Jasra 2006): ``ISLANDS`` independent populations, each drawn
  from the prior and carried to the posterior through temperatures of the likelihood,
  resampled and moved by random-walk Metropolis steps at each. Metropolis chains alone
  did not mix on it (200 chains, their R-hat 2.6-3.0 after 400-1,500 steps; the
  posterior is thin across the directions the merchants, the development intensity and
  the land price fix, and broad along the rest); SMC needs no chain to cross it, only
  local moves. Its effective size is measured from the particles' genealogy (Chan & Lai
  2013; Du & Guyader 2021), a check that fails when few ancestors' families hold the
  sample.
* **A wave** runs ``wave_size`` draws of that posterior (the first: the starts, as many
  points around them and a Latin hypercube over the prior), and the emulators are fitted
  again on every run so far: each wave teaches them where the last one thought the
  posterior was, which corrects the emulators exactly where the posterior needs them.
* **The posterior sample** is ``population`` draws of the last emulators' posterior (the
  waves' designs come from a cheaper run of the same sampler), run on the common seeds
  for the record. The emulators choose the particles; whether they reproduce
  the figures is for the fit report to say, which runs them on seeds no wave used.

As in history matching, every design is written before its runs and the runs as they
finish; emulators and samplers are computed again from those files with fixed random
states, so a calibration killed at any moment resumes where it stopped and makes the same
posterior.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass, field, replace
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
ISLANDS = 4           # independent SMC populations of the posterior sample
PARTICLES = 1000      # particles an island
MOVES = 20            # Metropolis moves at each temperature
FINAL_MOVES = 40      # more at the last: the families of few ancestors spread (ESS grows)
WAVE_ISLANDS, WAVE_PARTICLES, WAVE_MOVES = 2, 500, 5    # a wave's design: a cheaper run
ESS_STEP = 0.5        # the share of effective particles a temperature step keeps
# Figures judged as a pair: (the first, emulated as it is; the second, emulated as its
# excess over the first). The firm stocks of 2020 count the same firms (producing ones
# among the relocated): their emulators' misses moved together (correlation 0.91 on a
# wave they had not seen) and the seeds' noise of the relocated not producing is a fifth
# of producing's, so the excess is emulated far better than either stock.
PAIRS = (("firms_operating_2020", "firms_relocated_2020"),)
PAIR_NODES = 16       # Gauss-Legendre nodes of a pair's probability of the band
SEED = 20_251         # the designs' and the samplers' random states (with the wave)


@dataclass
class Pair:
    """Two figures judged together (columns ``first`` and ``second``, half-bands): the
    first emulated as it is, the second's column holding its excess over the first,
    ``ratio`` times the second minus the first (``ratio``: the second's half-band over the
    first's, so the excess counts in the first's units), and ``noise_cov``, the covariance
    of the first's and the excess's noise in the judged mean."""

    first: int
    second: int
    ratio: float
    noise_cov: float = 0.0


def rotate(runs: np.ndarray, pairs: list[Pair]) -> np.ndarray:
    """Figures (the last axis, half-bands) with each pair's second replaced by its excess
    over the first, the basis the emulators work in."""
    out = runs.copy()
    for pair in pairs:
        out[..., pair.second] = pair.ratio * runs[..., pair.second] - runs[..., pair.first]
    return out


def pairs_of(moments: list) -> list[Pair]:
    """The :data:`PAIRS` among ``moments`` (calibration.estimation.Moment), as indices
    into them and the ratio of their half-bands."""
    keys = [m.key for m in moments]
    return [Pair(keys.index(a), keys.index(b),
                 moments[keys.index(b)].half_band / moments[keys.index(a)].half_band)
            for a, b in PAIRS if a in keys and b in keys]


def mean_and_spread(runs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean over the seeds (axis 1) of runs' figures, NaN where none ran, and their
    variance over the seeds, NaN where fewer than two ran."""
    ran = np.isfinite(runs).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(runs, axis=1) / ran
        var = np.nansum((runs - mean[:, None, :]) ** 2, axis=1) / (ran - 1)
    return np.where(ran > 0, mean, np.nan), np.where(ran > 1, var, np.nan)


def pair_covariance(runs: list[np.ndarray], pair: Pair) -> float:
    """The covariance over a point's seeds of a pair's first figure and its excess (runs
    in the emulators' basis, an array a wave), pooled as :func:`seed_noise` pools
    (:func:`near_rows`); 0 where no point ran two seeds."""
    means, covs = [], []
    for wave in runs:
        mean = mean_and_spread(wave)[0]
        dev = wave - mean[:, None, :]
        product = dev[..., pair.first] * dev[..., pair.second]
        n = np.isfinite(product).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            covs.append(np.where(n > 1, np.nansum(product, axis=1) / (n - 1), np.nan))
        means.append(mean)
    rows = near_rows(np.vstack(means), np.concatenate(covs))
    rows = rows[np.isfinite(rows)]
    return float(rows.mean()) if rows.size else 0.0


@dataclass
class Emulators:
    """One emulator a figure: linear coefficients (intercept first) and a fitted process
    on the residuals; figures in half-bands, each pair's second as its excess over the
    first (:class:`Pair`)."""

    betas: list[np.ndarray]
    gps: list
    pairs: list[Pair] = field(default_factory=list)

    def predict(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each figure's emulated mean and the variance of that estimate, a column a
        figure (the seeds' noise is not in it)."""
        means, variances = [], []
        for beta, gp in zip(self.betas, self.gps, strict=True):
            mu, sd = gp.predict(z, return_std=True)
            means.append(beta[0] + z @ beta[1:] + mu)
            variances.append(np.maximum(sd ** 2, 1e-8))
        return np.array(means).T, np.array(variances).T

    def figures(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`predict`, every pair's second back as the figure itself (its
        emulators' misses taken as independent)."""
        mean, var = self.predict(z)
        for pair in self.pairs:
            mean[:, pair.second] = (mean[:, pair.first] + mean[:, pair.second]) / pair.ratio
            var[:, pair.second] = (var[:, pair.first] + var[:, pair.second]) / pair.ratio ** 2
        return mean, var


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


def log_likelihood(emulators: Emulators, z: np.ndarray, noise: np.ndarray,
                   chunk: int = 250) -> np.ndarray:
    """The log of the product over figures of the probability that a mean with the
    emulated mean and variance plus ``noise`` (a variance a figure) lies in its band, at
    each row of ``z``; a pair's two figures (:class:`Pair`) have that probability
    together (:func:`pair_in_band`). Computed ``chunk`` rows at a time: the processes'
    variances cost the same per row and stay in cache."""
    out = []
    for i in range(0, len(z), chunk):
        mean, var = emulators.predict(z[i:i + chunk])
        sd = np.sqrt(var + noise)
        inside = norm.cdf((1 - mean) / sd) - norm.cdf((-1 - mean) / sd)
        for pair in emulators.pairs:
            a, b = pair.first, pair.second
            inside[:, a] = pair_in_band(mean[:, a], var[:, a] + noise[a], mean[:, b],
                                        var[:, b] + noise[b], pair.noise_cov, pair.ratio)
            inside[:, b] = 1.0
        out.append(np.log(np.maximum(inside, 1e-300)).sum(axis=1))
    return np.concatenate(out) if out else np.empty(0)


def pair_in_band(m1: np.ndarray, v1: np.ndarray, me: np.ndarray, ve: np.ndarray,
                 cov: float, ratio: float) -> np.ndarray:
    """The probability that a first figure and a second lie in their bands [-1, 1] when
    the first ~ N(m1, v1) and the excess e = ratio * second - first ~ N(me, ve), with
    covariance ``cov``: the integral over the first's band of its density times the
    chance that the excess puts the second in band, |first + e| <= ratio. Integrated by
    Gauss-Legendre over the first's normal quantile (exact for any v1: the integrand is
    smooth in it)."""
    s1 = np.sqrt(v1)
    lo, hi = norm.cdf((-1 - m1) / s1), norm.cdf((1 - m1) / s1)
    x, w = np.polynomial.legendre.leggauss(PAIR_NODES)
    u = lo[:, None] + (hi - lo)[:, None] * (x[None, :] + 1) / 2
    first = m1[:, None] + s1[:, None] * norm.ppf(np.clip(u, 1e-15, 1 - 1e-15))
    slope = cov / v1
    mean_e = me[:, None] + slope[:, None] * (first - m1[:, None])
    sd_e = np.sqrt(np.maximum(ve - slope * cov, 1e-12))[:, None]
    second = (norm.cdf((ratio - first - mean_e) / sd_e)
              - norm.cdf((-ratio - first - mean_e) / sd_e))
    return (hi - lo) / 2 * (second * w[None, :]).sum(axis=1)


def log_posterior(emulators: Emulators, z: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """The log density, up to a constant, of the posterior on the emulators at ``z``:
    standard normal prior scores times :func:`log_likelihood`."""
    return -0.5 * np.sum(z ** 2, axis=1) + log_likelihood(emulators, z, noise)


def _island(args: tuple) -> tuple[np.ndarray, np.ndarray, float, int]:
    """One population of the tempered SMC (module level: it runs in workers): its
    particles at temperature 1, each one's ancestor at the prior, the moves' acceptance
    rate and the number of temperatures."""
    from calibration.fit_report import effective_sample_size

    def kish(log_w: np.ndarray) -> float:           # of weights given by their logs
        return effective_sample_size(np.exp(log_w - log_w.max()))

    emulators, noise, d, particles, moves, final_moves, seed = args
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((particles, d))
    ll = log_likelihood(emulators, x, noise)
    eve = np.arange(particles)
    phi, scale, accepted, temperatures = 0.0, 2.38 ** 2 / d, [], 0

    def move(steps: int) -> None:
        """Random-walk Metropolis steps at temperature ``phi``, the population's
        covariance scaled toward the acceptance rate of 0.234 (Roberts et al. 1997)."""
        nonlocal scale
        chol = np.linalg.cholesky(np.cov(x, rowvar=False) + 1e-9 * np.eye(d))
        for _ in range(steps):
            y = x + np.sqrt(scale) * rng.standard_normal((particles, d)) @ chol.T
            ll_y = log_likelihood(emulators, y, noise)
            log_ratio = phi * (ll_y - ll) - 0.5 * np.sum(y ** 2 - x ** 2, axis=1)
            take = np.log(rng.random(particles)) < log_ratio
            x[take], ll[take] = y[take], ll_y[take]
            accepted.append(take.mean())
            scale *= np.exp(take.mean() - 0.234)

    while phi < 1:
        # the next temperature keeps ESS_STEP of the particles' conditional effective size
        if kish((1 - phi) * ll) >= ESS_STEP * particles:
            new = 1.0
        else:
            low, high = phi, 1.0
            for _ in range(60):
                mid = (low + high) / 2
                low, high = (mid, high) if kish((mid - phi) * ll) >= ESS_STEP * particles \
                    else (low, mid)
            new = max(low, phi + 1e-12)
        w = np.exp((new - phi) * ll - np.max((new - phi) * ll))
        phi, temperatures = new, temperatures + 1
        picked = np.minimum(np.searchsorted(np.cumsum(w / w.sum()),
                                            (rng.random() + np.arange(particles)) / particles),
                            particles - 1)                         # systematic resampling
        x, ll, eve = x[picked], ll[picked], eve[picked]
        move(moves + (final_moves if phi >= 1 else 0))
    return x, eve, float(np.mean(accepted)), temperatures


def genealogy_ess(x: np.ndarray, eve: np.ndarray) -> np.ndarray:
    """Each column's effective sample size in a population of equally weighted particles
    descended from ancestors ``eve``: its variance over the variance of its mean that the
    ancestors' families imply (Chan & Lai 2013, Ann. Stat. 41(6); Lee & Whiteley 2018,
    Biometrika 105(3); for adaptive SMC samplers Du & Guyader 2021, Ann. Appl. Probab.
    31(3)). Particles of one family count as much as their family varies."""
    f = x - x.mean(axis=0)
    families = np.zeros((int(eve.max()) + 1, x.shape[1]))
    np.add.at(families, eve, f)
    return len(x) * np.sum(f ** 2, axis=0) / np.maximum(np.sum(families ** 2, axis=0),
                                                        1e-300)


def sample(emulators: Emulators, noise: np.ndarray, n: int, seed: list[int], executor=None,
           *, islands: int = ISLANDS, particles: int = PARTICLES,
           moves: int = MOVES, final_moves: int = FINAL_MOVES) -> tuple[np.ndarray, dict]:
    """``n`` draws of the emulators' posterior by tempered sequential Monte Carlo (Del
    Moral, Doucet & Jasra 2006, JRSS B 68(3)): ``islands`` independent populations of
    ``particles`` (on ``executor``'s workers, any concurrent.futures executor; in this
    process without one), each from the prior to the posterior through temperatures
    chosen to keep ``ESS_STEP`` of its effective size a step, resampled and moved
    ``moves`` random-walk Metropolis steps at each (``final_moves`` more at the last).
    The random states follow from ``seed`` and the island alone, so the draws do not
    depend on the workers. Returns
    the draws (drawn without replacement from every island's particles) and diagnostics
    per parameter: the draws' effective size (:func:`genealogy_ess` of the populations,
    less the sampling of ``n`` of them), the ancestors left, the acceptance rate and the
    temperatures."""
    d = len(emulators.betas[0]) - 1
    particles = max(particles, -(-n // islands))         # enough for n draws
    jobs = [(emulators, noise, d, particles, moves, final_moves, [*seed, i])
            for i in range(islands)]
    done = list(executor.map(_island, jobs) if executor is not None else map(_island, jobs))
    x = np.vstack([r[0] for r in done])
    eve = np.concatenate([r[1] + i * particles for i, r in enumerate(done)])
    total = len(x)
    ess_total = genealogy_ess(x, eve)
    take = min(n, total)
    # a subsample's mean varies by the population's variance plus the subsampling's
    ess = 1 / (1 / ess_total + 1 / take - 1 / total)
    rng = np.random.default_rng([*seed, islands])
    chosen = x[np.sort(rng.choice(total, take, replace=False))]
    return chosen, {"ess": np.minimum(ess, take).tolist(),
                    "ess_population": ess_total.tolist(),
                    "ancestors": len(np.unique(eve)), "particles": total,
                    "islands": islands, "moves": moves, "final_moves": final_moves,
                    "acceptance": float(np.mean([r[2] for r in done])),
                    "temperatures": [r[3] for r in done]}


def near_rows(y: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The rows of ``values`` at the points whose figures ``y`` lie within ``NEAR``
    half-bands of every band (the noise where the posterior lies), or every row where
    fewer than ten do."""
    near = np.all(np.abs(np.nan_to_num(y, nan=np.inf)) <= NEAR, axis=1)
    return values[near] if near.sum() >= 10 else values


def seed_noise(y: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """Each figure's one-seed noise variance (half-bands squared): the variance over a
    point's seeds (``spread``), averaged over the points within ``NEAR`` half-bands of
    every band (over every point where fewer than ten are); ``UNMEASURED`` where no point
    ran two seeds."""
    rows = near_rows(y, spread)
    measured = np.isfinite(rows)
    noise = np.where(measured.any(axis=0),
                     np.nansum(rows, axis=0) / np.maximum(measured.sum(axis=0), 1),
                     UNMEASURED)
    return np.maximum(noise, NOISE_FLOOR ** 2)


@dataclass
class Emulation:
    """What :func:`emulate` found: the posterior sample (equal weights; ``distance``, its
    largest miss on the common seeds), its figures there, a record a wave, points run,
    seconds, the sampler's diagnostics, and each particle's largest miss by the emulated
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
    zs, runs, record = [], [], []         # runs: in the emulators' basis (rotate)
    pairs = pairs_of(problem.moments)
    emulators = noise = None

    def refit() -> None:
        nonlocal emulators, noise
        z = np.vstack(zs)
        y, spread = (np.vstack(a) for a in zip(*map(mean_and_spread, runs), strict=True))
        one_seed = seed_noise(y, spread)
        alpha = np.tile(one_seed / len(problem.seeds), (len(z), 1))
        emulators = fit(z, y, alpha, backend.executor)
        emulators.pairs = [replace(p, noise_cov=pair_covariance(runs, p) / JUDGED_SEEDS)
                           for p in pairs]
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
            z = hm._design(folder, lambda k=k: sample(
                emulators, noise, wave_size, [SEED, k], backend.executor,
                islands=WAVE_ISLANDS, particles=WAVE_PARTICLES, moves=WAVE_MOVES,
                final_moves=0)[0])
        bar.set_postfix_str(f"wave {k + 1} of {waves}")
        wave = hm.seed_figures(folder, z, problem, backend, bar)
        y = mean_and_spread(wave)[0]
        in_band = np.all(np.abs(np.nan_to_num(y, nan=np.inf)) <= 1, axis=1)
        miss = ""
        if emulators is not None:
            rms = np.sqrt(np.nanmean((y - emulators.figures(z)[0]) ** 2, axis=0))
            record_miss = {m.key: round(float(r), 3)
                           for m, r in zip(problem.moments, rms, strict=True)}
            miss = f", emulators' largest root-mean-square miss {max(rms):.2f}"
        else:
            record_miss = {}
        zs.append(z)
        runs.append(rotate(wave, pairs))
        largest = float(np.nanmedian(np.nanmax(np.abs(y), axis=1)))
        record.append({"wave": k + 1, "runs": len(z), "in_band": int(in_band.sum()),
                       "median_largest_miss": round(largest, 3), "emulator_rms": record_miss})
        say(f"wave {k + 1}: {len(z)} points, {int(in_band.sum())} with every figure in "
            f"band, median largest miss {largest:.2f} half-bands{miss}")
    bar.set_postfix_str("the posterior sample")
    refit()
    folder = work / "final"
    diagnostics_file = folder / "sampler.json"
    if not (folder / "design.npy").is_file():
        z, diagnostics = sample(emulators, noise, population, [SEED, 1_000],
                                backend.executor)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / ".sampler.json.tmp"
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
    emulated = emulators.figures(z)[0]
    diagnostics = {**diagnostics, "noise": noise.tolist(),
                   "emulated_mean": emulated.mean(axis=0).tolist()}
    simulations = sum(len(a) for a in zs) + len(z)
    return Emulation(posterior, figures, record, simulations,
                     time.perf_counter() - started, diagnostics,
                     np.max(np.abs(emulated), axis=1))
