"""Each agent once through Faust's test_context (no broker; one AsyncMock per outgoing topic)."""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

from topics import catalog
from topics.records import Article
from workers.app import WirewatchApp
from workers.pipeline import Pipeline

APP_ID = "wirewatch-unit"
UNIQUE_TOPIC = catalog.unique_topic(APP_ID)  # this app's internal topic


@pytest.fixture
def ww(app_under_test: Callable[[str], WirewatchApp]) -> WirewatchApp:
    return app_under_test(APP_ID)


def done() -> asyncio.Future[None]:
    """The broker's answer to a send, already there."""
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    future.set_result(None)
    return future


def raw(article: Article) -> bytes:
    """The raw record a scraper would send for ``article``."""
    return orjson.dumps({"id": article.id, "body": article.text, "language": article.language})


def sent(ww: WirewatchApp, spec: catalog.TopicSpec) -> list[tuple[Any, dict[str, Any]]]:
    mock = ww.topics[spec.name].send
    return [(c.kwargs["key"], orjson.loads(c.kwargs["value"])) for c in mock.call_args_list]  # type: ignore[attr-defined]


async def test_first_stage_routes_bad_input_to_dead_letters_and_good_articles_to_the_unique_topic(
    ww: WirewatchApp, seed_text: str
) -> None:
    async with ww.agents["validate_and_dedupe"].test_context() as agent:
        await agent.put(b'{"id": "broken", "body": "cut', key=b"k1")
        await agent.put(orjson.dumps({"id": "seed", "body": seed_text}), key=b"seed")
    dead = sent(ww, catalog.DEADLETTER)
    assert [(k, v["code"]) for k, v in dead] == [(b"k1", "invalid_json")]
    forwarded = sent(ww, UNIQUE_TOPIC)
    assert [k for k, _ in forwarded] == [b"seed"]
    assert forwarded[0][1]["body_repeated"] is True and forwarded[0][1]["language"] == "fr"


async def test_first_stage_forwards_the_first_and_reports_the_copy(ww: WirewatchApp, seed_text: str) -> None:
    first = Article(id="a", text=seed_text[:1800], language="fr")
    copy = Article(id="b", text=seed_text[:1800] + "\n\n(Avec AFP)", language="fr")
    async with ww.agents["validate_and_dedupe"].test_context() as agent:
        await agent.put(raw(first), key=b"a")
        await agent.put(raw(copy), key=b"b")
    assert [k for k, _ in sent(ww, UNIQUE_TOPIC)] == [b"a"]
    dups = sent(ww, catalog.DUPLICATES)
    assert [(v["id"], v["duplicate_of"], v["method"]) for _, v in dups] == [("b", "a", "exact")]


async def test_first_stage_sends_each_unique_article_to_the_partition_with_least_text(ww: WirewatchApp) -> None:
    """A long article fills one partition; the next short ones go to the others (workers/balance.py)."""
    words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike".split()

    def text(n: int, salt: int) -> str:  # distinct texts: no two share enough shingles to be near copies
        rng = random.Random(salt)
        return " ".join(f"{rng.choice(words)}{rng.randrange(10_000)}" for _ in range(n))

    partitions = UNIQUE_TOPIC.partitions
    long_one = Article(id="long", text=text(2000, 0), language="en")
    short = [Article(id=f"s{i}", text=text(50, i + 1), language="en") for i in range(partitions)]
    async with ww.agents["validate_and_dedupe"].test_context() as agent:
        for article in (long_one, *short):
            await agent.put(raw(article), key=article.id.encode())
    calls = ww.topics[UNIQUE_TOPIC.name].send.call_args_list  # type: ignore[attr-defined]
    chosen = [(c.kwargs["key"], c.kwargs["partition"]) for c in calls]
    # the short ones fill the other partitions first, then come back to the lightest (not to "long"'s)
    last = f"s{partitions - 1}".encode()
    assert chosen == [(b"long", 0), *((f"s{i}".encode(), i + 1) for i in range(partitions - 1)), (last, 1)]


