"""Offset continuity of the records an agent receives, per source partition.

The worker's topics are neither compacted nor transactional, so within one
assignment the offsets an agent receives from a partition must be consecutive:
``n, n+1, n+2 ...``. A jump means records were skipped between the broker and
the agent. A step back is one of two things:

* a record received again since the last rebalance (``Step.REPLAY``). At the
  end of a rebalance Faust's fetcher reads from the position the assignment
  gave while Faust seeks every partition to its committed offset; the records
  read before the seek completes come again after it (``workers/recovery.py``
  keeps the first copies, which would otherwise be lost). The agents skip the
  second copy and only ack it: a restarted worker with a backlog enriched all
  of it twice before;
* an earlier record not received yet (``Step.EARLIER``): after a fetch from
  past the committed offset, the seek delivers what lay before it. It is
  processed like any other.

``Continuity`` records where each partition resumed after a rebalance (one
INFO line per partition), the offsets received since (as runs of consecutive
offsets: one run per partition in the usual case), and reports every jump (a
WARNING and a counter), so an operator can tell a gap from a slow consumer.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from enum import Enum
from typing import NamedTuple

__all__ = ["Continuity", "OffsetRuns", "Seen", "Step"]


class Step(Enum):
    FIRST = "first"  # first record of this partition since the last reset
    NEXT = "next"  # the offset after the previous one
    GAP = "gap"  # offsets were skipped
    REPLAY = "replay"  # an offset received already since the last reset: skip it
    EARLIER = "earlier"  # before the previous one, but not received yet: process it


class Seen(NamedTuple):
    """What one offset was: its step, the partition's previous offset, and for a gap how many are missing."""

    step: Step
    previous: int | None
    missing: int = 0


@dataclass
class OffsetRuns:
    """A set of offsets kept as sorted, disjoint runs ``[start, end)``."""

    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)

    def __contains__(self, offset: int) -> bool:
        i = bisect_right(self.starts, offset) - 1
        return i >= 0 and offset < self.ends[i]

    def __len__(self) -> int:
        return sum(end - start for start, end in zip(self.starts, self.ends, strict=True))

    def add(self, offset: int) -> bool:
        """Add ``offset``; False if it was there already."""
        i = bisect_right(self.starts, offset) - 1  # the run starting at or before offset
        if i >= 0 and offset < self.ends[i]:
            return False
        joins_left = i >= 0 and self.ends[i] == offset
        joins_right = i + 1 < len(self.starts) and self.starts[i + 1] == offset + 1
        if joins_left and joins_right:  # fills the hole between two runs
            self.ends[i] = self.ends.pop(i + 1)
            del self.starts[i + 1]
        elif joins_left:
            self.ends[i] = offset + 1
        elif joins_right:
            self.starts[i + 1] = offset
        else:
            self.starts.insert(i + 1, offset)
            self.ends.insert(i + 1, offset + 1)
        return True

    def count_in(self, low: int, high: int) -> int:
        """How many offsets of ``[low, high)`` the set holds."""
        return sum(max(0, min(end, high) - max(start, low)) for start, end in zip(self.starts, self.ends, strict=True))

    def runs(self) -> list[tuple[int, int]]:
        return list(zip(self.starts, self.ends, strict=True))

    def missing_in(self, low: int, high: int) -> list[tuple[int, int]]:
        """The runs ``[start, end)`` of ``[low, high)`` that the set does not hold, in order."""
        missing: list[tuple[int, int]] = []
        at = low
        for start, end in zip(self.starts, self.ends, strict=True):
            if end <= at:
                continue
            if start >= high:
                break
            if start > at:
                missing.append((at, start))
            at = end
        if at < high:
            missing.append((at, high))
        return missing


@dataclass
class Continuity:
    """Offsets received per (topic, partition), forgotten on each rebalance."""

    last: dict[tuple[str, int], int] = field(default_factory=dict)
    seen: dict[tuple[str, int], OffsetRuns] = field(default_factory=dict)
    gaps: int = 0
    skipped: int = 0
    replayed: int = 0

    def reset(self) -> None:
        """A rebalance: partitions may resume anywhere (their committed offset)."""
        self.last.clear()
        self.seen.clear()

    def see(self, topic: str, partition: int, offset: int) -> Seen:
        """Classify ``offset`` against the offsets received before."""
        key = (topic, partition)
        previous = self.last.get(key)
        self.last[key] = offset
        seen = self.seen.setdefault(key, OffsetRuns())
        if not seen.add(offset):
            self.replayed += 1
            return Seen(Step.REPLAY, previous)
        if previous is None:
            return Seen(Step.FIRST, None)
        if offset < previous:
            return Seen(Step.EARLIER, previous)
        missing = offset - previous - 1 - seen.count_in(previous + 1, offset)
        if missing <= 0:  # the next offset, or the next after copies skipped
            return Seen(Step.NEXT, previous)
        self.gaps += 1
        self.skipped += missing
        return Seen(Step.GAP, previous, missing)
