"""The loaded pipelines (workers/nlp.py): compacted lemma tables change no lemma and save objects."""

from __future__ import annotations

import importlib
from pathlib import Path

import orjson
import pytest
from spacy.language import Language

from workers.nlp import MODEL_PACKAGES, compact_lemma_tables
from workers.pipeline import Pipeline

ROOT = Path(__file__).resolve().parents[2]


def texts(language: str, n: int = 12) -> list[str]:
    rows = [orjson.loads(line) for line in (ROOT / "seeds" / "eval" / "articles.jsonl").read_bytes().splitlines()]
    return [r["body"] for r in rows if r.get("language") == language][:n]


def lemma_value_objects(nlp: Language) -> int:
    table = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_lookup")  # type: ignore[attr-defined]
    return len({id(v) for v in table.values()})


@pytest.mark.parametrize("language", ["fr", "en"])
def test_shared_lookup_values_give_the_same_lemmas(pipeline: Pipeline, language: str) -> None:
    """The pool's pipelines (shared values) against the package loaded as spaCy loads it."""
    plain = importlib.import_module(MODEL_PACKAGES[language]).load()
    sample = texts(language)
    assert len(sample) == 12
    want = [[(t.text, t.lemma_) for t in doc] for doc in plain.pipe(sample)]
    got = [[(t.text, t.lemma_) for t in doc] for doc in pipeline.pool.models[language].pipe(sample)]
    assert got == want
    # the lemma cache of the shared pipeline is warm now; a second pass still agrees
    assert [[(t.text, t.lemma_) for t in doc] for doc in pipeline.pool.models[language].pipe(sample)] == want


def test_the_french_lemma_table_holds_one_list_per_lemma(pipeline: Pipeline) -> None:
    plain = importlib.import_module(MODEL_PACKAGES["fr"]).load()
    table = plain.get_pipe("lemmatizer").lookups.get_table("lemma_lookup")
    loaded_as = lemma_value_objects(plain)
    assert loaded_as == len(table) > 200_000  # spaCy: one list per form
    distinct = len({tuple(v) for v in table.values()})
    assert lemma_value_objects(pipeline.pool.models["fr"]) == distinct < 50_000
    keys_before = list(table)
    compact_lemma_tables(plain)
    assert lemma_value_objects(plain) == distinct
    assert list(table) == keys_before  # same keys, same order


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_word_lists_are_sets_of_the_same_words(pipeline: Pipeline, language: str) -> None:
    plain = importlib.import_module(MODEL_PACKAGES[language]).load()
    loaded = plain.get_pipe("lemmatizer").lookups.get_table("lemma_index")
    compacted = pipeline.pool.models[language].get_pipe("lemmatizer").lookups.get_table("lemma_index")  # type: ignore[attr-defined]
    assert list(compacted) == list(loaded) and len(loaded) == 4
    for key, words in loaded.items():
        assert type(words) is list and len(words) > 0
        assert type(compacted[key]) is frozenset
        assert compacted[key] == frozenset(words)
