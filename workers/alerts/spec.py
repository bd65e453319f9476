"""The rules of one language as typed values, after loading and checking.

Everything here is plain data: :mod:`workers.alerts.rules` builds it from the
YAML files and :mod:`workers.alerts.compiled` turns it into spaCy matchers.
Lexicon names are qualified (``cues/military``, ``airstrike/strike_noun``) so
shared cue lexicons and per-type lexicons never collide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "AlertTypeRules",
    "AssertionCue",
    "Block",
    "ContextCue",
    "CueRules",
    "HedgeCue",
    "LanguageRules",
    "Match",
    "MatchKind",
    "Near",
    "NegationCue",
    "Trigger",
]

MatchKind = Literal["lexicon", "near", "tokens", "dependency", "entities"]


@dataclass(frozen=True, slots=True)
class Near:
    """EMM-style proximity: one hit of every lexicon within ``window`` tokens."""

    lexicons: tuple[str, ...]
    window: int
    ordered: bool
    focus: int | None  # index of the lexicon whose hits carry the event (negation scope)


@dataclass(frozen=True, slots=True)
class Match:
    """One way to match inside a sentence; ``key`` is unique within a language."""

    key: str
    kind: MatchKind
    lexicon: str | None = None
    near: Near | None = None
    pattern: list[dict[str, Any]] = field(default_factory=list)  # spaCy token/dependency pattern
    labels: tuple[str, ...] = ()  # entity labels for kind "entities"


@dataclass(frozen=True, slots=True)
class Trigger:
    """Evidence that a sentence reports the event; ``weight`` is its precision estimate."""

    id: str
    weight: float
    match: Match
    negatable: bool = True  # false when the pattern already contains its own negation
    requires_any: tuple[str, ...] = ()  # qualified lexicons, one must occur in the sentence


@dataclass(frozen=True, slots=True)
class ContextCue:
    """In-sentence context that makes an alert more credible (military words, places)."""

    id: str
    weight: float
    match: Match


@dataclass(frozen=True, slots=True)
class Block:
    """A NOT block: a non-military use of the words; the sentence raises nothing."""

    id: str
    match: Match


@dataclass(frozen=True, slots=True)
class AssertionCue:
    """A neutral source or an eyewitness: the event is asserted, not merely claimed."""

    id: str
    match: Match
    next_sentence: bool = False  # also vouches for the previous sentence ("Our reporters saw ...")


@dataclass(frozen=True, slots=True)
class HedgeCue:
    """Modality that makes the event alleged, possible or one-sided."""

    id: str
    strength: float  # how much it lowers confidence: conf *= 1 - strength
    match: Match
    scope: Literal["local", "sentence"] = "local"  # local: must govern or sit near the trigger
    defeasible: bool = False  # dropped when the sentence names a neutral witness or source


@dataclass(frozen=True, slots=True)
class NegationCue:
    """Negation ("local": must govern or precede the trigger) or denial ("sentence")."""

    id: str
    scope: Literal["local", "sentence"]
    match: Match
    unless: tuple[str, ...] = ()  # hedge ids that turn a denial into a hedged claim instead


@dataclass(frozen=True, slots=True)
class CueRules:
    """The shared hedge and negation cues of one language (``cues.<lang>.yaml``)."""

    language: str
    version: str
    source: Path
    hedges: tuple[HedgeCue, ...] = ()
    negations: tuple[NegationCue, ...] = ()
    assertions: tuple[AssertionCue, ...] = ()  # neutral or eyewitness sources: the event is asserted
    negation_window: int = 3
    hedge_window: int = 4


@dataclass(frozen=True, slots=True)
class AlertTypeRules:
    """One alert type in one language (``<type>.<lang>.yaml``)."""

    type: str
    language: str
    version: str
    cameo: str
    plover: str
    source: Path
    triggers: tuple[Trigger, ...]
    context: tuple[ContextCue, ...] = ()
    blocks: tuple[Block, ...] = ()
    hedges: tuple[HedgeCue, ...] = ()
    negations: tuple[NegationCue, ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True)
class LanguageRules:
    """Every rule of one language, with the lexicons they reference."""

    language: str
    lexicons: dict[str, tuple[str, ...]]
    types: tuple[AlertTypeRules, ...]
    cues: CueRules | None = None

    def matches(self) -> list[Match]:
        """Every match spec of the language, cues first, in file order."""
        out: list[Match] = []
        if self.cues is not None:
            out.extend(c.match for c in self.cues.hedges)
            out.extend(c.match for c in self.cues.negations)
            out.extend(c.match for c in self.cues.assertions)
        for t in self.types:
            out.extend(r.match for r in t.triggers)
            out.extend(c.match for c in t.context)
            out.extend(b.match for b in t.blocks)
            out.extend(c.match for c in t.hedges)
            out.extend(c.match for c in t.negations)
        return out
