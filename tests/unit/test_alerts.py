"""Alert detection on the seed article and on short French and English sentences."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from topics.records import Article, Entity
from workers.alerts import AlertDetector, AlertResult, RuleSet, alert_id
from workers.nlp import NlpPool

SEED = Path(__file__).resolve().parents[2] / "seeds" / "afp-2016-04-alep-fr.txt"


@pytest.fixture(scope="module")
def pool() -> Iterator[NlpPool]:
    yield NlpPool.load()


@pytest.fixture(scope="module")
def detector(pool: NlpPool) -> AlertDetector:
    return AlertDetector(RuleSet.load(), pool)


def detect(pool: NlpPool, detector: AlertDetector, text: str, lang: str, **kw: object) -> AlertResult:
    doc = pool.model_for(lang)(text)
    article = Article(id=str(kw.get("id", "t-1")), text=text, language=lang)
    entities = kw.get("entities", ())
    assert isinstance(entities, tuple)
    return detector.detect(doc, article, entities)


def summary(result: AlertResult) -> dict[str, bool]:
    return {a.type: a.hedged for a in result.best}


def seed_single_copy() -> str:
    raw = SEED.read_text(encoding="utf-8")
    return raw[: raw.index('"Nous sommes', 1)].rstrip()


# --- the seed -------------------------------------------------------------------------------


def test_seed_yields_three_hedged_alerts_with_their_spans(pool: NlpPool, detector: AlertDetector) -> None:
    """The AFP seed: hedged violation ("pourraient violer"), hedged strikes and offensive."""
    text = seed_single_copy()
    result = detect(pool, detector, text, "fr", id="afp-2016-04-14-alep")
    best = {a.type: a for a in result.best}
    assert set(best) == {"ceasefire_violation", "airstrike", "ground_offensive"}
    assert all(a.hedged for a in best.values())

    violation = best["ceasefire_violation"]
    start = text.index('"Des telles actions pourraient violer')
    assert violation.span == (start, text.index("dont la Russie.") + len("dont la Russie."))
    assert violation.sentence.startswith('"Des telles actions pourraient violer la cessation des hostilités')
    assert violation.cameo == "196" and violation.plover == "ASSAULT"

    first = (0, text.index("à Genève.") + len("à Genève."))
    assert best["airstrike"].span == first
    assert "des frappes russes soutiennent cette offensive" in best["airstrike"].sentence
    assert best["ground_offensive"].span == first
    assert "une offensive du régime syrien près d'Alep" in best["ground_offensive"].sentence
    assert best["ground_offensive"].cameo == "190"

    for alert in result.evidence:
        assert text[alert.span[0] : alert.span[1]] == alert.sentence
        assert 0.0 <= alert.confidence <= 1.0
        assert alert.language == "fr"


def test_seed_pasted_twice_gives_the_same_types(pool: NlpPool, detector: AlertDetector) -> None:
    """The raw file (body pasted twice) still gives the three hedged types."""
    text = SEED.read_text(encoding="utf-8")
    result = detect(pool, detector, text, "fr")
    assert summary(result) == {"ceasefire_violation": True, "airstrike": True, "ground_offensive": True}


# --- sentence tables -------------------------------------------------------------------------

CV, AIR, GROUND = "ceasefire_violation", "airstrike", "ground_offensive"

FRENCH: list[tuple[str, dict[str, bool]]] = [
    # violations, asserted
    ("Les rebelles ont violé la trêve en attaquant des positions de l'armée près d'Idleb.", {CV: False, GROUND: False}),
    ("Malgré le cessez-le-feu, des bombardements ont tué dix civils à Alep.", {CV: False}),
    ("La trêve a volé en éclats dimanche après des combats meurtriers.", {CV: False}),
    ("Les rebelles n'ont pas respecté le cessez-le-feu.", {CV: False}),
    ("Le cessez-le-feu a été violé à plusieurs reprises dans la nuit, selon l'OSDH.", {CV: False}),
    ("Les combats ont repris malgré le cessez-le-feu, a constaté un journaliste de l'AFP.", {CV: False}),
    ("Des frappes aériennes ont visé Idleb malgré la trêve.", {AIR: False, CV: False}),
    # hedged
    ("L'armée syrienne a accusé les rebelles de violer la trêve.", {CV: True}),
    ("L'armée accuse les rebelles d'avoir violé la trêve, ce que ces derniers démentent.", {CV: True}),
    ("Des telles actions pourraient violer la cessation des hostilités.", {CV: True}),
    ("Selon l'opposition, des raids aériens ont frappé plusieurs localités de la Ghouta.", {AIR: True}),
    ("Les troupes russes pourraient lancer une offensive dans les prochains jours.", {GROUND: True}),
    # negated, denied
    ("Aucune violation du cessez-le-feu n'a été signalée.", {}),
    ("Le cessez-le-feu n'a pas été violé, a assuré le ministère.", {}),
    ("Moscou dément avoir violé la trêve.", {}),
    ("Aucune frappe aérienne n'a été menée sur la ville depuis lundi.", {}),
    # signed, holding, extended, negotiated
    ("La trêve est respectée depuis dimanche.", {}),
    ("La trêve est globalement respectée, selon l'ONU.", {}),
    ("Le cessez-le-feu a été signé lundi à Genève.", {}),
    ("La trêve a été prolongée de 72 heures.", {}),
    ("Les deux camps négocient un cessez-le-feu.", {}),
    ("Une trêve de 72 heures doit entrer en vigueur lundi.", {}),
    # non-military uses
    ("La trêve des confiseurs a été respectée par les partis.", {}),
    ("La trêve hivernale commence le 1er novembre et suspend les expulsions.", {}),
    ("Les opérateurs ont conclu une trêve dans la guerre des prix.", {}),
    ("Les deux compagnies aériennes ont décrété une trêve tarifaire sur les vols vers Nice.", {}),
    ("Washington et Pékin ont conclu une trêve commerciale.", {}),
    ("Un cessez-le-feu a été trouvé entre les héritiers dans la querelle de succession.", {}),
    ("La frappe de Mbappé a terminé dans la lucarne.", {}),
    ("La crise a frappé durement les ménages.", {}),
    ("L'entreprise lance une offensive commerciale en Asie.", {}),
    ("Le RAID est intervenu pour interpeller le suspect.", {}),
    ("Des centaines de clients ont pris d'assaut les magasins pour les soldes.", {}),
    ("Le ministre a été bombardé de questions par les députés.", {}),
    ("La police veut pilonner les points de deal du quartier.", {}),
    ("Il a été tué d'un tir de fusil d'assaut.", {}),
    # air and ground
    ("L'aviation russe a bombardé des positions rebelles près de Homs.", {AIR: False}),
    ("Des drones ont frappé Kiev dans la nuit.", {AIR: False}),
    ("L'armée a lancé une offensive terrestre contre les jihadistes.", {GROUND: False}),
    ("Les forces gouvernementales progressent vers Alep.", {GROUND: False}),
    ("Des jihadistes ont attaqué une brigade de gendarmerie près de Djibo.", {GROUND: False}),
    ("L'armée ukrainienne affirme avoir repoussé une attaque russe près de Bakhmout.", {GROUND: True}),
    ("Le RAID a donné l'assaut dans un appartement de Trappes.", {}),
]

ENGLISH: list[tuple[str, dict[str, bool]]] = [
    # violations, asserted
    ("The ceasefire was violated several times overnight.", {CV: False}),
    ("Rebels broke the truce by shelling army positions near Donetsk.", {CV: False}),
    ("Despite the truce, shelling killed ten civilians in Aleppo.", {CV: False}),
    ("The truce collapsed on Sunday after heavy fighting.", {CV: False}),
    ("The rebels have not respected the ceasefire.", {CV: False}),
    ("Shelling continued despite the ceasefire, residents said.", {CV: False}),
    ("Airstrikes hit Idlib despite the cease-fire.", {AIR: False, CV: False}),
    # hedged
    ("The army accused the rebels of violating the ceasefire.", {CV: True}),
    ("Hamas and Israel accused each other of violating the truce.", {CV: True}),
    ("US officials warned that Russia might violate the ceasefire.", {CV: True}),
    ("Reports of violations of the cessation of hostilities could not be verified.", {CV: True}),
    ("Ukraine's air force said Russian drones struck Kyiv overnight.", {AIR: True}),
    ("Russian forces could launch a new offensive in the spring.", {GROUND: True}),
    # negated, denied
    ("No violation of the truce was reported.", {}),
    ("The OSCE said no violations of the ceasefire were recorded.", {}),
    ("Moscow denied breaching the ceasefire.", {}),
    ("No airstrikes were carried out on the city on Tuesday.", {}),
    ("Israel's military denied carrying out the strike.", {}),
    # signed, holding, extended, negotiated
    ("The ceasefire is holding, officials said.", {}),
    ("The truce has largely held since it took effect on Sunday.", {}),
    ("The ceasefire was signed on Monday in Geneva.", {}),
    ("The truce was extended by 72 hours.", {}),
    ("The two sides are negotiating a ceasefire.", {}),
    ("The ceasefire is due to take effect at midnight.", {}),
    ("Talks broke off after the ceasefire talks stalled.", {}),
    # non-military uses
    ("The supermarkets agreed a ceasefire in their price war.", {}),
    ("The IOC called for an Olympic truce during the Games.", {}),
    ("The rappers declared a truce in their long-running feud.", {}),
    ("House Republicans agreed a ceasefire in their leadership fight.", {}),
    ("The union agreed a truce with management in the strike dispute.", {}),
    ("Thousands of workers went on strike over pay.", {}),
    ("It was a striking result for the party.", {}),
    ("Police raided the house of the suspect.", {}),
    ("Lightning struck the tower.", {}),
    ("The government launched a charm offensive ahead of the summit.", {}),
    ("He was charged with sexual assault.", {}),
    ("The offensive line struggled all season.", {}),
    ("Shares advanced 3 percent on Monday.", {}),
    # air and ground
    ("Russian warplanes pounded rebel positions near Homs.", {AIR: False}),
    ("An Israeli air strike killed five people in Gaza.", {AIR: False}),
    ("Aid workers were killed in a drone strike on the convoy.", {AIR: False}),
    ("Reuters witnesses saw warplanes bomb the town on Tuesday.", {AIR: False}),
    ("The army launched a ground offensive against Islamic State fighters.", {GROUND: False}),
    ("Troops advanced on the town of Bakhmut.", {GROUND: False}),
    ("Israeli tanks rolled into eastern Rafah overnight.", {GROUND: False}),
    ("Islamic State claimed responsibility for the assault on the army base.", {GROUND: False}),
    ("Police stormed the building and arrested the gunman.", {}),
    ("Rail workers continued their strike despite the Christmas truce.", {}),
]


@pytest.mark.parametrize(("sentence", "expected"), FRENCH, ids=[s[:48] for s, _ in FRENCH])
def test_french_sentences(pool: NlpPool, detector: AlertDetector, sentence: str, expected: dict[str, bool]) -> None:
    """Each French sentence raises exactly the expected types, with the expected hedging."""
    assert summary(detect(pool, detector, sentence, "fr")) == expected


@pytest.mark.parametrize(("sentence", "expected"), ENGLISH, ids=[s[:48] for s, _ in ENGLISH])
def test_english_sentences(pool: NlpPool, detector: AlertDetector, sentence: str, expected: dict[str, bool]) -> None:
    """Each English sentence raises exactly the expected types, with the expected hedging."""
    assert summary(detect(pool, detector, sentence, "en")) == expected


# --- evidence, best, ids, entities -------------------------------------------------------------


def test_best_prefers_unhedged_evidence(pool: NlpPool, detector: AlertDetector) -> None:
    """One asserted sentence makes the type unhedged, even after a hedged one."""
    text = (
        "The army accused the rebels of violating the truce.\n\n"
        "Despite the ceasefire, shelling killed four civilians in Idlib, an AFP correspondent saw."
    )
    result = detect(pool, detector, text, "en")
    assert [a.hedged for a in result.evidence if a.type == CV] == [True, False]
    (best,) = [a for a in result.best if a.type == CV]
    assert not best.hedged
    assert best.span[0] == text.index("Despite")


def test_hedged_evidence_has_lower_confidence(pool: NlpPool, detector: AlertDetector) -> None:
    """Hedging lowers confidence for the same event wording."""
    plain = detect(pool, detector, "Rebels violated the ceasefire near Idlib.", "en").best[0]
    hedged = detect(pool, detector, "Rebels could violate the ceasefire near Idlib.", "en").best[0]
    assert not plain.hedged and hedged.hedged
    assert hedged.confidence < plain.confidence


def test_alert_id_is_deterministic(pool: NlpPool, detector: AlertDetector) -> None:
    """Same article id, type and span give the same key; another article gives another."""
    text = "Despite the truce, shelling killed ten civilians in Aleppo."
    first = detect(pool, detector, text, "en", id="a-1").best[0]
    again = detect(pool, detector, text, "en", id="a-1").best[0]
    other = detect(pool, detector, text, "en", id="a-2").best[0]
    assert first.alert_id == again.alert_id == alert_id("a-1", CV, first.span)
    assert len(first.alert_id) == 32 and int(first.alert_id, 16) >= 0
    assert other.alert_id != first.alert_id


def test_actors_and_locations_come_from_nearby_entities(pool: NlpPool, detector: AlertDetector) -> None:
    """Entities in the evidence sentence come first, neighbours next, far ones not at all."""
    text = (
        "Talks opened in Geneva on Monday.\n\n"
        "Hezbollah said its fighters were ready.\n\n"
        "Despite the truce, Israeli shelling killed two people in Khiam.\n\n"
        "Lebanon's army deployed near Tyre.\n\n"
        "The weather in Paris was mild."
    )

    def mention(word: str) -> tuple[tuple[int, int], ...]:
        start = text.index(word)
        return ((start, start + len(word)),)

    entities = (
        Entity(text="Geneva", label="LOC", canonical="Geneva", mentions=mention("Geneva")),
        Entity(text="Hezbollah", label="ORG", canonical="Hezbollah", mentions=mention("Hezbollah")),
        Entity(text="Khiam", label="LOC", canonical="Khiam", mentions=mention("Khiam")),
        Entity(text="Tyre", label="LOC", canonical="Tyre", mentions=mention("Tyre")),
        Entity(text="Paris", label="LOC", canonical="Paris", mentions=mention("Paris")),
    )
    result = detect(pool, detector, text, "en", entities=entities)
    (best,) = [a for a in result.best if a.type == CV]
    assert best.locations == ("Khiam", "Tyre")
    assert best.actors == ("Hezbollah",)


def test_language_without_rules_gives_no_alert(pool: NlpPool, detector: AlertDetector) -> None:
    """German (blank pipeline, no rules) and a missing language raise nothing and do not crash."""
    text = "Die Waffenruhe wurde gebrochen, Luftangriffe trafen Aleppo."
    doc = pool.model_for("de")(text)
    assert detector.detect(doc, Article(id="de-1", text=text, language="de")) == AlertResult([], [])
    empty = pool.model_for("fr")("")
    assert detector.detect(empty, Article(id="fr-0", text="", language="fr")).best == []


def test_detector_compiles_once_per_language(detector: AlertDetector) -> None:
    """The packaged rules cover French and English."""
    assert detector.languages == ("en", "fr")
