"""Publishing article files to Kafka (``wirewatch produce``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from .inputs import read_records
from .settings import Settings

__all__ = ["key_of", "produce_files"]


def key_of(value: bytes, fallback: str | None) -> bytes | None:
    """The article id as the record key when the value is readable JSON, else ``fallback``."""
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError:
        obj = None
    if isinstance(obj, dict):
        for name in ("id", "url"):
            if isinstance(obj.get(name), str) and obj[name]:
                return str(obj[name]).encode("utf-8")
    return fallback.encode("utf-8") if fallback else None


async def produce_files(settings: Settings, inputs: Sequence[Path], topic: str, total: int, console: Console) -> int:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_list(),
        acks="all",
        enable_idempotence=True,
        # As large as the raw topic accepts (topics/sizes.py): a record a little over
        # WIREWATCH_RECORD_MAX_BYTES still reaches the worker, as a dead letter record_too_large.
        max_request_size=settings.message_sizes().raw,
        max_batch_size=settings.producer_max_batch_size,  # as the worker's producer: fewer requests
        **settings.client_kwargs(),
    )
    await producer.start()
    sent = 0
    try:
        with Progress(
            TextColumn("[bold]producing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        ) as progress:
            task = progress.add_task("produce", total=total)
            futures = []
            for record in read_records(inputs):
                futures.append(await producer.send(topic, record.value, key=key_of(record.value, record.key)))
                if len(futures) >= 500:
                    for fut in futures:
                        await fut
                    sent += len(futures)
                    progress.advance(task, len(futures))
                    futures = []
            for fut in futures:
                await fut
            sent += len(futures)
            progress.advance(task, len(futures))
    finally:
        await producer.stop()
    return sent
