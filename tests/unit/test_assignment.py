"""The partition assignor: the raw topic goes whole to the dedup table's holder (Faust's assignor, no broker).

The assignments are computed by the app's own assignor class from the group's
member metadata, as the group leader does, and read back as each member gets them.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from aiokafka.coordinator.protocol import ConsumerProtocolMemberMetadata
from faust.assignor import PartitionAssignor
from faust.assignor.client_assignment import ClientAssignment, ClientMetadata

from topics import catalog
from workers.app import WirewatchApp, create_app
from workers.assignment import SourceWithTableAssignor, place_with_table
from workers.pipeline import Pipeline
from workers.settings import Settings

APP_ID = "wirewatch-assign"
RAW = catalog.RAW.name
UNIQUE = catalog.unique_topic(APP_ID).name
CHANGELOG = f"{APP_ID}-dedup-signatures-changelog"
PARTITIONS = {RAW: 4, UNIQUE: 4, CHANGELOG: 1}


class Event(SimpleNamespace):
    """A stand-in for the Faust event being processed (referenced weakly by Faust)."""

    __slots__ = ("__weakref__",)


class Cluster:
    """The part of aiokafka's ClusterMetadata the assignor reads."""

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return set(range(PARTITIONS[topic])) if topic in PARTITIONS else None


@pytest.fixture
def ww(light_app_under_test: Callable[..., WirewatchApp]) -> WirewatchApp:
    return light_app_under_test(APP_ID)


def assign(ww: WirewatchApp, previous: Mapping[str, ClientAssignment]) -> dict[str, ClientAssignment]:
    """One assignment of the group (members and their previous assignments): what each member gets."""
    assignor = ww.app.assignor
    assert isinstance(assignor, SourceWithTableAssignor)
    metadata = {
        member: ConsumerProtocolMemberMetadata(
            assignor.version,
            [RAW, UNIQUE, CHANGELOG],  # a worker subscribes to its agents' topics and the table's changelog
            ClientMetadata(assignment=before, url=f"http://{member}", changelog_distribution={}).dumps(),
        )
        for member, before in previous.items()
    }
    out = assignor.assign(Cluster(), metadata)
    got = {}
    for member, protocol in out.items():
        client = ClientMetadata.loads(PartitionAssignor._decompress(protocol.user_data))
        # what Kafka is told matches what Faust's metadata says (each member checks it too)
        assert sorted(protocol.assignment) == sorted(client.assignment.kafka_protocol_assignment(ww.app.tables))
        got[member] = client.assignment
    return got


def empty() -> ClientAssignment:
    return ClientAssignment(actives={}, standbys={})


def actives(assignment: ClientAssignment, topic: str) -> list[int]:
    return sorted(assignment.actives.get(topic, []))


def test_raw_goes_whole_to_the_table_holder_and_unique_is_spread(ww: WirewatchApp) -> None:
    got = assign(ww, {"m1": empty(), "m2": empty()})
    (holder,) = [m for m, a in got.items() if actives(a, CHANGELOG) == [0]]
    other = next(m for m in got if m != holder)
    assert actives(got[holder], RAW) == [0, 1, 2, 3]
    assert actives(got[other], RAW) == []
    assert sorted(got[other].standbys.get(CHANGELOG, [])) == [0]  # the standby copy (one replica)
    assert len(actives(got[holder], UNIQUE)) == len(actives(got[other], UNIQUE)) == 2  # NER spread evenly
    assert sorted(actives(got[holder], UNIQUE) + actives(got[other], UNIQUE)) == [0, 1, 2, 3]


def test_the_table_and_raw_stay_where_they_were_when_a_worker_joins(ww: WirewatchApp) -> None:
    first = assign(ww, {"m1": empty(), "m2": empty()})
    holder = next(m for m, a in first.items() if actives(a, CHANGELOG) == [0])
    # a third worker joins; the first two bring what they had
    got = assign(ww, {**first, "m0": empty()})
    assert actives(got[holder], CHANGELOG) == [0]
    assert actives(got[holder], RAW) == [0, 1, 2, 3]
    assert all(actives(a, RAW) == [] for m, a in got.items() if m != holder)
    # unique: each partition once, none over ceil(4/3) (Faust's sticky assignor may leave the newcomer none)
    assert sorted(p for a in got.values() for p in actives(a, UNIQUE)) == [0, 1, 2, 3]
    assert max(len(actives(a, UNIQUE)) for a in got.values()) == 2


def test_raw_follows_the_table_when_its_holder_leaves(ww: WirewatchApp) -> None:
    first = assign(ww, {"m1": empty(), "m2": empty(), "m3": empty()})
    holder = next(m for m, a in first.items() if actives(a, CHANGELOG) == [0])
    remaining = {m: a for m, a in first.items() if m != holder}
    got = assign(ww, remaining)
    (new_holder,) = [m for m, a in got.items() if actives(a, CHANGELOG) == [0]]
    assert actives(got[new_holder], RAW) == [0, 1, 2, 3]
    assert all(actives(a, RAW) == [] for m, a in got.items() if m != new_holder)


def test_one_worker_takes_everything(ww: WirewatchApp) -> None:
    got = assign(ww, {"solo": empty()})
    assert actives(got["solo"], RAW) == actives(got["solo"], UNIQUE) == [0, 1, 2, 3]
    assert actives(got["solo"], CHANGELOG) == [0]


def test_place_with_table_without_a_holder_picks_the_first_member_by_id() -> None:
    """The changelog topic not created yet: the same member on every run, not a random one."""
    assignments: dict[str, Any] = {
        "b": ClientAssignment(actives={RAW: [0, 1]}, standbys={}),
        "a": ClientAssignment(actives={RAW: [2, 3]}, standbys={}),
    }
    assert place_with_table(assignments, RAW, 4, CHANGELOG, ["b", "a"]) == "a"
    assert assignments["a"].actives[RAW] == [0, 1, 2, 3] and RAW not in assignments["b"].actives
    assert place_with_table({}, RAW, 4, CHANGELOG, []) is None


def test_the_dedup_table_writes_partition_0_whatever_the_raw_partition(tmp_path: Path) -> None:
    """An article from raw partition 3: its changelog record goes to partition 0 (the only one), and
    RocksDB files it there too, where the next start recovers and reads it (not in a database of
    partition 3, which faust-streaming's store would open for the event's partition)."""
    settings = Settings(store="rocksdb://", data_dir=tmp_path, web_enabled=False, app_id="wirewatch-onepart")
    ww = create_app(settings, Pipeline(settings, load_models=False))
    table = ww.app.tables["dedup-signatures"]
    sent: list[int | None] = []

    def send_changelog(partition: int | None, key: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(partition)
        return SimpleNamespace(message=SimpleNamespace(partition=partition))

    table.send_changelog = send_changelog
    event = Event(message=SimpleNamespace(topic=RAW, partition=3))
    token = faust.streams._current_event.set(weakref.ref(event))  # as while the agent handles that event
    try:
        table["article-1"] = ["article-1", 1.0, "sig", "hash"]
        assert table["article-1"] == ["article-1", 1.0, "sig", "hash"]
    finally:
        faust.streams._current_event.reset(token)
    assert sent == [0]
    store = table.data
    assert set(store._dbs) == {0}
    assert len(list(store._dbs[0].keys())) == 1
