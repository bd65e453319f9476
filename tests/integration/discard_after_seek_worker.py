"""``wirewatch worker`` that replays, once, the fetch Faust drops at the start of a table recovery.

Used by ``test_recovery_window.py``. When a fetch that was in flight across a
rebalance returns while the consumer's flow is stopped, faust-streaming drops
the records (aiokafka has already moved past them) and calls
``perform_seek()``. If that lands just after recovery has sought the changelog
partitions, they stay past the dropped records and recovery waits forever.
Here, right after recovery's first seek of the active changelog partitions,
they are moved to their end (the records "consumed") and ``perform_seek()`` is
called, as Faust's fetcher would.

    python -m tests.integration.discard_after_seek_worker worker ...
"""

from __future__ import annotations

from typing import Any

from faust.tables.recovery import Recovery

_seek_offsets = Recovery._seek_offsets
_done = [False]


async def _seek_then_drop_a_fetch(self: Recovery, consumer: Any, tps: Any, offsets: Any, title: str) -> None:
    await _seek_offsets(self, consumer, tps, offsets, title)
    if title == "active" and tps and not _done[0]:
        _done[0] = True
        ends = await consumer.highwaters(*tps)
        await consumer.seek_wait({tp: ends[tp] for tp in tps})
        await consumer.perform_seek()


Recovery._seek_offsets = _seek_then_drop_a_fetch  # type: ignore[method-assign]

if __name__ == "__main__":
    from workers.cli import main

    main()
