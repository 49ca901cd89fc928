"""The interactive page: Mesa's SolaraViz with every lever, a map of the region and live charts.

Serve it with ``xianghe viz`` (or ``solara run runs.app``). Controls are derived from the
parameter declarations (``model.params``): every lever with its start year, grouped as the
report groups the measures, plus the scenario to start from, the seed and the scale.
Changing a control takes effect on Reset; a combination the model cannot take is named on
the page and the model keeps the last valid one. Charts are matplotlib, so the page needs
no JavaScript from a CDN (Solara's own assets come from the ``solara-assets`` package).
"""

from __future__ import annotations

import io
import itertools
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import PIL.Image  # noqa: E402
import solara  # noqa: E402
import solara.lab  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from mesa.visualization import SolaraViz  # noqa: E402
from mesa.visualization.utils import update_counter  # noqa: E402

from calibration import load_targets  # noqa: E402
from model import XiangheModel  # noqa: E402
from model.enterprises import PIPELINE, State  # noqa: E402
from model.indicators import INDICATORS, KEY_CHARTS  # noqa: E402
from model.params import (FULL_SCALE_TALENT, LEVERS, PARAMS, Integer, ParamError,  # noqa: E402
                          Switch, levers_by_year, levers_set, resolve)

from .cli import PAGE_TITLE  # noqa: E402
from .scenario import available, load  # noqa: E402

# The report's grouping of the measures, in the order the page shows them.
GROUPS = (("targeting", "Targeting and attraction modes"), ("permits", "Permit devolution"),
          ("land", "Land"), ("subsidies", "Policy innovation: subsidies and funds"),
          ("talent", "Talent and public services"), ("commuting", "Commuting"),
          ("neighbours", "Regional coordination; the neighbours"))
START_YEARS = (2014, 2040)
PAGE_TALENT_AGENTS = FULL_SCALE_TALENT
TARGET_YEAR = 2020
# Read once: the charts are rebuilt every step.
TARGETS = {t.indicator: t for t in load_targets() if t.years == (TARGET_YEAR,)}


def _label(name: str) -> str:
    """A control's label: the name in words, with its unit unless the name says it."""
    p = PARAMS[name]
    words = name.removesuffix("_yuan").replace("_", " ")
    said = isinstance(p, Switch) or (p.unit.split("/")[0].split()[0].rstrip("s") in words
                                and "yuan" not in p.unit)
    return words.capitalize() + ("" if said else f" ({p.unit})")


class Controls:
    """What the controls of one browser session say; the model is built from it on Reset."""

    def __init__(self, scenario: str = "baseline"):
        self.scenario = solara.reactive(scenario)
        self.seed = solara.reactive(1)
        self.talent_agents = solara.reactive(PAGE_TALENT_AGENTS)
        self.values = solara.reactive({})
        self.base: dict = {}
        self.error = solara.reactive(None)
        self.last_valid: dict = {}
        self.last_valid_seed = 1
        self.load_scenario(scenario)

    def load_scenario(self, name: str) -> None:
        """Start from a scenario: the lever controls take its values."""
        sc = load(name)
        self.scenario.set(name)
        self.base = {k: v for k, v in sc.params.items() if k not in self.lever_names()}
        levers = {k: PARAMS[k].default for k in self.lever_names()}
        levers.update({k: v for k, v in sc.params.items() if k in levers})
        self.values.set(levers)
        self.check()

    def load_package(self, label: str, packages: dict[str, dict]) -> None:
        """Set the levers as a package of a search's Pareto set sets them (``packages``:
        :func:`pareto_packages`), every other lever as it was."""
        levers = {k: PARAMS[k].default for k in self.lever_names()}
        for name, lever in packages[label].items():
            levers[name] = lever["value"]
            levers[PARAMS[name].start_year] = lever["from"]
        self.scenario.set("baseline")
        self.base = {}
        self.values.set(levers)
        self.check()

    @staticmethod
    def lever_names() -> list[str]:
        return [n for lever in LEVERS for n in (lever, PARAMS[lever].start_year)]

    def set(self, name: str, value) -> None:
        self.values.set({**self.values.value, name: value})
        self.check()

    def requested(self) -> dict:
        return {**self.base, **self.values.value, "talent_agents": self.talent_agents.value}

    def check(self) -> dict:
        """The parameters to build the model from: the requested ones if valid."""
        try:
            if self.seed.value is None or self.seed.value < 0:
                raise ParamError(f"seed {self.seed.value}: allowed: an integer of 0 or more")
            resolve(self.requested())
        except ParamError as err:
            self.error.set(f"{err}. The model keeps the last valid values.")
            return self.last_valid
        self.error.set(None)
        self.last_valid = self.requested()
        self.last_valid_seed = int(self.seed.value)
        return self.last_valid


