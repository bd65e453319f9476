"""Score the pipeline's output messages against a labelled dataset (definitions: ``__init__``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .dataset import ENTITY_LABELS, V1_ALERT_TYPES, AlertLabel, Dataset, LabelledArticle
from .outputs import Predictions, index_outputs
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

__all__ = ["MAX_PAIR_ERRORS", "score"]

# Pair errors grow with the square of a cluster: a pipeline that merges everything
# would list every pair. The counts stay exact; only the listing stops here.
MAX_PAIR_ERRORS = 1000
_SHOWN_ENTITIES = 5  # per article, in an entity error's message
_CLIP = 160  # characters of a sentence in a message (details keep it whole)

_Errors = dict[str, list[EvalError]]


def score(dataset: Dataset, outputs: Iterable[Mapping[str, Any]]) -> EvalReport:
    """Compare the output messages of one pipeline run with the dataset's labels."""
    predictions = index_outputs(dataset, outputs)
    errors: _Errors = defaultdict(list)
    labels = dataset.labels
    alerts = _score_alerts(labels, predictions, errors)
    dedup = _score_dedup(labels, predictions, errors)
    entities = _score_entities(labels, predictions, errors)
    language = _score_language(labels, predictions, errors)
    for label in labels:
        if label.id in predictions.dead_lettered:
            errors["dead_letter"].append(EvalError("dead_letter", label.id, "went to the dead-letter topic"))
        elif label.id not in predictions.enriched and label.id not in predictions.duplicate_of:
            errors["no_output"].append(
                EvalError("no_output", label.id, "no enriched, duplicate or dead-letter message")
            )
    return EvalReport(
        dataset=str(dataset.path),
        counts=predictions.counts,
        alerts=alerts,
        dedup=dedup,
        entities=entities,
        language=language,
        errors=tuple(e for kind in ERROR_KINDS for e in errors.get(kind, [])),
        notes=tuple(e for kind in NOTE_KINDS for e in errors.get(kind, [])),
        unknown_ids=tuple(predictions.unknown_ids),
        untraced_dead_letters=predictions.untraced_dead_letters,
    )


# --- alerts -------------------------------------------------------------------------


def _predicted_alerts(event: Mapping[str, Any] | None) -> dict[str, list[Mapping[str, Any]]]:
    """The enriched event's alerts grouped by type (none without an event)."""
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    alerts = event.get("alerts") if event is not None else None
    if isinstance(alerts, list):
        for alert in alerts:
            if isinstance(alert, Mapping) and isinstance(alert.get("type"), str):
                grouped.setdefault(alert["type"], []).append(alert)
    return grouped


def _gold_alerts(label: LabelledArticle) -> dict[str, list[AlertLabel]]:
    grouped: dict[str, list[AlertLabel]] = {}
    for alert in label.alerts:
        grouped.setdefault(alert.type, []).append(alert)
    return grouped


def _alert_types(labels: Sequence[LabelledArticle], predicted: Iterable[Mapping[str, object]]) -> list[str]:
    """The v1 types first, in their order, then every other type seen, sorted."""
    seen = {alert.type for label in labels for alert in label.alerts}
    for grouped in predicted:
        seen.update(grouped)
    return [*V1_ALERT_TYPES, *sorted(seen.difference(V1_ALERT_TYPES))]


