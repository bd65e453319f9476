"""How big a record each topic must accept, derived from the input limit.

Every size limit of the system comes from here: the topics' ``max.message.bytes``
(topics/catalog.py), the worker's producer (Faust's ``producer_max_request_size``),
the check the worker makes before it sends (an output over its topic's limit
becomes a dead letter ``output_too_large``) and ``wirewatch produce``'s producer.
Everything follows from ``WIREWATCH_RECORD_MAX_BYTES`` (``R``, 2 MiB by default):
a body cannot be larger than the record it came in, and a record may carry up to
``R`` of other fields (``extra``) that every stage passes on.

- raw: ``R + SLACK``. A record of up to ``R`` is read and validated; one a little
  over it still reaches the worker and becomes a dead letter ``record_too_large``.
- normalised and unique (an ``Article``): ``2R + SLACK``. They carry the raw
  record's fields again, JSON-encoded again: a line break in the body (two bytes
  ``\\n`` in the raw JSON) becomes a paragraph break (four bytes ``\\n\\n``), so
  the worst text made of ordinary characters takes twice its raw bytes.
- enriched and alerts: ``3R + SLACK``, the article plus ``R`` for entities (with
  every mention's offsets) and alerts (with their sentences). An alert is a part
  of its enriched event.
- dead letters: the base64 of the largest record a stage can reject (an internal
  record, ``2R + SLACK``: the enrich stage keeps the bytes it read) plus ``SLACK``.
- duplicates: a few hundred bytes; the broker's default (~1 MiB) is kept.

``SLACK`` covers the record key (an article id, or a raw key as received), the
other JSON fields and Kafka's record and batch headers. Pathological input (text
whose Unicode normalisation triples it, a million entity mentions) can still make
an output larger than its topic's limit: the worker then sends a dead letter
``output_too_large`` instead, never a record the broker would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["RECORD_OVERHEAD", "SLACK", "MessageSizes", "SizeKind", "base64_length", "message_sizes"]

#: What a topic carries, for its size limit (``TopicSpec.carries``).
SizeKind = Literal["raw", "article", "enriched", "deadletter"]

SLACK = 64 * 1024
# Bytes of Kafka framing around one record in its own batch (batch header 61 bytes,
# record header up to ~30): what the worker adds to key + value before comparing
# them with a topic's max.message.bytes.
RECORD_OVERHEAD = 256


def base64_length(n: int) -> int:
    """Characters of the base64 of ``n`` bytes (with padding)."""
    return 4 * ((n + 2) // 3)


@dataclass(frozen=True, slots=True)
class MessageSizes:
    """``max.message.bytes`` of each kind of topic, in bytes."""

    raw: int
    article: int  # the internal topics: normalised, unique
    enriched: int  # enriched events and alerts
    deadletter: int

    @property
    def producer_max_request_size(self) -> int:
        """The worker's producer must be able to send the largest record of any topic."""
        return max(self.raw, self.article, self.enriched, self.deadletter)

    def for_kind(self, kind: SizeKind) -> int:
        """The limit for a topic that carries ``kind`` (``TopicSpec.carries``)."""
        return {"raw": self.raw, "article": self.article, "enriched": self.enriched, "deadletter": self.deadletter}[
            kind
        ]


def message_sizes(record_max_bytes: int) -> MessageSizes:
    """The limits for a system whose raw records are at most ``record_max_bytes``."""
    if record_max_bytes <= 0:
        raise ValueError(f"record_max_bytes must be positive, got {record_max_bytes}")
    article = 2 * record_max_bytes + SLACK
    return MessageSizes(
        raw=record_max_bytes + SLACK,
        article=article,
        enriched=3 * record_max_bytes + SLACK,
        deadletter=base64_length(max(record_max_bytes + SLACK, article)) + SLACK,
    )
