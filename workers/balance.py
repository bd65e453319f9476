"""Which partition of the unique topic gets the next article: the one with the least text so far.

Each worker enriches the partitions of the unique topic it was assigned, so
the busiest partition sets the pace of a burst: the worker that got the
longer texts is still working after the others ran dry. NER costs about the
same per character of text, so the dedup agent sends each article to the
partition that has been given the fewest characters so far (ties: the lowest
number). Over a burst every partition then carries the same work, to within
one article, where taking partitions in turn equals only the article counts.

The counts live in the dedup agent's memory. They restart from zero when
dedup moves to another worker, which costs nothing: the choice only has to
be even from then on, not over all time.
"""

from __future__ import annotations

__all__ = ["LeastLoaded"]

# What an article costs besides its text (record handling, one Doc), in characters:
# an estimate; it only matters for very short articles.
PER_ARTICLE_CHARS = 200


class LeastLoaded:
    """Spreads weighted items over ``partitions`` bins, always into the lightest bin."""

    def __init__(self, partitions: int) -> None:
        if partitions < 1:
            raise ValueError(f"partitions must be >= 1, not {partitions}")
        self.loads = [0] * partitions

    def pick(self, text_chars: int) -> int:
        """The partition for an article of ``text_chars`` characters; counts it there."""
        loads = self.loads
        partition = loads.index(min(loads))
        loads[partition] += max(0, text_chars) + PER_ARTICLE_CHARS
        return partition
