"""Figures of model output, in seaborn, for papers and reports."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from matplotlib.ticker import MaxNLocator  # noqa: E402

from calibration import load_targets  # noqa: E402
from model import INDICATORS  # noqa: E402
from model.indicators import KEY_CHARTS  # noqa: E402

FLOWS = {i.name for i in INDICATORS if i.aggregation == "flow"}
PALETTE = ("#2b6a99", "#e67e22", "#27ae60", "#8e44ad")


def indicator_panels(quarterly: pd.DataFrame) -> plt.Figure:
    """Key indicators over time: the mean over seeds with a 95 % band across seeds."""
    sns.set_theme(style="whitegrid", context="paper")
    df = quarterly.assign(time=quarterly["year"] + (quarterly["quarter"] - 1) / 4)
    # Targets of yearly flows do not compare with quarterly values: only stocks are marked.
    targets: dict[str, list] = {}
    for t in load_targets():
        if t.indicator not in FLOWS:
            targets.setdefault(t.indicator, []).append(t)
    rows = -(-len(KEY_CHARTS) // 3)
    fig, axes = plt.subplots(rows, 3, figsize=(12, 3 * rows), constrained_layout=True)
    for ax in axes.flat[len(KEY_CHARTS):]:
        ax.set_visible(False)
    for ax, chart in zip(axes.flat[:len(KEY_CHARTS)], KEY_CHARTS, strict=True):
        panel = df[df["indicator"].isin(chart.names)]
        panel = panel.assign(value=panel["value"] / chart.divisor,
                             indicator=panel["indicator"].str.replace("_", " "))
        many = len(chart.names) > 1
        sns.lineplot(data=panel, x="time", y="value", ax=ax, errorbar=("pi", 95),
                     hue="indicator" if many else None,
                     hue_order=[n.replace("_", " ") for n in chart.names] if many else None,
                     palette=list(PALETTE[:len(chart.names)]) if many else None,
                     color=None if many else PALETTE[0])
        if many:
            ax.legend(title=None, fontsize="x-small", loc="best")
        ax.set_title(chart.title)
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
        ax.ticklabel_format(axis="y", style="plain", useOffset=False)
        for name in chart.names:
            for t in targets.get(name, []):
                ax.errorbar(t.year + 0.875, t.value / chart.divisor, color="#c0392b", fmt="D",
                            markersize=4, capsize=3,
                            yerr=[[(t.value - t.low) / chart.divisor],
                                  [(t.high - t.value) / chart.divisor]])
    fig.suptitle("Xianghe relocation model: key indicators by quarter "
                 f"({df['seed'].nunique()} seeds, band: 95% of seeds; "
                 "red: calibration target and its band)")
    return fig


# The new stage, year by year: where the projects come from, where they go, and what land
# costs in each receiving county.
STAGE_PANELS = (
    ("Projects signed with Xianghe a year, by origin",
     {"relocations_signed": "relocating Beijing firms", "new_projects_signed": "new projects"},
     "projects/year"),
    ("Projects signed a year, by county",
     {"firms_signed": "Xianghe", "projects_signed_tongzhou": "Tongzhou",
      "projects_signed_sanhe": "Sanhe", "projects_signed_dachang": "Dachang"},
     "projects/year"),
    ("Industrial land price at the end of the year",
     {"industrial_land_price_yuan_m2": "Xianghe",
      "industrial_land_price_tongzhou_yuan_m2": "Tongzhou",
      "industrial_land_price_sanhe_yuan_m2": "Sanhe",
      "industrial_land_price_dachang_yuan_m2": "Dachang"},
     "yuan/m2 (log scale)"),
)


def new_stage_panels(annual: pd.DataFrame) -> plt.Figure:
    """Signings a year by origin and by county, and the four counties' land prices: the
    mean over seeds with a band holding 95 % of the seeds, and the calibration targets of
    Xianghe's and the area's signings and Xianghe's land price."""
    sns.set_theme(style="whitegrid", context="paper")
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), constrained_layout=True)
    targets = {(t.indicator, t.years): t for t in load_targets()}
    for ax, (title, series, unit) in zip(axes, STAGE_PANELS, strict=True):
        long = annual.melt(id_vars=["seed", "year"], value_vars=list(series),
                           var_name="series").replace({"series": series})
        sns.lineplot(data=long, x="year", y="value", hue="series", ax=ax,
                     errorbar=("pi", 95), hue_order=list(series.values()),
                     palette=list(PALETTE[:len(series)]), marker="o", markersize=3)
        for name in series:
            for (indicator, years), t in targets.items():
                if indicator == name and len(years) == 1:
                    ax.errorbar(years[0], t.value, yerr=[[t.value - t.low], [t.high - t.value]],
                                color="#c0392b", fmt="D", markersize=4, capsize=3)
        if "land" in title:
            ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("")
        ax.set_ylabel(unit)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=8))
        ax.legend(title=None, fontsize="x-small")
    fig.suptitle(f"The new stage: {annual['seed'].nunique()} seeds, band: 95 % of seeds; "
                 "red: calibration target of that year and its band")
    return fig


