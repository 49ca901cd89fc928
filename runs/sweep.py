"""Run many model runs on any ``concurrent.futures`` executor and stream them to Parquet.

One runner serves every back end: local processes (:class:`ProcessPoolExecutor`) or a Dask
distributed cluster (``Client.get_executor()``), so the same design gives the same rows
wherever it runs. Each run is independent and seeded, so results do not depend on which
worker ran it or in what order.

Storage: finished runs are written in batches to ``DIR/results/part-*.parquet`` (one row per
run and year), each file written whole under a temporary name and renamed, so a kill never
leaves a half file. A sweep started again on the same folder reads the run ids already
stored and runs only the others: no run is lost or stored twice. Only a bounded number of
runs is in flight and unwritten at any time, so memory stays flat however long the sweep.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import multiprocessing
import os
import re
import signal
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from model import NAMES
from model.params import PARAMS, resolve

from .design import Design, points
from .scenario import InputError, load
from .simulate import git_revision

RESULTS = "results"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class RunTask:
    """One model run: everything a worker needs, nothing it has to look up."""

    run_id: int
    point: int
    seed: int
    params: dict          # full parameter values for this run
    design_values: dict   # the values of the design's own parameters
    years: tuple[int, ...]


def simulate(task: RunTask) -> list[dict]:
    """Run one task; a run that raises becomes failure rows carrying its error."""
    from model import XiangheModel

    base = {"run_id": task.run_id, "point": task.point, "seed": task.seed,
            **task.design_values}
    try:
        model = XiangheModel(task.params, seed=task.seed)
        model.run_until_year(max(task.years))
        annual = model.annual().set_index("year")
        return [{**base, "year": y, **{n: float(annual.loc[y, n]) for n in NAMES},
                 "status": "ok", "error": None} for y in task.years]
    except Exception as err:  # noqa: BLE001 - any failure of a run is recorded, not raised
        message = f"{type(err).__name__}: {err}".replace("\n", " ")
        return [{**base, "year": y, **{n: np.nan for n in NAMES}, "status": "failed",
                 "error": message} for y in task.years]


def tasks_for(design: Design, scenario_params: dict) -> list[RunTask]:
    """Every (point, seed) run of a design, in a fixed order with fixed run ids."""
    table = points(design)
    tasks = []
    for point, row in enumerate(table.itertuples(index=False)):
        values = {name: _plain(v) for name, v in zip(table.columns, row, strict=True)}
        for s in range(1, design.seeds + 1):
            tasks.append(RunTask(point * design.seeds + (s - 1), point, s,
                                 {**scenario_params, **values}, values, design.years))
    return tasks


def _plain(value):
    """numpy scalars to plain Python, so tasks pickle small and compare equal."""
    return value.item() if isinstance(value, np.generic) else value


def schema(design_params: Iterable[str]) -> pa.Schema:
    """The Parquet schema of the results: the same for every part file of a sweep."""
    kinds = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}
    return pa.schema(
        [("run_id", pa.int64()), ("point", pa.int64()), ("seed", pa.int64())]
        + [(name, kinds[PARAMS[name].kind]) for name in design_params]
        + [("year", pa.int64())]
        + [(name, pa.float64()) for name in NAMES]
        + [("status", pa.string()), ("error", pa.string())]
    )


class ResultStore:
    """The Parquet dataset of a sweep: what is stored, and appending more."""

    def __init__(self, out: Path, table_schema: pa.Schema):
        self.dir = Path(out) / RESULTS
        self.schema = table_schema

    def done(self) -> set[int]:
        """Run ids already stored."""
        if not self.dir.is_dir():
            return set()
        ids: set[int] = set()
        for part in sorted(self.dir.glob("part-*.parquet")):
            ids.update(pq.read_table(part, columns=["run_id"]).column(0).to_pylist())
        return ids

    def append(self, rows: list[dict]) -> None:
        """Write one part file, atomically."""
        if not rows:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist(rows, schema=self.schema)
        name = f"part-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        tmp = self.dir / f".{name}.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, self.dir / f"{name}.parquet")


def execute(tasks: list[RunTask], executor: cf.Executor, in_flight: int,
            on_result: Callable[[list[dict]], None], progress: tqdm | None = None) -> None:
    """Submit tasks keeping at most ``in_flight`` pending; hand each result over in turn."""
    queue: Iterator[RunTask] = iter(tasks)
    pending: set[cf.Future] = set()
    try:
        for task in queue:
            pending.add(executor.submit(simulate, task))
            if len(pending) >= in_flight:
                done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    on_result(future.result())
                    if progress is not None:
                        progress.update()
        for future in cf.as_completed(pending):
            on_result(future.result())
            if progress is not None:
                progress.update()
        pending = set()
    finally:
        for future in pending:
            future.cancel()


class Backend:
    """An executor for ``--workers N`` (local processes) or ``--scheduler ADDRESS`` (Dask)."""

    def __init__(self, workers: int, scheduler: str | None):
        self.client = None
        if scheduler:
            from distributed import Client

            def unreachable(why: str) -> InputError:
                return InputError(f"--scheduler {scheduler}: no Dask scheduler answers there "
                                  f"({why}); allowed: the address of a running `dask "
                                  "scheduler`, e.g. tcp://127.0.0.1:8786")

            if not re.fullmatch(r"(tcp|tls|ucx|inproc)://[^/\s]+|[\w.-]+:\d+", scheduler):
                raise unreachable("not an address")
            try:
                self.client = Client(scheduler, timeout="10s", set_as_default=False)
            except (OSError, TimeoutError, ValueError) as err:
                raise unreachable(type(err).__name__) from None
            self.executor = self.client.get_executor()
            self.slots = max(1, sum(self.client.nthreads().values()))
            self.label = f"dask {scheduler} ({self.slots} threads)"
        else:
            self.executor = cf.ProcessPoolExecutor(max_workers=workers,
                                                   mp_context=_worker_context(),
                                                   initializer=_watch_parent,
                                                   initargs=(os.getpid(),))
            self.slots = workers
            self.label = f"{workers} local process(es)"

    def close(self) -> None:
        if self.client is not None:
            self.executor.shutdown(wait=False)
            self.client.close()
        else:
            self.executor.shutdown(wait=True, cancel_futures=True)


def _worker_context():
    """Workers forked from a server that has imported the model once: fast to start, and
    free of the locks a plain fork could copy from the parent's threads."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["runs.sweep"])
    return context


