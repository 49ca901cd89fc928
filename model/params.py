"""Every parameter of the model, declared once.

A parameter has a name, a default, a unit, a valid range, a role, a group and a source.
Roles follow the EMA Workbench vocabulary:

* ``uncertainty`` -- something we do not know; the calibration fits it or a sweep explores it;
* ``lever`` -- something policy sets; its default is the measure "as it was" up to 2020;
* ``constant`` -- a structural number users rarely change (a speed, a fare, a distribution's
  spread); declared like the others, so sweeps, sensitivity and calibration can reach it;
* ``setting`` -- how the simulation is run (scale), not a property of the world.

Kinds are types: :class:`Number` (a real in a range), :class:`Integer` and :class:`Switch`
(true or false). Each lever has a companion :class:`StartYear`, named in its
``start_year`` field: before that year the lever keeps its "as it was" default, from the
first quarter of that year on it takes the value set. The companion's default is
:data:`POLICY_YEAR`, so a lever set on its own changes the years after the figures the
model is fitted to, never the history it was fitted on; the counterfactual history is
asked for by a start year of 2014.

Each submodel reads its parameters through a :func:`view`: a frozen dataclass whose fields
are declared names, checked when the module is imported, so a submodel's signature shows
what it depends on and a misspelt name fails at once.

Everything else -- ``--set`` parsing, ``xianghe params``, scenario validation, sweep
designs, the interactive page and the parameter table in the README -- is derived from
:data:`PARAMS`. This module imports nothing beyond the standard library, so the command
line can parse and check input without loading the simulation stack.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from statistics import NormalDist
from typing import Any, ClassVar, Self

FIRST_YEAR = 2014
LAST_YEAR = 2100
# The first year of an experiment's measures unless the user says otherwise: the first
# year after the figures the model is fitted to (2014-2021, calibration/targets.toml).
POLICY_YEAR = 2022
DAYS_PER_YEAR = 366


class Role(StrEnum):
    UNCERTAINTY = "uncertainty"
    LEVER = "lever"
    CONSTANT = "constant"
    SETTING = "setting"


UNCERTAINTY, LEVER, CONSTANT, SETTING = Role


class ParamError(ValueError):
    """A parameter value that is not allowed; the message is one line for the user."""


@dataclass(frozen=True, kw_only=True)
class Param:
    """One declared parameter; subclasses say what kind of value it takes."""

    name: str
    default: Any
    unit: str
    role: Role
    meaning: str
    source: str
    group: str = ""
    start_year: str | None = None   # a lever's companion StartYear parameter
    prior: str | None = None        # an uncertainty's prior, ``kind(a, b)`` (see Prior)

    type: ClassVar[type]

    def __post_init__(self) -> None:
        object.__setattr__(self, "default", self.check(self.default))
        if (self.prior is None) != (self.role is not Role.UNCERTAINTY):
            raise ParamError(f"parameter {self.name}: an uncertainty, and only an "
                             "uncertainty, declares a prior")
        if self.prior is not None:
            lo, hi = self.prior_dist.support
            if not lo <= self.default <= hi:
                raise ParamError(f"parameter {self.name}: default {self.default:g} lies "
                                 f"outside its prior {self.prior}")

    @functools.cached_property
    def prior_dist(self) -> Prior:
        """The prior, parsed (a :class:`ParamError` if it is not one)."""
        if self.prior is None or not isinstance(self, Number):
            raise ParamError(f"parameter {self.name}: no prior (only a number's uncertainty "
                             "has one)")
        return Prior.parse(self.prior, self.low, self.high)

    @property
    def allowed(self) -> str:
        """The allowed values, in words, for error messages."""
        raise NotImplementedError

    @property
    def range_text(self) -> str:
        """The valid range, short, for tables."""
        raise NotImplementedError

    def format(self, value: Any) -> str:
        """A value as the command line writes it."""
        return f"{value:g}"

    def check(self, value: Any) -> Any:
        """Return ``value`` as this parameter's type, or raise :class:`ParamError`."""
        raise NotImplementedError

    def parse(self, text: str) -> Any:
        """Parse a command-line string such as ``0.3`` or ``true``."""
        raise NotImplementedError

    def _refuse(self, value: Any):
        raise ParamError(f"parameter {self.name}: got {value!r}; allowed: {self.allowed}")