def _score_alerts(labels: Sequence[LabelledArticle], predictions: Predictions, errors: _Errors) -> AlertScores:
    predicted = {label.id: _predicted_alerts(predictions.enriched.get(label.id)) for label in labels}
    types = _alert_types(labels, predicted.values())
    tp: dict[str, int] = dict.fromkeys(types, 0)
    fp, fn, hedged_correct = dict(tp), dict(tp), dict(tp)
    scope = [label for label in labels if label.duplicate_of is None]
    alert_free = alerts_on_alert_free = alert_free_with_alerts = 0

    for label in scope:
        gold = _gold_alerts(label)
        pred = predicted[label.id]
        for alert_type in types:
            gold_alerts, pred_alerts = gold.get(alert_type), pred.get(alert_type)
            if gold_alerts and pred_alerts:
                tp[alert_type] += 1
                gold_hedged = all(a.hedged for a in gold_alerts)
                pred_hedged = all(a.get("hedged") is True for a in pred_alerts)
                if gold_hedged == pred_hedged:
                    hedged_correct[alert_type] += 1
                else:
                    errors["hedged_mismatch"].append(_hedged_error(label.id, alert_type, gold_hedged, pred_alerts))
            elif pred_alerts:
                fp[alert_type] += 1
                sentences = [str(a.get("sentence") or "") for a in pred_alerts]
                errors["alert_false_positive"].append(
                    EvalError(
                        "alert_false_positive",
                        label.id,
                        f"{alert_type} predicted, not labelled: {_quote_first(sentences)}",
                        {"type": alert_type, "sentence": sentences[0], "sentences": sentences},
                    )
                )
            elif gold_alerts:
                fn[alert_type] += 1
                evidence = [a.evidence for a in gold_alerts]
                errors["alert_false_negative"].append(
                    EvalError(
                        "alert_false_negative",
                        label.id,
                        f"{alert_type} labelled, not predicted: {_quote_first(evidence)}",
                        {"type": alert_type, "evidence": evidence[0], "evidences": evidence},
                    )
                )
        if not label.alerts:
            alert_free += 1
            n_alerts = sum(len(group) for group in pred.values())
            alerts_on_alert_free += n_alerts
            alert_free_with_alerts += n_alerts > 0

    return AlertScores(
        articles=len(scope),
        per_type=tuple(
            AlertTypeScore(
                type=t,
                tp=tp[t],
                fp=fp[t],
                fn=fn[t],
                hedged_correct=hedged_correct[t],
                hedged_total=tp[t],
            )
            for t in types
        ),
        alert_free_articles=alert_free,
        alerts_on_alert_free=alerts_on_alert_free,
        alert_free_articles_with_alerts=alert_free_with_alerts,
    )


def _hedged_error(article_id: str, alert_type: str, gold: bool, pred_alerts: list[Mapping[str, Any]]) -> EvalError:
    # Show the sentence that decided the prediction: an unhedged alert when the
    # prediction is "not hedged", else the first one.
    decisive = next((a for a in pred_alerts if a.get("hedged") is not True), pred_alerts[0])
    sentence = str(decisive.get("sentence") or "")
    return EvalError(
        "hedged_mismatch",
        article_id,
        f"{alert_type}: labelled hedged={gold}, predicted hedged={not gold}: {_quote(sentence)}",
        {"type": alert_type, "gold": gold, "predicted": not gold, "sentence": sentence},
    )


# --- dedup --------------------------------------------------------------------------


def _root(article_id: str, parent: Mapping[str, str]) -> str:
    """Follow duplicate_of links to the end; a cycle's root is its smallest id."""
    path: list[str] = []
    index: dict[str, int] = {}
    node = article_id
    while node in parent:
        if node in index:
            return min(path[index[node] :])
        index[node] = len(path)
        path.append(node)
        node = parent[node]
    return node


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def _score_dedup(labels: Sequence[LabelledArticle], predictions: Predictions, errors: _Errors) -> DedupScores:
    parent = {
        article_id: first
        for article_id, first in predictions.duplicate_of.items()
        if article_id not in predictions.dead_lettered  # a dead letter is its own root
    }
    gold = {label.id: label.cluster for label in labels}
    pred = {label.id: _root(label.id, parent) for label in labels}
    order = [label.id for label in labels]

    gold_sizes: dict[str, int] = defaultdict(int)
    pred_sizes: dict[str, int] = defaultdict(int)
    cell_sizes: dict[tuple[str, str], int] = defaultdict(int)
    for article_id in order:
        gold_sizes[gold[article_id]] += 1
        pred_sizes[pred[article_id]] += 1
        cell_sizes[gold[article_id], pred[article_id]] += 1

    _pair_errors("dedup_false_merge", order, gold, pred, errors)
    _pair_errors("dedup_miss", order, gold, pred, errors)

    first_id_mismatches = 0
    for label in labels:
        first = parent.get(label.id)
        if first is not None and first != label.cluster:
            first_id_mismatches += 1
            errors["dedup_first_id"].append(
                EvalError(
                    "dedup_first_id",
                    label.id,
                    f"duplicate_of {first!r}, gold first id {label.cluster!r}",
                    {"predicted": first, "gold": label.cluster},
                )
            )

    return DedupScores(
        articles=len(labels),
        gold_pairs=sum(_pairs(n) for n in gold_sizes.values()),
        predicted_pairs=sum(_pairs(n) for n in pred_sizes.values()),
        correct_pairs=sum(_pairs(n) for n in cell_sizes.values()),
        first_id_mismatches=first_id_mismatches,
    )


