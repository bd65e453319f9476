"""The shortcuts of the compiled rules find exactly what the plain matchers find.

``TreeFilter`` skips parse trees before the DependencyMatcher, and token
patterns run per sentence on demand (``DocHits.tokens_in``) instead of over the
whole Doc; ``sentence_units`` reads arrays instead of tokens. Each is checked
against the plain way on the development set.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from spacy.matcher import DependencyMatcher
from spacy.tokens import Doc, Span

from topics.records import Article
from workers.alerts.compiled import MAX_TREE_TOKENS, CompiledLanguage, TreeFilter, sentence_units
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


def _units_token_by_token(doc: Doc) -> list[tuple[int, int]]:
    """``sentence_units``' definition written over Token objects (as it was until session 17)."""
    terminal = {".", "!", "?", "\u2026", "...", ";"}
    closing = {'"', "\u00bb", "\u201d", "'", ")", "\u2019"}

    def ends_sentence(unit: Span) -> bool:
        tokens = [t for t in unit if not t.is_space]
        while tokens and tokens[-1].text in closing:
            tokens.pop()
        return bool(tokens) and tokens[-1].text in terminal

    def starts_fragment(unit: Span) -> bool:
        return unit[0].text[:1].islower() or unit[0].text in {",", ":", ")", "\u2014", "-"}

    pieces = []
    for sent in doc.sents:
        start = sent.start
        for token in sent:
            if token.is_space and "\n" in token.text:
                if token.i > start:
                    pieces.append((start, token.i))
                start = token.i + 1
        if sent.end > start:
            pieces.append((start, sent.end))
    trimmed = []
    for a, b in pieces:
        while a < b and doc[a].is_space:
            a += 1
        while b > a and doc[b - 1].is_space:
            b -= 1
        if b > a:
            trimmed.append((a, b))
    units: list[tuple[int, int]] = []
    for a, b in trimmed:
        if units:
            pa, pb = units[-1]
            same_paragraph = not any("\n" in t.text for t in doc[pb:a])
            if same_paragraph and (not ends_sentence(doc[pa:pb]) or starts_fragment(doc[a:b])):
                units[-1] = (pa, b)
                continue
        units.append((a, b))
    return units


def test_sentence_units_are_those_of_the_token_by_token_definition(
    dev_docs: list[tuple[CompiledLanguage, Doc]], pipeline: Pipeline
) -> None:
    made_up = [
        ("fr", "Il a dit : « La trêve est rompue. »\n\nEnsuite   ,  rien.\n« Non » , a-t-il ajouté ; puis ...\n"),
        ("en", '"They fired first," he said.\n  \n(Reuters) - Shelling resumed; "again" .) next\n\n\n'),
        ("en", "\n\n  \n"),
        ("en", "No terminal punctuation at all\nand a second line"),
        # a sentence ending inside quotes or brackets, then one in capitals: two units
        ("en", 'He said: "The truce is over." Then the shelling resumed. (It had stopped.) Troops moved in.'),
        ("fr", "Il a déclaré : « La trêve est rompue. » Puis les tirs ont repris. « Nous riposterons. » Fin."),
    ]
    docs = [doc for _, doc in dev_docs]
    docs += pipeline.pool.pipe([t for _, t in made_up], [lang for lang, _ in made_up])
    compared = 0
    for doc in docs:
        got = [(u.start, u.end) for u in sentence_units(doc)]
        assert got == _units_token_by_token(doc), doc.text[:200]
        compared += len(got)
    assert compared > 500  # the development set alone holds ~600 units
