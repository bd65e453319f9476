"""The attribute ruler's matches by lookups (workers/attribute_match.py): the same as spaCy's Matcher finds."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import spacy
from spacy.pipeline import AttributeRuler

from workers.attribute_match import AttributeMatches, speed_up_attribute_rulers
from workers.pipeline import Pipeline

ROOT = Path(__file__).resolve().parents[2]


def bodies(language: str) -> list[str]:
    """Every article of the two labelled sets in ``language``."""
    out = []
    for name in ("eval", "holdout"):
        for line in (ROOT / "seeds" / name / "articles.jsonl").read_bytes().splitlines():
            row = orjson.loads(line)
            if row.get("language") == language and isinstance(row.get("body"), str):
                out.append(row["body"])
    return out


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_pipelines_rulers_find_the_matchers_matches(pipeline: Pipeline, language: str) -> None:
    """On every labelled article, as many matches as spaCy's Matcher finds, and the same ones."""
    nlp = pipeline.pool.models[language]
    ruler = nlp.get_pipe("attribute_ruler")
    assert isinstance(ruler, AttributeRuler)
    fast = ruler.match
    assert isinstance(fast, AttributeMatches)
    patterns = sum(len(ruler.matcher.get(str(i))[1]) for i in range(len(ruler.attrs)))
    assert patterns - 3 <= fast.patterns <= patterns and fast.patterns > 20  # the REGEX ones stay with a Matcher
    texts = bodies(language)
    assert len(texts) >= 40
    before = nlp.pipe_names[: nlp.pipe_names.index("attribute_ruler")]
    matched = 0
    with nlp.select_pipes(enable=before):
        for doc in nlp.pipe(texts):
            want = sorted(set(AttributeRuler.match(ruler, doc)))  # spaCy's own method
            assert fast(doc) == want
            matched += len(want)
    assert matched > 100 * len(texts)  # the tag map alone matches most tokens


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_annotations_are_those_of_the_stock_ruler(pipeline: Pipeline, language: str) -> None:
    """Part of speech, morphology and lemma of every token, with the stock ruler and with ours."""
    nlp = pipeline.pool.models[language]
    ruler = nlp.get_pipe("attribute_ruler")
    assert isinstance(ruler, AttributeRuler)
    texts = bodies(language)[:20]
    ours = [[(t.pos_, t.tag_, str(t.morph), t.lemma_, t.dep_) for t in doc] for doc in nlp.pipe(texts)]
    fast = ruler.match
    try:
        del ruler.match  # back to AttributeRuler.match
        stock = [[(t.pos_, t.tag_, str(t.morph), t.lemma_, t.dep_) for t in doc] for doc in nlp.pipe(texts)]
    finally:
        ruler.match = fast  # type: ignore[method-assign]
    assert ours == stock
    assert sum(len(doc) for doc in stock) > 2_000


def test_other_patterns_stay_with_a_matcher_and_later_patterns_win() -> None:
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("attribute_ruler")
    assert isinstance(ruler, AttributeRuler)
    ruler.add([[{"LOWER": {"IN": ["ceasefire", "truce"]}}]], {"LEMMA": "ceasefire"})
    ruler.add([[{"LOWER": "truce"}]], {"LEMMA": "truce"})  # later: wins on "truce"
    ruler.add([[{"TEXT": {"REGEX": "^[A-Z]{2,}$"}}]], {"NORM": "acronym"})  # a REGEX: Matcher
    ruler.add([[{"LOWER": "broke"}, {"IS_SPACE": False, "LOWER": {"NOT_IN": ["down"]}}]], {"LEMMA": "break"}, index=-2)
    ruler.add([[{"LOWER": "air"}, {"LOWER": "strike", "OP": "?"}]], {"LEMMA": "air"})  # an operator: Matcher
    fast = AttributeMatches(ruler)
    assert fast.patterns == 3
    doc = nlp("The truce broke again after a ceasefire in ALEPPO; the air strike and the air raid. Broke down.")
    want = sorted(set(AttributeRuler.match(ruler, doc)))
    assert len(want) == 8  # "air" twice for "air strike" (with and without the optional token)
    assert fast(doc) == want
    assert speed_up_attribute_rulers(nlp) == 3
    doc = nlp("The truce broke again after a ceasefire in ALEPPO.")
    assert [t.lemma_ for t in doc][1:3] == ["truce", "break"]
    assert doc[6].lemma_ == "ceasefire" and doc[8].norm_ == "acronym"
