"""Which partition of the unique topic gets the next article: the one with the least text so far.

Each worker enriches the partitions of the unique topic it was assigned, so
the busiest partition sets the pace of a burst: the worker that got the
longer texts is still working after the others ran dry. NER costs about the
same per character of text, so the dedup agent sends each article to the
partition that has been given the fewest characters so far (ties: the lowest
number). Over a burst every partition then carries the same work, to within
one article, where taking partitions in turn equals only the article counts.

The worker that runs the dedup agent also does the dedup stage, for every
article of the feed: its event loop took 0.55-0.75 ms more per article than
its peer's (benchmark, two workers), the NER of 32-44 characters (~17 us per
character). Its own partitions are charged 35 characters for each article it
takes (``charge``), so over a burst it gets that much less NER work than its
peers. Without it, that worker finished a burst of 1,600 articles 0.3-2.2 s
(mean 1.4 s, six passes) after the other one, whose core sat idle meanwhile;
charged 40 characters, 0.2-0.6 s before it; charged 30, 0.3-1.3 s after;
charged 35, from 0.6 s before to 1.3 s after (mean 0.1 s after, three passes).

The counts live in the dedup agent's memory. They restart from zero when
dedup moves to another worker, which costs nothing: the choice only has to
be even from then on, not over all time.
"""

from __future__ import annotations

from collections.abc import Collection

__all__ = ["DEDUP_CHARS", "LeastLoaded"]

# What an article costs besides its text (record handling, one Doc), in characters:
# an estimate; it only matters for very short articles.
PER_ARTICLE_CHARS = 200
# What the dedup stage costs the worker that runs it, per article, in characters of NER.
DEDUP_CHARS = 35


class LeastLoaded:
    """Spreads weighted items over ``partitions`` bins, always into the lightest bin."""

    def __init__(self, partitions: int) -> None:
        if partitions < 1:
            raise ValueError(f"partitions must be >= 1, not {partitions}")
        self.loads = [0.0] * partitions

    def pick(self, text_chars: int) -> int:
        """The partition for an article of ``text_chars`` characters; counts it there."""
        loads = self.loads
        partition = loads.index(min(loads))
        loads[partition] += max(0, text_chars) + PER_ARTICLE_CHARS
        return partition

    def charge(self, partitions: Collection[int], chars: int) -> None:
        """Count ``chars`` of other work against ``partitions`` (one worker's), shared between them."""
        if partitions:
            share = chars / len(partitions)
            for partition in partitions:
                self.loads[partition] += share
