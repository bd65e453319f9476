"""The curated data files: aliases resolve to one entity, bad files fail loudly."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from topics.records import Entity
from workers.entities import EntityExtractor, GazetteerError
from workers.entities.datafiles import default_data_dir
from workers.nlp import NlpPool


@pytest.fixture(scope="module")
def pool() -> Iterator[NlpPool]:
    yield NlpPool.load()


@pytest.fixture(scope="module")
def extractor(pool: NlpPool) -> EntityExtractor:
    return EntityExtractor.load(pool)


def entities_of(pool: NlpPool, extractor: EntityExtractor, text: str, language: str | None) -> list[Entity]:
    return extractor.extract(pool.pipe([text], [language])[0], language)


def test_aleppo_aliases_are_one_entity(pool: NlpPool, extractor: EntityExtractor) -> None:
    """Alep, Aleppo and Halab are three mentions of one entity, Aleppo."""
    text = "Les combats à Alep continuent. Aleppo, que les habitants appellent Halab, est assiégée."
    entities = entities_of(pool, extractor, text, "fr")
    aleppo = [e for e in entities if e.canonical == "Aleppo"]
    assert len(aleppo) == 1
    assert [text[s:e] for s, e in aleppo[0].mentions] == ["Alep", "Aleppo", "Halab"]
    assert aleppo[0].text == "Alep"


@pytest.mark.parametrize("language", ["fr", "en", None])
def test_islamic_state_aliases_are_one_entity(pool: NlpPool, extractor: EntityExtractor, language: str | None) -> None:
    """Etat islamique, EI, ISIS and Daech all name the Islamic State, in any pipeline."""
    text = "Le groupe Etat islamique (EI) a revendiqué l'attaque. ISIS, ou Daech, tient encore des villages."
    entities = entities_of(pool, extractor, text, language)
    islamic_state = [e for e in entities if e.canonical == "Islamic State"]
    assert len(islamic_state) == 1
    surfaces = [text[s:e] for s, e in islamic_state[0].mentions]
    assert surfaces == ["Etat islamique", "EI", "ISIS", "Daech"]
    assert islamic_state[0].id == "wikidata:Q2429253" and islamic_state[0].label == "ORG"


def test_acronyms_match_case_sensitively(pool: NlpPool, extractor: EntityExtractor) -> None:
    """ "EI" is the Islamic State, but "ei" in running text is nothing."""
    entities = entities_of(pool, extractor, "Hey ei, ue and onu are not names here.", None)
    assert entities == []


def test_lower_case_country_name_is_not_matched(pool: NlpPool, extractor: EntityExtractor) -> None:
    """Aliases match case-insensitively only where the text has a capital: "chad" is not Chad."""
    assert [e.canonical for e in entities_of(pool, extractor, "a chad fell from the ballot", None)] == []
    assert [e.canonical for e in entities_of(pool, extractor, "Troops left CHAD and Tchad.", None)] == ["Chad"]


def test_french_country_names_resolve(pool: NlpPool, extractor: EntityExtractor) -> None:
    """Syrie, Russie, Etats-Unis and États-Unis get English names and GeoNames ids."""
    text = "La Syrie, la Russie, les Etats-Unis et les États-Unis d'Amérique ont parlé."
    entities = {e.canonical: e for e in entities_of(pool, extractor, text, "fr")}
    assert {"Syria", "Russia", "United States"} <= set(entities)
    assert len(entities["United States"].mentions) == 2
    assert entities["Russia"].id == "geonames:2017370" and entities["Russia"].country == "RU"


def test_loads_quickly_with_versions(extractor: EntityExtractor) -> None:
    """Every data file reports its version."""
    assert set(extractor.data_versions) == {"actors", "places", "entity_rules"}


# ---- bad data files


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(default_data_dir(), target)
    return target


def edit(path: Path, change: Callable[[dict[str, Any]], object]) -> None:
    """Rewrite a copied data file after ``change`` mutated its parsed content."""
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(content)
    path.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")


def test_bad_label_names_file_and_field(pool: NlpPool, data_dir: Path) -> None:
    """A schema violation names the data file and the JSON path of the field."""
    edit(data_dir / "actors.yaml", lambda d: d["actors"][3].__setitem__("label", "GROUP"))
    with pytest.raises(GazetteerError) as err:
        EntityExtractor.load(pool, data_dir)
    assert err.value.file.name == "actors.yaml"
    assert err.value.field == "actors/3/label"
    assert "actors.yaml: actors/3/label" in str(err.value)
    assert isinstance(err.value, ValueError)


def test_missing_version_is_rejected(pool: NlpPool, data_dir: Path) -> None:
    """Each data file must carry its version."""
    edit(data_dir / "places.yaml", lambda d: d.pop("version"))
    with pytest.raises(GazetteerError, match=r"places\.yaml.*version"):
        EntityExtractor.load(pool, data_dir)


def test_alias_claimed_twice_is_rejected(pool: NlpPool, data_dir: Path) -> None:
    """Two curated entries may not share an alias: the error names the second one."""
    edit(data_dir / "actors.yaml", lambda d: d["actors"][-1]["aliases"].append("Hezbollah"))
    with pytest.raises(GazetteerError, match=r"actors\.yaml: actors/\d+/aliases/\d+: alias 'Hezbollah' already names"):
        EntityExtractor.load(pool, data_dir)


def test_unknown_geonames_id_is_rejected(pool: NlpPool, data_dir: Path) -> None:
    """A curated place must point at a real GeoNames city."""
    edit(
        data_dir / "places.yaml", lambda d: d["places"].append({"geonames": 999999999, "canonical": "X", "aliases": []})
    )
    with pytest.raises(GazetteerError, match=r"geonames.*999999999"):
        EntityExtractor.load(pool, data_dir)


def test_invalid_yaml_and_missing_file(pool: NlpPool, data_dir: Path) -> None:
    """Unparsable or absent files are GazetteerErrors, not tracebacks from deep inside."""
    (data_dir / "entity_rules.yaml").write_text("format: [unclosed\n", encoding="utf-8")
    with pytest.raises(GazetteerError, match=r"entity_rules\.yaml: not valid YAML"):
        EntityExtractor.load(pool, data_dir)
    (data_dir / "entity_rules.yaml").unlink()
    with pytest.raises(GazetteerError, match=r"entity_rules\.yaml: cannot read"):
        EntityExtractor.load(pool, data_dir)
