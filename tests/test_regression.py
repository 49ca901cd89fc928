"""A refactor changes no result: fresh runs equal the stored baseline, counts to the last
digit and continuous indicators within the stated cross-CPU tolerance (the same check holds
on any machine; on the machine that wrote the file every value repeats exactly).

After a deliberate change of results, regenerate the file with
``uv run python -m tests.regression`` and say in the commit why the numbers moved.
"""

from __future__ import annotations

import json

import pytest

import copy

from model.indicators import COUNTS, CROSS_CPU_RTOL, NAMES

from tests.regression import STORED, compute, moved

REGENERATE = "regenerate with `uv run python -m tests.regression` if the change is deliberate"


@pytest.fixture(scope="module")
def stored():
    return json.loads(STORED.read_text())


@pytest.fixture(scope="module")
def fresh():
    return json.loads(json.dumps(compute()))


def test_declared_defaults_are_the_stored_ones(stored, fresh):
    """A default that changed or went fails; a newly declared number (a constant moved out
    of the code) is welcome, as long as the runs below still match."""
    changed = {name: (value, fresh["defaults"][name])
               for name, value in stored["defaults"].items()
               if name in fresh["defaults"] and fresh["defaults"][name] != value}
    gone = set(stored["defaults"]) - set(fresh["defaults"])
    assert not changed and not gone, f"defaults changed {changed}, removed {gone}; {REGENERATE}"


def test_every_indicator_equals_the_stored_baseline(stored, fresh):
    assert stored["runs"].keys() == fresh["runs"].keys()
    changed = moved(stored["runs"], fresh["runs"])
    assert not changed, f"{len(changed)} value(s) moved, e.g. {changed[:5]}; {REGENERATE}"


def _perturbed(runs: dict, name: str, change) -> dict:
    """A copy of ``runs`` with the first non-zero value of ``name`` changed."""
    out = copy.deepcopy(runs)
    run = next(r for r, values in out.items() if values.get(name))
    out[run][name] = change(out[run][name])
    return out


def test_the_comparison_tolerates_another_cpu_and_nothing_more(stored):
    """The check itself can fail: a continuous value moved by a hundred times the last
    bits another CPU moves it (1e-12 relative) passes, one moved by ten times the tolerance
    fails; a count moved by one unit fails."""
    runs = stored["runs"]
    assert not moved(runs, runs)
    continuous = [n for n in NAMES if n not in COUNTS]
    assert "worker_surplus_yuan" in continuous and "firms_operating" in COUNTS
    for name in ("worker_surplus_yuan", "firm_surplus_yuan", "relocated_revenue_yuan"):
        assert not moved(runs, _perturbed(runs, name, lambda v: v * (1 + 1e-12)))
        assert len(moved(runs, _perturbed(runs, name, lambda v: v * (1 + 10 * CROSS_CPU_RTOL)))) == 1
    for name in ("firms_operating", "market_merchants"):
        assert len(moved(runs, _perturbed(runs, name, lambda v: v + 1.0))) == 1
        assert len(moved(runs, _perturbed(runs, name, lambda v: v * (1 + 1e-15)))) == 1
    assert len(moved(runs, _perturbed(runs, "firms_operating", lambda v: None))) == 1
