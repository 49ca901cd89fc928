"""Scenario files: a name, a description, the scenarios it extends, a start year and a
[params] table.

A scenario is given by the name of a file in ``runs/scenarios/`` (without ``.toml``) or by
a path to a TOML file (in ``extends``, relative to the folder of the file that extends it). ``extends`` names one scenario, or a list of them applied in order
(a later one overrides an earlier one where both set a parameter), whose parameters it
starts from; its own ``[params]`` come last. ``start_year`` is the first year of every
lever the file itself sets, unless the file sets that lever's own start year. A scenario
that extends itself, directly or not, is an error; two parents sharing an ancestor (both
extending the baseline) is not.

In EMA Workbench's words: the declared parameters of role ``uncertainty`` are its
*uncertainties*, those of role ``lever`` its *levers*; a scenario file sets levers (a
*policy*) and may pin uncertainties (a *scenario*); the indicators are its *outcomes*.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from model.params import FIRST_YEAR, LAST_YEAR, PARAMS, ParamError, is_year, lookup, resolve

from .errors import InputError

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
# The measures the county report proposes, each a scenario file (docs/measures.md).
MEASURES = ("targeting", "permits", "land", "subsidies", "talent", "commuting",
            "coordination")
KEYS = {"name", "description", "extends", "start_year", "params"}


@dataclass
class Scenario:
    name: str
    description: str
    params: dict = field(default_factory=dict)   # the values the file and its parents set
    source: str = ""


def available() -> list[Path]:
    """The scenario files shipped in ``runs/scenarios/``."""
    return sorted(SCENARIO_DIR.glob("*.toml"))


def _path(ref: str, base: Path | None = None) -> Path:
    """The file a scenario reference names: a path (relative to ``base``, the folder of
    the file that extends it, if given) or a name in ``runs/scenarios/``."""
    candidate = Path(ref)
    if base is not None and not candidate.is_absolute():
        candidate = base / candidate
    if candidate.suffix == ".toml" or candidate.exists():
        if not candidate.is_file():
            raise InputError(f"scenario file {ref!r} does not exist")
        return candidate
    named = SCENARIO_DIR / f"{ref}.toml"
    if not named.is_file():
        names = ", ".join(p.stem for p in available())
        raise InputError(f"unknown scenario {ref!r}; allowed: {names} or a path to a .toml file")
    return named


def _read(path: Path) -> dict:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise InputError(
            f"scenario file {path}: malformed TOML: {err}".replace("\n", " ")) from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(
            f"scenario file {path}: cannot be read: {err}".replace("\n", " ")) from None
    unknown = set(data) - KEYS
    if unknown:
        raise InputError(f"scenario file {path}: unknown key {sorted(unknown)[0]!r}; "
                         f"allowed: {', '.join(sorted(KEYS))}")
    for key in ("name", "description"):
        if key in data and not isinstance(data[key], str):
            raise InputError(f"scenario file {path}: {key} must be a string")
    extends = data.get("extends", [])
    if isinstance(extends, str):
        extends = [extends]
    if not isinstance(extends, list) or not all(isinstance(e, str) for e in extends):
        raise InputError(f"scenario file {path}: extends must be a scenario name or a list "
                         "of them")
    data["extends"] = extends
    if not isinstance(data.get("params", {}), dict):
        raise InputError(f"scenario file {path}: params must be a table")
    return data


def _own_values(where: str, data: dict) -> dict:
    """The values the scenario itself sets, each checked, with its start year applied
    (``where`` names it in errors)."""
    values = {}
    for name, value in data.get("params", {}).items():
        try:
            values[name] = lookup(name).check(value)
        except ParamError as err:
            raise InputError(f"{where}: {err}") from None
    if "start_year" in data:
        start = data["start_year"]
        if not is_year(start):
            raise InputError(f"{where}: start_year {start!r}; allowed: a year "
                             f"in [{FIRST_YEAR}, {LAST_YEAR}]")
        for name in list(values):
            companion = PARAMS[name].start_year
            if companion is not None and companion not in values:
                values[companion] = start
    return values


def _values(path: Path, ref: str, stack: tuple[Path, ...]) -> tuple[dict, dict]:
    """The file's data and the values of its chain, parents first."""
    resolved = path.resolve()
    if resolved in stack:
        raise InputError(f"scenario {ref!r} extends itself through {path.stem!r}; "
                         "allowed: scenarios that extend others without loops")
    data = _read(path)
    values: dict = {}
    for parent in data["extends"]:
        values.update(_values(_path(parent, path.parent), ref, (*stack, resolved))[1])
    values.update(_own_values(f"scenario file {path}", data))
    return data, values


def load(ref: str) -> Scenario:
    """Read a scenario and those it extends; check every parameter."""
    path = _path(ref)
    data, values = _values(path, ref, ())
    try:
        resolve(values)
    except ParamError as err:
        raise InputError(f"scenario {ref!r}: {err}") from None
    return Scenario(data.get("name", path.stem), data.get("description", ""), values,
                    str(path))


def define(name: str, params: dict, *, extends: str | list[str] = "baseline",
           start_year: int | None = None, description: str = "") -> Scenario:
    """A scenario defined in code by the rules of a file: it starts from the scenarios it
    ``extends`` (in order), and ``start_year`` is the first year of every lever ``params``
    sets without its own start year. Every value is checked."""
    parents = [extends] if isinstance(extends, str) else list(extends)
    values: dict = {}
    for parent in parents:
        values.update(load(parent).params)
    data = {"params": dict(params)}
    if start_year is not None:
        data["start_year"] = start_year
    values.update(_own_values(f"scenario {name!r}", data))
    try:
        resolve(values)
    except ParamError as err:
        raise InputError(f"scenario {name!r}: {err}") from None
    return Scenario(name, description, values, "defined in code")
