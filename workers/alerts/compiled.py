"""Rules of one language compiled into spaCy matchers, and what they find in a Doc.

Compilation happens once per language, against the vocab of that language's
pipeline: two ``PhraseMatcher``s for the lexicons (lower-cased text and
lemmas), one ``Matcher`` for token patterns and one ``DependencyMatcher`` for
dependency patterns. The lexicons are matched over the whole Doc; the
dependency patterns only in the parse trees that hold the words they need
(``TreeFilter``), and the token patterns (cues such as "may" or the
conditional mood) only in the sentences that are judged beyond their triggers
(``DocHits.tokens_in``). Every hit is filed under its sentence; proximity
blocks (``near``) are solved per sentence from the lexicon hits.

Every step is linear or ``n log n`` in the number of hits: no regular
expressions, and proximity uses a sliding window, never a product of hit lists.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from spacy.attrs import IS_SPACE, LEMMA, LOWER, ORTH
from spacy.language import Language
from spacy.matcher import DependencyMatcher, Matcher, PhraseMatcher
from spacy.strings import StringStore
from spacy.tokens import Doc, Span

from topics.records import Entity
from workers.alerts.spec import LanguageRules, Match, Near

__all__ = ["Anchors", "CompiledLanguage", "DocHits", "sentence_units"]

Anchors = tuple[int, ...]  # token indices (into the Doc) that carry one match
Hit = tuple[int, int]  # token span [start, end) of one lexicon term

_APOSTROPHES = ("'", "\u2019")


def _variants(term: str) -> list[str]:
    """The term as written and with the other apostrophe (' and \u2019 both occur in wires)."""
    variants = {term}
    for a, b in (_APOSTROPHES, _APOSTROPHES[::-1]):
        variants.add(term.replace(a, b))
    return sorted(variants)


def _lemma_sequences(words: list[str], lemmas: list[str]) -> set[tuple[str, ...]]:
    """Lemma sequences a term stands for: its words as lemmas, and its own lemmas.

    Rule authors may write surface forms or lemmas ("frappes aériennes" also
    finds "frappe aérienne"), and a lemmatizer slip on one word of the text
    ("frappes" tagged ADJ) does not lose a term also matched by lower-cased text.
    Multi-word terms also match by their own lemmas ("attaques aériennes" ->
    "attaque aérien"); a single word is taken as written, so "stated" does not
    turn into "state" (Shan State).
    """
    lowered = [w.lower() for w in words]
    out = {tuple(words), tuple(lowered), (lowered[0].capitalize(), *lowered[1:])}
    if len(words) > 1:
        lemma_lower = [m.lower() for m in lemmas]
        out |= {tuple(lemma_lower), (lemma_lower[0].capitalize(), *lemma_lower[1:])}
    return out


MAX_TREE_TOKENS = 400


def _node_words(node: dict[str, Any]) -> frozenset[str] | None:
    """Lower-cased words one node of a dependency pattern needs, or None if unconstrained."""
    attrs = node.get("RIGHT_ATTRS", {})
    for key in ("LEMMA", "LOWER", "ORTH", "TEXT"):
        value = attrs.get(key)
        if isinstance(value, str):
            return frozenset({value.lower()})
        if isinstance(value, dict) and isinstance(value.get("IN"), list):
            return frozenset(str(v).lower() for v in value["IN"])
    return None


class TreeFilter:
    """Which parse trees could match a dependency pattern, told from their words alone.

    A pattern is worth a DependencyMatcher run on a tree only if the tree
    holds a word for every node of the pattern that names words (``LEMMA``/``LOWER``/
    ``ORTH``/``TEXT``, one word or an ``IN`` list): a token counts when its
    lower-cased text or lemma is one of them. That is necessary, never
    sufficient, so no match is lost. Most trees hold a verb such as "hit" or
    "attaquer" and no aircraft or truce word, and are skipped.

    Per Doc this costs one ``to_array`` and one dictionary lookup per distinct
    string (cached by hash), not a Python call per token.
    """

    _MAX_BITS = 62
    _MAX_CACHE = 500_000

    def __init__(self, patterns: Sequence[list[dict[str, Any]]]) -> None:
        bit_of: dict[frozenset[str], int] = {}
        self.required: list[int] = []  # per pattern: the bits of the word sets its nodes need
        for pattern in patterns:
            need = 0
            for node in pattern:
                words = _node_words(node)
                if words is not None:
                    need |= 1 << bit_of.setdefault(words, len(bit_of))
            self.required.append(need)
        self.word_bits: dict[str, int] = {}
        for words, bit in bit_of.items():
            for word in words:
                self.word_bits[word] = self.word_bits.get(word, 0) | (1 << bit)
        # a pattern that names no word could match any tree; so could too many word sets for the bits
        self.every_tree = not patterns or 0 in self.required or len(bit_of) > self._MAX_BITS
        self._bits_of_hash: dict[int, int] = {}

    def _bits(self, strings: StringStore, key: int) -> int:
        bits = self._bits_of_hash.get(key)
        if bits is None:
            try:
                bits = self.word_bits.get(strings[key].lower(), 0)
            except KeyError:  # a hash the store does not hold (an unset attribute): no word
                bits = 0
            if len(self._bits_of_hash) >= self._MAX_CACHE:
                self._bits_of_hash.clear()
            self._bits_of_hash[key] = bits
        return bits

    def patterns_in(self, doc: Doc, trees: Sequence[Span]) -> list[list[int]]:
        """For each of ``trees`` (consecutive, from the Doc's start, e.g. ``doc.sents``): the patterns worth a run."""
        every = list(range(len(self.required)))
        if self.every_tree or not trees:
            return [every for _ in trees]
        keys = doc.to_array([LOWER, LEMMA]).ravel()
        distinct, inverse = np.unique(keys, return_inverse=True)
        strings = doc.vocab.strings
        bits = np.fromiter((self._bits(strings, int(k)) for k in distinct), dtype=np.int64, count=len(distinct))
        per_token = bits[inverse.ravel()].reshape(-1, 2)
        per_tree = np.bitwise_or.reduceat(per_token[:, 0] | per_token[:, 1], [t.start for t in trees])
        return [[p for p in every if int(have) & self.required[p] == self.required[p]] for have in per_tree]


@dataclass(slots=True)
class DocHits:
    """Everything the matchers found in one Doc, filed by sentence index."""

    doc: Doc
    sentences: list[Span]
    lexicon: list[dict[str, list[Hit]]]
    dependency: list[dict[str, list[Anchors]]]  # dependency-pattern hits per sentence
    entities: list[list[tuple[str, Hit]]]  # (label, token span) per sentence
    sentence_of: list[int] = field(default_factory=list)
    tree_of: list[int] = field(default_factory=list)
    token_matcher: Matcher | None = None  # token patterns, run by tokens_in
    strings: StringStore | None = None  # where the match keys live
    token_hits: dict[int, dict[str, list[Anchors]]] = field(default_factory=dict)  # by tokens_in, per sentence

    def lexicon_present(self, sentence: int, key: str) -> bool:
        return bool(self.lexicon[sentence].get(key))

    def tokens_in(self, sentence: int) -> dict[str, list[Anchors]]:
        """Token-pattern hits of one sentence, found the first time it is asked about.

        Unless a trigger is itself a token pattern, only sentences where a
        trigger fired (and the next one, for assertions) ever are, and a
        pattern on morphology ("Mood=Cnd") costs a Python call per token. A
        match cannot cross the sentence; on the whole Doc a match over two
        units was dropped, so the hits are the same.
        """
        found = self.token_hits.get(sentence)
        if found is None:
            found = self.token_hits[sentence] = {}
            if self.token_matcher is not None:
                assert self.strings is not None
                unit = self.sentences[sentence]
                for match_id, start, _end in self.token_matcher(unit):
                    # the first token anchors a token pattern: authors put the event word first
                    found.setdefault(self.strings[match_id], []).append((unit.start + start,))
        return found


class CompiledLanguage:
    """The matchers of one language, built once and reused for every Doc."""

    def __init__(self, rules: LanguageRules, nlp: Language) -> None:
        self.rules = rules
        vocab = nlp.vocab
        self._strings = vocab.strings
        # Lexicons go through PhraseMatchers (hash lookups, linear in the text):
        # one on lower-cased text, one on lemmas. Every distinct term is analysed
        # once, here, by the language's own pipeline.
        self._by_lower = PhraseMatcher(vocab, attr="LOWER")
        self._by_lemma = PhraseMatcher(vocab, attr="LEMMA")
        distinct = sorted({v for terms in rules.lexicons.values() for t in terms for v in _variants(t)})
        analysed = {
            term: ([t.text for t in doc], [t.lemma_ or t.text for t in doc])
            for term, doc in zip(distinct, nlp.pipe(distinct), strict=True)
        }
        for key, terms in rules.lexicons.items():
            lower: dict[tuple[str, ...], None] = {}
            lemma: dict[tuple[str, ...], None] = {}
            for term in terms:
                for variant in _variants(term):
                    words, lemmas = analysed[variant]
                    lower[tuple(w.lower() for w in words)] = None
                    lemma.update(dict.fromkeys(_lemma_sequences(words, lemmas)))
            self._by_lower.add(key, [Doc(vocab, words=list(w)) for w in lower])
            self._by_lemma.add(key, [Doc(vocab, words=list(m), lemmas=list(m)) for m in lemma])
        self._tokens = Matcher(vocab)
        # One DependencyMatcher per key: its cost grows with the patterns it holds,
        # and a tree is run only through the keys whose words it holds.
        self._dependency: dict[str, DependencyMatcher] = {}
        self._pattern_keys: list[str] = []  # the key of each dependency pattern, in TreeFilter order
        dependency_patterns = []
        for m in rules.matches():
            if m.kind == "tokens":
                self._tokens.add(m.key, [m.pattern])
            elif m.kind == "dependency":
                self._dependency.setdefault(m.key, DependencyMatcher(vocab)).add(m.key, [m.pattern])
                self._pattern_keys.append(m.key)
                dependency_patterns.append(m.pattern)
        self._trees = TreeFilter(dependency_patterns)

    def hits(self, doc: Doc, entities: Sequence[Entity] = ()) -> DocHits:
        sentences = sentence_units(doc)
        sentence_of = [-1] * len(doc)  # -1: a whitespace token between units
        for s, sent in enumerate(sentences):
            for i in range(sent.start, sent.end):
                sentence_of[i] = s
        tree_of = [0] * len(doc)  # spaCy's own sentence (one parse tree) of each token
        for t, sent in enumerate(doc.sents):
            for i in range(sent.start, sent.end):
                tree_of[i] = t
        strings = self._strings  # match keys live in the compiled vocab, whatever the Doc
        lexicon: list[dict[str, list[Hit]]] = [{} for _ in sentences]
        dependency: list[dict[str, list[Anchors]]] = [{} for _ in sentences]
        seen: set[tuple[int, int, int]] = set()  # the lower and lemma matchers often agree
        for matcher in (self._by_lower, self._by_lemma):
            for match_id, start, end in matcher(doc):
                if sentence_of[start] == sentence_of[end - 1] != -1 and (match_id, start, end) not in seen:
                    seen.add((match_id, start, end))
                    lexicon[sentence_of[start]].setdefault(strings[match_id], []).append((start, end))
        # token patterns run per sentence, on first use (DocHits.tokens_in)
        for tree, dependency_matcher in self._dependency_runs(doc):
            for match_id, relative in dependency_matcher(tree):
                anchor = tree.start + relative[0]
                if sentence_of[anchor] == -1:
                    continue
                # the first node of a dependency pattern is its anchor (the predicate)
                dependency[sentence_of[anchor]].setdefault(strings[match_id], []).append((anchor,))
        for per_sentence in lexicon:
            for hits in per_sentence.values():
                hits.sort()
        return DocHits(
            doc=doc,
            sentences=sentences,
            lexicon=lexicon,
            dependency=dependency,
            entities=_entities_by_sentence(doc, sentences, sentence_of, entities),
            sentence_of=sentence_of,
            tree_of=tree_of,
            token_matcher=self._tokens if len(self._tokens) else None,
            strings=strings,
        )

    def _dependency_runs(self, doc: Doc) -> list[tuple[Span, DependencyMatcher]]:
        """The (parse tree, DependencyMatcher) pairs worth a run, in Doc order.

        spaCy's DependencyMatcher grows faster than linearly with the length of
        a tree, so trees longer than ``MAX_TREE_TOKENS`` (no real sentence, only
        junk or adversarial text) are skipped; a tree goes through a key's
        matcher only if it holds the words one of the key's patterns needs
        (``TreeFilter``).
        """
        if not self._dependency or not len(doc):
            return []
        trees = list(doc.sents)
        runs: list[tuple[Span, DependencyMatcher]] = []
        for tree, patterns in zip(trees, self._trees.patterns_in(doc, trees), strict=True):
            if patterns and len(tree) <= MAX_TREE_TOKENS:
                keys = dict.fromkeys(self._pattern_keys[p] for p in patterns)
                runs.extend((tree, self._dependency[key]) for key in keys)
        return runs

    @staticmethod
    def find(match: Match, sentence: int, hits: DocHits) -> list[Anchors]:
        """Every occurrence of ``match`` in one sentence, as anchor token indices."""
        if match.kind == "lexicon":
            assert match.lexicon is not None
            return [tuple(range(a, b)) for a, b in hits.lexicon[sentence].get(match.lexicon, ())]
        if match.kind == "near":
            assert match.near is not None
            return _near(match.near, hits.lexicon[sentence])
        if match.kind == "entities":
            return [tuple(range(a, b)) for label, (a, b) in hits.entities[sentence] if label in match.labels]
        if match.kind == "tokens":
            return list(hits.tokens_in(sentence).get(match.key, ()))
        return list(hits.dependency[sentence].get(match.key, ()))


_TERMINAL = frozenset({".", "!", "?", "\u2026", "...", ";"})
_CLOSING = frozenset({'"', "\u00bb", "\u201d", "'", ")", "\u2019"})


def sentence_units(doc: Doc) -> list[Span]:
    """Written sentences: spaCy's sentences, cut at line breaks and glued back at false cuts.

    The small parsers cut sentences at quote marks and inside long clauses
    ("... d'avoir" / "violé" / "la trêve ..."), and sometimes run one across a
    paragraph break. A line break always ends a unit; inside a paragraph, a
    piece that does not end with terminal punctuation (closing quotes and
    brackets aside), or a piece that starts in lower case, belongs to its
    neighbour. Spans are trimmed of whitespace.

    Read from one ``to_array`` and the few token texts it looks at, not a
    ``Token`` per token: 62 us per wire article instead of 96.
    """
    n = len(doc)
    if not n:
        return []
    arr = doc.to_array([IS_SPACE, ORTH])
    space = arr[:, 0].astype(bool).tolist()
    orth = arr[:, 1]
    strings = doc.vocab.strings

    def text(i: int) -> str:
        return strings[int(orth[i])]

    breaks = [i for i in np.flatnonzero(arr[:, 0]).tolist() if "\n" in text(i)]  # line breaks, in order
    pieces: list[tuple[int, int]] = []
    for sent in doc.sents:
        start = sent.start
        for i in breaks[bisect_left(breaks, sent.start) : bisect_left(breaks, sent.end)]:
            if i > start:
                pieces.append((start, i))
            start = i + 1
        if sent.end > start:
            pieces.append((start, sent.end))
    units: list[tuple[int, int]] = []
    for a, b in pieces:
        while a < b and space[a]:
            a += 1
        while b > a and space[b - 1]:
            b -= 1
        if b <= a:
            continue
        if units:
            pa, pb = units[-1]
            same_paragraph = bisect_left(breaks, pb) == bisect_left(breaks, a)  # no line break in doc[pb:a]
            if same_paragraph and (not _ends_sentence(text, space, pa, pb) or _starts_fragment(text(a))):
                units[-1] = (pa, b)
                continue
        units.append((a, b))
    return [doc[a:b] for a, b in units]


def _ends_sentence(text: Callable[[int], str], space: list[bool], start: int, end: int) -> bool:
    """Whether tokens [start, end) end with terminal punctuation, spaces and closing marks aside."""
    i = end - 1
    while i >= start and (space[i] or text(i) in _CLOSING):
        i -= 1
    return i >= start and text(i) in _TERMINAL


def _starts_fragment(first: str) -> bool:
    return first[:1].islower() or first in {",", ":", ")", "\u2014", "-"}


def _entities_by_sentence(
    doc: Doc, sentences: list[Span], sentence_of: list[int], entities: Sequence[Entity]
) -> list[list[tuple[str, Hit]]]:
    """The model's own entities plus the enrich stage's canonical ones, per sentence."""
    out: list[list[tuple[str, Hit]]] = [[] for _ in sentences]
    if not sentences:
        return out
    for ent in doc.ents:
        if sentence_of[ent.start] != -1:
            out[sentence_of[ent.start]].append((ent.label_, (ent.start, ent.end)))
    for entity in entities:
        for start_char, end_char in entity.mentions:
            span = doc.char_span(start_char, end_char, alignment_mode="expand")
            if span is not None and len(span) and sentence_of[span.start] != -1:
                out[sentence_of[span.start]].append((entity.label, (span.start, span.end)))
    return out


def _near(near: Near, lexicon: dict[str, list[Hit]]) -> list[Anchors]:
    groups = []
    for key in near.lexicons:
        hits = lexicon.get(key)
        if not hits:  # most sentences: stop at the first lexicon they lack
            return []
        groups.append(hits)
    solve = _ordered_windows if near.ordered else _unordered_windows
    windows = solve(groups, near.window)
    out: dict[Anchors, None] = {}  # ordered and duplicate-free in linear time
    for chosen in windows:
        picked = [chosen[near.focus]] if near.focus is not None else chosen
        out[tuple(i for a, b in picked for i in range(a, b))] = None
    return list(out)


def _gap(first: Hit, last: Hit) -> int:
    """Tokens between the end of the first hit and the start of the last."""
    return last[0] - first[1]


def _unordered_windows(groups: list[list[Hit]], window: int) -> list[list[Hit]]:
    """Minimal windows holding one hit of every group (sliding window, linear in hits)."""
    events = sorted((hit, g) for g, hits in enumerate(groups) for hit in hits)
    k = len(groups)
    count = [0] * k
    latest: list[Hit | None] = [None] * k
    covered = left = 0
    out: list[list[Hit]] = []
    for hit, g in events:
        if count[g] == 0:
            covered += 1
        count[g] += 1
        latest[g] = hit
        while count[events[left][1]] > 1:  # drop hits made redundant by a later one of the same group
            count[events[left][1]] -= 1
            left += 1
        if covered == k:
            chosen = [h for h in latest if h is not None]
            first = min(chosen)
            if _gap(first, hit) <= window:
                out.append(chosen)
    return out


def _ordered_windows(groups: list[list[Hit]], window: int) -> list[list[Hit]]:
    """Hits of every group in the listed order, each the earliest after the previous one."""
    starts = [[h[0] for h in hits] for hits in groups]
    out: list[list[Hit]] = []
    for first in groups[0]:
        chosen = [first]
        for g in range(1, len(groups)):
            i = bisect_left(starts[g], chosen[-1][1])
            if i == len(groups[g]):
                break
            chosen.append(groups[g][i])
        if len(chosen) == len(groups) and _gap(first, chosen[-1]) <= window:
            out.append(chosen)
    return out
