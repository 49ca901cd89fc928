"""Calibration: the figures the model is fitted to (``targets.toml``, read here with the
standard library alone) and the fitting itself: screening which parameters the figures
reach, the ABC-SMC posterior, the refined point, parameter recovery and the draws
experiments take (:mod:`calibration.estimation`), and the fit report
(:mod:`calibration.fit_report`). It runs the model through the experiments' engine
(:mod:`runs.engine`); :mod:`runs` knows nothing of how the posterior was made."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

TARGETS_FILE = Path(__file__).resolve().parent / "targets.toml"


@dataclass(frozen=True)
class Target:
    """A published figure: an indicator over a period (one year, or several whose flows
    are summed), its value, the band its mean over seeds must fall in, and its source."""

    indicator: str
    years: tuple[int, ...]
    value: float
    low: float
    high: float
    source: str

    @property
    def year(self) -> int:
        """The period's last year: the runs go to it."""
        return self.years[-1]

    @property
    def period(self) -> str:
        return (str(self.years[0]) if len(self.years) == 1
                else f"{self.years[0]}-{self.years[-1]}")

    @property
    def key(self) -> str:
        """A name for the figure: indicator and period."""
        return f"{self.indicator}_{self.period}"

    def measure(self, annual) -> float:
        """The figure from one run's (or a mean run's) yearly indicators, indexed by year:
        the year's value, or the sum over the period's years."""
        return float(sum(annual.loc[y, self.indicator] for y in self.years))

    def by_run(self, rows, keys: list[str]):
        """The figure of each run of ``rows`` (a frame with ``year``, the indicator and the
        ``keys`` that name a run): the year's value or the period's sum; missing (NaN)
        where a year of the period has no value."""
        at = rows[rows["year"].isin(self.years)]
        return at.groupby(keys)[self.indicator].sum(min_count=len(self.years))


def _years(period) -> tuple[int, ...]:
    """``2020`` or ``"2019-2020"`` as the years it spans."""
    first, _, last = str(period).partition("-")
    return tuple(range(int(first), int(last or first) + 1))


def load_targets(path: Path = TARGETS_FILE) -> list[Target]:
    """The calibration targets (the published figures the model is fitted to)."""
    data = tomllib.loads(path.read_text("utf-8"))
    return [Target(t["indicator"], _years(t["period"]), float(t["value"]), float(t["low"]),
                   float(t["high"]), t["source"]) for t in data["target"]]
