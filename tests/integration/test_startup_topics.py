"""A worker started on a broker where the catalog's topics do not exist yet reads them at once.

Before, a worker started on a new broker before ``news.articles.raw.v1``
existed subscribed to a missing topic and read nothing until its consumer next
refreshed its metadata: five minutes (aiokafka's default). Now the worker
creates the catalog's missing topics when it starts (``WIREWATCH_CREATE_TOPICS``),
and where it may not, it reads a topic created later within
``WIREWATCH_TOPIC_METADATA_MAX_AGE`` seconds (30 by default).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from topics import catalog
from workers.admin import create_topics
from workers.localkafka import LocalKafkaConfig
from workers.settings import Settings

from .harness import WorkerProcess, collect_settled, end_offsets, new_app_id, produce, run, synthetic_articles, tally

pytestmark = pytest.mark.integration

N = 10


def feed_and_collect(bootstrap: str, tag: str, timeout: float) -> tuple[list[str], list[str]]:
    """Produce ``N`` articles to the raw topic; the ids, and those not enriched within ``timeout`` s."""
    start_at = run(end_offsets(bootstrap))
    articles = synthetic_articles(tag, N)
    ids = [i for i, _ in articles]
    run(produce(bootstrap, [(i.encode(), v) for i, v in articles]))
    got = run(collect_settled(bootstrap, start_at, lambda c: not tally(c, ids).lost, timeout=timeout, quiet=0.0))
    return ids, tally(got, ids).lost


def test_a_worker_creates_the_missing_topics_when_it_starts(own_broker: LocalKafkaConfig, logs: Path) -> None:
    bootstrap = f"127.0.0.1:{own_broker.port}"
    with WorkerProcess(bootstrap, new_app_id("fresh"), logs) as worker:
        worker.wait_ready()
        log_text = worker.log_path.read_text("utf-8", "replace")
        assert f"created topic {catalog.RAW.name}" in log_text, worker.log_tail(60)
        # the models load meanwhile; 90 s is far below the five minutes it took before
        ids, lost = feed_and_collect(bootstrap, f"fresh-{uuid.uuid4().hex[:6]}", timeout=90)
    assert not lost, f"{len(lost)} of {len(ids)} not enriched\n{worker.log_tail(60)}"


def test_a_topic_created_after_the_worker_started_is_read_soon(own_broker: LocalKafkaConfig, logs: Path) -> None:
    """Where the worker may not create topics (here: told not to), it reads them once they exist."""
    bootstrap = f"127.0.0.1:{own_broker.port}"
    app_id = new_app_id("later")
    worker = WorkerProcess(
        bootstrap, app_id, logs, WIREWATCH_CREATE_TOPICS="false", WIREWATCH_TOPIC_METADATA_MAX_AGE="5"
    )
    with worker:
        worker.wait_ready()
        assert "created topic" not in worker.log_path.read_text("utf-8", "replace"), worker.log_tail(60)
        run(create_topics(Settings(bootstrap_servers=bootstrap, app_id=app_id)))
        ids, lost = feed_and_collect(bootstrap, f"later-{uuid.uuid4().hex[:6]}", timeout=90)
    assert not lost, f"{len(lost)} of {len(ids)} not enriched\n{worker.log_tail(60)}"
