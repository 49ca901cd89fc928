"""The indicators the model reports (CONTRACT.md), declared once with unit and aggregation.

Each quarter the model records every indicator for that quarter. A year's value is then
the sum of its quarters for flows, the last quarter for stocks and the mean for rates and
shares; ``mean_signed_investment_yuan`` is the investment signed in the year over the
projects signed, and ``months_sign_to_production`` the median over the projects that
started producing in the year. When no project was signed or started in a year those two
are 0, so that no indicator is ever NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

Aggregation = Literal["flow", "stock", "mean", "special"]


@dataclass(frozen=True)
class Indicator:
    name: str
    unit: str
    aggregation: Aggregation
    meaning: str


INDICATORS: tuple[Indicator, ...] = (
    Indicator("firms_relocated", "firms", "stock",
              "Beijing enterprises that committed to Xianghe since 2014Q1, cumulative"),
    Indicator("firms_operating", "firms", "stock", "of those, producing in Xianghe"),
    Indicator("firms_left_again", "firms", "stock",
              "relocated firms that later left Xianghe, cumulative"),
    Indicator("land_blocked_projects", "projects", "stock",
              "projects that could not land in Xianghe for lack of land, cumulative"),
    Indicator("pipeline_projects", "projects", "stock", "signed and not yet producing"),
    Indicator("mean_signed_investment_yuan", "yuan", "special",
              "mean intended investment of the projects signed in the period"),
    Indicator("months_sign_to_production", "months", "special",
              "median months from signing to production, projects starting production"),
    Indicator("relocated_revenue_yuan", "yuan/year", "flow",
              "revenue of the relocated firms operating in Xianghe"),
    Indicator("relocated_tax_yuan", "yuan/year", "flow", "tax paid by them"),
    Indicator("market_merchants", "merchants", "stock",
              "merchants trading in Xianghe's wholesale-market platforms"),
    Indicator("relocated_workers_employed", "people", "stock",
              "people who moved their home from Beijing to Xianghe and are employed there"),
    Indicator("high_skill_to_beijing", "people/year", "flow",
              "high-skill workers who left a Xianghe job for a Beijing job"),
    Indicator("high_skill_to_xianghe", "people/year", "flow", "the reverse"),
    Indicator("cross_border_daily_persons", "people/day", "mean",
              "people crossing the Xianghe-Beijing border on an average working day"),
    Indicator("commuter_share", "share", "mean", "share of them who cross to work"),
    Indicator("car_share", "share", "mean", "share of cross-border commuters going by car"),
    Indicator("checkpoint_peak_delay_min", "minutes", "mean",
              "average clearance time at the checkpoints at peak, normal days"),
    Indicator("checkpoint_event_delay_min", "minutes", "mean",
              "the same on major-event security days"),
    Indicator("development_intensity", "share", "stock", "construction land over county area"),
    Indicator("industrial_land_price_yuan_m2", "yuan/m2", "stock",
              "price of industrial land in Xianghe"),
    Indicator("public_spending_yuan", "yuan/year", "flow",
              "public money spent on the measures (subsidies, funds, buses, lanes, ...)"),
    # Beyond the contract.
    Indicator("firms_signed", "firms/year", "flow", "projects signed with Xianghe"),
    Indicator("firms_left_beijing", "firms", "stock",
              "exposed Beijing firms that moved anywhere (failed and blocked projects not "
              "counted), cumulative"),
    Indicator("relocated_firm_jobs", "people", "stock",
              "jobs at the relocated firms producing in Xianghe, whoever fills them"),
    Indicator("bus_load", "share", "mean", "cross-border bus riders over bus capacity"),
    Indicator("public_service_index", "index", "stock",
              "Xianghe's mean public-service index, Beijing = 1"),
)

NAMES: tuple[str, ...] = tuple(i.name for i in INDICATORS)
# Helper columns recorded each quarter for the two indicators that are not plain sums.
SIGNED_COUNT = "_signed_projects"
SIGNED_INVESTMENT = "_signed_investment_yuan"


def annual(quarters: pd.DataFrame, production_months: dict[int, np.ndarray]) -> pd.DataFrame:
    """Yearly indicators from the quarterly records (columns ``year`` and every name)."""
    rows = []
    for year, q in quarters.groupby("year", sort=True):
        row: dict[str, float] = {"year": int(year)}
        for ind in INDICATORS:
            if ind.aggregation == "flow":
                row[ind.name] = float(q[ind.name].sum())
            elif ind.aggregation == "stock":
                row[ind.name] = float(q[ind.name].iloc[-1])
            elif ind.aggregation == "mean":
                row[ind.name] = float(q[ind.name].mean())
        count = q[SIGNED_COUNT].sum()
        row["mean_signed_investment_yuan"] = (
            float(q[SIGNED_INVESTMENT].sum() / count) if count > 0 else 0.0)
        months = production_months.get(int(year), np.empty(0))
        row["months_sign_to_production"] = float(np.median(months)) if months.size else 0.0
        rows.append(row)
    return pd.DataFrame(rows, columns=["year", *NAMES])
