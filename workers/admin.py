"""Topic provisioning: create every topic of the catalog, idempotently."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.structs import OffsetAndMetadata

from topics.catalog import TopicSpec, catalog_for

from .settings import Settings

__all__ = ["TopicOutcome", "create_topics", "start_group_at_end", "topic_partitions"]


@dataclass(frozen=True, slots=True)
class TopicOutcome:
    name: str
    created: bool
    partitions: int
    note: str = ""


async def create_topics(settings: Settings, specs: Sequence[TopicSpec] | None = None) -> list[TopicOutcome]:
    """Create the missing topics (default: the catalog for the app id); report existing ones."""
    if specs is None:
        specs = catalog_for(settings.app_id)
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
                            topic_configs=s.config(),
                        )
                        for s in missing
                    ]
                )
        described = {d["topic"]: d for d in await admin.describe_topics([s.name for s in specs])}
        outcomes = []
        for spec in specs:
            partitions = len(described.get(spec.name, {}).get("partitions", []))
            note = "" if partitions == spec.partitions else f"catalog says {spec.partitions} partitions"
            outcomes.append(TopicOutcome(spec.name, spec in missing, partitions, note))
        return outcomes
    finally:
        await admin.close()


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
        bootstrap_servers=settings.bootstrap_list(), group_id=group, enable_auto_commit=False,
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
