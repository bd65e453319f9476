"""Scope of negation and hedge cues: does a cue found in a sentence bear on the trigger?

Cue *lists* are data (``cues.<lang>.yaml``); their *scope* is decided here,
from the dependency parse with a token-distance fallback, because the small
spaCy parsers attach words wrongly often enough that syntax alone loses cues:

- a local negation negates a trigger when it depends on the trigger, on the
  trigger's head or on its subject ("n'a pas été violée", "no violation", "no
  workers were kidnapped"), or sits at most ``negation_window`` tokens before it;
- a local hedge bears on a trigger when it governs it ("said that drones
  struck", "pourraient violer"), when it reaches one of the trigger's
  governors through modifiers only ("reportedly", "could", "selon
  l'opposition", "..., killing 50, according to X"), or when it sits within
  ``hedge_window`` tokens of it. A hedge inside a core argument of another
  clause ("renewed his appeal ..., hours after a strike") stays out.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable

from spacy.tokens import Doc, Token

__all__ = ["hedge_applies", "is_negated"]

# Dependents that are the participants of a clause rather than its modality: a
# hedge word there ("renewed his *appeal*") describes something else.
_CORE_ARGUMENTS = frozenset(
    {
        "nsubj", "nsubjpass", "nsubj:pass", "csubj", "obj", "dobj", "iobj", "attr", "conj",
        "ccomp", "xcomp", "appos", "obl:arg", "pobj",
    }
)  # fmt: skip
_SUBJECTS = frozenset({"nsubj", "nsubjpass", "nsubj:pass"})
_CLIMB_LIMIT = 6
_FUNCTION_LINKS = frozenset({"case", "fixed", "mwe", "det"})


def is_negated(doc: Doc, anchors: Iterable[int], cue_tokens: Iterable[int], window: int) -> bool:
    """A local negation cue depends on the anchor or its head, or sits just before it."""
    positions = sorted(set(cue_tokens))
    heads = {doc[i].head.i: i for i in positions}
    # "No aid workers were kidnapped": the cue sits on the subject of the anchor
    subject_heads = {doc[i].head.head.i for i in positions if doc[i].head.dep_ in _SUBJECTS and doc[i].head.i != i}
    for a in anchors:
        anchor = doc[a]
        if anchor.i in subject_heads:
            return True
        for head in (anchor.i, anchor.head.i):
            if head in heads and heads[head] != anchor.i:
                return True
        # any cue in [a - window, a - 1]
        k = bisect_left(positions, a - window)
        if k < len(positions) and positions[k] < a:
            return True
    return False


def _governors(token: Token, limit: int = 12) -> list[int]:
    """The token and its heads up to the root (bounded: parses are trees, but be safe)."""
    out = [token.i]
    while token.head.i != token.i and len(out) < limit:
        token = token.head
        out.append(token.i)
    return out


def hedge_applies(doc: Doc, anchors: Iterable[int], cue_token: int, window: int) -> bool:
    """Whether the hedge cue at ``cue_token`` bears on the event anchored at ``anchors``."""
    cue = doc[cue_token]
    # "selon l'opposition", "according to": judge the phrase by its content word
    while cue.dep_ in _FUNCTION_LINKS and cue.head.i != cue.i:
        cue = cue.head
    for a in anchors:
        if abs(a - cue_token) <= window:
            return True
        governors = set(_governors(doc[a]))
        # climb from the cue through modifiers only (adverbials, prepositional phrases,
        # participial clauses): "..., killing 50, according to X" reaches "bombed"; a
        # core argument ("renewed his appeal") stops the climb
        node = cue
        for _ in range(_CLIMB_LIMIT):
            if node.i in governors:
                return True
            if node.dep_ in _CORE_ARGUMENTS or node.head.i == node.i:
                break
            node = node.head
    return False
