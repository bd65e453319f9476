"""The alert detector: compiled rules in, ``Alert`` records out.

Every sentence of an article is judged against every alert type of its
language (see :mod:`workers.alerts.assess` for the confidence formula). Each
sentence that reports an event becomes one piece of *evidence*; the *best*
alert of a type is the one that goes to ``news.alerts.v1``: unhedged before
hedged, then the highest confidence, then the earliest. So ``best.hedged`` is
true only when every piece of evidence of that type is hedged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from spacy.tokens import Doc

from topics.records import Alert, Article, Entity
from workers.alerts.assess import SentenceVerdict, assess_sentence
from workers.alerts.compiled import CompiledLanguage, DocHits
from workers.alerts.rules import RuleSet
from workers.alerts.spec import AlertTypeRules
from workers.nlp import NlpPool

__all__ = ["ACTOR_LABELS", "LOCATION_LABELS", "AlertDetector", "AlertResult", "alert_id"]

ACTOR_LABELS = frozenset({"PER", "ORG"})
LOCATION_LABELS = frozenset({"LOC"})


@dataclass(frozen=True, slots=True)
class AlertResult:
    """All alert sentences of an article, and the strongest one per type."""

    evidence: list[Alert]  # every alert sentence, in text order (goes into the enriched event)
    best: list[Alert]  # at most one per type, sorted by type (goes to news.alerts.v1)


def alert_id(article_id: str, alert_type: str, span: tuple[int, int]) -> str:
    """Deterministic key: a replay gives the same id, so a compacted topic keeps one copy."""
    material = f"{article_id}\x1f{alert_type}\x1f{span[0]}:{span[1]}".encode()
    return hashlib.sha256(material).hexdigest()[:32]


def _best_key(alert: Alert) -> tuple[bool, float, int]:
    return (alert.hedged, -alert.confidence, alert.span[0])


def _nearby_entities(
    entities: Sequence[Entity], hits: DocHits, sentence: int, anchor_char: int
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Canonical actors and places mentioned in the sentence or its neighbours, nearest first."""
    sents = hits.sentences
    inner = (sents[sentence].start_char, sents[sentence].end_char)
    outer = (
        sents[max(0, sentence - 1)].start_char,
        sents[min(len(sents) - 1, sentence + 1)].end_char,
    )
    ranked: dict[tuple[str, str], tuple[int, int, int]] = {}
    for entity in entities:
        kind = "actor" if entity.label in ACTOR_LABELS else "location" if entity.label in LOCATION_LABELS else None
        if kind is None:
            continue
        for start, end in entity.mentions:
            if end <= outer[0] or start >= outer[1]:
                continue
            tier = 0 if start < inner[1] and end > inner[0] else 1  # the evidence sentence first
            key = (tier, abs(start - anchor_char), start)
            name = (kind, entity.canonical)
            if name not in ranked or key < ranked[name]:
                ranked[name] = key
    ordered = sorted(ranked, key=lambda n: ranked[n])
    return (
        tuple(name for kind, name in ordered if kind == "actor"),
        tuple(name for kind, name in ordered if kind == "location"),
    )


class AlertDetector:
    """Finds alert sentences; build once per process, call ``detect`` per article."""

    def __init__(self, rules: RuleSet, pool: NlpPool) -> None:
        self.rules = rules
        # Compile once per language against that pipeline's vocab; languages
        # without a real pipeline (no lemmas, no parser) get no alerts.
        self._compiled: dict[str, CompiledLanguage] = {
            lang: CompiledLanguage(lang_rules, pool.model_for(lang))
            for lang, lang_rules in rules.languages.items()
            if lang_rules.types and pool.has_model(lang)
        }

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(sorted(self._compiled))

    def detect(self, doc: Doc, article: Article, entities: Sequence[Entity] = ()) -> AlertResult:
        """Alerts of one article; ``doc`` is the spaCy Doc of ``article.text``."""
        language = article.language or doc.lang_
        compiled = self._compiled.get(language)
        if compiled is None or len(doc) == 0:
            return AlertResult(evidence=[], best=[])
        hits = compiled.hits(doc, entities)
        evidence: list[Alert] = []
        for sentence in range(len(hits.sentences)):
            for type_rules in compiled.rules.types:
                verdict = assess_sentence(type_rules, compiled.rules.cues, sentence, hits)
                if verdict is not None:
                    evidence.append(self._alert(verdict, type_rules, hits, article, entities, language))
        best: dict[str, Alert] = {}
        for alert in evidence:
            if alert.type not in best or _best_key(alert) < _best_key(best[alert.type]):
                best[alert.type] = alert
        return AlertResult(evidence=evidence, best=[best[t] for t in sorted(best)])

    @staticmethod
    def _alert(
        verdict: SentenceVerdict,
        rules: AlertTypeRules,
        hits: DocHits,
        article: Article,
        entities: Sequence[Entity],
        language: str,
    ) -> Alert:
        sent = hits.sentences[verdict.sentence]
        span = (sent.start_char, sent.end_char)
        actors, locations = _nearby_entities(entities, hits, verdict.sentence, hits.doc[verdict.anchor].idx)
        return Alert(
            alert_id=alert_id(article.id, rules.type, span),
            article_id=article.id,
            type=rules.type,
            cameo=rules.cameo,
            plover=rules.plover,
            hedged=verdict.hedged,
            confidence=verdict.confidence,
            sentence=sent.text,
            span=span,
            actors=actors,
            locations=locations,
            language=language,
            published_at=article.published_at,
        )
