"""Where experiments keep their runs: a folder of Parquet part files and a manifest.

Finished runs are written in batches to ``DIR/results/part-*.parquet`` (one row per run and
year, and per quarter where the experiment keeps quarters), each file written whole under
a temporary name and renamed, so a kill never leaves a half file. An experiment started
again on the same folder reads the run ids already stored and runs only the others: no run
is lost or stored twice. ``DIR/manifest.json`` says what the folder holds.

A store is checked before it is read or added to: a part file that cannot be read, or
that does not have the experiment's columns, and a run stored twice are each named in one
line, with the way on (``--repair``: damaged parts are set aside in ``DIR/damaged/`` and
their runs computed again; copies of a run are removed).
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


def schema(design_params: Iterable[str], quarterly: bool = False,
           extra: Iterable[str] = ()) -> pa.Schema:
    """The Parquet schema of an experiment's results: the same for every part file.

    With ``quarterly``, rows carry a ``quarter`` (1-4) and a row with a null quarter holds
    the year's indicators. A year's row also carries the events behind the two event
    indicators (``model.indicators.EVENT_COLUMNS``), so that they pool over seeds.
    ``extra`` names integer columns beside the seed, such as ``draw`` (the posterior draw).
    """
    import pyarrow as pa

    from model import NAMES
    from model.indicators import EVENT_COLUMNS

    arrow = {int: pa.int64(), float: pa.float64(), bool: pa.bool_()}
    events = {"production_months": pa.list_(pa.float64())}
    return pa.schema(
        [("run_id", pa.int64()), ("point", pa.int64()), ("seed", pa.int64())]
        + [(name, pa.int64()) for name in extra]
        + [(name, arrow[PARAMS[name].type]) for name in design_params]
        + [("year", pa.int64())]
        + ([("quarter", pa.int64())] if quarterly else [])
        + [(name, pa.float64()) for name in NAMES]
        + [(name, events.get(name, pa.float64())) for name in EVENT_COLUMNS]
        + [("status", pa.string()), ("error", pa.string())]
    )


IDENTITY = b"xianghe_identity"


class ResultStore:
    """The Parquet dataset of an experiment: what is stored, and appending more. With an
    ``identity`` (the experiment's digest), every part file carries it in its metadata, and
    a part that carries another is not this experiment's (set aside like a damaged one)."""

    def __init__(self, folder: Path, table_schema: pa.Schema, identity: str | None = None):
        self.dir = Path(folder) / RESULTS
        self.schema = table_schema
        self.identity = identity

    def parts(self) -> list[Path]:
        return sorted(self.dir.glob("part-*.parquet")) if self.dir.is_dir() else []

    def verify(self, repair: bool = False, hint: str = "--repair") -> list[str]:
        """Check every part file and that no run is stored twice; with ``repair`` set
        damaged parts aside and remove copies. Return what was repaired, in words."""
        import pyarrow.parquet as pq

        repaired = []
        owners: dict[int, Path] = {}
        twice: set[int] = set()
        for part in self.parts():
            try:
                part_schema = pq.read_schema(part)
                ids = pq.read_table(part, columns=["run_id"]).column(0).to_pylist()
                if part_schema.names != self.schema.names:
                    raise ValueError("not this experiment's columns")
                owner = (part_schema.metadata or {}).get(IDENTITY)
                if self.identity and owner is not None and owner.decode() != self.identity:
                    raise ValueError("another experiment's runs")
            except Exception as err:  # noqa: BLE001 - whatever makes a part unreadable
                if not repair:
                    why = str(err) if isinstance(err, ValueError) else type(err).__name__
                    raise InputError(f"{part}: damaged ({why}); allowed: "
                                     f"{hint} sets it aside and computes its runs again") from None
                aside = self.dir.parent / "damaged" / part.name
                aside.parent.mkdir(exist_ok=True)
                os.replace(part, aside)
                repaired.append(f"set aside damaged {part.name} in {aside.parent}")
                continue
            for run_id in set(ids):
                if run_id in owners:
                    twice.add(run_id)
                owners[run_id] = part
        if twice:
            if not repair:
                raise InputError(f"{self.dir}: {len(twice)} run(s) stored more than once "
                                 f"(run_id {min(twice)}, ...); allowed: {hint} removes the "
                                 "copies")
            repaired.append(self._deduplicate(len(twice)))
        return repaired

    def _deduplicate(self, count: int) -> str:
        """Rewrite the store with one copy of each run: the new part first, then the old
        parts go, so a kill in between leaves copies, never a loss."""
        import pyarrow as pa

        parts = self.parts()
        df = self.read()
        keys = [k for k in ("run_id", "year", "quarter") if k in df.columns]
        table = pa.Table.from_pandas(df.drop_duplicates(subset=keys), schema=self.schema,
                                     preserve_index=False)
        self._write(table)
        for part in parts:
            part.unlink()
        return f"removed the copies of {count} run(s) stored more than once"

    def done(self) -> set[int]:
        """Run ids already stored."""
        import pyarrow.parquet as pq

        ids: set[int] = set()
        for part in self.parts():
            ids.update(pq.read_table(part, columns=["run_id"]).column(0).to_pylist())
        return ids

    def append(self, rows: list[dict]) -> None:
        """Write one part file, atomically."""
        if rows:
            import pyarrow as pa

            self._write(pa.Table.from_pylist(rows, schema=self.schema))

    def _write(self, table: pa.Table) -> None:
        import pyarrow.parquet as pq

        self.dir.mkdir(parents=True, exist_ok=True)
        if self.identity:
            table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                                   IDENTITY: self.identity.encode()})
        name = f"part-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        tmp = self.dir / f".{name}.tmp"
        try:
            pq.write_table(table, tmp)
            os.replace(tmp, self.dir / f"{name}.parquet")
        finally:
            tmp.unlink(missing_ok=True)

    def read(self) -> pd.DataFrame:
        """Every stored row, sorted by run, year (and quarter)."""
        import pandas as pd

        parts = self.parts()
        if not parts:
            return pd.DataFrame(columns=self.schema.names)
        df = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
        keys = [k for k in ("run_id", "year", "quarter") if k in df.columns]
        return df.sort_values(keys, ignore_index=True, na_position="first")


