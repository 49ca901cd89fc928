"""Public services: an education, a health and a social-security index per region.

Beijing is 1 on each; the gap of the focus county is what households weigh (Su, Hua &
Liang 2019: high-skilled migrants weigh amenities and public services more), each kind of
household with its own weights (households with children weigh schools most). The focus
county's indices drift up as they did (cross-region services, 30 Beijing hospitals under
the insurance agreement, report) and rise further with spending on the measures, which
closes one hundredth of the remaining gap per ``services_yuan_per_point`` spent a year.
"""

from __future__ import annotations

import numpy as np

from .params import View, view

# The unit of services_yuan_per_point: one index point closes a hundredth of the gap.
GAP_PER_POINT = 0.01
QUARTER_YEARS = 0.25


@view
class HouseholdWeights(View):
    """Weights of education and health in a household's index; social security has the rest."""

    education_weight_no_children: float
    health_weight_no_children: float
    education_weight_children: float
    health_weight_children: float

    def matrix(self) -> np.ndarray:
        """(2, 3): households without / with children; education, health, social security."""
        rows = [(self.education_weight_no_children, self.health_weight_no_children),
                (self.education_weight_children, self.health_weight_children)]
        return np.array([[e, h, 1.0 - e - h] for e, h in rows])


@view
class ServiceParams(View):
    """What the improvement of the focus county's services reads."""

    services_drift: float
    services_spending_yuan: float
    services_yuan_per_point: float


def household_index(services: np.ndarray, weights: HouseholdWeights) -> np.ndarray:
    """Index each household kind sees in each region, (2, R): without / with children."""
    return weights.matrix() @ services.T


def advance_quarter(services: np.ndarray, focus: int, sp: ServiceParams,
                    drifting: bool = True) -> float:
    """Raise the focus county's indices for one quarter (without their drift unless
    ``drifting``); return the money spent."""
    spend_year = sp.services_spending_yuan
    gap = 1.0 - services[focus]
    closed = GAP_PER_POINT * spend_year / sp.services_yuan_per_point * QUARTER_YEARS
    drift = sp.services_drift * QUARTER_YEARS if drifting else 0.0
    services[focus] = np.minimum(1.0, services[focus] + drift + gap * min(1.0, closed))
    return spend_year * QUARTER_YEARS
