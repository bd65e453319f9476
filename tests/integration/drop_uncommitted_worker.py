"""``wirewatch worker`` that replays, once, a dropped fetch of partitions the group never committed.

Used by ``test_recovery_window.py``. faust-streaming drops a fetch that returns
while its flow is stopped (records aiokafka has already moved past) and calls
``perform_seek()`` to read them again from the committed offsets. aiokafka's
``seek_to_committed()`` does not move a partition whose committed offset is 0,
so a partition the group never committed (a worker SIGKILLed before its first
commit of it) stays past the dropped records. Here, right after the stream seek
that ends the first rebalance, the unique topic's partitions are moved to their
end (the records "consumed") and ``perform_seek()`` is called, as Faust's
fetcher would.

    python -m tests.integration.drop_uncommitted_worker worker ...
"""

from __future__ import annotations

from typing import Any

from faust.transport.consumer import Consumer

_perform_seek = Consumer.perform_seek
_done = [False]


async def _seek_then_drop_a_fetch(self: Any) -> None:
    await _perform_seek(self)
    if _done[0]:
        return
    streams = {tp for tp in self.assignment() if tp.topic.endswith(".articles.unique.v1")}
    ends = await self.highwaters(*streams) if streams else {}
    if not any(ends.values()):
        return  # nothing to drop yet
    _done[0] = True
    await self.seek_wait({tp: ends[tp] for tp in streams})
    await self.perform_seek()  # Faust's fetcher, after dropping the records


Consumer.perform_seek = _seek_then_drop_a_fetch  # type: ignore[method-assign]

if __name__ == "__main__":
    from workers.cli import main

    main()
