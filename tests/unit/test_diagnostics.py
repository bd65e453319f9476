"""The SIGUSR1 state dump reads private Faust and aiokafka state: it must never raise."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

from workers.app import WirewatchApp
from workers.diagnostics import consumer_state


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
    assert [line.split(":")[0] for line in lines] == ["faust consumer", "recovery", "queues", "aiokafka consumer"]
    assert all("unreadable (AttributeError" in line for line in lines)
