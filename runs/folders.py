"""Output folders that survive concurrency, full disks and kills.

* **One writer per folder.** :class:`FolderLock` takes an exclusive OS lock (``flock``) on
  a lock file beside the folder (``.NAME.lock``) for as long as a command writes there and
  removes the file as it lets go; a killed process releases the lock with its file
  descriptors (its empty file stays, and the next writer takes it). A second writer is refused with
  one line naming the process that holds the lock, or waits for it when asked.
* **Check before computing.** :func:`check_writable` creates and removes a file where the
  output will go and checks that the disk has room, before any simulation.
* **Atomic replacement.** :func:`publish` moves a complete folder into place in one
  ``renameat2(RENAME_EXCHANGE)`` (Linux): a kill at any moment leaves the old contents or
  the new, never a mix. Where the exchange is not available it falls back to two renames.
* **Leftovers.** :func:`clean_leftovers` removes what a killed session left beside the folder
  (``.NAME.new-*``, ``.NAME.old-*``) and temporary files inside it; it runs under the lock.
* **One line for an OS error.** :func:`writing` turns an ``OSError`` (read-only disk, full
  disk) into the project's input error naming the path and what to do.

Nothing here imports more than the standard library.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import InputError, check_folder

# Room an output folder is expected to need at the least; a command that needs more for
# a large experiment says so through ``need_bytes``.
MIN_FREE_BYTES = 16 * 2**20
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def lock_path(folder: Path) -> Path:
    folder = Path(folder).absolute()
    return folder.parent / f".{folder.name}.lock"


class FolderLock:
    """An exclusive lock on ``folder`` for as long as the ``with`` block runs."""

    def __init__(self, folder: Path, *, wait: bool = False, option: str = "--out"):
        self.folder = Path(folder)
        self.wait = wait
        self.option = option
        self.fd: int | None = None

    def __enter__(self) -> FolderLock:
        path = lock_path(self.folder)
        with writing(path.parent, self.option):
            path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            with writing(path.parent, self.option):
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            self._take(fd)
            # The holder before us removes the file as it lets go: a lock on a file no
            # longer in place locks nothing, so take the new one.
            try:
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        holder = f"process {os.getpid()} on {socket.gethostname()} ({' '.join(sys.argv[:3])})"
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.encode(), 0)
        self.fd, self.path = fd, path
        return self

    def _take(self, fd: int) -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "another process"
        if not self.wait:
            os.close(fd)
            raise InputError(f"{self.option} {self.folder}: in use by {holder}; allowed: "
                             "a folder no other command is writing, or --wait to wait for it")
        print(f"waiting for {holder} to finish with {self.folder}", file=sys.stderr)
        fcntl.flock(fd, fcntl.LOCK_EX)

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            self.path.unlink(missing_ok=True)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


@contextlib.contextmanager
def writing(path: Path, option: str = "--out") -> Iterator[None]:
    """Turn an OS error while writing at ``path`` into one line naming it and the way on."""
    try:
        yield
    except OSError as err:
        if isinstance(err, BlockingIOError | InterruptedError):
            raise
        where = err.filename or path
        what = {errno.ENOSPC: "the disk is full", errno.EROFS: "the disk is read-only",
                errno.EACCES: "permission denied", errno.EDQUOT: "the disk quota is used up",
                }.get(err.errno, err.strerror or type(err).__name__)
        raise InputError(f"{option} {path}: cannot write {where} ({what}); allowed: a "
                         "writable folder with room: free space or choose another folder, "
                         "then run the same command again (finished runs are kept)") from None


def check_writable(folder: Path, need_bytes: int = MIN_FREE_BYTES,
                   option: str = "--out") -> None:
    """Refuse, before any work, a folder that cannot be written or whose disk has no room."""
    folder = Path(folder)
    check_folder(folder, option)
    existing = next(p for p in (folder.absolute(), *folder.absolute().parents) if p.exists())
    with writing(existing, option):
        fd, probe = tempfile.mkstemp(prefix=".xianghe-probe-", dir=existing)
        os.close(fd)
        os.unlink(probe)
    free = shutil.disk_usage(existing).free
    if free < need_bytes:
        raise InputError(f"{option} {folder}: {free / 2**20:.1f} MiB free on its disk, about "
                         f"{need_bytes / 2**20:.0f} MiB needed; allowed: a folder on a disk "
                         "with room")


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically; False where the system cannot."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name or not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result != 0:
        code = ctypes.get_errno()
        if code in (errno.EINVAL, errno.ENOSYS):
            return False
        raise OSError(code, os.strerror(code), str(b))
    return True


def staging(folder: Path) -> Path:
    """A new, empty folder beside ``folder`` to build its replacement in."""
    folder = Path(folder).absolute()
    folder.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{folder.name}.new-", dir=folder.parent))


def publish(new: Path, folder: Path) -> None:
    """Put the complete folder ``new`` in the place of ``folder``, all at once."""
    folder = Path(folder).absolute()
    if not folder.exists():
        os.rename(new, folder)
        return
    if _exchange(new, folder):
        shutil.rmtree(new, ignore_errors=True)   # now the old contents
        return
    old = folder.parent / f".{folder.name}.old-{os.getpid()}"
    os.rename(folder, old)
    os.rename(new, folder)
    shutil.rmtree(old, ignore_errors=True)


def clean_leftovers(folder: Path) -> None:
    """Remove what killed sessions left beside and inside ``folder`` (call under the lock).

    A replacement that was fully built but not moved in (``.NAME.old-*`` is there and the
    folder is not) is moved in first, so no finished result is lost.
    """
    folder = Path(folder).absolute()
    if not folder.parent.is_dir():
        return
    olds = sorted(folder.parent.glob(f".{folder.name}.old-*"))
    news = sorted(folder.parent.glob(f".{folder.name}.new-*"))
    if not folder.exists() and olds:
        # Killed between the two renames of the fallback: the new folder was complete.
        os.rename(news[-1] if news else olds[-1], folder)
    for leftover in [*olds, *news]:
        if leftover.exists():
            shutil.rmtree(leftover, ignore_errors=True)
    if folder.is_dir():
        for tmp in folder.rglob(".*.tmp"):
            tmp.unlink(missing_ok=True)
