"""Where experiments keep their runs: a folder of Parquet part files and a manifest.

Finished runs are written in batches to ``DIR/results/part-*.parquet`` (one row per run and
year, and per quarter where the experiment keeps quarters), each file written whole under
a temporary name and renamed, so a kill never leaves a half file. An experiment started
again on the same folder reads the run ids already stored and runs only the others: no run
is lost or stored twice. ``DIR/manifest.json`` says what the folder holds.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from model.params import PARAMS

from .errors import InputError, check_folder

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

# Reading a manifest or checking a folder imports no more than this: the command line
# answers bad input at once. Parquet and pandas load when results are read or written.
RESULTS = "results"
MANIFEST = "manifest.json"


def schema(design_params: Iterable[str], quarterly: bool = False) -> pa.Schema:
    """The Parquet schema of an experiment's results: the same for every part file.

    With ``quarterly``, rows carry a ``quarter`` (1-4) and a row with a null quarter holds
    the year's indicators.
    """
    import pyarrow as pa

    from model import NAMES

    arrow = {int: pa.int64(), float: pa.float64(), bool: pa.bool_()}
    return pa.schema(
        [("run_id", pa.int64()), ("point", pa.int64()), ("seed", pa.int64())]
        + [(name, arrow[PARAMS[name].type]) for name in design_params]
        + [("year", pa.int64())]
        + ([("quarter", pa.int64())] if quarterly else [])
        + [(name, pa.float64()) for name in NAMES]
        + [("status", pa.string()), ("error", pa.string())]
    )


class ResultStore:
    """The Parquet dataset of an experiment: what is stored, and appending more."""

    def __init__(self, folder: Path, table_schema: pa.Schema):
        self.dir = Path(folder) / RESULTS
        self.schema = table_schema

    def parts(self) -> list[Path]:
        return sorted(self.dir.glob("part-*.parquet")) if self.dir.is_dir() else []

    def done(self) -> set[int]:
        """Run ids already stored."""
        import pyarrow.parquet as pq

        ids: set[int] = set()
        for part in self.parts():
            ids.update(pq.read_table(part, columns=["run_id"]).column(0).to_pylist())
        return ids

    def append(self, rows: list[dict]) -> None:
        """Write one part file, atomically."""
        if not rows:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.dir.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist(rows, schema=self.schema)
        name = f"part-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        tmp = self.dir / f".{name}.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, self.dir / f"{name}.parquet")

    def read(self) -> pd.DataFrame:
        """Every stored row, sorted by run, year (and quarter)."""
        import pandas as pd

        parts = self.parts()
        if not parts:
            return pd.DataFrame(columns=self.schema.names)
        df = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
        keys = [k for k in ("run_id", "year", "quarter") if k in df.columns]
        return df.sort_values(keys, ignore_index=True, na_position="first")


def read_results(folder: Path) -> pd.DataFrame:
    """The stored results of a sweep, sorted by run and year."""
    import pandas as pd

    parts = sorted((Path(folder) / RESULTS).glob("part-*.parquet"))
    if not parts:
        raise InputError(f"{folder}: no run has finished yet; run `xianghe sweep` on it")
    df = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    return df.sort_values(["run_id", "year"], ignore_index=True)


def read_manifest(folder: Path) -> dict | None:
    """The manifest of an experiment folder, ``None`` where there is none."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: unreadable ({type(err).__name__}); it is not a sweep "
                         "manifest this version wrote") from None
    if not isinstance(manifest, dict) or "design" not in manifest:
        raise InputError(f"{path}: holds no design; it is not a sweep manifest")
    return manifest


def write_manifest(folder: Path, manifest: dict) -> None:
    """Write the manifest whole, under a temporary name first."""
    tmp = Path(folder) / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, default=_plain) + "\n")
    os.replace(tmp, Path(folder) / MANIFEST)


def _plain(value):
    """numpy scalars to plain Python, for JSON."""
    return value.item() if hasattr(value, "item") else value


def check_out(out: Path, digest: str) -> None:
    """Refuse an output folder that holds another experiment's results."""
    check_folder(out)
    manifest = read_manifest(out) if out.is_dir() else None
    if manifest is not None and manifest.get("sweep_digest") != digest:
        raise InputError(f"--out {out}: holds the results of a different design "
                         f"({manifest.get('design_file')}); allowed: an empty folder or "
                         "one holding this design's results")
    if manifest is None and out.is_dir() and any(out.iterdir()):
        raise InputError(f"--out {out}: is not empty and holds no sweep; allowed: an "
                         "empty folder or one holding this design's results")
