"""Test harness for the real broker: worker processes, producing, reading outputs.

Each test gets its own application id (so its own consumer group, tables and
changelogs) and its own article ids; before its worker starts, the group's
offsets on the source topics are committed at their current end, so the worker
sees only what the test produces. Outputs are read from offsets captured before
producing. Topic names stay the public ones.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from topics import catalog
from workers.admin import topic_partitions

ROOT = Path(__file__).resolve().parents[2]
SOURCE_TOPICS = (catalog.RAW.name, catalog.DEDUP.name, catalog.UNIQUE.name)
OUTPUT_TOPICS = (catalog.ENRICHED.name, catalog.ALERTS.name, catalog.DUPLICATES.name, catalog.DEADLETTER.name)


def new_app_id(prefix: str = "t") -> str:
    return f"wirewatch-{prefix}-{uuid.uuid4().hex[:8]}"


async def _partitions(bootstrap: str, topics: Iterable[str]) -> list[TopicPartition]:
    return await topic_partitions([bootstrap], list(topics))


async def end_offsets(bootstrap: str, topics: Iterable[str] = OUTPUT_TOPICS) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(await _partitions(bootstrap, topics)))
    finally:
        await consumer.stop()


async def commit_group_at_end(bootstrap: str, group: str, topics: Iterable[str] = SOURCE_TOPICS) -> None:
    """Make ``group`` start at the current end of ``topics``."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = await _partitions(bootstrap, topics)
        ends = await consumer.end_offsets(parts)
        consumer.assign(parts)
        await consumer.commit({tp: OffsetAndMetadata(off, "") for tp, off in ends.items()})
    finally:
        await consumer.stop()


async def produce(bootstrap: str, records: Sequence[tuple[bytes | None, bytes]], topic: str = catalog.RAW.name,
                  partition_of: Callable[[int], int | None] | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        futures = []
        for i, (key, value) in enumerate(records):
            part = partition_of(i) if partition_of else None
            futures.append(await producer.send(topic, value, key=key, partition=part))
        for fut in futures:
            await fut
    finally:
        await producer.stop()


@dataclass
class Collected:
    messages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def on(self, topic: str) -> list[dict[str, Any]]:
        return [v for t, v in self.messages if t == topic]


async def collect(bootstrap: str, start: dict[TopicPartition, int], done: Callable[[Collected], bool],
                  timeout: float) -> Collected:
    """Read output topics from ``start`` until ``done(collected)`` or ``timeout`` seconds."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed")
    await consumer.start()
    consumer.assign(list(start))
    for tp, off in start.items():
        consumer.seek(tp, off)
    got = Collected()
    deadline = time.monotonic() + timeout
    try:
        while not done(got) and time.monotonic() < deadline:
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                got.messages.extend((tp.topic, orjson.loads(r.value)) for r in records)
    finally:
        await consumer.stop()
    return got


class WorkerProcess:
    """``wirewatch worker`` in a subprocess, with its log kept for failure messages."""

    def __init__(self, bootstrap: str, app_id: str, log_dir: Path, name: str = "worker", **env: str) -> None:
        self.log_path = log_dir / f"{app_id}-{name}.log"
        self.env = dict(os.environ)
        self.env.update(
            WIREWATCH_BOOTSTRAP_SERVERS=bootstrap,
            WIREWATCH_APP_ID=app_id,
            WIREWATCH_STORE="memory://",
            WIREWATCH_WEB_ENABLED="false",
            WIREWATCH_DATA_DIR=str(log_dir / f"{app_id}-{name}-data"),
            WIREWATCH_NLP_BATCH_WITHIN="0.1",
        )
        self.env.update(env)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workers", "worker", "--no-web", "--loglevel", "info"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        return self

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Block until Faust logs that the worker is ready (or fail with its log)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log_path.exists() and "[^Worker]: Ready" in self.log_path.read_text("utf-8", "replace"):
                return
            if not self.alive():
                raise AssertionError(f"worker exited before it was ready:\n{self.log_tail()}")
            time.sleep(0.25)
        raise AssertionError(f"worker not ready after {timeout} s:\n{self.log_tail()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.alive():
            assert self.proc is not None
            os.killpg(self.proc.pid, sig)
            self.proc.wait(30)

    def stop(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text("utf-8", "replace").splitlines()[-lines:])

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run(coro: Any) -> Any:
    return asyncio.run(coro)
