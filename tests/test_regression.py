"""A refactor changes no result: fresh runs equal the stored baseline to the last digit.

After a deliberate change of results, regenerate the file with
``uv run python -m tests.regression`` and say in the commit why the numbers moved.
"""

from __future__ import annotations

import json

import pytest

from tests.regression import STORED, compute

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
    moved = [f"{run} {name}: {value!r} -> {fresh['runs'][run][name]!r}"
             for run, values in stored["runs"].items()
             for name, value in values.items()
             if fresh["runs"][run].get(name) != value]
    assert not moved, f"{len(moved)} value(s) moved, e.g. {moved[:5]}; {REGENERATE}"
