"""ABC-MCMC: Markov chains on the prior restricted to the parameters whose figures all lie
in their bands (Marjoram, Molitor, Plagnol & Tavaré 2003, PNAS 100(26)), with delayed
acceptance (Christen & Fox 2005, J. Comput. Graph. Stat. 14(4)).

Why this method (docs/estimation.md has the runs): ABC-SMC's importance weights
degenerated in the fit's 21 dimensions whatever its budget or distance (an effective
sample of about 2 of 500), and history matching's emulators, fitted to 350 runs a wave,
found no point with every figure in band in three waves: the set of parameters that fit
is a thin region of the prior, which a sampler has to find from the inside. The chains
start there -- at the particles of an earlier sample, or at the calibrated point -- and
walk:

* **Target**: the prior (a standard normal on each prior's normal scores ``z``) times the
  indicator that every figure, the mean over the first stage's common seeds, lies in its
  band, times the indicator that it does as the mean over both stages' seeds. With common
  random numbers a point's figures are a function of the point, so the target is exact,
  with no noisy acceptance to stick on.
* **Delayed acceptance**: a proposal runs on the first stage's seeds; only where every
  figure is in band does it run on the second stage's. For an indicator target Christen
  & Fox's second-stage ratio is the second indicator alone, so the dear seeds run for
  the few proposals the cheap ones pass.
* **Two kinds of step, alternating**: a Gaussian random walk of every parameter, whose
  prior ratio is tested first (a proposal that fails it is rejected without running the
  model, "early rejection"); and, in each chain, one parameter chosen at random drawn
  afresh from its prior (an independence proposal inside Metropolis-within-Gibbs: the
  prior ratio cancels the proposal's, so the draw is accepted when every figure stays in
  band). The random walk's steps stay small because the figures are rough (below); a draw
  from the prior crosses a weakly informed parameter's range in one step. Every chain
  proposes at once, so a step is one batch of runs for the workers.
* **Adaptation** during the burn-in only: the random walk's covariance is the chains'
  states' (Haario, Saksman & Tamminen 2001; with warm starts, the starts' at once) scaled
  by 2.38²/d and by a factor that moves towards the rung of a ladder of scales, tried by
  the chains in turn, whose accepted moves jumped furthest (``LADDER``; the expected
  squared jumping distance of Pasarica & Gelman 2010), and shrinks towards an acceptance
  of 0.1 (``TARGET_ACCEPTANCE``) only while the rungs jump equally far; then it is frozen and the chains' states are the posterior (a Markov chain with a fixed
  kernel), thinned evenly over chains and steps to the population.
* **Effective sample size** from the chains' autocorrelation (Geyer's initial positive
  sequence over the pooled chains, Gelman et al. 2013, BDA3 §11.5) and the split R-hat
  (BDA3 §11.4), per parameter; the thinned sample's effective size is the smaller of its
  size and the former.

What the chains cannot show: a region of good fit not connected to the one they start in.
The fit report's predictive checks judge what they found.

Every step's proposals are written before they run and the runs are stored as they
finish; the chains are replayed from those files with the same random numbers, so a
calibration killed at any moment resumes where it stopped and makes the same posterior.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from calibration.history_matching import Matching, Problem, _design, run_design

SEED = 20_303
# The acceptance the scale shrinks towards while no rung of ``LADDER`` jumps further (it was
# the acceptance the scale was tuned to). Not the 0.234 of a smooth target: the
# model's figures on two seeds jump by about a half-band between points a hair apart
# (firms relocated: 1.3 half-bands sd at a proposal scale of 0.02-0.05 prior sd, where
# about a fifth of the proposals put every figure in band whatever the scale), so the
# acceptance is capped by that roughness, and tuning to 0.234 shrank the steps towards
# zero. Random-walk Metropolis on a noisy target is most efficient near 0.07-0.1
# (Sherlock, Thiery, Roberts & Rosenthal 2015, Annals of Statistics 43(1)).
TARGET_ACCEPTANCE = 0.1
START_SD = 0.15          # the first proposals' sd on normal scores (prior sd 1)
# During the burn-in the chains try the random walk's scale times each rung of this
# ladder in turn, and the scale moves towards the rung whose accepted moves jumped
# furthest in all (the expected squared jumping distance, Pasarica & Gelman 2010,
# Statistica Sinica 20): tuned to an acceptance alone, the scale shrank towards zero on
# these rough figures, whose acceptance stays below the target at any scale (a burn-in of
# 2,000 points took it from 0.054 to 0.017 prior sd).
LADDER = (0.5, 1.0, 2.0)
LADDER_WINDOW = 6        # walk steps the rungs' jumps are summed over before the scale moves


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


def split_rhat(chains: np.ndarray) -> float:
    """Split R-hat of one scalar from its chains (chains x steps; Gelman et al. 2013,
    BDA3 §11.4): near 1 when the chains' halves agree, above 1.1 when they have not mixed."""
    n = chains.shape[1]
    half = n // 2
    if half < 2:
        return float("nan")
    parts = np.concatenate([chains[:, :half], chains[:, n - half:]])
    within = np.mean(np.var(parts, axis=1, ddof=1))
    between = half * np.var(parts.mean(axis=1), ddof=1)
    if within <= 0:
        return float("inf") if between > 0 else 1.0
    return float(np.sqrt(((half - 1) / half * within + between / half) / within))


