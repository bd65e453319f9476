"""The Faust application: two thin agents over the pipeline's stages.

```
news.articles.raw.v1 ──validate_and_dedupe (one worker, every raw partition)──► wirewatch.articles.unique.v1
        ├──► news.articles.deadletter.v1
        └──► news.articles.duplicates.v1
wirewatch.articles.unique.v1 ──enrich_articles (NLP process)──► news.articles.enriched.v1 + news.alerts.v1
```

Dedup compares every article with every earlier one, whichever raw partition
it came through, so ONE worker validates and dedups the whole feed: the
partition assignor (``workers/assignment.py``) gives all the raw partitions
to the worker that holds the dedup table. That table has one partition (its
changelog too: article id -> signature and content hash), from which the
in-memory indexes are rebuilt. Its cost (about a millisecond per article,
validation included) is far below the NER stage's, which scales out over the
partitions of the unique topic (each article goes to the partition given the
least text so far, so every worker gets the same share of the work). spaCy
runs in a child process (``workers/nlp_process.py``), so the event loop is
never blocked by a batch and runs on another core; the enrich agent keeps two
batches in flight and acks each once the broker has its events; a record the
broker refuses on another agent's topics stops the worker's commits
(``workers/delivery.py``). ``workers/recovery.py`` patches three ways
faust-streaming 0.15.3 loses or stalls records at the end of a rebalance, and
the agents skip the copies a rebalance sends again (``workers/continuity.py``).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, cast

import faust
import orjson
from aiokafka.errors import MessageSizeTooLargeError, RecordTooLargeError
from mode.types.signals import BaseSignalT

from topics import catalog
from topics.records import Article, DeadLetter, SourcePosition

from .assignment import assignor_for, one_partition_table
from .balance import DEDUP_CHARS, LeastLoaded
from .continuity import Continuity, Step
from .dedup import DedupState
from .delivery import SendGuard, guard_commits
from .diagnostics import install_state_dump
from .fetching import bound_fetch_wait
from .logs import about
from .metrics import Metrics, committed_offset, faust_consumer_offsets
from .nlp_process import Enriched, nlp_runner
from .normalise import detect_language
from .pipeline import EnrichedResult, OutputTooLarge, Pipeline, check_record_size, dead_letter, record_size
from .recovery import (
    Fetched,
    gaps_only_where_never_fetched,
    keep_records_fetched_during_seek,
    reseek_changelogs_with_streams,
    seek_uncommitted_streams_too,
)
from .settings import Settings
from .validate import Rejection
from .web import install_pages

__all__ = ["WirewatchApp", "create_app"]

log = logging.getLogger("wirewatch.app")

_PURGE_EVERY_SECONDS = 3600.0
_DEDUP_TABLE = "dedup-signatures"


def _credentials(settings: Settings) -> Any:
    if settings.security_protocol == "PLAINTEXT":
        return None
    kwargs = settings.client_kwargs()
    ssl_context = kwargs.get("ssl_context")
    assert ssl_context is None or isinstance(ssl_context, ssl.SSLContext)
    if settings.security_protocol.startswith("SASL"):
        if not settings.sasl_username or settings.sasl_password is None:
            raise ValueError(f"{settings.security_protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")
        return faust.SASLCredentials(
            username=str(kwargs["sasl_plain_username"]),
            password=str(kwargs["sasl_plain_password"]),
            mechanism=settings.sasl_mechanism,
            ssl_context=ssl_context,
        )
    return faust.SSLCredentials(ssl_context)


def _log_output(spec: catalog.TopicSpec, value: dict[str, Any]) -> None:
    """One log record per outcome that an operator may look for (the article id comes from ``logs.about``)."""
    if spec.name == catalog.DEADLETTER.name:
        log.warning("dead letter %s: %s", value.get("code"), value.get("message"))
    elif spec.name == catalog.ALERTS.name:
        log.info("alert %s%s", value.get("type"), " (hedged)" if value.get("hedged") else "")
    elif spec.name == catalog.DUPLICATES.name:
        log.debug("duplicate of %s (%s)", value.get("duplicate_of"), value.get("method"))
    elif spec.name == catalog.ENRICHED.name:
        log.debug("enriched: %d entities", len(value.get("entities") or ()))


@dataclass
class WirewatchApp:
    """The Faust app and what its agents share (the topics, the loaded pipeline, the metrics)."""

    settings: Settings
    app: faust.App
    topics: dict[str, faust.TopicT]
    pipeline: Pipeline
    models_ready: asyncio.Event = field(default_factory=asyncio.Event)
    counters: dict[str, int] = field(default_factory=dict)
    agents: dict[str, Any] = field(default_factory=dict)
    metrics: Metrics = field(default_factory=Metrics)  # its own registry: one per app
    assignment_known: bool = False  # a rebalance has completed at least once
    rebalance_started: float | None = None  # time.monotonic() when the current rebalance began, else None

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n


# what aiokafka raises when the broker refuses a record as larger than the topic takes
_TOO_LARGE = (MessageSizeTooLargeError, RecordTooLargeError)


class DeliveryFailed(Exception):
    """The broker did not take an output record (other than as too large). The enrich agent
    stops on it without acking the batch: its articles are enriched again after a restart."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One record sent: its topic, its size, and the future of the broker's answer."""

    spec: catalog.TopicSpec
    size: int
    future: Awaitable[Any]


