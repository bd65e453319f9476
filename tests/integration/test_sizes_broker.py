"""Records near the size limits through a real broker and worker (README, Topics and messages).

A valid article with a body of about a megabyte must come out enriched; an
invalid record over a megabyte (but within what the raw topic accepts) must come
out as a dead letter with its bytes. Before topics/sizes.py, the first stopped
the validate agent (Faust's producer refuses records over 1,000,000 bytes, and
the dead letter of the same bytes is larger still) and the second was refused by
the broker (message.max.bytes, ~1 MiB) before any worker saw it.
"""

from __future__ import annotations

import asyncio
import base64
import random
import time
import uuid
from dataclasses import replace
from pathlib import Path

import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from topics import catalog
from topics.schemas import validator_for
from workers.admin import create_topics
from workers.localkafka import LocalKafkaConfig
from workers.settings import Settings

from .harness import (
    Collected,
    WorkerProcess,
    collect,
    collect_settled,
    commit_group_at_end,
    committed_offsets,
    end_offsets,
    new_app_id,
    produce,
    run,
)

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
RECORD_MAX_BYTES = 2 * MiB  # WIREWATCH_RECORD_MAX_BYTES, default
BODY_MAX_BYTES = MiB  # WIREWATCH_BODY_MAX_BYTES, default
# The test's own producer may send anything up to this: the broker decides.
PRODUCER_MAX = 4 * MiB

_PLACES = ["Kharkiv", "Aleppo", "Khan Yunis", "Donetsk", "Idlib", "Mosul", "Sumy", "Rafah", "Goma", "Marib"]
_TEMPLATES = [
    "In dispatch {n}, officials in {place} said shelling damaged {a} homes and wounded {b} people overnight.",
    "Report {n}: the governor of {place} said aid convoys waited {a} hours at a checkpoint before they could pass.",
    "Item {n} says residents of {place} queued for water for {a} minutes while the power grid was down.",
    "According to note {n}, {b} families left {place} by train on Tuesday, the regional council said.",
    "Bulletin {n} quotes a hospital director in {place} who said {a} doctors worked through the night.",
]


def wire_text(target_bytes: int, seed: int = 1) -> str:
    """Realistic wire copy of about ``target_bytes``: distinct sentences, paragraphs of three.

    Each sentence carries its own number, so the text is not one body pasted twice
    (workers/normalise.py: collapse_repeated) and stays as written once normalised.
    """
    rng = random.Random(seed)
    paragraphs, size, n = [], 0, 0
    while size < target_bytes:
        sentences = []
        for _ in range(3):
            n += 1
            template = _TEMPLATES[rng.randrange(len(_TEMPLATES))]
            sentences.append(
                template.format(n=n, place=rng.choice(_PLACES), a=rng.randint(2, 90), b=rng.randint(2, 400))
            )
        paragraph = " ".join(sentences)
        paragraphs.append(paragraph)
        size += len(paragraph.encode()) + 2
    text = "\n\n".join(paragraphs)
    return text[: text.rfind(".", 0, target_bytes) + 1]


def test_an_article_of_a_megabyte_comes_out_enriched(kafka: str, logs: Path) -> None:
    """A body just under WIREWATCH_BODY_MAX_BYTES: valid, so enriched (not lost, not a stuck agent)."""
    app_id = new_app_id("size")
    article_id = f"big-{uuid.uuid4().hex[:6]}"
    body = wire_text(BODY_MAX_BYTES - 48_576)  # ~1,000,000 bytes
    assert 990_000 < len(body.encode()) <= 1_000_000
    value = orjson.dumps({"id": article_id, "body": body, "source": "wire", "language": "en"})
    run(commit_group_at_end(kafka, app_id))
    start = run(end_offsets(kafka))
    # A megabyte of text takes ~40 s of spaCy in pieces on a 2-core machine (README, Reliability), a
    # third of the NLP process's default batch timeout (120 s); a slow host is not what this test is about.
    with WorkerProcess(kafka, app_id, logs, WIREWATCH_NLP_TIMEOUT="300") as worker:
        run(produce(kafka, [(article_id.encode(), value)], max_request_size=PRODUCER_MAX))
        started = time.monotonic()

        def done(c: Collected) -> bool:
            mine = [v for v in c.on(catalog.ENRICHED.name) + c.on(catalog.DEADLETTER.name) if _about(v, article_id)]
            return bool(mine) or not worker.alive()

        got = run(collect(kafka, start, done, timeout=400))
        took = time.monotonic() - started
        alive = worker.alive()
        log_tail = worker.log_tail(60)
    dead = [d for d in got.on(catalog.DEADLETTER.name) if _about(d, article_id)]
    assert not dead, f"dead-lettered: {[(d['code'], d['message']) for d in dead]}\n{log_tail}"
    events = [v for v in got.on(catalog.ENRICHED.name) if v.get("id") == article_id]
    assert len(events) == 1, f"no enriched event in {took:.0f} s (worker alive: {alive}); worker log:\n{log_tail}"
    event = events[0]
    assert event["text"] == body
    assert event["body_repeated"] is False
    assert {e["canonical"] for e in event["entities"]} >= {"Kharkiv", "Aleppo"}
    assert [e.message for e in validator_for(catalog.ENRICHED.name).iter_errors(event)] == []
    print(
        f"\n1 MB article: enriched in {took:.1f} s, event {len(orjson.dumps(event))} bytes, "
        f"{len(event['entities'])} entities, {len(event['alerts'])} alerts"
    )
    assert alive, log_tail