_MODELS = itertools.count()


class XiangheApp(XiangheModel):
    """The model as the page builds it: from a session's controls. With ``compare``, the
    baseline runs beside it on the same seed (same scale, no lever changed), a quarter at
    a time, for the comparison view."""

    def __init__(self, controls: Controls | None = None, compare: bool = True):
        controls = controls or Controls()
        params = controls.check()
        super().__init__(params, seed=controls.last_valid_seed)
        self.label = controls.scenario.value
        self.controls = controls
        # Names this model among those the page made: a new model after Reset may take
        # the old one's id() and step count, and its views must still redraw.
        self.token = next(_MODELS)
        self.reference = (XiangheModel(baseline_of(params), seed=controls.last_valid_seed)
                          if compare else None)

    def step(self) -> None:
        super().step()
        if self.reference is not None:
            self.reference.step()

    @property
    def quarter_label(self) -> str:
        q = self.steps - 1
        return "2014Q1 (start)" if q < 0 else f"{2014 + q // 4}Q{q % 4 + 1}"


@solara.component
def LeverControl(controls: Controls, name: str):
    p = PARAMS[name]
    value = controls.values.value[name]
    start = p.start_year
    with solara.Column(gap="0px"):
        if isinstance(p, Switch):
            solara.Switch(label=_label(name), value=bool(value),
                          on_value=lambda v: controls.set(name, bool(v)))
        elif isinstance(p, Integer):
            high = int(min(p.high, max(4 * p.default, p.low + 100)))
            solara.SliderInt(f"{_label(name)}: {value:g}", value=int(value), min=int(p.low),
                             max=high, on_value=lambda v: controls.set(name, int(v)))
        else:
            high = p.high if p.high <= 1.0 else max(4 * p.default, p.high / 10)
            solara.SliderFloat(f"{_label(name)}: {value:g}", value=float(value),
                               min=float(p.low), max=float(high), step=(high - p.low) / 100,
                               on_value=lambda v: controls.set(name, float(v)))
        year = int(controls.values.value[start])
        solara.SliderInt(f"from {year}", value=year, min=START_YEARS[0], max=START_YEARS[1],
                         on_value=lambda v: controls.set(start, int(v)))


def pareto_packages(folder: str | os.PathLike | None) -> dict[str, dict]:
    """The packages of a search's Pareto set (the folder of ``xianghe optimize``), each
    under a label that says its member, cost and robustness on fresh states: its levers
    as :func:`model.params.levers_set` gives them. None without a folder."""
    if not folder:
        return {}
    import json

    import pandas as pd

    pareto = pd.read_parquet(Path(folder) / "tables" / "pareto.parquet")
    return {(f"member {r.member}: {r.fresh_cost_yuan / 1e6:,.0f} m yuan, "
             f"{r.fresh_gain:.0f} projects, meets the aim in {r.fresh_robustness:.0%}"):
            json.loads(r.candidate) for r in pareto.itertuples()}


# ``xianghe viz --pareto DIR`` names a search's folder whose packages the page offers.
PARETO_ENV = "XIANGHE_PARETO"


