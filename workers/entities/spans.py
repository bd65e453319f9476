"""Reconciling the NER model's spans with the curated alias matches.

For each model span (label mapped to PER/ORG/LOC/MISC, leading determiners and a
trailing possessive trimmed):

* a span whose whole text is a known name takes that name's entity (so a span
  the model labelled PER but that names a place becomes LOC: "Washington");
* a span inside an alias match takes the match ("Donetsk" in "région de
  Donetsk");
* a span made of alias matches and nothing but lower-case or link words is
  split into the matches ("Union européenne Federica Mogherini", "province
  d'Alep"); a span with other capitalised words is a longer name that contains
  a known one ("Darfur Bar Association", "Paris Saint-Germain", "Israel Katz"):
  it stays whole, unresolved, and the matches inside it are dropped;
* a span that starts with a lower-case word other than a name particle ("al-",
  "de", "bin") is a description ("ministère russe de la Défense") and dropped,
  like compass points and bare titles; alias matches inside it still count;
* any other span keeps the model's label and its cleaned text as canonical name.

Alias matches outside every model span are added: that is how entities the
model missed (or pipelines without NER) still get found.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from spacy.tokens import Doc, Span, Token

from workers.entities.gazetteer import Gazetteer
from workers.entities.labels import Label, map_label
from workers.entities.matcher import AliasMatch
from workers.entities.normalise import clean_name, fold
from workers.entities.targets import Target, Tier

__all__ = ["Mention", "overlapping", "reconcile"]


@dataclass(frozen=True, slots=True)
class Mention:
    start: int  # character offsets into doc.text
    end: int
    target: Target


def _capitalised(tokens: Sequence[Token]) -> bool:
    return any(t.text[:1].isupper() and any(ch.isalpha() for ch in t.text) for t in tokens)


def _trim(span: Span, gaz: Gazetteer) -> Span | None:
    """``span`` without edge punctuation, a trailing possessive, or leading determiners and titles."""
    start, end = span.start, span.end
    doc = span.doc
    while start < end and doc[start].is_punct:
        start += 1
    while end > start and (doc[end - 1].is_punct or doc[end - 1].lower_ in {"'s", "’s", "'"}):
        end -= 1
    if start < end and gaz.lookup(doc[start:end].text) is None:  # "The Hague" stays whole
        while start < end - 1 and fold(doc[start].text) in gaz.rules.strip_leading:
            start += 1
        while end > start + 1 and doc[end - 1].lower_ in gaz.rules.strip_trailing:
            end -= 1  # "Yunnan province" -> "Yunnan"
    return doc[start:end] if start < end else None


def resolve_span(span: Span, label: Label, gaz: Gazetteer, countries: frozenset[str] = frozenset()) -> Mention | None:
    """The mention for a model span (or a piece of one), None if it is no entity.

    ``countries`` are the ISO codes of the places the article names: a small
    city of one of them may take a span the model called a person ("Goris").
    """
    text = clean_name(span.text)
    key = fold(text)
    if not key or key in gaz.rules.not_entities or not _capitalised(list(span)):
        return None  # entities are proper names: "occidental", "2016" are not
    if key in gaz.rules.misc_names:  # a weapon or product the model took for a person or group
        return Mention(span.start_char, span.end_char, Target(id=None, canonical=text, label="MISC"))
    hit = gaz.lookup(text)
    leader = _leader_of(span, gaz) if hit is None else None
    if leader is not None:
        return leader
    first_word = (fold(span[0].text).split() or [""])[0]
    if hit is None and span[0].text[:1].islower() and first_word not in gaz.rules.name_particles:
        return None  # a description, not a name: "ministère russe de la Défense"
    if hit is not None and (
        label == "LOC"
        or hit.tier <= Tier.CURATED
        or hit.population >= gaz.rules.relabel_min_population
        or hit.target.country in countries
    ):
        return Mention(span.start_char, span.end_char, hit.target)
    if label == "LOC" and " " not in key and key.endswith(gaz.rules.demonym_suffixes):
        label = "MISC"  # "Israéliens", "Ukrainian": a nationality, not a place
    return Mention(span.start_char, span.end_char, Target(id=None, canonical=text, label=label))


def _leader_of(span: Span, gaz: Gazetteer) -> Mention | None:
    """The mention of the known person in "administration Obama", "Netanyahu government"."""
    if len(span) < 2:
        return None
    if fold(span[0].text) in gaz.rules.government_words:
        rest = span[1:]
    elif fold(span[-1].text) in gaz.rules.government_words:
        rest = span[:-1]
    else:
        return None
    hit = gaz.lookup(rest.text)
    if hit is None or hit.target.label != "PER":
        return None
    return Mention(rest.start_char, rest.end_char, hit.target)


def _runs(span: Span, matches: Sequence[AliasMatch]) -> list[tuple[int, int]]:
    covered = {i for m in matches for i in range(m.start, m.end)}
    runs: list[tuple[int, int]] = []
    for i in range(span.start, span.end):
        if i in covered:
            continue
        if runs and runs[-1][1] == i:
            runs[-1] = (runs[-1][0], i + 1)
        else:
            runs.append((i, i + 1))
    return runs


def _split(span: Span, inside: Sequence[AliasMatch], gaz: Gazetteer) -> list[Mention] | None:
    """The alias matches of a span, if they are all the name it holds; None to keep it whole.

    Words left over around the matches may only be lower-case or punctuation
    ("province d'Alep"); any other capitalised word means the span is a longer
    name that merely contains a known one ("Darfur Bar Association", "Paris
    Saint-Germain", "University of Aleppo"), kept whole with the model's label.
    """
    doc = span.doc
    filler = gaz.rules.link_words | gaz.rules.not_entities  # compass points too: "Liban-Sud" is Lebanon
    for start, end in _runs(span, inside):
        rest = [t for t in doc[start:end] if not t.is_punct and fold(t.text) not in filler]
        if _capitalised(rest):
            return None
    return [Mention(m.start_char, m.end_char, m.target) for m in inside]


def _countries(spans: Sequence[tuple[Span, Label]], matches: Sequence[AliasMatch], gaz: Gazetteer) -> frozenset[str]:
    """ISO codes of the countries and curated places the article names outright."""
    found = {m.target.country for m in matches if m.target.label == "LOC"}
    for span, label in spans:
        hit = gaz.lookup(span.text) if label == "LOC" else None
        if hit is not None and hit.tier <= Tier.CURATED:
            found.add(hit.target.country)
    return frozenset(c for c in found if c)


def overlapping(matches: Sequence[AliasMatch]) -> Callable[[int, int], list[int]]:
    """A lookup: the indices, ascending, of the ``matches`` that share a token with ``[start, end)``.

    A binary search over the matches ordered by start, not a scan of them all
    for every span: a megabyte article has ~3,000 model spans and ~7,000 alias
    matches, and the scan took 12 of its 13 seconds of entity linking.
    """
    order = sorted(range(len(matches)), key=lambda i: matches[i].start)
    starts = [matches[i].start for i in order]
    longest = max((m.end - m.start for m in matches), default=0)

    def find(start: int, end: int) -> list[int]:
        # a match ending after ``start`` starts after ``start - longest``
        low, high = bisect_left(starts, start - longest + 1), bisect_left(starts, end)
        return sorted(i for i in order[low:high] if matches[i].end > start)

    return find


def reconcile(doc: Doc, matches: Sequence[AliasMatch], gaz: Gazetteer) -> list[Mention]:
    """Every mention of ``doc``, from its model spans and the curated alias matches."""
    spans: list[tuple[Span, Label]] = []
    for ent in doc.ents:
        label = map_label(ent.label_)
        span = _trim(ent, gaz) if label is not None else None
        if label is not None and span is not None:
            spans.append((span, label))
    countries = _countries(spans, matches, gaz)
    mentions: list[Mention] = []
    consumed: set[int] = set()
    overlaps = overlapping(matches)
    for span, label in spans:
        inside = overlaps(span.start, span.end)
        consumed.update(inside)
        whole = resolve_span(span, label, gaz, countries)
        covering = [matches[i] for i in inside if matches[i].start <= span.start and matches[i].end >= span.end]
        if covering:  # an alias as long as the span or longer: "région de Donetsk" around "Donetsk"
            mentions.append(Mention(covering[0].start_char, covering[0].end_char, covering[0].target))
            continue
        if whole is None:  # the span is no entity, but a name inside it still is one
            mentions.extend(Mention(matches[i].start_char, matches[i].end_char, matches[i].target) for i in inside)
            continue
        if not inside or whole.target.id is not None:
            mentions.append(whole)
            continue
        pieces = _split(span, [matches[i] for i in inside], gaz)
        mentions.extend([whole] if pieces is None else pieces)
    mentions.extend(Mention(m.start_char, m.end_char, m.target) for i, m in enumerate(matches) if i not in consumed)
    return mentions
