"""Output folders: one rule for every command, and writes that survive concurrency, full
disks and kills.

* **One rule.** :func:`accept` lets a command write into a folder only if it is new, empty,
  or holds the project's own output of the same kind (its manifest says so, or, for the
  calibration's folders, the files it writes); anything else, the current folder and the
  root among them, is refused with one line before anything is touched. It looks at the
  folder's own entries only, never down the tree.
* **One writer per folder.** :class:`FolderLock` takes an exclusive OS lock (``flock``) on
  a lock file beside the folder (``.NAME.lock``) for as long as a command writes there and
  removes the file as it lets go; a killed process releases the lock with its file
  descriptors (its empty file stays, and the next writer takes it). A second writer is
  refused with one line naming the process that holds the lock, or waits for it when asked.
* **Check before computing.** :func:`check_writable` creates and removes a file where the
  output will go and checks that the disk has room, before any simulation.
* **Atomic replacement that keeps the user's files.** :func:`publish` moves a complete
  folder into place in one ``renameat2(RENAME_EXCHANGE)`` (Linux): a kill at any moment
  leaves the old contents or the new, never a mix. Whatever the old folder held that the
  project did not write (the manifest lists what it did) is hard-linked into the new one
  first, so it is still there, the same file, after the exchange.
* **Leftovers.** :func:`clean_leftovers` removes what a killed session left, only under
  the project's own temporary names at the places it writes them: staging folders beside
  the folder that carry the project's mark, and ``.part-*.tmp`` / ``.manifest.json.tmp``
  in the folder and its stores. It runs under the lock, after the folder is accepted.
* **One line for an OS error.** :func:`writing` turns an ``OSError`` (read-only disk, full
  disk, a name too long) into the project's input error naming the path and what to do.

Nothing here imports more than the standard library.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import json
import os
import re
import shutil
import socket
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError, check_folder

# Room an output folder is expected to need at the least; a command that needs more for
# a large experiment says so through ``need_bytes``.
MIN_FREE_BYTES = 16 * 2**20
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
MANIFEST = "manifest.json"
# Inside a staging folder: the project made it (only such folders are ever removed).
STAGING_MARK = ".xianghe-staging"
# The temporary names the project writes, at the places it writes them (relative to the
# output folder): the stores' part files and the manifests.
TEMPORARY = (".manifest.json.tmp", ".xianghe-staging", "results/.part-*.tmp",
             "runs/results/.part-*.tmp", ".checkpoints/*/results/.part-*.tmp",
             "reference/results/.part-*.tmp", "datasets/results/.part-*.tmp")


def _manifest(folder: Path, name: str = MANIFEST) -> dict | None:
    """A folder's manifest as a dict; None where there is none or it is not JSON."""
    try:
        data = json.loads((Path(folder) / name).read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class Kind:
    """An output of the project: what it writes at the top of its folder and how a folder
    that holds one is told (its manifest's ``kind``, or, for manifests older than that
    field, their keys; for the calibration's folders, the files they hold)."""

    name: str
    files: tuple[str, ...]
    command: str
    signature: Callable[[dict], bool] = lambda m: False
    marker_files: tuple[str, ...] = ()      # a folder holding one of these is this kind's
    markers: tuple[str, ...] = (MANIFEST,)
    marker_dirs: tuple[str, ...] = ()       # or this store of an interrupted command

    def owns(self, folder: Path) -> bool:
        for marker in self.markers:
            m = _manifest(folder, marker)
            if m is not None and (m.get("kind") == self.name or self.signature(m)):
                return True
        return (any((Path(folder) / f).is_file() for f in self.marker_files)
                or any((Path(folder) / d).is_dir() for d in self.marker_dirs))

    def written(self, folder: Path) -> set[str]:
        """The names at the top of ``folder`` the project wrote there."""
        listed = (_manifest(folder) or {}).get("files")
        return {*self.files, *(listed if isinstance(listed, list) else ())}


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("run", ("quarterly.parquet", "quarterly.csv", "annual.parquet", "annual.csv",
                 "indicators.png", "new-stage.png", MANIFEST, ".checkpoints"),
         "xianghe run --out",
         lambda m: {"scenario", "parameters", "seeds"} <= m.keys(),
         marker_dirs=(".checkpoints",)),
    Kind("comparison", ("effects.csv", "effects.png", "effects.svg", "runs.parquet", MANIFEST),
         "xianghe compare --out", lambda m: {"a", "b", "levers"} <= m.keys()),
    Kind("sweep", ("results", "plots", "damaged", MANIFEST, f"{MANIFEST}.damaged"),
         "xianghe sweep", lambda m: "design" in m),
    Kind("report", ("report.md", "report.html", "figures", "tables", "runs", MANIFEST),
         "xianghe report",
         lambda m: m.get("kind") in (None, "report") and ("measures" in m or "scenarios" in m),
         markers=(MANIFEST, "runs/manifest.json")),
    Kind("discovery", ("discovery.md", "figures", "tables", "runs", MANIFEST),
         "xianghe discover", markers=(MANIFEST, "runs/manifest.json")),
    Kind("optimization", ("optimization.md", "figures", "tables", "runs", MANIFEST),
         "xianghe optimize", markers=(MANIFEST, "runs/manifest.json")),
    Kind("fit report", ("report.md", "fit.csv", "predictions.csv", "contraction.csv",
                        "correlations.csv",
                        "runs.parquet", "posterior-predictive.png", "posterior-predictive.svg",
                        "prior-posterior.png", "prior-posterior.svg", MANIFEST),
         "xianghe calibrate --report", marker_files=("fit.csv",)),
    Kind("calibration", ("calibrated.toml", "posterior.parquet", "screening.csv", "report"),
         "xianghe calibrate",
         marker_files=("calibrated.toml", "posterior.parquet", "screening.csv", "targets.toml")),
    Kind("recovery", ("history.db", "calibrated.toml", "posterior.parquet", "recovery.csv"),
         "xianghe calibrate --recover"),
    Kind("coverage", ("settings.json", "reference", "datasets", "coverage.csv", "ranks.csv",
                      "tolerances.csv", "coverage.png", "coverage.svg"),
         "xianghe calibrate --coverage", markers=("settings.json",)),
    Kind("confirmation work", ("settings.json", "design.npy", "results"),
         "xianghe calibrate --confirm --work", markers=("settings.json",)),
    Kind("calibration work", ("settings.json",), "xianghe calibrate --work",
         lambda m: m.get("method") in ("abc-mcmc", "history-matching", "emulation"),
         markers=("settings.json",)),
)}


