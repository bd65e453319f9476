"""Record types of the messages wirewatch exchanges.

Plain frozen dataclasses with ``to_value()`` giving the JSON-ready dict that goes
on the wire (field names as in DESIGN.md). The worker serialises them with
orjson; JSON Schemas for the same shapes live in ``topics/schemas``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ALERT_SCHEMA",
    "DEADLETTER_SCHEMA",
    "DUPLICATE_SCHEMA",
    "ENRICHED_SCHEMA",
    "Alert",
    "Article",
    "DeadLetter",
    "Duplicate",
    "Entity",
    "SourcePosition",
]

ENRICHED_SCHEMA = "wirewatch.enriched/1"
ALERT_SCHEMA = "wirewatch.alert/1"
DUPLICATE_SCHEMA = "wirewatch.duplicate/1"
DEADLETTER_SCHEMA = "wirewatch.deadletter/1"


@dataclass(frozen=True, slots=True)
class SourcePosition:
    """Where a raw record came from (topic/partition/offset), for dead letters."""

    topic: str | None = None
    partition: int | None = None
    offset: int | None = None


@dataclass(frozen=True, slots=True)
class Article:
    """A validated, normalised article: what flows between the worker's stages."""

    id: str
    text: str
    url: str | None = None
    source: str | None = None
    title: str | None = None
    language: str | None = None
    language_detected: bool = False
    published_at: str | None = None
    body_repeated: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_value(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "url": self.url,
            "source": self.source,
            "title": self.title,
            "language": self.language,
            "language_detected": self.language_detected,
            "published_at": self.published_at,
            "body_repeated": self.body_repeated,
            "extra": self.extra,
        }

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Article:
        return cls(
            id=value["id"],
            text=value["text"],
            url=value.get("url"),
            source=value.get("source"),
            title=value.get("title"),
            language=value.get("language"),
            language_detected=bool(value.get("language_detected", False)),
            published_at=value.get("published_at"),
            body_repeated=bool(value.get("body_repeated", False)),
            extra=dict(value.get("extra") or {}),
        )


@dataclass(frozen=True, slots=True)
class Entity:
    """One canonical entity of an article, with every mention's offsets into ``text``."""

    text: str
    label: str  # PER | ORG | LOC | MISC
    canonical: str
    id: str | None = None
    lat: float | None = None
    lon: float | None = None
    country: str | None = None
    mentions: tuple[tuple[int, int], ...] = ()

    def to_value(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "label": self.label,
            "canonical": self.canonical,
            "id": self.id,
            "lat": self.lat,
            "lon": self.lon,
            "country": self.country,
            "mentions": [list(m) for m in self.mentions],
        }


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert: a sentence of an article that reports a conflict event."""

    alert_id: str
    article_id: str
    type: str
    cameo: str
    plover: str
    hedged: bool
    confidence: float
    sentence: str
    span: tuple[int, int]
    actors: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()
    language: str | None = None
    published_at: str | None = None

    def to_value(self) -> dict[str, Any]:
        return {
            "schema": ALERT_SCHEMA,
            "alert_id": self.alert_id,
            "article_id": self.article_id,
            "type": self.type,
            "cameo": self.cameo,
            "plover": self.plover,
            "hedged": self.hedged,
            "confidence": self.confidence,
            "sentence": self.sentence,
            "span": list(self.span),
            "actors": list(self.actors),
            "locations": list(self.locations),
            "language": self.language,
            "published_at": self.published_at,
        }


@dataclass(frozen=True, slots=True)
class Duplicate:
    """An article recognised as a copy of an earlier one."""

    id: str
    duplicate_of: str
    method: str  # "exact" | "near"
    similarity: float

    def to_value(self) -> dict[str, Any]:
        return {
            "schema": DUPLICATE_SCHEMA,
            "id": self.id,
            "duplicate_of": self.duplicate_of,
            "method": self.method,
            "similarity": self.similarity,
        }


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Rejected input: why, and the original bytes so nothing is lost."""

    code: str
    message: str
    raw_b64: str
    topic: str | None
    partition: int | None
    offset: int | None
    received_at: str

    def to_value(self) -> dict[str, Any]:
        return {
            "schema": DEADLETTER_SCHEMA,
            "code": self.code,
            "message": self.message,
            "raw_b64": self.raw_b64,
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "received_at": self.received_at,
        }
