"""The pipeline as pure stages, callable without a broker.

``Pipeline`` holds what a process loads once (spaCy pipelines, gazetteers,
alert rules) and exposes one method per stage. The Faust agents call these
stages one by one between topics; ``wirewatch enrich`` and ``wirewatch eval``
call ``run()``, which chains them in one process with in-memory dedup state.

The NLP child process (``workers/nlp_process.py``) builds a ``Pipeline`` for
the enrich stage alone, so the dedup and normalise modules (datasketch with
scipy, inscriptis with lxml: ~50 MB) are imported where they are first used.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from topics import catalog
from topics.records import ENRICHED_SCHEMA, Alert, Article, DeadLetter, Duplicate, Entity, SourcePosition
from topics.sizes import RECORD_OVERHEAD

from .settings import Settings
from .validate import Limits, Rejection, parse_raw

if TYPE_CHECKING:
    from .dedup import DedupConfig, Deduplicator, DedupState

__all__ = [
    "EnrichedResult",
    "OutputMessage",
    "OutputTooLarge",
    "Pipeline",
    "RawRecord",
    "check_record_size",
    "now_iso",
    "record_size",
]


NOWHERE = SourcePosition()  # a record that came from no topic (tests, tools)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True)
class OutputMessage:
    """One message for an output topic, as ``wirewatch enrich`` prints it."""

    topic: str
    key: str | None
    value: dict[str, Any]

    def to_value(self) -> dict[str, Any]:
        return {"topic": self.topic, "key": self.key, "value": self.value}


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record of the raw topic (or of an input file): bytes, key, where from."""

    value: bytes
    key: str | None = None
    position: SourcePosition = NOWHERE


@dataclass(frozen=True, slots=True)
class EnrichedResult:
    """What the enrich stage made of one article: its event and its alerts."""

    event: dict[str, Any]
    alerts: tuple[Alert, ...]  # the strongest per type: one message each on news.alerts.v1

    def messages(self) -> list[OutputMessage]:
        out = [OutputMessage(catalog.ENRICHED.name, self.event["id"], self.event)]
        out.extend(OutputMessage(catalog.ALERTS.name, a.alert_id, a.to_value()) for a in self.alerts)
        return out


def limits_from(settings: Settings) -> Limits:
    return Limits(
        body_max_bytes=settings.body_max_bytes,
        record_max_bytes=settings.record_max_bytes,
        json_max_depth=settings.json_max_depth,
        id_max_chars=settings.id_max_chars,
    )


def dedup_config_from(settings: Settings) -> DedupConfig:
    from .dedup import DedupConfig

    return DedupConfig(
        num_perm=settings.minhash_num_perm,
        threshold=settings.minhash_threshold,
        shingle_words=settings.shingle_words,
        window_seconds=settings.dedup_window_days * 24 * 3600,
    )


# A dead letter's message is for people; a library's error text may quote the input.
_MESSAGE_MAX_CHARS = 2000


def dead_letter(raw: bytes, rejection: Rejection, position: SourcePosition) -> DeadLetter:
    return DeadLetter(
        code=rejection.code,
        message=rejection.message[:_MESSAGE_MAX_CHARS],
        raw_b64=base64.b64encode(raw).decode("ascii"),
        topic=position.topic,
        partition=position.partition,
        offset=position.offset,
        received_at=now_iso(),
    )


class OutputTooLarge(Exception):
    """A stage made a record larger than its topic accepts (topics/sizes.py): the input
    becomes a dead letter ``output_too_large`` instead."""

    def __init__(self, topic: str, size: int, limit: int, refused: str = "") -> None:
        what = f"the broker refused it: {refused}" if refused else f"over its limit of {limit}"
        super().__init__(f"the record for {topic} would be {size} bytes, {what}")
        self.topic, self.size, self.limit, self.refused = topic, size, limit, refused

    def rejection(self) -> Rejection:
        if self.refused:  # the topic on the broker takes less than the catalog says
            return Rejection(
                "output_too_large",
                f"the broker refused the record for {self.topic} ({self.size} bytes): {self.refused}; the topic's"
                f" max.message.bytes is under the catalog's ({self.limit}): `wirewatch topics create` prints the"
                " command that raises it",
            )
        return Rejection(
            "output_too_large",
            f"the record for {self.topic} would be {self.size} bytes, over the topic's max.message.bytes"
            f" ({self.limit}; WIREWATCH_RECORD_MAX_BYTES sets it)",
        )


def record_size(key: bytes | None, value: bytes) -> int:
    """Bytes a record takes on a topic: key + value + Kafka's framing (topics/sizes.py)."""
    return len(key or b"") + len(value) + RECORD_OVERHEAD


def check_record_size(topic: str, key: bytes | None, value: bytes, limit: int) -> None:
    """Raise ``OutputTooLarge`` when key + value + Kafka's framing exceed ``limit`` bytes."""
    size = record_size(key, value)
    if size > limit:
        raise OutputTooLarge(topic, size, limit)


