"""Which partition of the unique topic gets the next article: the one with the least text so far.

Each worker enriches the partitions of the unique topic it was assigned, so
the busiest partition sets the pace of a burst: the worker that got the
longer texts is still working after the others ran dry. NER costs about the
same per character of text, so the first stage sends each article to the
partition that has been given the fewest characters so far (ties: the lowest
number). Over a burst every partition then carries the same work, to within
one article, where taking partitions in turn equals only the article counts.

The worker that holds the dedup table also validates and dedups every
article of the feed (workers/assignment.py). Until session 16 it only did the
dedup stage (a separate agent validated each raw partition where it was
assigned): its event loop took 0.55-0.75 ms more per article than its peer's,
and 35 characters (~17 us of NER each) balanced it. Since validation moved into
the same agent, its loop takes ~1.0 ms more per article than its peer's
(benchmark, two workers: 9.2 s against 4.4 s of loop over 4,800 articles;
probes: 1.8-1.9 ms against 0.9 ms). Its own partitions are charged
``DEDUP_CHARS`` characters for each article it takes (``charge``), so over a
burst it gets that much less NER work than its peers. Charged 35, it finished
two probe bursts of 1,600 articles 0.3 and 1.1 s after its peer; 45 moves
~16,000 characters (~9 articles) per burst to the peer, about half that gap.

The counts live in the first stage's memory. They restart from zero when
dedup moves to another worker, which costs nothing: the choice only has to
be even from then on, not over all time.
"""

from __future__ import annotations

from collections.abc import Collection

__all__ = ["DEDUP_CHARS", "LeastLoaded"]

# What an article costs besides its text (record handling, one Doc), in characters:
# an estimate; it only matters for very short articles.
PER_ARTICLE_CHARS = 200
# What the first stage (validation and dedup) costs the worker that runs it, per article, in characters of NER.
DEDUP_CHARS = 45


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