@solara.component
def MeasuresPanel(controls: Controls):
    """Scenario, seed, scale and every lever, grouped as the report groups the measures."""
    packages = solara.use_memo(lambda: pareto_packages(os.environ.get(PARETO_ENV)), [])
    with solara.Card("Scenario and measures", style={"max-width": "100%"}):
        solara.Select("Start from scenario", value=controls.scenario.value,
                      values=[p.stem for p in available()], on_value=controls.load_scenario)
        if packages:
            solara.Select("Or load a package of the Pareto set", value=None,
                          values=list(packages),
                          on_value=lambda label: controls.load_package(label, packages))
        solara.InputInt("Seed", value=controls.seed.value,
                        on_value=lambda v: (controls.seed.set(v), controls.check()))
        solara.SliderInt(f"Talent agents: {controls.talent_agents.value:,}",
                         value=controls.talent_agents.value, min=5_000,
                         max=200_000, step=5_000, on_value=lambda v: (
                             controls.talent_agents.set(v), controls.check()))
        # Plain text, not Markdown: Markdown pulls in KaTeX, which no offline asset carries.
        solara.Text("Changes take effect when you press Reset.")
        # A fixed slot, so that the message coming and going does not remount (and fold)
        # the groups below it.
        with solara.Column(gap="0px"):
            if controls.error.value:
                solara.Error(controls.error.value)
        for group, title in GROUPS:
            with solara.Details(summary=title):
                for lever in LEVERS:
                    if PARAMS[lever].group == group:
                        LeverControl(controls, lever)


def _positions(rank: np.ndarray, radius: float) -> np.ndarray:
    """A place inside a disc for each firm, from its own fixed uniform draw (its rank
    against the catalogue), so a firm keeps its place from step to step however many
    new projects arrive or are forgotten around it."""
    r = radius * np.sqrt((rank * 7919.0) % 1.0)
    a = 2 * np.pi * rank
    return np.column_stack([r * np.cos(a), r * np.sin(a)])


STATE_STYLE = {State.SIGNED: ("signed", "o", False), State.PERMITS: ("permits", "s", False),
               State.BUILDING: ("building", "s", True), State.PRODUCING: ("producing", "o", True),
               State.LEFT_AGAIN: ("left again", "X", True)}
MAP_RADII = {"beijing": 14.0, "tongzhou": 8.0, "xianghe": 11.0, "sanhe": 2.5, "dachang": 2.0}
MAP_COLOURS = {"beijing": "#d9e4f0", "tongzhou": "#dbeedb", "xianghe": "#f6e3c8",
               "sanhe": "#f3d9c0", "dachang": "#f3d9c0"}
# The neighbours whose projects the map counts beside their disc.
MAP_COUNTED = ("tongzhou", "sanhe", "dachang")
BORDER_X = 33.0
CAR, BUS = "#c0392b", "#2b6a99"


