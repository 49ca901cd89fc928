"""The report's section on robustness (``xianghe report --robustness DIR``): what a scenario
discovery (:mod:`runs.discover`) and a robust policy search (:mod:`runs.optimize`) found,
read from their folders, so that the policy report says in one place under which conditions
the measures fail and which packages of levers hold up, at what cost.

Nothing is recomputed: the findings are the folders' own summaries, and the tables behind
them are copied into the report's ``tables/`` (``robustness_1_box``, ``robustness_2_pareto``,
...), so every number the section states is a cell of a table in the report's folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InputError
from .folders import _manifest

if TYPE_CHECKING:   # pandas loads with the findings, not to check the folders
    import pandas as pd

KINDS = {"discovery": ("cases", "box", "trajectory", "cart"),
         "optimization": ("pareto", "space", "evaluations")}
COMMANDS = {"discovery": "xianghe discover", "optimization": "xianghe optimize"}


@dataclass
class Finding:
    """One folder's findings: its kind, summary, manifest and tables."""

    folder: Path
    kind: str
    summary: str
    manifest: dict
    tables: dict[str, pd.DataFrame]


def check(folder: Path, option: str = "--robustness") -> dict:
    """The manifest of a folder holding a discovery or a search, or one line saying why
    it is not one (before the report runs anything)."""
    m = _manifest(folder)
    allowed = ("allowed: the --out folder of `xianghe discover` or `xianghe optimize`, "
               "written by this version")
    if m is None or m.get("kind") not in KINDS or "summary" not in m:
        raise InputError(f"{option} {folder}: holds no discovery or search; {allowed}")
    for name in KINDS[m["kind"]]:
        if not (Path(folder) / "tables" / f"{name}.parquet").is_file():
            raise InputError(f"{option} {folder}: tables/{name}.parquet is missing; "
                             f"{allowed}")
    return m


def read(folders: list[Path]) -> list[Finding]:
    import pandas as pd

    out = []
    for folder in folders:
        m = check(folder)
        tables = {name: pd.read_parquet(Path(folder) / "tables" / f"{name}.parquet")
                  for name in KINDS[m["kind"]]}
        out.append(Finding(Path(folder), m["kind"], m["summary"], m, tables))
    return out


FIGURES = {"discovery": (("prim-box", "Where it fails: the kept box's limits"),),
           "optimization": (("pareto-front", "The Pareto front: cost against gain, "
                                             "coloured by robustness"),)}


def figures(findings: list[Finding]) -> dict[str, Path]:
    """The figures to copy into the report's ``figures/``, each under a numbered name."""
    return {f"robustness_{i}_{stem}.{ext}": f.folder / "figures" / f"{stem}.{ext}"
            for i, f in enumerate(findings, 1) for stem, _caption in FIGURES[f.kind]
            for ext in ("png", "svg") if (f.folder / "figures" / f"{stem}.{ext}").is_file()}


def tables(findings: list[Finding]) -> dict[str, pd.DataFrame]:
    """The tables to copy into the report's folder, each under a numbered name."""
    return {f"robustness_{i}_{name}": df for i, f in enumerate(findings, 1)
            for name, df in f.tables.items()}


def _box_view(box: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    if box.empty:
        return pd.DataFrame({"parameter": ["(no box claimed)"]})
    return pd.DataFrame({"parameter": box["parameter"],
                         "fails where it lies in": [f"{lo:.4g} to {hi:.4g}" for lo, hi
                                                    in zip(box["low"], box["high"],
                                                           strict=True)],
                         "of its range over the draws": [
                             f"{lo:.4g} to {hi:.4g}" for lo, hi
                             in zip(box["range_low"], box["range_high"], strict=True)],
                         "quasi-p": box["qp_value"]})


def _pareto_view(pareto: pd.DataFrame, space: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    from .optimize import Lever, package_words

    levers = [Lever(r.lever, None if r.kind == "switch" else r.low,
                    None if r.kind == "switch" else r.high, r.measure)
              for r in space.itertuples()]
    return pd.DataFrame({
        "member": pareto["member"],
        "levers set": [package_words(r, levers) for _i, r in pareto.iterrows()],
        "cost, m yuan": pareto["fresh_cost_yuan"] / 1e6,
        "extra projects": pareto["fresh_gain"],
        "meets the aim (fresh states)": pareto["fresh_robustness"],
        "in the search's states": pareto["robustness"],
        "within noise": pareto["holds"].map({True: "yes", False: "no"})})


def blocks(findings: list[Finding], number: int) -> list[tuple]:
    """The report's section: each folder's summary, and its key table."""
    if not findings:
        return []
    out: list[tuple] = [
        ("h2", f"{number}. Where the measures fail, and which packages hold up"),
        ("p", "The report's intervals say how much a measure does on average and how "
              "uncertain that is. The county has to choose before it knows which of the "
              "model's uncertain parameters are true, so two further questions are asked of "
              "the model (Lempert, Popper & Bankes 2003; Kasprzyk et al. 2013): under which "
              "conditions does a measure fail its aim (scenario discovery: PRIM's box over "
              "the parameter draws), and which settings of the levers meet it in most "
              "states of the world at least cost (a many-objective search, its Pareto set "
              "checked on fresh states)? Each paragraph below is the summary its command "
              "wrote; the tables behind it are in `tables/robustness_*`.")]
    for i, f in enumerate(findings, 1):
        if f.kind == "discovery":
            what = ", ".join(f.manifest.get("measures", []))
            out += [("p", f"**Where it fails ({what}; {f.manifest.get('space')} draws).** "
                          f"{f.summary}"),
                    ("table", _box_view(f.tables["box"]))]
        else:
            out += [("p", f"**Robust packages ({f.manifest.get('space')} draws).** "
                          f"{f.summary}"),
                    ("table", _pareto_view(f.tables["pareto"], f.tables["space"]))]
        for stem, caption in FIGURES[f.kind]:
            if (f.folder / "figures" / f"{stem}.png").is_file():
                out.append(("img", f"figures/robustness_{i}_{stem}.png", caption))
        command = COMMANDS[f.kind]
        out.append(("p", f"Its tables: `tables/robustness_{i}_*`, from `{command}` "
                         f"(folder `{f.folder.name}`)."))
    return out
