"""Test harness for the real broker: worker processes, producing, reading outputs.

Each test gets its own application id (so its own consumer group, tables and
changelogs) and its own article ids; before its worker starts, the group's
offsets on the source topics are committed at their current end, so the worker
sees only what the test produces. Outputs are read from offsets captured before
producing. Topic names stay the public ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
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

from topics import catalog
from workers.admin import create_topics, start_group_at_end, topic_partitions
from workers.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def source_topics(app_id: str) -> tuple[str, ...]:
    """The topics an app's consumer group reads: the raw topic and its own internal ones."""
    return (catalog.RAW.name, *(spec.name for spec in catalog.internal_topics(app_id)))


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


async def commit_group_at_end(bootstrap: str, group: str, topics: Iterable[str] | None = None) -> None:
    """Make ``group`` (an app id) start at the current end of ``topics`` (default: the ones it reads)."""
    settings = Settings(bootstrap_servers=bootstrap, app_id=group)
    await create_topics(settings)  # the app's own internal topics too, so every partition gets an offset
    await start_group_at_end(settings, group, list(topics or source_topics(group)))


async def produce(
    bootstrap: str,
    records: Sequence[tuple[bytes | None, bytes]],
    topic: str = catalog.RAW.name,
    partition_of: Callable[[int], int | None] | None = None,
    max_request_size: int = 1024 * 1024,  # aiokafka's default
) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, max_request_size=max_request_size
    )
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