async def test_enrich_agent_emits_one_event_and_its_alerts(
    ww: WirewatchApp, pipeline: Pipeline, seed_text: str, wait_until: Callable[..., Awaitable[None]]
) -> None:
    article = pipeline.validate(orjson.dumps({"id": "seed", "body": seed_text}))
    assert isinstance(article, Article)
    async with ww.agents["enrich"].test_context() as agent:
        await agent.put(orjson.dumps(article.to_value()), key=b"seed")
        await wait_until(lambda: sent(ww, catalog.ENRICHED))
    events = sent(ww, catalog.ENRICHED)
    assert [k for k, _ in events] == [b"seed"]
    alerts = sent(ww, catalog.ALERTS)
    assert {v["type"] for _, v in alerts} == {a["type"] for a in events[0][1]["alerts"]}
    assert all(k == v["alert_id"].encode() for k, v in alerts)


async def test_a_bug_in_a_stage_becomes_an_internal_error_dead_letter(
    ww: WirewatchApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker keeps going: the record's bytes land on the dead-letter topic with code internal_error."""

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(Pipeline, "dedup", staticmethod(boom))
    record = raw(Article(id="a", text="Some text about the border.", language="en"))
    async with ww.agents["validate_and_dedupe"].test_context() as agent:
        await agent.put(record, key=b"a")
        await agent.put(record, key=b"a")  # the agent is still there for the next record
    dead = sent(ww, catalog.DEADLETTER)
    assert [(k, v["code"]) for k, v in dead] == [(b"a", "internal_error")] * 2
    assert "simulated bug" in dead[0][1]["message"]
    assert base64.b64decode(dead[0][1]["raw_b64"]) == record  # the bytes as the scraper sent them
    assert sent(ww, UNIQUE_TOPIC) == []


async def test_enrich_runs_off_the_event_loop_with_the_articles_in_its_log_context(
    ww: WirewatchApp,
    pipeline: Pipeline,
    seed_text: str,
    monkeypatch: pytest.MonkeyPatch,
    wait_until: Callable[..., Awaitable[None]],
) -> None:
    """spaCy runs in the NLP thread, so the loop stays free; its log records still carry the article ids."""
    import threading

    from workers import logs

    seen: list[tuple[str, tuple[str, ...]]] = []
    real_enrich = pipeline.enrich

    def spying_enrich(articles: Any) -> Any:
        seen.append((threading.current_thread().name, logs._articles.get()))
        return real_enrich(articles)

    monkeypatch.setattr(pipeline, "enrich", spying_enrich)
    article = pipeline.validate(orjson.dumps({"id": "seed", "body": seed_text}))
    assert isinstance(article, Article)
    async with ww.agents["enrich"].test_context() as agent:
        await agent.put(orjson.dumps(article.to_value()), key=b"seed")
        await wait_until(lambda: sent(ww, catalog.ENRICHED))
    assert [k for k, _ in sent(ww, catalog.ENRICHED)] == [b"seed"]
    assert len(seen) == 1
    thread_name, ids = seen[0]
    assert thread_name.startswith("wirewatch-nlp") and thread_name != threading.main_thread().name
    assert ids == ("seed",)


@dataclass
class HeldSend:
    """The enriched topic's send, held until ``gate`` is set: the producer is slow, the event not out yet."""

    gate: asyncio.Event = field(default_factory=asyncio.Event)
    keys: list[bytes] = field(default_factory=list)

    async def __call__(self, **kwargs: Any) -> asyncio.Future[None]:
        self.keys.append(kwargs["key"])
        await self.gate.wait()
        return done()


@pytest.fixture
def held(ww: WirewatchApp) -> HeldSend:
    send = HeldSend()
    ww.topics[catalog.ENRICHED.name].send = send  # type: ignore[method-assign]
    return send


async def test_enrich_acks_an_article_only_once_its_event_is_sent(
    held: HeldSend, ww: WirewatchApp, seed_unique: bytes, wait_until: Callable[..., Awaitable[None]]
) -> None:
    """The enrich agent takes batches without acks: until the enriched event is out, the offset stays uncommitted."""
    async with ww.agents["enrich"].test_context() as agent:
        event = await agent.put(seed_unique, key=b"seed")
        second = await agent.put(orjson.dumps({**orjson.loads(seed_unique), "id": "seed-2"}), key=b"seed-2")
        await wait_until(lambda: held.keys == [b"seed"])
        await asyncio.sleep(0.2)
        assert not event.message.acked and not second.message.acked
        held.gate.set()
        await wait_until(lambda: event.message.acked and second.message.acked)
    assert held.keys == [b"seed", b"seed-2"]


async def test_first_stage_skips_a_copy_of_a_record_it_received(ww: WirewatchApp, seed_text: str) -> None:
    """The same partition and offset again (Faust's seek after a rebalance re-sends it): processed once,
    so not reported as a duplicate of itself."""
    other = "Troops advanced on the northern town on Tuesday, officials said, after a week of shelling."
    async with ww.agents["validate_and_dedupe"].test_context() as agent:
        await agent.put(orjson.dumps({"id": "seed", "body": seed_text}), key=b"seed")
        agent.sent_offset = 0  # the next put is offset 0 again: a copy
        await agent.put(orjson.dumps({"id": "seed", "body": seed_text}), key=b"seed")
        await agent.put(orjson.dumps({"id": "next", "body": other}), key=b"next")
    assert [k for k, _ in sent(ww, UNIQUE_TOPIC)] == [b"seed", b"next"]
    assert sent(ww, catalog.DUPLICATES) == []
    labels = {"topic": catalog.RAW.name}
    assert ww.metrics.registry.get_sample_value("wirewatch_redelivered_records_total", labels) == 1


async def test_enrich_agent_acks_a_copy_after_its_first_is_out_and_enriches_once(
    held: HeldSend, ww: WirewatchApp, seed_unique: bytes, wait_until: Callable[..., Awaitable[None]]
) -> None:
    async with ww.agents["enrich"].test_context() as agent:
        first = await agent.put(seed_unique, key=b"seed")
        agent.sent_offset = 0
        copy = await agent.put(seed_unique, key=b"seed")
        await wait_until(lambda: held.keys == [b"seed"])
        await asyncio.sleep(0.2)
        # acking the copy first would let the commit pass an article whose event is not out
        assert not first.message.acked and not copy.message.acked
        held.gate.set()
        await wait_until(lambda: first.message.acked and copy.message.acked)
    assert held.keys == [b"seed"]


@pytest.fixture
def seed_unique(pipeline: Pipeline, seed_text: str) -> bytes:
    """The seed article as the dedup stage writes it to the unique topic."""
    article = pipeline.validate(orjson.dumps({"id": "seed", "body": seed_text}))
    assert isinstance(article, Article)
    return orjson.dumps(article.to_value())


def refused(error: Exception) -> Any:
    """A topic's send whose record the broker refuses with ``error``."""

    async def send(**_: Any) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_exception(error)
        return future

    return send


async def test_enrich_dead_letters_an_event_the_broker_refuses_as_too_large(
    ww: WirewatchApp, seed_unique: bytes, wait_until: Callable[..., Awaitable[None]]
) -> None:
    """A topic created with a smaller max.message.bytes than the catalog's: a dead letter, not a loss."""
    from aiokafka.errors import MessageSizeTooLargeError

    ww.topics[catalog.ENRICHED.name].send = refused(MessageSizeTooLargeError())  # type: ignore[method-assign]
    async with ww.agents["enrich"].test_context() as agent:
        event = await agent.put(seed_unique, key=b"seed")
        await wait_until(lambda: event.message.acked)
    dead = sent(ww, catalog.DEADLETTER)
    assert [(k, v["code"]) for k, v in dead] == [(b"seed", "output_too_large")]
    assert "refused" in dead[0][1]["message"] and catalog.ENRICHED.name in dead[0][1]["message"]


async def test_enrich_does_not_ack_an_article_whose_event_the_broker_did_not_take(
    ww: WirewatchApp, seed_unique: bytes, wait_until: Callable[..., Awaitable[None]]
) -> None:
    """Any other refusal stops the batch unacked: the article is enriched again after a restart."""
    from aiokafka.errors import TopicAuthorizationFailedError

    ww.topics[catalog.ENRICHED.name].send = refused(TopicAuthorizationFailedError())  # type: ignore[method-assign]
    async with ww.agents["enrich"].test_context() as agent:
        event = await agent.put(seed_unique, key=b"seed")
        await wait_until(lambda: agent.crash_reason is not None)
        await asyncio.sleep(0.2)
        assert "DeliveryFailed" in repr(agent.crash_reason)
        assert not event.message.acked
    assert not sent(ww, catalog.DEADLETTER), "the article is not at fault"
