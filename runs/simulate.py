"""Run a scenario over replicate seeds and store what it produced.

Knows how to drive the model and write results; knows nothing of agents' behaviour.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from model import INDICATORS, NAMES, XiangheModel
from model.model import quarters_to_end_of
from model.params import resolve

UNITS = {i.name: i.unit for i in INDICATORS}


@dataclass
class Replicate:
    seed: int
    annual: pd.DataFrame      # one row a year
    quarterly: pd.DataFrame   # one row a quarter


def run_replicates(params: dict, seed: int, replicates: int, until: int,
                   progress: bool = True, checkpoints: Path | None = None) -> list[Replicate]:
    """Run seeds ``seed .. seed + replicates - 1`` from 2014Q1 to the end of ``until``.

    With ``checkpoints``, each finished seed is saved there and a later call with the same
    parameters and ``until`` takes it from there instead of running it again, so an
    interrupted run resumes without losing the seeds it finished.
    """
    quarters = quarters_to_end_of(until)
    store = _CheckpointStore(checkpoints, params, until) if checkpoints else None
    results = []
    with tqdm(total=replicates * quarters, disable=not progress, unit="quarter",
              desc="simulating", leave=False) as bar:
        for s in range(seed, seed + replicates):
            done = store.load(s) if store else None
            if done is None:
                model = XiangheModel(params, seed=s)
                for _ in range(quarters):
                    model.step()
                    bar.update()
                done = Replicate(s, model.annual(), model.quarterly())
                if store:
                    store.save(done)
            else:
                bar.update(quarters)
            results.append(done)
    return results


class _CheckpointStore:
    """Finished seeds of one (parameters, until) pair, one Parquet file each."""

    def __init__(self, root: Path, params: dict, until: int):
        key = json.dumps({"params": resolve(params), "until": until,
                          "version": version("xianghe")}, sort_keys=True)
        self.dir = Path(root) / hashlib.sha256(key.encode()).hexdigest()[:16]

    def _path(self, seed: int, kind: str) -> Path:
        return self.dir / f"seed-{seed}-{kind}.parquet"

    def load(self, seed: int) -> Replicate | None:
        paths = [self._path(seed, k) for k in ("annual", "quarterly")]
        if not all(p.is_file() for p in paths):
            return None
        return Replicate(seed, pd.read_parquet(paths[0]), pd.read_parquet(paths[1]))

    def save(self, r: Replicate) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        for kind, frame in (("annual", r.annual), ("quarterly", r.quarterly)):
            tmp = self._path(r.seed, kind).with_suffix(".tmp")
            frame.to_parquet(tmp, index=False)
            os.replace(tmp, self._path(r.seed, kind))


def indicators_for(replicates: list[Replicate], year: int) -> tuple[dict, list[dict]]:
    """Mean over seeds and per-seed values of every indicator in ``year``."""
    per_seed = []
    for r in replicates:
        row = r.annual.set_index("year").loc[year]
        per_seed.append({name: float(row[name]) for name in NAMES})
    mean = {name: float(np.mean([s[name] for s in per_seed])) for name in NAMES}
    return mean, per_seed


def tidy_quarterly(replicates: list[Replicate]) -> pd.DataFrame:
    """Long table: seed, year, quarter, indicator, value, unit."""
    frames = []
    for r in replicates:
        q = r.quarterly.assign(seed=r.seed)
        frames.append(q.melt(id_vars=["seed", "year", "quarter"], value_vars=list(NAMES),
                             var_name="indicator", value_name="value"))
    df = pd.concat(frames, ignore_index=True)
    df["unit"] = df["indicator"].map(UNITS)
    return df


def git_revision() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parent, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def write_outputs(out: Path, scenario, params: dict, seeds: list[int], until: int,
                  replicates: list[Replicate], seconds: float) -> None:
    """Write the tidy tables, the plots and manifest.json into ``out``, all or nothing.

    Everything is written to a temporary folder beside ``out`` first and moved in once
    complete, so an interrupted run leaves no half-written file in ``out``.
    """
    from .plots import indicator_panels

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        quarterly = tidy_quarterly(replicates)
        quarterly.to_parquet(tmp / "quarterly.parquet", index=False)
        quarterly.to_csv(tmp / "quarterly.csv", index=False)
        annual = pd.concat([r.annual.assign(seed=r.seed) for r in replicates],
                           ignore_index=True)
        annual.to_parquet(tmp / "annual.parquet", index=False)
        annual.to_csv(tmp / "annual.csv", index=False)
        indicator_panels(quarterly).savefig(tmp / "indicators.png", dpi=130)
        manifest = {
            "scenario": scenario.name,
            "scenario_file": scenario.source,
            "description": scenario.description,
            "parameters": resolve(params),
            "seeds": seeds,
            "until": until,
            "package_version": version("xianghe"),
            "git_revision": git_revision(),
            "seconds": round(seconds, 3),
            "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        out.mkdir(exist_ok=True)
        for f in tmp.iterdir():
            os.replace(f, out / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