def read_results(folder: Path, table_schema: pa.Schema | None = None,
                 hint: str = "`xianghe sweep DESIGN --out DIR --repair`") -> pd.DataFrame:
    """The stored results of a sweep, sorted by run and year: every run once, or an error
    naming the damaged file or the runs stored twice."""
    store = ResultStore(folder, table_schema)
    if table_schema is not None:
        store.verify(hint=hint)
    if not store.parts():
        raise InputError(f"{folder}: no run has finished yet; run `xianghe sweep` on it")
    return store.read()


def read_manifest(folder: Path) -> dict | None:
    """The manifest of an experiment folder, ``None`` where there is none."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: unreadable ({type(err).__name__}), not a sweep manifest "
                         "this version wrote; allowed: `xianghe sweep DESIGN --out "
                         f"{folder} --repair` writes it again") from None
    if not isinstance(manifest, dict) or "design" not in manifest:
        raise InputError(f"{path}: holds no design, not a sweep manifest; allowed: "
                         f"`xianghe sweep DESIGN --out {folder} --repair` writes it again")
    return manifest


def write_manifest(folder: Path, manifest: dict) -> None:
    """Write the manifest whole, under a temporary name first (removed if writing fails)."""
    tmp = Path(folder) / f".{MANIFEST}.tmp"
    try:
        tmp.write_text(json.dumps(manifest, indent=2, default=_plain) + "\n")
        os.replace(tmp, Path(folder) / MANIFEST)
    finally:
        tmp.unlink(missing_ok=True)


def _plain(value):
    """numpy scalars to plain Python, for JSON."""
    return value.item() if hasattr(value, "item") else value


def check_out(out: Path, digest: str, repair: bool = False) -> dict | None:
    """The manifest of an output folder that holds this experiment's results, ``None`` for
    an empty or new folder; refuse another experiment's folder. With ``repair``, a damaged
    manifest is set aside (``manifest.json.damaged``) and a missing one is taken as new, so
    that the caller writes it again; the parts are checked against the design after."""
    check_folder(out)
    if not out.is_dir():
        return None
    try:
        manifest = read_manifest(out)
    except InputError:
        if not repair:
            raise
        os.replace(out / MANIFEST, out / f"{MANIFEST}.damaged")
        return None
    if manifest is not None and manifest.get("sweep_digest") != digest:
        raise InputError(f"--out {out}: holds the results of a different design "
                         f"({manifest.get('design_file')}); allowed: an empty folder or "
                         "one holding this design's results")
    if manifest is None and not repair and any(out.iterdir()):
        stored = (out / RESULTS).is_dir()
        raise InputError(f"--out {out}: is not empty and holds no sweep manifest; allowed: "
                         "an empty folder or one holding this design's results"
                         + ("; --repair writes the manifest again" if stored else ""))
    return manifest
