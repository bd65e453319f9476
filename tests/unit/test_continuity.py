"""Offset continuity (workers/continuity.py) and the queue-keeping resume (workers/recovery.py)."""

from __future__ import annotations

from itertools import pairwise
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st
from mode.utils.queues import FlowControlEvent, FlowControlQueue

from workers.continuity import Continuity, OffsetRuns, Step
from workers.recovery import (
    changelog_positions,
    keep_records_fetched_during_seek,
    reseek_changelogs_with_streams,
    seek_uncommitted_streams_too,
)


def test_consecutive_offsets_then_a_gap_then_earlier_records() -> None:
    c = Continuity()
    assert c.see("t", 0, 7) == (Step.FIRST, None, 0)
    assert c.see("t", 0, 8) == (Step.NEXT, 7, 0)
    assert c.see("t", 1, 3) == (Step.FIRST, None, 0)  # partitions are independent
    assert c.see("t", 0, 15) == (Step.GAP, 8, 6)  # offsets 9..14
    assert (c.gaps, c.skipped) == (1, 6)
    assert c.see("t", 0, 10) == (Step.EARLIER, 15, 0)  # never received: processed
    assert c.see("t", 0, 11) == (Step.NEXT, 10, 0)
    assert (c.gaps, c.skipped, c.replayed) == (1, 6, 0)


def test_copies_received_again_are_replays() -> None:
    """The seek to the committed offsets delivers again what was fetched before it."""
    c = Continuity()
    for offset in range(28, 61):
        c.see("u", 0, offset)
    assert [c.see("u", 0, o).step for o in range(28, 61)] == [Step.REPLAY] * 33
    assert c.see("u", 0, 61) == (Step.NEXT, 60, 0)  # new again, and no gap reported
    assert (c.replayed, c.gaps) == (33, 0)


def test_a_gap_counts_only_offsets_never_received() -> None:
    c = Continuity()
    for offset in (5, 6, 7, 20, 21):  # 8..19 missing
        c.see("t", 0, offset)
    assert c.skipped == 12
    for offset in (5, 6):  # copies, then a jump over 7 (received) and 8..19 (not)
        assert c.see("t", 0, offset).step is Step.REPLAY
    assert c.see("t", 0, 22) == (Step.GAP, 6, 12)


def test_reset_forgets_positions_and_copies() -> None:
    c = Continuity()
    c.see("t", 0, 7)
    c.reset()
    assert c.see("t", 0, 3) == (Step.FIRST, None, 0)
    assert c.see("t", 0, 7) == (Step.GAP, 3, 3)  # 7 was received before the reset: not a copy now


@given(st.lists(st.integers(min_value=0, max_value=60), max_size=80))
def test_offset_runs_hold_exactly_the_offsets_added(offsets: list[int]) -> None:
    runs, expected = OffsetRuns(), set()
    for offset in offsets:
        assert runs.add(offset) == (offset not in expected)
        expected.add(offset)
    assert {o for o in range(62) if o in runs} == expected
    assert len(runs) == len(expected)
    pairs = runs.runs()
    assert all(a < b for a, b in pairs) and all(b1 < a2 for (_, b1), (a2, _) in pairwise(pairs))
    assert runs.count_in(10, 40) == len({o for o in expected if 10 <= o < 40})


@given(st.lists(st.integers(min_value=0, max_value=60), max_size=80), st.integers(0, 62), st.integers(0, 62))
def test_missing_in_gives_the_offsets_not_held_as_ordered_runs(offsets: list[int], low: int, high: int) -> None:
    runs = OffsetRuns()
    for offset in offsets:
        runs.add(offset)
    missing = runs.missing_in(low, high)
    assert [o for start, end in missing for o in range(start, end)] == [o for o in range(low, high) if o not in runs]
    assert all(start < end for start, end in missing)  # no empty runs
    assert all(end1 < start2 for (_, end1), (start2, _) in pairwise(missing))  # separated: maximal runs


def _app_with_a_queue() -> tuple[SimpleNamespace, FlowControlQueue[int]]:
    flow = FlowControlEvent()
    queue: FlowControlQueue[int] = FlowControlQueue(maxsize=10, flow_control=flow, clear_on_resume=True)
    return SimpleNamespace(flow_control=flow), queue


def test_resume_clears_queues_unless_armed_and_only_once() -> None:
    app, queue = _app_with_a_queue()
    switch = keep_records_fetched_during_seek(app)

    queue.put_nowait(1)
    app.flow_control.suspend()
    app.flow_control.resume()  # not armed: mode's own behaviour, the queue is emptied
    assert queue.qsize() == 0 and app.flow_control.is_active()

    queue.put_nowait(2)
    switch.arm()
    app.flow_control.suspend()
    app.flow_control.resume()  # armed: resumed, the record fetched meanwhile is kept
    assert queue.qsize() == 1 and app.flow_control.is_active()
    assert switch.kept == 1 and not switch.armed

    app.flow_control.suspend()
    app.flow_control.resume()  # spent: clears again
    assert queue.qsize() == 0


