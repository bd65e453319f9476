"""The agents update the app's metrics (through Faust's test_context, no broker), and readiness says what is missing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
import pytest

from topics import catalog
from topics.records import Article
from workers.app import WirewatchApp, create_app
from workers.pipeline import Pipeline
from workers.settings import Settings
from workers.web import readiness

APP_ID = "wirewatch-unit-metrics"
UNIQUE_TOPIC = catalog.unique_topic(APP_ID)  # this app's internal topic


@pytest.fixture
def ww(app_under_test: Callable[[str], WirewatchApp]) -> WirewatchApp:
    return app_under_test(APP_ID)


def sample(ww: WirewatchApp, name: str, **labels: str) -> float | None:
    return ww.metrics.registry.get_sample_value(name, labels)


async def test_validate_counts_records_in_dead_letters_by_code_and_times_the_stage(
    ww: WirewatchApp, seed_text: str
) -> None:
    async with ww.agents["validate_and_dedupe"].test_context() as agent:
        await agent.put(b'{"id": "broken", "body": "cut', key=b"k1")
        await agent.put(orjson.dumps({"id": "seed", "body": seed_text}), key=b"seed")
    assert sample(ww, "wirewatch_messages_in_total", topic=catalog.RAW.name) == 2
    assert sample(ww, "wirewatch_dead_letters_total", code="invalid_json") == 1
    assert sample(ww, "wirewatch_messages_out_total", topic=UNIQUE_TOPIC.name) == 1
    assert sample(ww, "wirewatch_stage_seconds_count", stage="validate") == 2
    assert sample(ww, "wirewatch_stage_seconds_count", stage="dedup") == 1  # the dead letter skips dedup


async def test_dedupe_counts_duplicates_by_method(ww: WirewatchApp, seed_text: str) -> None:
    first = Article(id="a", text=seed_text[:1800], language="fr")
    copy = Article(id="b", text=seed_text[:1800], language="fr")
    async with ww.agents["validate_and_dedupe"].test_context() as agent:
        for article in (first, copy):
            await agent.put(orjson.dumps({"id": article.id, "body": article.text}), key=article.id.encode())
    assert sample(ww, "wirewatch_duplicates_total", method="exact") == 1
    assert sample(ww, "wirewatch_messages_out_total", topic=UNIQUE_TOPIC.name) == 1
    assert sample(ww, "wirewatch_stage_seconds_count", stage="dedup") == 2


async def test_enrich_counts_alerts_by_type_and_hedged_and_the_batch(
    ww: WirewatchApp, pipeline: Pipeline, seed_text: str, wait_until: Callable[..., Awaitable[None]]
) -> None:
    article = pipeline.validate(orjson.dumps({"id": "seed", "body": seed_text}))
    assert isinstance(article, Article)
    async with ww.agents["enrich"].test_context() as agent:
        await agent.put(orjson.dumps(article.to_value()), key=b"seed")
        await wait_until(lambda: sample(ww, "wirewatch_stage_seconds_count", stage="enrich"))
    sent = [orjson.loads(c.kwargs["value"]) for c in ww.topics[catalog.ALERTS.name].send.call_args_list]  # type: ignore[attr-defined]
    assert sent, "the seed raises alerts"
    for alert in sent:
        hedged = "true" if alert["hedged"] else "false"
        assert sample(ww, "wirewatch_alerts_total", type=alert["type"], hedged=hedged) == 1
    assert sample(ww, "wirewatch_messages_out_total", topic=catalog.ENRICHED.name) == 1
    assert sample(ww, "wirewatch_enrich_batch_size_count") == 1
    assert sample(ww, "wirewatch_stage_seconds_count", stage="enrich") == 1


def test_readiness_lists_what_is_missing(pipeline: Pipeline) -> None:
    settings = Settings(store="memory://", web_enabled=False, app_id="wirewatch-unit-ready", nlp_process=False)
    ww = create_app(settings, pipeline=pipeline)
    state = readiness(ww)
    assert not state.ready
    assert state.missing == ["assignment", "broker", "models"]
    ww.models_ready.set()
    ww.assignment_known = True
    assert readiness(ww).missing == ["broker"]  # no consumer: the broker is not known to answer
