"""Policy measures: which value each lever takes in a given year, and what the running
measures cost.

A lever keeps its "as it was" default until its start year (the companion parameter its
declaration names) and takes the value set from the first quarter of that year. The
mechanism each lever acts through lives in the submodel it changes (enterprise choice,
land, talent, commuting, public services); this module answers "what is in force now" and
"what do the measures that run all year cost". Money that follows an event (subsidies to
projects signed, the space fund, service spending) is counted by the submodel that spends
it.
"""

from __future__ import annotations

from .params import LEVERS, PARAMS, View, view

QUARTERS_PER_YEAR = 4.0


def in_force(params: dict, year: int) -> dict:
    """The parameters with every lever at the value in force in ``year``."""
    now = dict(params)
    for lever in LEVERS:
        if year < params[PARAMS[lever].start_year]:
            now[lever] = PARAMS[lever].default
    return now


@view
class SpendingParams(View):
    """The measures that cost money every year they run, and their unit costs."""

    mode_industry_chain: bool
    mode_associations: bool
    mode_zgc_parks: bool
    mode_platform_branches: bool
    mode_cost_yuan: float
    incubator_fund_yuan: float
    bus_lines: int
    bus_line_cost_yuan: float
    checkpoint_lanes: int
    lane_cost_yuan: float
    permit_devolution: bool
    devolution_cost_yuan: float
    commitment_system: bool
    commitment_cost_yuan: float
    ftz_extension: bool
    ftz_cost_yuan: float
    vocational_recognition: bool
    vocational_recognition_cost_yuan: float
    talent_housing_eligibility: bool
    talent_housing_cost_yuan: float
    provincial_land_quota: bool
    provincial_quota_cost_yuan: float
    fast_spatial_plan: bool
    spatial_plan_cost_yuan: float
    regional_coordination: bool
    coordination_cost_yuan: float


def running_cost_quarter(sp: SpendingParams) -> float:
    """Public money the running measures cost in one quarter: attraction modes, the
    incubator fund, bus lines and checkpoint lanes, and the administration of every
    measure that has no money of its own to spend (each cost declared, most assumed)."""
    modes = (sp.mode_industry_chain + sp.mode_associations + sp.mode_zgc_parks
             + sp.mode_platform_branches)
    yearly = (modes * sp.mode_cost_yuan + sp.incubator_fund_yuan
              + sp.bus_lines * sp.bus_line_cost_yuan
              + sp.checkpoint_lanes * sp.lane_cost_yuan)
    administration = (sp.permit_devolution * sp.devolution_cost_yuan
                      + sp.commitment_system * sp.commitment_cost_yuan
                      + sp.ftz_extension * sp.ftz_cost_yuan
                      + sp.vocational_recognition * sp.vocational_recognition_cost_yuan
                      + sp.talent_housing_eligibility * sp.talent_housing_cost_yuan
                      + sp.provincial_land_quota * sp.provincial_quota_cost_yuan
                      + sp.fast_spatial_plan * sp.spatial_plan_cost_yuan
                      + sp.regional_coordination * sp.coordination_cost_yuan)
    return (yearly + administration) / QUARTERS_PER_YEAR
