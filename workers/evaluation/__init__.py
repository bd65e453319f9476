"""Scoring for ``wirewatch eval DATASET``: the pipeline's outputs against a labelled set.

A dataset directory holds ``articles.jsonl`` (raw article values, one per line,
as published to ``news.articles.raw.v1``) and ``labels.jsonl`` (one label per
article, same order)::

    {"id", "language", "duplicate_of": null | "<first id of its group>",
     "alerts": [{"type", "hedged", "evidence"}],
     "entities": [{"canonical", "label": "PER" | "ORG" | "LOC"}]}

``load_dataset`` reads it, ``score`` compares it with the output messages of one
pipeline run (``{"topic", "key", "value"}`` as written by ``wirewatch enrich``),
``render_report`` prints the result and ``EvalReport.to_dict()`` is its JSON form.
Running the pipeline is the caller's business: this package is pure.

Metric definitions (every ratio is reported with the counts it comes from):

Alerts, per type
    Every type seen in the labels or in the enriched events of labelled
    articles, plus the three v1 types always (``ceasefire_violation``,
    ``airstrike``, ``ground_offensive``). Article-level, over the articles whose
    label has ``duplicate_of`` null. The predicted types of an article are the
    types in the ``alerts`` list of its enriched event (none without an enriched
    event); the gold types are those of its labelled alerts. TP / FP / FN count
    (article, type) pairs; precision = TP/(TP+FP), recall = TP/(TP+FN),
    F1 = 2PR/(P+R), each 0 when undefined. The ``(all)`` row is the
    micro-average: sums of the per-type counts.
Hedged accuracy
    Per type and overall, over the true-positive (article, type) pairs. The
    predicted hedged flag is True only if every alert of that type in the
    enriched event has ``hedged`` true; the gold flag likewise over the labelled
    alerts of that type (one labelled alert: its ``hedged``). Accuracy = matching
    pairs / true-positive pairs, 0 when there is none.
Alerts on articles labelled alert-free
    The number of alerts (not types) in the enriched events of in-scope articles
    with no labelled alert: non-military distractors such as "trêve des
    confiseurs" or a price-war "ceasefire". Reported separately; these alerts are
    also false positives above.
Dedup, pairwise
    Over every labelled article. Gold cluster = ``duplicate_of`` or the article's
    own id. Predicted cluster = the root reached by following ``duplicates``
    messages (``value.id`` -> ``value.duplicate_of``, transitively; a cycle's
    root is its smallest id); an article with no duplicate message, or that went
    to dead letters, is its own root. Precision = correctly co-clustered pairs /
    predicted co-clustered pairs, recall = correctly co-clustered pairs / gold
    co-clustered pairs, each 1.0 when its denominator is 0. Also counted, not an
    error: duplicate messages whose ``duplicate_of`` is not the gold first id.
Entities
    Over the articles with ``duplicate_of`` null that have an enriched event.
    Gold set = {(canonical.casefold(), label)}; predicted set = the same from the
    enriched entities labelled PER, ORG or LOC (``text`` stands in for a missing
    canonical). Micro recall = sum |gold ∩ pred| / sum |gold|, micro precision =
    sum |gold ∩ pred| / sum |pred|, 0 when undefined. Label-agnostic recall
    compares casefolded canonicals only, against predicted entities of any
    label (MISC included): a right name with a wrong label counts there.
Language accuracy
    Over the labelled articles that have an enriched event: its ``language``
    equal to the label's.

An enriched or duplicate message is matched to its article by ``value.id``
(else the key); a repeated id keeps its last message; ids no label knows are
listed, not scored. A dead letter is matched by its ``raw_b64`` bytes against the
dataset's lines, else by key or by the id inside the bytes.

The error list holds, per alert type, false positives (id + the predicted
alert's ``sentence``) and false negatives (id + the labelled ``evidence``),
hedged mismatches (id, type, gold, predicted, sentence), dedup false merges and
misses (id pairs, at most ``MAX_PAIR_ERRORS`` of each), language errors (id,
gold, predicted), entity misses and extras per article, and labelled articles
with no output at all. Notes (not errors) list articles that went to dead
letters and duplicates whose ``duplicate_of`` is not the gold first id.
"""

from __future__ import annotations

from .dataset import (
    V1_ALERT_TYPES,
    AlertLabel,
    Dataset,
    DatasetError,
    EntityLabel,
    LabelledArticle,
    load_dataset,
)
from .outputs import OutputCounts
from .render import render_report
from .report import (
    ERROR_KINDS,
    NOTE_KINDS,
    AlertScores,
    AlertTypeScore,
    DedupScores,
    EntityScores,
    EvalError,
    EvalReport,
    LanguageScores,
)
from .scoring import MAX_PAIR_ERRORS, score

__all__ = [
    "ERROR_KINDS",
    "MAX_PAIR_ERRORS",
    "NOTE_KINDS",
    "V1_ALERT_TYPES",
    "AlertLabel",
    "AlertScores",
    "AlertTypeScore",
    "Dataset",
    "DatasetError",
    "DedupScores",
    "EntityLabel",
    "EntityScores",
    "EvalError",
    "EvalReport",
    "LabelledArticle",
    "LanguageScores",
    "OutputCounts",
    "load_dataset",
    "render_report",
    "score",
]
