"""``wirewatch produce`` (``produce_files``) against the real broker: every line arrives, bytes and keys intact."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from rich.console import Console

from workers.produce import produce_files
from workers.settings import Settings

from .harness import new_app_id, run, synthetic_articles


async def _create(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 4, 1)])
    finally:
        await admin.close()
    await asyncio.sleep(1.0)  # the partitions' leader is elected


async def _read_all(bootstrap: str, topic: str, n: int) -> dict[bytes | None, bytes | None]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    got: dict[bytes | None, bytes | None] = {}
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(4)])
        for _ in range(60):
            for records in (await consumer.getmany(timeout_ms=500)).values():
                got.update((r.key, r.value) for r in records)
            if len(got) >= n:
                break
    finally:
        await consumer.stop()
    return got


def test_every_article_of_a_file_arrives_with_its_id_as_key(kafka: str, tmp_path: Path) -> None:
    """1,200 articles: many producer batches (``producer_max_batch_size``), groups of 500 awaited."""
    topic = new_app_id("produce-files")
    run(_create(kafka, topic))
    articles = synthetic_articles("pf", 1200)
    path = tmp_path / "articles.jsonl"
    path.write_bytes(b"\n".join(value for _, value in articles) + b"\n")
    settings = Settings(bootstrap_servers=kafka)
    sent = run(produce_files(settings, [path], topic, len(articles), Console(stderr=True, quiet=True)))
    assert sent == len(articles)
    got = run(_read_all(kafka, topic, len(articles)))
    assert got == {article_id.encode(): value for article_id, value in articles}
