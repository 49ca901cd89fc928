"""The stored regression baseline: exact indicators of a few runs, to tell a refactor that
changed nothing from a change of results.

Regenerate it, after a deliberate change of results, with::

    uv run python -m tests.regression

and say in the commit why the numbers moved. ``tests/test_regression.py`` compares a fresh
run with the stored file as the project promises reproducibility across machines (counts to
the last digit, continuous indicators within ``model.indicators.CROSS_CPU_RTOL``), and the
declared defaults with those stored.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

STORED = Path(__file__).resolve().parent / "data" / "regression-baseline.json"
# The baseline and a scenario with every lever on, at the default scale.
CASES = ("baseline", "report-package")
SEEDS = (1, 2)
YEARS = (2020, 2030)


def compute() -> dict:
    """Every indicator of every case, seed and year, and every declared default."""
    from model import NAMES, XiangheModel
    from model.params import defaults
    from runs.scenario import load

    runs = {}
    for case in CASES:
        params = load(case).params
        for seed in SEEDS:
            model = XiangheModel(params, seed=seed)
            model.run_until_year(max(YEARS))
            annual = model.annual().set_index("year")
            for year in YEARS:
                runs[f"{case}/seed-{seed}/{year}"] = {
                    name: _plain(annual.loc[year, name]) for name in NAMES}
    return {"defaults": defaults(), "runs": runs}


def moved(stored: dict, fresh: dict) -> list[str]:
    """The values of ``fresh`` runs that differ from ``stored`` beyond what another CPU
    explains (:func:`model.indicators.same_across_cpus`), a line each."""
    from model.indicators import same_across_cpus

    return [f"{run} {name}: {value!r} -> {fresh[run].get(name)!r}"
            for run, values in stored.items()
            for name, value in values.items()
            if not same_across_cpus(name, value, fresh[run].get(name))]


def _plain(value):
    value = float(value)
    return None if value != value else value


def main() -> int:
    STORED.parent.mkdir(parents=True, exist_ok=True)
    STORED.write_text(json.dumps(compute(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {STORED}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
