"""Public services: an education, a health and a social-security index per region.

Beijing is 1 on each; the gap of the focus county is what households weigh (Su, Hua &
Liang 2019: high-skilled migrants weigh amenities and public services more). The focus
county's indices drift up as they did (cross-region services, 30 Beijing hospitals under
the insurance agreement, report) and rise further with spending on the measures, which
closes one hundredth of the remaining gap per ``services_yuan_per_point`` spent a year.
"""

from __future__ import annotations

import numpy as np

# Weights of education, health, social security for a household without / with children.
HOUSEHOLD_WEIGHTS = np.array([[0.2, 0.4, 0.4], [0.5, 0.25, 0.25]])


def household_index(services: np.ndarray) -> np.ndarray:
    """Index each household kind sees in each region, (2, R): without / with children."""
    return HOUSEHOLD_WEIGHTS @ services.T


def advance_quarter(services: np.ndarray, focus: int, p: dict) -> float:
    """Raise the focus county's indices for one quarter; return the money spent."""
    spend_year = p["services_spending_yuan"]
    gap = 1.0 - services[focus]
    closed = 0.01 * spend_year / p["services_yuan_per_point"] * 0.25
    services[focus] = np.minimum(1.0, services[focus] + p["services_drift"] * 0.25
                                 + gap * min(1.0, closed))
    return spend_year * 0.25
