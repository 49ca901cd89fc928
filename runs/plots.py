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
PALETTE = ("#2b6a99", "#e67e22", "#27ae60")


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
