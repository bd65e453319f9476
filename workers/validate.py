"""Validation of raw input: bytes in, a checked ``RawArticle`` or a ``Rejection`` out.

Errors are values here: every way a record can be bad has a stable ``code``
(documented in the README) and a human message, and the caller turns a
``Rejection`` into a dead-letter record with the original bytes. Size limits
are enforced on the bytes before anything is parsed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = [
    "KNOWN_FIELDS",
    "Limits",
    "RawArticle",
    "Rejection",
    "parse_raw",
]

KNOWN_FIELDS = frozenset({"id", "url", "body", "title", "source", "language", "published_at"})
_LANGUAGE = re.compile(r"[a-z]{2}")  # ISO 639-1, checked with fullmatch (linear)


@dataclass(frozen=True, slots=True)
class Limits:
    body_max_bytes: int = 1024 * 1024
    record_max_bytes: int = 2 * 1024 * 1024
    json_max_depth: int = 32
    id_max_chars: int = 512


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a record was refused. ``code`` is stable; ``message`` is for people."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class RawArticle:
    """A raw article whose fields have the right types and sizes."""

    id: str
    body: str
    url: str | None = None
    title: str | None = None
    source: str | None = None
    language: str | None = None
    published_at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of a parsed JSON value, iteratively, stopping past ``limit``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _optional_str(obj: dict[str, Any], name: str) -> str | Rejection | None:
    value = obj.get(name)
    if value is None or isinstance(value, str):
        return value
    return Rejection("wrong_type", f"field {name!r} must be a string or null, got {type(value).__name__}")


# The longest ISO 8601 date-time a feed sends ("2016-04-14T08:00:00.123456789+05:30" is 35).
# Python's fromisoformat alone takes "1" * 300 as 1111-11-11T11:11:11.111111.
_TIMESTAMP_MAX_CHARS = 40


def _published_at(value: str) -> str | Rejection:
    text = value.strip()
    not_a_date = Rejection("invalid_timestamp", f"published_at {value[:64]!r} is not an ISO 8601 date-time")
    if len(text) > _TIMESTAMP_MAX_CHARS:
        return not_a_date
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return not_a_date
    if moment.tzinfo is None:  # a naive time from a scraper is taken as UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def parse_raw(raw: bytes, limits: Limits) -> RawArticle | Rejection:
    """Check one raw record. Never raises on bad data."""
    if not raw:
        return Rejection("empty_record", "the record has no bytes")
    if len(raw) > limits.record_max_bytes:
        return Rejection("record_too_large", f"record is {len(raw)} bytes, the limit is {limits.record_max_bytes}")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejection("invalid_utf8", f"not UTF-8: {exc.reason} at byte {exc.start}")
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc) or "recursion" in str(exc):
            return Rejection("json_too_deep", f"JSON nesting is deeper than {limits.json_max_depth}")
        return Rejection("invalid_json", f"not valid JSON: {exc}")
    if not isinstance(obj, dict):
        return Rejection("not_an_object", f"the JSON value is {type(obj).__name__}, an object is required")
    if _depth(obj, limits.json_max_depth) > limits.json_max_depth:
        return Rejection("json_too_deep", f"JSON nesting is deeper than {limits.json_max_depth}")

    strings: dict[str, str | None] = {}
    for name in ("id", "url", "title", "source", "language", "published_at"):
        checked = _optional_str(obj, name)
        if isinstance(checked, Rejection):
            return checked
        strings[name] = checked

    body = obj.get("body")
    if body is None:
        return Rejection("missing_body", "the field 'body' is required")
    if not isinstance(body, str):
        return Rejection("wrong_type", f"field 'body' must be a string, got {type(body).__name__}")
    if not body.strip():
        return Rejection("empty_body", "the field 'body' is empty")
    body_bytes = len(body.encode("utf-8", "surrogatepass"))
    if body_bytes > limits.body_max_bytes:
        return Rejection("body_too_large", f"body is {body_bytes} bytes, the limit is {limits.body_max_bytes}")

    article_id = (strings["id"] or "").strip() or (strings["url"] or "").strip()
    if not article_id:
        return Rejection("missing_id", "one of 'id' or 'url' is required")
    if len(article_id) > limits.id_max_chars:
        return Rejection("id_too_long", f"id is {len(article_id)} characters, the limit is {limits.id_max_chars}")

    language = strings["language"]
    if language is not None:
        language = language.strip().lower() or None
        if language is not None and not _LANGUAGE.fullmatch(language):
            return Rejection("invalid_language", f"language {language[:16]!r} is not an ISO 639-1 code")

    published_at = strings["published_at"]
    if published_at is not None:
        checked_date = _published_at(published_at)
        if isinstance(checked_date, Rejection):
            return checked_date
        published_at = checked_date

    return RawArticle(
        id=article_id,
        body=body,
        url=strings["url"],
        title=strings["title"],
        source=strings["source"],
        language=language,
        published_at=published_at,
        extra={k: v for k, v in obj.items() if k not in KNOWN_FIELDS},
    )
