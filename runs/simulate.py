"""Run a scenario over replicate seeds and store what it produced.

Knows how to drive the model and write results; knows nothing of agents' behaviour.
"""

from __future__ import annotations

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
from model.params import FIRST_YEAR, resolve

UNITS = {i.name: i.unit for i in INDICATORS}


@dataclass
class Replicate:
    seed: int
    annual: pd.DataFrame      # one row a year
    quarterly: pd.DataFrame   # one row a quarter


def run_replicates(params: dict, seed: int, replicates: int, until: int,
                   progress: bool = True) -> list[Replicate]:
    """Run seeds ``seed .. seed + replicates - 1`` from 2014Q1 to the end of ``until``."""
    quarters = (until - FIRST_YEAR + 1) * 4
    results = []
    with tqdm(total=replicates * quarters, disable=not progress, unit="quarter",
              desc="simulating", leave=False) as bar:
        for s in range(seed, seed + replicates):
            model = XiangheModel(params, seed=s)
            for _ in range(quarters):
                model.step()
                bar.update()
            results.append(Replicate(s, model.annual(), model.quarterly()))
    return results


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