class Pipeline:
    """Stages of wirewatch over values already loaded once per process."""

    def __init__(self, settings: Settings, *, load_models: bool = True, raw_entities: bool = False) -> None:
        self.settings = settings
        self.raw_entities = raw_entities  # the model's own entities only: the baseline for eval
        self.limits = limits_from(settings)
        self._models_loaded = False
        if load_models:
            self.load_models()

    # -- loading ------------------------------------------------------------
    def load_models(self) -> None:
        """Load spaCy pipelines, gazetteers and alert rules (seconds; once per process)."""
        from .alerts import AlertDetector, RuleSet
        from .entities import EntityExtractor
        from .entities.raw import RawModelEntities
        from .nlp import NlpPool

        # spaCy refuses texts over 1,000,000 characters (nlp.max_length); a valid body
        # (WIREWATCH_BODY_MAX_BYTES) can normalise to more: up to 1.5 characters per byte
        # when every line break becomes a paragraph break.
        self.pool = NlpPool.load(
            self.settings.languages,
            max_length=2 * self.settings.body_max_bytes,
            chunk_chars=self.settings.nlp_chunk_chars,
        )
        self.entities: EntityExtractor | RawModelEntities
        if self.raw_entities:
            self.entities = RawModelEntities()
        else:
            self.entities = EntityExtractor.load(self.pool)
        self.alerts = AlertDetector(RuleSet.load(), self.pool)
        self._models_loaded = True

    @cached_property
    def dedup_config(self) -> DedupConfig:
        return dedup_config_from(self.settings)

    @property
    def models_loaded(self) -> bool:
        return self._models_loaded

    # -- stage 1: validate + normalise ----------------------------------------
    def validate(self, raw: bytes, position: SourcePosition = NOWHERE) -> Article | DeadLetter:
        from .normalise import normalise_article

        parsed = parse_raw(raw, self.limits)
        if isinstance(parsed, Rejection):
            return dead_letter(raw, parsed, position)
        try:
            article = normalise_article(
                article_id=parsed.id,
                body=parsed.body,
                title=parsed.title,
                url=parsed.url,
                source=parsed.source,
                language=parsed.language,
                published_at=parsed.published_at,
                extra=parsed.extra,
            )
        except Exception as exc:  # a library failing on odd input is still bad input, not a crash
            return dead_letter(raw, Rejection("normalisation_failed", f"{type(exc).__name__}: {exc}"), position)
        if not article.text:
            return dead_letter(raw, Rejection("empty_text", "the body holds no text once HTML is removed"), position)
        return article

    # -- stage 2: dedup -------------------------------------------------------
    def deduplicator(self, state: DedupState) -> Deduplicator:
        from .dedup import Deduplicator

        return Deduplicator(self.dedup_config, state)

    @staticmethod
    def dedup(deduplicator: Deduplicator, article: Article, now: float | None = None) -> Duplicate | None:
        verdict = deduplicator.check(article.id, article.text, time.time() if now is None else now)
        if verdict.duplicate_of is None or verdict.method is None:
            return None
        return Duplicate(
            id=article.id, duplicate_of=verdict.duplicate_of, method=verdict.method, similarity=verdict.similarity
        )

    # -- stage 3: entities + alerts ---------------------------------------------
    def enrich(self, articles: Sequence[Article]) -> list[EnrichedResult]:
        """Entities and alerts for a batch of unique articles, one ``nlp.pipe`` per language."""
        if not articles:
            return []
        texts, languages = [a.text for a in articles], [a.language for a in articles]
        results: list[EnrichedResult | None] = [None] * len(articles)
        # Each doc is used, then dropped: memory holds one nlp.pipe batch, not the whole take.
        for i, doc in self.pool.iter_pipe(texts, languages, self.settings.nlp_batch_size):
            article = articles[i]
            entities = self.entities.extract(doc, article.language, article.text)
            found = self.alerts.detect(doc, article, entities)
            results[i] = EnrichedResult(self.enriched_event(article, entities, found.evidence), tuple(found.best))
        return [r for r in results if r is not None]

    @staticmethod
    def enriched_event(article: Article, entities: Iterable[Entity], alerts: Iterable[Alert]) -> dict[str, Any]:
        event: dict[str, Any] = {
            "schema": ENRICHED_SCHEMA,
            "id": article.id,
            "url": article.url,
            "source": article.source,
            "title": article.title,
            "language": article.language,
            "language_detected": article.language_detected,
            "published_at": article.published_at,
            "processed_at": now_iso(),
            "body_repeated": article.body_repeated,
            "text": article.text,
            "entities": [e.to_value() for e in entities],
            "alerts": [a.to_value() for a in alerts],
        }
        if article.extra:
            event["extra"] = article.extra
        return event

    # -- all stages in one process ------------------------------------------
    def run(
        self,
        records: Iterable[RawRecord],
        state: DedupState | None = None,
        batch_size: int | None = None,
    ) -> Iterator[OutputMessage]:
        """Every output message for ``records``, in input order (enriched in batches)."""
        from .dedup import DedupState

        dedup = self.deduplicator(state or DedupState.in_memory())
        size = batch_size or self.settings.nlp_batch_size
        pending: list[tuple[int, Article]] = []
        ready: dict[int, list[OutputMessage]] = {}
        emitted = 0

        def flush() -> Iterator[OutputMessage]:
            nonlocal emitted
            for (index, _), result in zip(pending, self.enrich([a for _, a in pending]), strict=True):
                ready[index] = result.messages()
            pending.clear()
            while emitted in ready:
                yield from ready.pop(emitted)
                emitted += 1

        for index, record in enumerate(records):
            outcome = self.validate(record.value, record.position)
            if isinstance(outcome, DeadLetter):
                ready[index] = [OutputMessage(catalog.DEADLETTER.name, record.key, outcome.to_value())]
            else:
                duplicate = self.dedup(dedup, outcome)
                if duplicate is not None:
                    ready[index] = [OutputMessage(catalog.DUPLICATES.name, duplicate.id, duplicate.to_value())]
                else:
                    pending.append((index, outcome))
                    if len(pending) >= size:
                        yield from flush()
                        continue
            if not pending:
                while emitted in ready:
                    yield from ready.pop(emitted)
                    emitted += 1
        yield from flush()
