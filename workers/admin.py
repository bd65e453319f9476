"""Topic provisioning: create every topic of the catalog, idempotently."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.structs import OffsetAndMetadata

from topics.catalog import TopicSpec, catalog_for

from .settings import Settings

__all__ = [
    "BATCH_HEADROOM",
    "TopicOutcome",
    "batch_size_within",
    "create_topics",
    "provision_at_start",
    "size_note",
    "start_group_at_end",
    "topic_partitions",
]

log = logging.getLogger("wirewatch.admin")


@dataclass(frozen=True, slots=True)
class TopicOutcome:
    name: str
    created: bool
    partitions: int
    note: str = ""
    max_message_bytes: int | None = None  # the topic's limit as the broker applies it (None: unknown)


def size_note(name: str, actual: int | None, wanted: int | None, bootstrap: str) -> str:
    """What to do when an existing topic accepts smaller records than the catalog needs; "" if nothing.

    ``actual`` is the topic's max.message.bytes (None: unknown). Not altered here: raising
    it is safe, but aiokafka has only the old AlterConfigs call, which replaces every
    setting of the topic with the ones it is given.
    """
    if wanted is None or actual is None or actual >= wanted:
        return ""
    return (
        f"max.message.bytes is {actual}, the catalog needs {wanted}; larger records would be refused: "
        f"kafka-configs.sh --bootstrap-server {bootstrap} --alter --entity-type topics "
        f"--entity-name {name} --add-config max.message.bytes={wanted}"
    )


async def _max_message_bytes(admin: AIOKafkaAdminClient, names: Sequence[str]) -> dict[str, int]:
    """Each topic's max.message.bytes, as the broker applies it (its own default included)."""
    if not names:
        return {}
    wanted = {"max.message.bytes": None}
    responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, n, wanted) for n in names])
    found: dict[str, int] = {}
    for response in responses:
        for error_code, _message, _type, name, entries, *_ in response.resources:
            if error_code == 0:
                found.update((name, int(entry[1])) for entry in entries if entry[0] == "max.message.bytes")
    return found


async def create_topics(settings: Settings, specs: Sequence[TopicSpec] | None = None) -> list[TopicOutcome]:
    """Create the missing topics (default: the catalog for the app id); report existing ones.

    A missing topic is created with the catalog's max.message.bytes (topics/sizes.py); an
    existing one with a smaller limit gets a note saying how to raise it.
    """
    if specs is None:
        specs = catalog_for(settings.app_id)
    sizes = settings.message_sizes()
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_list(), **settings.client_kwargs())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another process won the race: fine
                await admin.create_topics(
                    [
                        NewTopic(
                            name=s.name,
                            num_partitions=s.partitions,
                            replication_factor=settings.topic_replication_factor,
                            topic_configs=s.config(sizes),
                        )
                        for s in missing
                    ]
                )
        described = {d["topic"]: d for d in await admin.describe_topics([s.name for s in specs])}
        limits = await _max_message_bytes(admin, [s.name for s in specs if s not in missing])
        outcomes = []
        for spec in specs:
            partitions = len(described.get(spec.name, {}).get("partitions", []))
            notes = [] if partitions == spec.partitions else [f"catalog says {spec.partitions} partitions"]
            bootstrap = ",".join(settings.bootstrap_list())
            notes.append(size_note(spec.name, limits.get(spec.name), spec.max_message_bytes(sizes), bootstrap))
            limit = spec.max_message_bytes(sizes) if spec in missing else limits.get(spec.name)
            note = "; ".join(n for n in notes if n)
            outcomes.append(TopicOutcome(spec.name, spec in missing, partitions, note, limit))
        return outcomes
    finally:
        await admin.close()


def provision_at_start(settings: Settings, timeout: float = 15.0) -> list[TopicOutcome] | None:
    """Create the catalog's missing topics before a worker subscribes (``WIREWATCH_CREATE_TOPICS``).

    Without it, a worker started on a new broker before ``news.articles.raw.v1``
    existed read nothing until its consumer next refreshed its metadata (five
    minutes by default). Logs what it created and any size note. Never raises:
    where topics may not be created (an ACL, a broker not up yet), it logs why
    and the worker goes on; it reads a topic created later within
    ``WIREWATCH_TOPIC_METADATA_MAX_AGE`` seconds. Returns None when it could not.
    """
    try:
        outcomes = asyncio.run(asyncio.wait_for(create_topics(settings), timeout))
    except Exception as exc:  # the broker decides (authorization, not reachable): not fatal here
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        log.warning(
            "could not create the catalog's missing topics (%s); the worker reads each topic once it exists "
            "(`wirewatch topics create` creates them)",
            reason,
        )
        return None
    for outcome in outcomes:
        if outcome.created:
            log.info("created topic %s (%d partitions)", outcome.name, outcome.partitions)
        if outcome.note:
            log.warning("topic %s: %s", outcome.name, outcome.note)
    return outcomes


# Bytes of a record batch besides its records' own (its header is 61): kept free under a topic's limit.
BATCH_HEADROOM = 1024


def batch_size_within(batch_size: int, outcomes: Sequence[TopicOutcome]) -> tuple[int, str]:
    """The producer batch size no topic refuses: ``batch_size``, or less than the smallest topic limit.

    The broker checks a whole batch against its topic's max.message.bytes and refuses
    it whole: a batch larger than the limit would take the small records in it down
    with the large one. Kept under every limit, a batch of several records always
    fits, and a record over the limit goes alone in a batch of its own (the worker
    then dead-letters that one only). Returns the size and why it was lowered ("").
    """
    known = [(o.max_message_bytes, o.name) for o in outcomes if o.max_message_bytes]
    if not known:
        return batch_size, ""
    smallest, name = min(known)
    if batch_size + BATCH_HEADROOM <= smallest:
        return batch_size, ""
    lowered = max(1024, smallest - BATCH_HEADROOM)
    return lowered, (
        f"producer batches lowered from {batch_size} to {lowered} bytes: topic {name} accepts at most "
        f"{smallest} bytes a batch (WIREWATCH_PRODUCER_MAX_BATCH_SIZE)"
    )


async def topic_partitions(bootstrap: list[str], topics: Sequence[str], **client: object) -> list[TopicPartition]:
    """Every partition of ``topics`` (those that exist), from the broker's metadata."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client)
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    return sorted(
        TopicPartition(d["topic"], p["partition"])
        for d in described
        if not d.get("error_code")
        for p in d.get("partitions", [])
    )


async def start_group_at_end(settings: Settings, group: str, topics: Sequence[str]) -> int:
    """Commit ``group``'s offsets at the current end of ``topics``; returns the partitions set.

    A new consumer group (a new app id) would otherwise read the topics from the
    beginning (Faust starts a new group at the earliest offset).
    """
    parts = await topic_partitions(settings.bootstrap_list(), topics, **settings.client_kwargs())
    if not parts:
        return 0
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_list(),
        group_id=group,
        enable_auto_commit=False,
        **settings.client_kwargs(),
    )
    await consumer.start()
    try:
        ends = await consumer.end_offsets(parts)
        consumer.assign(parts)
        await consumer.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in ends.items()})
    finally:
        await consumer.stop()
    return len(parts)
