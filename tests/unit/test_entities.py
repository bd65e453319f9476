"""Entity extraction on real text: the AFP seed, English wire copy, other languages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import spacy

from topics.records import Entity
from workers.entities import EntityExtractor, map_label
from workers.nlp import NlpPool

SEED = Path(__file__).resolve().parents[2] / "seeds" / "afp-2016-04-alep-fr.txt"


@pytest.fixture(scope="module")
def pool() -> Iterator[NlpPool]:
    yield NlpPool.load()


@pytest.fixture(scope="module")
def extractor(pool: NlpPool) -> EntityExtractor:
    return EntityExtractor.load(pool)


def extract(pool: NlpPool, extractor: EntityExtractor, text: str, language: str | None) -> list[Entity]:
    doc = pool.pipe([text], [language])[0]
    return extractor.extract(doc, language)


def by_canonical(entities: list[Entity]) -> dict[str, Entity]:
    found: dict[str, Entity] = {}
    for e in entities:
        assert e.canonical not in found, f"{e.canonical} appears twice"
        found[e.canonical] = e
    return found


@pytest.fixture(scope="module")
def seed_entities(pool: NlpPool, extractor: EntityExtractor) -> tuple[str, dict[str, Entity]]:
    text = SEED.read_text(encoding="utf-8")
    doc = pool.pipe([text], ["fr"])[0]
    return doc.text, by_canonical(extractor.extract(doc, "fr"))


EXPECTED_SEED = {
    "Aleppo": "LOC",
    "Syria": "LOC",
    "Geneva": "LOC",
    "Russia": "LOC",
    "Washington, D.C.": "LOC",
    "Damascus": "LOC",
    "United States": "LOC",
    "Bashar al-Assad": "PER",
    "Federica Mogherini": "PER",
    "European Union": "ORG",
    "Al-Nusra Front": "ORG",
    "Al-Qaeda": "ORG",
    "Islamic State": "ORG",
    "International Syria Support Group": "ORG",
}


@pytest.mark.parametrize(("canonical", "label"), sorted(EXPECTED_SEED.items()))
def test_seed_has_canonical_entity(seed_entities: tuple[str, dict[str, Entity]], canonical: str, label: str) -> None:
    """Each key entity of the AFP seed comes out once, with its English name and label."""
    _, entities = seed_entities
    assert canonical in entities, sorted(entities)
    assert entities[canonical].label == label


def test_seed_places_have_geonames_coordinates(seed_entities: tuple[str, dict[str, Entity]]) -> None:
    """Aleppo and Damascus resolve to their GeoNames cities, with coordinates and country."""
    _, entities = seed_entities
    aleppo, damascus = entities["Aleppo"], entities["Damascus"]
    assert aleppo.id == "geonames:170063" and aleppo.country == "SY"
    assert aleppo.lat == pytest.approx(36.20, abs=0.05) and aleppo.lon == pytest.approx(37.16, abs=0.05)
    assert damascus.id == "geonames:170654" and damascus.country == "SY"
    assert damascus.lat == pytest.approx(33.51, abs=0.05) and damascus.lon == pytest.approx(36.29, abs=0.05)
    assert entities["Syria"].id == "geonames:163843" and entities["Syria"].country == "SY"


def test_seed_fixes_the_raw_model_errors(seed_entities: tuple[str, dict[str, Entity]]) -> None:
    """Washington is a place, Mogherini is split from the EU, Al-Qaïda is an ORG, Assad's name is mended."""
    text, entities = seed_entities
    washington = entities["Washington, D.C."]
    assert washington.text == "Washington" and washington.id == "geonames:4140963"
    mogherini, eu = entities["Federica Mogherini"], entities["European Union"]
    assert text[slice(*mogherini.mentions[0])] == "Federica Mogherini"
    assert text[slice(*eu.mentions[0])] == "Union européenne"
    assert entities["Al-Qaeda"].text == "Al-Qaïda"
    assert entities["Bashar al-Assad"].text == "Bachar al- Assad"  # the surface form, as written
    assert "Est" not in entities  # "à l'Est de Damas" is a compass point
    obama = entities["Barack Obama"]  # "l'administration Obama" names the president
    assert obama.label == "PER" and obama.text == "Obama"


def test_seed_mentions_are_merged_with_offsets(seed_entities: tuple[str, dict[str, Entity]]) -> None:
    """One entity per canonical name, every mention's offsets pointing at its surface form."""
    text, entities = seed_entities
    aleppo = entities["Aleppo"]
    assert aleppo.text == "Alep"
    assert len(aleppo.mentions) == 6  # three per copy of the repeated body
    assert all(text[s:e] == "Alep" for s, e in aleppo.mentions)
    issg = entities["International Syria Support Group"]
    assert {text[s:e] for s, e in issg.mentions} == {"Groupe international de soutien à la Syrie", "ISSG"}
    for entity in entities.values():
        assert list(entity.mentions) == sorted(entity.mentions)
        assert text[slice(*entity.mentions[0])] == entity.text