async def collect(
    bootstrap: str, start: dict[TopicPartition, int], done: Callable[[Collected], bool], timeout: float
) -> Collected:
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

    def __init__(
        self, bootstrap: str, app_id: str, log_dir: Path, name: str = "worker", module: str = "workers", **env: str
    ) -> None:
        self.log_path = log_dir / f"{app_id}-{name}.log"
        self.module = module  # run as ``python -m <module> worker``: the CLI, or a test's wrapper of it
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
            [sys.executable, "-m", self.module, "worker", "--no-web", "--loglevel", "info"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
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

    def dump_state(self, timeout: float = 5.0) -> None:
        """Ask a live worker to log its consumer state and stacks (SIGUSR1), for a failure's log."""
        if not self.alive():
            return
        assert self.proc is not None
        before = self.log_path.read_text("utf-8", "replace").count("stacks:")
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log_path.read_text("utf-8", "replace").count("stacks:") > before:
                return
            time.sleep(0.2)

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


# --------------------------------------------------------------------------- reliability helpers
# (issue 7: crashes, broker restarts, hostile input). Appended; nothing above changed.

#: Settings (WIREWATCH_BROKER_*) that make a dead member
#: leaves the group after 10 s instead of 60 s, so a survivor or a restarted worker takes its
#: partitions quickly. Kafka's group.min.session.timeout.ms (6 s) allows it.
FAST_FAILOVER_ENV = {
    "WIREWATCH_BROKER_SESSION_TIMEOUT": "10",
    "WIREWATCH_BROKER_HEARTBEAT_INTERVAL": "1",
    "WIREWATCH_BROKER_REBALANCE_TIMEOUT": "20",
}

_EN_WORDS = (
    "army rebels town border shelling talks minister convoy village bridge province refugees aid council "
    "envoy militia frontline capital airport district commander police election protest harbour road market "
    "hospital school river valley mountain checkpoint ambassador summit treaty statement spokesman casualties "
    "injured displaced camp supplies fuel water power grid winter farmers wheat harvest bank loan governor "
    "court judge trial witness doctors nurses teachers students railway station tunnel port customs"
).split()
_FR_WORDS = (
    "armée rebelles ville frontière pourparlers ministre convoi village pont province réfugiés aide conseil "
    "émissaire milice capitale aéroport district commandant police élection manifestation port route marché "
    "hôpital école rivière vallée montagne ambassadeur sommet traité déclaration porte-parole blessés déplacés "
    "camp vivres carburant eau électricité hiver agriculteurs blé récolte banque prêt gouverneur tribunal juge "
    "procès témoin médecins infirmières enseignants étudiants gare tunnel douane"
).split()
_ALERT_SENTENCES = {
    "en": (
        "Russian drones struck Kharkiv overnight despite the ceasefire, officials said.",
        "Rebel fighters launched a ground offensive on the town of Marib despite the truce, witnesses said.",
    ),
    "fr": (
        "Des frappes aériennes russes ont visé Alep malgré le cessez-le-feu, selon l'armée.",
        "Les forces gouvernementales ont lancé une offensive terrestre contre la ville de Idleb, violant la trêve.",
    ),
}
#: The alert types the alert sentences above raise (checked against the pipeline when written).
ALERT_TYPES = frozenset({"ceasefire_violation", "airstrike", "ground_offensive"})


def synthetic_articles(tag: str, n: int, alert_every: int = 20, seed: int = 0) -> list[tuple[str, bytes]]:
    """``n`` distinct English/French raw articles of 60-100 words: (id, JSON value).

    Word salad (with the article's number in it) so no two are near duplicates and NER stays
    fast; every ``alert_every``-th article carries a sentence that raises alerts.
    """
    import random

    rng = random.Random(seed)
    out = []
    for i in range(n):
        language = "fr" if i % 3 == 2 else "en"
        words = _FR_WORDS if language == "fr" else _EN_WORDS
        salad = [rng.choice(words) for _ in range(rng.randint(60, 90))]
        sentences = [" ".join(salad[j : j + 12]).capitalize() + "." for j in range(0, len(salad), 12)]
        sentences.insert(1, f"Dispatch {tag} {i}.")
        if alert_every and i % alert_every == 0:
            options = _ALERT_SENTENCES[language]
            sentences.insert(2, options[(i // alert_every) % len(options)])
        article_id = f"{tag}-{i}"
        body = "\n\n".join(" ".join(sentences[j : j + 3]) for j in range(0, len(sentences), 3))
        out.append((article_id, orjson.dumps({"id": article_id, "body": body, "language": language})))
    return out


async def collect_settled(
    bootstrap: str,
    start: dict[TopicPartition, int],
    done: Callable[[Collected], bool],
    timeout: float,
    quiet: float = 3.0,
    on_batch: Callable[[Collected], None] | None = None,
) -> Collected:
    """Like ``collect``, then keep reading until nothing new came for ``quiet`` seconds.

    The quiet period catches late copies (replays) after everything expected arrived.
    ``on_batch`` is called after each fetch (a test can kill a worker from there).
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed")
    await consumer.start()
    consumer.assign(list(start))
    for tp, off in start.items():
        consumer.seek(tp, off)
    got = Collected()
    deadline = time.monotonic() + timeout
    last_new = time.monotonic()
    finished = False
    try:
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for tp, records in batch.items():
                got.messages.extend((tp.topic, orjson.loads(r.value)) for r in records)
            if batch:
                last_new = time.monotonic()
            if on_batch is not None:
                on_batch(got)
            if not finished and done(got):
                finished, last_new = True, time.monotonic()
            if finished and time.monotonic() - last_new >= quiet:
                break
    finally:
        await consumer.stop()
    return got


def _without_processed_at(value: dict[str, Any]) -> bytes:
    return orjson.dumps({k: v for k, v in value.items() if k != "processed_at"}, option=orjson.OPT_SORT_KEYS)


@dataclass
class Tally:
    """Delivery figures for one run: what was expected, what came out, lost and doubled copies."""

    expected: int
    enriched: int  # messages on the enriched topic for the expected ids (copies included)
    lost: list[str]
    doubled: int  # extra copies on the enriched topic (by article id)
    alerts: int  # alert messages for the expected ids (copies included)
    alerts_doubled: int  # extra copies on the alerts topic (by alert_id)
    alert_types: set[str]
    alerts_missing: list[str]  # alert_ids listed in an enriched event but absent from news.alerts.v1
    not_idempotent: list[str]  # keys whose copies differ (apart from processed_at)

    def figures(self) -> dict[str, Any]:
        return {
            "expected": self.expected,
            "enriched_messages": self.enriched,
            "lost": len(self.lost),
            "doubled": self.doubled,
            "alert_messages": self.alerts,
            "alerts_doubled": self.alerts_doubled,
            "alert_types": sorted(self.alert_types),
            "alerts_missing": len(self.alerts_missing),
            "not_idempotent": len(self.not_idempotent),
        }


def tally(got: Collected, expected_ids: Iterable[str]) -> Tally:
    """Count lost and doubled outputs for ``expected_ids`` (other tests' messages are ignored)."""
    expected = set(expected_ids)
    by_id: dict[str, list[dict[str, Any]]] = {}
    for value in got.on(catalog.ENRICHED.name):
        if value.get("id") in expected:
            by_id.setdefault(value["id"], []).append(value)
    by_alert: dict[str, list[dict[str, Any]]] = {}
    for value in got.on(catalog.ALERTS.name):
        if value.get("article_id") in expected:
            by_alert.setdefault(value["alert_id"], []).append(value)
    listed = {a["alert_id"] for copies in by_id.values() for a in copies[0].get("alerts", [])}
    differing = [k for k, copies in by_id.items() if len({_without_processed_at(c) for c in copies}) > 1]
    differing += [k for k, copies in by_alert.items() if len({_without_processed_at(c) for c in copies}) > 1]
    return Tally(
        expected=len(expected),
        enriched=sum(len(c) for c in by_id.values()),
        lost=sorted(expected - set(by_id)),
        doubled=sum(len(c) - 1 for c in by_id.values()),
        alerts=sum(len(c) for c in by_alert.values()),
        alerts_doubled=sum(len(c) - 1 for c in by_alert.values()),
        alert_types={c[0]["type"] for c in by_alert.values()},
        alerts_missing=sorted(listed - set(by_alert)),
        not_idempotent=differing,
    )


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports that were free on 127.0.0.1 a moment ago."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def process_rss(pid: int) -> int:
    """Resident set size in bytes of ``pid`` and its children (psutil)."""
    import contextlib

    import psutil

    proc = psutil.Process(pid)
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        with contextlib.suppress(psutil.Error):  # a child may be gone already
            total += child.memory_info().rss
    return int(total)


async def produce_paced(
    bootstrap: str,
    records: Sequence[tuple[bytes | None, bytes]],
    chunk: int = 50,
    pause: float = 0.5,
    topic: str = catalog.RAW.name,
) -> None:
    """Produce ``records`` in chunks of ``chunk`` with ``pause`` seconds between chunks (a live feed)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for i in range(0, len(records), chunk):
            futures = [await producer.send(topic, value, key=key) for key, value in records[i : i + chunk]]
            for fut in futures:
                await fut
            await asyncio.sleep(pause)
    finally:
        await producer.stop()


async def committed_offsets(bootstrap: str, group: str, topics: Iterable[str]) -> dict[TopicPartition, int | None]:
    """The offsets ``group`` has committed on every partition of ``topics`` (None: never)."""
    parts = await _partitions(bootstrap, topics)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return {tp: await consumer.committed(tp) for tp in parts}
    finally:
        await consumer.stop()


async def trace_articles(bootstrap: str, app_id: str, ids: Iterable[str], limit: int = 8) -> str:
    """Where ``ids`` went through the app's topics, for a failure message (lost articles).

    For each article: its records (partition@offset) on the raw and unique
    topics, and the group's committed offset of each partition they are
    on, so a record that was passed by a commit without being processed shows.
    """
    wanted = set(list(ids)[:limit])
    topics = source_topics(app_id)
    parts = await _partitions(bootstrap, topics)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(parts)
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        seen: dict[str, list[str]] = {i: [] for i in wanted}
        remaining = {tp for tp in parts if ends[tp] > 0}
        deadline = time.monotonic() + 30
        while remaining and time.monotonic() < deadline:
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                for r in records:
                    key = r.key.decode("utf-8", "replace") if r.key else ""
                    if key in wanted:
                        seen[key].append(f"{tp.topic.removeprefix(app_id)}[{tp.partition}]@{r.offset}")
                if records and records[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    committed = await committed_offsets(bootstrap, app_id, topics)
    positions = (f"{tp.topic.removeprefix(app_id)}[{tp.partition}]={committed[tp]}" for tp in sorted(parts) if ends[tp])
    lines = [f"committed: {', '.join(positions)}"]
    lines += [f"{i}: {' '.join(where) or 'on no topic'}" for i, where in sorted(seen.items())]
    return "\n".join(lines)
