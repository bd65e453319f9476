"""The topic catalog: every topic wirewatch reads or writes, with its settings.

Public topics (``news.*``) are contracts shared with other systems; internal
topics (``wirewatch.*``) carry work between the worker's own stages.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .sizes import MessageSizes, SizeKind

__all__ = [
    "ALERTS",
    "CATALOG",
    "DEADLETTER",
    "DUPLICATES",
    "ENRICHED",
    "PUBLIC",
    "RAW",
    "UNIQUE",
    "TopicSpec",
    "catalog_for",
    "internal_topics",
    "topic_by_name",
    "unique_topic",
]

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """Name and broker-side settings of one topic."""

    name: str
    partitions: int
    retention_ms: int | None  # None: the broker default; -1: forever
    cleanup_policy: str  # "delete" or "compact"
    public: bool
    schema: str | None  # JSON Schema file name under topics/schemas/, if any
    description: str
    extra_config: dict[str, str] = field(default_factory=dict)
    # What its records hold, for max.message.bytes (topics/sizes.py); None: the broker's default.
    carries: SizeKind | None = None

    def max_message_bytes(self, sizes: MessageSizes) -> int | None:
        """The topic's ``max.message.bytes`` under ``sizes``; None: the broker's default."""
        return None if self.carries is None else sizes.for_kind(self.carries)

    def config(self, sizes: MessageSizes | None = None) -> dict[str, str]:
        """Topic-level configuration as the broker wants it (with ``max.message.bytes`` given ``sizes``)."""
        cfg = {"cleanup.policy": self.cleanup_policy}
        if self.retention_ms is not None:
            cfg["retention.ms"] = str(self.retention_ms)
        limit = None if sizes is None else self.max_message_bytes(sizes)
        if limit is not None:
            cfg["max.message.bytes"] = str(limit)
        cfg.update(self.extra_config)
        return cfg


RAW = TopicSpec(
    name="news.articles.raw.v1",
    partitions=4,
    retention_ms=7 * DAY_MS,
    cleanup_policy="delete",
    public=True,
    schema="raw-article.schema.json",
    description="Raw articles from the feed scrapers (input).",
    carries="raw",
)
DEADLETTER = TopicSpec(
    name="news.articles.deadletter.v1",
    partitions=1,
    retention_ms=30 * DAY_MS,
    cleanup_policy="delete",
    public=True,
    schema="deadletter.schema.json",
    description="Rejected input with an error code, a message and the original bytes.",
    carries="deadletter",
)
DUPLICATES = TopicSpec(
    name="news.articles.duplicates.v1",
    partitions=4,
    retention_ms=30 * DAY_MS,
    cleanup_policy="delete",
    public=True,
    schema="duplicate.schema.json",
    description="Exact and near duplicates, with the first article of their cluster.",
)
ENRICHED = TopicSpec(
    name="news.articles.enriched.v1",
    partitions=4,
    retention_ms=30 * DAY_MS,
    cleanup_policy="delete",
    public=True,
    schema="enriched.schema.json",
    description="One enriched event per unique article: text, entities, alerts.",
    carries="enriched",
)
ALERTS = TopicSpec(
    name="news.alerts.v1",
    partitions=4,
    retention_ms=-1,
    cleanup_policy="compact",
    public=True,
    schema="alert.schema.json",
    description="One record per alert, keyed by the deterministic alert_id (compacted).",
    carries="enriched",
)
# Internal: unique articles, spread by text length over the workers for NER and alerts (workers/balance.py).
UNIQUE = TopicSpec(
    name="wirewatch.articles.unique.v1",
    partitions=4,
    retention_ms=7 * DAY_MS,
    cleanup_policy="delete",
    public=False,
    schema=None,
    description="Internal: unique articles waiting for entity extraction and alerts.",
    carries="article",
)

CATALOG: tuple[TopicSpec, ...] = (RAW, DEADLETTER, DUPLICATES, ENRICHED, ALERTS, UNIQUE)
PUBLIC: tuple[TopicSpec, ...] = tuple(spec for spec in CATALOG if spec.public)


def unique_topic(app_id: str) -> TopicSpec:
    """The unique topic of one application id.

    Internal topics belong to one deployment: two app ids on one cluster must not
    read each other's work in progress. The default id ("wirewatch") keeps the
    catalog name.
    """
    return replace(UNIQUE, name=UNIQUE.name.replace("wirewatch.", f"{app_id}.", 1))


def internal_topics(app_id: str) -> tuple[TopicSpec, ...]:
    """The internal topics of one application id (the unique topic)."""
    return (unique_topic(app_id),)


def catalog_for(app_id: str) -> tuple[TopicSpec, ...]:
    """Every topic one deployment uses: the public ones and its own internal ones."""
    return PUBLIC + internal_topics(app_id)


def topic_by_name(name: str) -> TopicSpec:
    """The catalog entry for ``name``; KeyError if it is not ours."""
    for spec in CATALOG:
        if spec.name == name:
            return spec
    raise KeyError(name)