def _about(value: dict[str, object], article_id: str) -> bool:
    """An output (enriched event, or a dead letter whose bytes name the article) of ``article_id``."""
    if value.get("id") == article_id:
        return True
    raw = value.get("raw_b64")
    return isinstance(raw, str) and article_id.encode() in base64.b64decode(raw)


def test_invalid_records_over_a_megabyte_become_dead_letters(kafka: str, logs: Path) -> None:
    """Over the body limit, over the record limit: dead letters with their bytes; over the raw topic: refused."""
    app_id = new_app_id("size")
    tag = uuid.uuid4().hex[:6]
    body_too_large = orjson.dumps({"id": f"body-{tag}", "body": wire_text(int(1.4 * MiB), seed=2)})
    assert BODY_MAX_BYTES < len(body_too_large) < RECORD_MAX_BYTES
    record_too_large = orjson.dumps({"id": f"record-{tag}", "body": "Short.", "feed": "x" * RECORD_MAX_BYTES})
    assert RECORD_MAX_BYTES < len(record_too_large) < RECORD_MAX_BYTES + 1024
    run(commit_group_at_end(kafka, app_id))
    start = run(end_offsets(kafka))
    with WorkerProcess(kafka, app_id, logs) as worker:
        records = [(f"body-{tag}".encode(), body_too_large), (f"record-{tag}".encode(), record_too_large)]
        run(produce(kafka, records, max_request_size=PRODUCER_MAX))
        # Beyond what the raw topic takes (the record limit + 64 KiB): the producer learns it at once.
        with pytest.raises(KafkaError):
            run(produce(kafka, [(b"refused", b"y" * (RECORD_MAX_BYTES + 128 * 1024))], max_request_size=PRODUCER_MAX))

        def done(c: Collected) -> bool:
            return (
                len([d for d in c.on(catalog.DEADLETTER.name) if tag.encode() in base64.b64decode(d["raw_b64"])]) >= 2
            )

        got = run(collect(kafka, start, done, timeout=120))
        assert worker.alive(), worker.log_tail()
        log_tail = worker.log_tail(60)
    dead = {d["code"]: d for d in got.on(catalog.DEADLETTER.name) if tag.encode() in base64.b64decode(d["raw_b64"])}
    assert set(dead) == {"body_too_large", "record_too_large"}, log_tail
    assert base64.b64decode(dead["body_too_large"]["raw_b64"]) == body_too_large
    assert base64.b64decode(dead["record_too_large"]["raw_b64"]) == record_too_large
    assert all(d["topic"] == catalog.RAW.name for d in dead.values())
    assert all(validator_for(catalog.DEADLETTER.name).is_valid(d) for d in dead.values())


def test_topics_create_names_an_existing_topic_whose_limit_is_too_small(kafka: str) -> None:
    """A topic created before the size limits keeps the broker's: `wirewatch topics create` says how to raise it."""
    tag = uuid.uuid4().hex[:6]
    old, new = (replace(catalog.RAW, name=f"wirewatch-size-{kind}-{tag}") for kind in ("old", "new"))

    async def create_old() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(old.name, old.partitions, 1, topic_configs=old.config())])  # no sizes
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # until the broker's metadata lists its partitions
                described = await admin.describe_topics([old.name])
                if described and len(described[0].get("partitions", [])) == old.partitions:
                    break
                await asyncio.sleep(0.2)
        finally:
            await admin.close()

    run(create_old())
    settings = Settings(bootstrap_servers=kafka)
    outcomes = {o.name: o for o in run(create_topics(settings, [old, new]))}
    assert not outcomes[old.name].created and outcomes[new.name].created
    assert "max.message.bytes" not in outcomes[new.name].note
    wanted = settings.message_sizes().raw
    assert "max.message.bytes is 1048588" in outcomes[old.name].note  # the broker's default
    assert f"--entity-name {old.name} --add-config max.message.bytes={wanted}" in outcomes[old.name].note
    again = {o.name: o for o in run(create_topics(settings, [new]))}
    assert "max.message.bytes" not in again[new.name].note  # created with the catalog's limit