class RegionMap:
    """Schematic map: regions, relocated firms by sector and state, flows and the queue.

    The figure is drawn once per model and updated in place each step (redrawing it
    whole would cost more than the step itself).
    """

    def __init__(self, model: XiangheApp):
        w = model.world
        self.fig = Figure(figsize=(6.4, 5.2), dpi=72)
        self.fig.subplots_adjust(left=0.01, right=0.99, top=0.93, bottom=0.01)
        ax = self.ax = self.fig.subplots()
        self.centres = {n: w.xy_km[w.region(n)] for n in MAP_RADII}
        for name, (x, y) in self.centres.items():
            ax.add_patch(matplotlib.patches.Circle((x, y), MAP_RADII[name],
                                                   color=MAP_COLOURS[name], zorder=0))
            ax.text(x, y + MAP_RADII[name] + 1.5, w.region_labels[w.region(name)],
                    ha="center", fontsize=9, weight="bold")
        ax.axvline(BORDER_X, color="0.5", ls="--", lw=1)
        ax.text(BORDER_X + 0.5, 22, "Beijing | Hebei", fontsize=7, color="0.4")
        self.counts = {n: ax.text(self.centres[n][0] + MAP_RADII[n] + 0.8, self.centres[n][1],
                                  "", fontsize=7, va="center", color="0.3")
                       for n in MAP_COUNTED}
        self.palette = matplotlib.colormaps["tab10"]
        self.scatter = {state: ax.scatter([], [], s=18, marker=marker, label=label,
                                          linewidths=1)
                        for state, (label, marker, _) in STATE_STYLE.items()}
        self.still = ax.text(*self.centres["beijing"], "", ha="center", va="center", fontsize=8)
        self.arrows = []
        x0, y0 = self.centres["xianghe"]
        for target in ("beijing", "tongzhou"):
            x1, y1 = self.centres[target]
            d = np.hypot(x1 - x0, y1 - y0)
            ux, uy = (x1 - x0) / d, (y1 - y0) / d
            for colour, offset in ((CAR, 1.0), (BUS, -1.0)):
                r0, r1 = MAP_RADII["xianghe"], MAP_RADII[target]
                arrow = matplotlib.patches.FancyArrowPatch(
                    (x0 + ux * r0 - uy * offset, y0 + uy * r0 + ux * offset),
                    (x1 - ux * r1 - uy * offset, y1 - uy * r1 + ux * offset),
                    arrowstyle="-|>", mutation_scale=10, color=colour, alpha=0.8)
                ax.add_patch(arrow)
                self.arrows.append((arrow, colour))
        self.queue = matplotlib.patches.Rectangle((BORDER_X - 0.8, -30), 1.6, 0.0,
                                                  color="#8e44ad")
        ax.add_patch(self.queue)
        self.queue_text = ax.text(BORDER_X + 1.5, -30, "", fontsize=7, color="#8e44ad")
        self.car_line, = ax.plot([], [], color=CAR)
        self.bus_line, = ax.plot([], [], color=BUS)
        self.car_line.set_label("by car")
        self.bus_line.set_label("by bus")
        # One legend, its two commuter entries relabelled each step (a new legend would
        # lay out every entry again).
        self.legend = ax.legend(loc="lower left", fontsize=7, ncols=2, frameon=False,
                                title="Xianghe firms (colour: sector) and commuters",
                                title_fontsize=7)
        self.car_text, self.bus_text = (next(t for t in self.legend.get_texts()
                                             if t.get_text() == name)
                                        for name in ("by car", "by bus"))
        ax.set_xlim(-18, 58)
        ax.set_ylim(-34, 26)
        ax.set_aspect("equal")
        ax.axis("off")
        self.title = ax.set_title("", fontsize=9)
        # What moves is drawn over a picture of what does not, made once (blitting): a
        # step redraws a few artists, not the map.
        self.moving = [*self.scatter.values(), self.still, *(a for a, _ in self.arrows),
                       self.queue, self.queue_text, self.legend, *self.counts.values(),
                       self.title]
        for artist in self.moving:
            artist.set_animated(True)
        self.canvas = FigureCanvasAgg(self.fig)
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(self.fig.bbox)

    def png(self) -> bytes:
        """The map as it stands, as PNG bytes: the still picture, the moving artists over
        it (fast compression: the page is local)."""
        self.canvas.restore_region(self.background)
        for artist in self.moving:
            self.fig.draw_artist(artist)
        rgba = np.asarray(self.canvas.buffer_rgba())
        out = io.BytesIO()
        PIL.Image.fromarray(rgba).save(out, format="png", compress_level=1)
        return out.getvalue()

    def update(self, model: XiangheApp) -> None:
        f, focus, w = model.firms, model.world.focus, model.world
        mine = f.region == focus
        positions = _positions(f.rank, MAP_RADII["xianghe"] - 1) + self.centres["xianghe"]
        for state, (_, _, filled) in STATE_STYLE.items():
            sel = np.flatnonzero(mine & (f.state == state))
            colours = self.palette(f.sector[sel] % 10)
            dots = self.scatter[state]
            dots.set_offsets(positions[sel] if sel.size else np.empty((0, 2)))
            dots.set_facecolors(colours if filled else "none")
            dots.set_edgecolors(colours)
        still = int((f.state == State.IN_BEIJING).sum() * f.weight)
        self.still.set_text(f"{still:,} exposed\nfirms still here")
        v = model.quarter_values
        commuters = v.get("cross_border_daily_persons", 0.0) * v.get("commuter_share", 0.0)
        car = commuters * v.get("car_share", 0.0)
        for arrow, colour in self.arrows:
            persons = car if colour == CAR else commuters - car
            arrow.set_linewidth(0.5 + 4 * persons / 100_000)
        delay = v.get("checkpoint_peak_delay_min", 0.0)
        self.queue.set_height(min(delay, 120) / 5)
        self.queue_text.set_text(f"checkpoint queue:\n{delay:.0f} min at peak")
        self.car_text.set_text(f"by car {car:,.0f}/day")
        self.bus_text.set_text(f"by bus {commuters - car:,.0f}/day")
        for name, text in self.counts.items():
            signed = (f.region == w.region(name)).sum() * f.weight
            text.set_text(f"{signed:,.0f} projects")
        pipeline = int((mine & np.isin(f.state, PIPELINE)).sum() * f.weight)
        self.title.set_text(f"{model.quarter_label}: {mine.sum() * f.weight:,.0f} projects "
                            f"committed to Xianghe, {pipeline:,} in the pipeline")