def _pair_errors(
    kind: str,
    order: Sequence[str],
    gold: Mapping[str, str],
    pred: Mapping[str, str],
    errors: _Errors,
) -> None:
    """False merges (together in pred, apart in gold) or misses (the reverse), in order."""
    merge = kind == "dedup_false_merge"
    group_by, differ_by = (pred, gold) if merge else (gold, pred)
    what = "predicted duplicates, labelled distinct" if merge else "labelled duplicates, not found"
    members: dict[str, list[str]] = defaultdict(list)
    for article_id in order:
        members[group_by[article_id]].append(article_id)
    found = errors[kind]
    for group in members.values():
        for i, first in enumerate(group):
            for second in group[i + 1 :]:
                if differ_by[first] == differ_by[second]:
                    continue
                if len(found) >= MAX_PAIR_ERRORS:
                    return
                found.append(
                    EvalError(
                        kind,
                        first,
                        f"with {second}: {what}",
                        {
                            "other_id": second,
                            "gold": [gold[first], gold[second]],
                            "predicted": [pred[first], pred[second]],
                        },
                    )
                )


# --- entities -----------------------------------------------------------------------


def _predicted_entities(
    event: Mapping[str, Any],
) -> tuple[dict[tuple[str, str], str], dict[str, str]]:
    """(canonical.casefold(), label) for PER/ORG/LOC, and casefolded canonicals of any
    label, each mapped to a displayable name."""
    pairs: dict[tuple[str, str], str] = {}
    names: dict[str, str] = {}
    entities = event.get("entities")
    if not isinstance(entities, list):
        return pairs, names
    for entity in entities:
        if not isinstance(entity, Mapping):
            continue
        canonical = entity.get("canonical") or entity.get("text")
        if not isinstance(canonical, str) or not canonical:
            continue
        key = canonical.casefold()
        names.setdefault(key, canonical)
        label = entity.get("label")
        if label in ENTITY_LABELS:
            pairs.setdefault((key, str(label)), canonical)
    return pairs, names


def _score_entities(labels: Sequence[LabelledArticle], predictions: Predictions, errors: _Errors) -> EntityScores:
    articles = gold_total = pred_total = matched = canonical_gold = canonical_matched = 0
    for label in labels:
        event = predictions.enriched.get(label.id)
        if label.duplicate_of is not None or event is None:
            continue
        articles += 1
        gold: dict[tuple[str, str], str] = {}
        for entity in label.entities:
            gold.setdefault((entity.canonical.casefold(), entity.label), entity.canonical)
        pred, pred_names = _predicted_entities(event)
        gold_total += len(gold)
        pred_total += len(pred)
        matched += len(gold.keys() & pred.keys())
        gold_names = {name for name, _ in gold}
        canonical_gold += len(gold_names)
        canonical_matched += len(gold_names & pred_names.keys())

        missed = sorted(gold.keys() - pred.keys())
        extra = sorted(pred.keys() - gold.keys())
        if missed:
            errors["entity_miss"].append(_entity_error("entity_miss", label.id, [(gold[k], k[1]) for k in missed]))
        if extra:
            errors["entity_extra"].append(_entity_error("entity_extra", label.id, [(pred[k], k[1]) for k in extra]))
    return EntityScores(
        articles=articles,
        gold=gold_total,
        predicted=pred_total,
        matched=matched,
        canonical_gold=canonical_gold,
        canonical_matched=canonical_matched,
    )


def _entity_error(kind: str, article_id: str, items: list[tuple[str, str]]) -> EvalError:
    shown = ", ".join(f"{name} ({label})" for name, label in items[:_SHOWN_ENTITIES])
    more = len(items) - _SHOWN_ENTITIES
    verb = "missed" if kind == "entity_miss" else "extra"
    message = f"{verb}: {shown}" + (f" (+{more} more)" if more > 0 else "")
    return EvalError(
        kind,
        article_id,
        message,
        {"entities": [{"canonical": name, "label": label} for name, label in items]},
    )


# --- language -----------------------------------------------------------------------


def _score_language(labels: Sequence[LabelledArticle], predictions: Predictions, errors: _Errors) -> LanguageScores:
    articles = correct = 0
    for label in labels:
        event = predictions.enriched.get(label.id)
        if event is None:
            continue
        articles += 1
        predicted = event.get("language")
        if predicted == label.language:
            correct += 1
        else:
            errors["language"].append(
                EvalError(
                    "language",
                    label.id,
                    f"labelled {label.language!r}, predicted {predicted!r}",
                    {"gold": label.language, "predicted": predicted},
                )
            )
    return LanguageScores(articles=articles, correct=correct)


# --- messages -----------------------------------------------------------------------


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return f"“{text[: _CLIP - 1]}…”" if len(text) > _CLIP else f"“{text}”"


def _quote_first(texts: list[str]) -> str:
    more = len(texts) - 1
    return _quote(texts[0]) + (f" (+{more} more)" if more > 0 else "")
