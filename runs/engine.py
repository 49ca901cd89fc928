"""Run many model runs on any ``concurrent.futures`` executor.

One engine serves every experiment (a run's replicate seeds, a comparison, a sweep) and
every back end: this process (one worker), local processes (:class:`runs.pool.WorkerPool`,
which works from a script without a main guard, stdin or a notebook) or a Dask distributed cluster (``Client.get_executor()``), so the same tasks give the same
rows wherever they run. Each run is independent and seeded, so results do not depend on
which worker ran it or in what order. Only a bounded number of runs is in flight and
unwritten at any time, so memory stays flat however long the experiment.
"""

from __future__ import annotations

import concurrent.futures as cf
import re
import socket
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from model import NAMES
from model.indicators import EVENT_COLUMNS

from .errors import InputError
from .store import ResultStore


@dataclass(frozen=True)
class RunTask:
    """One model run: everything a worker needs, nothing it has to look up."""

    run_id: int
    point: int
    seed: int
    params: dict          # full parameter values for this run
    design_values: dict   # the values of the experiment's own parameters
    years: tuple[int, ...]
    quarterly: bool = False   # keep every quarter of the years too


def simulate(task: RunTask) -> list[dict]:
    """Run one task; a run that raises becomes failure rows carrying its error."""
    from model import XiangheModel

    base = {"run_id": task.run_id, "point": task.point, "seed": task.seed,
            **task.design_values}
    quarter = {"quarter": None} if task.quarterly else {}
    no_events = dict.fromkeys(EVENT_COLUMNS)
    try:
        model = XiangheModel(task.params, seed=task.seed)
        model.run_until_year(max(task.years))
        annual = model.annual().set_index("year")
        rows = [{**base, "year": y, **quarter, **{n: float(annual.loc[y, n]) for n in NAMES},
                 **{c: annual.loc[y, c] for c in EVENT_COLUMNS},
                 "status": "ok", "error": None} for y in task.years]
        if task.quarterly:
            quarters = model.quarterly()
            quarters = quarters[quarters["year"].isin(task.years)]
            rows += [{**base, "year": int(q["year"]), "quarter": int(q["quarter"]),
                      **{n: float(q[n]) for n in NAMES}, **no_events, "status": "ok",
                      "error": None}
                     for q in quarters.to_dict(orient="records")]
        return rows
    except Exception as err:  # noqa: BLE001 - any failure of a run is recorded, not raised
        message = f"{type(err).__name__}: {err}".replace("\n", " ")
        return [{**base, "year": y, **quarter, **{n: np.nan for n in NAMES}, **no_events,
                 "status": "failed", "error": message} for y in task.years]


class InlineExecutor(cf.Executor):
    """Runs each task in this process when it is submitted: one worker, no start-up cost."""

    def submit(self, fn, /, *args, **kwargs) -> cf.Future:
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # noqa: BLE001 - handed to whoever waits on it
            if isinstance(err, KeyboardInterrupt | SystemExit):
                raise
            future.set_exception(err)
        return future


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
    """An executor for ``--workers N`` (this process for 1, else local processes) or
    ``--scheduler ADDRESS`` (Dask)."""

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
            host_port = re.fullmatch(r"(?:tcp://)?\[?([\w.:-]+?)\]?:(\d+)", scheduler)
            if host_port:       # a refused TCP connection answers at once, not after 10 s
                try:
                    socket.create_connection((host_port[1], int(host_port[2])),
                                             timeout=10).close()
                except OSError as err:
                    raise unreachable(type(err).__name__) from None
            try:
                self.client = Client(scheduler, timeout="10s", set_as_default=False)
            except (OSError, TimeoutError, ValueError) as err:
                raise unreachable(type(err).__name__) from None
            self.executor = self.client.get_executor()
            self.slots = max(1, sum(self.client.nthreads().values()))
            self.label = f"dask {scheduler} ({self.slots} threads)"
        elif workers == 1:
            self.executor = InlineExecutor()
            self.slots = 1
            self.label = "this process"
        else:
            from .pool import shared

            self.executor = shared(workers)
            self.slots = workers
            self.label = f"{workers} local process(es)"

    def close(self) -> None:
        if self.client is not None:
            self.executor.shutdown(wait=False)
            self.client.close()
        elif isinstance(self.executor, InlineExecutor):
            self.executor.shutdown(wait=True, cancel_futures=True)
        else:
            from .pool import release

            release(self.executor)


@dataclass
class Session:
    """What one call of :func:`run_tasks` did."""

    started: float
    seconds: float
    executor: str
    runs_ok: int
    runs_failed: int

    @property
    def runs_per_minute(self) -> float:
        return round(60 * (self.runs_ok + self.runs_failed) / max(self.seconds, 1e-9), 2)


def run_tasks(tasks: list[RunTask], backend: Backend, *, store: ResultStore | None = None,
              keep: Callable[[list[dict]], None] | None = None, batch: int = 16,
              progress: bool = True, desc: str = "runs",
              on_finish: Callable[[Session], None] | None = None) -> Session:
    """Run the tasks ``store`` does not hold yet; write their rows to it in batches of
    ``batch`` runs and hand them to ``keep``. A SIGTERM stops like Ctrl-C: what finished
    is written first, and ``on_finish`` hears of the session either way."""
    done = store.done() if store is not None else set()
    todo = [t for t in tasks if t.run_id not in done]
    buffer: list[dict] = []
    finished = {"ok": 0, "failed": 0}
    runs_buffered = 0

    def flush() -> None:
        # Taken out of the buffer before writing: an interrupt during the write must
        # not leave the rows there to be written a second time.
        nonlocal runs_buffered
        rows = buffer[:]
        buffer.clear()
        runs_buffered = 0
        if store is not None:
            store.append(rows)

    def on_result(rows: list[dict]) -> None:
        nonlocal runs_buffered
        finished[rows[0]["status"]] += 1
        if keep is not None:
            keep(rows)
        buffer.extend(rows)
        runs_buffered += 1
        if runs_buffered >= batch:
            flush()

    started = time.time()
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_interrupt) if main else None
    bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), unit="run", desc=desc,
               disable=not progress, leave=False)
    try:
        execute(todo, backend.executor, 2 * backend.slots, on_result, bar)
    finally:
        flush()
        bar.close()
        if main:
            signal.signal(signal.SIGTERM, previous)
        session = Session(started, time.time() - started, backend.label, finished["ok"],
                          finished["failed"])
        if on_finish is not None:
            on_finish(session)
    return session


def run_all(tasks: list[RunTask], workers: int = 1, scheduler: str | None = None, *,
            progress: bool = True, desc: str = "runs", what: str = "a run") -> list[dict]:
    """Every task's rows, in task order, on a back end opened and closed for them; an
    :class:`InputError` naming the first run that failed."""
    rows: list[dict] = []
    backend = Backend(workers, scheduler)
    try:
        run_tasks(tasks, backend, keep=rows.extend, progress=progress, desc=desc)
    finally:
        backend.close()
    for row in rows:
        if row["status"] != "ok":
            raise InputError(f"{what} failed (seed {row['seed']}): {row['error']}")
    # in task order, whatever order they finished in: sums over them are then exact repeats
    return sorted(rows, key=lambda r: (r["run_id"], r["year"], r.get("quarter") or 0))


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt
