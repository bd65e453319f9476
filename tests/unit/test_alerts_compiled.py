"""The shortcuts of the compiled rules find exactly what the plain matchers find.

``TreeFilter`` skips parse trees before the DependencyMatcher, and token
patterns run per sentence on demand (``DocHits.tokens_in``) instead of over the
whole Doc. Both are checked against the plain way on the development set.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
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
    every, filtered = set(), set()
    trees_total = trees_run = 0
    for n, (compiled, doc) in enumerate(dev_docs):
        trees = [t for t in doc.sents if len(t) <= MAX_TREE_TOKENS]
        kept = compiled._dependency_trees(doc)
        trees_total, trees_run = trees_total + len(trees), trees_run + len(kept)
        for tree in trees:
            every |= {(n, key, tree.start + rel[0]) for key, rel in compiled._dependency(tree)}
        for tree in kept:
            filtered |= {(n, key, tree.start + rel[0]) for key, rel in compiled._dependency(tree)}
    assert every, "the development set holds dependency matches"
    assert filtered == every
    assert trees_run < trees_total / 4, f"the filter let {trees_run} of {trees_total} trees through"


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
    trees = TreeFilter([pattern])
    doc, sents = _tree(pipeline, "They violated the truce. They violated the rules. The truce held. Truce!")
    assert trees.passing(doc, sents) == [True, False, False, False]
    doc, sents = _tree(pipeline, "Both sides Breached the TRUCE.")  # lemma and text compared lower-cased
    assert trees.passing(doc, sents) == [True]


def test_tree_filter_lets_every_tree_through_when_a_pattern_names_no_word(pipeline: Pipeline) -> None:
    any_verb = [{"RIGHT_ID": "verb", "RIGHT_ATTRS": {"POS": "VERB"}}]
    named = [{"RIGHT_ID": "verb", "RIGHT_ATTRS": {"LEMMA": "violate"}}]
    doc, sents = _tree(pipeline, "Nothing here. Nor here.")
    assert TreeFilter([named, any_verb]).passing(doc, sents) == [True, True]
    assert TreeFilter([named]).passing(doc, sents) == [False, False]
