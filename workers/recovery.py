"""Four patches to the end of a rebalance in faust-streaming 0.15.3 (with aiokafka 0.14).

* ``keep_records_fetched_during_seek``: records fetched while Faust seeks to the
  committed offsets are kept, not emptied from the agents' queues (below);
* ``reseek_changelogs_with_streams``: after a dropped fetch, changelog
  partitions go back to where table recovery reads (else recovery never ends);
* ``seek_uncommitted_streams_too``: after a dropped fetch, stream partitions
  committed at 0, or never, are read again from there (else they are skipped);
* ``gaps_only_where_never_fetched``: a jump back over records the fetcher
  has already handed over is not a gap in the partition (else the commit crawls
  one offset per commit and a stopped worker leaves its backlog uncommitted),
  and a record that arrives inside a gap is acked when processed, not before.

Each has a deterministic reproduction in ``tests/integration/test_recovery_window.py``
that loses or stalls records on every run without it.

At the end of each rebalance Faust's table recovery (``on_recovery_completed``)

1. sends ``app.on_rebalance_complete``;
2. resumes the stream partitions (until then only the changelogs were read);
3. awaits the seek of every partition to the group's committed offset, while
   the fetcher runs;
4. calls ``app.flow_control.resume()``, which empties every agent's queue.

A record fetched during step 3 is put in its agent's queue and counted as read,
then thrown away at step 4: nothing fetches it again, and the partition's
commit stalls before it. After a SIGKILL the new worker's enrich agent is still
loading its models during that window, so its queue holds records and they
were lost (issue 7: one full CI run in two lost a few).
``tests/integration/test_recovery_window.py`` holds the seek for 2 s and lost
32 to 40 of 40 waiting records before this change.

The records in the queues at step 4 were all fetched after the revocation had
emptied them, from this assignment, so they are kept: the resume that follows
``on_rebalance_complete`` leaves the queues alone. A record fetched before the
seek completed is fetched again from the committed offset and arrives a
second time; the agents skip such a copy of a record they received since the
rebalance and only ack it (``workers/continuity.py``: ``Step.REPLAY``).

Two other fixes were tried and lose records too: stopping the consumer's flow
during the seek makes Faust discard a fetched batch and re-seek, and aiokafka's
``seek_to_committed`` does not move a partition whose committed offset is 0;
seeking while the stream partitions are still paused can leave Faust's set of
active partitions empty, and aiokafka's ``fetched_records`` then returns every
partition's records, which Faust drops as not active.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .continuity import OffsetRuns

log = logging.getLogger("wirewatch.recovery")

__all__ = [
    "Fetched",
    "KeepFetched",
    "changelog_positions",
    "gaps_only_where_never_fetched",
    "keep_records_fetched_during_seek",
    "reseek_changelogs_with_streams",
    "seek_uncommitted_streams_too",
]


@dataclass
class KeepFetched:
    """The switch: armed when a rebalance completes, spent by the next ``flow_control.resume()``."""

    armed: bool = False
    kept: int = 0  # resumes that left the queues alone (one per completed rebalance)

    def arm(self) -> None:
        self.armed = True

    def disarm(self) -> None:
        self.armed = False


def keep_records_fetched_during_seek(app: Any) -> KeepFetched:
    """Make ``app.flow_control.resume()`` keep the queues once after each ``arm()``.

    ``flow_control`` is mode's ``FlowControlEvent``: ``resume()`` lifts the
    suspension and then calls ``clear()`` on every queue it manages. While
    armed, ``clear`` is shadowed by a no-op for that one call.
    """
    flow = app.flow_control
    switch = KeepFetched()
    resume = flow.resume

    def resume_keeping_queues() -> None:
        if not switch.armed:
            resume()
            return
        switch.armed = False
        switch.kept += 1
        flow.clear = lambda: None  # the instance attribute hides the method for this call
        try:
            resume()
        finally:
            del flow.clear

    flow.resume = resume_keeping_queues
    return switch


def reseek_changelogs_with_streams(app: Any) -> bool:
    """After each ``consumer.perform_seek()``, put changelog partitions back where recovery reads.

    faust-streaming 0.15.3 calls ``perform_seek()`` when a fetch that was in
    flight across a rebalance returns while the consumer's flow is stopped: it
    drops those records, whose offsets aiokafka has already consumed, and counts
    on the seek to the committed offsets to fetch them again. Changelog
    partitions have no committed offset, so aiokafka leaves them where they are:
    past the records just dropped. When that happens at the start of a table
    recovery (the survivor of a SIGKILLed worker, 2 runs in 19 of
    ``test_two_workers_one_killed``), recovery waits for those records forever
    ("No event received for active tp ... since recovery start"). Seeking the
    changelog partitions being read back to the last offset recovery applied
    (as Faust's own recovery seek does; re-applying a changelog record is
    harmless) makes them come again.

    Installed once per consumer; returns False if it was already.
    """
    consumer = app.consumer
    if getattr(consumer, "_wirewatch_reseeks_changelogs", False):
        return False
    perform_seek = consumer.perform_seek

    async def perform_seek_and_changelogs() -> None:
        await perform_seek()
        try:
            targets = changelog_positions(app.tables.recovery, consumer.assignment())
            if targets:
                await consumer.seek_wait(targets)
        except Exception:  # mid-rebalance the partitions may be gone: the next recovery seeks anyway
            log.warning("could not seek changelog partitions back to the recovery offsets", exc_info=True)

    consumer.perform_seek = perform_seek_and_changelogs
    consumer._wirewatch_reseeks_changelogs = True
    return True


def changelog_positions(recovery: Any, assigned: set[Any]) -> dict[Any, int]:
    """Where each assigned changelog partition of ``recovery`` reads next, by Faust's rule (-1 -> 0)."""
    targets: dict[Any, int] = {}
    reading = ((recovery.active_tps, recovery.active_offsets), (recovery.standby_tps, recovery.standby_offsets))
    for tps, offsets in reading:
        for tp in set(tps) & set(assigned):
            offset = offsets[tp]
            targets[tp] = 0 if offset == -1 else offset
    return targets


