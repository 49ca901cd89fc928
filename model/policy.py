"""Policy measures: which value each lever takes in a given year.

A lever keeps its "as it was" default until its ``<lever>_start_year`` and takes the value
set from the first quarter of that year. The mechanism each lever acts through lives in
the submodel it changes (enterprise choice, land, talent, commuting, public services);
this module only answers "what is in force now".
"""

from __future__ import annotations

from .params import LEVERS, PARAMS


def in_force(params: dict, year: int) -> dict:
    """The parameters with every lever at the value in force in ``year``."""
    now = dict(params)
    for lever in LEVERS:
        if year < params[f"{lever}_start_year"]:
            now[lever] = PARAMS[lever].default
    return now
