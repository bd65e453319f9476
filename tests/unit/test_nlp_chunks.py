"""Long texts through spaCy in pieces (workers/nlp.py: split_for_nlp, NlpPool.iter_pipe), and the
entity stage's overlap lookup that keeps a long article's linking linear (workers/entities/spans.py)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterator
from itertools import accumulate
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.language import Language

from topics.records import Article
from workers.entities.matcher import AliasMatch
from workers.entities.spans import overlapping
from workers.entities.targets import Target
from workers.nlp import NlpPool, split_for_nlp
from workers.normalise import normalise_article
from workers.pipeline import Pipeline

ROOT = Path(__file__).resolve().parents[2]


# -- split_for_nlp -----------------------------------------------------------------


def test_a_text_within_the_limit_or_no_limit_is_one_piece() -> None:
    assert split_for_nlp("Une phrase. Une autre.", 100) == ["Une phrase. Une autre."]
    assert split_for_nlp("x" * 500, 0) == ["x" * 500]
    assert split_for_nlp("", 10) == [""]


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("ab .!?\n\u00bb\u2019\t")), max_size=600),
    limit=st.integers(min_value=1, max_value=120),
)
def test_the_pieces_join_back_to_the_text_and_none_is_over_the_limit(text: str, limit: int) -> None:
    pieces = split_for_nlp(text, limit)
    assert "".join(pieces) == text
    assert all(0 < len(p) <= limit for p in pieces) or pieces == [""]


def test_cuts_fall_at_paragraph_breaks_when_there_are_some() -> None:
    paragraphs = [f"Paragraphe {i}. Les combats ont repris. Rien d'autre." for i in range(40)]
    text = "\n\n".join(paragraphs)
    pieces = split_for_nlp(text, 400)
    assert len(pieces) > 5
    assert all(p.endswith("\n\n") for p in pieces[:-1])
    assert all(p.startswith("Paragraphe") for p in pieces)


def test_without_paragraph_breaks_cuts_fall_at_line_breaks_then_sentence_ends_then_spaces() -> None:
    lines = "\n".join(f"Line {i} of the list" for i in range(30))
    assert all(p.endswith("\n") for p in split_for_nlp(lines, 100)[:-1])
    sentences = " ".join(f"Sentence {i} ends here.\u00bb Then" for i in range(30))
    assert all(p.endswith(".\u00bb ") for p in split_for_nlp(sentences, 100)[:-1])
    words = " ".join(["word"] * 100)
    assert all(p.endswith(" ") and not p.startswith(" ") for p in split_for_nlp(words, 50)[:-1])


def test_only_a_run_without_whitespace_is_cut_inside_a_word() -> None:
    junk = "abc " + "x" * 300
    pieces = split_for_nlp(junk, 100)
    assert "".join(pieces) == junk
    assert [len(p) for p in pieces] == [100, 100, 100, 4]


# -- the pool: a long text in pieces gives the Doc it gives whole -------------------


def long_text(language: str, n: int = 24) -> str:
    rows = [orjson.loads(line) for line in (ROOT / "seeds" / "eval" / "articles.jsonl").read_bytes().splitlines()]
    bodies = [
        normalise_article(article_id="x", body=r["body"], language=language).text
        for r in rows
        if r.get("language") == language
    ]
    return "\n\n".join(bodies[:n])


def pools(pipeline: Pipeline, chunk_chars: int) -> tuple[NlpPool, NlpPool]:
    models, fallback = pipeline.pool.models, pipeline.pool.fallback
    return NlpPool(models, fallback, 0), NlpPool(models, fallback, chunk_chars)


def spy_on_pipe(monkeypatch: pytest.MonkeyPatch, nlp: Language) -> list[int]:
    """The lengths of the texts ``nlp.pipe`` is given from now on."""
    lengths: list[int] = []
    pipe = nlp.pipe

    def recording(texts: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
        def each() -> Iterator[str]:
            for text in texts:
                lengths.append(len(text))
                yield text

        return pipe(each(), *args, **kwargs)

    monkeypatch.setattr(nlp, "pipe", recording)
    return lengths


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_long_text_in_pieces_gives_the_same_tokens_and_entities(
    pipeline: Pipeline, language: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = long_text(language)
    assert len(text) > 15_000
    whole, cut = pools(pipeline, 5_000)
    lengths = spy_on_pipe(monkeypatch, pipeline.pool.models[language])
    short = "Une phrase courte." if language == "fr" else "A short sentence."
    got = dict(cut.iter_pipe([short, text], [language, language]))
    assert len(lengths) > 3 and max(lengths) <= 5_000  # the long text went in pieces
    assert len(short) in lengths  # and the short one whole
    doc = got[1]
    assert doc.text == text
    assert got[0].text == short
    lengths.clear()
    reference = next(whole.iter_pipe([text], [language]))[1]
    assert lengths == [len(text)]
    assert [(t.text, t.whitespace_, t.lemma_) for t in doc] == [(t.text, t.whitespace_, t.lemma_) for t in reference]
    ents = {(e.start_char, e.end_char, e.label_) for e in doc.ents}
    want = {(e.start_char, e.end_char, e.label_) for e in reference.ents}
    assert len(want) > 200
    assert len(ents & want) / len(ents | want) >= 0.98  # a cut may change an entity beside it, rarely
    assert abs(len(list(doc.sents)) - len(list(reference.sents))) <= 2
    # each piece was parsed alone: every token's head lies in its own piece, and each piece starts a sentence
    ends = list(accumulate(len(p) for p in split_for_nlp(text, 5_000)))
    for token in doc:
        assert bisect_right(ends, token.head.idx) == bisect_right(ends, token.idx)
    starts = {0, *ends[:-1]}
    assert all(token.is_sent_start for token in doc if token.idx in starts)


def test_a_long_article_is_enriched_as_it_is_whole(pipeline: Pipeline) -> None:
    """The whole enrich stage over a long French article: same entities, same alerts."""
    text = long_text("fr")
    article = Article(id="long", text=text, language="fr", language_detected=False)
    whole, cut = pools(pipeline, 5_000)

    def enrich(pool: NlpPool) -> tuple[set[tuple[str, str]], list[tuple[str, tuple[int, int]]]]:
        doc = next(pool.iter_pipe([text], ["fr"]))[1]
        entities = pipeline.entities.extract(doc, "fr", text)
        found = pipeline.alerts.detect(doc, article, entities)
        return {(e.canonical, e.label) for e in entities}, [(a.type, a.span) for a in found.evidence]

    (entities, alerts), (want_entities, want_alerts) = enrich(cut), enrich(whole)
    assert len(want_alerts) > 10 and len(want_entities) > 50
    assert alerts == want_alerts
    assert len(entities & want_entities) / len(entities | want_entities) >= 0.98


def test_the_pipeline_takes_its_chunk_size_from_the_settings(pipeline: Pipeline) -> None:
    assert pipeline.pool.chunk_chars == pipeline.settings.nlp_chunk_chars == 10_000


# -- overlapping: binary search, same answer as the scan -------------------------------

_TARGET = Target(id=None, canonical="X", label="LOC")


def scan(matches: list[AliasMatch]) -> Callable[[int, int], list[int]]:
    return lambda start, end: [i for i, m in enumerate(matches) if m.start < end and m.end > start]


@settings(max_examples=300, deadline=None)
@given(
    spans=st.lists(st.tuples(st.integers(0, 60), st.integers(1, 6)), max_size=30),
    queries=st.lists(st.tuples(st.integers(0, 70), st.integers(1, 8)), min_size=1, max_size=20),
)
def test_overlapping_finds_what_a_scan_finds(spans: list[tuple[int, int]], queries: list[tuple[int, int]]) -> None:
    matches = [AliasMatch(s, s + n, 0, 0, _TARGET) for s, n in spans]
    fast, slow = overlapping(matches), scan(matches)
    for start, n in queries:
        assert fast(start, start + n) == slow(start, start + n)