async def create_with_limit(bootstrap: str, spec: catalog.TopicSpec, limit: int) -> None:
    """Create ``spec``'s topic as the catalog says, but taking records of at most ``limit`` bytes."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        config = {**spec.config(), "max.message.bytes": str(limit)}
        await admin.create_topics([NewTopic(spec.name, spec.partitions, 1, topic_configs=config)])
    finally:
        await admin.close()


def test_an_event_the_broker_refuses_as_too_large_becomes_a_dead_letter(
    own_broker: LocalKafkaConfig, logs: Path
) -> None:
    """The enriched topic exists with a smaller max.message.bytes than the catalog's (created by
    hand, or before the size limits): the broker refuses the large events after they are sent.
    Before, the worker only logged Faust's warning and committed: those articles were lost. Now
    each becomes a dead letter ``output_too_large``, and the partitions are committed to their end."""
    bootstrap = f"127.0.0.1:{own_broker.port}"
    limit = 16_384

    run(create_with_limit(bootstrap, catalog.ENRICHED, limit))
    tag = f"refused-{uuid.uuid4().hex[:6]}"
    app_id = new_app_id("refused")
    short = [f"{tag}-short-{i}" for i in range(2)]
    long = [f"{tag}-long-{i}" for i in range(2)]
    bodies = {i: wire_text(1_500, seed=n) for n, i in enumerate(short)}
    bodies |= {i: wire_text(40_000, seed=10 + n) for n, i in enumerate(long)}
    unique_topic = catalog.unique_topic(app_id).name

    def dead_codes(got: Collected) -> dict[str, str]:
        out = {}
        for value in got.on(catalog.DEADLETTER.name):
            raw = base64.b64decode(str(value.get("raw_b64") or ""))
            out.update({i: f"{value['code']}: {value['message']}" for i in long if i.encode() in raw})
        return out

    with WorkerProcess(bootstrap, app_id, logs) as worker:
        worker.wait_ready()
        log_text = worker.log_path.read_text("utf-8", "replace")
        assert f"topic {catalog.ENRICHED.name}: max.message.bytes is {limit}" in log_text, worker.log_tail(60)
        start_at = run(end_offsets(bootstrap))
        records = [(i.encode(), orjson.dumps({"id": i, "body": b, "language": "en"})) for i, b in bodies.items()]
        run(produce(bootstrap, records))

        def done(got: Collected) -> bool:
            enriched = {v.get("id") for v in got.on(catalog.ENRICHED.name)}
            return set(short) <= enriched and set(long) <= set(dead_codes(got))

        got = run(collect_settled(bootstrap, start_at, done, timeout=120, quiet=3.0))
    enriched = sorted(str(v.get("id")) for v in got.on(catalog.ENRICHED.name))
    dead = dead_codes(got)
    assert enriched == sorted(short), f"enriched {enriched}, dead letters {dead}\n{worker.log_tail(60)}"
    assert sorted(dead) == sorted(long), f"dead letters {dead}\n{worker.log_tail(60)}"
    assert all(d.startswith("output_too_large: the broker refused") for d in dead.values()), dead
    committed = run(committed_offsets(bootstrap, app_id, [unique_topic]))
    ends = run(end_offsets(bootstrap, [unique_topic]))
    assert committed == ends, f"committed {committed}, ends {ends}\n{worker.log_tail(60)}"


def test_a_record_the_broker_refuses_on_an_internal_topic_is_not_committed(
    own_broker: LocalKafkaConfig, logs: Path
) -> None:
    """The first stage acks as its stream moves on. Its unique topic exists with a smaller
    max.message.bytes than the catalog's: the broker refuses the large article's record after
    the send. Before, Faust only logged it and committed past the article: lost. Now the worker
    commits nothing more and stops with an error, so a restart reads the article again."""
    bootstrap = f"127.0.0.1:{own_broker.port}"
    app_id = new_app_id("guard")
    unique = catalog.unique_topic(app_id)
    limit = 16_384

    run(create_with_limit(bootstrap, unique, limit))
    tag = f"guard-{uuid.uuid4().hex[:6]}"
    sizes = [1_500, 1_500, 40_000, 1_500]  # the third is refused; all on raw partition 0, offsets 0-3
    records = [
        (f"{tag}-{n}".encode(), orjson.dumps({"id": f"{tag}-{n}", "body": wire_text(size, seed=n), "language": "en"}))
        for n, size in enumerate(sizes)
    ]
    worker = WorkerProcess(bootstrap, app_id, logs)
    with worker:
        worker.wait_ready()
        run(produce(bootstrap, records, partition_of=lambda _: 0))
        deadline = time.monotonic() + 90
        while worker.alive() and time.monotonic() < deadline:
            time.sleep(0.5)
        alive = worker.alive()
        code = worker.proc.returncode if worker.proc is not None else None
    log_text = worker.log_path.read_text("utf-8", "replace")
    assert not alive, f"the worker went on after the broker refused a record\n{worker.log_tail(60)}"
    assert code not in (0, None), f"exit code {code}\n{worker.log_tail(60)}"
    assert "commits nothing more and stops" in log_text, worker.log_tail(60)
    committed = run(committed_offsets(bootstrap, app_id, [catalog.RAW.name]))
    raw0 = next(offset for tp, offset in committed.items() if tp.partition == 0)
    assert raw0 is None or raw0 <= 2, f"raw[0] committed at {raw0}: past the refused record (offset 2)"