def _watch_parent(pid: int) -> None:
    """In a worker: exit when the sweep that started it is gone (killed, not shut down),
    rather than wait for tasks forever."""
    import threading

    def watch():
        while True:
            time.sleep(2.0)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _read_manifest(out: Path) -> dict | None:
    path = out / MANIFEST
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


def _write_manifest(out: Path, manifest: dict) -> None:
    tmp = out / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, default=_plain) + "\n")
    os.replace(tmp, out / MANIFEST)


def sweep_digest(design: Design, scenario_params: dict) -> str:
    """Identity of what a sweep computes: the design and the scenario it starts from."""
    text = json.dumps({"design": design.digest, "scenario": scenario_params}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def check_folder(path: Path, option: str = "--out") -> None:
    """Refuse a folder that cannot be made: one that is a file or lies under a file."""
    path = Path(path)
    for parent in (path, *path.parents):
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{option} {path}: {parent} is a file, not a folder")
            return


def check_out(out: Path, digest: str) -> None:
    """Refuse an output folder that holds another design's results."""
    check_folder(out)
    manifest = _read_manifest(out) if out.is_dir() else None
    if manifest is not None and manifest.get("sweep_digest") != digest:
        raise InputError(f"--out {out}: holds the results of a different design "
                         f"({manifest.get('design_file')}); allowed: an empty folder or "
                         "one holding this design's results")
    if manifest is None and out.is_dir() and any(out.iterdir()):
        raise InputError(f"--out {out}: is not empty and holds no sweep; allowed: an "
                         "empty folder or one holding this design's results")


def run_sweep(design: Design, design_file: str, out: Path, workers: int,
              scheduler: str | None, batch: int, progress: bool = True) -> dict:
    """Run what is missing of a design into ``out``; return the timings recorded."""
    out = Path(out)
    scenario = load(design.scenario)
    try:
        resolve(scenario.params)
    except ValueError as err:
        raise InputError(f"scenario {design.scenario!r}: {err}") from None
    digest = sweep_digest(design, scenario.params)
    check_out(out, digest)
    tasks = tasks_for(design, scenario.params)
    backend = Backend(workers, scheduler)
    store = ResultStore(out, schema(design.names))
    started = time.time()
    try:
        out.mkdir(parents=True, exist_ok=True)
        manifest = _read_manifest(out) or {
            "design_file": design_file,
            "design": design.to_dict(),
            "sweep_digest": digest,
            "scenario_params": scenario.params,
            "points": len(tasks) // design.seeds,
            "runs": len(tasks),
            "package_version": version("xianghe"),
            "git_revision": git_revision(),
            "sessions": [],
        }
        _write_manifest(out, manifest)
        done = store.done()
        todo = [t for t in tasks if t.run_id not in done]
        buffer: list[dict] = []
        finished = {"ok": 0, "failed": 0}

        def flush() -> None:
            # Taken out of the buffer before writing: an interrupt during the write must
            # not leave the rows there to be written a second time.
            rows = buffer[:]
            buffer.clear()
            store.append(rows)

        def keep(rows: list[dict]) -> None:
            buffer.extend(rows)
            finished[rows[0]["status"]] += 1
            if len(buffer) >= batch * len(design.years):
                flush()

        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), unit="run",
                   desc="sweep", disable=not progress)
        try:
            execute(todo, backend.executor, 2 * backend.slots, keep, bar)
        finally:
            flush()
            bar.close()
            signal.signal(signal.SIGTERM, previous)
            seconds = time.time() - started
            manifest["sessions"].append({
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
                "seconds": round(seconds, 3),
                "executor": backend.label,
                "runs_ok": finished["ok"],
                "runs_failed": finished["failed"],
                "runs_per_minute": round(60 * sum(finished.values()) / max(seconds, 1e-9), 2),
                "complete": len(store.done()) == len(tasks),
            })
            _write_manifest(out, manifest)
    finally:
        backend.close()
    return manifest["sessions"][-1]


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def read_results(out: Path) -> pd.DataFrame:
    """The stored results of a sweep, sorted by run and year."""
    parts = sorted((Path(out) / RESULTS).glob("part-*.parquet"))
    if not parts:
        raise InputError(f"{out}: no run has finished yet; run `xianghe sweep` on it")
    df = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    return df.sort_values(["run_id", "year"], ignore_index=True)
