"""The evaluation report: counts per metric, ratios derived from them, and the error list.

Ratios are properties computed from the stored counts, so the JSON form and the
table can never disagree with the counts they come from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .outputs import OutputCounts

__all__ = [
    "ALL_TYPES",
    "ERROR_KINDS",
    "NOTE_KINDS",
    "AlertScores",
    "AlertTypeScore",
    "DedupScores",
    "EntityScores",
    "EvalError",
    "EvalReport",
    "LanguageScores",
    "ratio",
]

ALL_TYPES = "(all)"  # the micro-averaged row of the alert table

# kind -> heading, in the order the report lists them
ERROR_KINDS: dict[str, str] = {
    "alert_false_positive": "Alerts: false positives",
    "alert_false_negative": "Alerts: false negatives",
    "hedged_mismatch": "Alerts: hedged mismatches",
    "dedup_false_merge": "Dedup: false merges",
    "dedup_miss": "Dedup: missed duplicates",
    "language": "Language errors",
    "entity_miss": "Entities: missed",
    "entity_extra": "Entities: extra",
    "no_output": "Articles with no output at all",
}
NOTE_KINDS: dict[str, str] = {
    "dead_letter": "Articles that went to dead letters",
    "dedup_first_id": "Duplicates whose duplicate_of is not the gold first id",
}


def ratio(numerator: int, denominator: int, *, undefined: float = 0.0) -> float:
    """numerator / denominator, or ``undefined`` when the denominator is 0."""
    return numerator / denominator if denominator else undefined


def _f1(precision: float, recall: float) -> float:
    total = precision + recall
    return 2 * precision * recall / total if total else 0.0


@dataclass(frozen=True, slots=True)
class AlertTypeScore:
    """Article-level counts for one alert type (or all types, micro-averaged)."""

    type: str
    tp: int
    fp: int
    fn: int
    hedged_correct: int  # true positives whose hedged flag matches the label
    hedged_total: int  # true positives (the hedged accuracy denominator)

    @property
    def precision(self) -> float:
        return ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        return _f1(self.precision, self.recall)

    @property
    def hedged_accuracy(self) -> float:
        return ratio(self.hedged_correct, self.hedged_total)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "hedged_correct": self.hedged_correct,
            "hedged_total": self.hedged_total,
            "hedged_accuracy": self.hedged_accuracy,
        }


@dataclass(frozen=True, slots=True)
class AlertScores:
    """Alert scores over the articles labelled as not duplicates."""

    articles: int
    per_type: tuple[AlertTypeScore, ...]
    alert_free_articles: int  # in-scope articles with no labelled alert
    alerts_on_alert_free: int  # predicted alerts (not types) on those articles
    alert_free_articles_with_alerts: int

    @property
    def total(self) -> AlertTypeScore:
        """Micro-average over every type: sums of the per-type counts."""
        return AlertTypeScore(
            type=ALL_TYPES,
            tp=sum(s.tp for s in self.per_type),
            fp=sum(s.fp for s in self.per_type),
            fn=sum(s.fn for s in self.per_type),
            hedged_correct=sum(s.hedged_correct for s in self.per_type),
            hedged_total=sum(s.hedged_total for s in self.per_type),
        )

    def by_type(self, alert_type: str) -> AlertTypeScore:
        for item in self.per_type:
            if item.type == alert_type:
                return item
        raise KeyError(alert_type)

    def to_dict(self) -> dict[str, Any]:
        total = self.total
        return {
            "articles": self.articles,
            "per_type": [s.to_dict() for s in self.per_type],
            "micro": total.to_dict(),
            "hedged_accuracy": total.hedged_accuracy,
            "alert_free_articles": self.alert_free_articles,
            "alerts_on_alert_free": self.alerts_on_alert_free,
            "alert_free_articles_with_alerts": self.alert_free_articles_with_alerts,
        }


@dataclass(frozen=True, slots=True)
class DedupScores:
    """Pairwise duplicate clustering over every labelled article."""

    articles: int
    gold_pairs: int
    predicted_pairs: int
    correct_pairs: int
    first_id_mismatches: int  # predicted duplicate_of is not the gold first id (not an error)

    @property
    def precision(self) -> float:
        return ratio(self.correct_pairs, self.predicted_pairs, undefined=1.0)

    @property
    def recall(self) -> float:
        return ratio(self.correct_pairs, self.gold_pairs, undefined=1.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "gold_pairs": self.gold_pairs,
            "predicted_pairs": self.predicted_pairs,
            "correct_pairs": self.correct_pairs,
            "precision": self.precision,
            "recall": self.recall,
            "first_id_mismatches": self.first_id_mismatches,
        }


@dataclass(frozen=True, slots=True)
class EntityScores:
    """Micro-averaged entity scores over non-duplicate articles with an enriched event."""

    articles: int
    gold: int  # sum of |gold (canonical, label) set|
    predicted: int  # sum of |predicted (canonical, label) set|, PER/ORG/LOC only
    matched: int  # sum of |gold ∩ predicted|
    canonical_gold: int  # sum of |gold canonical set|
    canonical_matched: int  # sum of |gold canonicals ∩ predicted canonicals (any label)|

    @property
    def precision(self) -> float:
        return ratio(self.matched, self.predicted)

    @property
    def recall(self) -> float:
        return ratio(self.matched, self.gold)

    @property
    def canonical_recall(self) -> float:
        return ratio(self.canonical_matched, self.canonical_gold)

    def to_dict(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "gold": self.gold,
            "predicted": self.predicted,
            "matched": self.matched,
            "precision": self.precision,
            "recall": self.recall,
            "canonical_gold": self.canonical_gold,
            "canonical_matched": self.canonical_matched,
            "canonical_recall": self.canonical_recall,
        }


@dataclass(frozen=True, slots=True)
class LanguageScores:
    """Predicted vs labelled language over articles with an enriched event."""

    articles: int
    correct: int

    @property
    def accuracy(self) -> float:
        return ratio(self.correct, self.articles)

    def to_dict(self) -> dict[str, Any]:
        return {"articles": self.articles, "correct": self.correct, "accuracy": self.accuracy}


@dataclass(frozen=True, slots=True)
class EvalError:
    """One thing to look at: a wrong or missing output for one article (or pair).

    ``kind`` is a key of ``ERROR_KINDS`` or ``NOTE_KINDS``; ``details`` holds
    the structured fields (type, gold, predicted, sentence, other_id, ...).
    """

    kind: str
    article_id: str
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "article_id": self.article_id,
            "message": self.message,
            **self.details,
        }


@dataclass(frozen=True, slots=True)
class EvalReport:
    """Everything ``wirewatch eval`` prints; ``to_dict()`` is its ``--json`` form."""

    dataset: str
    counts: OutputCounts
    alerts: AlertScores
    dedup: DedupScores
    entities: EntityScores
    language: LanguageScores
    errors: tuple[EvalError, ...]
    # Facts worth knowing that are not scored as errors (dead letters, other first ids, ...).
    notes: tuple[EvalError, ...] = ()
    unknown_ids: tuple[str, ...] = ()
    untraced_dead_letters: int = 0

    def errors_of(self, kind: str) -> list[EvalError]:
        return [e for e in self.errors if e.kind == kind]

    def notes_of(self, kind: str) -> list[EvalError]:
        return [e for e in self.notes if e.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        c = self.counts
        return {
            "dataset": self.dataset,
            "counts": {
                "articles": c.articles,
                "enriched": c.enriched,
                "duplicates": c.duplicates,
                "dead_letters": c.dead_letters,
                "alerts": c.alerts,
                "other": c.other,
                "malformed": c.malformed,
                "unknown_ids": len(self.unknown_ids),
                "untraced_dead_letters": self.untraced_dead_letters,
            },
            "alerts": self.alerts.to_dict(),
            "dedup": self.dedup.to_dict(),
            "entities": self.entities.to_dict(),
            "language": self.language.to_dict(),
            "errors": [e.to_dict() for e in self.errors],
            "notes": [e.to_dict() for e in self.notes],
            "unknown_ids": list(self.unknown_ids),
        }