def seek_uncommitted_streams_too(app: Any, committed_seen: dict[Any, int | None] | None = None) -> bool:
    """Make every ``seek_to_committed()`` also move stream partitions committed at 0, or not at all.

    aiokafka's ``seek_to_committed()`` only moves a partition whose committed
    offset is above 0. faust-streaming calls it (through ``perform_seek()``) at
    the end of each rebalance and after dropping a fetch that returned while its
    flow was stopped, counting on it to rewind past the dropped records. A
    partition the group never committed past 0 (the victim of a SIGKILL died
    before its first commit of it, or nothing was processed there yet) stayed
    where the dropped fetch had left it: the survivor of
    ``test_two_workers_one_killed`` skipped every record of such partitions up
    to their end (4 of 21 runs). Here a stream partition committed at 0 is
    sought to 0, and one with no committed offset to its beginning when the
    reset policy is "earliest" (what aiokafka does on assignment). Changelog
    partitions are left to recovery (``reseek_changelogs_with_streams``).

    ``committed_seen``, if given, is updated with the committed offsets found,
    0 included (Faust keeps 0 as "unknown"), for the resume checks of
    ``workers/continuity.py``.

    Installed once per consumer; returns False if it was already.
    """
    consumer = app.consumer
    if getattr(consumer, "_wirewatch_seeks_uncommitted", False):
        return False
    seek_to_committed = consumer.seek_to_committed

    async def seek_to_committed_all() -> Any:
        committed = await seek_to_committed()
        if committed_seen is not None:
            committed_seen.update(committed)
        try:
            changelogs = app.tables.changelog_topics
            earliest = app.conf.consumer_auto_offset_reset == "earliest"
            targets = {tp: 0 for tp, offset in committed.items() if offset == 0 and tp.topic not in changelogs}
            unset = [tp for tp, offset in committed.items() if offset is None and tp.topic not in changelogs]
            if unset and earliest:
                targets.update(await consumer.earliest_offsets(*unset))
            if targets:
                await consumer.seek_wait(targets)
        except Exception:  # mid-rebalance the partitions may be gone: the next rebalance seeks anyway
            log.warning("could not seek uncommitted stream partitions", exc_info=True)
        return committed

    consumer.seek_to_committed = seek_to_committed_all
    consumer._wirewatch_seeks_uncommitted = True
    return True


