"""Local worker processes that never import the caller's script.

multiprocessing's ``spawn`` and ``forkserver`` start methods import the parent's
``__main__`` module in every worker, so a plain script that calls the API without
``if __name__ == "__main__":`` starts the experiment again inside each worker, which dies
(``BrokenProcessPool``); a script fed on stdin has no file to import at all. ``fork``
avoids the import but copies whatever locks the parent's threads held (tqdm's monitor,
Dask's, a notebook kernel's). The workers here are fresh interpreters started with the
parent's ``sys.path``; each takes one task at a time over a pipe (pickled, as
:class:`concurrent.futures.ProcessPoolExecutor` pickles) and sends back its result. They
work the same from a script, stdin, ``python -c``, a notebook or the command line.

A worker ignores Ctrl-C (the parent decides what an interrupt stops), writes anything
printed to its stderr (its stdout is the pipe), and exits when its parent is gone. A pool
whose worker died is broken: what waits fails, and so does anything submitted after.
:func:`shared` keeps a pool alive between experiments of one process, so that a script
calling the API again and again starts its workers (and imports the model) once.
"""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import json
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import threading
import time
from typing import BinaryIO

_HEADER = struct.Struct("!Q")
_BOOT = ("import sys, json; sys.path[:] = json.loads(sys.argv[1]); "
         "from runs.pool import serve; serve()")


class WorkerDied(RuntimeError):
    """A worker process ended while it held a task (killed, out of memory, crashed)."""


def _send(stream: BinaryIO, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _receive(stream: BinaryIO) -> bytes:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return data


class WorkerPool(cf.Executor):
    """``workers`` local processes behind the :class:`concurrent.futures.Executor`
    interface: tasks run in the order submitted, on whichever worker is free."""

    def __init__(self, workers: int):
        self.workers = workers
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._closed = False
        self._broken: str | None = None
        self._in_flight = 0
        self._lock = threading.Lock()
        self._procs = [subprocess.Popen(
            [sys.executable, "-c", _BOOT, json.dumps(sys.path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            for _ in range(workers)]
        self._threads = [threading.Thread(target=self._dispatch, args=(p,), daemon=True,
                                          name=f"xianghe-worker-{p.pid}")
                         for p in self._procs]
        for t in self._threads:
            t.start()

    @property
    def usable(self) -> bool:
        """Open, every worker alive, nothing submitted still waiting or running."""
        return not self._closed and self._broken is None and self._in_flight == 0

    def submit(self, fn, /, *args, **kwargs) -> cf.Future:
        if self._closed:
            raise RuntimeError("cannot submit to a pool that was shut down")
        if self._broken is not None:
            raise WorkerDied(self._broken)
        future: cf.Future = cf.Future()
        with self._lock:
            self._in_flight += 1
        future.add_done_callback(self._finished)
        self._tasks.put((future, fn, args, kwargs))
        return future

    def _finished(self, future: cf.Future) -> None:
        with self._lock:
            self._in_flight -= 1

    def _dispatch(self, proc: subprocess.Popen) -> None:
        """Hand tasks to one worker, one at a time, until the pool shuts down (then let
        the worker end) or the worker dies (then the pool is broken)."""
        while True:
            item = self._tasks.get()
            if item is None:
                try:
                    proc.stdin.close()      # the worker reads the end and exits
                    proc.wait(timeout=30)
                except (OSError, subprocess.TimeoutExpired):
                    proc.kill()
                return
            future, fn, args, kwargs = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                _send(proc.stdin, (fn, args, kwargs))
                ok, value = pickle.loads(_receive(proc.stdout))
            except (OSError, EOFError, ValueError):
                code = proc.poll()
                self._broken = (f"a worker process (pid {proc.pid}) ended while running a "
                                "task" + ("" if code is None else f" (exit status {code})"))
                future.set_exception(WorkerDied(self._broken))
                self._fail_waiting()
                return
            except BaseException as err:  # noqa: BLE001 - a result that would not unpickle
                future.set_exception(err)
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def _fail_waiting(self) -> None:
        """Once a worker is gone, fail what waits rather than let it wait for ever."""
        while True:
            try:
                item = self._tasks.get_nowait()
            except queue.Empty:
                return
            if item is None:
                self._tasks.put(None)
                return
            future = item[0]
            if future.set_running_or_notify_cancel():
                future.set_exception(WorkerDied(self._broken or "a worker process ended"))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """End the pool: queued tasks still run (``cancel_futures``: they are cancelled,
        and a task still running is stopped with its worker); with ``wait``, return when
        the workers have ended."""
        if self._closed:
            return
        self._closed = True
        if cancel_futures:
            while True:
                try:
                    item = self._tasks.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[0].cancel()
            for proc in self._procs:
                proc.kill()
        for _ in self._threads:
            self._tasks.put(None)
        if wait:
            for t in self._threads:
                t.join()


_SHARED: dict[int, WorkerPool] = {}
_LEASED: set[int] = set()
_SHARED_LOCK = threading.Lock()


def shared(workers: int) -> WorkerPool:
    """A pool of ``workers`` for one experiment, to :func:`release` when it is done: the
    pool the last experiment of this process left, if it is :attr:`WorkerPool.usable` and
    no other experiment holds it, else a new one."""
    with _SHARED_LOCK:
        pool = _SHARED.get(workers)
        if pool is not None and id(pool) not in _LEASED and pool.usable:
            _LEASED.add(id(pool))
            return pool
        pool = WorkerPool(workers)
        if workers not in _SHARED or id(_SHARED[workers]) not in _LEASED:
            if workers in _SHARED:
                _SHARED[workers].shutdown(wait=False, cancel_futures=True)
            _SHARED[workers] = pool
        _LEASED.add(id(pool))
        return pool


def release(pool: WorkerPool) -> None:
    """An experiment is done with ``pool``: kept for the next if it is the one kept and
    nothing of it still runs (an interrupted experiment leaves tasks behind: then its
    workers are stopped), else ended."""
    with _SHARED_LOCK:
        _LEASED.discard(id(pool))
        keep = _SHARED.get(pool.workers) is pool and pool.usable
        if not keep and _SHARED.get(pool.workers) is pool:
            del _SHARED[pool.workers]
    if not keep:
        pool.shutdown(wait=True, cancel_futures=True)


@atexit.register
def _end_shared() -> None:
    for pool in list(_SHARED.values()):
        pool.shutdown(wait=True)
    _SHARED.clear()


def serve() -> None:
    """A worker's loop: read a task, run it, write back ``(True, result)`` or
    ``(False, exception)``, until the pipe closes or the parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tasks = os.fdopen(os.dup(sys.stdin.fileno()), "rb")
    results = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())   # a stray print cannot break the pipe
    parent = os.getppid()

    def watch():
        while True:
            time.sleep(2.0)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, daemon=True).start()
    import runs.engine  # noqa: F401 - the model loads once, before the first task

    while True:
        try:
            data = _receive(tasks)
        except EOFError:
            return
        try:
            fn, args, kwargs = pickle.loads(data)
            reply = (True, fn(*args, **kwargs))
        except Exception as err:  # noqa: BLE001 - handed back to whoever waits on it
            reply = (False, err)
        try:
            _send(results, reply)
        except (pickle.PicklingError, TypeError, AttributeError) as err:
            _send(results, (False, RuntimeError(f"the task's result could not be sent "
                                                f"back: {type(err).__name__}: {err}")))
