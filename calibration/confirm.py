"""A second stage for the posterior: keep the particles whose figures stay in band on
more seeds.

The chains of :mod:`calibration.abc_mcmc` accept a point when every figure, the mean over
the common seeds 1 and 2, lies in its band. A two-seed mean is noisy (firms relocated in
2020: a standard deviation of about 3.7 firms against a half-band of 5), so the chains
keep points whose seeds 1-2 happened to run high as readily as points whose mean lies in
the band, and the prior's mass sits on the low side: the draws then miss the bands on
fresh seeds (docs/estimation.md). This stage runs every particle of a posterior sample on
more common seeds (1 to ``seeds``, the chains' own two among them) and keeps those whose
figures, now the mean over all of them, still lie in every band.

What the kept sample is: a sample of the chains' target ``p(θ) 1{f_2(θ) ∈ B}``, filtered
by a second indicator, is a sample of ``p(θ) 1{f_2(θ) ∈ B} 1{f_K(θ) ∈ B}`` -- rejection
by an indicator restricts a distribution exactly. It is the target of a delayed-acceptance
ABC chain (Christen & Fox 2005, *J. Comput. Graph. Stat.* 14(4); Everitt & Rowińska
2021, *J. Comput. Graph. Stat.* 30(1)), whose second, dearer stage runs only where the
cheap first one accepts: the prior restricted to every figure in band on two seeds and on
``K``. Its effective sample size is that of the chains times the share kept (the kept
states keep their chains' autocorrelation).

The runs go to a work folder as they finish, so a stage killed at any moment resumes
with the same command, running nothing twice.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

SEEDS = 8          # the common seeds every particle runs in this stage (1..SEEDS)


def confirm(folder: Path, work: Path, *, seeds: int = SEEDS, workers: int = 1,
            scheduler: str | None = None, progress: bool = True) -> tuple[pd.DataFrame, dict]:
    """Run every particle of ``folder/posterior.parquet`` on the common seeds 1..``seeds``
    into ``work`` and return the kept particles (every figure's mean over those seeds in
    its band) and what the stage did; ``folder`` is not written."""
    from tqdm import tqdm

    from calibration import history_matching as hm
    from calibration.estimation import (_STANDARD, ESTIMATION_SCALE, PARAMS, POSTERIOR_FILE,
                                        calibration_info, held_at_declared, load_posterior,
                                        moments)
    from runs.engine import Backend
    from runs.errors import InputError

    posterior = load_posterior(Path(folder) / POSTERIOR_FILE.name)
    info = calibration_info(folder)
    if "confirmed" in info:
        raise InputError(f"--out {folder}: its posterior already went through this stage "
                         f"(on seeds 1-{info['confirmed']['seeds']}); allowed: the posterior "
                         "of a calibration")
    chain_seeds = info.get("seeds", [1, 2])
    if seeds <= len(chain_seeds):
        raise InputError(f"--seeds {seeds}: the stage runs more seeds than the chains' "
                         f"{len(chain_seeds)}; allowed: {len(chain_seeds) + 1} or more")
    names = [c for c in posterior.columns if c in PARAMS]
    priors = {n: PARAMS[n].prior_dist for n in names}
    z = np.array([[_STANDARD.inv_cdf(min(max(priors[n].cdf(v), 1e-12), 1 - 1e-12))
                   for n, v in zip(names, row, strict=True)]
                  for row in posterior[names].to_numpy(dtype=float)])
    base = {**ESTIMATION_SCALE, **info.get("set", {})}
    held = {**held_at_declared(names), **base}
    problem = hm.Problem(names, priors, list(range(1, seeds + 1)), held, moments())
    work = Path(work)
    settings = {"kind": "confirmation work", "posterior": posterior[names].to_numpy().tolist(),
                "seeds": seeds, "set": base}
    stored = hm.read_settings(work)
    if stored is not None and stored != json.loads(json.dumps(settings)):
        raise InputError(f"--work {work}: holds the runs of another posterior or seeds; "
                         "allowed: a new --work folder")
    backend = Backend(workers, scheduler)
    try:
        hm.write_settings(work, settings)
        bar = tqdm(total=len(z) * seeds, unit="run", desc="confirming", disable=not progress)
        y = hm.run_design(work, z, problem, backend, bar)
        bar.close()
    finally:
        backend.close()
    inside = np.isfinite(y).all(axis=1) & (np.abs(np.nan_to_num(y, nan=np.inf)) <= 1).all(axis=1)
    kept = posterior[inside].reset_index(drop=True)
    kept["weight"] = 1.0 / max(len(kept), 1)
    kept["distance"] = np.abs(y[inside]).max(axis=1)
    share = float(inside.mean())
    moment_keys = [m.key for m in moments()]
    stage = {"seeds": seeds, "particles": len(z), "kept": int(inside.sum()),
             "kept_share": round(share, 4),
             "in_band_share": {k: round(float(np.mean(np.abs(y[:, j]) <= 1)), 4)
                               for j, k in enumerate(moment_keys)}}
    return kept, stage


def write_confirmed(folder: Path, kept: pd.DataFrame, stage: dict) -> Path:
    """Replace ``folder/posterior.parquet`` by the kept particles, its provenance keeping
    the calibration's and adding the stage's (``confirmed``); the effective sample size of
    the chains scaled by the share kept."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from calibration.estimation import POSTERIOR_FILE, calibration_info
    from runs import provenance

    folder = Path(folder)
    info = calibration_info(folder)
    info["confirmed"] = {**stage, "written": provenance.timestamp(),
                         "git_revision": provenance.git_revision()}
    if "ess_min" in info:
        info["ess_min_chains"] = info["ess_min"]
        info["ess_min"] = round(float(info["ess_min"]) * stage["kept_share"], 1)
    info["effective_sample_size"] = float(len(kept))
    info["population"] = len(kept)
    table = pa.Table.from_pandas(kept, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                           b"xianghe": json.dumps(info).encode()})
    tmp = folder / ".posterior.parquet.new"
    pq.write_table(table, tmp)
    tmp.replace(folder / POSTERIOR_FILE.name)
    return folder / POSTERIOR_FILE.name
