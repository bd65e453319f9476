"""Following an output topic (``wirewatch tail``)."""

from __future__ import annotations

import time

import orjson
from aiokafka import AIOKafkaConsumer
from rich.console import Console

from .render import one_line_text
from .settings import Settings

__all__ = ["tail_topic"]


async def tail_topic(
    settings: Settings,
    topic: str,
    as_json: bool,
    from_beginning: bool,
    max_messages: int | None,
    idle_timeout: float | None,
    console: Console,
    width: int | None = None,
) -> int:
    """Print records of ``topic`` until ``max_messages`` or ``idle_timeout``; returns the count.

    Lines are cut to ``width`` (default: the console's); colours are the console's business.
    """
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.bootstrap_list(),
        group_id=None,  # a tail commits nothing and disturbs no consumer group
        auto_offset_reset="earliest" if from_beginning else "latest",
        isolation_level="read_committed",
        **settings.client_kwargs(),
    )
    await consumer.start()
    seen = 0
    last_record = time.monotonic()
    try:
        while max_messages is None or seen < max_messages:
            batch = await consumer.getmany(timeout_ms=500)
            if not batch:
                if idle_timeout is not None and time.monotonic() - last_record > idle_timeout:
                    break
                continue
            last_record = time.monotonic()
            for records in batch.values():
                for record in records:
                    if as_json:
                        console.out(record.value.decode("utf-8", "replace"), highlight=False)
                    else:
                        try:
                            value = orjson.loads(record.value)
                        except orjson.JSONDecodeError:
                            value = {"raw": record.value[:200]}
                        line = one_line_text(topic, value, width or console.width)
                        console.print(line, highlight=False, soft_wrap=True)
                    seen += 1
    finally:
        await consumer.stop()
    return seen
