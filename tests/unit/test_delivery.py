"""The send guard (workers/delivery.py): a refusal on a guarded topic stops every later commit."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from workers.delivery import SendGuard, guard_commits


def test_a_refusal_on_a_guarded_topic_is_reported_once() -> None:
    seen: list[tuple[str, BaseException]] = []
    guard = SendGuard({"internal"}, lambda topic, exc: seen.append((topic, exc)))
    state = guard.on_send_initiated(None, "enriched", None, 0, 0)
    guard.on_send_error(None, RuntimeError("left to its agent"), state)
    assert guard.failed is None and not seen
    first, second = RuntimeError("too large"), RuntimeError("again")
    guard.on_send_error(None, first, guard.on_send_initiated(None, "internal", None, 0, 0))
    guard.on_send_error(None, second, guard.on_send_initiated(None, "internal", None, 0, 0))
    assert guard.failed == ("internal", first) and seen == [("internal", first)]


async def test_commits_stop_once_the_guard_saw_a_refusal() -> None:
    committed: list[Any] = []

    async def commit(offsets: Any) -> bool:
        committed.append(offsets)
        return True

    consumer = SimpleNamespace(_commit=commit)
    guard = SendGuard({"internal"}, lambda topic, exc: None)
    assert guard_commits(SimpleNamespace(consumer=consumer), guard)
    assert not guard_commits(SimpleNamespace(consumer=consumer), guard)  # once per consumer
    assert await consumer._commit({"tp": 3}) is True
    guard.on_send_error(None, RuntimeError("refused"), "internal")
    assert await consumer._commit({"tp": 5}) is False
    assert committed == [{"tp": 3}]
