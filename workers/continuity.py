"""Offset continuity of the records an agent receives, per source partition.

The worker's topics are neither compacted nor transactional, so within one
assignment the offsets an agent receives from a partition must be consecutive:
``n, n+1, n+2 ...``. A jump means records were skipped between the broker and
the agent; a step back means records are being delivered again (after a
rebalance or a seek), which at-least-once allows. ``Continuity`` records where
each partition resumed after a rebalance (one INFO line per partition) and
reports every jump (a WARNING and a counter), so an operator can tell a gap
from a slow consumer. It never changes what is processed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

__all__ = ["Continuity", "Step"]


class Step(Enum):
    FIRST = "first"  # first record of this partition since the last reset
    NEXT = "next"  # the offset after the previous one
    GAP = "gap"  # offsets were skipped
    REPLAY = "replay"  # an offset at or before the previous one


@dataclass
class Continuity:
    """Last offset seen per (topic, partition), forgotten on each rebalance."""

    last: dict[tuple[str, int], int] = field(default_factory=dict)
    gaps: int = 0
    skipped: int = 0

    def reset(self) -> None:
        """A rebalance: partitions may resume anywhere (their committed offset)."""
        self.last.clear()

    def see(self, topic: str, partition: int, offset: int) -> tuple[Step, int | None]:
        """Classify ``offset`` against the previous one of its partition; returns (step, previous)."""
        key = (topic, partition)
        previous = self.last.get(key)
        self.last[key] = offset
        if previous is None:
            return Step.FIRST, None
        if offset == previous + 1:
            return Step.NEXT, previous
        if offset > previous + 1:
            self.gaps += 1
            self.skipped += offset - previous - 1
            return Step.GAP, previous
        return Step.REPLAY, previous
