"""Sort the pipeline's output messages by article: what the scorer compares with the labels.

Messages are ``{"topic", "key", "value"}`` mappings as written by ``wirewatch enrich``.
A message whose value is not an object is counted as malformed and otherwise
ignored; topics other than the four public outputs are counted and ignored.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from topics.catalog import ALERTS, DEADLETTER, DUPLICATES, ENRICHED

from .dataset import Dataset, raw_article_id

__all__ = ["OutputCounts", "Predictions", "index_outputs"]


@dataclass(frozen=True, slots=True)
class OutputCounts:
    """How many messages of each kind the pipeline produced."""

    articles: int
    enriched: int
    duplicates: int
    dead_letters: int
    alerts: int
    other: int = 0
    malformed: int = 0


@dataclass(slots=True)
class Predictions:
    """The outputs, keyed by article id (a repeated id keeps its last message)."""

    counts: OutputCounts
    enriched: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    duplicate_of: dict[str, str] = field(default_factory=dict)
    dead_lettered: set[str] = field(default_factory=set)
    # ids of enriched or duplicate messages that no label knows, in order of appearance
    unknown_ids: list[str] = field(default_factory=list)
    # dead letters that could not be traced back to a labelled article
    untraced_dead_letters: int = 0


def index_outputs(dataset: Dataset, outputs: Iterable[Mapping[str, Any]]) -> Predictions:
    """Group the output messages by the labelled article they are about."""
    known = {label.id for label in dataset.labels}
    # Dead letters carry the original bytes: match them to the dataset's lines first.
    line_ids: dict[bytes, str] = {}
    for line, label in zip(dataset.raw_lines, dataset.labels, strict=True):
        line_ids.setdefault(line, label.id)
        line_ids.setdefault(line.strip(), label.id)

    enriched: dict[str, Mapping[str, Any]] = {}
    duplicate_of: dict[str, str] = {}
    dead_lettered: set[str] = set()
    unknown: dict[str, None] = {}  # an ordered set
    n_enriched = n_duplicates = n_dead = n_alerts = n_other = n_malformed = untraced = 0

    for message in outputs:
        topic = message.get("topic")
        value = message.get("value")
        key = message.get("key")
        if topic not in (ENRICHED.name, DUPLICATES.name, DEADLETTER.name, ALERTS.name):
            n_other += 1
            continue
        if not isinstance(value, Mapping):
            n_malformed += 1
            continue
        if topic == ALERTS.name:
            n_alerts += 1
        elif topic == DEADLETTER.name:
            n_dead += 1
            article_id = _dead_letter_id(value, key, line_ids, known)
            if article_id is None:
                untraced += 1
            else:
                dead_lettered.add(article_id)
        else:
            article_id = _article_id(value, key)
            if topic == ENRICHED.name:
                n_enriched += 1
            else:
                n_duplicates += 1
            if article_id is None:
                n_malformed += 1
                continue
            if article_id not in known:
                unknown[article_id] = None
                continue
            if topic == ENRICHED.name:
                enriched[article_id] = value
            else:
                first = value.get("duplicate_of")
                if isinstance(first, str) and first:
                    duplicate_of[article_id] = first
                else:
                    n_malformed += 1

    counts = OutputCounts(
        articles=len(dataset.labels),
        enriched=n_enriched,
        duplicates=n_duplicates,
        dead_letters=n_dead,
        alerts=n_alerts,
        other=n_other,
        malformed=n_malformed,
    )
    return Predictions(
        counts=counts,
        enriched=enriched,
        duplicate_of=duplicate_of,
        dead_lettered=dead_lettered,
        unknown_ids=list(unknown),
        untraced_dead_letters=untraced,
    )


def _article_id(value: Mapping[str, Any], key: Any) -> str | None:
    candidate = value.get("id")
    if isinstance(candidate, str) and candidate:
        return candidate
    if isinstance(key, str) and key:
        return key
    return None


def _dead_letter_id(value: Mapping[str, Any], key: Any, line_ids: Mapping[bytes, str], known: set[str]) -> str | None:
    """The labelled article a dead letter is about: by its raw bytes, else its key or id."""
    raw: bytes | None = None
    raw_b64 = value.get("raw_b64")
    if isinstance(raw_b64, str):
        try:
            raw = base64.b64decode(raw_b64, validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is not None:
        for candidate in (raw, raw.strip()):
            if candidate in line_ids:
                return line_ids[candidate]
    if isinstance(key, str) and key in known:
        return key
    if raw is not None:
        parsed = raw_article_id(raw)
        if parsed in known:
            return parsed
    return None
