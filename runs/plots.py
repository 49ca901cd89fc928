"""Figures of model output, in seaborn, for papers and reports."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

KEY_INDICATORS = (
    ("firms_relocated", "Firms relocated (cumulative)"),
    ("firms_operating", "Firms producing"),
    ("relocated_revenue_yuan", "Revenue of relocated firms (yuan/quarter)"),
    ("relocated_workers_employed", "Workers who moved from Beijing"),
    ("high_skill_to_beijing", "High-skill: Xianghe → Beijing jobs (per quarter)"),
    ("cross_border_daily_persons", "Cross-border persons per day"),
    ("checkpoint_peak_delay_min", "Checkpoint delay at peak (min)"),
    ("development_intensity", "Development intensity"),
    ("public_spending_yuan", "Public spending (yuan/quarter)"),
)


def indicator_panels(quarterly: pd.DataFrame) -> plt.Figure:
    """Key indicators over time: the mean over seeds with a 95 % band across seeds."""
    sns.set_theme(style="whitegrid", context="paper")
    df = quarterly.assign(time=quarterly["year"] + (quarterly["quarter"] - 1) / 4)
    fig, axes = plt.subplots(3, 3, figsize=(12, 9), constrained_layout=True)
    for ax, (name, title) in zip(axes.flat, KEY_INDICATORS):
        sns.lineplot(data=df[df["indicator"] == name], x="time", y="value", ax=ax,
                     errorbar=("pi", 95), color="#2b6a99")
        ax.set_title(title)
        ax.set_xlabel("")
        ax.set_ylabel("")
    fig.suptitle("Xianghe relocation model: key indicators by quarter "
                 f"({df['seed'].nunique()} seeds, band: 95% of seeds)")
    return fig
