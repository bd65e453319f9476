"""Records fetched while Faust seeks to the committed offsets after a rebalance are not lost.

faust-streaming 0.15 resumes the stream partitions, awaits the seek to the
committed offsets while its fetcher runs, then empties every agent's queue
(``flow_control.resume()``). A record fetched in that window was dropped from
the queue but counted as read: never delivered, and the partition's commit
stalled before it. It bit after a SIGKILL, when the new worker's enrich agent
was still loading its models and its queue held records (issue 7). The worker
keeps those records (``workers/recovery.py``).

Here the window is widened on purpose (``slow_seek_worker.py`` holds the seek
for 2 s) on a restart that must recover the dedup table (so the fetcher runs
during the seek), with records already waiting on the unique topic: without
the fix every one of them is lost, every time.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from topics import catalog
from topics.records import Article
from workers.pipeline import Pipeline
from workers.settings import Settings

from .harness import (
    Tally,
    WorkerProcess,
    collect_settled,
    commit_group_at_end,
    committed_offsets,
    end_offsets,
    new_app_id,
    produce,
    run,
    synthetic_articles,
    tally,
)

pytestmark = pytest.mark.integration

WAITING = 40  # on the unique topic before the worker starts
LATER = 10  # produced once the worker is ready


def unique_records(tag: str, n: int, seed: int) -> list[tuple[bytes, bytes]]:
    """``n`` validated articles as the dedup stage writes them to the unique topic."""
    pipeline = Pipeline(Settings(), load_models=False)
    out = []
    for article_id, raw in synthetic_articles(tag, n, seed=seed):
        article = pipeline.validate(raw)
        assert isinstance(article, Article), article
        out.append((article_id.encode(), orjson.dumps(article.to_value())))
    return out


def seed_changelogs(kafka: str, app_id: str, tag: str, logs: Path) -> None:
    """A first run that leaves entries in the dedup table's changelog.

    The next start must then recover them, and Faust's fetcher runs while it
    seeks (the case of a restarted worker or of a survivor taking over).
    """
    start_at = run(end_offsets(kafka))
    seeded = synthetic_articles(f"{tag}-seed", 5, seed=5)
    with WorkerProcess(kafka, app_id, logs, "first") as first:
        first.wait_ready()
        run(produce(kafka, [(i.encode(), v) for i, v in seeded]))
        seed_ids = [i for i, _ in seeded]
        got = run(collect_settled(kafka, start_at, lambda c: tally(c, seed_ids).lost == [], timeout=90, quiet=0.0))
        assert not tally(got, seed_ids).lost, first.log_tail()


def run_worker(
    kafka: str,
    worker: WorkerProcess,
    start_at: dict[Any, int],
    later: list[tuple[bytes, bytes]],
    ids: list[str],
    topic: str = catalog.RAW.name,
    quiet: float = 1.0,
    ready_timeout: float = 120.0,
) -> tuple[Tally, str]:
    """Start ``worker``, produce ``later`` to ``topic`` once it is ready, read until every id is enriched.

    Returns the tally of ``ids`` and the worker's log (the worker is stopped).
    """
    with worker:
        worker.wait_ready(timeout=ready_timeout)
        run(produce(kafka, later, topic=topic))
        got = run(collect_settled(kafka, start_at, lambda c: tally(c, ids).lost == [], timeout=90, quiet=quiet))
        log_text = worker.log_path.read_text("utf-8", "replace")
    return tally(got, ids), log_text


def test_records_fetched_during_the_seek_are_delivered(kafka: str, logs: Path) -> None:
    tag = f"window-{uuid.uuid4().hex[:6]}"
    app_id = new_app_id("window")
    run(commit_group_at_end(kafka, app_id))  # creates the app's internal topics, group at their end
    unique_topic = catalog.unique_topic(app_id).name
    waiting = unique_records(tag, WAITING, seed=3)
    later = unique_records(f"{tag}-later", LATER, seed=4)
    ids = [k.decode() for k, _ in waiting + later]
    seed_changelogs(kafka, app_id, tag, logs)
    start_at = run(end_offsets(kafka))
    run(produce(kafka, waiting, topic=unique_topic))

    worker = WorkerProcess(
        kafka, app_id, logs, "worker", module="tests.integration.slow_seek_worker", SLOW_SEEK_SECONDS="2"
    )
    result, log_text = run_worker(kafka, worker, start_at, later, ids, topic=unique_topic)
    print(f"\n[window] {result.figures()}")
    assert not result.lost, f"{len(result.lost)} of {len(ids)} lost, e.g. {result.lost[:3]}\n{worker.log_tail(60)}"
    assert "records skipped" not in log_text, worker.log_tail(60)
    assert f"{unique_topic}[" in log_text and "resumes at offset" in log_text, "the resume positions are logged"


def fetched_twice(
    kafka: str, logs: Path, name: str, seed: int, **env: str
) -> tuple[Tally, str, list[tuple[int, int]], list[tuple[int, int]], WorkerProcess]:
    """40 records wait on the unique topic; a ``slow_seek_worker`` with ``env`` reads them, 10 more
    come once it is ready, and it is stopped 5 s after the last is out. Returns the tally, its log,
    and the committed and end offsets of the unique partitions after the stop."""
    tag = f"{name}-{uuid.uuid4().hex[:6]}"
    app_id = new_app_id(name)
    run(commit_group_at_end(kafka, app_id))
    unique_topic = catalog.unique_topic(app_id).name
    waiting = unique_records(tag, WAITING, seed=seed)
    later = unique_records(f"{tag}-later", LATER, seed=seed + 1)
    ids = [k.decode() for k, _ in waiting + later]
    seed_changelogs(kafka, app_id, tag, logs)
    start_at = run(end_offsets(kafka))
    run(produce(kafka, waiting, topic=unique_topic))
    worker = WorkerProcess(kafka, app_id, logs, "worker", module="tests.integration.slow_seek_worker", **env)
    result, log_text = run_worker(kafka, worker, start_at, later, ids, topic=unique_topic, quiet=5.0)
    committed = run(committed_offsets(kafka, app_id, [unique_topic]))
    ends = run(end_offsets(kafka, [unique_topic]))
    print(f"\n[{name}] {result.figures()}")
    print(
        f"[{name}] committed {sorted((tp.partition, o) for tp, o in committed.items())}, "
        f"ends {sorted((tp.partition, o) for tp, o in ends.items())}"
    )
    return (
        result,
        log_text,
        sorted((tp.partition, o) for tp, o in committed.items()),
        sorted((tp.partition, o) for tp, o in ends.items()),
        worker,
    )


def test_records_fetched_before_the_seek_are_enriched_once(kafka: str, logs: Path) -> None:
    """Records fetched before Faust's seek to the committed offsets come again after it: enriched once.

    The fetcher reads the waiting records from the position the assignment gave, then the seek
    sends the partitions back to their committed offsets and the same records arrive a second
    time. The worker kept both copies, and a restarted worker with a backlog enriched all of it
    twice (363-388 of 500 articles doubled in ``test_worker_stopped_mid_stream``). Here the seek
    is held 2 s before it starts, so every waiting record is fetched twice, every time.
    """
    result, log_text, committed, ends, worker = fetched_twice(
        kafka, logs, "twice", 9, SLOW_SEEK_BEFORE_SECONDS="2", SLOW_SEEK_SECONDS="0"
    )
    ids = WAITING + LATER
    assert not result.lost, f"{len(result.lost)} of {ids} lost, e.g. {result.lost[:3]}\n{worker.log_tail(60)}"
    assert result.doubled == 0, f"{result.doubled} of {ids} enriched twice\n{worker.log_tail(60)}"
    assert "delivered again" in log_text, f"the second copies were not seen\n{worker.log_tail(60)}"
    assert committed == ends, f"committed {committed}, ends {ends}\n{worker.log_tail(60)}"


def test_records_fetched_long_before_the_seek_are_committed(kafka: str, logs: Path) -> None:
    """After the seek, copies that begin past the committed offset are no gap: commits reach the end.

    With the seek held 30 s and each commit 1 s slower (a loaded host), the first copy after the
    seek comes from mid-partition. Faust took the jump from the committed offset to it for a gap
    of records that would never come, counted those offsets as acked a second time, and then
    committed one offset per commit: stopped 5 s after the last article was out, the worker had
    committed 5/6/5/5 of 8/15/15/17 (and 7/6/9/6 of 16/12/9/18 once in CI, with the 2 s hold).
    ``recovery.gaps_only_where_never_fetched`` counts only offsets never fetched as a gap.
    """
    result, log_text, committed, ends, worker = fetched_twice(
        kafka, logs, "long", 11, SLOW_SEEK_BEFORE_SECONDS="30", SLOW_SEEK_SECONDS="0", SLOW_COMMIT_SECONDS="1"
    )
    ids = WAITING + LATER
    assert not result.lost, f"{len(result.lost)} of {ids} lost, e.g. {result.lost[:3]}\n{worker.log_tail(60)}"
    assert result.doubled == 0, f"{result.doubled} of {ids} enriched twice\n{worker.log_tail(60)}"
    assert committed == ends, f"committed {committed}, ends {ends}\n{worker.log_tail(60)}"
    print(f"[long] jumps back over fetched records: {log_text.count('not counted as a gap')}")


def test_recovery_survives_a_fetch_dropped_after_its_seek(kafka: str, logs: Path) -> None:
    """Faust drops a fetch and re-seeks to committed offsets just after recovery sought the changelogs.

    Changelog partitions have no committed offset, so without ``reseek_changelogs_with_streams``
    they stay at their end and recovery never completes: the worker is never ready (seen in 2 of
    19 runs of ``test_two_workers_one_killed`` before the fix; here on every run).
    """
    tag = f"dropped-{uuid.uuid4().hex[:6]}"
    app_id = new_app_id("dropped")
    run(commit_group_at_end(kafka, app_id))
    seed_changelogs(kafka, app_id, tag, logs)
    articles = synthetic_articles(tag, 20, seed=6)
    ids = [i for i, _ in articles]
    start_at = run(end_offsets(kafka))
    worker = WorkerProcess(kafka, app_id, logs, "worker", module="tests.integration.discard_after_seek_worker")
    records = [(i.encode(), v) for i, v in articles]
    # a stalled recovery never gets to ready
    result, _ = run_worker(kafka, worker, start_at, records, ids, quiet=0.0, ready_timeout=90)
    print(f"\n[dropped] {result.figures()}")
    assert not result.lost, f"{len(result.lost)} of {len(ids)} lost\n{worker.log_tail(60)}"


def test_partitions_never_committed_are_read_again_after_a_dropped_fetch(kafka: str, logs: Path) -> None:
    """Faust drops a fetch of partitions whose committed offset is 0, then seeks to the committed offsets.

    aiokafka's ``seek_to_committed()`` leaves a partition committed at 0 where it is (past the
    dropped records). The survivor of ``test_two_workers_one_killed`` lost the records of the
    victim's unique partitions that way when the victim died before its first commit of them
    (the "processing stops" stall: 4 of 21 runs before the fix). Here on every run without it.
    """
    tag = f"uncommitted-{uuid.uuid4().hex[:6]}"
    app_id = new_app_id("uncommitted")
    run(commit_group_at_end(kafka, app_id))  # the app's fresh unique topic: committed at 0
    unique_topic = catalog.unique_topic(app_id).name
    waiting = unique_records(tag, WAITING, seed=7)
    later = unique_records(f"{tag}-later", LATER, seed=8)
    ids = [k.decode() for k, _ in waiting + later]
    start_at = run(end_offsets(kafka))
    run(produce(kafka, waiting, topic=unique_topic))
    worker = WorkerProcess(kafka, app_id, logs, "worker", module="tests.integration.drop_uncommitted_worker")
    result, log_text = run_worker(kafka, worker, start_at, later, ids, topic=unique_topic)
    print(f"\n[uncommitted] {result.figures()}")
    assert not result.lost, f"{len(result.lost)} of {len(ids)} lost, e.g. {result.lost[:3]}\n{worker.log_tail(60)}"
    assert f"{unique_topic}[0] resumes at offset 0" in log_text, worker.log_tail(60)
    assert "records skipped" not in log_text, worker.log_tail(60)
