"""Metric updates, the consumer-lag collector, the status scraper's parsing, and the log records."""

from __future__ import annotations

import logging

import orjson
from prometheus_client import CollectorRegistry

from topics import catalog
from workers.logs import ArticleFilter, JsonFormatter, TextFormatter, about, logging_config
from workers.metrics import Metrics, PartitionOffsets
from workers.status import WorkerStatus, base_url, parse_samples


def value(m: Metrics, name: str, **labels: str) -> float | None:
    return m.registry.get_sample_value(name, labels)


def test_each_app_has_its_own_registry() -> None:
    a, b = Metrics(), Metrics()
    a.message_in(catalog.RAW.name)
    assert value(a, "wirewatch_messages_in_total", topic=catalog.RAW.name) == 1
    assert value(b, "wirewatch_messages_in_total", topic=catalog.RAW.name) is None


def test_sent_counts_the_topic_and_the_kind_of_outcome() -> None:
    m = Metrics()
    m.sent(catalog.DEADLETTER.name, {"code": "invalid_json"})
    m.sent(catalog.DEADLETTER.name, {"code": "invalid_json"})
    m.sent(catalog.DUPLICATES.name, {"method": "near"})
    m.sent(catalog.ALERTS.name, {"type": "ceasefire_violation", "hedged": True})
    m.sent(catalog.ALERTS.name, {"type": "airstrike", "hedged": False})
    m.sent(catalog.ENRICHED.name, {"id": "a"})
    assert value(m, "wirewatch_messages_out_total", topic=catalog.DEADLETTER.name) == 2
    assert value(m, "wirewatch_dead_letters_total", code="invalid_json") == 2
    assert value(m, "wirewatch_duplicates_total", method="near") == 1
    assert value(m, "wirewatch_duplicates_total", method="exact") == 0  # known labels start at 0
    assert value(m, "wirewatch_alerts_total", type="ceasefire_violation", hedged="true") == 1
    assert value(m, "wirewatch_alerts_total", type="airstrike", hedged="false") == 1
    assert value(m, "wirewatch_messages_out_total", topic=catalog.ENRICHED.name) == 1


def test_stage_is_timed_even_when_it_raises_and_batches_are_observed() -> None:
    m = Metrics()
    with m.stage("validate"):
        pass
    try:
        with m.stage("enrich"):
            raise ValueError("boom")
    except ValueError:
        pass
    m.batch(3)
    assert value(m, "wirewatch_stage_seconds_count", stage="validate") == 1
    assert value(m, "wirewatch_stage_seconds_count", stage="enrich") == 1
    assert value(m, "wirewatch_enrich_batch_size_sum") == 3
    assert value(m, "wirewatch_enrich_batch_size_bucket", le="4.0") == 1


def test_models_loaded_gauge() -> None:
    m = Metrics()
    assert value(m, "wirewatch_models_loaded") == 0
    m.loaded(2.5)
    assert value(m, "wirewatch_models_loaded") == 1
    assert value(m, "wirewatch_models_load_seconds") == 2.5


def test_lag_is_highwater_minus_committed_and_unknown_before_a_commit() -> None:
    assert PartitionOffsets("t", 0, highwater=10, committed=7, position=9).lag == 3
    assert PartitionOffsets("t", 0, highwater=10, committed=None, position=9).lag is None
    assert PartitionOffsets("t", 0, highwater=0, committed=None, position=None).lag == 0
    assert PartitionOffsets("t", 0, highwater=None, committed=3, position=None).lag is None


def test_consumer_collector_exports_lag_per_partition_at_scrape_time() -> None:
    m = Metrics(CollectorRegistry())
    snapshot = [PartitionOffsets(catalog.RAW.name, 0, 10, 4, 6), PartitionOffsets(catalog.RAW.name, 1, 5, 5, 5)]
    m.watch_consumer(lambda: snapshot)
    assert value(m, "wirewatch_consumer_lag", topic=catalog.RAW.name, partition="0") == 6
    assert value(m, "wirewatch_consumer_lag", topic=catalog.RAW.name, partition="1") == 0
    assert value(m, "wirewatch_consumer_position", topic=catalog.RAW.name, partition="0") == 6
    assert value(m, "wirewatch_assigned_partitions", topic=catalog.RAW.name) == 2
    snapshot[0] = PartitionOffsets(catalog.RAW.name, 0, 12, 12, 12)  # read again at the next scrape
    assert value(m, "wirewatch_consumer_lag", topic=catalog.RAW.name, partition="0") == 0


def test_status_parses_a_scrape_and_computes_rates_between_two() -> None:
    m = Metrics()
    m.message_in(catalog.RAW.name, 10)
    first = parse_samples(m.render().decode(), at=100.0)
    m.message_in(catalog.RAW.name, 20)
    last = parse_samples(m.render().decode(), at=102.0)
    w = WorkerStatus("http://x", first=first, last=last)
    assert last.get("wirewatch_messages_in_total", topic=catalog.RAW.name) == 30
    assert w.rates("wirewatch_messages_in_total", "topic") == {catalog.RAW.name: 10.0}
    assert base_url("127.0.0.1:6066/metrics") == "http://127.0.0.1:6066"


def _record(msg: str = "hello", **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("wirewatch.app", logging.WARNING, __file__, 1, msg, (), None)
    for k, v in extra.items():
        setattr(record, k, v)
    return record


def test_log_records_about_an_article_carry_its_id_as_json() -> None:
    flt, fmt = ArticleFilter(), JsonFormatter()
    with about(b"afp-1"):
        record = _record("dead letter invalid_json", code="invalid_json")
        flt.filter(record)
    line = orjson.loads(fmt.format(record))
    assert line["article_id"] == "afp-1" and line["level"] == "WARNING" and line["logger"] == "wirewatch.app"
    assert line["message"] == "dead letter invalid_json" and line["code"] == "invalid_json"
    outside = _record()
    flt.filter(outside)
    assert "article_id" not in orjson.loads(fmt.format(outside))


def test_a_batch_gives_article_ids_and_text_lines_name_the_article() -> None:
    flt = ArticleFilter()
    with about([b"a", "b", "a", None]):
        batch = _record()
        flt.filter(batch)
        with about("b"):
            one = _record()
            flt.filter(one)
    assert orjson.loads(JsonFormatter().format(batch))["article_ids"] == ["a", "b"]
    assert TextFormatter().format(one).endswith("hello  article=b")


def test_logging_config_picks_the_formatter_and_level() -> None:
    config = logging_config("debug", as_json=True)
    assert config["handlers"]["default"]["formatter"] == "json"
    assert config["root"]["level"] == "DEBUG"
    assert logging_config("INFO", as_json=False)["handlers"]["default"]["formatter"] == "text"