def accept(folder: Path, kind: str, option: str = "--out", *, store: str | None = None) -> str:
    """The one rule: ``folder`` may receive this ``kind`` of output only if it is new,
    empty, or holds the project's own output of that kind; otherwise one line, before
    anything is touched. With ``store`` (a subfolder such as ``results``), a folder whose
    manifest is damaged but that holds that store is accepted too (``--repair``).
    Returns "new", "empty" or "own"."""
    text = os.fspath(folder)
    if not text.strip():
        raise InputError(f"{option} {text!r}: an empty name; allowed: a folder path")
    folder = Path(folder)
    k = KINDS[kind]
    try:
        here, resolved = Path.cwd().resolve(), folder.resolve()
        if resolved == here or resolved in here.parents:
            raise InputError(f"{option} {text}: the current folder or one above it; allowed: "
                             "a new folder, or one this project wrote")
        check_folder(folder, option)
        if not folder.is_dir():
            return "new"
        entries = [e.name for e in os.scandir(folder)]
        if not entries:
            return "empty"
        if k.owns(folder):
            return "own"
        other = next((o for o in KINDS.values() if o.name != kind and o.owns(folder)), None)
        if other is None and store is not None and (folder / store).is_dir():
            return "own"
    except OSError as err:
        raise InputError(f"{option} {text[:80]}{'...' if len(text) > 80 else ''}: cannot be "
                         f"used ({err.strerror or err}); allowed: a folder path this user "
                         "may read and write") from None
    what = (f"holds the output of `{other.command}`" if other is not None else
            f"is not empty ({', '.join(sorted(entries)[:3])}{', ...' if len(entries) > 3 else ''})"
            f" and holds no output of `{k.command}`")
    raise InputError(f"{option} {text}: {what}; allowed: a new or empty folder, or one "
                     f"`{k.command}` wrote (nothing in it was touched)")


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


def prepare(folder: Path, kind: str, option: str = "--out", *, store: str | None = None,
            need_bytes: int = MIN_FREE_BYTES) -> str:
    """Before any work: the folder passes the one rule (:func:`accept`) and can be written,
    with room. Returns what :func:`accept` returned."""
    state = accept(folder, kind, option, store=store)
    check_writable(folder, need_bytes, option)
    return state


@contextlib.contextmanager
def output(folder: Path, kind: str, *, wait: bool = False, option: str = "--out",
           store: str | None = None, need_bytes: int = MIN_FREE_BYTES) -> Iterator[str]:
    """The one way a command writes a folder: :func:`prepare`d, then locked, accepted again
    under the lock (another command may have written it meanwhile), rid of the project's
    own leftovers; an OS error inside is one line. Yields what :func:`accept` returned."""
    prepare(folder, kind, option, store=store, need_bytes=need_bytes)
    with FolderLock(folder, wait=wait, option=option), writing(folder, option):
        state = accept(folder, kind, option, store=store)
        clean_leftovers(folder)
        yield state