def abc_mcmc(problem: Problem, work: Path, backend, *, start: np.ndarray, budget: int,
             population: int, chains: int, second: tuple[int, ...] = (),
             independent: tuple[int, ...] = (), burn_in: float = 0.5,
             progress: bool = True) -> tuple[Matching, dict]:
    """Run ``chains`` ABC-MCMC chains until ``budget`` points have run on the first stage's
    seeds (``problem.seeds``); the posterior is ``population`` states after the burn-in
    (the share ``burn_in`` of the budget), evenly thinned.

    ``start`` holds one start (a vector of normal scores) or several (a row each: the
    chains take them in turn, those out of band left out). ``second``: the seeds of the
    delayed acceptance's second stage, run only where the first accepts; a point is then
    in band when the mean over both stages' seeds is too. ``independent``: the parameters
    (indices) of which, every other step, each chain draws one, chosen at random, afresh
    from its prior; every step between, all of them walk together. Returns the sample and
    the chains' diagnostics."""
    from tqdm import tqdm

    started = time.perf_counter()
    d = len(problem.names)
    fresh = np.array(sorted(independent), dtype=int)
    later = replace(problem, seeds=list(second)) if second else None
    n1, n2 = len(problem.seeds), len(second)
    bar = tqdm(total=budget * n1, unit="run", desc="calibrating", disable=not progress)

    def figures(folder: Path, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each point's figures and whether they are in band: on the first stage's seeds,
        then, where those are, on both stages' (the mean over every seed)."""
        y = run_design(folder, z, problem, backend, bar)
        ok = in_band(y)
        if later is None or not ok.any():
            return y, ok
        idx = np.flatnonzero(ok)
        bar.total += len(idx) * n2
        bar.refresh()
        y[idx] = (n1 * y[idx] + n2 * run_design(folder / "second", z[idx], later, backend,
                                                  bar)) / (n1 + n2)
        ok[idx] = in_band(y[idx])
        return y, ok

    start = np.atleast_2d(np.asarray(start, dtype=float))
    y0, ok0 = figures(work / "start", _design(work / "start", lambda: start))
    if not ok0.any():
        bar.close()
        worst = int(np.nanargmax(np.abs(y0[0])))
        raise ValueError(f"the chains' start does not put every figure in band "
                         f"({problem.moments[worst].key} is {y0[0][worst]:+.2f} half-bands"
                         f"{'' if len(start) == 1 else f' at the first of {len(start)}'})")
    fits = np.flatnonzero(ok0)
    turn = fits[np.arange(chains) * len(fits) // chains]     # spread over the starts
    x, fig = start[turn].copy(), y0[turn].copy()
    spent, step = len(start), 0
    burn = int(budget * burn_in)
    scale, chol = START_SD, np.eye(d)
    if ok0.sum() > 2 * d:             # a warm start: the proposal's shape from the starts
        chol = _shape(start[ok0])
    states, figs, walked = [], [], []
    rungs = np.array(LADDER)[np.arange(chains) % len(LADDER)]
    jumped = np.zeros(len(LADDER))                # squared jumps per rung in the window
    window = 0
    tried = {"walk": 0, "fresh": 0}
    redrawn = np.zeros((2, d), dtype=int)         # per parameter: redraws tried, accepted
    moved = {"walk": 0, "fresh": 0}
    while spent < budget:
        block = "fresh" if len(fresh) and step % 2 else "walk"
        folder = work / f"step-{step + 1:05d}"
        sampling = spent >= burn
        # burn-in walk steps try the ladder's rungs, a rung a chain, turned each step
        tried_scale = (scale * np.roll(rungs, step) if not sampling and block == "walk"
                       else np.full(chains, scale))
        proposal, prior_ok, which = _proposal(folder, step, x, block, tried_scale, chol,
                                              fresh)
        if spent + int(prior_ok.sum()) > budget:
            break                       # a step the budget cannot pay for is not started
        _keep_proposal(folder, proposal, prior_ok, which)
        z = _design(folder, lambda p=proposal[prior_ok]: p)
        bar.set_postfix_str(f"{'sampling' if sampling else 'burn-in'}, step {step + 1}, "
                            f"scale {scale:.3g}")
        move = np.zeros(chains, dtype=bool)
        if len(z):
            y, ok = figures(folder, z)
            move[np.flatnonzero(prior_ok)[ok]] = True
            fig[move] = y[ok]
        jump = np.where(move, np.sum((proposal - x) ** 2, axis=1), 0.0)
        x[move] = proposal[move]
        spent += len(z)
        if not sampling:
            if block == "walk":
                # Adapt: the scale towards the rung that jumped furthest (towards the
                # target acceptance while none did), the shape from the states.
                rung_of = np.roll(rungs, step)
                jumped += [jump[rung_of == r].sum() for r in LADDER]
                window += 1
                if window == LADDER_WINDOW:
                    if jumped.max() > jumped.min():
                        scale *= float(np.sqrt(LADDER[int(np.argmax(jumped))]))
                    else:
                        scale *= float(np.exp(LADDER_WINDOW * (-TARGET_ACCEPTANCE)))
                    jumped[:], window = 0.0, 0
                walked.append(x.copy())
                pooled = np.concatenate(walked[len(walked) // 2:])
                if len(np.unique(pooled, axis=0)) > 2 * d:
                    chol = _shape(pooled)
        else:
            states.append(x.copy())
            figs.append(fig.copy())
            tried[block] += chains
            moved[block] += int(move.sum())
            if block == "fresh":
                redrawn[0] += np.bincount(which, minlength=d)
                redrawn[1] += np.bincount(which[move], minlength=d)
        step += 1
    bar.close()
    if not figs:
        raise ValueError("the budget ended before the chains' burn-in")
    traj = np.stack(states, axis=1)                  # chains x steps x d
    figures_kept = np.stack(figs, axis=1)
    ess = {n: effective_sample_size(traj[:, :, i]) for i, n in enumerate(problem.names)}
    rhat = {n: split_rhat(traj[:, :, i]) for i, n in enumerate(problem.names)}
    steps = traj.shape[1]
    per_chain = -(-population // chains)
    picks = np.unique(np.linspace(0, steps - 1, per_chain).round().astype(int))
    z = traj[:, picks, :].reshape(-1, d)[:population]
    y = figures_kept[:, picks, :].reshape(-1, figures_kept.shape[2])[:population]
    rows = [problem.values(point) for point in z]
    posterior = pd.DataFrame({n: [r[n] for r in rows] for n in problem.names})
    posterior["weight"] = 1.0 / len(z)
    posterior["distance"] = np.max(np.abs(y), axis=1)
    accepted, proposed = sum(moved.values()), sum(tried.values())
    diagnostics = {"chains": chains, "starts": len(start), "starts_in_band": int(ok0.sum()),
                   "steps": step, "sampling_steps": steps, "burn_in_share": burn_in,
                   "second_stage_seeds": list(second),
                   "acceptance_rate": round(accepted / max(proposed, 1), 4),
                   "acceptance_walk": round(moved["walk"] / max(tried["walk"], 1), 4),
                   **({"acceptance_redraw": round(moved["fresh"] / max(tried["fresh"], 1), 4),
                       "redraw_acceptance": {n: round(float(redrawn[1, i] / redrawn[0, i]), 3)
                                             for i, n in enumerate(problem.names)
                                             if redrawn[0, i]}} if len(fresh) else {}),
                   "proposal_scale": round(scale, 5),
                   "ess_min": round(min(ess.values()), 1),
                   "ess_min_parameter": min(ess, key=ess.get),
                   "rhat_max": round(max(rhat.values()), 3),
                   "rhat_max_parameter": max(rhat, key=rhat.get),
                   "ess": {k: round(v, 1) for k, v in ess.items()},
                   "rhat": {k: round(v, 3) for k, v in rhat.items()}}
    result = Matching(posterior, pd.DataFrame(y, columns=[m.key for m in problem.moments]),
                      [], spent, time.perf_counter() - started, proposed, len(z))
    return result, diagnostics


def _proposal(folder: Path, step: int, x: np.ndarray, block: str, scale: np.ndarray,
              chol: np.ndarray, fresh: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A step's proposals (chains x d), which of them pass the prior test, and the
    parameter each chain draws afresh: read back when the step was made before, so a
    resumed chain moves to what ran even where its kernel has since adapted otherwise (a
    resume with a larger budget lengthens the burn-in), else made from the step's random
    numbers."""
    path = folder / "proposal.npz"
    if path.is_file():
        with np.load(path) as f:
            return f["proposal"], f["prior_ok"], f["which"]
    chains, d = x.shape
    rng = np.random.default_rng([SEED, step])
    noise = rng.standard_normal((chains, d))
    log_u = np.log(rng.random(chains))
    which = (fresh[rng.integers(len(fresh), size=chains)] if len(fresh)
             else np.zeros(chains, dtype=int))
    proposal = x.copy()
    if block == "walk":
        proposal += np.asarray(scale, dtype=float).reshape(-1, 1) * (noise @ chol.T)
        prior_ok = log_u < -0.5 * (np.sum(proposal ** 2, axis=1) - np.sum(x ** 2, axis=1))
    else:         # one parameter a chain from its prior: the prior ratio cancels the proposal's
        rows = np.arange(chains)
        proposal[rows, which] = noise[rows, which]
        prior_ok = np.ones(chains, dtype=bool)
    return proposal, prior_ok, which


def _keep_proposal(folder: Path, proposal: np.ndarray, prior_ok: np.ndarray,
                   which: np.ndarray) -> None:
    """Write a step's proposals before any of them runs (renamed into place)."""
    path = folder / "proposal.npz"
    if path.is_file():
        return
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / ".proposal.npz.tmp"
    with open(tmp, "wb") as f:
        np.savez(f, proposal=proposal, prior_ok=prior_ok, which=which)
    tmp.replace(path)


def _shape(states: np.ndarray) -> np.ndarray:
    """The Cholesky factor of the states' covariance scaled 2.38²/d (Haario et al. 2001),
    normalised to a mean variance of one (the scale is tuned apart)."""
    d = states.shape[1]
    cov = np.cov(states, rowvar=False) + 1e-6 * np.eye(d)
    chol = np.linalg.cholesky(cov * 2.38 ** 2 / d)
    return chol / max(float(np.sqrt(np.mean(np.diag(chol @ chol.T)))), 1e-12)
