"""What ``xianghe report`` may be asked, checked with the standard library alone, so that
bad input is answered at once (the report itself loads the simulation stack)."""

from __future__ import annotations

from model.params import FIRST_YEAR, LAST_YEAR, is_year

from . import scenario as scenarios
from .errors import InputError

FROM, UNTIL = 2022, 2030
FORMATS = ("md", "html")
# What the ranking may rank by (runs.report.METRICS defines each).
CRITERIA = ("firms_per_100m_yuan", "jobs_per_100m_yuan", "net_fiscal_yuan",
            "welfare_per_yuan")
BASELINE, PACKAGE = "baseline", "package"


def check_years(start: int, until: int) -> None:
    if not is_year(until, FIRST_YEAR + 1):
        raise InputError(f"--until {until}: allowed: a year in [{FIRST_YEAR + 1}, {LAST_YEAR}]")
    if not is_year(start, FIRST_YEAR + 1) or start > until:
        raise InputError(f"--from {start}: allowed: a year in [{FIRST_YEAR + 1}, {until}] "
                         "(--until)")


def check_measures(measures: list | None) -> list:
    """The measures to report (names or :class:`runs.scenario.Scenario` objects), the seven
    of the county report by default; refuse the baseline, the package's name, an unknown
    name, none at all, and a name given twice."""
    chosen = list(scenarios.MEASURES) if measures is None else list(measures)
    if not chosen:
        raise InputError("--measures: none given; allowed: a comma-separated list of "
                         + ", ".join(scenarios.MEASURES))
    names = []
    for ref in chosen:
        if isinstance(ref, scenarios.Scenario):
            names.append(ref.name)
            continue
        if ref in (BASELINE, PACKAGE) or not (scenarios.SCENARIO_DIR / f"{ref}.toml").is_file():
            raise InputError(f"--measures {ref!r}: not a measure; allowed: "
                             + ", ".join(scenarios.MEASURES) + " (or another scenario of "
                             "runs/scenarios except the baseline)")
        names.append(ref)
    if len(set(names)) != len(names):
        raise InputError(f"--measures: {', '.join(names)} names a measure twice; allowed: "
                         "each measure once")
    return chosen


def check(measures: list | None, criterion: str, form: str, start: int, until: int) -> list:
    """Every option of a report that needs no simulation; the measures, checked."""
    check_years(start, until)
    if criterion not in CRITERIA:
        raise InputError(f"--criterion {criterion!r}: allowed: {', '.join(CRITERIA)}")
    if form not in FORMATS:
        raise InputError(f"--format {form!r}: allowed: {', '.join(FORMATS)}")
    return check_measures(measures)