@dataclass(frozen=True, kw_only=True)
class Number(Param):
    """A real number in ``[low, high]``."""

    low: float
    high: float
    type: ClassVar[type] = float
    _word: ClassVar[str] = "a number"

    @property
    def allowed(self) -> str:
        return f"{self._word} in [{self.low:g}, {self.high:g}]"

    @property
    def range_text(self) -> str:
        return f"{self.low:g} – {self.high:g}"

    def check(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self._refuse(value)
        if math.isnan(value) or not self.low <= value <= self.high:
            self._refuse(value)
        return self.type(value)

    def parse(self, text: str) -> Any:
        try:
            number = self.type(text.strip())
        except ValueError:
            self._refuse(text.strip())
        return self.check(number)


@dataclass(frozen=True, kw_only=True)
class Integer(Number):
    """A whole number in ``[low, high]``."""

    type: ClassVar[type] = int
    _word: ClassVar[str] = "an integer"

    def check(self, value: Any) -> Any:
        if isinstance(value, float) and not value.is_integer():
            self._refuse(value)
        return super().check(value)


@dataclass(frozen=True, kw_only=True)
class StartYear(Integer):
    """The first year in which a lever takes the value set."""

    lever: str


@dataclass(frozen=True, kw_only=True)
class Switch(Param):
    """True or false."""

    type: ClassVar[type] = bool
    _TRUE: ClassVar[tuple[str, ...]] = ("true", "1", "yes", "on")
    _FALSE: ClassVar[tuple[str, ...]] = ("false", "0", "no", "off")

    @property
    def allowed(self) -> str:
        return "true or false"

    @property
    def range_text(self) -> str:
        return "true/false"

    def format(self, value: Any) -> str:
        return str(value).lower()

    def check(self, value: Any) -> Any:
        if not isinstance(value, bool):
            self._refuse(value)
        return value

    def parse(self, text: str) -> Any:
        word = text.strip().lower()
        if word in self._TRUE:
            return True
        if word in self._FALSE:
            return False
        self._refuse(text.strip())


_Z95 = 1.6448536269514722   # the standard normal's 95th percentile


@dataclass(frozen=True)
class Prior:
    """What is believed about an uncertain parameter before the calibration figures.

    Written ``kind(a, b)``: ``uniform`` and ``loguniform`` on ``[a, b]``; ``normal`` and
    ``lognormal`` with 90 % of their mass in ``[a, b]``, truncated to the parameter's
    valid range. Only the standard library is used, so the command line can check a prior
    without the scientific stack; the estimation wraps it for pyabc.
    """

    kind: str
    a: float
    b: float
    low: float     # the parameter's valid range, which truncates the tails
    high: float

    KINDS: ClassVar[tuple[str, ...]] = ("uniform", "loguniform", "normal", "lognormal")

    @classmethod
    def parse(cls, text: str, low: float, high: float) -> Prior:
        """``uniform(0.1, 0.3)`` and the like; a :class:`ParamError` names what is wrong."""
        head, _, rest = text.strip().partition("(")
        kind = head.strip()
        try:
            a, b = (float(x) for x in rest.rstrip(") ").split(","))
        except ValueError:
            raise ParamError(f"prior {text!r}: allowed: KIND(a, b) with KIND one of "
                             f"{', '.join(cls.KINDS)}") from None
        if kind not in cls.KINDS:
            raise ParamError(f"prior {text!r}: unknown kind {kind!r}; allowed: "
                             f"{', '.join(cls.KINDS)}")
        if not a < b or not low <= a or not b <= high or (kind.startswith("log") and a <= 0):
            raise ParamError(f"prior {text!r}: allowed: a < b inside the valid range "
                             f"[{low:g}, {high:g}] (a > 0 for a log prior)")
        return cls(kind, a, b, low, high)

    @property
    def text(self) -> str:
        return f"{self.kind}({self.a:g}, {self.b:g})"

    # The distribution is that of g(Z) for a uniform or normal Z, truncated to the range.
    def _to_z(self, x: float) -> float:
        return math.log(x) if self.kind.startswith("log") else x

    def _from_z(self, z: float) -> float:
        return math.exp(z) if self.kind.startswith("log") else z

    @property
    def _normal(self) -> NormalDist | None:
        if self.kind in ("uniform", "loguniform"):
            return None
        za, zb = self._to_z(self.a), self._to_z(self.b)
        return NormalDist((za + zb) / 2, (zb - za) / (2 * _Z95))

    @property
    def support(self) -> tuple[float, float]:
        if self._normal is None:
            return self.a, self.b
        return (max(self.low, 1e-300) if self.kind == "lognormal" else self.low), self.high

    def _base_cdf(self, z: float) -> float:
        normal = self._normal
        if normal is None:
            za, zb = self._to_z(self.a), self._to_z(self.b)
            return min(max((z - za) / (zb - za), 0.0), 1.0)
        return normal.cdf(z)

    def _bounds(self) -> tuple[float, float]:
        lo, hi = self.support
        return self._base_cdf(self._to_z(lo)), self._base_cdf(self._to_z(hi))

    def ppf(self, q: float) -> float:
        """The ``q`` quantile."""
        c0, c1 = self._bounds()
        u = c0 + q * (c1 - c0)
        normal = self._normal
        if normal is None:
            za, zb = self._to_z(self.a), self._to_z(self.b)
            z = za + u * (zb - za)
        else:
            z = normal.inv_cdf(min(max(u, 1e-15), 1 - 1e-15))
        lo, hi = self.support
        return min(max(self._from_z(z), lo), hi)

    def cdf(self, x: float) -> float:
        lo, hi = self.support
        if x <= lo:
            return 0.0
        if x >= hi:
            return 1.0
        c0, c1 = self._bounds()
        return (self._base_cdf(self._to_z(x)) - c0) / (c1 - c0)

    def pdf(self, x: float) -> float:
        lo, hi = self.support
        if not lo <= x <= hi:
            return 0.0
        c0, c1 = self._bounds()
        normal = self._normal
        z = self._to_z(x)
        if normal is None:
            density_z = 1.0 / (self._to_z(self.b) - self._to_z(self.a))
        else:
            density_z = normal.pdf(z)
        jacobian = 1.0 / x if self.kind.startswith("log") else 1.0
        return density_z * jacobian / (c1 - c0)

    @property
    def median(self) -> float:
        return self.ppf(0.5)


REPORT = "county report 2021"
ASSUMED = "assumption, fitted by calibration"
ASSUMED_FIXED = "assumption, to be set from independent evidence"


def _group(name: str, *params: Param) -> list[Param]:
    return [dataclasses.replace(p, group=name) for p in params]


_DECLARED: list[Param] = [
    *_group(
        "scale",
        Integer(name="talent_agents", default=50_000, unit="agents",
                low=100, high=5_000_000, role=SETTING,
                meaning="talent agents standing for the workforce (firms and merchants are one "
                        "agent each at any scale; the calibration targets are the same from "
                        "5,000 up: benchmarks/scale_invariance.py)",
                source="setting: indicators are in real units at any scale"),
        Integer(name="freeze_year", default=LAST_YEAR, unit="year",
                low=FIRST_YEAR, high=LAST_YEAR, role=SETTING,
                meaning="from the start of this year the world's dated events, trends and "
                        "levers stay as they were then (a what-if for stationarity tests; "
                        f"{LAST_YEAR}: never)",
                source="setting"),
    ),
    *_group(
        "population",
        Integer(name="xianghe_workforce_people", default=230_000, unit="people",
                low=50_000, high=1_000_000, role=UNCERTAINTY, prior="uniform(170000, 250000)",
                meaning="workers living or working in Xianghe in 2014",
                source="census: 449,038 residents 2020, 343,372 in 2010; ~0.6 employed (assumption)"),
        Integer(name="firm_pool", default=6_000, unit="firms",
                low=500, high=50_000, role=UNCERTAINTY, prior="lognormal(3500, 12000)",
                meaning="Beijing enterprises exposed to relocation pressure in 2014",
                source="county report 2021: 2,800+ manufacturing/polluting firms left Beijing 2014-2020; pool size assumed"),
        Number(name="firm_staff_median", default=60, unit="people",
               low=5, high=2_000, role=UNCERTAINTY, prior="lognormal(20, 150)",
               meaning="median staff of an exposed firm (lognormal, sigma 0.9)",
               source=ASSUMED_FIXED),
        Number(name="high_skill_share", default=0.18, unit="share",
               low=0.0, high=1.0, role=UNCERTAINTY, prior="uniform(0.12, 0.22)",
               meaning="share of high-skill workers (university degree)",
               source="census education shares (assumption)"),
        Number(name="skilled_share", default=0.37, unit="share",
               low=0.0, high=1.0, role=UNCERTAINTY, prior="uniform(0.2, 0.4)",
               meaning="share of skilled workers (vocational qualification); the rest are general",
               source="census education shares (assumption)"),
        Number(name="staff_high_skill_share", default=0.30, unit="share",
               low=0.0, high=1.0, role=UNCERTAINTY, prior="uniform(0.2, 0.45)",
               meaning="share of high-skill workers among the Beijing staff of exposed firms",
               source=ASSUMED_FIXED),
        Number(name="children_share", default=0.45, unit="share",
               low=0.0, high=1.0, role=UNCERTAINTY, prior="uniform(0.28, 0.45)",
               meaning="share of households with children of school age",
               source=ASSUMED_FIXED),
        Number(name="car_share_households", default=0.75, unit="share",
               low=0.0, high=1.0, role=UNCERTAINTY, prior="uniform(0.45, 0.8)",
               meaning="share of households with a car",
               source=ASSUMED_FIXED),
        Number(name="beijing_plate_share", default=0.72, unit="share",
               low=0.0, high=1.0, role=UNCERTAINTY, prior="uniform(0.3, 0.9)",
               meaning="share of Xianghe-resident car owners who drive a Beijing-plated car (their own, "
                       "a relative's or a rented plate) and need no entry permit",
               source=ASSUMED),
        Number(name="initial_out_commuter_share", default=0.25, unit="share",
               low=0.0, high=0.9, role=UNCERTAINTY, prior="uniform(0.1, 0.3)",
               meaning="share of Xianghe-resident workers with a job in Beijing or Tongzhou in 2014",
               source="BTI 2022: ~330,000 Hebei/Tianjin commuters, 43% from the three counties (assumption)"),
        Number(name="initial_in_commuter_share", default=0.04, unit="share",
               low=0.0, high=0.5, role=UNCERTAINTY, prior="uniform(0.01, 0.08)",
               meaning="share of the Xianghe workforce living in Beijing or Tongzhou in 2014",
               source=ASSUMED_FIXED),
        Number(name="staff_home_central_share", default=0.65, unit="share",
               low=0.0, high=1.0, role=CONSTANT,
               meaning="share of the exposed firms' Beijing staff living in the central city in "
                       "2014 (the rest in Tongzhou)",
               source=ASSUMED_FIXED),
        Number(name="out_commute_central_share", default=0.45, unit="share",
               low=0.0, high=1.0, role=CONSTANT,
               meaning="share of Xianghe's 2014 out-commuters working in the central city "
                       "(the rest in Tongzhou)",
               source=ASSUMED_FIXED),
        Number(name="in_commute_central_share", default=0.5, unit="share",
               low=0.0, high=1.0, role=CONSTANT,
               meaning="share of Xianghe's 2014 in-commuters living in the central city "
                       "(the rest in Tongzhou)",
               source=ASSUMED_FIXED),
    ),
    *_group(
        "enterprises",
        Number(name="firm_base_move_rate", default=0.032, unit="1/year",
               low=0.0, high=0.5, role=UNCERTAINTY, prior="uniform(0.02, 0.08)",
               meaning="rate at which a firm considers moving without policy push (some then stay, so "
                       "the realised rate is lower)",
               source="Tang, Li, Ni & Yuan 2020, China Econ. Rev. 64:101560 (3.2% a year moved)"),
        Number(name="catalogue_push", default=10.0, unit="factor",
               low=0.0, high=50.0, role=UNCERTAINTY, prior="lognormal(2, 30)",
               meaning="extra relocation hazard of a firm whose sub-class the catalogue restricts, "
                       "right after an edition",
               source=ASSUMED),
        Number(name="catalogue_push_halflife_years", default=1.5, unit="years",
               low=0.1, high=20.0, role=UNCERTAINTY, prior="uniform(0.5, 4)",
               meaning="half-life of the enforcement push after each catalogue edition",
               source=ASSUMED),
        Number(name="catalogue_share_2018", default=0.85, unit="share",
               low=0.0, high=1.0, role=UNCERTAINTY, prior="uniform(0.78, 0.95)",
               meaning="share of manufacturing sub-classes restricted by the 2018 edition "
                       "(2014: 45%, 2015: 78% are data)",
               source="Beijing catalogue of prohibited and restricted new industries, 2014 and 2015 editions (county report 2021); 2018 value assumed"),
        Number(name="catalogue_share_2022", default=0.85, unit="share",
               low=0.0, high=1.0, role=UNCERTAINTY, prior="uniform(0.8, 0.9)",
               meaning="share of manufacturing sub-classes restricted by the 2022 edition "
                       "(in force from 2022Q2)",
               source="assumption: the 2022 edition revised the 2018 one without a general "
                      "widening, so the same share; its enforcement push starts again "
                      "(prior 0.8-0.9)"),
        Number(name="mobility_sigma", default=1.2, unit="log sd",
               low=0.0, high=3.0, role=UNCERTAINTY, prior="uniform(0.6, 1.8)",
               meaning="spread of firms' ease of moving (lognormal); the easy movers go first",
               source=ASSUMED_FIXED),
        Number(name="land_rent_push", default=0.6, unit="elasticity",
               low=0.0, high=5.0, role=UNCERTAINTY, prior="uniform(0.2, 1.5)",
               meaning="elasticity of the move hazard to a firm's Beijing land cost share",
               source="Tang et al. 2020; Zheng & Shi 2018, Land Use Policy 76:58-67"),
        Number(name="staff_commute_compensation_share", default=0.35, unit="share",
               low=0.0, high=1.0, role=UNCERTAINTY, prior="uniform(0.2, 0.5)",
               meaning="share of its staff's extra commuting cost (time and money) a firm that "
                       "moves pays them, in wages or a shuttle, to keep them",
               source="Mulalic, van Ommeren & Pilegaard 2014, Econ. J. 124:1086-1105: after "
                      "Danish firms moved, wages compensated 15-20 % of the net hourly wage "
                      "per extra hour, about a third of the time cost at a value of time of "
                      "half the wage (prior 0.2-0.5)"),
        Number(name="staff_replacement_cost_share", default=0.2, unit="share of wage",
               low=0.0, high=3.0, role=UNCERTAINTY, prior="uniform(0.1, 0.4)",
               meaning="one-off cost of replacing a skilled or general staff member who "
                       "leaves a firm that moves (recruiting, training, lost output), as a "
                       "share of a year's wage",
               source="Boushey & Glynn 2012, Center for American Progress: 16-20 % of a "
                      "year's pay below $75,000 (prior 0.1-0.4)"),
        Number(name="key_staff_replacement_cost_share", default=1.0, unit="share of wage",
               low=0.0, high=3.0, role=UNCERTAINTY, prior="uniform(0.5, 2)",
               meaning="the same for a high-skill staff member (firm-specific knowledge, "
                       "clients, long searches)",
               source="Boushey & Glynn 2012: up to 213 % of a year's pay for highly paid, "
                      "highly educated positions (prior 0.5-2)"),
        Number(name="beta_cost", default=12.0, unit="1/(cost share)",
               low=0.0, high=200.0, role=UNCERTAINTY, prior="lognormal(5, 25)",
               meaning="disutility of location cost as a share of revenue (land, wages, net of subsidy)",
               source="Bartik 1991: elasticity -1 to -3 within a metro (assumption)"),
        Number(name="beta_permit_month", default=0.06, unit="1/month",
               low=0.0, high=1.0, role=UNCERTAINTY, prior="uniform(0.02, 0.15)",
               meaning="disutility of a month from signing to permits",
               source=ASSUMED),
        Number(name="permit_months_scale", default=1.0, unit="factor",
               low=0.1, high=3.0, role=UNCERTAINTY, prior="uniform(0.4, 1.1)",
               meaning="scales every region's months from land to permits (regions.toml, "
                       "before the focus county's reforms)",
               source="World Bank Doing Business, dealing with construction permits: the "
                      "whole process 311 days in China (DB2012), about 247 days in Beijing "
                      "(DB2018), 111 after the reforms (DB2020); the stage before building is "
                      "part of it (docs/priors.md)"),
        Number(name="beta_ties_km", default=0.004, unit="1/km",
               low=0.0, high=1.0, role=UNCERTAINTY, prior="lognormal(0.001, 0.015)",
               meaning="disutility of distance to Beijing partners, per km, for a firm with full ties",
               source="Nguyen et al. 2013 (structure); value assumed"),
        Number(name="beta_public_services_firm", default=1.5, unit="1/index",
               low=0.0, high=20.0, role=UNCERTAINTY, prior="uniform(0.5, 3)",
               meaning="weight of staff public services in the firm's choice",
               source=ASSUMED_FIXED),
        Number(name="beta_worker_access", default=0.8, unit="1/log",
               low=0.0, high=10.0, role=UNCERTAINTY, prior="uniform(0.3, 2)",
               meaning="weight of the log of skilled-worker access",
               source=ASSUMED_FIXED),
        Number(name="xianghe_firm_asc", default=-2.1, unit="utility",
               low=-20.0, high=20.0, role=UNCERTAINTY, prior="uniform(-5, 0)",
               meaning="Xianghe's alternative-specific constant in the location logit",
               source=ASSUMED),
        Number(name="stay_asc", default=1.5, unit="utility",
               low=-20.0, high=20.0, role=UNCERTAINTY, prior="uniform(0, 4)",
               meaning="constant of staying in Beijing once a firm considers moving",
               source=ASSUMED),
        Number(name="restricted_stay_penalty", default=3.0, unit="utility",
               low=0.0, high=20.0, role=UNCERTAINTY, prior="uniform(1, 6)",
               meaning="disutility of staying in Beijing for a firm the catalogue restricts",
               source=ASSUMED),
        Number(name="firm_revenue_median_yuan", default=80000000.0, unit="yuan/year",
               low=1e6, high=1e10, role=UNCERTAINTY, prior="lognormal(3e7, 1.2e8)",
               meaning="median revenue of an exposed firm (lognormal, sigma 1.0)",
               source=ASSUMED),
        Number(name="land_need_m2_per_staff", default=250.0, unit="m2/person",
               low=10.0, high=5_000.0, role=UNCERTAINTY, prior="lognormal(80, 600)",
               meaning="industrial land a manufacturing firm needs per staff member "
                       "(services need a fifth of it)",
               source=ASSUMED_FIXED),
        Number(name="investment_yuan_per_m2", default=18000.0, unit="yuan/m2",
               low=500.0, high=100_000.0, role=UNCERTAINTY, prior="lognormal(3000, 20000)",
               meaning="intended investment per m2 of land of a relocating project",
               source=ASSUMED),
        Number(name="tax_share_of_revenue", default=0.055, unit="share",
               low=0.0, high=0.5, role=UNCERTAINTY, prior="uniform(0.04, 0.07)",
               meaning="taxes paid by a producing firm as a share of revenue",
               source="assumption: VAT + income tax of Chinese manufacturing firms, to be checked"),
        Number(name="catalogue_share_2014", default=0.45, unit="share",
               low=0.0, high=1.0, role=CONSTANT,
               meaning="share of manufacturing sub-classes restricted by the 2014 edition",
               source="Beijing catalogue of prohibited and restricted new industries, 2014 edition (county report 2021)"),
        Number(name="catalogue_share_2015", default=0.78, unit="share",
               low=0.0, high=1.0, role=CONSTANT,
               meaning="share of manufacturing sub-classes restricted by the 2015 edition",
               source="Beijing catalogue of prohibited and restricted new industries, 2015 edition (county report 2021)"),
        Number(name="firm_size_sigma", default=1.0, unit="log sd",
               low=0.0, high=3.0, role=CONSTANT,
               meaning="spread of firm size (lognormal): revenue is proportional to size",
               source=ASSUMED_FIXED),
        Number(name="staff_size_elasticity", default=0.7, unit="elasticity",
               low=0.0, high=1.5, role=CONSTANT,
               meaning="elasticity of staff to firm size (larger firms are more productive per "
                       "worker)",
               source=ASSUMED_FIXED),
        Number(name="staff_sigma", default=0.5, unit="log sd",
               low=0.0, high=3.0, role=CONSTANT,
               meaning="spread of staff among firms of one size (lognormal)",
               source=ASSUMED_FIXED),
        Number(name="investment_sigma", default=0.4, unit="log sd",
               low=0.0, high=3.0, role=CONSTANT,
               meaning="spread of intended investment among projects of one land need (lognormal)",
               source=ASSUMED_FIXED),
        Number(name="ties_beta_shape", default=2.0, unit="shape",
               low=0.1, high=50.0, role=CONSTANT,
               meaning="both shape parameters of the beta distribution of firms' ties to Beijing "
                       "partners (2: mean 0.5, sd 0.22)",
               source=ASSUMED_FIXED),
        Number(name="cost_of_capital", default=0.06, unit="1/year",
               low=0.0, high=0.5, role=UNCERTAINTY, prior="uniform(0.04, 0.09)",
               meaning="yearly cost of holding a yuan of land: the user cost of capital tied up "
                       "in land",
               source=ASSUMED_FIXED),
        Number(name="subsidy_horizon_years", default=10.0, unit="years",
               low=1.0, high=50.0, role=UNCERTAINTY, prior="uniform(5, 15)",
               meaning="a relocating firm's planning horizon: years over which it spreads "
                       "one-off sums (a subsidy on its investment, replacing staff) when it "
                       "weighs them against yearly costs",
               source=ASSUMED_FIXED),
        Number(name="vocational_access_gain", default=1.3, unit="factor",
               low=1.0, high=5.0, role=UNCERTAINTY, prior="uniform(1, 1.6)",
               meaning="factor on Xianghe's skilled-worker access once vocational-school status "
                       "is mutually recognised",
               source=ASSUMED_FIXED),
        Number(name="incubator_full_yuan", default=1.0e8, unit="yuan/year",
               low=1e5, high=1e11, role=UNCERTAINTY, prior="loguniform(2e7, 5e8)",
               meaning="yearly incubator fund from which it works at full strength (weaker in "
                       "proportion below)",
               source=ASSUMED_FIXED),
        Number(name="incubator_failure_cut", default=0.2, unit="share",
               low=0.0, high=1.0, role=UNCERTAINTY, prior="uniform(0, 0.4)",
               meaning="share of the project failure rate a full-strength incubator fund removes "
                       "in the sectors it serves",
               source="evaluations of incubators find small or no effects on survival "
                      "(docs/priors.md); the prior's median (was an assumed 0.5)"),
        Number(name="hall_max_project_m2", default=10_000.0, unit="m2",
               low=0.0, high=1e6, role=CONSTANT,
               meaning="largest (clean) project a repurposed exhibition hall can take, in m2 of land",
               source=ASSUMED_FIXED),
    ),
    *_group(
        "new investment",
        Number(name="new_projects_per_year", default=600.0, unit="projects/year",
               low=0.0, high=20_000.0, role=UNCERTAINTY, prior="loguniform(150, 2500)",
               meaning="new investment projects a year, in 2014, that weigh a site in the four "
                       "receiving counties against one elsewhere in China (new production "
                       "lines and subsidiaries of Beijing firms, firms from elsewhere that want "
                       "to be near Beijing, spin-offs of pilot and incubation platforms); most "
                       "choose elsewhere; 0: none arrive",
               source="Beijing firms set up about 41,000 branches and subsidiaries in Tianjin "
                      "and Hebei in 2014-22, about 4,500 a year, most of them offices (People's "
                      "Daily, 5 Dec 2022); the four counties signed 85 projects at the 2019 and "
                      "2020 fairs and 39 at the May 2021 fair (Chinanews 14 May 2021), a lower "
                      "bound of their signings. How many projects weigh the area is not "
                      "published: prior 150-2,500 a year, fitted to the signings"),
        Number(name="new_projects_growth", default=0.0, unit="1/year",
               low=-0.5, high=0.5, role=UNCERTAINTY, prior="uniform(-0.05, 0.08)",
               meaning="yearly growth of the arrival of new investment projects",
               source="the fairs' signings: 85 in 2019-2020 together, 39 at one fair in 2021 "
                      "(Chinanews 14 May 2021); assumption (prior -5 to +8 % a year)"),
        Number(name="new_project_beijing_share", default=0.65, unit="share",
               low=0.0, high=1.0, role=UNCERTAINTY, prior="uniform(0.5, 0.8)",
               meaning="share of the new projects that are new lines or subsidiaries of "
                       "Beijing firms (ties to Beijing as the Beijing firms'; the rest come "
                       "from elsewhere in China or from platforms)",
               source="Sanhe's 19 parks in 2020: 734 technology firms, over 60 % from Beijing; "
                      "Wuqing: 23 of 30 signed projects from Beijing; 38,000 of the 41,000 "
                      "branches were subsidiaries (People's Daily 5 Dec 2022; prior 0.5-0.8)"),
        Number(name="new_project_platform_share", default=0.05, unit="share",
               low=0.0, high=1.0, role=UNCERTAINTY, prior="uniform(0, 0.1)",
               meaning="share of the new projects that are spin-offs of pilot and incubation "
                       "platforms (small, in the incubator sectors, tied to Beijing)",
               source="county report 2021: pilot-scale and incubation stages of cross-region "
                      "chains; the share is an assumption (prior 0-0.1)"),
        Number(name="new_project_size", default=1.5, unit="factor",
               low=0.01, high=100.0, role=UNCERTAINTY, prior="lognormal(0.5, 3)",
               meaning="size of a new project against a relocating Beijing firm of its sector "
                       "(its revenue, staff, land and investment)",
               source="the fairs' projects averaged 0.65 bn yuan of intended investment in "
                      "2019-2020 and 0.63 bn in 2021 (Chinanews 14 May 2021), about the "
                      "report's 0.5 bn for Xianghe's 11 (prior 0.5-3, median about 1.2)"),
        Number(name="elsewhere_ties_share", default=0.3, unit="share",
               low=0.0, high=1.0, role=UNCERTAINTY, prior="uniform(0.1, 0.6)",
               meaning="strength of a project from elsewhere in China's ties to Beijing "
                       "partners, as a share of a Beijing firm's",
               source="assumption: firms that want to be near Beijing have partners there, "
                      "fewer than its own firms (prior 0.1-0.6)"),
    ),
    *_group(
        "neighbours",
        Number(name="neighbour_firm_asc", default=0.0, unit="utility",
               low=-20.0, high=20.0, role=UNCERTAINTY, prior="uniform(-2, 2)",
               meaning="constant of Tongzhou, Sanhe and Dachang in the location logit, "
                       "added to Xianghe's (beyond their land, labour, services, distance and "
                       "the catalogue, which bars restricted firms from Tongzhou)",
               source="Xianghe signed 11 of the 39 projects of the May 2021 fair (Chinanews 14 "
                      "May 2021); assumption, fitted by calibration (prior -2 to 2)"),
        Switch(name="neighbours_match", default=False, unit="on/off",
               role=LEVER,
               meaning="Tongzhou, Sanhe and Dachang copy each measure of Xianghe that moves "
                       "firms (subsidy, targeting and attraction modes, incubator fund, "
                       "free-trade pilots, permit reforms, vocational recognition) after "
                       "neighbours_match_lag_years",
               source="Head, Ries & Swenson 1999, Reg. Sci. Urban Econ. 29(2): states' "
                      "promotion efforts largely cancel out; a scenario, not a measure of "
                      "Xianghe's"),
        Number(name="neighbours_match_lag_years", default=1.0, unit="years",
               low=0.0, high=20.0, role=UNCERTAINTY, prior="uniform(0.5, 3)",
               meaning="years after Xianghe starts a measure that its neighbours, matching, "
                       "start it (levers switch at a year's start: they start in the first "
                       "year at least this long after Xianghe, so 0.5 and 1 both mean the "
                       "next year)",
               source="assumption: a budget cycle or two (prior 0.5-3 years)"),
        Switch(name="regional_coordination", default=False, unit="on/off",
               role=LEVER,
               meaning="the four receiving counties attract projects jointly (Xianghe's "
                       "attraction measures and subsidy offered by all four, and an area-wide "
                       "promotion against elsewhere), share their land quota, and run no "
                       "subsidy race between them",
               source="county report 2021: from going it alone to regional coordination with "
                      "Tongzhou, Sanhe and Dachang: joint attraction, cross-region chains, "
                      "shared planning of land"),
        Number(name="coordination_area_bonus", default=0.2, unit="utility",
               low=0.0, high=10.0, role=UNCERTAINTY, prior="uniform(0, 0.5)",
               meaning="utility the four counties' joint promotion adds to each of them "
                       "against elsewhere, for projects choosing a site",
               source="assumption: joint fairs and a common offer; no published effect "
                      "(prior 0-0.5, up to a mode's bonus)"),
        Number(name="coordination_cost_yuan", default=1.0e7, unit="yuan/year",
               low=0.0, high=1e10, role=UNCERTAINTY, prior="loguniform(2e6, 3e7)",
               meaning="Xianghe's yearly public cost of regional coordination (joint "
                       "promotion, planning and administration)",
               source="assumption: no published figure; the measure's public cost is "
                      "flagged as assumed"),
    ),
    *_group(
        "pipeline",
        Number(name="construction_months", default=12.0, unit="months",
               low=1.0, high=60.0, role=UNCERTAINTY, prior="uniform(3, 24)",
               meaning="months of construction after permits (a project's mean: ready-built "
                       "standard factories take a fit-out, new plants months of building)",
               source="Changzhou investment office 2014, after CBRE: a standard steel-frame "
                      "factory takes 120-150 days to build, a concrete one 180, and zones "
                      "rent ready-built standard factories; docs/priors.md"),
        Integer(name="land_wait_max_quarters", default=6, unit="quarters",
                low=1, high=40, role=UNCERTAINTY, prior="uniform(4, 12)",
                meaning="quarters a signed project waits for land before it is abandoned as blocked",
                source=ASSUMED_FIXED),
        Number(name="project_failure_rate", default=0.03, unit="1/year",
               low=0.0, high=1.0, role=UNCERTAINTY, prior="uniform(0.02, 0.25)",
               meaning="rate at which a project in the pipeline fails",
               source=ASSUMED),
        Number(name="leave_again_rate", default=0.008, unit="1/year",
               low=0.0, high=1.0, role=UNCERTAINTY, prior="uniform(0.002, 0.03)",
               meaning="rate at which a producing polluting firm leaves again, per unit of threshold",
               source=ASSUMED),
        Number(name="env_threshold_growth", default=0.25, unit="1/year",
               low=0.0, high=2.0, role=UNCERTAINTY, prior="uniform(0.1, 0.3)",
               meaning="initial yearly rise of environmental and energy thresholds (2014 = 1)",
               source=ASSUMED_FIXED),
        Number(name="env_threshold_max", default=4.0, unit="factor",
               low=1.0, high=20.0, role=UNCERTAINTY, prior="uniform(2, 8)",
               meaning="level environmental and energy thresholds tend to (2014 = 1): the "
                       "tightening saturates instead of growing without bound",
               source="assumption: the 2013 Air Pollution Action Plan and the 2018-2020 Blue "
                      "Sky campaign tightened standards, which then levelled off; prior 2-8"),
        Number(name="stage_duration_sigma", default=0.25, unit="log sd",
               low=0.0, high=2.0, role=CONSTANT,
               meaning="spread of permit and construction times around their mean (lognormal)",
               source=ASSUMED_FIXED),
    ),
    *_group(
        "merchants",
        Number(name="merchant_follow_asc", default=2.0, unit="utility",
               low=-10.0, high=10.0, role=UNCERTAINTY, prior="uniform(-1, 3)",
               meaning="constant of following the market to Xianghe's platform",
               source=ASSUMED),
        Number(name="merchant_elsewhere_asc", default=0.0, unit="utility",
               low=-10.0, high=10.0, role=UNCERTAINTY, prior="uniform(-1, 2)",
               meaning="constant of moving to another market elsewhere (quitting is the reference, 0)",
               source=ASSUMED_FIXED),
        Number(name="merchant_exit_rate", default=0.05, unit="1/year",
               low=0.0, high=1.0, role=UNCERTAINTY, prior="uniform(0.05, 0.15)",
               meaning="rate at which a merchant trading in Xianghe quits",
               source=ASSUMED_FIXED),
        Number(name="merchant_entry_rate", default=0.05, unit="1/year",
               low=0.0, high=1.0, role=UNCERTAINTY, prior="uniform(0, 0.15)",
               meaning="rate at which new merchants join an open platform, as a share of "
                       "those trading there a year (while it has free places)",
               source="assumption: equal to the exit rate, so a platform keeps its trade; "
                      "prior 0-0.15, fitted by calibration"),
        Number(name="merchant_wait_give_up_rate", default=0.5, unit="1/year",
               low=0.0, high=10.0, role=UNCERTAINTY, prior="uniform(0.25, 2)",
               meaning="rate at which a merchant waiting for a place on a platform gives up for "
                       "another market",
               source=ASSUMED_FIXED),
    ),
    *_group(
        "talent",
        Number(name="talent_reconsider_rate", default=0.10, unit="1/year",
               low=0.0, high=1.0, role=UNCERTAINTY, prior="uniform(0.05, 0.2)",
               meaning="rate at which a worker reconsiders home and job",
               source=ASSUMED_FIXED),
        Number(name="beta_log_wage", default=3.0, unit="1/log yuan",
               low=0.0, high=20.0, role=UNCERTAINTY, prior="uniform(1.5, 5)",
               meaning="weight of the log wage in home/job choice",
               source=ASSUMED_FIXED),
        Number(name="beta_housing", default=2.5, unit="1/(cost share)",
               low=0.0, high=20.0, role=UNCERTAINTY, prior="uniform(1, 5)",
               meaning="disutility of housing cost as a share of income",
               source=ASSUMED_FIXED),
        Number(name="beta_commute", default=3.0, unit="1/(cost share)",
               low=0.0, high=20.0, role=UNCERTAINTY, prior="uniform(1.5, 8)",
               meaning="disutility of generalised commuting cost as a share of income",
               source=ASSUMED_FIXED),
        Number(name="beta_services_high", default=3.0, unit="1/index",
               low=0.0, high=20.0, role=UNCERTAINTY, prior="uniform(1.5, 5)",
               meaning="weight of public services for high-skill households",
               source="Su, Hua & Liang 2019, IRSR 42:400-430 (high-skilled weigh them more)"),
        Number(name="beta_services_other", default=1.5, unit="1/index",
               low=0.0, high=20.0, role=UNCERTAINTY, prior="uniform(0.5, 3)",
               meaning="weight of public services for skilled and general households",
               source="Su et al. 2019"),
        Number(name="background_job_growth", default=0.0, unit="1/year",
               low=-0.1, high=0.1, role=UNCERTAINTY, prior="uniform(-0.02, 0.05)",
               meaning="yearly growth of the jobs in Tongzhou and the focus county other than "
                       "those of the modelled firms (Beijing takes whoever works elsewhere)",
               source="assumption: a background held at 2014, so that the measures' effects "
                       "are against a fixed labour market (prior -0.02-0.05)"),
        Number(name="job_premium_adjustment", default=0.25, unit="share/quarter",
               low=0.01, high=1.0, role=UNCERTAINTY, prior="uniform(0.1, 1)",
               meaning="share of the gap to the job premium that fills a region's free jobs "
                       "closed in a quarter (how fast wages and vacancies adjust)",
               source="assumption: wages adjust over about a year (prior 0.1-1)"),
        Number(name="home_move_cost", default=3.0, unit="utility",
               low=0.0, high=20.0, role=UNCERTAINTY, prior="uniform(1.5, 6)",
               meaning="disutility of moving home",
               source=ASSUMED_FIXED),
        Number(name="job_change_cost", default=1.5, unit="utility",
               low=0.0, high=20.0, role=UNCERTAINTY, prior="uniform(0.5, 3)",
               meaning="disutility of changing job region",
               source=ASSUMED_FIXED),
        Number(name="value_of_time_share", default=0.5, unit="share of wage",
               low=0.0, high=2.0, role=UNCERTAINTY, prior="uniform(0.3, 0.7)",
               meaning="value of travel time as a share of the after-tax hourly wage",
               source="Whittington & Cook 2018, J. Benefit-Cost Anal."),
        Number(name="purchase_restriction_premium", default=0.35, unit="share",
               low=0.0, high=3.0, role=UNCERTAINTY, prior="uniform(0.1, 0.6)",
               meaning="extra housing cost of a household barred from buying in Xianghe "
                       "(non-local, social security outside Hebei; restriction from 2017Q2)",
               source=ASSUMED_FIXED),
        Number(name="services_spending_yuan", default=0.0, unit="yuan/year",
               low=0.0, high=1e11, role=LEVER,
               meaning="spending to close the public-service gap (schools, hospitals)",
               source=REPORT),
        Switch(name="talent_housing_eligibility", default=False, unit="on/off",
               role=LEVER,
               meaning="high-level talent with Beijing social security who work in Xianghe may buy a home",
               source=REPORT),
        Number(name="talent_housing_cost_yuan", default=1.0e6, unit="yuan/year",
               low=0.0, high=1e9, role=UNCERTAINTY, prior="loguniform(3e5, 3e6)",
               meaning="yearly public cost of administering talent housing eligibility (checks of employment and social security)",
               source="assumption: no published figure; the measure's public cost is flagged as assumed"),
        Switch(name="vocational_recognition", default=False, unit="on/off",
               role=LEVER,
               meaning="mutual recognition of vocational-school status with Beijing",
               source=REPORT),
        Number(name="vocational_recognition_cost_yuan", default=5.0e6, unit="yuan/year",
               low=0.0, high=1e9, role=UNCERTAINTY, prior="loguniform(1e6, 2e7)",
               meaning="yearly public cost of mutual recognition of vocational-school status (curricula, exams, staff)",
               source="assumption: no published figure; the measure's public cost is flagged as assumed"),
    ),
    *_group(
        "commuting",
        Number(name="noncommute_trips_per_resident", default=0.045, unit="persons/resident/day",
               low=0.0, high=1.0, role=UNCERTAINTY, prior="uniform(0.02, 0.08)",
               meaning="Xianghe residents crossing the border on a working day for other purposes",
               source=ASSUMED_FIXED),
        Number(name="commute_days_share", default=0.9, unit="share",
               low=0.0, high=1.0, role=UNCERTAINTY, prior="uniform(0.85, 0.97)",
               meaning="share of working days a cross-border commuter actually crosses",
               source=ASSUMED_FIXED),
        Number(name="checkpoint_service_veh_h", default=180.0, unit="vehicles/hour/lane",
               low=10.0, high=2_000.0, role=UNCERTAINTY, prior="uniform(120, 300)",
               meaning="vehicles one checkpoint lane clears per hour on normal days",
               source=ASSUMED),
        Number(name="peak_share", default=0.6, unit="share",
               low=0.01, high=1.0, role=UNCERTAINTY, prior="uniform(0.45, 0.75)",
               meaning="share of the day's Beijing-bound vehicles arriving in the morning peak",
               source=ASSUMED_FIXED),
        Number(name="peak_hours", default=3.0, unit="hours",
               low=0.25, high=12.0, role=UNCERTAINTY, prior="uniform(2, 4)",
               meaning="length of the morning peak",
               source=ASSUMED_FIXED),
        Number(name="event_service_factor", default=0.55, unit="share",
               low=0.05, high=1.0, role=UNCERTAINTY, prior="uniform(0.3, 0.8)",
               meaning="checkpoint throughput on major-event security days relative to normal days",
               source=ASSUMED_FIXED),
        Number(name="event_days_share", default=0.08, unit="share",
               low=0.0, high=1.0, role=UNCERTAINTY, prior="uniform(0.04, 0.12)",
               meaning="share of working days under major-event security",
               source=ASSUMED_FIXED),
        Number(name="delay_learning", default=0.4, unit="share",
               low=0.01, high=1.0, role=UNCERTAINTY, prior="uniform(0.2, 0.7)",
               meaning="weight of the latest quarter in the checkpoint delay and bus crowding commuters "
                       "expect (adaptive expectations)",
               source=ASSUMED_FIXED),
        Number(name="car_occupancy", default=1.3, unit="persons/vehicle",
               low=1.0, high=5.0, role=UNCERTAINTY, prior="uniform(1.1, 1.6)",
               meaning="persons per cross-border car",
               source=ASSUMED_FIXED),
        Number(name="bus_line_capacity", default=5600.0, unit="persons/day",
               low=100.0, high=50_000.0, role=UNCERTAINTY, prior="uniform(2000, 8000)",
               meaning="cross-border passengers one bus line carries a working day",
               source="140,000 commuter trips a day on 25 cross-province lines of the three "
                      "northern counties (Beijing sub-centre paper, 2023; docs/priors.md); "
                      "was an assumed 9,000"),
        Number(name="bus_asc", default=-2.3, unit="utility",
               low=-20.0, high=20.0, role=UNCERTAINTY, prior="uniform(-4, -0.5)",
               meaning="constant of the bus against the car (stops badly placed, transfers)",
               source=ASSUMED),
        Integer(name="checkpoint_lanes", default=36, unit="lanes",
                low=1, high=400, role=LEVER,
                meaning="inbound inspection lanes over the Xianghe-Beijing checkpoints",
                source=ASSUMED_FIXED),
        Integer(name="bus_lines", default=6, unit="lines",
                low=0, high=200, role=LEVER,
                meaning="cross-border bus lines",
                source="Xinhua 2017-07-29: 938, 938 express, 810, "
                       "two commuter expresses, 101"),
        Integer(name="entry_permits_per_year", default=12, unit="permits/year",
                low=0, high=366, role=LEVER,
                meaning="entry permits a non-Beijing car may get a year (limit from Nov 2019)",
                source="Beijing entry-permit rules from November 2019: at most 12 a year (county report 2021)"),
        Integer(name="entry_permit_days", default=7, unit="days",
                low=1, high=366, role=LEVER,
                meaning="days one entry permit lasts",
                source="Beijing entry-permit rules from November 2019: at most 7 days each (county report 2021)"),
        Number(name="bus_line_cost_yuan", default=6.0e6, unit="yuan/year",
               low=0.0, high=1e9, role=UNCERTAINTY, prior="lognormal(2e6, 1.5e7)",
               meaning="yearly public subsidy for running one cross-border bus line",
               source=ASSUMED_FIXED),
        Number(name="lane_cost_yuan", default=1.5e6, unit="yuan/year",
               low=0.0, high=1e9, role=UNCERTAINTY, prior="uniform(1e6, 3e6)",
               meaning="yearly cost of staffing one checkpoint lane",
               source=ASSUMED_FIXED),
        Number(name="road_factor", default=1.3, unit="road km/km",
               low=1.0, high=3.0, role=CONSTANT,
               meaning="road kilometres per straight-line kilometre",
               source=ASSUMED_FIXED),
        Number(name="car_min_per_km", default=1.5, unit="min/km",
               low=0.5, high=10.0, role=CONSTANT,
               meaning="congested car travel time (1.5: 40 km/h)",
               source=ASSUMED_FIXED),
        Number(name="bus_min_per_km", default=2.2, unit="min/km",
               low=0.5, high=10.0, role=CONSTANT,
               meaning="bus travel time, stops included",
               source=ASSUMED_FIXED),
        Number(name="car_fixed_min", default=8.0, unit="minutes",
               low=0.0, high=120.0, role=CONSTANT,
               meaning="minutes of a car trip besides driving: parking, access",
               source=ASSUMED_FIXED),
        Number(name="bus_fixed_min", default=20.0, unit="minutes",
               low=0.0, high=120.0, role=CONSTANT,
               meaning="minutes of a bus trip besides riding: walking to badly placed stops, waiting",
               source=ASSUMED_FIXED),
        Number(name="local_trip_min", default=30.0, unit="minutes",
               low=0.0, high=120.0, role=CONSTANT,
               meaning="one-way minutes of a commute within one region, by any mode",
               source=ASSUMED_FIXED),
        Number(name="car_yuan_per_km", default=0.8, unit="yuan/km",
               low=0.0, high=10.0, role=CONSTANT,
               meaning="fuel and wear of a car",
               source=ASSUMED_FIXED),
        Number(name="car_fixed_yuan", default=10.0, unit="yuan/trip",
               low=0.0, high=200.0, role=CONSTANT,
               meaning="tolls and parking of a car trip",
               source=ASSUMED_FIXED),
        Number(name="bus_fare_yuan", default=8.0, unit="yuan/trip",
               low=0.0, high=200.0, role=CONSTANT,
               meaning="fare of a cross-region bus trip",
               source=ASSUMED_FIXED),
        Number(name="local_trip_yuan", default=5.0, unit="yuan/trip",
               low=0.0, high=200.0, role=CONSTANT,
               meaning="money cost of a commute within one region",
               source=ASSUMED_FIXED),
        Number(name="bus_check_min", default=15.0, unit="minutes",
               low=0.0, high=120.0, role=CONSTANT,
               meaning="minutes bus passengers lose leaving the bus for the identity check",
               source=ASSUMED_FIXED),
        Number(name="offpeak_delay_share", default=0.3, unit="share",
               low=0.0, high=1.0, role=CONSTANT,
               meaning="checkpoint delay a reverse commuter meets entering Beijing off the peak, "
                       "as a share of the peak delay",
               source=ASSUMED_FIXED),
        Number(name="working_days", default=250.0, unit="days/year",
               low=200.0, high=300.0, role=CONSTANT,
               meaning="working days a year",
               source="PRC calendar: 365 days less 104 weekend days and 11 public holidays"),
        Number(name="working_hours", default=2_000.0, unit="hours/year",
               low=1_000.0, high=3_500.0, role=CONSTANT,
               meaning="working hours a year, to turn a yearly wage into an hourly one",
               source="250 days of 8 hours"),
        Number(name="after_tax_share", default=0.8, unit="share",
               low=0.3, high=1.0, role=CONSTANT,
               meaning="take-home pay over gross wage (income tax and social security)",
               source=ASSUMED_FIXED),
        Number(name="bus_crowding_alpha", default=0.15, unit="factor",
               low=0.0, high=5.0, role=CONSTANT,
               meaning="BPR alpha of bus crowding: t = t0 (1 + alpha (load)^beta)",
               source="Bureau of Public Roads 1964"),
        Number(name="bus_crowding_beta", default=4.0, unit="exponent",
               low=1.0, high=10.0, role=CONSTANT,
               meaning="BPR beta of bus crowding",
               source="Bureau of Public Roads 1964"),
        Number(name="bus_crowding_max", default=2.0, unit="factor",
               low=1.0, high=10.0, role=CONSTANT,
               meaning="largest crowding factor on bus time: beyond it riders wait for the next bus "
                       "rather than squeeze in",
               source=ASSUMED_FIXED),
        Number(name="no_bus_cost_share", default=1.0, unit="share of wage",
               low=0.0, high=10.0, role=CONSTANT,
               meaning="yearly cost of crossing without a car where no cross-border bus runs",
               source=ASSUMED_FIXED),
        Number(name="queue_overload_cap", default=2.0, unit="factor",
               low=0.1, high=10.0, role=CONSTANT,
               meaning="largest overload of the checkpoints (arrivals over capacity, less one) "
                       "commuters sit through; beyond it they leave earlier instead, so the "
                       "wait never exceeds cap x peak hours / 2",
               source=ASSUMED_FIXED),
    ),
    *_group(
        "land",
        Number(name="county_land_quota_km2", default=1.9, unit="km2/year",
               low=0.0, high=20.0, role=UNCERTAINTY, prior="uniform(0.8, 2.5)",
               meaning="new construction-land quota the county receives a year",
               source=ASSUMED),
        Number(name="construction_land_2014_km2", default=118.5, unit="km2",
               low=0.0, high=141.5, role=UNCERTAINTY, prior="uniform(110, 124)",
               meaning="construction land in the focus county at the start of 2014 (at most "
                       "the cap of the coordinated plan, 30.9 % of 458 km2)",
               source="back-cast from the report's 27.8% of 458 km2 in 2020 (assumption)"),
        Number(name="plan_release_share", default=0.7, unit="share",
               low=0.0, high=1.0, role=UNCERTAINTY, prior="uniform(0.5, 0.9)",
               meaning="share of the yearly quota usable before the territorial spatial plan is approved",
               source=ASSUMED_FIXED),
        Number(name="resident_growth", default=6_000.0, unit="people/year",
               low=0.0, high=100_000.0, role=UNCERTAINTY, prior="uniform(3000, 9000)",
               meaning="residents the county gains a year besides the workers the model moves",
               source="census 2010-2020: +10,600 a year in all (assumption for the part not modelled)"),
        Number(name="residents_per_worker", default=1.8, unit="people/worker",
               low=1.0, high=5.0, role=UNCERTAINTY, prior="uniform(1.6, 2.2)",
               meaning="residents per resident worker (household size over earners)",
               source="census 449,038 residents against ~250,000 workers (assumption)"),
        Number(name="housing_land_m2_per_resident", default=100.0, unit="m2/person",
               low=0.0, high=500.0, role=UNCERTAINTY, prior="uniform(65, 115)",
               meaning="construction land taken by housing and infrastructure per new resident",
               source="national planning standard GB 50137-2011: 65-115 m2 of urban "
                      "construction land a person, 85-105 for new towns (prior 65-115)"),
        Number(name="background_land_km2", default=0.75, unit="km2/year",
               low=0.0, high=20.0, role=UNCERTAINTY, prior="uniform(0.3, 1.2)",
               meaning="construction land taken a year by infrastructure and local firms",
               source=ASSUMED),
        Number(name="idle_industrial_land_km2", default=3.0, unit="km2",
               low=0.0, high=50.0, role=UNCERTAINTY, prior="uniform(1, 6)",
               meaning="idle land held by firms that the space-optimisation fund can redevelop",
               source=ASSUMED_FIXED),
        Number(name="space_fund_cost_yuan_m2", default=1_500.0, unit="yuan/m2",
               low=10.0, high=100_000.0, role=UNCERTAINTY, prior="uniform(750, 3000)",
               meaning="public cost of returning one m2 of idle land to use",
               source=ASSUMED_FIXED),
        Switch(name="provincial_land_quota", default=False, unit="on/off",
               role=LEVER,
               meaning="major projects put into provincial key projects, landing on provincial quota",
               source=REPORT),
        Number(name="provincial_quota_cost_yuan", default=2.0e6, unit="yuan/year",
               low=0.0, high=1e9, role=UNCERTAINTY, prior="loguniform(5e5, 5e6)",
               meaning="yearly public cost of preparing major projects for the provincial key-project list",
               source="assumption: no published figure; the measure's public cost is flagged as assumed"),
        Number(name="major_project_yuan", default=3.0e8, unit="yuan",
               low=0.0, high=1e11, role=UNCERTAINTY, prior="loguniform(2e8, 5e9)",
               meaning="intended investment from which a project counts as major",
               source="Shijiazhuang's 2020 city key projects average 0.24 bn yuan, Hebei's "
                      "2017 provincial ones 4.9 bn (docs/priors.md)"),
        Number(name="space_fund_yuan", default=0.0, unit="yuan/year",
               low=0.0, high=1e10, role=LEVER,
               meaning="industrial-space optimisation fund co-developing idle land",
               source=REPORT),
        Switch(name="fast_spatial_plan", default=False, unit="on/off",
               role=LEVER,
               meaning="faster approval of the territorial spatial plan: quota released at once",
               source=REPORT),
        Number(name="spatial_plan_cost_yuan", default=5.0e6, unit="yuan/year",
               low=0.0, high=1e9, role=UNCERTAINTY, prior="loguniform(1e6, 1e7)",
               meaning="yearly public cost of faster territorial spatial planning (planners, studies)",
               source="assumption: no published figure; the measure's public cost is flagged as assumed"),
        Switch(name="hall_conversion", default=False, unit="on/off",
               role=LEVER,
               meaning="repurpose 700,000 m2 of idle exhibition halls for markets and small firms",
               source=REPORT),
        Number(name="hall_conversion_cost_yuan_m2", default=300.0, unit="yuan/m2",
               low=0.0, high=1e5, role=UNCERTAINTY, prior="uniform(150, 800)",
               meaning="one-off public cost of refitting one m2 of idle exhibition hall for markets and small firms",
               source="assumption: light refit of existing halls; flagged as assumed"),
        Number(name="space_fund_ready_m2", default=200_000.0, unit="m2",
               low=0.0, high=1e7, role=CONSTANT,
               meaning="redeveloped idle land the space fund keeps ready for projects; it spends "
                       "nothing beyond",
               source=ASSUMED_FIXED),
        Number(name="land_price_adjustment", default=0.01, unit="1/quarter",
               low=0.0, high=1.0, role=UNCERTAINTY, prior="uniform(0, 0.03)",
               meaning="how fast a county's scarcity premium on industrial land grows with the "
                       "excess demand for ready land: the log change in a quarter when "
                       "projects wait and no land is ready (falling back to no premium when "
                       "land is ready and none waits)",
               source="assumption: counties ration scarce industrial land by quota rather "
                      "than price it up; the auction prices of Xianghe and Sanhe stayed at "
                      "750-820 yuan/m2 from 2020 to 2026 (docs/evidence.md), so at most about "
                      "12 % a year under full excess demand (prior 0-0.03)"),
        Number(name="xianghe_land_price_yuan_m2", default=800.0, unit="yuan/m2",
               low=50.0, high=10_000.0, role=UNCERTAINTY, prior="uniform(500, 1000)",
               meaning="the industrial land price Xianghe would ask alone when land is not "
                       "short (its anchor; it then sets its price against its neighbours')",
               source="Xianghe and Sanhe industrial auctions 600-900 yuan/m2 in 2020 (Sanhe, "
                      "Feb 2020: 817; Xianghe 2026: 754-762 starting prices), Langfang's "
                      "southern counties 150-360 in 2014 (docs/evidence.md; prior 500-1000)"),
        Number(name="land_price_competition", default=0.3, unit="share",
               low=0.0, high=1.0, role=UNCERTAINTY, prior="uniform(0, 0.6)",
               meaning="weight a county's asking price for industrial land puts on its "
                       "neighbours' prices (the other receiving counties on its side of the "
                       "Beijing boundary) rather than its own anchor",
               source="counties competing to supply land keep industrial land prices down "
                      "and follow each other (Hu & Xu 2021, 改革; Land Use Policy 2020, "
                      "104704); the weight is an assumption (prior 0-0.6)"),
    ),
    *_group(
        "public services",
        Number(name="services_drift", default=0.006, unit="index/year",
               low=0.0, high=0.1, role=UNCERTAINTY, prior="uniform(0.002, 0.012)",
               meaning="yearly rise of Xianghe's public-service indices as it was "
                       "(cross-region services, 30 hospitals under insurance agreement)",
               source=REPORT),
        Number(name="services_yuan_per_point", default=2.0e9, unit="yuan/index point",
               low=1e7, high=1e12, role=UNCERTAINTY, prior="loguniform(1e8, 2e9)",
               meaning="yearly spending that closes one hundredth of the gap between "
                       "Xianghe's public-service indices and Beijing's",
               source=ASSUMED_FIXED),
        Number(name="education_weight_no_children", default=0.2, unit="share",
               low=0.0, high=1.0, role=CONSTANT,
               meaning="weight of education in the public-service index of a household without "
                       "children",
               source=ASSUMED_FIXED),
        Number(name="health_weight_no_children", default=0.4, unit="share",
               low=0.0, high=1.0, role=CONSTANT,
               meaning="weight of health (social security takes the rest) for a household "
                       "without children",
               source=ASSUMED_FIXED),
        Number(name="education_weight_children", default=0.5, unit="share",
               low=0.0, high=1.0, role=CONSTANT,
               meaning="weight of education for a household with children of school age",
               source=ASSUMED_FIXED),
        Number(name="health_weight_children", default=0.25, unit="share",
               low=0.0, high=1.0, role=CONSTANT,
               meaning="weight of health (social security takes the rest) for a household with "
                       "children",
               source=ASSUMED_FIXED),
    ),
    *_group(
        "targeting",
        Number(name="sector_targeting", default=0.0, unit="strength",
               low=0.0, high=1.0, role=LEVER,
               meaning="focus on functions Beijing cannot hold, cannot do without, cannot go far: "
                       "utility bonus for '1+3+2' sectors, screening of general manufacturing",
               source=REPORT),
        Switch(name="mode_industry_chain", default=False, unit="on/off",
               role=LEVER,
               meaning="industry-chain attraction (auto parts, equipment, bio-health leaders)",
               source=REPORT),
        Switch(name="mode_associations", default=False, unit="on/off",
               role=LEVER,
               meaning="attraction through industry associations (back-office services)",
               source=REPORT),
        Switch(name="mode_zgc_parks", default=False, unit="on/off",
               role=LEVER,
               meaning="parks co-built with Zhongguancun, park in park with incubators",
               source=REPORT),
        Switch(name="mode_platform_branches", default=False, unit="on/off",
               role=LEVER,
               meaning="branches of large platform firms",
               source=REPORT),
        Number(name="mode_bonus", default=0.25, unit="utility",
               low=0.0, high=10.0, role=UNCERTAINTY, prior="uniform(0.1, 0.8)",
               meaning="utility an attraction mode adds for the sectors it works on (also the "
                       "unit of the targeting, incubator and free-trade-zone bonuses)",
               source="about 2 % of revenue a year at beta_cost 12: what joining its "
                      "sector's chain may be worth to a firm (Greenstone, Hornbeck & Moretti "
                      "2010, JPE 118:536-598: incumbents' TFP +12 % five years after a large "
                      "plant opens nearby); was 0.8, worth more than a firm's whole land and "
                      "wage cost (xianghe elasticities; prior 0.1-0.8)"),
        Number(name="mode_cost_yuan", default=3.0e7, unit="yuan/year",
               low=0.0, high=1e10, role=UNCERTAINTY, prior="loguniform(1e7, 1e8)",
               meaning="yearly public cost of running one attraction mode",
               source=ASSUMED_FIXED),
    ),
    *_group(
        "permits",
        Switch(name="permit_devolution", default=False, unit="on/off",
               role=LEVER,
               meaning="provincial and city approval powers devolved to the county",
               source=REPORT),
        Number(name="devolution_cost_yuan", default=5.0e6, unit="yuan/year",
               low=0.0, high=1e9, role=UNCERTAINTY, prior="loguniform(2e6, 1e7)",
               meaning="yearly public cost of handling devolved approvals in the county (about 30 posts)",
               source="assumption: no published figure; the measure's public cost is flagged as assumed"),
        Switch(name="commitment_system", default=False, unit="on/off",
               role=LEVER,
               meaning="enterprise-investment commitment system, build first and inspect after",
               source=REPORT),
        Number(name="commitment_cost_yuan", default=2.0e6, unit="yuan/year",
               low=0.0, high=1e9, role=UNCERTAINTY, prior="loguniform(5e5, 5e6)",
               meaning="yearly public cost of inspecting projects built under the commitment system",
               source="assumption: no published figure; the measure's public cost is flagged as assumed"),
        Number(name="devolution_permit_months", default=4.0, unit="months",
               low=0.0, high=60.0, role=UNCERTAINTY, prior="uniform(3, 7)",
               meaning="months for permits once powers are devolved (as it was: the region's own)",
               source=ASSUMED_FIXED),
        Number(name="commitment_overlap_share", default=0.6, unit="share",
               low=0.0, high=1.0, role=UNCERTAINTY, prior="uniform(0.3, 0.8)",
               meaning="share of the permit time that overlaps construction under the commitment system",
               source=ASSUMED_FIXED),
    ),
    *_group(
        "subsidies",
        Switch(name="ftz_extension", default=False, unit="on/off",
               role=LEVER,
               meaning="free-trade-zone and services-opening pilot policies extended to Xianghe",
               source=REPORT),
        Number(name="ftz_cost_yuan", default=1.0e7, unit="yuan/year",
               low=0.0, high=1e10, role=UNCERTAINTY, prior="loguniform(2e6, 3e7)",
               meaning="yearly public cost of running free-trade-zone and services-opening pilots",
               source="assumption: no published figure; the measure's public cost is flagged as assumed"),
        Number(name="investment_subsidy_rate", default=0.0, unit="share of investment",
               low=0.0, high=0.5, role=LEVER,
               meaning="subsidy and reward paid as a share of a project's intended investment",
               source=REPORT),
        Switch(name="subsidy_clawback", default=False, unit="on/off",
               role=LEVER,
               meaning="the investment subsidy of a project that fails or is blocked before "
                       "production is paid back",
               source="common clause of Chinese investment agreements (assumption)"),
        Number(name="incubator_fund_yuan", default=0.0, unit="yuan/year",
               low=0.0, high=1e10, role=LEVER,
               meaning="special fund for pilot bases and incubators",
               source=REPORT),
    ),
]


def _with_start_years(declared: list[Param]) -> dict[str, Param]:
    params: dict[str, Param] = {}
    for p in declared:
        if p.role is LEVER:
            start = StartYear(name=f"{p.name}_start_year", default=POLICY_YEAR, unit="year",
                              low=FIRST_YEAR, high=LAST_YEAR, role=LEVER, group=p.group,
                              meaning=f"first year in which {p.name} takes the value set",
                              source="scenario choice; by default the policy year, the "
                                     "first after the figures the model is fitted to",
                              lever=p.name)
            params[p.name] = dataclasses.replace(p, start_year=start.name)
            params[start.name] = start
        else:
            params[p.name] = p
    return params


# The calibration's point estimate (`xianghe calibrate` writes it): the defaults of the
# uncertain parameters it estimated. Delete the file to run with the declared values.
CALIBRATED_FILE = Path(__file__).resolve().parent.parent / "calibration" / "calibrated.toml"


def _calibrated(params: dict[str, Param], path: Path = CALIBRATED_FILE) -> dict[str, Param]:
    if not path.exists():
        return params
    try:
        values = tomllib.loads(path.read_text("utf-8"))["values"]
    except (OSError, tomllib.TOMLDecodeError, KeyError) as err:
        raise ParamError(f"{path}: unreadable ({type(err).__name__}); allowed: the file "
                         "`xianghe calibrate` writes, or none") from None
    out = dict(params)
    for name, value in values.items():
        p = params.get(name)
        if p is None or p.role is not Role.UNCERTAINTY:
            raise ParamError(f"{path}: {name!r} is not an uncertain parameter; allowed: "
                             "names of role uncertainty (`xianghe params`)")
        out[name] = dataclasses.replace(
            p, default=value,
            source=f"{p.source}; calibrated: calibration/calibrated.toml "
                   f"(declared {p.format(p.default)})")
    return out


DECLARED: dict[str, Param] = _with_start_years(_DECLARED)   # the values as declared
PARAMS: dict[str, Param] = _calibrated(DECLARED)
LEVERS: tuple[str, ...] = tuple(p.name for p in PARAMS.values() if p.start_year)
# The scale at which one firm or merchant agent is one real firm or merchant.
FULL_SCALE_TALENT: int = PARAMS["talent_agents"].default


def is_year(value: Any, low: int = FIRST_YEAR) -> bool:
    """Whether ``value`` is a year the model can run: an integer (not a bool) in
    [``low``, LAST_YEAR]."""
    return not isinstance(value, bool) and isinstance(value, int) and low <= value <= LAST_YEAR


def levers_set(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The levers ``values`` sets away from their "as it was" defaults, each with the value
    and the first year it applies: ``{lever: {"value": v, "from": year}}``, in declared
    order. What every output says of the measures it ran."""
    return {lever: {"value": values[lever],
                    "from": int(values.get(PARAMS[lever].start_year, POLICY_YEAR))}
            for lever in LEVERS
            if lever in values and values[lever] != PARAMS[lever].default}


def levers_by_year(levers: Mapping[str, Mapping[str, Any]]) -> dict[int, list[tuple[str, str]]]:
    """:func:`levers_set`'s levers grouped by their first year, years in order:
    ``{year: [(lever, value as the command line writes it), ...]}``."""
    grouped: dict[int, list[tuple[str, str]]] = {}
    for name, lever in levers.items():
        grouped.setdefault(lever["from"], []).append((name, PARAMS[name].format(lever["value"])))
    return dict(sorted(grouped.items()))


def starting_in(values: Mapping[str, Any], year: int) -> dict[str, Any]:
    """``values`` with every lever it sets away from its default starting in ``year``."""
    out = dict(values)
    for lever in levers_set(values):
        out[PARAMS[lever].start_year] = year
    return out


def defaults() -> dict[str, Any]:
    """Every parameter at its default."""
    return {name: p.default for name, p in PARAMS.items()}


def lookup(name: str) -> Param:
    """The declaration of ``name``, or a :class:`ParamError` naming the problem."""
    try:
        return PARAMS[name]
    except KeyError:
        raise ParamError(
            f"unknown parameter {name!r}; `xianghe params` lists the {len(PARAMS)} allowed"
        ) from None


def resolve(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults updated by ``overrides``, each checked against its declaration."""
    values = defaults()
    for name, value in (overrides or {}).items():
        values[name] = lookup(name).check(value)
    permit_days = values["entry_permits_per_year"] * values["entry_permit_days"]
    if permit_days > DAYS_PER_YEAR:
        raise ParamError(
            f"parameters entry_permits_per_year x entry_permit_days: {permit_days} days; "
            f"allowed: at most {DAYS_PER_YEAR} days a year"
        )
    for high in ("high_skill_share", "staff_high_skill_share"):
        total = values[high] + values["skilled_share"]
        if total > 1.0:
            raise ParamError(
                f"parameters {high} + skilled_share: {total:g}; allowed: at most 1"
            )
    for kind in ("no_children", "children"):
        total = values[f"education_weight_{kind}"] + values[f"health_weight_{kind}"]
        if total > 1.0:
            raise ParamError(f"parameters education_weight_{kind} + health_weight_{kind}: "
                             f"{total:g}; allowed: at most 1 (social security takes the rest)")
    return values


class View:
    """A submodel's parameters, as a frozen dataclass of declared names (see :func:`view`)."""

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Self:
        """The view of a full parameter mapping (as :func:`resolve` gives)."""
        return cls(**{name: values[name] for name in cls.__dataclass_fields__})


def view[V: type[View]](cls: V) -> V:
    """Make ``cls`` a frozen dataclass whose fields are declared parameters.

    A field that names no declared parameter, or whose type is not the parameter's, fails
    here, when the submodel's module is imported.
    """
    cls = dataclass(frozen=True, slots=True)(cls)
    for field in dataclasses.fields(cls):
        p = PARAMS.get(field.name)
        if p is None:
            raise NameError(f"{cls.__qualname__}.{field.name}: no parameter of that name is "
                            "declared in model.params")
        if field.type not in (p.type, p.type.__name__):
            raise TypeError(f"{cls.__qualname__}.{field.name}: declared as {field.type}, "
                            f"but the parameter is a {p.type.__name__}")
    return cls
