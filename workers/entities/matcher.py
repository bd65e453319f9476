"""Finding the curated aliases in a Doc with spaCy PhraseMatchers.

Only the curated lists are searched (a few thousand aliases), never the GeoNames
cities. Acronyms ("EI", "UE", "ONU") match on ORTH, case-sensitively; every
other alias matches on LOWER, but a match is kept only if its text has a capital
letter or is spelt exactly as an alias: "Tchad" and "TCHAD" match, "chad" does
not, and "houthis" does only because the alias list spells it that way.

Pattern docs must come from the tokenizer of the pipeline that made the Doc, so
one pair of matchers is built per vocabulary, at load for the pool's pipelines
and lazily for any other vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans
from spacy.vocab import Vocab

from workers.entities.normalise import clean_name, is_acronym
from workers.entities.targets import Target

__all__ = ["AliasMatch", "AliasMatcher"]


@dataclass(frozen=True, slots=True)
class AliasMatch:
    """A curated alias found in a Doc (token and character offsets)."""

    start: int
    end: int
    start_char: int
    end_char: int
    target: Target


@dataclass(frozen=True, slots=True)
class _VocabMatchers:
    exact: PhraseMatcher
    lower: PhraseMatcher


class AliasMatcher:
    """The curated aliases, findable in Docs of any of the process's pipelines."""

    def __init__(self, aliases: Iterable[tuple[str, Target]], pipelines: Sequence[Language]) -> None:
        self._targets: list[Target] = []
        index: dict[Target, int] = {}
        self._exact_aliases: list[tuple[str, int]] = []
        self._lower_aliases: list[tuple[str, int]] = []
        self._spellings: set[tuple[str, int]] = set()
        for alias, target in dict.fromkeys(aliases):
            i = index.setdefault(target, len(self._targets))
            if i == len(self._targets):
                self._targets.append(target)
            (self._exact_aliases if is_acronym(alias) else self._lower_aliases).append((alias, i))
            self._spellings.add((alias, i))
        self._tokenizer = pipelines[-1]  # used to tokenize patterns for unknown vocabularies
        self._by_vocab: dict[int, tuple[Vocab, _VocabMatchers]] = {}
        for nlp in pipelines:
            self._by_vocab[id(nlp.vocab)] = (nlp.vocab, self._build(nlp.vocab, nlp))

    def _patterns(self, vocab: Vocab, nlp: Language | None, texts: list[str]) -> list[Doc]:
        if nlp is not None:
            return [nlp.make_doc(text) for text in texts]
        docs = (self._tokenizer.make_doc(text) for text in texts)
        return [Doc(vocab, words=[t.text for t in d], spaces=[bool(t.whitespace_) for t in d]) for d in docs]

    def _build(self, vocab: Vocab, nlp: Language | None) -> _VocabMatchers:
        exact = PhraseMatcher(vocab, attr="ORTH")
        lower = PhraseMatcher(vocab, attr="LOWER")
        for matcher, aliases in ((exact, self._exact_aliases), (lower, self._lower_aliases)):
            by_target: dict[int, list[str]] = {}
            for alias, i in aliases:
                by_target.setdefault(i, []).append(alias)
            for i, texts in by_target.items():
                matcher.add(f"wirewatch-alias-{i}", self._patterns(vocab, nlp, texts))
        return _VocabMatchers(exact=exact, lower=lower)

    def _matchers(self, vocab: Vocab) -> _VocabMatchers:
        found = self._by_vocab.get(id(vocab))
        if found is None or found[0] is not vocab:
            found = (vocab, self._build(vocab, None))
            self._by_vocab[id(vocab)] = found
        return found[1]

    def find(self, doc: Doc) -> list[AliasMatch]:
        """Non-overlapping alias matches in ``doc``, longest first where they compete."""
        matchers = self._matchers(doc.vocab)
        spans = [Span(doc, start, end, label=match_id) for match_id, start, end in matchers.exact(doc)]
        for match_id, start, end in matchers.lower(doc):
            span = Span(doc, start, end, label=match_id)
            if (
                any(ch.isupper() for ch in span.text)
                or (clean_name(span.text), self._index(span.label_)) in self._spellings
            ):
                spans.append(span)
        return [
            AliasMatch(s.start, s.end, s.start_char, s.end_char, self._targets[self._index(s.label_)])
            for s in sorted(filter_spans(spans), key=lambda s: s.start)
        ]

    @staticmethod
    def _index(key: str) -> int:
        return int(key.rsplit("-", 1)[1])