QUARTERLY_FLOWS = {i.name for i in INDICATORS if i.aggregation == "flow"}


def label(name: str) -> str:
    """An indicator's name as a chart's legend shows it."""
    return name.replace("_", " ")


def _quarters(last_year: int) -> list[str]:
    """A chart's quarters from 2014 to ``last_year``: a year's first quarter is labelled
    with the year alone."""
    return [f"{y}" if q == 1 else f"{y} Q{q}" for y in range(2014, last_year + 1)
            for q in range(1, 5)]


def indicator_charts_option(model: XiangheApp) -> dict:
    """ECharts option: key indicators by quarter, one small chart each, 2020 targets in red.

    The browser draws it (ECharts ships with solara-assets), so a step costs the server
    only the data, and the charts have tooltips.
    """
    data = model.datacollector.model_vars
    last_year = max([TARGET_YEAR + 1, *data.get("year", [])])
    # Category axis of quarters: a year's first quarter is labelled with the year alone,
    # and only those labels are shown.
    quarters = _quarters(last_year)
    option = {"animation": False, "tooltip": {"trigger": "axis"}, "title": [], "grid": [],
              "legend": [], "xAxis": [], "yAxis": [], "series": [], "color": PALETTE}
    rows = -(-len(KEY_CHARTS) // 2)
    height = 100 / rows
    for i, chart in enumerate(KEY_CHARTS):
        title, names, divisor = chart.title, chart.names, chart.divisor
        row, col = divmod(i, 2)
        left, top = 6 + 50 * col, 1 + height * row
        option["title"].append({"text": title, "left": f"{left}%", "top": f"{top}%",
                                "textStyle": {"fontSize": 11, "fontWeight": "normal"}})
        # Each chart's legend names its series (under its title), the target included.
        option["legend"].append({
            "left": f"{left + 3}%", "top": f"{top + 0.14 * height}%", "width": "40%",
            "itemWidth": 14, "itemHeight": 6, "itemGap": 6, "textStyle": {"fontSize": 9},
            "data": [label(name) for name in names]
            + [TARGET_LABEL for n in names if n in TARGETS][:1]})
        option["grid"].append({"left": f"{left + 3}%", "top": f"{top + 0.3 * height}%",
                               "width": "38%", "height": f"{0.5 * height}%"})
        option["xAxis"].append({"gridIndex": i, "type": "category", "data": quarters,
                                "boundaryGap": False,
                                "axisLabel": {"interval": 3, "fontSize": 9}})
        option["yAxis"].append({"gridIndex": i, "type": "value", "scale": True,
                                "axisLabel": {"fontSize": 9}})
        for k, name in enumerate(names):
            values = np.asarray(data.get(name, []), float) / divisor
            option["series"].append({
                "type": "line", "name": label(name), "xAxisIndex": i,
                "yAxisIndex": i, "showSymbol": False, "color": PALETTE[k],
                "data": values.round(6).tolist()})
            t = TARGETS.get(name)
            if t is not None:
                scale = divisor * (4 if name in QUARTERLY_FLOWS else 1)
                x = f"{TARGET_YEAR} Q4"
                option["series"].append({
                    "type": "line", "name": TARGET_LABEL,
                    "xAxisIndex": i, "yAxisIndex": i, "color": TARGET_RED, "symbol": "diamond",
                    "data": [[x, t.low / scale], [x, t.value / scale], [x, t.high / scale]]})
        if "development_intensity" in names:
            option["series"][-1]["markLine"] = {
                "symbol": "none", "lineStyle": {"type": "dashed", "color": "#666"},
                "data": [{"yAxis": model.world.intensity_cap / divisor, "name": "cap"}]}
    return option


PALETTE = ["#2b6a99", "#e67e22", "#27ae60", "#8e44ad"]
TARGET_RED = "#c0392b"
TARGET_LABEL = "2020 target and band"
CHART_NOTE = ("Red diamonds: the 2020 target and its band (legend: click a name to hide its "
              "line). Flows are per quarter.")


def _view(model: XiangheApp, kind):
    """The model's own view of a kind, made on first use (the model is new after Reset),
    brought up to date."""
    views = model.__dict__.setdefault("_views", {})
    if kind not in views:
        views[kind] = kind(model)
    views[kind].update(model)
    return views[kind]


# The views are Solara components, not plain functions: Mesa wraps a function in a new
# component class each time its view renders, which remounts every chart (and ECharts
# then fails on the detached element: "Initialize failed: invalid dom").
@solara.component
def RegionMapView(model):
    update_counter.get()
    png = solara.use_memo(lambda: _view(model, RegionMap).png(),
                          dependencies=[model.token, model.steps])
    return solara.Image(png, format="png")


@solara.component
def IndicatorChartsView(model):
    update_counter.get()
    with solara.Column(gap="0px") as main:
        rows = -(-len(KEY_CHARTS) // 2)
        solara.FigureEcharts(option=indicator_charts_option(model),
                             attributes={"style": f"height: {160 * rows}px; width: 100%;"})
        solara.Text(CHART_NOTE, style={"font-size": "11px", "color": "#555"})
    return main


def baseline_of(params: dict) -> dict:
    """The baseline beside a run: its values with every lever as the baseline scenario
    sets it (uncertain values and the scale kept)."""
    levers = set(Controls.lever_names())
    return {**{k: v for k, v in params.items() if k not in levers}, **load("baseline").params}


# The comparison: what an official asks of a measure, the baseline's and the levers' paths.
COMPARED = (("Firms relocated to Xianghe", "firms_relocated", 1.0),
            ("Firms producing in Xianghe", "firms_operating", 1.0),
            ("Moved from Beijing, employed", "relocated_workers_employed", 1.0),
            ("Checkpoint delay at peak (min)", "checkpoint_peak_delay_min", 1.0))
BASE_LABEL, LEVERS_LABEL = "baseline (same seed)", "with your levers"
DRAW_LABEL, MEDIAN_LABEL = "a posterior draw", "median over draws"
FAN_UNTIL = 2030


def _small_multiples(titles: list[str], rows: int = 2) -> dict:
    """An ECharts option with one small chart per title, its legend under the title."""
    option = {"animation": False, "tooltip": {"trigger": "axis"}, "title": [], "grid": [],
              "legend": [], "xAxis": [], "yAxis": [], "series": []}
    cols = -(-len(titles) // rows)
    height, width = 100 / rows, 100 / cols
    for i, title in enumerate(titles):
        row, col = divmod(i, cols)
        left, top = 4 + width * col, 1 + height * row
        option["title"].append({"text": title, "left": f"{left}%", "top": f"{top}%",
                                "textStyle": {"fontSize": 11, "fontWeight": "normal"}})
        option["legend"].append({"left": f"{left + 3}%", "top": f"{top + 0.14 * height}%",
                                 "width": f"{width - 8}%", "itemWidth": 14, "itemHeight": 6,
                                 "textStyle": {"fontSize": 9}, "data": []})
        option["grid"].append({"left": f"{left + 4}%", "top": f"{top + 0.32 * height}%",
                               "width": f"{width - 10}%", "height": f"{0.5 * height}%"})
        option["yAxis"].append({"gridIndex": i, "type": "value", "scale": True,
                                "axisLabel": {"fontSize": 9}})
    return option


def comparison_option(model: XiangheApp) -> dict:
    """ECharts option: the baseline and the run with the chosen levers on the same seed,
    quarter by quarter, side by side for each compared indicator."""
    mine = model.datacollector.model_vars
    ref = model.reference.datacollector.model_vars if model.reference is not None else {}
    option = _small_multiples([title for title, _, _ in COMPARED])
    last_year = max([TARGET_YEAR + 1, *mine.get("year", [])])
    for i, (_, name, divisor) in enumerate(COMPARED):
        option["xAxis"].append({"gridIndex": i, "type": "category",
                                "data": _quarters(last_year), "boundaryGap": False,
                                "axisLabel": {"interval": 3, "fontSize": 9}})
        for series, data, colour in ((BASE_LABEL, ref, PALETTE[0]),
                                     (LEVERS_LABEL, mine, PALETTE[1])):
            values = np.asarray(data.get(name, []), float) / divisor
            option["series"].append({"type": "line", "name": series, "xAxisIndex": i,
                                     "yAxisIndex": i, "showSymbol": False, "color": colour,
                                     "data": values.round(6).tolist()})
        option["legend"][i]["data"] = [BASE_LABEL, LEVERS_LABEL]
    return option


def comparison_rows(model: XiangheApp) -> list[tuple[str, float, float, float]]:
    """(indicator, baseline, with the levers, difference) at the latest quarter."""
    if model.reference is None or not model.quarter_values:
        return []
    rows = []
    for title, name, divisor in COMPARED:
        a = model.reference.quarter_values[name] / divisor
        b = model.quarter_values[name] / divisor
        rows.append((title, a, b, b - a))
    return rows


def _comparison_table(rows) -> str:
    cells = "".join(f"<tr><td>{t}</td><td>{a:,.1f}</td><td>{b:,.1f}</td>"
                    f"<td><b>{d:+,.1f}</b></td></tr>" for t, a, b, d in rows)
    return ("<table style='font-size:12px;border-collapse:collapse' cellpadding='4'>"
            f"<tr><th align='left'>this quarter</th><th>&nbsp;{BASE_LABEL}&nbsp;</th>"
            f"<th>&nbsp;{LEVERS_LABEL}&nbsp;</th><th>&nbsp;difference</th></tr>{cells}"
            "</table>")


def fan_runs(params: dict, seed: int, draws: int, until: int = FAN_UNTIL):
    """The chosen levers and the baseline on ``draws`` posterior draws (fixed by
    ``seed``) and that seed, to the end of ``until``: the difference by year and draw."""
    import pandas as pd

    from .engine import RunTask, run_all
    from calibration.estimation import posterior_draws
    from .experiments import with_draws

    years = tuple(range(2014, until + 1))
    names = [name for _, name, _ in COMPARED]
    vectors = posterior_draws(draws, seed)
    tasks = []
    for point, ps in enumerate((baseline_of(params), params)):
        for values, recorded in with_draws(ps, vectors):
            tasks.append(RunTask(len(tasks), point, seed, values, recorded, years))
    df = pd.DataFrame(run_all(tasks, progress=False, what="a posterior-draw run"))
    wide = df.pivot_table(index=["draw", "year"], columns="point", values=names)
    diff = pd.DataFrame({n: wide[(n, 1)] - wide[(n, 0)] for n in names}).reset_index()
    return diff


def fan_option(diff) -> dict:
    """ECharts option: the difference the levers make, each posterior draw a thin line
    and their median a thick one."""
    option = _small_multiples([f"{title}, difference" for title, _, _ in COMPARED])
    years = sorted(diff["year"].unique().tolist())
    for i, (_, name, divisor) in enumerate(COMPARED):
        option["xAxis"].append({"gridIndex": i, "type": "category",
                                "data": [str(y) for y in years], "boundaryGap": False,
                                "axisLabel": {"fontSize": 9}})
        by_draw = diff.pivot_table(index="year", columns="draw", values=name) / divisor
        for d in by_draw.columns:
            option["series"].append({"type": "line", "name": DRAW_LABEL, "xAxisIndex": i,
                                     "yAxisIndex": i, "showSymbol": False, "color": "#9bb7d4",
                                     "lineStyle": {"width": 1},
                                     "data": by_draw[d].round(6).tolist()})
        option["series"].append({"type": "line", "name": MEDIAN_LABEL, "xAxisIndex": i,
                                 "yAxisIndex": i, "showSymbol": False, "color": PALETTE[0],
                                 "lineStyle": {"width": 3},
                                 "data": by_draw.median(axis=1).round(6).tolist()})
        option["legend"][i]["data"] = [DRAW_LABEL, MEDIAN_LABEL]
    return option


def levers_line(params: dict) -> str:
    """The levers set and from when each applies, in words, for the comparison view."""
    levers = levers_set(params)
    if not levers:
        return "No lever set: the measures as they were up to 2020, continued."
    return "Levers: " + "; ".join(
        f"from {year}, " + ", ".join(f"{_label(n).split(' (')[0].lower()} {v}" for n, v in items)
        for year, items in levers_by_year(levers).items()) + "."


@solara.component
def ComparisonView(model):
    """The chosen levers against the baseline on the same seed, and, on request, the fan
    of posterior draws of the difference."""
    update_counter.get()
    with solara.Column(gap="4px") as main:
        if model.reference is None:
            solara.Text("Tick 'Compare with the baseline (same seed)' under Model Parameters "
                        "and press Reset to see the comparison.")
            return main
        solara.Text(f"Your levers against the baseline, same seed ({model.quarter_label})",
                    style={"font-weight": "bold"})
        solara.Text(levers_line(model.params))
        solara.FigureEcharts(option=comparison_option(model),
                             attributes={"style": "height: 420px; width: 100%;"})
        solara.HTML(tag="div", unsafe_innerHTML=_comparison_table(comparison_rows(model)))
        PosteriorFan(model.controls)
    return main


@solara.component
def PosteriorFan(controls: Controls):
    """A button that runs the chosen levers and the baseline on posterior draws, in a
    thread (the page stays live), and the fan of the difference they make."""
    draws = solara.use_reactive(4)

    def fan():
        return fan_runs(controls.last_valid, controls.last_valid_seed, int(draws.value))

    task = solara.lab.use_task(fan, dependencies=None, raise_error=False)
    with solara.Column(gap="4px") as main:
        with solara.Row():
            solara.SliderInt(f"Posterior draws: {draws.value}", value=draws, min=2, max=20)
            solara.Button(f"Show the fan of posterior draws to {FAN_UNTIL}",
                          on_click=task, disabled=task.pending)
        if task.pending:
            solara.Text(f"Running the baseline and your levers on {draws.value} posterior "
                        f"draws to {FAN_UNTIL}...")
            solara.ProgressLinear(True)
        elif task.error:
            solara.Error(f"{type(task.exception).__name__}: {task.exception}")
        elif task.finished and task.value is not None:
            solara.Text(f"The difference your levers make, on {draws.value} posterior draws "
                        "(same seed): one thin line a draw, the median thick.")
            solara.FigureEcharts(option=fan_option(task.value),
                                 attributes={"style": "height: 420px; width: 100%;"})
    return main


# Mesa's SolaraViz puts its views under tabs named "Page 0", "Page 1", ...; with one page
# the lone "PAGE 0" tab says nothing, so it is hidden (there is no option for it).
LONE_TAB_CSS = ".v-tabs:not(:has(.v-tab + .v-tab)) { display: none !important; }"


@solara.component
def Page():
    controls = solara.use_memo(Controls, [])
    model = solara.use_memo(lambda: XiangheApp(controls), [])
    solara.Title(PAGE_TITLE)
    solara.Style(LONE_TAB_CSS)
    with solara.Sidebar():
        MeasuresPanel(controls)
    # The card SolaraViz names "Model Parameters" holds the comparison's switch; the
    # levers, the seed and the scale are in the measures panel above it.
    SolaraViz(model, components=[RegionMapView, IndicatorChartsView, ComparisonView],
              model_params={"controls": controls,
                            "compare": {"type": "Checkbox", "value": True,
                                        "label": "Compare with the baseline (same seed)"}},
              name="Xianghe relocation model")