@dataclass
class Fetched:
    """The offsets Faust's fetcher handed over, per partition, since the partition was assigned."""

    offsets: dict[Any, OffsetRuns] = field(default_factory=dict)

    def add(self, tp: Any, offset: int) -> None:
        runs = self.offsets.get(tp)
        if runs is None:
            runs = self.offsets[tp] = OffsetRuns()
        runs.add(offset)

    def forget(self, tps: Iterable[Any]) -> None:
        """Revoked partitions: Faust forgets their acks and gaps then."""
        for tp in tps:
            self.offsets.pop(tp, None)


def gaps_only_where_never_fetched(app: Any, fetched: Fetched) -> bool:
    """Make Faust's gap bookkeeping count only offsets its fetcher has not handed over.

    Faust's fetcher remembers the last offset it read per partition. When the
    next record's offset is further on, it takes the offsets in between for
    records that will never come (compaction, transaction markers) and counts
    them as acked (``Consumer._add_gap``), so commits can pass them. Two things
    go wrong at the end of a rebalance, when the seek to the committed offsets
    sets that "last read" offset back while records fetched before the seek
    are still arriving (``workers/continuity.py``, ``Step.REPLAY``):

    * the jump from the committed offset to the first such copy is taken for a
      gap, though the fetcher handed over every record in it already;
    * Faust's gap also holds the offset of the record that revealed it.

    Each gap offset is then acked twice: once as a gap and once when its
    record is processed. Faust commits only up to the first break in a run of
    consecutive acked offsets, and a repeated offset is such a break, so each
    commit moved the partition on by one offset. A worker stopped 5 s after
    enriching its whole backlog had committed its unique partitions to 7/6/9/6
    of 16/12/9/18 (one CI run; on every run of
    ``test_records_fetched_long_before_the_seek_are_committed``).
    ``tests/unit/test_recovery_gaps.py`` shows the crawl on Faust's own
    consumer. Nothing was lost, but a restart enriched those records again.

    Here the fetcher notes each record it hands over (``consumer.callback``;
    the fetcher reads it when it starts, after the first assignment), and a gap
    is cut to the offsets before the revealing record that it has not handed
    over since the partition was assigned. A record handed over and then
    dropped unprocessed now holds the commit back instead of being passed.
    The other way round, a record that arrives after all inside a gap (the
    seek after a fetch from past the committed offset, ``Step.EARLIER``) is
    taken out of the gap: it was counted as acked before it was processed, so
    a commit could pass it while it waited in a queue, and a crash then lost it.

    Installed once per consumer, before the first assignment; returns False if it was already.
    """
    consumer = app.consumer
    if getattr(consumer, "_wirewatch_counts_real_gaps", False):
        return False
    add_gap = consumer._add_gap
    callback = consumer.callback

    def hand_over(message: Any) -> Any:
        tp, offset = message.tp, message.offset
        fetched.add(tp, offset)
        gap = consumer._gap.get(tp)
        if gap and gap.overlaps(offset):  # it came after all: acked when processed, not before
            gap.chop(offset, offset + 1)
        return callback(message)

    async def add_gap_never_fetched(tp: Any, offset_from: int, offset_to: int) -> None:
        runs = fetched.offsets.get(tp)
        missing = runs.missing_in(offset_from, offset_to) if runs is not None else [(offset_from, offset_to)]
        if missing != [(offset_from, offset_to)]:
            log.info(
                "%s[%d]: offsets %d-%d were received already since the assignment: not counted as a gap",
                tp.topic,
                tp.partition,
                offset_from,
                offset_to - 1,
            )
        for start, end in missing:
            await add_gap(tp, start, end - 1)  # Faust's end is inclusive

    consumer.callback = hand_over
    consumer._add_gap = add_gap_never_fetched
    consumer._wirewatch_counts_real_gaps = True
    return True
