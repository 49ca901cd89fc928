"""A cost-effectiveness frontier over investment-subsidy rates: for each rate, from 2022,
the extra firms producing in the last year against the baseline (paired on the same
seeds) and the extra public money spent from 2022, discounted; drawn as a frontier with
an interval over the seeds, and tabulated with the cost per extra firm.

    uv run python runs/examples/subsidy_frontier.py --replicates 10 --out out/subsidy-frontier
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from runs import api  # noqa: E402
from runs.report import DISCOUNT_RATE  # noqa: E402

START = 2022


def discounted_spending(annual: pd.DataFrame, rate: float) -> pd.Series:
    """Public spending from START, discounted to START at ``rate``, per seed (yuan)."""
    later = annual[annual["year"] >= START]
    factor = (1 + rate) ** -(later["year"] - START)
    return (later["public_spending_yuan"] * factor).groupby(later["seed"]).sum()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="0.05,0.1,0.2,0.3",
                        help="subsidy rates, a share of the investment")
    parser.add_argument("--replicates", type=int, default=10)
    parser.add_argument("--until", type=int, default=2030)
    parser.add_argument("--discount", type=float, default=DISCOUNT_RATE,
                        help="social discount rate a year (default: the policy report's, "
                             f"{DISCOUNT_RATE * 100:.0f} %%, NDRC 2006)")
    parser.add_argument("--talent-agents", type=int, default=None)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--out", type=Path, default=Path("out/subsidy-frontier"))
    args = parser.parse_args(argv)
    rates = [float(r) for r in args.rates.split(",")]

    scale = {} if args.talent_agents is None else {"talent_agents": args.talent_agents}
    common = dict(replicates=args.replicates, until=args.until, params=scale,
                  workers=args.workers)
    base = api.run("baseline", **common)
    base_last = base[base["year"] == args.until].set_index("seed")
    base_cost = discounted_spending(base, args.discount)
    rows = []
    for rate in rates:
        measure = api.scenario(f"subsidy {rate:g}", {"investment_subsidy_rate": rate},
                               start_year=START)
        runs = api.run(measure, **common)
        last = runs[runs["year"] == args.until].set_index("seed")
        extra_firms = last["firms_operating"] - base_last["firms_operating"]
        extra_cost = discounted_spending(runs, args.discount) - base_cost
        for seed in extra_firms.index:
            rows.append({"rate": rate, "seed": seed, "extra_firms": extra_firms[seed],
                         "extra_cost_m_yuan": extra_cost[seed] / 1e6})
    per_seed = pd.DataFrame(rows)
    summary = per_seed.groupby("rate").agg(
        extra_firms=("extra_firms", "mean"), extra_firms_sd=("extra_firms", "std"),
        extra_cost_m_yuan=("extra_cost_m_yuan", "mean")).reset_index()
    summary["m_yuan_per_extra_firm"] = (summary["extra_cost_m_yuan"]
                                        / summary["extra_firms"].where(summary["extra_firms"] > 0))

    args.out.mkdir(parents=True, exist_ok=True)
    per_seed.to_csv(args.out / "frontier-per-seed.csv", index=False)
    summary.to_csv(args.out / "frontier.csv", index=False)
    sns.set_theme(style="whitegrid", context="paper")
    fig, ax = plt.subplots(figsize=(5.5, 4))
    sns.lineplot(data=per_seed, x="extra_cost_m_yuan", y="extra_firms", estimator="mean",
                 errorbar=("ci", 95), marker="o", ax=ax, label="mean over seeds, 95 % CI")
    for r in summary.itertuples():
        ax.annotate(f"{r.rate:.0%}", (r.extra_cost_m_yuan, r.extra_firms),
                    textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel(f"extra public spending {START}-{args.until}, discounted (m yuan)")
    ax.set_ylabel(f"extra firms producing in {args.until}")
    ax.set_title("Investment subsidy: cost-effectiveness frontier")
    fig.tight_layout()
    fig.savefig(args.out / "frontier.png", dpi=150)
    plt.close(fig)
    with pd.option_context("display.float_format", "{:,.4g}".format):
        print(summary.to_string(index=False))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
