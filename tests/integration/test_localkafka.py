"""The local Docker-free Kafka broker (workers.localkafka) against a real JVM broker.

Each broker here runs on free ports in a tmp state dir, so these tests never touch a broker
the developer already runs on 9092. The jars come from the shared cache (first run: Maven).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from workers import localkafka
from workers.localkafka import LocalKafkaConfig, LocalKafkaError

from .harness import free_ports

pytestmark = pytest.mark.integration

SCRAM_USER = ("wirewatch-test", "s3cret-Pass.word")


def make_config(state_dir: Path, *, sasl: bool = False) -> LocalKafkaConfig:
    port, controller_port, sasl_port = free_ports(3)
    return LocalKafkaConfig(
        port=port,
        controller_port=controller_port,
        state_dir=state_dir,
        sasl_port=sasl_port if sasl else None,
        scram_users=(SCRAM_USER,) if sasl else (),
    )


def pid_alive(pid: int) -> bool:
    """A running process; an exited one waiting to be reaped (zombie) counts as dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafkaConfig]:
    cfg = make_config(tmp_path_factory.mktemp("kafka"), sasl=True)
    localkafka.start(cfg, progress=lambda msg: print(msg, file=sys.stderr))
    try:
        yield cfg
    finally:
        localkafka.stop(cfg)


def test_status_reports_a_running_answering_broker(broker: LocalKafkaConfig) -> None:
    """status() sees our pid, our bootstrap address and a broker that answers Kafka requests."""
    st = localkafka.status(broker)
    assert st.running and st.answering
    assert st.pid is not None and pid_alive(st.pid)
    assert st.bootstrap == f"127.0.0.1:{broker.port}"
    assert st.log_path.is_file() and "Kafka Server started" in st.log_path.read_text()


def test_start_is_idempotent(broker: LocalKafkaConfig) -> None:
    """A second start() returns the broker already running instead of launching another."""
    before = localkafka.status(broker)
    again = localkafka.start(broker, timeout=10)
    assert again.running and again.answering and again.pid == before.pid


async def test_topic_round_trip_with_aiokafka(broker: LocalKafkaConfig) -> None:
    """A topic created explicitly takes a message and gives it back."""
    bootstrap = localkafka.status(broker).bootstrap
    topic = f"test-roundtrip-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        # The broker's metadata catches up with a new topic within moments, not at once.
        for _ in range(50):
            if topic in await admin.list_topics():
                break
            await asyncio.sleep(0.2)
        assert topic in await admin.list_topics()
    finally:
        await admin.close()

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, key=b"k", value=b'{"hello": "kafka"}')
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"test-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        msg = await asyncio.wait_for(consumer.getone(), timeout=30)
    finally:
        await consumer.stop()
    assert (msg.key, msg.value) == (b"k", b'{"hello": "kafka"}')


async def test_sasl_scram_listener_authenticates_users(broker: LocalKafkaConfig) -> None:
    """The SASL_PLAINTEXT listener accepts the SCRAM-SHA-512 user created at format time only."""
    user, password = SCRAM_USER
    common = {
        "bootstrap_servers": f"127.0.0.1:{broker.sasl_port}",
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": user,
    }
    admin = AIOKafkaAdminClient(sasl_plain_password=password, **common)
    await admin.start()
    try:
        topic = f"test-sasl-{uuid.uuid4().hex[:8]}"
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        assert topic in await admin.list_topics()
    finally:
        await admin.close()

    intruder = AIOKafkaProducer(sasl_plain_password="wrong-password", **common)
    with pytest.raises(KafkaError):
        await intruder.start()
    await intruder.stop()


async def test_stop_stops_and_restart_keeps_topics(tmp_path: Path) -> None:
    """stop() ends our broker and frees its port; a restart reuses the formatted data dir."""
    cfg = make_config(tmp_path / "kafka")
    first = localkafka.start(cfg)
    assert first.pid is not None
    topic = f"test-durable-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=first.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    cluster_id = (cfg.state_dir / "cluster.id").read_text()

    assert localkafka.stop(cfg) is True
    assert not pid_alive(first.pid)
    st = localkafka.status(cfg)
    assert not st.running and not st.answering and st.pid is None
    assert not (cfg.state_dir / "broker.pid").exists()
    assert localkafka.stop(cfg) is False  # nothing left to stop

    second = localkafka.start(cfg)
    try:
        assert second.answering and second.pid != first.pid
        assert (cfg.state_dir / "cluster.id").read_text() == cluster_id
        admin = AIOKafkaAdminClient(bootstrap_servers=second.bootstrap)
        await admin.start()
        try:
            assert topic in await admin.list_topics()
        finally:
            await admin.close()
    finally:
        assert localkafka.stop(cfg) is True


def test_stop_refuses_to_kill_a_process_that_is_not_ours(tmp_path: Path) -> None:
    """A pid file naming an unrelated process: stop() says so and leaves that process alone."""
    cfg = make_config(tmp_path / "kafka")
    cfg.state_dir.mkdir(parents=True)
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        (cfg.state_dir / "broker.pid").write_text(f"{sleeper.pid}\n")
        with pytest.raises(LocalKafkaError, match=r"not our Kafka broker.*NOT signalled"):
            localkafka.stop(cfg)
        assert sleeper.poll() is None, "stop() killed a process that was not our broker"
        assert not localkafka.status(cfg).running
    finally:
        sleeper.kill()
        sleeper.wait()


def test_start_reports_a_busy_port(tmp_path: Path) -> None:
    """start() refuses a port someone else listens on, before launching anything."""
    cfg = make_config(tmp_path / "kafka")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", cfg.port))
        squatter.listen()
        with pytest.raises(LocalKafkaError, match=rf"port {cfg.port} .*busy"):
            localkafka.start(cfg, timeout=30)
    assert not (cfg.state_dir / "broker.pid").exists()


def test_start_reports_a_dead_broker_with_its_log(tmp_path: Path) -> None:
    """A broker that dies at launch gives an error carrying the tail of its log."""
    cfg = dataclasses.replace(make_config(tmp_path / "kafka"), heap="-Xmx1k")  # JVM says no
    with pytest.raises(LocalKafkaError, match=r"(?s)died during startup.*heap"):
        localkafka.start(cfg, timeout=60)
    assert not localkafka.status(cfg).running
