"""Faust's gap bookkeeping after a seek back over records received already (workers/recovery.py).

These tests drive faust-streaming's own consumer (its ``callback``, which the
fetcher hands each record to, ``_add_gap``, ``track_message``, ``ack`` and
``_new_offset``, the offset a commit would take) with no broker: what the
fetcher, the streams and a commit do at the end of a rebalance.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import faust
import pytest
from faust.transport.consumer import ConsumerMessage
from faust.types import TP

from workers.recovery import Fetched, gaps_only_where_never_fetched

TOPIC = "wirewatch-gaps.articles.unique.v1"
tp = TP(TOPIC, 0)


@pytest.fixture
def app() -> Iterator[faust.App]:
    app = faust.App("wirewatch-gaps", broker="kafka://127.0.0.1:1", store="memory://", autodiscover=False)
    app.topics._acking_topics.add(TOPIC)  # as when an agent subscribes to it
    handed: list[int] = []

    async def conductor(message: ConsumerMessage) -> None:  # stands for the agents' queues
        handed.append(message.offset)

    app.consumer.callback = conductor
    yield app


async def receive(consumer: Any, offset: int) -> ConsumerMessage:
    """The fetcher hands one record over; a stream takes it."""
    message = ConsumerMessage(TOPIC, 0, offset, 0.0, 0, [], b"key", b"value", None)
    await consumer.callback(message)
    consumer.track_message(message)  # what the stream does when it takes the record
    return message


def commit_passes(consumer: Any, end: int, most: int = 20) -> int:
    """Commits, as Faust takes each one's offset, until the partition is committed to ``end``."""
    for passes in range(1, most + 1):
        offset = consumer._new_offset(tp)
        if offset is not None and consumer._should_commit(tp, offset):
            consumer._committed_offset[tp] = offset  # what a successful commit records
        if consumer._committed_offset[tp] == end:
            return passes
    return most + 1


async def a_seek_back_over_the_backlog(consumer: Any) -> None:
    """Records 1-18 are received, the seek sets the read offset back to the committed 1, and a
    copy of 14 fetched before the seek arrives next: the fetcher reports a gap from 2 to 14.
    Every record is then processed and acked, the copies too (as the agents do)."""
    consumer._committed_offset[tp] = 1
    originals = [await receive(consumer, offset) for offset in range(1, 19)]
    await consumer._add_gap(tp, 2, 14)  # what Faust's fetcher calls: read offset 1, next record 14
    copies = [await receive(consumer, offset) for offset in range(14, 19)]
    for message in originals + copies:
        message.ack(consumer)


async def test_without_the_patch_faust_commits_one_offset_per_commit(app: faust.App) -> None:
    """Why the patch exists: in faust-streaming 0.15.3 the gap's offsets are acked twice, and each
    commit stops at the first repeated one. If this fails after an upgrade, Faust has fixed it."""
    consumer = app.consumer
    await a_seek_back_over_the_backlog(consumer)
    assert commit_passes(consumer, 19) > 10


async def test_a_seek_back_over_received_records_is_committed_at_once(app: faust.App) -> None:
    fetched = Fetched()
    consumer = app.consumer
    assert gaps_only_where_never_fetched(app, fetched)
    assert not gaps_only_where_never_fetched(app, fetched)  # once per consumer
    await a_seek_back_over_the_backlog(consumer)
    assert commit_passes(consumer, 19) == 1


async def test_offsets_never_received_still_count_as_a_gap(app: faust.App) -> None:
    """Compaction or transaction markers: records 6-13 never come, and commits must pass them."""
    fetched = Fetched()
    consumer = app.consumer
    gaps_only_where_never_fetched(app, fetched)
    consumer._committed_offset[tp] = 1
    received = [await receive(consumer, offset) for offset in range(1, 6)]
    await consumer._add_gap(tp, 6, 14)  # the read offset is 5, the next record 14
    received.append(await receive(consumer, 14))
    for message in received[:-1]:
        message.ack(consumer)
    assert commit_passes(consumer, 6) == 1  # Faust passes a gap once an offset after it is acked
    received[-1].ack(consumer)
    assert commit_passes(consumer, 15) == 1


async def test_a_revoked_partition_is_forgotten(app: faust.App) -> None:
    """After a revocation the same offsets may come again from another position: a real gap then."""
    fetched = Fetched()
    consumer = app.consumer
    gaps_only_where_never_fetched(app, fetched)
    for offset in range(1, 10):
        await receive(consumer, offset)
    assert fetched.offsets[tp].runs() == [(1, 10)]
    fetched.forget({tp})
    assert tp not in fetched.offsets
    consumer._committed_offset[tp] = 1
    await consumer._add_gap(tp, 2, 8)
    assert sorted((i.begin, i.end) for i in consumer._gap[tp]) == [(2, 8)]  # 2-7: not 8, the record seen


async def test_a_record_that_comes_inside_a_gap_is_committed_only_once_processed(app: faust.App) -> None:
    """Records 6-13 were taken for a gap, then the seek brings them: each is acked when processed."""
    fetched = Fetched()
    consumer = app.consumer
    gaps_only_where_never_fetched(app, fetched)
    consumer._committed_offset[tp] = 1
    first = [await receive(consumer, offset) for offset in range(1, 6)]
    await consumer._add_gap(tp, 6, 14)
    first.append(await receive(consumer, 14))
    earlier = [await receive(consumer, offset) for offset in range(6, 14)]  # after the seek
    for message in first + earlier[:3]:  # 6, 7 and 8 processed; 9-13 still queued
        message.ack(consumer)
    assert commit_passes(consumer, 9) == 1
    assert commit_passes(consumer, 15, most=5) == 6  # not reached: 9-13 wait in a queue, unprocessed
    for message in earlier[3:]:
        message.ack(consumer)
    assert commit_passes(consumer, 15) == 1
