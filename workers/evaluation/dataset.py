"""Labelled datasets for ``wirewatch eval``: load and check ``articles.jsonl`` + ``labels.jsonl``.

``articles.jsonl`` holds raw article values exactly as published to
``news.articles.raw.v1``; its lines are kept as bytes (a dataset may hold bad
lines on purpose, to exercise the dead-letter path), so only the labels must be
valid JSON. Blank lines are skipped in both files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

__all__ = [
    "ARTICLES_FILE",
    "ENTITY_LABELS",
    "LABELS_FILE",
    "V1_ALERT_TYPES",
    "AlertLabel",
    "Dataset",
    "DatasetError",
    "EntityLabel",
    "LabelledArticle",
    "load_dataset",
    "raw_article_id",
]

ARTICLES_FILE = "articles.jsonl"
LABELS_FILE = "labels.jsonl"
# The alert types of DESIGN.md v1, always scored even when absent from a dataset.
V1_ALERT_TYPES: tuple[str, ...] = ("ceasefire_violation", "airstrike", "ground_offensive")
ENTITY_LABELS: frozenset[str] = frozenset({"PER", "ORG", "LOC"})


class DatasetError(ValueError):
    """The dataset directory is unreadable or its files disagree."""


@dataclass(frozen=True, slots=True)
class AlertLabel:
    """One expected alert. Unknown types are kept: they are scored like any other."""

    type: str
    hedged: bool
    evidence: str


@dataclass(frozen=True, slots=True)
class EntityLabel:
    """One expected entity, by canonical name and coarse label (PER, ORG or LOC)."""

    canonical: str
    label: str


@dataclass(frozen=True, slots=True)
class LabelledArticle:
    """The gold answer for one raw article."""

    id: str
    language: str
    duplicate_of: str | None
    alerts: tuple[AlertLabel, ...] = ()
    entities: tuple[EntityLabel, ...] = ()

    @property
    def cluster(self) -> str:
        """Gold duplicate cluster: the first id of the group, or the article's own id."""
        return self.duplicate_of if self.duplicate_of is not None else self.id


@dataclass(frozen=True, slots=True)
class Dataset:
    """Raw input lines (bytes, without line ends) and their labels, in the same order."""

    path: Path
    raw_lines: list[bytes]
    labels: list[LabelledArticle]


def load_dataset(path: Path) -> Dataset:
    """Read and cross-check a labelled dataset directory; DatasetError says what is wrong."""
    path = Path(path)
    articles_path = path / ARTICLES_FILE
    labels_path = path / LABELS_FILE
    for required in (articles_path, labels_path):
        if not required.is_file():
            raise DatasetError(f"{path}: missing {required.name}")

    raw = _read_lines(articles_path)
    labels: list[LabelledArticle] = []
    for lineno, line in _read_lines(labels_path):
        where = f"{labels_path}:{lineno}"
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise DatasetError(f"{where}: invalid JSON ({exc})") from None
        labels.append(_parse_label(value, where))

    if len(raw) != len(labels):
        raise DatasetError(
            f"{path}: {ARTICLES_FILE} has {len(raw)} articles but {LABELS_FILE} "
            f"has {len(labels)} labels (one label per article, same order)"
        )
    _check_ids(articles_path, raw, labels)
    _check_duplicate_links(labels_path, labels)
    return Dataset(path=path, raw_lines=[line for _, line in raw], labels=labels)


def raw_article_id(line: bytes) -> str | None:
    """The id the pipeline will give this raw line (``id``, else ``url``), if it parses."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(value, dict):
        return None
    for key in ("id", "url"):
        candidate = value.get(key)
        if isinstance(candidate, str) and candidate:
            return candidate
    return None


def _read_lines(path: Path) -> list[tuple[int, bytes]]:
    """Non-blank lines with their 1-based numbers, line ends removed."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc})") from None
    lines: list[tuple[int, bytes]] = []
    for n, line in enumerate(data.split(b"\n"), start=1):
        line = line.removesuffix(b"\r")
        if line.strip():
            lines.append((n, line))
    return lines


