"""Size limits (topics/sizes.py): the topics' max.message.bytes, the producer's, the check before a send.

No broker and no spaCy: the agents here run on a pipeline without models
(validate needs none; enrich is replaced by a stand-in that returns a huge result).
"""

from __future__ import annotations

import base64
import random
import string
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest

from topics import catalog
from topics.records import Article, SourcePosition
from topics.sizes import RECORD_OVERHEAD, SLACK, MessageSizes, base64_length, message_sizes
from workers.admin import size_note
from workers.app import WirewatchApp
from workers.pipeline import EnrichedResult, OutputTooLarge, Pipeline, check_record_size, dead_letter
from workers.settings import Settings
from workers.validate import Rejection

MiB = 1024 * 1024


def test_defaults_are_sized_from_the_record_limit() -> None:
    sizes = Settings().message_sizes()
    assert sizes == MessageSizes(
        raw=2 * MiB + SLACK,
        article=4 * MiB + SLACK,
        enriched=6 * MiB + SLACK,
        deadletter=base64_length(4 * MiB + SLACK) + SLACK,
    )
    assert sizes.producer_max_request_size == 6 * MiB + SLACK
    # every one is above what the broker and Faust allow by default: the bug this fixes
    assert min(sizes.raw, sizes.article, sizes.enriched, sizes.deadletter) > 1_048_588


def test_sizes_follow_the_setting() -> None:
    small, large = message_sizes(100_000), message_sizes(10 * MiB)
    assert small.raw == 100_000 + SLACK and large.raw == 10 * MiB + SLACK
    assert large.enriched == 30 * MiB + SLACK
    assert Settings(record_max_bytes=10 * MiB).message_sizes() == large
    with pytest.raises(ValueError):
        message_sizes(0)


def test_base64_length() -> None:
    for n in (0, 1, 2, 3, 4, 1000, 4 * MiB + SLACK):
        assert base64_length(n) == len(base64.b64encode(b"x" * n))


def test_catalog_config_carries_each_topics_limit() -> None:
    sizes = message_sizes(2 * MiB)
    configs = {spec.name: spec.config(sizes) for spec in catalog.catalog_for("wirewatch-x")}
    assert configs[catalog.RAW.name]["max.message.bytes"] == str(sizes.raw)
    assert configs[catalog.ENRICHED.name]["max.message.bytes"] == str(sizes.enriched)
    assert configs[catalog.ALERTS.name]["max.message.bytes"] == str(sizes.enriched)
    assert configs[catalog.DEADLETTER.name]["max.message.bytes"] == str(sizes.deadletter)
    assert configs["wirewatch-x.articles.unique.v1"]["max.message.bytes"] == str(sizes.article)
    assert "max.message.bytes" not in configs[catalog.DUPLICATES.name]  # a few hundred bytes: broker default
    assert "max.message.bytes" not in catalog.RAW.config()  # no sizes, no limit (as before)
    # the producer can send the largest of them
    assert all(sizes.producer_max_request_size >= int(c.get("max.message.bytes", 0)) for c in configs.values())


def test_a_dead_letter_holds_the_largest_record_any_stage_reads() -> None:
    """The enrich stage dead-letters the internal record it read: as large as the article topic allows."""
    sizes = message_sizes(2 * MiB)
    for source in (sizes.raw, sizes.article):
        raw = b"x" * (source - RECORD_OVERHEAD - 600)  # the key (an id of 512 chars at most) and framing
        letter = dead_letter(raw, Rejection("internal_error", "m" * 5000), SourcePosition())
        check_record_size(catalog.DEADLETTER.name, b"k" * 512, orjson.dumps(letter.to_value()), sizes.deadletter)
        assert len(letter.message) == 2000  # a library's message may quote the input: cut


def test_check_record_size_counts_key_value_and_framing() -> None:
    check_record_size("t", b"k", b"v" * 98, 99 + RECORD_OVERHEAD)
    with pytest.raises(OutputTooLarge) as caught:
        check_record_size("t", b"k", b"v" * 99, 99 + RECORD_OVERHEAD)
    rejection = caught.value.rejection()
    assert rejection.code == "output_too_large"
    assert f"{100 + RECORD_OVERHEAD} bytes" in rejection.message and "t" in rejection.message


def _article_bytes(settings: Settings, value: dict[str, Any]) -> tuple[int, int]:
    raw = orjson.dumps(value)
    assert len(raw) <= settings.record_max_bytes, len(raw)
    article = Pipeline(settings, load_models=False).validate(raw)
    assert isinstance(article, Article), article
    return len(raw), len(orjson.dumps(article.to_value())) + len(article.id.encode()) + RECORD_OVERHEAD


