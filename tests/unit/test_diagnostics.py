"""The SIGUSR1 state dump reads private Faust and aiokafka state: it must never raise."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

from faust.types import TP

from workers.app import WirewatchApp
from workers.diagnostics import consumer_state, offset_runs


def test_a_worker_not_yet_consuming_gets_a_dump_not_an_exception(
    app_under_test: Callable[[str], WirewatchApp],
) -> None:
    ww = app_under_test("wirewatch-unit-dump")
    text = consumer_state(ww.app)
    assert "recovery: in_recovery=False" in text
    assert "channel queues:" in text
    assert "aiokafka consumer: unreadable" in text  # no consumer thread before the worker starts


def test_what_cannot_be_read_is_named_with_its_error() -> None:
    broken = SimpleNamespace(consumer=None, tables=None, topics=None)
    lines = consumer_state(broken).splitlines()
    labels = ["faust consumer", "commits", "recovery", "queues", "aiokafka consumer"]
    assert [line.split(":")[0] for line in lines] == labels
    assert all("unreadable (AttributeError" in line for line in lines)


def test_offsets_are_shown_as_runs() -> None:
    assert offset_runs([15, 9, 10, 11, 13, 16]) == "9-11, 13, 15-16"
    assert offset_runs([]) == "-"
    assert offset_runs(range(0, 20, 2), most=3) == "0, 2, 4, ... 7 more runs"


def test_the_dump_shows_why_a_commit_stands_still(
    app_under_test: Callable[[str], WirewatchApp],
) -> None:
    """What the dump showed of the crawl after copies: offsets acked twice, from a gap."""
    ww = app_under_test("wirewatch-unit-dump-commits")
    consumer = ww.app.consumer
    tp = TP("wirewatch-unit-dump-commits.articles.unique.v1", 2)
    consumer._committed_offset[tp] = 3
    consumer._read_offset[tp] = 14
    consumer._acked[tp] = [3, 4, 5, 6, 9]
    consumer._gap[tp].addi(4, 10)  # Faust's own IntervalTree, end excluded
    text = consumer_state(ww.app)
    assert "commits pending: 1 partitions" in text
    assert f"{tp.topic}[2]: committed=3 read=14 acked=3-6, 9 gaps=4-9" in text
    consumer._acked[tp] = [3, 4, 4, 5]
    assert "acked=3-5 acked twice=1" in consumer_state(ww.app)
