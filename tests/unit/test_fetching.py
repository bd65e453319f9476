"""The worker consumer's fetch wait (workers/fetching.py): ours, per app, instead of Faust's 1.5 s."""

from __future__ import annotations

from typing import Any

import faust
import pytest

from workers.app import create_app
from workers.settings import Settings


def worker_consumer(app: faust.App) -> Any:
    """The aiokafka consumer Faust would start for ``app`` (built, not started: no broker needed)."""
    return app.consumer._thread._create_worker_consumer(app.transport)  # type: ignore[attr-defined]


async def test_the_worker_consumer_holds_fetches_for_the_configured_time() -> None:
    default = create_app(Settings(store="memory://", web_enabled=False, app_id="wirewatch-unit-fetch-a"))
    shorter = create_app(
        Settings(store="memory://", web_enabled=False, app_id="wirewatch-unit-fetch-b", fetch_max_wait=0.05)
    )
    assert worker_consumer(default.app)._fetch_max_wait_ms == 200
    assert worker_consumer(shorter.app)._fetch_max_wait_ms == 50


async def test_an_app_of_faust_alone_keeps_faust_s_wait() -> None:
    """The patch touches only the apps it was given (and shows what Faust itself asks for)."""
    create_app(Settings(store="memory://", web_enabled=False, app_id="wirewatch-unit-fetch-c"))  # patch installed
    plain = faust.App("wirewatch-unit-fetch-plain", broker="kafka://127.0.0.1:9", store="memory://", web_enabled=False)
    assert worker_consumer(plain)._fetch_max_wait_ms == 1500


def test_a_wait_must_be_positive() -> None:
    with pytest.raises(ValueError, match="fetch_max_wait"):
        Settings(fetch_max_wait=0)


def test_the_producer_gathers_records_for_the_configured_linger() -> None:
    """Faust's producer lingers 0 ms; the worker's lingers ``producer_linger`` (README, Performance)."""
    default = create_app(Settings(store="memory://", web_enabled=False, app_id="wirewatch-unit-linger-a"))
    none = create_app(
        Settings(store="memory://", web_enabled=False, app_id="wirewatch-unit-linger-b", producer_linger=0)
    )
    assert default.app.producer._settings_default()["linger_ms"] == 20
    assert none.app.producer._settings_default()["linger_ms"] == 0


def test_the_producer_batches_up_to_the_configured_size() -> None:
    """Faust's producer batches 16 KiB per partition; the worker's ``producer_max_batch_size``."""
    default = create_app(Settings(store="memory://", web_enabled=False, app_id="wirewatch-unit-batch-a"))
    small = create_app(
        Settings(store="memory://", web_enabled=False, app_id="wirewatch-unit-batch-b", producer_max_batch_size=16384)
    )
    assert default.app.producer._settings_default()["max_batch_size"] == 262144
    assert small.app.producer._settings_default()["max_batch_size"] == 16384


def test_a_batch_stays_below_the_brokers_default_record_limit() -> None:
    with pytest.raises(ValueError, match="producer_max_batch_size"):
        Settings(producer_max_batch_size=1 << 20)


def test_the_dedup_tables_standby_copies_follow_the_setting() -> None:
    default = create_app(Settings(store="memory://", web_enabled=False, app_id="wirewatch-unit-standby-a"))
    none = create_app(
        Settings(store="memory://", web_enabled=False, app_id="wirewatch-unit-standby-b", table_standby_replicas=0)
    )
    assert default.app.conf.table_standby_replicas == 1
    assert none.app.conf.table_standby_replicas == 0


def test_batches_stay_under_the_smallest_topic_limit_the_broker_reports() -> None:
    """A batch over a topic's max.message.bytes is refused whole, small records in it too."""
    from workers.admin import BATCH_HEADROOM, TopicOutcome, batch_size_within

    roomy = [TopicOutcome("a", False, 4, max_message_bytes=6_356_992), TopicOutcome("b", True, 4)]
    assert batch_size_within(262144, roomy) == (262144, "")
    tight = [*roomy, TopicOutcome("news.articles.enriched.v1", False, 4, max_message_bytes=16_384)]
    size, why = batch_size_within(262144, tight)
    assert size == 16_384 - BATCH_HEADROOM
    assert "news.articles.enriched.v1" in why and "16384" in why
    assert batch_size_within(262144, []) == (262144, "")  # limits unknown: the setting as given
