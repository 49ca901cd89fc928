"""The one error the project raises for bad input from a user, and checks that raise it
before any work is done. Nothing here imports more than the standard library."""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """Bad input from the user; the message is one line naming what is wrong and what is
    allowed. The command line prints it and exits with status 2."""


class Note(UserWarning):
    """Something the user should know about a result that is not an error; the command
    line prints it as one line on stderr (``xianghe: note: ...``)."""


class LeverNotInForce(Note):
    """A lever the experiment sets starts after the last year it runs: its results do not
    include it."""


class FewDraws(Note):
    """Too few posterior draws for statements about the parameters' uncertainty; the
    report says so where it would otherwise make one."""


def check_folder(path: Path, option: str = "--out") -> None:
    """Refuse a folder that cannot be made: one that is a file or lies under a file."""
    path = Path(path)
    for parent in (path, *path.parents):
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{option} {path}: {parent} is a file, not a folder")
            return


def check_posterior(path: Path) -> None:
    """Refuse ``--draws`` when there is no posterior sample to draw from."""
    if not Path(path).exists():
        raise InputError(f"--draws: no posterior at {path}; allowed: a posterior.parquet "
                         "written by `xianghe calibrate` (--posterior FILE)")
