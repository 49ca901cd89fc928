"""The one error the project raises for bad input from a user, and checks that raise it
before any work is done. Nothing here imports more than the standard library."""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """Bad input from the user; the message is one line naming what is wrong and what is
    allowed. The command line prints it and exits with status 2."""


# The most of each count a command takes, and why: beyond it the work cannot fit this
# machine's memory or is not an experiment anyone would wait for (docs/commands.md,
# "Bounds"). A refusal names the ceiling and the reason, before anything is loaded.
HELD_IN_MEMORY = "every quarter of every run is held in memory, about 0.3 MB a run to 2030"
BOUNDS_RUNS = "a bound on the runs an experiment holds in memory"
CEILINGS: dict[str, tuple[int, str]] = {
    "--replicates": (2_000, BOUNDS_RUNS),
    "--draws": (2_000, BOUNDS_RUNS),
    "--seeds": (1_000, BOUNDS_RUNS),
    "--workers": (256, "local processes, each holding the model"),
    "--batch": (100_000, "runs held in memory before they are written"),
    "--budget": (1_000_000, "model runs: weeks of computing"),
    "--population": (10_000, "particles held in memory a generation"),
    "--generations": (1_000, "every generation's settings are kept in the search's log"),
    "--waves": (50, "every wave's emulators are kept to judge every later point"),
    "--wave-size": (5_000, "a Gaussian process costs the cube of a wave's points"),
    "--chains": (10_000, "every chain's states are held in memory"),
    "samples": (10_000, "design points are held in memory with their parameters"),
    "seeds": (1_000, BOUNDS_RUNS),
}
# The most runs one experiment may ask for, by what it keeps of them in memory.
MAX_RUNS = {"run": (2_000, HELD_IN_MEMORY),
            "compare": (100_000, "each run a row in memory"),
            "report": (20_000, "the report analyses every year of every run in memory"),
            "discover": (20_000, "a discovery, as a report, analyses every run in memory"),
            "optimize": (50_000, "a search holds every candidate's runs in memory"),
            "sweep": (100_000, "the design's tasks are built in memory"),
            "design points": (10_000, "design points are held in memory with their parameters")}


def check_count(option: str, value, least: int, why: str = "") -> int:
    """``value`` as a count: an integer (not a bool, not NaN) from ``least`` (``why``:
    the reason for it, in words) to the option's ceiling in :data:`CEILINGS`; else one
    line naming both bounds and their reasons."""
    most, reason = CEILINGS.get(option, (None, ""))
    if (isinstance(value, bool) or not isinstance(value, int) or value < least
            or (most is not None and value > most)):
        bound = (f"an integer in [{least}, {most:,}]" if most is not None
                 else f"an integer of {least} or more")
        notes = "; ".join(n for n in (why, reason if most is not None else "") if n)
        raise InputError(f"{option} {value}: allowed: {bound}" + (f" ({notes})" if notes else ""))
    return value


def check_runs(what: str, runs: int, how: str) -> None:
    """Refuse an experiment of more runs than :data:`MAX_RUNS` allows ``what``; ``how``
    says how the count came about (``--replicates x --draws``)."""
    most, reason = MAX_RUNS[what]
    if runs > most:
        raise InputError(f"{how}: {runs:,} runs; allowed: at most {most:,} ({reason})")


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
