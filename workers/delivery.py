"""A record the broker did not take must not let its input be committed.

The first stage (validate_and_dedupe) acks each record as its stream moves on, and
Faust's commit flushes the producer first: a record the broker then refused
(an authorization error, a delivery timeout, a topic that takes smaller
records than the catalog says) was only logged by Faust, the commit went on,
and the input was lost. ``SendGuard``, a Faust sensor, records the first such
refusal on the topics that stage writes; from then on the worker commits
nothing more (``guard_commits``) and stops with an error, so the records since
the last commit are processed again after a restart. The enrich agent checks
its own deliveries before it acks (``workers/app.py``: ``publish``).

Faust reports a refusal from the done-callback of the send's future, which
runs before the producer flush that precedes every commit returns, so the
guard sees it before the commit it must stop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import Any

import faust

__all__ = ["SendGuard", "guard_commits"]

log = logging.getLogger("wirewatch.delivery")


class SendGuard(faust.Sensor):
    """Remembers the first record the broker did not take on one of ``topics``."""

    def __init__(self, topics: Collection[str], on_failure: Callable[[str, BaseException], None]) -> None:
        super().__init__()
        self.topics = frozenset(topics)
        self.on_failure = on_failure
        self.failed: tuple[str, BaseException] | None = None

    def on_send_initiated(self, producer: Any, topic: str, message: Any, keysize: int, valsize: int) -> Any:
        return topic  # Faust hands it back to on_send_error

    def on_send_error(self, producer: Any, exc: BaseException, state: Any) -> None:
        if self.failed is None and state in self.topics:
            self.failed = (str(state), exc)
            self.on_failure(str(state), exc)


def guard_commits(app: Any, guard: SendGuard) -> bool:
    """Make ``app``'s consumer commit nothing once ``guard`` has seen a refusal.

    Installed once per consumer; returns False if it was already.
    """
    consumer = app.consumer
    if getattr(consumer, "_wirewatch_guards_commits", False):
        return False
    commit = consumer._commit

    async def commit_unless_refused(offsets: Any) -> bool:
        if guard.failed is not None:
            topic, exc = guard.failed
            log.error("not committing: the broker did not take a record for %s (%r)", topic, exc)
            return False
        return bool(await commit(offsets))

    consumer._commit = commit_unless_refused
    consumer._wirewatch_guards_commits = True
    return True
