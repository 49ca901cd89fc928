"""`xianghe calibrate --confirm`: the posterior's particles re-run on more seeds, and only
those with every figure still in band kept."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from calibration.estimation import (PARAMS, calibration_info, figures, held_at_declared,
                                    moments)

ROOT = Path(__file__).resolve().parents[1]
SCALE = {"talent_agents": 2000}


def _xianghe(*args):
    return subprocess.run([sys.executable, "-m", "runs.cli", *args], cwd=ROOT, check=False,
                          capture_output=True, text=True, timeout=600)


def _calibration(folder: Path, particles: int) -> pd.DataFrame:
    """A calibration folder whose posterior is the committed one's first particles, made
    at a small scale (its provenance says so)."""
    folder.mkdir()
    for name in ("calibrated.toml", "screening.csv"):
        shutil.copy(ROOT / "calibration" / name, folder / name)
    posterior = pd.read_parquet(ROOT / "calibration" / "posterior.parquet").head(particles)
    posterior["weight"] = 1.0 / particles
    info = {**calibration_info(ROOT / "calibration"), "set": SCALE, "seeds": [1, 2],
            "ess_min": 4.0}
    info.pop("confirmed", None)
    table = pa.Table.from_pandas(posterior, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                           b"xianghe": json.dumps(info).encode()})
    pq.write_table(table, folder / "posterior.parquet")
    return posterior


def test_confirm_keeps_exactly_the_particles_in_band_on_the_further_seeds(tmp_path):
    folder = tmp_path / "cal"
    posterior = _calibration(folder, 4)
    before = (folder / "posterior.parquet").read_bytes()
    done = _xianghe("calibrate", "--confirm", "--seeds", "3", "--out", str(folder),
                    "--work", str(tmp_path / "work"), "--workers", "2", "--quiet")
    # Which particles keep every figure in band on seeds 1-3, computed here on its own.
    names = [c for c in posterior.columns if c in PARAMS]
    held = {**held_at_declared(names), **SCALE}
    keep = []
    for row in posterior[names].to_dict(orient="records"):
        f = figures({**held, **row}, [1, 2, 3])
        keep.append(all(np.isfinite(f[m.key]) and abs(f[m.key] - m.centre) <= m.half_band
                        for m in moments()))
    if sum(keep) < 2:
        assert done.returncode == 2 and "nothing was written" in done.stderr, done.stderr
        assert (folder / "posterior.parquet").read_bytes() == before
        return
    assert done.returncode == 0, done.stderr
    kept = pd.read_parquet(folder / "posterior.parquet")
    expected = posterior[np.array(keep)].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept[names], expected[names], check_dtype=False)
    assert np.allclose(kept["weight"], 1 / len(kept))
    info = calibration_info(folder)
    assert info["confirmed"]["seeds"] == 3 and info["confirmed"]["kept"] == sum(keep)
    assert info["ess_min"] == round(4.0 * sum(keep) / 4, 1) and info["ess_min_chains"] == 4.0
    # A confirmed posterior is not confirmed again.
    again = _xianghe("calibrate", "--confirm", "--seeds", "3", "--out", str(folder),
                     "--work", str(tmp_path / "work2"), "--quiet")
    assert again.returncode == 2 and "already" in again.stderr
    assert again.stderr.strip().count("\n") == 0


def test_confirm_refuses_too_few_seeds_and_foreign_options(tmp_path):
    folder = tmp_path / "cal"
    _calibration(folder, 3)
    for args, field in ((("--seeds", "2"), "--seeds"), (("--db", "x.db"), "--db")):
        done = _xianghe("calibrate", "--confirm", *args, "--out", str(folder),
                        "--work", str(tmp_path / "w"), "--quiet")
        assert done.returncode == 2 and field in done.stderr, done.stderr
        assert done.stderr.strip().count("\n") == 0
    assert not (tmp_path / "w" / "results").exists()