def _parse_label(value: Any, where: str) -> LabelledArticle:
    if not isinstance(value, dict):
        raise DatasetError(f"{where}: a label must be a JSON object")
    article_id = _required_str(value, "id", where)
    language = _required_str(value, "language", where)
    duplicate_of = value.get("duplicate_of")
    if duplicate_of is not None and not (isinstance(duplicate_of, str) and duplicate_of):
        raise DatasetError(f"{where}: 'duplicate_of' must be null or a non-empty string")
    if duplicate_of == article_id:
        raise DatasetError(f"{where}: article {article_id!r} is labelled a duplicate of itself")

    alerts: list[AlertLabel] = []
    for i, item in enumerate(_list_field(value, "alerts", where)):
        at = f"{where}: alerts[{i}]"
        if not isinstance(item, dict):
            raise DatasetError(f"{at} must be an object")
        hedged = item.get("hedged")
        if not isinstance(hedged, bool):
            raise DatasetError(f"{at}: 'hedged' must be true or false")
        alerts.append(
            AlertLabel(
                type=_required_str(item, "type", at),
                hedged=hedged,
                evidence=_required_str(item, "evidence", at),
            )
        )

    entities: list[EntityLabel] = []
    for i, item in enumerate(_list_field(value, "entities", where)):
        at = f"{where}: entities[{i}]"
        if not isinstance(item, dict):
            raise DatasetError(f"{at} must be an object")
        label = _required_str(item, "label", at)
        if label not in ENTITY_LABELS:
            raise DatasetError(f"{at}: label {label!r} is not one of PER, ORG, LOC")
        entities.append(EntityLabel(canonical=_required_str(item, "canonical", at), label=label))

    return LabelledArticle(
        id=article_id,
        language=language,
        duplicate_of=duplicate_of,
        alerts=tuple(alerts),
        entities=tuple(entities),
    )


def _required_str(value: Mapping[str, Any], key: str, where: str) -> str:
    field_value = value.get(key)
    if not isinstance(field_value, str) or not field_value:
        raise DatasetError(f"{where}: {key!r} must be a non-empty string")
    return field_value


def _list_field(value: Mapping[str, Any], key: str, where: str) -> list[Any]:
    field_value = value.get(key, [])
    if field_value is None:
        return []
    if not isinstance(field_value, list):
        raise DatasetError(f"{where}: {key!r} must be a list")
    return field_value


def _check_ids(articles_path: Path, raw: list[tuple[int, bytes]], labels: list[LabelledArticle]) -> None:
    seen: set[str] = set()
    for (lineno, line), label in zip(raw, labels, strict=True):
        if label.id in seen:
            raise DatasetError(f"{LABELS_FILE}: id {label.id!r} is labelled twice")
        seen.add(label.id)
        # Lines that do not parse are dead-letter cases: nothing to compare with.
        raw_id = raw_article_id(line)
        if raw_id is not None and raw_id != label.id:
            raise DatasetError(
                f"{articles_path}:{lineno}: article id {raw_id!r} does not match its label "
                f"id {label.id!r} (labels must be in the same order as the articles)"
            )


def _check_duplicate_links(labels_path: Path, labels: list[LabelledArticle]) -> None:
    by_id = {label.id: label for label in labels}
    for label in labels:
        if label.duplicate_of is None:
            continue
        first = by_id.get(label.duplicate_of)
        if first is None:
            raise DatasetError(
                f"{labels_path}: {label.id!r} is a duplicate of {label.duplicate_of!r}, which is not in the dataset"
            )
        if first.duplicate_of is not None:
            raise DatasetError(
                f"{labels_path}: {label.id!r} is a duplicate of {first.id!r}, which is itself "
                f"a duplicate of {first.duplicate_of!r}; point at the first id of the group"
            )