def test_disarm_restores_the_clear() -> None:
    app, queue = _app_with_a_queue()
    switch = keep_records_fetched_during_seek(app)
    switch.arm()
    switch.disarm()
    queue.put_nowait(1)
    app.flow_control.resume()
    assert queue.qsize() == 0 and switch.kept == 0


def _recovery() -> SimpleNamespace:
    from collections import Counter

    return SimpleNamespace(
        active_tps={"exact/0", "signatures/0"},
        active_offsets=Counter({"exact/0": 41, "signatures/0": -1}),
        standby_tps={"other/1"},
        standby_offsets=Counter({"other/1": 7}),
    )


def test_changelog_positions_follow_fausts_rule_and_the_assignment() -> None:
    recovery = _recovery()
    assigned = {"exact/0", "signatures/0", "stream/3"}  # other/1 is no longer assigned
    assert changelog_positions(recovery, assigned) == {"exact/0": 41, "signatures/0": 0}


async def test_every_perform_seek_puts_changelogs_back_where_recovery_reads() -> None:
    calls: list[object] = []

    class Consumer:
        async def perform_seek(self) -> None:  # Faust's: streams to their committed offsets
            calls.append("perform_seek")

        async def seek_wait(self, targets: dict[str, int]) -> None:
            calls.append(dict(targets))

        def assignment(self) -> set[str]:
            return {"exact/0", "signatures/0", "other/1"}

    app = SimpleNamespace(consumer=Consumer(), tables=SimpleNamespace(recovery=_recovery()))
    assert reseek_changelogs_with_streams(app) is True
    assert reseek_changelogs_with_streams(app) is False  # installed once
    await app.consumer.perform_seek()
    assert calls == ["perform_seek", {"exact/0": 41, "signatures/0": 0, "other/1": 7}]


async def test_a_failed_changelog_seek_does_not_fail_the_stream_seek() -> None:
    class Consumer:
        seeked = False

        async def perform_seek(self) -> None:
            Consumer.seeked = True

        async def seek_wait(self, targets: dict[str, int]) -> None:
            raise RuntimeError("No current assignment for partition")  # as aiokafka mid-rebalance

        def assignment(self) -> set[str]:
            return {"exact/0"}

    app = SimpleNamespace(consumer=Consumer(), tables=SimpleNamespace(recovery=_recovery()))
    reseek_changelogs_with_streams(app)
    await app.consumer.perform_seek()  # does not raise
    assert Consumer.seeked


class _TP(tuple):  # a TopicPartition stand-in: (topic, partition)
    @property
    def topic(self) -> str:
        return str(self[0])


def _uncommitted_app(committed: dict[_TP, int | None], reset: str = "earliest") -> SimpleNamespace:
    calls: list[object] = []

    class Consumer:
        async def seek_to_committed(self) -> dict[_TP, int | None]:
            calls.append("seek_to_committed")  # aiokafka's: moves only partitions committed above 0
            return dict(committed)

        async def earliest_offsets(self, *tps: _TP) -> dict[_TP, int]:
            return {tp: 7 for tp in tps}  # retention deleted the first 7 records

        async def seek_wait(self, targets: dict[_TP, int]) -> None:
            calls.append(dict(targets))

    return SimpleNamespace(
        consumer=Consumer(),
        calls=calls,
        tables=SimpleNamespace(changelog_topics={"app-dedup-signatures-changelog"}),
        conf=SimpleNamespace(consumer_auto_offset_reset=reset),
    )


async def test_stream_partitions_committed_at_zero_or_never_are_sought_too() -> None:
    zero, unset, moved = _TP(("unique", 0)), _TP(("unique", 1)), _TP(("unique", 2))
    changelog = _TP(("app-dedup-signatures-changelog", 0))
    app = _uncommitted_app({zero: 0, unset: None, moved: 41, changelog: None})
    assert seek_uncommitted_streams_too(app) is True
    assert seek_uncommitted_streams_too(app) is False  # installed once
    committed = await app.consumer.seek_to_committed()
    assert committed == {zero: 0, unset: None, moved: 41, changelog: None}  # Faust sees what it saw before
    # 41 was moved by aiokafka itself; the changelog is recovery's business
    assert app.calls == ["seek_to_committed", {zero: 0, unset: 7}]


async def test_with_the_latest_reset_policy_an_unset_partition_is_left_alone() -> None:
    zero, unset = _TP(("unique", 0)), _TP(("unique", 1))
    app = _uncommitted_app({zero: 0, unset: None}, reset="latest")
    seek_uncommitted_streams_too(app)
    await app.consumer.seek_to_committed()
    assert app.calls == ["seek_to_committed", {zero: 0}]


async def test_nothing_to_seek_makes_no_call() -> None:
    app = _uncommitted_app({_TP(("unique", 0)): 12})
    seek_uncommitted_streams_too(app)
    await app.consumer.seek_to_committed()
    assert app.calls == ["seek_to_committed"]


async def test_the_committed_offsets_found_are_kept_zero_included() -> None:
    zero, moved = _TP(("unique", 0)), _TP(("unique", 2))
    app = _uncommitted_app({zero: 0, moved: 41})
    seen: dict[object, int | None] = {}
    seek_uncommitted_streams_too(app, seen)
    await app.consumer.seek_to_committed()
    assert seen == {zero: 0, moved: 41}
