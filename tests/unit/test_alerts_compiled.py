"""The shortcuts of the compiled rules find exactly what the plain matchers find.

``TreeFilter`` skips parse trees before the DependencyMatcher, and token
patterns run per sentence on demand (``DocHits.tokens_in``) instead of over the
whole Doc. Both are checked against the plain way on the development set.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from spacy.matcher import DependencyMatcher
from spacy.tokens import Doc

from topics.records import Article
from workers.alerts.compiled import MAX_TREE_TOKENS, CompiledLanguage, TreeFilter
from workers.normalise import normalise_article
from workers.pipeline import Pipeline

DEV_SET = Path(__file__).resolve().parents[2] / "seeds" / "eval" / "articles.jsonl"


@pytest.fixture(scope="module")
def dev_docs(pipeline: Pipeline) -> list[tuple[CompiledLanguage, Doc]]:
    """(compiled rules, Doc) for every French or English article of the development set."""
    articles: list[Article] = []
    for line in DEV_SET.read_bytes().splitlines():
        obj = orjson.loads(line)
        article = normalise_article(article_id=obj["id"], body=obj["body"], language=obj.get("language"))
        if article.language in ("fr", "en"):
            articles.append(article)
    docs = pipeline.pool.pipe([a.text for a in articles], [a.language for a in articles])
    compiled = pipeline.alerts._compiled
    return [(compiled[str(a.language)], doc) for a, doc in zip(articles, docs, strict=True)]


def test_tree_filter_loses_no_dependency_match(dev_docs: list[tuple[CompiledLanguage, Doc]]) -> None:
    """hits() finds, per sentence, what one DependencyMatcher of every pattern finds in every tree."""
    plain_matchers: dict[int, DependencyMatcher] = {}
    every, filtered = set(), set()
    trees_total = runs = 0
    for n, (compiled, doc) in enumerate(dev_docs):
        if id(compiled) not in plain_matchers:
            plain = plain_matchers[id(compiled)] = DependencyMatcher(doc.vocab)
            for m in compiled.rules.matches():
                if m.kind == "dependency":
                    plain.add(m.key, [m.pattern])
        hits = compiled.hits(doc)
        strings = doc.vocab.strings
        for tree in doc.sents:
            if len(tree) > MAX_TREE_TOKENS:
                continue
            trees_total += 1
            for match_id, relative in plain_matchers[id(compiled)](tree):
                anchor = tree.start + relative[0]
                if hits.sentence_of[anchor] != -1:
                    every.add((n, hits.sentence_of[anchor], strings[match_id], anchor))
        runs += len(compiled._dependency_runs(doc))
        for unit, found in enumerate(hits.dependency):
            filtered |= {(n, unit, key, a[0]) for key, anchors in found.items() for a in anchors}
    assert every, "the development set holds dependency matches"
    assert filtered == every
    assert runs < trees_total / 4, f"{runs} matcher runs for {trees_total} trees"


def test_token_patterns_per_sentence_find_what_the_whole_doc_finds(
    dev_docs: list[tuple[CompiledLanguage, Doc]],
) -> None:
    whole, per_sentence = set(), set()
    for n, (compiled, doc) in enumerate(dev_docs):
        hits = compiled.hits(doc)
        strings = doc.vocab.strings
        for match_id, start, end in compiled._tokens(doc):
            unit = hits.sentence_of[start]
            if unit == hits.sentence_of[end - 1] != -1:
                whole.add((n, unit, strings[match_id], start))
        for unit in range(len(hits.sentences)):
            for key, anchors in hits.tokens_in(unit).items():
                per_sentence |= {(n, unit, key, a[0]) for a in anchors}
    assert whole, "the development set holds token-pattern matches"
    assert per_sentence == whole


def test_tokens_in_runs_the_patterns_once_per_sentence(pipeline: Pipeline) -> None:
    compiled = pipeline.alerts._compiled["en"]
    hits = compiled.hits(pipeline.pool.model_for("en")("The truce may not hold. Talks went on."))
    assert hits.token_hits == {}
    first = hits.tokens_in(0)
    assert set(first) == {"cues/hedge/modal-may", "cues/negation/not"}
    assert hits.tokens_in(0) is first
    assert set(hits.token_hits) == {0}


def _tree(pipeline: Pipeline, text: str) -> tuple[Doc, list]:
    doc = pipeline.pool.model_for("en")(text)
    return doc, list(doc.sents)


def test_tree_filter_needs_a_word_for_every_named_node(pipeline: Pipeline) -> None:
    pattern = [
        {"RIGHT_ID": "verb", "RIGHT_ATTRS": {"LEMMA": {"IN": ["violate", "breach"]}}},
        {"LEFT_ID": "verb", "REL_OP": ">", "RIGHT_ID": "truce", "RIGHT_ATTRS": {"LOWER": "truce", "DEP": "dobj"}},
    ]
    verb_only = [{"RIGHT_ID": "verb", "RIGHT_ATTRS": {"LEMMA": "hold"}}]
    trees = TreeFilter([pattern, verb_only])
    doc, sents = _tree(pipeline, "They violated the truce. They violated the rules. The truce held. Truce!")
    assert trees.patterns_in(doc, sents) == [[0], [], [1], []]
    doc, sents = _tree(pipeline, "Both sides Breached the TRUCE.")  # lemma and text compared lower-cased
    assert trees.patterns_in(doc, sents) == [[0]]


def test_tree_filter_lets_every_tree_through_when_a_pattern_names_no_word(pipeline: Pipeline) -> None:
    any_verb = [{"RIGHT_ID": "verb", "RIGHT_ATTRS": {"POS": "VERB"}}]
    named = [{"RIGHT_ID": "verb", "RIGHT_ATTRS": {"LEMMA": "violate"}}]
    doc, sents = _tree(pipeline, "Nothing here. Nor here.")
    assert TreeFilter([named, any_verb]).patterns_in(doc, sents) == [[0, 1], [0, 1]]
    assert TreeFilter([named]).patterns_in(doc, sents) == [[], []]