@dataclass(frozen=True, slots=True)
class InFlight:
    """A batch of the enrich agent between its submission and its acks."""

    events: list[faust.EventT[bytes]]  # to enrich
    raws: list[bytes]
    future: asyncio.Future[Enriched] | None  # None: nothing to enrich
    slot: asyncio.Semaphore  # released once the batch is acked: two batches in flight at most
    again: list[faust.EventT[bytes]] = field(default_factory=list)  # copies received already: only acked


def create_app(settings: Settings, pipeline: Pipeline | None = None) -> WirewatchApp:
    """Build the app from ``settings``; ``pipeline`` may be given pre-loaded (tests)."""
    # Every size limit comes from WIREWATCH_RECORD_MAX_BYTES (topics/sizes.py). Consumers
    # keep Faust's per-partition fetch size (1 MiB): a broker answers a fetch whose first
    # record is larger with that record whole (fetch v3+, KIP-74).
    sizes = settings.message_sizes()
    dedup_changelog = f"{settings.app_id}-{_DEDUP_TABLE}-changelog"
    app = faust.App(
        settings.app_id,
        broker=settings.kafka_url(),
        broker_credentials=_credentials(settings),
        store=settings.store,
        datadir=str(settings.data_dir),
        web_enabled=settings.web_enabled,
        web_port=settings.web_port,
        web_host=settings.web_host,
        topic_partitions=settings.topic_partitions,
        processing_guarantee=settings.processing_guarantee,
        producer_linger=settings.producer_linger,
        producer_max_batch_size=settings.producer_max_batch_size,
        producer_max_request_size=sizes.producer_max_request_size,
        table_standby_replicas=settings.table_standby_replicas,
        autodiscover=False,
        topic_allow_declare=True,
        topic_disable_leader=False,
        broker_session_timeout=settings.broker_session_timeout,
        broker_heartbeat_interval=settings.broker_heartbeat_interval,
        broker_rebalance_timeout=settings.broker_rebalance_timeout,
        broker_request_timeout=settings.broker_request_timeout,
        # a topic created after the worker subscribed is read within this (aiokafka: 5 min)
        consumer_metadata_max_age_ms=int(settings.topic_metadata_max_age * 1000),
        # every raw partition at the worker that holds the dedup table (assignment.py)
        PartitionAssignor=assignor_for(catalog.RAW.name, dedup_changelog),
    )

    bound_fetch_wait(app, settings.fetch_max_wait)

    def topic(spec: catalog.TopicSpec, partitions: int | None = None) -> faust.TopicT:
        return app.topic(
            spec.name,
            key_serializer="raw",
            value_serializer="raw",
            partitions=partitions or spec.partitions,
            retention=None,
            config=spec.config(sizes),
            # Faust creates a deployment's own internal topics when they are missing.
            internal=not spec.public,
        )

    unique_spec = catalog.unique_topic(settings.app_id)
    topics = {spec.name: topic(spec) for spec in catalog.catalog_for(settings.app_id)}
    ww = WirewatchApp(
        settings=settings,
        app=app,
        topics=topics,
        pipeline=pipeline if pipeline is not None else Pipeline(settings, load_models=False),
    )

    # Dedup state: one table of one partition (its changelog too), written from the
    # raw topic's four, always to partition 0 (assignment.one_partition_table): one
    # changelog record per unique article.
    # The exact index (content hash -> cluster) and the LSH buckets are derived
    # from the signatures and rebuilt in memory after each rebalance, before the
    # first article is checked. (Deployments from before session 14 kept a
    # "dedup-exact" table too; its changelog topic is no longer read.)
    signatures = app.Table(_DEDUP_TABLE, default=None, partitions=1, use_partitioner=True)
    assert signatures.changelog_topic.get_topic_name() == dedup_changelog
    one_partition_table(signatures)
    deduplicator = ww.pipeline.deduplicator(DedupState(signatures=signatures))
    index_stale = [True]

    raw_topic = topics[catalog.RAW.name]
    unique_topic = topics[unique_spec.name]
    metrics = ww.metrics
    source_topics = (catalog.RAW.name, unique_spec.name)
    metrics.watch_consumer(lambda: faust_consumer_offsets(app, source_topics))

    def encode(spec: catalog.TopicSpec, key: str | bytes | None, value: dict[str, Any]) -> tuple[bytes | None, bytes]:
        """Key and value as sent; ``OutputTooLarge`` if the topic would refuse the record."""
        encoded_key = key.encode("utf-8") if isinstance(key, str) else key
        encoded = orjson.dumps(value)
        limit = spec.max_message_bytes(sizes)
        check_record_size(spec.name, encoded_key, encoded, limit or sizes.producer_max_request_size)
        return encoded_key, encoded

    async def send_json(
        spec: catalog.TopicSpec,
        key: str | bytes | None,
        value: dict[str, Any],
        partition: int | None = None,
        encoded: tuple[bytes | None, bytes] | None = None,
    ) -> Awaitable[Any]:
        """Send one record; returns its delivery (resolved once the broker has it, or failed)."""
        encoded_key, encoded_value = encoded if encoded is not None else encode(spec, key, value)
        delivery = await topics[spec.name].send(key=encoded_key, value=encoded_value, partition=partition)
        ww.count(f"out:{spec.name}")
        metrics.sent(spec.name, value)
        _log_output(spec, value)
        return delivery

    async def internal_error(raw: bytes, key: bytes | None, position: SourcePosition, exc: Exception) -> Awaitable[Any]:
        """A bug met this record: log it, keep the bytes on the dead-letter topic, go on.

        An output over its topic's size limit is not a bug: a dead letter ``output_too_large``.
        """
        if isinstance(exc, OutputTooLarge):
            rejection = exc.rejection()
        else:
            log.exception("internal error on %s[%s]@%s", position.topic, position.partition, position.offset)
            rejection = Rejection("internal_error", f"{type(exc).__name__}: {exc}"[:500])
        value = dead_letter(raw, rejection, position).to_value()
        try:
            encoded = encode(catalog.DEADLETTER, key, value)
        except OutputTooLarge as too_large:
            # Cannot happen with the catalog's sizes (the dead-letter topic holds the base64 of
            # any record the other topics accept); if it does, keep the record, not the bytes.
            log.error("dead letter %s without its %d bytes: %s", rejection.code, len(raw), too_large)
            value["raw_b64"] = ""
            value["message"] += f" (the original {len(raw)} bytes are not kept: {too_large})"
            encoded = encode(catalog.DEADLETTER, key, value)
        return await send_json(catalog.DEADLETTER, key, value, encoded=encoded)

    stopping: list[asyncio.Task[None]] = []  # the crash task, referenced until it ends

    def refused(topic: str, exc: BaseException) -> None:
        log.critical(
            "the broker did not take a record for %s (%r): this worker commits nothing more and stops; "
            "after a restart it processes the records since its last commit again",
            topic,
            exc,
        )
        reason = DeliveryFailed(f"the broker did not take a record for {topic}: {exc!r}")
        stopping.append(asyncio.get_running_loop().create_task(app.crash(reason)))

    # the topics of the agents that ack as their stream moves on (workers/delivery.py)
    guarded = {unique_spec.name, catalog.DUPLICATES.name, catalog.DEADLETTER.name}
    send_guard = SendGuard(guarded, refused)
    app.sensors.add(send_guard)

    def where(event: faust.EventT[bytes]) -> SourcePosition:
        message = event.message
        return SourcePosition(message.topic, message.partition, message.offset)

    continuity = Continuity()
    committed_seen: dict[Any, int | None] = {}  # by the last seek to committed offsets, 0 included

    def watch(event: faust.EventT[bytes]) -> bool:
        """Whether to process ``event``: False for a copy of a record received already since the
        rebalance (see continuity.py). Logs where each partition resumes and any offsets skipped."""
        message = event.message
        step, previous, missing = continuity.see(message.topic, message.partition, message.offset)
        if step is Step.REPLAY:
            metrics.redelivered(message.topic)
            if previous != message.offset - 1:  # the first of a run of copies
                log.info(
                    "%s[%d]: offset %d and those after it delivered again since the rebalance; "
                    "the copies already received are skipped",
                    message.topic,
                    message.partition,
                    message.offset,
                )
            return False
        if step is Step.FIRST:
            committed = committed_seen.get(message.tp)
            if committed is None:
                committed = committed_offset(app, message.tp)
            if committed is not None and message.offset > committed:
                skipped = message.offset - committed
                metrics.skipped(message.topic, skipped)
                log.warning(
                    "%s[%d] resumes at offset %d but the group committed %d: %d records skipped "
                    "(deleted by retention, or not delivered)",
                    message.topic,
                    message.partition,
                    message.offset,
                    committed,
                    skipped,
                )
            else:
                log.info("%s[%d] resumes at offset %d", message.topic, message.partition, message.offset)
        elif step is Step.GAP:
            metrics.skipped(message.topic, missing)
            log.warning(
                "%s[%d]: offset %d follows %d: %d records skipped",
                message.topic,
                message.partition,
                message.offset,
                previous,
                missing,
            )
        return True

    last_purge = [time.time()]
    # Unique articles are spread over the unique topic by text length, not by key
    # hash: a hash splits a few hundred articles unevenly, and the busiest worker
    # then sets the pace (nothing needs one id's records in order: each is
    # enriched alone). See balance.py.
    spread = LeastLoaded(unique_spec.partitions)
    local_unique: list[int] = []  # this worker's partitions of the unique topic, since the last rebalance

    def dedupe(article: Article, now: float) -> tuple[catalog.TopicSpec, str, dict[str, Any], int | None]:
        """Where ``article`` goes: the duplicates topic, or a partition of the unique topic."""
        if index_stale[0]:  # the table is recovered by now: streams resume after recovery
            with about(None):
                started = time.monotonic()
                indexed = deduplicator.rebuild_index(now)
                index_stale[0] = False
                took = time.monotonic() - started
                log.info("dedup index rebuilt (exact + LSH): %d signatures in %.2f s", indexed, took)
        with metrics.stage("dedup"):
            duplicate = Pipeline.dedup(deduplicator, article, now)
        outcome: tuple[catalog.TopicSpec, str, dict[str, Any], int | None]
        if duplicate is not None:
            outcome = catalog.DUPLICATES, duplicate.id, duplicate.to_value(), None
        else:  # every worker gets the same share of the NER work
            outcome = unique_spec, article.id, article.to_value(), spread.pick(len(article.text))
        spread.charge(local_unique, DEDUP_CHARS)  # and this one does the first stage for every article
        return outcome

    @app.agent(raw_topic, name="validate_and_dedupe")
    async def validate_and_dedupe(stream: faust.StreamT[bytes]) -> None:
        """Each raw article: a dead letter, a duplicate, or a unique article for the enrich stage."""
        async for event in stream.events():
            raw = event.value if isinstance(event.value, bytes) else b""
            metrics.message_in(catalog.RAW.name)
            if not watch(event):
                continue  # received already: acked as the stream moves on
            with about(event.key):
                try:
                    with metrics.stage("validate"):
                        outcome = ww.pipeline.validate(raw, where(event))
                    if isinstance(outcome, DeadLetter):  # bad input; over the limits included
                        await send_json(catalog.DEADLETTER, event.key, outcome.to_value())
                        continue
                    now = time.time()
                    spec, key, value, partition = dedupe(outcome, now)
                    await send_json(spec, key, value, partition)
                    if now - last_purge[0] > _PURGE_EVERY_SECONDS:  # inside the stream: the table may change here
                        with about(None):
                            removed = deduplicator.purge(now)
                            last_purge[0] = now
                            log.info("dedup purge removed %d expired signatures", removed)
                except Exception as exc:
                    await internal_error(raw, event.key, where(event), exc)

    async def publish(results: list[EnrichedResult], events: list[faust.EventT[bytes]], raws: list[bytes]) -> None:
        """Send each result's event and alerts, and wait until the broker has them all.

        A result too large for its topics becomes a dead letter, whether the catalog's
        limit says so before the send or the broker refuses it (a topic created with a
        smaller max.message.bytes). Any other refusal raises ``DeliveryFailed``: the
        batch is then never acked, so its articles are enriched again after a restart
        instead of being committed without their events.
        """
        pairs = list(zip(events, raws, strict=True))
        by_key = {e.key: (e, raw) for e, raw in pairs if isinstance(e.key, bytes)}
        sent: list[tuple[faust.EventT[bytes], bytes, list[Delivery]]] = []
        for index, result in enumerate(results):  # one result per event, in order
            article_id = result.event["id"]
            # validate_and_dedupe keys each unique record by its article id
            event, raw = by_key.get(article_id.encode("utf-8")) or pairs[min(index, len(pairs) - 1)]
            with about(article_id):
                outputs = [(catalog.ENRICHED, article_id, result.event)]
                outputs += [(catalog.ALERTS, alert.alert_id, alert.to_value()) for alert in result.alerts]
                try:  # all or nothing: no alerts without their event
                    encoded = [encode(spec, key, value) for spec, key, value in outputs]
                except OutputTooLarge as exc:
                    dead = await internal_error(raw, event.key, where(event), exc)
                    sent.append((event, raw, [Delivery(catalog.DEADLETTER, 0, dead)]))
                    continue
                deliveries = []
                for (spec, key, value), pair in zip(outputs, encoded, strict=True):
                    delivery = await send_json(spec, key, value, encoded=pair)
                    deliveries.append(Delivery(spec, record_size(*pair), delivery))
                sent.append((event, raw, deliveries))
        for event, raw, deliveries in sent:
            with about(event.key):
                await delivered(event, raw, deliveries)

    async def delivered(event: faust.EventT[bytes], raw: bytes, deliveries: list[Delivery]) -> None:
        """Wait for one article's records; dead-letter it if the broker refused one as too large."""
        outcomes = await asyncio.gather(*(d.future for d in deliveries), return_exceptions=True)
        failed = [(d, o) for d, o in zip(deliveries, outcomes, strict=True) if isinstance(o, BaseException)]
        if not failed:
            return
        for delivery, error in failed:
            if not isinstance(error, _TOO_LARGE) or delivery.spec is catalog.DEADLETTER:
                topic = delivery.spec.name
                raise DeliveryFailed(f"the broker did not take a record for {topic}: {error!r}") from error
        delivery, error = failed[0]
        limit = delivery.spec.max_message_bytes(sizes) or sizes.producer_max_request_size
        too_large = OutputTooLarge(delivery.spec.name, delivery.size, limit, refused=repr(error))
        dead = await internal_error(raw, event.key, where(event), too_large)
        try:
            await dead
        except Exception as exc:
            raise DeliveryFailed(f"the broker did not take the dead letter: {exc!r}") from exc

    # spaCy runs in a child process by default (workers/nlp_process.py), else in
    # a thread of the worker. Either way the event loop stays free for the other
    # agents, Kafka and the web pages while a batch is enriched.
    nlp = nlp_runner(
        settings, ww.pipeline, on_start=metrics.nlp_process_started, on_replaced=metrics.nlp_process_replaced
    )

    async def enrich_alone(event: faust.EventT[bytes], raw: bytes) -> None:
        with about(event.key):
            try:
                await publish((await (await nlp.submit([raw]))).results, [event], [raw])
            except DeliveryFailed:
                raise  # the broker's fault, not the article's
            except Exception as exc:
                await (await internal_error(raw, event.key, where(event), exc))

    async def finish_batches(stream: faust.StreamT[bytes], in_flight: asyncio.Queue[InFlight]) -> None:
        """Publish each batch's results, then ack its events: in the order the batches were taken."""
        while True:
            batch = await in_flight.get()
            if batch.future is not None:
                with about([e.key for e in batch.events]):
                    try:
                        enriched = await batch.future
                    except Exception:
                        # One bad article must not sink its batch: retry one by one.
                        log.warning("batch of %d failed; enriching one by one", len(batch.events), exc_info=True)
                        for event, raw in zip(batch.events, batch.raws, strict=True):
                            await enrich_alone(event, raw)
                    else:
                        metrics.stage_took("enrich", enriched.seconds)
                        await publish(enriched.results, batch.events, batch.raws)
            # only now may the consumer commit their offsets; a copy's first one was taken
            # earlier, so it is acked by now (or just above, in this batch)
            for event in (*batch.events, *batch.again):
                await stream.ack(event)
            batch.slot.release()

    @app.agent(unique_topic, name="enrich_articles")
    async def enrich_articles(stream: faust.StreamT[bytes]) -> None:
        """Batches of unique articles through ``nlp``, two batches in flight.

        While one batch is published the next is already being enriched, so
        spaCy never waits for Kafka. Events are taken without acks and acked by
        ``finish_batches`` once their batch is published, in order: the
        committed offset never passes an article whose event is not out yet.
        """
        await ww.models_ready.wait()
        in_flight: asyncio.Queue[InFlight] = asyncio.Queue()
        slots = asyncio.Semaphore(2)
        async with asyncio.TaskGroup() as group:  # finish_batches failing ends the agent, as before
            group.create_task(finish_batches(stream, in_flight))
            batches = stream.noack_take(  # type: ignore[attr-defined]  # on Stream, missing from StreamT
                settings.nlp_batch_size, within=settings.nlp_batch_within
            )
            async for taken in batches:
                metrics.message_in(unique_spec.name, len(taken))
                events: list[faust.EventT[bytes]] = []
                again: list[faust.EventT[bytes]] = []
                for event in cast(list[faust.EventT[bytes]], taken):  # noack_take yields the events
                    (events if watch(event) else again).append(event)
                raws = [e.value if isinstance(e.value, bytes) else b"" for e in events]
                await slots.acquire()
                future = None
                if events:
                    metrics.batch(len(events))
                    with about([e.key for e in events]):
                        future = await nlp.submit(raws)
                in_flight.put_nowait(InFlight(events, raws, future, slots, again))

    @app.task  # type: ignore[untyped-decorator]  # faust's decorator is untyped
    async def install_diagnostics() -> None:
        install_state_dump(app, asyncio.get_running_loop(), nlp)  # SIGUSR1: see diagnostics.py

    @app.task  # type: ignore[untyped-decorator]  # faust's decorator is untyped
    async def load_models() -> None:
        started = time.monotonic()
        if settings.models_load_delay > 0:
            log.info("loading models in %.1f s (WIREWATCH_MODELS_LOAD_DELAY)", settings.models_load_delay)
            await asyncio.sleep(settings.models_load_delay)
            started = time.monotonic()
        # The language identifier (validate) loads its model on first use (~2 s): not inside the loop.
        await asyncio.to_thread(detect_language, "warm up the language identifier")
        await nlp.start()
        log.info("models loaded in %.1f s", time.monotonic() - started)
        metrics.loaded(time.monotonic() - started)
        ww.models_ready.set()

    async def stop_nlp(sender: Any, /, *args: Any, **kwargs: Any) -> None:
        await nlp.close()

    app.on_before_shutdown.connect(stop_nlp)

    def on_rebalance_complete(sender: Any, /, *args: Any, signal: BaseSignalT[Any], **kwargs: Any) -> None:
        ww.assignment_known = True  # for /ready: the group gave this worker its partitions (maybe none)
        index_stale[0] = True  # the dedup table may have moved here or changed elsewhere
        continuity.reset()  # partitions resume at their committed offsets from here on
        keep_fetched.arm()  # Faust's next flow_control.resume() must not empty the agents' queues
        ww.rebalance_started = None
        local_unique[:] = sorted(tp.partition for tp in app.assignor.assigned_actives() if tp.topic == unique_spec.name)

    def on_partitions_revoked(sender: Any, /, *args: Any, signal: BaseSignalT[Any], **kwargs: Any) -> None:
        keep_fetched.disarm()  # a rebalance that ended early: the next resume clears as Faust intends
        fetched.forget(args[0] if args else ())  # Faust sends the revoked set; it forgets their acks and gaps
        gaps_only_where_never_fetched(app, fetched)  # once, before the first assignment (see recovery.py)
        guard_commits(app, send_guard)  # once, before the first assignment (see delivery.py)
        reseek_changelogs_with_streams(app)  # once, before the first assignment (see recovery.py)
        seek_uncommitted_streams_too(app, committed_seen)  # likewise
        if ww.rebalance_started is None:  # for /health: how long this worker has been rebalancing
            ww.rebalance_started = time.monotonic()

    keep_fetched = keep_records_fetched_during_seek(app)
    fetched = Fetched()  # what the fetcher handed over (see gaps_only_where_never_fetched)
    app.on_rebalance_complete.connect(on_rebalance_complete)
    app.on_partitions_revoked.connect(on_partitions_revoked)

    ww.agents = {
        "validate_and_dedupe": validate_and_dedupe,
        "enrich": enrich_articles,
    }
    if settings.web_enabled:
        install_pages(ww)
    return ww
