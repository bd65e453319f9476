"""Judging one sentence against one alert type: triggers, NOT blocks, negation, hedging.

A sentence reports the event when at least one trigger pattern fires, no NOT
block (a non-military sense of the words) matches, no bare denial covers it,
and at least one occurrence of a trigger is not negated (see
:mod:`workers.alerts.modality` for cue scope).

``confidence`` (the number on the wire) is built from rule-file weights:

1. trigger belief ``t = 1 - prod(1 - w_i)`` over the distinct trigger patterns
   that fired and survived negation: a noisy-OR, each pattern an independent
   witness whose weight is its estimated precision;
2. context ``c = 1 - prod(1 - w_j)`` over the type's context cues present in
   the sentence (military vocabulary, a place name), and
   ``raw = t + (1 - t) * c``: context only adds to the triggers' belief;
3. when hedged, ``confidence = raw * (1 - s)``, where ``s`` is the strength of
   the hedge that covers the event (for several occurrences, the weakest of
   their strongest hedges): an unverified claim (0.2-0.3) weakens less than
   a warning (0.35) or an appeal to stop (0.4).

So "OSCE monitors recorded 300 ceasefire violations in Donbas" (one 0.85
trigger, a place 0.25) scores 0.887; the same evidence under a "could" hedge
(0.3) scores 0.621. Values are rounded to three decimals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from spacy.tokens import Token

from workers.alerts.compiled import Anchors, CompiledLanguage, DocHits
from workers.alerts.modality import hedge_applies, is_negated
from workers.alerts.spec import AlertTypeRules, CueRules, HedgeCue, NegationCue

__all__ = ["SentenceVerdict", "assess_sentence", "noisy_or"]

_Cue = TypeVar("_Cue", HedgeCue, NegationCue)

# Occurrences of one trigger or cue judged per sentence. Real sentences hold a
# handful; the bound keeps adversarial text (a "sentence" of 10,000 "trêve")
# linear, since hedge scope compares occurrences with cues pairwise.
MAX_OCCURRENCES = 32


@dataclass(frozen=True, slots=True)
class SentenceVerdict:
    """An alert-worthy sentence: which triggers fired, how sure, how hedged."""

    sentence: int
    triggers: tuple[str, ...]
    anchor: int  # token index of the first surviving trigger anchor
    hedged: bool
    hedges: tuple[str, ...]
    confidence: float


def noisy_or(weights: Iterable[float]) -> float:
    remaining = 1.0
    for w in weights:
        remaining *= 1.0 - w
    return 1.0 - remaining


def _present(cues: Iterable[_Cue], sentence: int, hits: DocHits) -> list[tuple[_Cue, Anchors]]:
    return [
        (cue, anchors) for cue in cues for anchors in CompiledLanguage.find(cue.match, sentence, hits)[:MAX_OCCURRENCES]
    ]


_ARGUMENTS = frozenset({"nsubj", "nsubj:pass", "nsubjpass", "obj", "dobj", "iobj", "conj"})


def _clause_head(token: Token) -> bool:
    """The main verb of its tree, or a non-argument dependent of it ("a déclaré X", "selon X")."""
    head = token.head
    return head.i == token.i or (head.head.i == head.i and token.dep_ not in _ARGUMENTS)


def _hedges_for(
    anchors: Anchors, cues: Sequence[tuple[HedgeCue, Anchors]], hits: DocHits, window: int
) -> list[HedgeCue]:
    doc, tree_of = hits.doc, hits.tree_of
    out = []
    for cue, cue_anchors in cues:
        token = cue_anchors[0]
        if cue.scope == "sentence" or hedge_applies(doc, anchors, token, window):
            out.append(cue)
        elif tree_of[token] != tree_of[anchors[0]] and _clause_head(doc[token]):
            # another parse tree of the same written sentence (a quote and its
            # attribution, a clause the parser cut off): only its main clause counts
            out.append(cue)
    return out


def _local_negations(negations: Sequence[NegationCue], sentence: int, hits: DocHits) -> list[int]:
    local = [n for n in negations if n.scope == "local"]
    return [anchors[0] for _, anchors in _present(local, sentence, hits)]


def _asserted(cues: CueRules | None, sentence: int, hits: DocHits, negations: Sequence[NegationCue]) -> bool:
    """A neutral source or witness vouches for the sentence ("could not be confirmed" does not)."""
    if cues is None:
        return False
    window = cues.negation_window
    for unit, reaching in ((sentence, False), (sentence + 1, True)):
        if unit >= len(hits.sentences):
            break
        local = _local_negations(negations, unit, hits)
        for cue in cues.assertions:
            if reaching and not cue.next_sentence:
                continue
            for anchors in CompiledLanguage.find(cue.match, unit, hits):
                if not is_negated(hits.doc, anchors, local, window):
                    return True
    return False


def assess_sentence(
    rules: AlertTypeRules, cues: CueRules | None, sentence: int, hits: DocHits
) -> SentenceVerdict | None:
    """The verdict for one sentence, or None when it does not report the event."""
    fired = [(t, CompiledLanguage.find(t.match, sentence, hits)) for t in rules.triggers]
    fired = [(t, found) for t, found in fired if found]
    if not fired:
        return None
    # NOT blocks: a non-military sense of the trigger words silences the whole sentence
    if any(CompiledLanguage.find(b.match, sentence, hits) for b in rules.blocks):
        return None
    doc = hits.doc
    negations = [*(cues.negations if cues else ()), *rules.negations]
    hedge_cues = [*(cues.hedges if cues else ()), *rules.hedges]
    found_hedges = _present(hedge_cues, sentence, hits)
    if _asserted(cues, sentence, hits, negations):
        # a neutral source or an eyewitness asserts it: "X said" no longer makes it one-sided
        found_hedges = [(c, a) for c, a in found_hedges if not c.defeasible]
    hedge_ids = {c.id for c, _ in found_hedges}
    denials = [n for n, _ in _present([n for n in negations if n.scope == "sentence"], sentence, hits)]
    if any(not (set(n.unless) & hedge_ids) for n in denials):
        return None  # a bare denial ("denied breaching", "dément") covers the whole sentence
    local = _local_negations(negations, sentence, hits)
    negation_window = cues.negation_window if cues else 3
    hedge_window = cues.hedge_window if cues else 4
    survivors: list[tuple[str, float, Anchors]] = []
    for trigger, found in fired:
        if trigger.requires_any and not any(hits.lexicon_present(sentence, k) for k in trigger.requires_any):
            continue
        for anchors in found[:MAX_OCCURRENCES]:
            if not (trigger.negatable and is_negated(doc, anchors, local, negation_window)):
                survivors.append((trigger.id, trigger.weight, anchors))
    if not survivors:
        return None
    # hedged only when every surviving occurrence is hedged; denials with an accusation hedge too
    per_occurrence = [_hedges_for(a, found_hedges, hits, hedge_window) for _, _, a in survivors]
    if denials:
        per_occurrence = [h or [c for c, _ in found_hedges] for h in per_occurrence]
    hedged = all(per_occurrence)
    applied = [c for h in per_occurrence for c in h] if hedged else []
    trigger_belief = noisy_or({t: w for t, w, _ in survivors}.values())
    context = noisy_or(c.weight for c in rules.context if CompiledLanguage.find(c.match, sentence, hits))
    confidence = trigger_belief + (1.0 - trigger_belief) * context
    if hedged:
        # the weakest hedge that covers every occurrence: the event is at least that likely
        confidence *= 1.0 - min(max(c.strength for c in h) for h in per_occurrence)
    return SentenceVerdict(
        sentence=sentence,
        triggers=tuple(dict.fromkeys(t for t, _, _ in survivors)),
        anchor=min(min(a) for _, _, a in survivors),
        hedged=hedged,
        hedges=tuple(dict.fromkeys(c.id for c in applied)),
        confidence=round(min(1.0, max(0.0, confidence)), 3),
    )
