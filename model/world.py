"""The world the agents live in, read from ``model/data/``: regions, sectors and markets.

A region is a row of attributes, so another receiving county is a new table in
``regions.toml``, not new code. The module turns the rows into numpy arrays that the
submodels index by region, sector or market number.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

SKILLS = ("high", "skilled", "general")
MODES = ("industry_chain", "associations", "zgc_parks", "platform_branches")


@dataclass(frozen=True)
class World:
    """Regions, sectors and markets as arrays (one entry per row of the data files)."""

    region_names: tuple[str, ...]
    region_labels: tuple[str, ...]
    side: np.ndarray                 # 0 beijing side, 1 hebei, 2 other
    xy_km: np.ndarray                # (R, 2)
    talent: np.ndarray               # bool (R,)
    firm_destination: np.ndarray     # bool (R,)
    in_beijing: np.ndarray           # bool (R,)
    firm_asc: np.ndarray
    land_price_yuan_m2: np.ndarray
    wage_yuan: np.ndarray            # (R, 3) by skill
    housing_cost_yuan: np.ndarray
    services: np.ndarray             # (R, 3) education, health, social security
    permit_months: np.ndarray
    worker_access: np.ndarray
    home_asc: np.ndarray
    focus: int                       # index of the county the levers act on
    area: np.ndarray                 # bool (R,): the receiving counties competing for projects
    labour_like: np.ndarray          # (R,) the talent region whose labour a firm finds, -1: own
    county_area_km2: np.ndarray      # (R,) land of the receiving counties (NaN elsewhere)
    county_cap_share: np.ndarray
    county_land_2014_km2: np.ndarray
    county_quota_km2: np.ndarray
    area_km2: float
    intensity_cap: float
    purchase_restriction_year: float
    residents_2014: float
    hall_firm_space_m2: float        # repurposed hall space left for small firms
    idle_halls_m2: float             # idle exhibition halls the conversion refits
    catalogue_years: tuple[float, ...]   # when each catalogue edition came into force
    catalogue_shares: tuple[str, ...]    # the parameter holding each edition's share
    entry_permit_limit_year: float
    sector_names: tuple[str, ...]
    sector_labels: tuple[str, ...]
    sector_share: np.ndarray
    sector_target: np.ndarray
    sector_catalogue: np.ndarray
    sector_land: np.ndarray
    sector_pollution: np.ndarray
    sector_revenue: np.ndarray
    sector_modes: np.ndarray         # bool (S, 4) in MODES order
    sector_ftz: np.ndarray
    sector_incubator: np.ndarray
    market_names: tuple[str, ...]
    market_labels: tuple[str, ...]
    market_year: np.ndarray
    market_merchants: np.ndarray
    market_capacity: np.ndarray
    market_halls_capacity: np.ndarray

    @property
    def distance_km(self) -> np.ndarray:
        """Distances between regions, (R, R)."""
        diff = self.xy_km[:, None, :] - self.xy_km[None, :, :]
        return np.sqrt((diff**2).sum(axis=-1))

    def region(self, name: str) -> int:
        """Index of a region by name."""
        return self.region_names.index(name)

    @property
    def neighbours(self) -> np.ndarray:
        """The receiving counties other than the focus county, by index."""
        return np.flatnonzero(self.area & (np.arange(self.area.size) != self.focus))


def skill_shares(high: float, skilled: float) -> np.ndarray:
    """Shares of high-skill, skilled and general workers (the rest), summing to one."""
    shares = np.array([high, skilled, max(0.0, 1.0 - high - skilled)])
    return shares / shares.sum()


def _read(name: str) -> dict:
    return tomllib.loads(resources.files("model.data").joinpath(name).read_text("utf-8"))


def _column(rows: list[dict], key: str) -> np.ndarray:
    return np.array([r[key] for r in rows], dtype=float)


def _regions(regions: list[dict], markets: list[dict]) -> dict:
    """The World fields read from the region rows (and the focus county's own)."""
    sides = {"beijing": 0, "hebei": 1, "other": 2}
    focus = [i for i, r in enumerate(regions) if r.get("focus")]
    if len(focus) != 1:
        raise ValueError("regions.toml: exactly one region must have focus = true")
    f = regions[focus[0]]

    def col(key):
        return _column(regions, key)

    def land(key):
        return np.array([r.get(key, np.nan) if r.get("area") else np.nan for r in regions],
                        dtype=float)

    names = [r["name"] for r in regions]

    return dict(
        region_names=tuple(r["name"] for r in regions),
        region_labels=tuple(r["label"] for r in regions),
        side=np.array([sides[r["side"]] for r in regions]),
        xy_km=np.column_stack([col("x_km"), col("y_km")]),
        talent=np.array([r["talent"] for r in regions]),
        firm_destination=np.array([r["firm_destination"] for r in regions]),
        in_beijing=np.array([r["in_beijing"] for r in regions]),
        firm_asc=col("firm_asc"),
        land_price_yuan_m2=col("industrial_land_price_yuan_m2"),
        wage_yuan=np.column_stack([col(f"wage_{s}_yuan") for s in SKILLS]),
        housing_cost_yuan=col("housing_cost_yuan"),
        services=np.column_stack([col("education"), col("health"), col("social_security")]),
        permit_months=col("permit_months"),
        worker_access=col("worker_access"),
        home_asc=col("home_asc"),
        focus=focus[0],
        area=np.array([bool(r.get("area")) for r in regions]),
        labour_like=np.array([names.index(r["labour_like"]) if "labour_like" in r else -1
                              for r in regions]),
        county_area_km2=land("area_km2"),
        county_cap_share=land("intensity_cap"),
        county_land_2014_km2=land("construction_land_2014_km2"),
        county_quota_km2=land("land_quota_km2"),
        area_km2=float(f["area_km2"]),
        intensity_cap=float(f["intensity_cap"]),
        purchase_restriction_year=float(f["purchase_restriction_year"]),
        residents_2014=float(f["residents_2014"]),
        idle_halls_m2=float(f["idle_halls_m2"]),
        hall_firm_space_m2=max(0.0, float(f["idle_halls_m2"]) - float(f["hall_m2_per_merchant"])
                               * sum(m["halls_capacity"] for m in markets)),
    )


def _sectors(sectors: list[dict]) -> dict:
    """The World fields read from the sector rows."""
    share = _column(sectors, "pool_share")
    return dict(
        sector_names=tuple(s["name"] for s in sectors),
        sector_labels=tuple(s["label"] for s in sectors),
        sector_share=share / share.sum(),
        sector_target=np.array([s["target"] for s in sectors]),
        sector_catalogue=_column(sectors, "catalogue_exposure"),
        sector_land=_column(sectors, "land_factor"),
        sector_pollution=_column(sectors, "pollution"),
        sector_revenue=_column(sectors, "revenue_factor"),
        sector_modes=np.array([[m in s["modes"] for m in MODES] for s in sectors]),
        sector_ftz=np.array([s["ftz"] for s in sectors]),
        sector_incubator=np.array([s["incubator"] for s in sectors]),
    )


def _markets(markets: list[dict]) -> dict:
    """The World fields read from the market rows."""
    return dict(
        market_names=tuple(m["name"] for m in markets),
        market_labels=tuple(m["label"] for m in markets),
        market_year=_column(markets, "year"),
        market_merchants=_column(markets, "merchants"),
        market_capacity=_column(markets, "capacity"),
        market_halls_capacity=_column(markets, "halls_capacity"),
    )


def _calendar(calendar: dict) -> dict:
    """The World fields read from the policy calendar."""
    editions = calendar["catalogue_edition"]
    return dict(
        catalogue_years=tuple(float(e["year"]) for e in editions),
        catalogue_shares=tuple(e["share"] for e in editions),
        entry_permit_limit_year=float(calendar["entry_permits"]["limit_year"]),
    )


@cache
def load_world() -> World:
    """Read the data files once."""
    regions = _read("regions.toml")["region"]
    markets = _read("markets.toml")["market"]
    return World(**_regions(regions, markets), **_sectors(_read("sectors.toml")["sector"]),
                 **_markets(markets), **_calendar(_read("calendar.toml")))
