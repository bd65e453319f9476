"""Settings: the one place that reads the environment.

Every field can be set with ``WIREWATCH_<FIELD>`` (``WIREWATCH_BODY_MAX_BYTES``);
the Kafka connection also honours the usual un-prefixed names
(``KAFKA_BOOTSTRAP_SERVERS``, ``KAFKA_SECURITY_PROTOCOL``, ``KAFKA_SASL_MECHANISM``,
``KAFKA_SASL_USERNAME``, ``KAFKA_SASL_PASSWORD``, ``KAFKA_SSL_CAFILE``...).
Everything else takes a ``Settings`` as an argument, so tests build their own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from topics.sizes import MessageSizes, message_sizes

__all__ = ["Settings"]


def _env(name: str) -> AliasChoices:
    """Accept WIREWATCH_<NAME> first, then the conventional KAFKA_<NAME>."""
    return AliasChoices(f"WIREWATCH_{name}", f"KAFKA_{name}")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WIREWATCH_", extra="ignore", populate_by_name=True)

    # --- Kafka connection -------------------------------------------------
    bootstrap_servers: str = Field("127.0.0.1:9092", validation_alias=_env("BOOTSTRAP_SERVERS"))
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", validation_alias=_env("SECURITY_PROTOCOL")
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        "SCRAM-SHA-512", validation_alias=_env("SASL_MECHANISM")
    )
    sasl_username: str | None = Field(None, validation_alias=_env("SASL_USERNAME"))
    sasl_password: SecretStr | None = Field(None, validation_alias=_env("SASL_PASSWORD"))
    ssl_cafile: Path | None = Field(None, validation_alias=_env("SSL_CAFILE"))
    ssl_certfile: Path | None = Field(None, validation_alias=_env("SSL_CERTFILE"))
    ssl_keyfile: Path | None = Field(None, validation_alias=_env("SSL_KEYFILE"))

    # --- The project's local broker (wirewatch kafka start) ------------------
    local_kafka_port: int = 9092
    local_kafka_controller_port: int = 9093
    local_kafka_dir: Path = Path(".wirewatch/kafka")

    # --- Faust worker -----------------------------------------------------
    app_id: str = "wirewatch"
    # rocksdb:// (persistent, production) or memory:// (tests; state comes back from changelogs)
    store: str = "rocksdb://"
    data_dir: Path = Path(".wirewatch/worker")
    web_enabled: bool = True
    web_port: int = 6066
    web_host: str = "127.0.0.1"  # 0.0.0.0 in a container, so Prometheus can scrape /metrics
    topic_partitions: int = 4
    # How fast a dead worker's partitions move to the others (Kafka group protocol).
    broker_session_timeout: float = 60.0
    broker_heartbeat_interval: float = 3.0
    broker_rebalance_timeout: float = 60.0
    # How long the worker waits for the broker's answer to a request (Faust's default);
    # at least the session timeout, which a group join may take.
    broker_request_timeout: float = Field(90.0, gt=0)
    topic_replication_factor: int = 1  # 3 on a production cluster
    processing_guarantee: Literal["at_least_once", "exactly_once"] = "at_least_once"
    # Articles per enrich batch (one nlp.pipe call per language): ~0.6 s of spaCy for
    # wire copy of ~1,800 characters. Larger batches are no faster per article and
    # cost memory (32: +57 MB in the NLP process); smaller ones cost 3-4% more CPU.
    # README, Performance.
    nlp_batch_size: int = 16
    nlp_batch_within: float = 0.1  # seconds to wait for a batch to fill
    # Texts longer than this many characters go through spaCy in pieces cut at
    # paragraph breaks (workers/nlp.py: split_for_nlp), joined back into one Doc:
    # a megabyte article took spaCy 3.0 GB more memory whole, 0.25 GB so. Wire
    # copy (~2,000 characters) is never cut. 0: always whole. README, Reliability.
    nlp_chunk_chars: int = Field(10_000, ge=0)
    # Run spaCy in a child process of the worker (workers/nlp_process.py), so the
    # event loop (fetch, validate, dedup, produce) runs on another core and the
    # worker survives a crash of spaCy. Off: spaCy runs in the worker itself.
    nlp_process: bool = True
    # Seconds the child may take over one batch before it is killed and restarted.
    nlp_timeout: float = 120.0
    # MiB of freed heap the NLP process keeps for its next batch rather than hand back
    # to the system (glibc). With glibc's defaults it returned the ~40 MB a batch
    # frees and faulted it in again for the next: ~650 page faults and ~1 ms of
    # kernel time per article. 0: glibc's defaults. README, Performance.
    nlp_heap_retain_mb: int = Field(128, ge=0)
    # MiB the NLP process may hold after a batch before the worker replaces it: spaCy
    # keeps every new word a feed brings (~0.5 KB each, in its vocabulary and caches)
    # for the life of the process, so one that runs for weeks creeps up. A busy
    # process holds ~470 MB on wire copy (365 with its models loaded, plus the heap
    # kept for the next batch), so 576 leaves ~100 MB for new words. The replacement
    # loads the models again (~7 s without enrichment on this worker). 0: never
    # replaced for its size. README, Reliability.
    nlp_max_rss_mb: int = Field(576, ge=0)
    # With nlp_process off: run each enrich batch in a thread of the worker, so
    # the event loop goes on meanwhile (off: on the loop itself).
    nlp_thread: bool = True
    # Seconds the broker may hold a fetch of the worker's consumer while it has no
    # new records (faust-streaming fixes 1.5 s; workers/fetching.py says why less).
    fetch_max_wait: float = Field(0.2, gt=0)
    # Seconds the producer gathers records for a partition before it sends them
    # (Faust's producer_linger, 0 there; Kafka 4's own producer waits 5 ms). Fewer,
    # fuller produce requests cost the worker and the broker less CPU per article;
    # each hop may wait this long. README, Performance.
    producer_linger: float = Field(0.02, ge=0, le=1.0)
    # Bytes of one partition's records the producer sends as one batch (Faust's
    # producer_max_batch_size, 16 KiB there). A produce request carries one batch
    # per partition, and 16 KiB holds two enriched events of ~6.4 KB: publishing a
    # batch of 16 took several requests. Below the broker's default
    # max.message.bytes (~1 MiB), which the duplicates topic and the dedup
    # changelog keep. benchmarks/produce_batch_bench.py; README, Performance.
    producer_max_batch_size: int = Field(262144, ge=1024, le=1_000_000)
    # Workers that keep a copy of the dedup table besides the one that owns it
    # (Faust's table_standby_replicas). With a copy, a worker that takes dedup over
    # starts at once; without one it first reads the table back from its
    # changelog (the whole window). The copy costs its worker CPU for every
    # article dedup records. README, Performance.
    table_standby_replicas: int = Field(1, ge=0)
    # The worker creates the catalog's missing topics when it starts (as `wirewatch topics
    # create` does). Off where the worker may not create topics: it then reads a topic
    # created later within topic_metadata_max_age seconds. README, Configuration.
    create_topics: bool = True
    topic_metadata_max_age: float = Field(30.0, gt=0)
    languages: tuple[str, ...] = ("fr", "en")
    log_level: str = "INFO"
    log_json: bool = False  # JSON lines (one object per record) instead of text
    # Seconds to wait before loading the spaCy models. 0 in production; the
    # operations test sets it to watch /ready answer 503 before the models are in.
    models_load_delay: float = 0.0
    # /health answers 503 once a rebalance (table recovery included) has lasted this
    # many seconds: a liveness probe then restarts a worker stuck in recovery. 0: never.
    rebalance_stall_seconds: float = 600.0

    # --- Input limits (checked before parsing) ------------------------------
    body_max_bytes: int = 1024 * 1024
    # Also sets every topic's max.message.bytes and the producers' request sizes
    # (topics/sizes.py: message_sizes). README, Topics and messages.
    record_max_bytes: int = Field(2 * 1024 * 1024, gt=0)
    json_max_depth: int = 32
    id_max_chars: int = 512

    # --- Deduplication ----------------------------------------------------
    dedup_window_days: float = 7.0
    minhash_num_perm: int = 128
    minhash_threshold: float = 0.7
    shingle_words: int = 5

    @model_validator(mode="after")
    def _request_outlasts_session(self) -> Settings:
        if self.broker_session_timeout > self.broker_request_timeout:
            raise ValueError(
                f"WIREWATCH_BROKER_SESSION_TIMEOUT ({self.broker_session_timeout:g} s) cannot be longer than "
                f"WIREWATCH_BROKER_REQUEST_TIMEOUT ({self.broker_request_timeout:g} s): raise the request timeout too"
            )
        return self

    def message_sizes(self) -> MessageSizes:
        """Each topic's max.message.bytes and the producers' request size, from ``record_max_bytes``."""
        return message_sizes(self.record_max_bytes)

    def kafka_url(self) -> str:
        """Broker URL list in Faust's form (``kafka://h1:p1;kafka://h2:p2``)."""
        hosts = [h.strip() for h in self.bootstrap_servers.split(",") if h.strip()]
        return ";".join(f"kafka://{h}" for h in hosts)

    def bootstrap_list(self) -> list[str]:
        return [h.strip() for h in self.bootstrap_servers.split(",") if h.strip()]

    def client_kwargs(self) -> dict[str, object]:
        """aiokafka client security arguments (secrets stay in SecretStr until here)."""
        kwargs: dict[str, object] = {"security_protocol": self.security_protocol}
        if self.security_protocol.startswith("SASL"):
            kwargs["sasl_mechanism"] = self.sasl_mechanism
            kwargs["sasl_plain_username"] = self.sasl_username
            kwargs["sasl_plain_password"] = self.sasl_password.get_secret_value() if self.sasl_password else None
        if self.security_protocol in ("SSL", "SASL_SSL"):
            from aiokafka.helpers import create_ssl_context

            kwargs["ssl_context"] = create_ssl_context(
                cafile=str(self.ssl_cafile) if self.ssl_cafile else None,
                certfile=str(self.ssl_certfile) if self.ssl_certfile else None,
                keyfile=str(self.ssl_keyfile) if self.ssl_keyfile else None,
            )
        return kwargs
