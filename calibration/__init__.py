"""Calibration: the figures the model is fitted to, and (later) the fitting itself."""

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
    """The calibration targets (a copy of shared/calibration-targets.toml)."""
    data = tomllib.loads(path.read_text("utf-8"))
    return [Target(t["indicator"], int(t["period"]), float(t["value"]), float(t["low"]),
                   float(t["high"]), t["source"]) for t in data["target"]]
