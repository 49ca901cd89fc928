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
    indicator: str
    year: int
    value: float
    low: float
    high: float
    source: str


def load_targets(path: Path = TARGETS_FILE) -> list[Target]:
    """The calibration targets, each with its period, band and source."""
    data = tomllib.loads(path.read_text("utf-8"))
    return [Target(t["indicator"], int(t["period"]), float(t["value"]), float(t["low"]),
                   float(t["high"]), t["source"]) for t in data["target"]]
