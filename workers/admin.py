"""Topic provisioning: create every topic of the catalog, idempotently."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from topics.catalog import CATALOG, TopicSpec

from .settings import Settings

__all__ = ["TopicOutcome", "create_topics", "topic_partitions"]


@dataclass(frozen=True, slots=True)
class TopicOutcome:
    name: str
    created: bool
    partitions: int
    note: str = ""


async def create_topics(settings: Settings, specs: Sequence[TopicSpec] = CATALOG) -> list[TopicOutcome]:
    """Create the missing topics; report existing ones (and partition mismatches)."""
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