def save(fig: plt.Figure, stem) -> list:
    """Save a figure as PNG and SVG next to each other; return the paths."""
    from pathlib import Path

    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    fig.savefig(paths[0], dpi=150)
    fig.savefig(paths[1])
    plt.close(fig)
    return paths


def effects_forest(effects: pd.DataFrame, a: str, b: str, year: int) -> plt.Figure:
    """Relative effect of B against A on each indicator, with its confidence interval."""
    sns.set_theme(style="whitegrid", context="paper")
    base = effects["a"].abs().where(effects["a"].abs() > 0)
    rel = effects.assign(effect=100 * effects["effect"] / base,
                         low=100 * effects["ci_low"] / base,
                         high=100 * effects["ci_high"] / base).dropna(subset=["effect"])
    fig, ax = plt.subplots(figsize=(7, 0.32 * len(rel) + 1.5), constrained_layout=True)
    y = range(len(rel))
    ax.errorbar(rel["effect"], y, xerr=[rel["effect"] - rel["low"], rel["high"] - rel["effect"]],
                fmt="o", color="#2b6a99", ecolor="#7fa7c9", capsize=2)
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_yticks(list(y), rel["indicator"])
    ax.invert_yaxis()
    ax.set_title(f"{b} against {a}, {year}")
    ax.set_xlabel(f"effect, % of {a} (95% CI over paired seeds)")
    return fig


def sensitivity_bars(indices: pd.DataFrame, indicator: str, year: int) -> plt.Figure:
    """Sobol first/total-order or Morris mu* indices with their confidence intervals."""
    sns.set_theme(style="whitegrid", context="paper")
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(indices) + 1.5), constrained_layout=True)
    if "ST" in indices:
        long = pd.concat([
            indices.assign(index="first order (S1)", value=indices["S1"], conf=indices["S1_conf"]),
            indices.assign(index="total order (ST)", value=indices["ST"], conf=indices["ST_conf"]),
        ])
        sns.barplot(data=long, y="parameter", x="value", hue="index", ax=ax, errorbar=None)
        for bar, conf in zip(ax.patches, long["conf"], strict=False):
            ax.errorbar(bar.get_width(), bar.get_y() + bar.get_height() / 2, xerr=conf,
                        color="0.2", capsize=2)
        ax.set_xlabel(f"Sobol index of {indicator} in {year}")
    else:
        sns.barplot(data=indices, y="parameter", x="mu_star", ax=ax, color="#2b6a99",
                    errorbar=None)
        ax.errorbar(indices["mu_star"], range(len(indices)), xerr=indices["mu_star_conf"],
                    fmt="none", color="0.2", capsize=2)
        ax.set_xlabel(f"Morris mu* of {indicator} in {year} (units of the indicator)")
    ax.set_ylabel("")
    return fig


def sweep_lines(results: pd.DataFrame, indicator: str, by: str | None) -> plt.Figure:
    """An indicator over the stored years: mean over seeds and design points, 95% band."""
    sns.set_theme(style="whitegrid", context="paper")
    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    ok = results[results["status"] == "ok"]
    sns.lineplot(data=ok, x="year", y=indicator, hue=by, ax=ax, errorbar=("pi", 95),
                 marker="o", palette="viridis" if by else None)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(indicator)
    return fig


def sweep_heatmap(results: pd.DataFrame, indicator: str, year: int, x: str,
                  y: str) -> plt.Figure:
    """Mean of an indicator in ``year`` over two parameters (mean over seeds and others)."""
    sns.set_theme(style="white", context="paper")
    ok = results[(results["status"] == "ok") & (results["year"] == year)]
    grid = ok.pivot_table(index=y, columns=x, values=indicator, aggfunc="mean")
    fig, ax = plt.subplots(figsize=(7, 5.5), constrained_layout=True)
    sns.heatmap(grid.sort_index(ascending=False), annot=grid.size <= 64, fmt=".3g",
                cmap="viridis", ax=ax, cbar_kws={"label": f"{indicator} in {year}"})
    return fig
