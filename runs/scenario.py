"""Scenario files: a name, a description, an optional parent to extend and a [params] table.

A scenario is given by the name of a file in ``runs/scenarios/`` (without ``.toml``) or by
a path to a TOML file. ``extends`` names another scenario whose parameters it starts from;
chains are followed and a scenario that extends itself, directly or not, is an error.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from model.params import ParamError, lookup, resolve

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
KEYS = {"name", "description", "extends", "params"}


class InputError(ValueError):
    """Bad input from the user; the message is one line naming what is wrong."""


@dataclass
class Scenario:
    name: str
    description: str
    params: dict = field(default_factory=dict)   # the values the file chain sets
    source: str = ""


def available() -> list[Path]:
    """The scenario files shipped in ``runs/scenarios/``."""
    return sorted(SCENARIO_DIR.glob("*.toml"))


def _path(ref: str) -> Path:
    candidate = Path(ref)
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
    for key in ("name", "description", "extends"):
        if key in data and not isinstance(data[key], str):
            raise InputError(f"scenario file {path}: {key} must be a string")
    if not isinstance(data.get("params", {}), dict):
        raise InputError(f"scenario file {path}: params must be a table")
    return data


def load(ref: str) -> Scenario:
    """Read a scenario and the chain it extends; check every parameter."""
    chain: list[tuple[Path, dict]] = []
    seen: set[Path] = set()
    path = _path(ref)
    while True:
        resolved = path.resolve()
        if resolved in seen:
            raise InputError(f"scenario {ref!r} extends itself through {path.stem!r}; "
                             "allowed: a chain of scenarios without loops")
        seen.add(resolved)
        data = _read(path)
        chain.append((path, data))
        if "extends" not in data:
            break
        path = _path(data["extends"])
    values: dict = {}
    for path, data in reversed(chain):
        for name, value in data.get("params", {}).items():
            try:
                values[name] = lookup(name).check(value)
            except ParamError as err:
                raise InputError(f"scenario file {path}: {err}") from None
    try:
        resolve(values)
    except ParamError as err:
        raise InputError(f"scenario {ref!r}: {err}") from None
    first = chain[0][1]
    return Scenario(first.get("name", chain[0][0].stem), first.get("description", ""),
                    values, str(chain[0][0]))
