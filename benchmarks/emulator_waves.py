"""An experiment for the posterior issue: can emulators of the figures' means find the region
where every target fits? Sequential Gaussian-process emulation, a posterior on the
emulators, and a check of its draws by simulation (docs/estimation.md, "A sequential
emulator, tried").

* **Wave 0** runs the committed posterior's particles, as many points around them (0.3
  prior sd) and a Latin hypercube over the prior on the common seeds 1-2, at the
  estimation's scale; every figure in half-bands from its band's centre.
* **The emulators**, one per figure: a linear mean in the prior's normal scores and a
  Gaussian process on its residuals (a length per parameter), its white-noise term fixed
  at the two-seed noise variance ``benchmarks/seed_noise.py`` measures at the calibrated
  point (left free, it fitted itself to zero and the process interpolated the seeds'
  luck); hyperparameters on ``HYPER_POINTS`` runs, conditioned on the latest ``GP_POINTS``.
* **The emulators' posterior**: the standard normal prior times, for each figure, the
  probability that its emulated mean lies in its band. 200 random-walk Metropolis chains
  sample it from the runs it rates highest.
* **Each later wave** runs ``--wave-size`` of its draws, and the emulators are refitted on
  every run so far; the script prints each wave's share of points with every figure in
  band, its median largest miss and the last emulators' root-mean-square miss of it.
* **The check**: ``--check-draws`` (200) draws from the last emulators, each the mean of seeds 501-505, each
  target's share in band beside its emulated and simulated mean.

Every wave's design is written before its runs and the runs as they finish (``--work``),
so a killed experiment goes on where it stopped when started again with the same folder.
It measures; it asserts nothing. About 5 minutes a wave on 2 cores (the fits dominate).

    uv run python benchmarks/emulator_waves.py --work out/emulator-waves [--waves 10]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from scipy.stats import norm  # noqa: E402

from benchmarks.seed_noise import half_bands  # noqa: E402
from calibration import estimation as est  # noqa: E402
from calibration import history_matching as hm  # noqa: E402
from calibration.abc_mcmc import effective_sample_size  # noqa: E402
from runs.engine import Backend  # noqa: E402

GP_POINTS = 1500        # the latest runs each process is conditioned on
HYPER_POINTS = 600      # the runs its hyperparameters are fitted on
CHAINS = 200            # Metropolis chains on the emulators
CHECK_SEEDS = list(range(501, 506))
NOISE_FLOOR = 0.05      # half-bands: the smallest noise sd a process is given


def fit(args: tuple) -> tuple:
    """One figure's emulator: the linear mean's coefficients and the fitted process."""
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, WhiteKernel
    from sklearn.gaussian_process.kernels import ConstantKernel as C

    z, y, noise_var = args
    ok = np.isfinite(y)
    z, y = z[ok], np.clip(y[ok], -hm.CLIP, hm.CLIP)
    design = np.column_stack([np.ones(len(z)), z])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ beta
    latest = np.arange(max(0, len(y) - GP_POINTS), len(y))
    sub = np.random.default_rng(0).choice(latest, min(HYPER_POINTS, len(latest)),
                                          replace=False)
    kernel = (C(1.0, (1e-3, 1e3)) * RBF(np.full(z.shape[1], 3.0), (0.1, 1e3))
              + WhiteKernel(noise_var, "fixed"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tuned = GaussianProcessRegressor(kernel, random_state=0).fit(z[sub], resid[sub])
        gp = GaussianProcessRegressor(tuned.kernel_, optimizer=None).fit(z[latest],
                                                                         resid[latest])
    return beta, gp, noise_var


def predict(emulators: list[tuple], z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each figure's emulated mean and the variance of that mean (the seeds' noise taken
    out), a column per figure."""
    means, variances = [], []
    for beta, gp, noise_var in emulators:
        mu, sd = gp.predict(z, return_std=True)
        means.append(beta[0] + z @ beta[1:] + mu)
        variances.append(np.maximum(sd ** 2 - noise_var, 1e-6))
    return np.array(means).T, np.array(variances).T


def log_posterior(emulators: list[tuple], z: np.ndarray) -> np.ndarray:
    mean, var = predict(emulators, z)
    sd = np.sqrt(var)
    inside = norm.cdf((1 - mean) / sd) - norm.cdf((-1 - mean) / sd)
    return -0.5 * np.sum(z ** 2, axis=1) + np.log(np.maximum(inside, 1e-300)).sum(axis=1)