@pytest.mark.parametrize(
    "shape",
    ["prose", "line_breaks", "quotes", "html_list", "extra_fields"],
)
def test_valid_articles_at_the_limits_fit_the_internal_topics(shape: str) -> None:
    """A valid record of up to WIREWATCH_RECORD_MAX_BYTES becomes an article the internal topics accept."""
    settings = Settings()
    body_max = settings.body_max_bytes
    sentence = "Shelling hit the outskirts of the town on {i} occasions overnight, officials said. "
    if shape == "prose":
        body = "".join(sentence.format(i=i) for i in range(body_max // len(sentence)))[: body_max - 100]
    elif shape == "line_breaks":  # each line break becomes a paragraph break: 3 raw bytes, 5 in the article
        letters = random.Random(0).choices(string.ascii_letters, k=body_max // 2 - 10)  # not one text twice
        body = "".join(f"{c}\n" for c in letters)
    elif shape == "quotes":  # escaped again in every stage's JSON
        body = '"' * ((settings.record_max_bytes - 200) // 2)
    elif shape == "html_list":
        body = "<ul>" + "<li>x</li>" * ((body_max - 20) // 10) + "</ul>"
    else:  # fields the stages pass on under "extra" fill the rest of the record
        body = "\n".join(sentence.format(i=i) for i in range(body_max // (len(sentence) + 10)))
    value: dict[str, Any] = {"id": f"limit-{shape}", "body": body, "language": "en"}
    room = settings.record_max_bytes - len(orjson.dumps(value)) - 100
    if room > 0:
        value["feed_notes"] = "\n" * (room // 2)  # escaped: 2 bytes each in the raw record
    raw_size, article_size = _article_bytes(settings, value)
    assert raw_size > settings.record_max_bytes - 200_000  # the test is at the limit
    assert article_size <= settings.message_sizes().article, (raw_size, article_size)


# --------------------------------------------------------------------------- the agents


@pytest.fixture
def light_app(light_app_under_test: Callable[..., WirewatchApp]) -> Callable[..., WirewatchApp]:
    """conftest's app without spaCy, under this module's app id."""

    def make(**overrides: Any) -> WirewatchApp:
        return light_app_under_test("wirewatch-sizes", **overrides)

    return make


def sent(ww: WirewatchApp, name: str) -> list[tuple[Any, dict[str, Any]]]:
    mock = ww.topics[name].send
    return [(c.kwargs["key"], orjson.loads(c.kwargs["value"])) for c in mock.call_args_list]  # type: ignore[attr-defined]


def test_the_worker_producer_and_topics_take_the_sizes(light_app: Callable[..., WirewatchApp]) -> None:
    ww = light_app()
    sizes = ww.settings.message_sizes()
    assert ww.app.conf.producer_max_request_size == sizes.producer_max_request_size
    unique = ww.topics["wirewatch-sizes.articles.unique.v1"]
    assert unique.config is not None and unique.config["max.message.bytes"] == str(sizes.article)


async def test_an_article_too_large_for_the_internal_topic_becomes_a_dead_letter(
    light_app: Callable[..., WirewatchApp],
) -> None:
    """Unicode normalisation (NFC) can triple a body: over the internal topic's limit, a dead letter, not a crash."""
    limit = 100_100
    ww = light_app(record_max_bytes=limit, body_max_bytes=limit)
    # U+1D160 (4 bytes) is three code points (12 bytes) once normalised to NFC
    huge = orjson.dumps({"id": "nfc", "body": "\U0001d160" * 25_000, "language": "en"})
    small = orjson.dumps({"id": "fine", "body": "Troops crossed the border.", "language": "en"})
    assert len(huge) <= limit
    async with ww.agents["validate_and_dedupe"].test_context() as agent:
        await agent.put(huge, key=b"nfc")
        await agent.put(small, key=b"fine")  # the agent goes on
    dead = sent(ww, catalog.DEADLETTER.name)
    assert [(k, v["code"]) for k, v in dead] == [(b"nfc", "output_too_large")]
    assert "wirewatch-sizes.articles.unique.v1" in dead[0][1]["message"]
    assert base64.b64decode(dead[0][1]["raw_b64"]) == huge
    assert [k for k, _ in sent(ww, "wirewatch-sizes.articles.unique.v1")] == [b"fine"]


async def test_an_enriched_event_too_large_becomes_a_dead_letter_and_the_batch_is_acked(
    light_app: Callable[..., WirewatchApp],
    monkeypatch: pytest.MonkeyPatch,
    wait_until: Callable[..., Awaitable[None]],
) -> None:
    """Pathological enrichment (entities over the budget) must not stop the enrich agent nor its commits."""
    ww = light_app()
    limit = ww.settings.message_sizes().enriched

    def enrich(articles: list[Article]) -> list[EnrichedResult]:
        out = []
        for a in articles:
            event = Pipeline.enriched_event(a, (), ())
            if a.id == "huge":
                event["entities"] = [{"text": "x" * 1000, "mentions": []}] * (limit // 1000)
            out.append(EnrichedResult(event, ()))
        return out

    monkeypatch.setattr(ww.pipeline, "enrich", enrich)
    huge = orjson.dumps(Article(id="huge", text="Some text.", language="en").to_value())
    fine = orjson.dumps(Article(id="fine", text="Other text.", language="en").to_value())
    async with ww.agents["enrich"].test_context() as agent:
        first = await agent.put(huge, key=b"huge")
        second = await agent.put(fine, key=b"fine")
        await wait_until(lambda: first.message.acked and second.message.acked)
    assert [k for k, _ in sent(ww, catalog.ENRICHED.name)] == [b"fine"]
    dead = sent(ww, catalog.DEADLETTER.name)
    assert [(k, v["code"]) for k, v in dead] == [(b"huge", "output_too_large")]
    assert catalog.ENRICHED.name in dead[0][1]["message"]
    assert base64.b64decode(dead[0][1]["raw_b64"]) == huge


# --------------------------------------------------------------------------- wirewatch topics create


def test_size_note_says_how_to_raise_a_smaller_existing_limit() -> None:
    assert size_note("news.articles.raw.v1", 3 * MiB, 2 * MiB, "b:9092") == ""
    assert size_note("news.articles.raw.v1", None, 2 * MiB, "b:9092") == ""
    assert size_note("news.articles.duplicates.v1", 1000, None, "b:9092") == ""
    note = size_note("news.articles.raw.v1", 1_048_588, 2_162_688, "b:9092")
    assert "max.message.bytes is 1048588" in note
    assert (
        "kafka-configs.sh --bootstrap-server b:9092 --alter --entity-type topics "
        "--entity-name news.articles.raw.v1 --add-config max.message.bytes=2162688"
    ) in note
