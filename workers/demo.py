"""``wirewatch demo``: the whole system on this machine, end to end.

Starts (or reuses) the project's local broker, creates the topics, runs one
worker in a subprocess with a fresh application id (so earlier runs' dedup
state does not turn the samples into duplicates), feeds the sample articles
and prints what comes out on the output topics.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from rich.console import Console

from topics import catalog

from .admin import create_topics, start_group_at_end, topic_partitions
from .inputs import count_records, input_files
from .produce import produce_files
from .render import one_line
from .settings import Settings

__all__ = ["run_demo"]

OUTPUTS = (catalog.ENRICHED.name, catalog.ALERTS.name, catalog.DUPLICATES.name, catalog.DEADLETTER.name)


async def _end_offsets(settings: Settings) -> dict[TopicPartition, int]:
    parts = await topic_partitions(settings.bootstrap_list(), OUTPUTS, **settings.client_kwargs())
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_list(), **settings.client_kwargs())
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(parts))
    finally:
        await consumer.stop()


async def _collect(
    settings: Settings, start: dict[TopicPartition, int], expected_inputs: int, timeout: float, console: Console
) -> list[tuple[str, dict[str, Any]]]:
    """Output messages after ``start`` until every input is accounted for (or timeout)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_list(), isolation_level="read_committed", **settings.client_kwargs()
    )
    await consumer.start()
    consumer.assign(list(start))
    for tp, offset in start.items():
        consumer.seek(tp, offset)
    got: list[tuple[str, dict[str, Any]]] = []
    accounted = 0
    deadline = time.monotonic() + timeout
    try:
        with console.status("waiting for the worker's output...") as status:
            while accounted < expected_inputs and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=500)
                for tp, records in batch.items():
                    for record in records:
                        got.append((tp.topic, orjson.loads(record.value)))
                        if tp.topic != catalog.ALERTS.name:
                            accounted += 1
                status.update(f"waiting for the worker's output... {accounted}/{expected_inputs} articles done")
            # alerts of the last batch may trail their enriched event slightly
            for _ in range(4):
                for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                    got.extend((tp.topic, orjson.loads(r.value)) for r in records)
    finally:
        await consumer.stop()
    return got


def run_demo(
    settings: Settings, inputs: Sequence[Path], keep_running: bool, timeout: float, out: Console, err: Console
) -> int:
    from .cli import _local_kafka
    from .localkafka import LocalKafkaError, start, status, stop

    started_here = not status(_local_kafka(None)).answering
    try:
        broker = start(_local_kafka(None), progress=lambda m: err.print(f"[dim]{m}[/]"))
    except LocalKafkaError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        return 1
    app_id = f"wirewatch-demo-{int(time.time())}"
    settings = settings.model_copy(update={"bootstrap_servers": broker.bootstrap, "app_id": app_id})
    err.print(f"[green]broker[/] answering on {broker.bootstrap}")
    for outcome in asyncio.run(create_topics(settings)):
        err.print(f"[dim]topic {outcome.name}: {'created' if outcome.created else 'exists'}[/]")
    # A fresh app id: earlier runs' records on the raw topic are not this demo's.
    asyncio.run(start_group_at_end(settings, app_id, [catalog.RAW.name]))
    env = dict(os.environ)
    env.update(
        WIREWATCH_BOOTSTRAP_SERVERS=broker.bootstrap,
        WIREWATCH_APP_ID=app_id,
        WIREWATCH_STORE="memory://",
        WIREWATCH_WEB_ENABLED="false",
    )
    log_path = Path(settings.data_dir).parent / "demo-worker.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start_offsets = asyncio.run(_end_offsets(settings))
    err.print(f"[green]worker[/] starting ({app_id}), log in {log_path}")
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "workers", "worker", "--no-web"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        # One file after the other, each once the previous one is through: records
        # produced together land on several partitions, and which of two copies the
        # dedup stage sees first would then be a race rather than the file order.
        total = 0
        got = []
        for path in input_files(inputs):
            count = count_records([path])
            total += count
            asyncio.run(produce_files(settings, [path], catalog.RAW.name, count, err))
            got = asyncio.run(_collect(settings, start_offsets, total, timeout, err))
    finally:
        if not keep_running:
            worker.terminate()
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
    _show(got, out)
    result_path = Path(settings.data_dir).parent / "demo-output.jsonl"
    result_path.write_bytes(b"".join(orjson.dumps({"topic": t, "value": v}) + b"\n" for t, v in got))
    accounted = sum(1 for t, _ in got if t != catalog.ALERTS.name)
    out.print(f"\n{total} articles in -> {accounted} accounted for; every message in {result_path}")
    if not keep_running and started_here:
        stop(_local_kafka(None))
        err.print("[dim]worker and broker stopped (use --keep-running to leave them up)[/]")
    if accounted < total:
        err.print(f"[bold red]only {accounted} of {total} articles came out within {timeout:.0f} s; see {log_path}[/]")
        return 1
    return 0


def _show(got: list[tuple[str, dict[str, Any]]], out: Console) -> None:
    for topic in OUTPUTS:
        values = [v for t, v in got if t == topic]
        out.rule(f"{topic}  ({len(values)})")
        for value in values:
            out.print(one_line(topic, value, max(out.width, 160)), highlight=False, markup=False, soft_wrap=True)
    alerts = [v for t, v in got if t == catalog.ALERTS.name]
    if alerts:
        first = next((a for a in alerts if a.get("type") == "ceasefire_violation"), alerts[0])
        out.rule(f"a {first.get('type')} alert, in full")
        out.print_json(orjson.dumps(first).decode())
