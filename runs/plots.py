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

FLOWS = {i.name for i in INDICATORS if i.aggregation == "flow"}

# (indicator, panel title, divisor for the axis)
KEY_INDICATORS = (
    ("firms_relocated", "Firms relocated (cumulative)", 1),
    ("firms_operating", "Firms producing", 1),
    ("relocated_revenue_yuan", "Revenue of relocated firms (bn yuan/quarter)", 1e9),
    ("relocated_workers_employed", "Workers who moved from Beijing", 1),
    ("high_skill_to_beijing", "High-skill: Xianghe → Beijing jobs (per quarter)", 1),
    ("cross_border_daily_persons", "Cross-border persons per day (thousands)", 1e3),
    ("checkpoint_peak_delay_min", "Checkpoint delay at peak (min)", 1),
    ("development_intensity", "Development intensity (%)", 1e-2),
    ("public_spending_yuan", "Public spending (m yuan/quarter)", 1e6),
)


def indicator_panels(quarterly: pd.DataFrame) -> plt.Figure:
    """Key indicators over time: the mean over seeds with a 95 % band across seeds."""
    sns.set_theme(style="whitegrid", context="paper")
    df = quarterly.assign(time=quarterly["year"] + (quarterly["quarter"] - 1) / 4)
    # Targets of yearly flows do not compare with quarterly values: only stocks are marked.
    targets: dict[str, list] = {}
    for t in load_targets():
        if t.indicator not in FLOWS:
            targets.setdefault(t.indicator, []).append(t)
    fig, axes = plt.subplots(3, 3, figsize=(12, 9), constrained_layout=True)
    for ax, (name, title, divisor) in zip(axes.flat, KEY_INDICATORS):
        panel = df[df["indicator"] == name].assign(value=lambda d: d["value"] / divisor)
        sns.lineplot(data=panel, x="time", y="value", ax=ax, errorbar=("pi", 95),
                     color="#2b6a99")
        ax.set_title(title)
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
        ax.ticklabel_format(axis="y", style="plain", useOffset=False)
        for t in targets.get(name, []):
            ax.errorbar(t.year + 0.875, t.value / divisor, color="#c0392b", fmt="D",
                        markersize=4, capsize=3,
                        yerr=[[(t.value - t.low) / divisor], [(t.high - t.value) / divisor]])
    fig.suptitle("Xianghe relocation model: key indicators by quarter "
                 f"({df['seed'].nunique()} seeds, band: 95% of seeds; "
                 "red: calibration target and its band)")
    return fig
