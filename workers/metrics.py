"""Prometheus metrics of one worker, in a registry of its own.

Each app gets its own ``CollectorRegistry`` (tests build several apps in one
process), served by the Faust web server at ``/metrics`` (see ``web.py``).
Counters and histograms are updated by the agents through ``Metrics``; the
consumer's offsets are read at scrape time by a collector, so a scrape costs
no broker round-trip.

Consumer lag, per source partition assigned to this worker::

    lag = highwater - committed

``highwater`` is the log-end offset the consumer last saw in a fetch response
(the offset the next produced record will get); ``committed`` is the offset
the worker last committed for its group (the next record it will process
after a restart). Both come from the worker's own Faust consumer, not from
the broker, so the figure is as fresh as the last fetch (a fraction of a
second while the worker runs). Records fetched but not yet committed count as
lag, as in ``kafka-consumer-groups.sh --describe``. Until the group has
committed on a partition, its lag is unknown (no sample), unless the
partition is empty (lag 0). ``wirewatch_consumer_position`` (the last offset
handed to the agent + 1) shows how far the worker has read ahead of its commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from topics import catalog

__all__ = ["CONTENT_TYPE", "PREFIX", "Metrics", "PartitionOffsets", "committed_offset", "faust_consumer_offsets"]

PREFIX = "wirewatch"
CONTENT_TYPE = CONTENT_TYPE_LATEST

# Seconds: validate/dedup take well under a millisecond, an NER batch up to seconds.
_STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


@dataclass(frozen=True, slots=True)
class PartitionOffsets:
    """Where this worker stands on one source partition (None: not known yet)."""

    topic: str
    partition: int
    highwater: int | None
    committed: int | None
    position: int | None

    @property
    def lag(self) -> int | None:
        if self.highwater is None:
            return None
        if self.committed is None:
            return 0 if self.highwater == 0 else None
        return max(0, self.highwater - self.committed)


class _ConsumerCollector(Collector):
    """Offsets and lag, read from the consumer when Prometheus scrapes."""

    def __init__(self, snapshot: Callable[[], Iterable[PartitionOffsets]]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        labels = ["topic", "partition"]
        lag = GaugeMetricFamily(
            f"{PREFIX}_consumer_lag", "Records not yet committed: highwater - committed.", labels=labels
        )
        high = GaugeMetricFamily(
            f"{PREFIX}_consumer_highwater", "Log-end offset last seen by the consumer.", labels=labels
        )
        committed = GaugeMetricFamily(
            f"{PREFIX}_consumer_committed_offset", "Offset last committed by this worker.", labels=labels
        )
        position = GaugeMetricFamily(
            f"{PREFIX}_consumer_position", "Last offset handed to the agent + 1.", labels=labels
        )
        assigned = GaugeMetricFamily(
            f"{PREFIX}_assigned_partitions", "Source partitions assigned to this worker.", labels=["topic"]
        )
        per_topic: dict[str, int] = {}
        for p in self._snapshot():
            values = [p.topic, str(p.partition)]
            per_topic[p.topic] = per_topic.get(p.topic, 0) + 1
            if p.highwater is not None:
                high.add_metric(values, p.highwater)
            if p.committed is not None:
                committed.add_metric(values, p.committed)
            if p.position is not None:
                position.add_metric(values, p.position)
            if p.lag is not None:
                lag.add_metric(values, p.lag)
        for topic, n in sorted(per_topic.items()):
            assigned.add_metric([topic], n)
        yield from (lag, high, committed, position, assigned)


class Metrics:
    """The worker's instruments, registered in ``registry`` (a new one by default)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        self.messages_in = Counter(
            f"{PREFIX}_messages_in", "Records consumed, per source topic.", ["topic"], registry=r
        )
        self.messages_out = Counter(
            f"{PREFIX}_messages_out", "Records produced, per destination topic.", ["topic"], registry=r
        )
        self.dead_letters = Counter(
            f"{PREFIX}_dead_letters", "Records sent to the dead-letter topic, per error code.", ["code"], registry=r
        )
        self.duplicates = Counter(
            f"{PREFIX}_duplicates", "Duplicates found, per method (exact, near).", ["method"], registry=r
        )
        self.alerts = Counter(
            f"{PREFIX}_alerts", "Alerts raised, per type and hedged (true/false).", ["type", "hedged"], registry=r
        )
        self.stage_seconds = Histogram(
            f"{PREFIX}_stage_seconds",
            "Time spent in a stage: validate and dedup per record, enrich per batch.",
            ["stage"],
            buckets=_STAGE_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            f"{PREFIX}_enrich_batch_size",
            "Articles per enrich batch (one nlp.pipe call).",
            buckets=_BATCH_BUCKETS,
            registry=r,
        )
        self.skipped_offsets = Counter(
            f"{PREFIX}_skipped_offsets",
            "Source offsets never delivered to an agent (a jump within an assignment, or a resume past the "
            "committed offset), per topic. Expected 0; see continuity.py.",
            ["topic"],
            registry=r,
        )
        self.redelivered_records = Counter(
            f"{PREFIX}_redelivered_records",
            "Copies of records an agent had received already since the last rebalance, skipped (only acked), "
            "per topic. Faust's seek to the committed offsets at the end of a rebalance sends them; see "
            "continuity.py.",
            ["topic"],
            registry=r,
        )
        self.models_loaded = Gauge(f"{PREFIX}_models_loaded", "1 once the spaCy models are loaded.", registry=r)
        self.models_load_seconds = Gauge(
            f"{PREFIX}_models_load_seconds", "How long loading the models took.", registry=r
        )
        self.rebalancing = Gauge(
            f"{PREFIX}_rebalancing_seconds",
            "How long the current rebalance (table recovery included) has lasted; 0 when none runs.",
            registry=r,
        )
        self.nlp_process_starts = Counter(
            f"{PREFIX}_nlp_process_starts",
            "NLP child processes started (workers/nlp_process.py): 1, plus one per restart after a crash or a "
            "timeout, and one per replacement past WIREWATCH_NLP_MAX_RSS_MB.",
            registry=r,
        )
        self.nlp_process_replacements = Counter(
            f"{PREFIX}_nlp_process_replacements",
            "NLP child processes replaced because they held more than WIREWATCH_NLP_MAX_RSS_MB after a batch.",
            registry=r,
        )
        self.ready = Gauge(f"{PREFIX}_ready", "1 when /ready answers 200 (see web.py for the checks).", registry=r)
        # Label values known in advance start at 0, so rate() and absent() behave from the first scrape.
        for method in ("exact", "near"):
            self.duplicates.labels(method=method)
        for spec in catalog.PUBLIC:
            if spec is not catalog.RAW:
                self.messages_out.labels(topic=spec.name)

    # -- updates ---------------------------------------------------------------
    def message_in(self, topic: str, n: int = 1) -> None:
        self.messages_in.labels(topic=topic).inc(n)

    def sent(self, topic: str, value: dict[str, Any]) -> None:
        """Count one record produced to ``topic``; dead letters, duplicates and alerts also by kind."""
        self.messages_out.labels(topic=topic).inc()
        if topic == catalog.DEADLETTER.name:
            self.dead_letters.labels(code=str(value.get("code"))).inc()
        elif topic == catalog.DUPLICATES.name:
            self.duplicates.labels(method=str(value.get("method"))).inc()
        elif topic == catalog.ALERTS.name:
            hedged = "true" if value.get("hedged") else "false"
            self.alerts.labels(type=str(value.get("type")), hedged=hedged).inc()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the block as stage ``name`` (also when it raises)."""
        with self.stage_seconds.labels(stage=name).time():
            yield

    def stage_took(self, name: str, seconds: float) -> None:
        """Stage ``name`` took ``seconds`` (timed where it ran: the NLP process, say)."""
        self.stage_seconds.labels(stage=name).observe(seconds)

    def nlp_process_started(self) -> None:
        self.nlp_process_starts.inc()

    def nlp_process_replaced(self) -> None:
        self.nlp_process_replacements.inc()

    def skipped(self, topic: str, n: int) -> None:
        self.skipped_offsets.labels(topic=topic).inc(n)

    def redelivered(self, topic: str) -> None:
        self.redelivered_records.labels(topic=topic).inc()

    def batch(self, size: int) -> None:
        self.batch_size.observe(size)

    def loaded(self, seconds: float) -> None:
        self.models_load_seconds.set(seconds)
        self.models_loaded.set(1)

    def watch_consumer(self, snapshot: Callable[[], Iterable[PartitionOffsets]]) -> None:
        """Export offsets and lag from ``snapshot()``, called at each scrape."""
        self.registry.register(_ConsumerCollector(snapshot))

    # -- exposition ------------------------------------------------------------
    def render(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)


def committed_offset(app: Any, tp: Any) -> int | None:
    """The offset ``app``'s consumer last committed (or found committed) on ``tp``; None if unknown."""
    try:
        value = getattr(app.consumer, "_committed_offset", {}).get(tp)
    except Exception:  # consumer not started yet, or stopping
        return None
    return value if isinstance(value, int) else None


def faust_consumer_offsets(app: Any, topics: Iterable[str]) -> list[PartitionOffsets]:
    """Offsets of the partitions of ``topics`` assigned to ``app``'s consumer; [] before it started.

    Reads the Faust consumer's own bookkeeping (``_committed_offset`` and
    ``_read_offset`` are private attributes of faust-streaming 0.15's
    ``Consumer``; a scrape must not fail if they change, hence the defaults).
    """
    wanted = set(topics)
    try:
        consumer = app.consumer
        assignment = consumer.assignment()
    except Exception:  # consumer not started yet, or stopping
        return []
    committed_map = getattr(consumer, "_committed_offset", {})
    read_map = getattr(consumer, "_read_offset", {})
    out = []
    for tp in sorted(assignment):
        if tp.topic not in wanted:
            continue
        try:
            highwater = consumer.highwater(tp)
        except Exception:  # partition just revoked, or consumer stopping
            highwater = None
        committed = committed_map.get(tp)
        read = read_map.get(tp)
        out.append(
            PartitionOffsets(
                topic=tp.topic,
                partition=tp.partition,
                highwater=highwater,
                committed=committed,
                position=read + 1 if read is not None else None,
            )
        )
    return out