def manifest_of(kind: str, **fields) -> dict:
    """A manifest that says which output it belongs to and what the project wrote."""
    return {"kind": kind, "files": list(KINDS[kind].files), **fields}


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
    """A new folder beside ``folder`` to build its replacement in, carrying the project's
    mark (so that only such folders are ever removed as leftovers)."""
    folder = Path(folder).absolute()
    folder.parent.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=f".{folder.name}.new-", dir=folder.parent))
    (new / STAGING_MARK).touch()
    return new


def _carry(src: Path, dst: Path) -> None:
    """Hard-link ``src`` (a file, a link or a folder, recursively) to ``dst``: the same
    files, nothing copied or moved. An entry that cannot be linked (another disk, a
    device) is an OSError, raised before the folder is replaced."""
    mode = os.lstat(src).st_mode
    if stat.S_ISLNK(mode):
        os.symlink(os.readlink(src), dst)
    elif stat.S_ISDIR(mode):
        os.mkdir(dst, stat.S_IMODE(mode))
        for entry in os.scandir(src):
            _carry(Path(entry.path), dst / entry.name)
    elif stat.S_ISREG(mode):
        os.link(src, dst)
    else:
        raise OSError(errno.EPERM, "not a file or folder the project can carry over", str(src))


def publish(new: Path, folder: Path, kind: str) -> None:
    """Put the complete folder ``new`` in the place of ``folder``, all at once, keeping
    every entry of ``folder`` the project did not write there (hard-linked into ``new``
    before the exchange, so it exists at every moment)."""
    folder = Path(folder).absolute()
    if not folder.exists():
        (new / STAGING_MARK).unlink()
        os.rename(new, folder)
        return
    written = {*KINDS[kind].written(folder), STAGING_MARK}
    for entry in os.scandir(folder):
        if entry.name not in written and not (new / entry.name).exists():
            try:
                _carry(Path(entry.path), new / entry.name)
            except OSError as err:
                raise InputError(f"--out {folder}: cannot keep {entry.path} beside the new "
                                 f"output ({err.strerror or err}); allowed: a folder whose "
                                 "other files are on the same disk (nothing was "
                                 "replaced)") from None
    # The old contents leave with the project's mark, so that a kill before they are
    # removed leaves a folder the next command knows to be its own.
    (folder / STAGING_MARK).touch()
    if _exchange(new, folder):
        (folder / STAGING_MARK).unlink()
        shutil.rmtree(new, ignore_errors=True)   # now the old contents (their links)
        return
    old = folder.parent / f".{folder.name}.old-{os.getpid()}"
    os.rename(folder, old)
    os.rename(new, folder)
    (folder / STAGING_MARK).unlink()
    shutil.rmtree(old, ignore_errors=True)


# The names tempfile.mkdtemp gives: eight characters of its alphabet after the prefix.
_MKDTEMP_TAIL = re.compile(r"[a-z0-9_]{8}")


def _ours(path: Path) -> bool:
    return (path / STAGING_MARK).is_file()


def _unmarked_staging(path: Path, prefix: str) -> bool:
    """A staging folder killed between its creation and its mark: empty, and named as
    only :func:`staging` names (``.NAME.new-`` and mkdtemp's eight characters). Removing
    it with ``os.rmdir`` cannot take anything with it: rmdir refuses a folder with
    contents."""
    tail = path.name.removeprefix(prefix)
    return (path.name.startswith(prefix) and _MKDTEMP_TAIL.fullmatch(tail) is not None
            and path.is_dir() and not path.is_symlink() and not any(path.iterdir()))


def clean_leftovers(folder: Path) -> None:
    """Remove what killed sessions left, under the project's own temporary names only:
    its marked staging folders beside ``folder`` (and one killed before it was marked:
    empty, with a name only :func:`staging` gives) and its temporary files at the places it
    writes them (:data:`TEMPORARY`); call it under the lock, after :func:`accept`.

    A replacement that was fully built but not moved in (``.NAME.old-*`` is there and the
    folder is not) is moved in first, so no finished result is lost.
    """
    folder = Path(folder).absolute()
    if not folder.parent.is_dir():
        return
    olds = sorted(p for p in folder.parent.glob(f".{folder.name}.old-*") if _ours(p))
    news = sorted(p for p in folder.parent.glob(f".{folder.name}.new-*") if _ours(p))
    if not folder.exists() and olds:
        # Killed between the two renames of the fallback: the new folder was complete.
        keep = news[-1] if news else olds[-1]
        os.rename(keep, folder)
        news, olds = [n for n in news if n != keep], [o for o in olds if o != keep]
    for leftover in [*olds, *news]:
        if leftover.exists():
            shutil.rmtree(leftover, ignore_errors=True)
    prefix = f".{folder.name}.new-"
    for empty in folder.parent.glob(f"{prefix}*"):
        if _unmarked_staging(empty, prefix):
            with contextlib.suppress(OSError):
                empty.rmdir()
    if folder.is_dir():
        for pattern in TEMPORARY:
            for tmp in folder.glob(pattern):
                tmp.unlink(missing_ok=True)
