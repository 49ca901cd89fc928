"""ABC-MCMC: Markov chains on the prior restricted to the parameters whose figures all lie
in their bands (Marjoram, Molitor, Plagnol & Tavaré 2003, PNAS 100(26)).

Why this method (docs/estimation.md has the runs): ABC-SMC's importance weights
degenerated in the fit's 21 dimensions whatever its budget or distance (an effective
sample of about 2 of 500), and history matching's emulators, fitted to 350 runs a wave,
found no point with every figure in band in three waves: the set of parameters that fit
is a thin region of the prior, which a sampler has to find from the inside. The chains
start there -- at the calibrated point, which fits -- and walk:

* **Target**: the prior (a standard normal on each prior's normal scores ``z``) times the
  indicator that every figure, the mean over the common seeds, lies in its band. With
  common random numbers a point's figures are a function of the point, so the chain's
  target is exact, with no noisy acceptance to stick on.
* **A step**: a Gaussian random-walk proposal; the prior ratio is tested first (a
  proposal that fails it is rejected without running the model, "early rejection"), then
  the proposal runs and is accepted when its figures are all in band. Every chain
  proposes at once, so a step is one batch of runs for the workers.
* **Adaptation** during the first half of the budget only (burn-in): the proposal's
  covariance is the chains' states' (Haario, Saksman & Tamminen 2001) scaled by 2.38²/d
  and by a factor tuned towards an acceptance of 0.1 (below ``TARGET_ACCEPTANCE``);
  then it is frozen and the chains' states are the posterior (a Markov chain with a fixed
  kernel), thinned evenly over chains and steps to the population.
* **Effective sample size** from the chains' autocorrelation (Geyer's initial positive
  sequence over the pooled chains, Gelman et al. 2013, BDA3 §11.5), reported per
  parameter; the thinned sample's effective size is the smaller of its size and that.

What the chains cannot show: a region of good fit not connected to the one they start in.
The fit report's predictive checks judge what they found.

Every step's proposals are written before they run and the runs are stored as they
finish; the chains are replayed from those files with the same random numbers, so a
calibration killed at any moment resumes where it stopped and makes the same posterior.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from calibration.history_matching import Matching, Problem, _design, run_design

SEED = 20_303
# The acceptance the proposal's scale is tuned to. Not the 0.234 of a smooth target: the
# model's figures on two seeds jump by about a half-band between points a hair apart
# (firms relocated: 1.3 half-bands sd at a proposal scale of 0.02-0.05 prior sd, where
# about a fifth of the proposals put every figure in band whatever the scale), so the
# acceptance is capped by that roughness, and tuning to 0.234 shrank the steps towards
# zero. Random-walk Metropolis on a noisy target is most efficient near 0.07-0.1
# (Sherlock, Thiery, Roberts & Rosenthal 2015, Annals of Statistics 43(1)).
TARGET_ACCEPTANCE = 0.1
START_SD = 0.15          # the first proposals' sd on normal scores (prior sd 1)


def in_band(y: np.ndarray) -> np.ndarray:
    """Every figure (half-bands from its centre) in its band, each row."""
    return np.all(np.abs(np.nan_to_num(y, nan=np.inf)) <= 1.0, axis=-1)


def effective_sample_size(chains: np.ndarray) -> float:
    """ESS of one scalar from its chains (array chains x steps): Geyer's initial positive
    sequence on the autocorrelation pooled over chains (BDA3 §11.5)."""
    m, n = chains.shape
    if n < 4:
        return float(m * n)
    x = chains - chains.mean(axis=1, keepdims=True)
    within = np.mean(np.var(chains, axis=1, ddof=1))
    between = n * np.var(chains.mean(axis=1), ddof=1) if m > 1 else 0.0
    var = (n - 1) / n * within + between / n
    if var <= 0:
        return float(m * n)
    rho = []
    for t in range(1, n):
        acov = np.mean(np.sum(x[:, t:] * x[:, :-t], axis=1) / n)
        rho.append(1 - (within - acov) / var)
    tau, t = 1.0, 0
    while t + 1 < len(rho):
        pair = rho[t] + rho[t + 1]
        if pair <= 0:
            break
        tau += 2 * pair
        t += 2
    return float(m * n / tau)


def abc_mcmc(problem: Problem, work: Path, backend, *, start: np.ndarray, budget: int,
             population: int, chains: int, progress: bool = True) -> tuple[Matching, dict]:
    """Run ``chains`` ABC-MCMC chains from ``start`` (normal scores; a point whose figures
    are all in band) until ``budget`` points have run; the posterior is ``population``
    states of the second half, evenly thinned. Returns the sample and the chains'
    diagnostics."""
    from tqdm import tqdm

    started = time.perf_counter()
    d = len(problem.names)
    bar = tqdm(total=budget * len(problem.seeds), unit="run", desc="calibrating",
               disable=not progress)
    y0 = run_design(work / "start", _design(work / "start", lambda: start[None, :]),
                    problem, backend, bar)
    if not in_band(y0)[0]:
        bar.close()
        worst = problem.moments[int(np.nanargmax(np.abs(y0[0])))].key
        raise ValueError(f"the chains' start does not put every figure in band ({worst} "
                         f"is {y0[0][np.nanargmax(np.abs(y0[0]))]:+.2f} half-bands)")
    x = np.tile(start, (chains, 1))
    fig = np.tile(y0[0], (chains, 1))
    burn_in = budget // 2
    scale, chol = START_SD, np.eye(d)
    states, figures, accepted, proposed = [], [], 0, 0
    spent, step = 1, 0
    while spent < budget:
        rng = np.random.default_rng([SEED, step])
        proposal = x + scale * rng.standard_normal((chains, d)) @ chol.T
        log_u = np.log(rng.random(chains))
        prior_ok = log_u < -0.5 * (np.sum(proposal ** 2, axis=1) - np.sum(x ** 2, axis=1))
        if spent + int(prior_ok.sum()) > budget:
            break                       # a step the budget cannot pay for is not started
        folder = work / f"step-{step + 1:05d}"
        z = _design(folder, lambda p=proposal[prior_ok]: p)
        bar.set_postfix_str(f"{'burn-in' if spent < burn_in else 'sampling'}, step {step + 1}"
                            f", scale {scale:.3g}")
        y = run_design(folder, z, problem, backend, bar) if len(z) else np.empty((0, 0))
        move = np.zeros(chains, dtype=bool)
        if len(z):
            move[np.flatnonzero(prior_ok)[in_band(y)]] = True
            fig[move] = y[in_band(y)]
        x[move] = proposal[move]
        spent += len(z)
        if spent < burn_in:
            # Adapt: the scale towards the target acceptance, the shape from the states.
            scale *= float(np.exp(move.mean() - TARGET_ACCEPTANCE))
            states.append(x.copy())
            pooled = np.concatenate(states[len(states) // 2:])
            if len(np.unique(pooled, axis=0)) > 2 * d:
                cov = np.cov(pooled, rowvar=False) + 1e-6 * np.eye(d)
                chol = np.linalg.cholesky(cov * 2.38 ** 2 / d)
                chol /= max(float(np.sqrt(np.mean(np.diag(chol @ chol.T)))), 1e-12)
        else:
            if not figures:
                states = []       # the burn-in's states are not the posterior
            states.append(x.copy())
            figures.append(fig.copy())
            accepted += int(move.sum())
            proposed += chains
        step += 1
    bar.close()
    if not figures:
        raise ValueError("the budget ended before the chains' burn-in")
    traj = np.stack(states, axis=1)                  # chains x steps x d
    figs = np.stack(figures, axis=1)
    ess = {n: effective_sample_size(traj[:, :, i]) for i, n in enumerate(problem.names)}
    steps = traj.shape[1]
    per_chain = -(-population // chains)
    picks = np.unique(np.linspace(0, steps - 1, per_chain).round().astype(int))
    z = traj[:, picks, :].reshape(-1, d)[:population]
    y = figs[:, picks, :].reshape(-1, figs.shape[2])[:population]
    rows = [problem.values(point) for point in z]
    posterior = pd.DataFrame({n: [r[n] for r in rows] for n in problem.names})
    posterior["weight"] = 1.0 / len(z)
    posterior["distance"] = np.max(np.abs(y), axis=1)
    diagnostics = {"chains": chains, "steps": step, "sampling_steps": steps,
                   "acceptance_rate": round(accepted / max(proposed, 1), 4),
                   "proposal_scale": round(scale, 5),
                   "ess_min": round(min(ess.values()), 1),
                   "ess_min_parameter": min(ess, key=ess.get),
                   "ess": {k: round(v, 1) for k, v in ess.items()}}
    result = Matching(posterior, pd.DataFrame(y, columns=[m.key for m in problem.moments]),
                      [], spent, time.perf_counter() - started, proposed, len(z))
    return result, diagnostics