def sample(emulators: list[tuple], runs: np.ndarray, n: int, rng: np.random.Generator,
           burn_in: int = 300, thin: int = 10) -> np.ndarray:
    """``n`` draws from the emulators' posterior: Metropolis chains started at the runs it
    rates highest, the covariance and scale adapted during the burn-in."""
    d = runs.shape[1]
    x = runs[np.argsort(-log_posterior(emulators, runs))[:CHAINS]].copy()
    x = x[rng.integers(0, len(x), CHAINS)] if len(x) < CHAINS else x
    lp = log_posterior(emulators, x)
    cov, scale, accepted, kept = np.cov(x, rowvar=False), 2.38 ** 2 / d, [], []
    for step in range(burn_in + thin * (n // CHAINS + 1)):
        chol = np.linalg.cholesky((cov + 1e-4 * np.eye(d)) * scale)
        y = x + rng.standard_normal((CHAINS, d)) @ chol.T
        lp_y = log_posterior(emulators, y)
        take = np.log(rng.random(CHAINS)) < lp_y - lp
        x[take], lp[take] = y[take], lp_y[take]
        accepted.append(take.mean())
        if step < burn_in and step % 25 == 24:
            cov = np.cov(x, rowvar=False)
            scale *= np.exp(np.mean(accepted[-25:]) - 0.234)
        if step >= burn_in and (step - burn_in) % thin == 0:
            kept.append(x.copy())
    chains = np.stack(kept, axis=1)
    ess = min(effective_sample_size(chains[:, :, j]) for j in range(d))
    print(f"  emulators' posterior: acceptance {np.mean(accepted[burn_in:]):.2f}, "
          f"effective sample {ess:.0f} of {chains.shape[0] * chains.shape[1]}", flush=True)
    flat = chains.reshape(-1, d)
    return flat[rng.permutation(len(flat))[:n]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--waves", type=int, default=10)
    ap.add_argument("--wave-size", type=int, default=400)
    ap.add_argument("--first-wave", type=int, default=600,
                    help="wave 0's points: the posterior's particles, points around them "
                         "and --prior-points from the prior")
    ap.add_argument("--prior-points", type=int, default=300)
    ap.add_argument("--check-draws", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    names = est.estimated_names()
    priors = {n: est.PARAMS[n].prior_dist for n in names}
    held = {**est.held_at_declared(names), **est.ESTIMATION_SCALE}
    problem = hm.Problem(names, priors, [1, 2], held, est.moments(), None)
    starts, _ = est._starts(None, names, priors, None)
    d, rng = len(names), np.random.default_rng(7)
    backend = Backend(args.workers, None)
    started = time.perf_counter()
    try:
        noise = half_bands(list(range(1001, 1097)), backend).var() / len(problem.seeds)
        noise_var = [max(float(noise[m.key]), NOISE_FLOOR ** 2) for m in problem.moments]
        zs, ys, emulators = [], [], None
        for k in range(args.waves):
            folder = args.work / f"wave-{k}"
            if k == 0:
                near = max(args.first_wave - len(starts) - args.prior_points, 0)
                z = hm._design(folder, lambda n=near: np.vstack([
                    starts, starts[rng.integers(0, len(starts), n)]
                    + 0.3 * rng.standard_normal((n, d)),
                    hm._lhs(args.prior_points, d, 1)]))
            else:
                z = hm._design(folder, lambda e=emulators: sample(e, np.vstack(zs),
                                                                  args.wave_size, rng))
            y = hm.run_design(folder, z, problem, backend)
            miss = ""
            if emulators is not None:
                rms = np.sqrt(np.nanmean((y - predict(emulators, z)[0]) ** 2, axis=0))
                miss = "; the last emulators missed it by " + ", ".join(
                    f"{m.key} {r:.2f}" for m, r in zip(problem.moments, rms, strict=True)
                    if r > 0.3)
            zs.append(z)
            ys.append(y)
            print(f"wave {k}: {len(z)} points, every figure in band on seeds 1-2: "
                  f"{np.all(np.abs(y) <= 1, axis=1).mean():.3f}, median largest miss "
                  f"{np.nanmedian(np.nanmax(np.abs(y), axis=1)):.2f} half-bands{miss}; "
                  f"{time.perf_counter() - started:.0f} s", flush=True)
            with ProcessPoolExecutor(args.workers) as pool:
                emulators = list(pool.map(fit, [(np.vstack(zs), np.vstack(ys)[:, j], v)
                                                for j, v in enumerate(noise_var)]))
        final = hm._design(args.work / "check", lambda: sample(emulators, np.vstack(zs),
                                                               args.check_draws, rng,
                                                               burn_in=500))
        checked = hm.Problem(names, priors, CHECK_SEEDS, held, est.moments(), None)
        y = hm.run_design(args.work / "check", final, checked, backend)
    finally:
        backend.close()
    emulated = predict(emulators, final)[0].mean(axis=0)
    print(f"{len(final)} draws from the last emulators, each the mean of seeds {CHECK_SEEDS[0]}-"
          f"{CHECK_SEEDS[-1]}: share in band, emulated mean, simulated mean (half-bands)")
    for j, m in enumerate(problem.moments):
        print(f"  {m.key:40s} {np.mean(np.abs(y[:, j]) <= 1):.2f} {emulated[j]:+.2f} "
              f"{np.nanmean(y[:, j]):+.2f}")
    print(f"every figure in band: {np.all(np.abs(y) <= 1, axis=1).mean():.2f}; "
          f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
