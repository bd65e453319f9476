"""The attribute ruler's matches, found by table lookups instead of spaCy's ``Matcher``.

The English pipeline's ``attribute_ruler`` holds 179 token patterns (the tag
map, and exceptions by word: "ai n't" -> lemma "be"). spaCy runs them through
its general ``Matcher``, which tests every pattern's predicates at every token
and evaluates each ``IN`` or ``REGEX`` predicate in Python: 6.7 ms per wire
article, a sixth of the English pipeline (its parser takes 6.0). Nearly all
the patterns are of a simple kind: a fixed number of tokens, each tested for
equality or set membership of a few attributes. ``AttributeMatches`` indexes
those by the value they require, so a token is tested only against the
patterns that could match it, and remembers the outcome per combination of
attribute values (a wire article repeats most of its words). Any other
pattern (a ``REGEX``, an operator, an extension attribute: three of the
English ones) stays with a ``Matcher`` of its own, which spaCy runs as before,
so nothing is dropped. English: ~1.1 ms per article (matches and annotation),
French ~0.6 (1.4 before).

The matches are the same as spaCy's (same patterns, same token attributes,
same order of application: later patterns win); a test compares them, and
the annotations they leave, on the labelled sets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from spacy.language import Language
from spacy.matcher import Matcher
from spacy.pipeline import AttributeRuler
from spacy.strings import get_string_id
from spacy.tokens import Doc

__all__ = ["AttributeMatches", "speed_up_attribute_rulers"]

# token attributes a fast pattern may test (those Doc.to_array reads as the Matcher does)
_ATTRS = ("ORTH", "LOWER", "NORM", "TAG", "POS", "DEP", "IS_SPACE")
_SYNONYMS = {"TEXT": "ORTH"}
# outcomes remembered per combination of a token's attribute values (~270 bytes
# each: ~13 MB when full); cleared when full, as a feed brings new words
_CACHE_LIMIT = 50_000

Match = tuple[int, int, int, int]  # (attribute id, match id, start, end), as AttributeRuler.match returns them


def _attribute(name: str) -> str:
    """A pattern key as the Matcher reads it: upper case, TEXT meaning ORTH."""
    return _SYNONYMS.get(name.upper(), name.upper())


@dataclass(frozen=True, slots=True)
class _Test:
    """One predicate on one attribute (its column in the token rows)."""

    column: int
    kind: str  # "eq", "in", "not_in"
    value: Any  # a string's id (or 0/1 for a flag); a frozenset of ids for "in" and "not_in"

    def __call__(self, row: tuple[int, ...]) -> bool:
        got = row[self.column]
        if self.kind == "eq":
            return bool(got == self.value)
        if self.kind == "in":
            return got in self.value
        return got not in self.value


@dataclass(slots=True)
class _Pattern:
    attr_id: int
    match_id: int
    tests: list[list[_Test]]  # per token of the pattern

    def matches_at(self, rows: Sequence[tuple[int, ...]], start: int) -> bool:
        if start + len(self.tests) > len(rows):
            return False
        return all(test(rows[start + j]) for j, token_tests in enumerate(self.tests) for test in token_tests)


@dataclass
class AttributeMatches:
    """``AttributeRuler.match`` for one ruler, by lookups (see the module's docstring)."""

    ruler: AttributeRuler
    columns: list[int | str] = field(default_factory=list, init=False)
    # patterns by (column, value) of an equality test on their first token; and those without any
    _by_value: dict[tuple[int, int], list[_Pattern]] = field(default_factory=dict, init=False)
    _always: list[_Pattern] = field(default_factory=list, init=False)
    _rest: Matcher | None = field(default=None, init=False)
    _cache: dict[tuple[int, ...], tuple[_Pattern, ...]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        used: list[int | str] = []
        compiled: list[tuple[int, int, list[dict[str, Any]]]] = []
        rest: list[tuple[str, list[dict[str, Any]]]] = []
        for key, patterns in self._patterns_by_key():
            attr_id, match_id = int(key), get_string_id(key)
            for pattern in patterns:
                if all(self._simple(spec) for spec in pattern):
                    compiled.append((attr_id, match_id, pattern))
                    for spec in pattern:
                        used.extend(_attribute(name) for name in spec)
                else:
                    rest.append((key, pattern))
        self.columns = [name for name in _ATTRS if name in used]
        for attr_id, match_id, pattern in compiled:
            self._add(_Pattern(attr_id, match_id, [self._tests(spec) for spec in pattern]))
        if rest:
            self._rest = Matcher(self.ruler.vocab, validate=False)
            for key, pattern in rest:
                self._rest.add(key, [pattern])

    def _patterns_by_key(self) -> list[tuple[str, list[list[dict[str, Any]]]]]:
        """The ruler's patterns under the keys its own Matcher holds them by."""
        keys = [str(i) for i in range(len(self.ruler.attrs))]  # AttributeRuler.add's keys
        return [(key, list(self.ruler.matcher.get(key)[1])) for key in keys if key in self.ruler.matcher]

    @staticmethod
    def _simple(spec: dict[str, Any]) -> bool:
        for name, value in spec.items():
            if _attribute(name) not in _ATTRS:
                return False  # OP, _, or an attribute not read here
            if isinstance(value, dict):
                if len(value) != 1:
                    return False
                ((op, arg),) = value.items()
                if op not in ("IN", "NOT_IN"):
                    return False  # REGEX too: spaCy's Matcher compiles the model's own expressions
                if not (isinstance(arg, list) and all(isinstance(v, str) for v in arg)):
                    return False
            elif not isinstance(value, str | bool):
                return False
        return True

    def _tests(self, spec: dict[str, Any]) -> list[_Test]:
        tests = []
        for name, value in spec.items():
            column = self.columns.index(_attribute(name))
            if isinstance(value, bool):
                tests.append(_Test(column, "eq", int(value)))
            elif isinstance(value, str):
                tests.append(_Test(column, "eq", get_string_id(value)))
            else:
                ((op, arg),) = value.items()
                tests.append(_Test(column, op.lower(), frozenset(get_string_id(v) for v in arg)))
        # equality first: the cheapest and most selective
        return sorted(tests, key=lambda t: t.kind != "eq")

    def _add(self, pattern: _Pattern) -> None:
        first = next((t for t in pattern.tests[0] if t.kind == "eq"), None)
        if first is None:
            self._always.append(pattern)
        else:
            self._by_value.setdefault((first.column, first.value), []).append(pattern)

    def _starting(self, row: tuple[int, ...]) -> tuple[_Pattern, ...]:
        """The patterns whose first token matches a token with these attribute values."""
        found = self._cache.get(row)
        if found is None:
            candidates: list[_Pattern] = []
            for column, value in enumerate(row):
                candidates.extend(self._by_value.get((column, value), ()))
            candidates.extend(self._always)
            found = tuple(p for p in candidates if all(test(row) for test in p.tests[0]))
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[row] = found
        return found

    def __call__(self, doc: Doc) -> list[Match]:
        """The matches ``AttributeRuler.match`` returns for ``doc``, sorted alike."""
        found: set[Match] = set()
        if self.columns and len(doc):
            rows = [tuple(r) for r in doc.to_array(self.columns).tolist()]
            for i, row in enumerate(rows):
                for pattern in self._starting(row):
                    if len(pattern.tests) == 1 or pattern.matches_at(rows, i):
                        found.add((pattern.attr_id, pattern.match_id, i, i + len(pattern.tests)))
        if self._rest is not None:
            for match_id, start, end in self._rest(doc, allow_missing=True, as_spans=False):
                found.add((int(self.ruler.vocab.strings[match_id]), match_id, start, end))
        return sorted(found)

    @property
    def patterns(self) -> int:
        """How many patterns are matched here rather than by a ``Matcher``."""
        return len(self._always) + sum(len(v) for v in self._by_value.values())


def speed_up_attribute_rulers(nlp: Language) -> int:
    """Give each attribute ruler of ``nlp`` an ``AttributeMatches``; how many patterns it took over."""
    taken = 0
    for _name, component in nlp.pipeline:
        if isinstance(component, AttributeRuler):
            matches = AttributeMatches(component)
            component.match = matches  # type: ignore[method-assign]  # the ruler calls self.match(doc)
            taken += matches.patterns
    return taken