def test_entities_are_sorted_by_first_mention(pool: NlpPool, extractor: EntityExtractor) -> None:
    """extract() returns entities in order of first appearance."""
    entities = extract(pool, extractor, SEED.read_text(encoding="utf-8"), "fr")
    firsts = [e.mentions[0] for e in entities]
    assert firsts == sorted(firsts)
    assert all(e.label in {"PER", "ORG", "LOC", "MISC"} for e in entities)


ENGLISH = (
    "The United States accused Russia on Thursday of backing a Syrian government offensive near Aleppo. "
    "Secretary of State John Kerry spoke with Sergei Lavrov in Geneva on 14 April. ISIS and the al-Nusra "
    "Front are excluded from the truce, the UN said. Washington and the European Union's Federica Mogherini "
    "urged restraint, while the Rapid Support Forces attacked El Fasher in Darfur and Hezbollah fired 40 rockets."
)


def test_english_entities(pool: NlpPool, extractor: EntityExtractor) -> None:
    """The English pipeline's OntoNotes labels map to PER/ORG/LOC and names resolve."""
    entities = by_canonical(extract(pool, extractor, ENGLISH, "en"))
    expected = {
        "United States": "LOC",
        "Russia": "LOC",
        "Aleppo": "LOC",
        "John Kerry": "PER",
        "Sergei Lavrov": "PER",
        "Geneva": "LOC",
        "Islamic State": "ORG",
        "Al-Nusra Front": "ORG",
        "United Nations": "ORG",
        "Washington, D.C.": "LOC",
        "European Union": "ORG",
        "Federica Mogherini": "PER",
        "Rapid Support Forces": "ORG",
        "El Fasher": "LOC",
        "Darfur": "LOC",
        "Hezbollah": "ORG",
    }
    for canonical, label in expected.items():
        assert canonical in entities, (canonical, sorted(entities))
        assert entities[canonical].label == label, canonical
    assert entities["Islamic State"].text == "ISIS"
    assert entities["El Fasher"].country == "SD" and entities["El Fasher"].lat is not None
    # dates and numbers are not entities
    assert not any(e.text in {"Thursday", "14 April", "40"} for e in entities.values())


@pytest.mark.parametrize(
    ("model_label", "label"),
    [("PERSON", "PER"), ("PER", "PER"), ("GPE", "LOC"), ("FAC", "LOC"), ("NORP", "MISC"), ("ORG", "ORG")],
)
def test_model_labels_map_to_four_labels(model_label: str, label: str) -> None:
    """Both pipelines' label sets map onto PER/ORG/LOC/MISC."""
    assert map_label(model_label) == label


@pytest.mark.parametrize("model_label", ["DATE", "TIME", "CARDINAL", "ORDINAL", "MONEY", "PERCENT", "QUANTITY"])
def test_dates_and_numbers_are_dropped(model_label: str) -> None:
    """Dates, times and numbers are not entities."""
    assert map_label(model_label) is None


def test_unknown_language_uses_the_gazetteer_only(pool: NlpPool, extractor: EntityExtractor) -> None:
    """A language without a pipeline gets the curated aliases found, and never crashes."""
    text = "Die Hisbollah und die Hamas: in Aleppo und Kyiv meldete die UNO neue Angriffe, sagte der IKRK."
    entities = by_canonical(extract(pool, extractor, text, "de"))
    assert entities["Aleppo"].label == "LOC" and entities["Aleppo"].id == "geonames:170063"
    assert entities["Kyiv"].country == "UA"
    assert entities["Hamas"].label == "ORG"
    assert all(e.id is not None for e in entities.values())  # no model spans without NER


def test_unknown_language_arabic_script(pool: NlpPool, extractor: EntityExtractor) -> None:
    """Non-Latin aliases of the curated lists are found by the blank pipeline."""
    entities = by_canonical(extract(pool, extractor, "قصف في حلب و دمشق", "ar"))
    assert {"Aleppo", "Damascus"} <= set(entities)


@pytest.mark.parametrize("text", ["", "   ", "12 345 — 2016", "x" * 5000, "!!! ??? ..."])
def test_odd_texts_do_not_crash(pool: NlpPool, extractor: EntityExtractor, text: str) -> None:
    """Empty, numeric or junk text gives no entities (or a few), never an exception."""
    for language in ("fr", "en", None):
        entities = extract(pool, extractor, text, language)
        assert all(e.mentions for e in entities)


def test_doc_from_another_pipeline_is_matched(extractor: EntityExtractor) -> None:
    """A Doc from a pipeline the pool does not own still gets its curated aliases found."""
    nlp = spacy.blank("en")
    doc = nlp("Fighting near Aleppo and Kyiv, said the United Nations.")
    assert [e.canonical for e in extractor.extract(doc, "en")] == ["Aleppo", "Kyiv", "United Nations"]
