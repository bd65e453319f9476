"""What a mention resolves to: a canonical entity with its id and coordinates."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from workers.entities.labels import Label

__all__ = ["Hit", "Target", "Tier"]


@dataclass(frozen=True, slots=True)
class Target:
    """A canonical entity: the fields of an output ``Entity`` except text and mentions."""

    id: str | None
    canonical: str
    label: Label
    lat: float | None = None
    lon: float | None = None
    country: str | None = None


class Tier(IntEnum):
    """Where a name was found; lower wins when one name has several meanings."""

    COUNTRY = 0
    CURATED = 1  # the curated actor and place lists
    REGION = 2  # GeoNames first-level divisions the data set has (US states)
    CITY = 3  # any GeoNames city (> 15,000 inhabitants)


@dataclass(frozen=True, slots=True)
class Hit:
    """A name lookup's answer."""

    target: Target
    tier: Tier
    population: int = 0
