"""``wirewatch worker`` with Faust's seek to the committed offsets slowed down.

Used by ``test_recovery_window.py``: after a rebalance, faust-streaming seeks
the stream partitions to their committed offsets and then empties the agents'
queues. Holding the seek for ``SLOW_SEEK_SECONDS`` widens the window between
the two, so a record fetched in it would be dropped every time instead of now
and then. ``SLOW_SEEK_BEFORE_SECONDS`` holds it before it starts instead: the
fetcher then reads the waiting records from the assigned position, and the
seek to the committed offsets delivers them a second time, every time.
``SLOW_COMMIT_SECONDS`` makes each offset commit take that much longer, as on
a loaded host (a commit first flushes the producer); with a long hold before
the seek, the copies then begin past the committed offsets.
Nothing else changes.

    python -m tests.integration.slow_seek_worker worker ...
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from faust.transport.consumer import Consumer
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaConsumer

_perform_seek = Consumer.perform_seek
_commit = AIOKafkaConsumer._commit


async def _slow_perform_seek(self: Consumer) -> None:
    await asyncio.sleep(float(os.environ.get("SLOW_SEEK_BEFORE_SECONDS", "0")))
    await _perform_seek(self)
    await asyncio.sleep(float(os.environ.get("SLOW_SEEK_SECONDS", "2")))


async def _slow_commit(self: AIOKafkaConsumer, offsets: Any) -> bool:
    await asyncio.sleep(float(os.environ.get("SLOW_COMMIT_SECONDS", "0")))
    return await _commit(self, offsets)


Consumer.perform_seek = _slow_perform_seek  # type: ignore[method-assign]
AIOKafkaConsumer._commit = _slow_commit  # type: ignore[method-assign]

if __name__ == "__main__":
    from workers.cli import main

    main()
