"""Partition assignment: every raw partition goes to the worker that holds the dedup table.

The first stage validates each raw article and checks it against every
earlier one at once, so the worker that does it needs all the raw partitions
and the whole dedup table. The table has one partition (its changelog too);
Faust's own assignor places it, with its standby copy and stickiness, as a
group of one. This assignor then gives every partition of the raw topic to
the worker that got the table's active partition, and leaves the raw topic
out of Faust's groups of co-partitioned topics, so the unique topic's
partitions are still spread evenly over all the workers (NER is the work
that scales out). The raw topic stays with the table across rebalances
because the table does: Faust keeps an assignment sticky.

Before this the raw topic was spread like any other and a first agent copied
each valid article to a one-partition internal topic for dedup: one produce,
one consume and one JSON round trip more per article (estimated at 0.5-0.8 ms
of the workers' CPU; the benchmark measured ~0.2-0.3 ms less event-loop CPU
per article with two workers, README, Performance).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any, ClassVar

from faust.assignor import PartitionAssignor
from faust.assignor.client_assignment import ClientAssignment

__all__ = ["SourceWithTableAssignor", "assignor_for", "one_partition_table", "place_with_table"]


def place_with_table(
    assignments: Mapping[str, ClientAssignment],
    source: str,
    partitions: int,
    table_changelog: str,
    subscribers: Iterable[str],
) -> str | None:
    """Give every partition of ``source`` to the member holding partition 0 of ``table_changelog``.

    When no member holds it (the changelog topic does not exist yet), the first
    subscriber by member id takes them, so the choice is the same on every
    run of the assignment. Returns the chosen member (None: no subscriber).
    """
    subscribed = sorted(subscribers)
    owner = next((m for m in subscribed if 0 in assignments[m].actives.get(table_changelog, ())), None)
    if owner is None and subscribed:
        owner = subscribed[0]
    for member, assignment in assignments.items():
        assignment.actives.pop(source, None)
        assignment.standbys.pop(source, None)
        if member == owner:
            assignment.actives[source] = list(range(partitions))
    return owner


class SourceWithTableAssignor(PartitionAssignor):
    """Faust's assignor, except that ``source_topic`` goes whole to the dedup table's holder."""

    source_topic: ClassVar[str]
    table_changelog: ClassVar[str]

    _source_partitions: int = 0
    _source_subscribers: tuple[str, ...] = ()

    def _perform_assignment(self, cluster: Any, member_metadata: MutableMapping[str, Any]) -> Any:
        self._source_partitions = len(cluster.partitions_for_topic(self.source_topic) or ())
        self._source_subscribers = tuple(
            member for member, metadata in member_metadata.items() if self.source_topic in metadata.subscription
        )
        return super()._perform_assignment(cluster, member_metadata)

    @classmethod
    def _get_copartitioned_groups(
        cls, topics: set[str], cluster: Any, subscriptions: MutableMapping[str, list[str]]
    ) -> MutableMapping[int, Iterable[set[str]]]:
        """Faust's groups without the source topic (placed afterwards, with the table)."""
        return super()._get_copartitioned_groups(topics - {cls.source_topic}, cluster, subscriptions)

    def _global_table_standby_assignments(
        self, assignments: MutableMapping[str, ClientAssignment], partitions_by_topic: Mapping[str, int]
    ) -> MutableMapping[str, ClientAssignment]:
        # Faust's last step over the assignments before they are published: the groups
        # (the table's among them) are placed by now.
        assignments = super()._global_table_standby_assignments(assignments, partitions_by_topic)
        if self._source_partitions:
            place_with_table(
                assignments, self.source_topic, self._source_partitions, self.table_changelog, self._source_subscribers
            )
        return assignments

    def _protocol_assignments(
        self,
        assignments: MutableMapping[str, ClientAssignment],
        cl_distribution: Any,
        tp_distribution: Any,
        topic_groups: Mapping[str, int],
    ) -> Any:
        # A group number for the source topic too (Faust's transactional ids use it).
        groups = dict(topic_groups)
        groups.setdefault(self.source_topic, max(groups.values(), default=-1) + 1)
        return super()._protocol_assignments(assignments, cl_distribution, tp_distribution, groups)


def assignor_for(source_topic: str, table_changelog: str) -> type[SourceWithTableAssignor]:
    """The assignor class for one app (Faust instantiates it itself, with the app)."""
    return type(
        "SourceWithTableAssignor",
        (SourceWithTableAssignor,),
        {"source_topic": source_topic, "table_changelog": table_changelog},
    )


def one_partition_table(table: Any) -> None:
    """Keep a one-partition table's changelog records and RocksDB writes in partition 0.

    The dedup table is written from the raw topic's stream (four partitions).
    Faust would send each changelog record to the partition of the event being
    processed (and refuse: the source and the changelog differ in partitions),
    or with ``use_partitioner`` let the producer pick it, which needs the
    topic's metadata for every write; here it is partition 0, the only one.
    faust-streaming 0.15.3's RocksDB store also files a write under the event's
    partition, a database that is neither recovered nor read after a restart:
    the entry would be lost to the next start. With ``use_partitioner`` reads
    and deletes already search every open database (one). The memory store
    keeps one dict: only the changelog's partition matters there.
    """
    from faust.stores.rocksdb import Store as RocksDBStore

    if table.partitions != 1 or not table.use_partitioner:
        raise ValueError(f"table {table.name!r} must have one partition and use_partitioner")
    table.partition_for_key = lambda key: 0
    store = table.data
    if not isinstance(store, RocksDBStore):
        return

    def _set(key: bytes, value: bytes | None) -> None:
        store._key_index[key] = 0
        store._db_for_partition(0).put(key, value)

    store._set = _set  # type: ignore[method-assign]
