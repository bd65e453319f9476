"""The real broker for integration tests: started once per session, never mocked.

The broker is the project's own (``wirewatch kafka start`` machinery) on free
ports in a temporary state dir. If it cannot start, the tests fail with the
reason; they never skip.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from workers.admin import create_topics
from workers.localkafka import LocalKafkaConfig, start, stop
from workers.settings import Settings

from .harness import free_ports


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of a running local Apache Kafka broker with the catalog's topics."""
    state = tmp_path_factory.mktemp("kafka")
    port, controller_port = free_ports(2)  # held together, so never the same port twice
    config = LocalKafkaConfig(port=port, controller_port=controller_port, state_dir=state)
    status = start(config, timeout=120)
    try:
        asyncio.run(create_topics(Settings(bootstrap_servers=status.bootstrap)))
        yield status.bootstrap
    finally:
        stop(config)


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[LocalKafkaConfig]:
    """A broker of the test's own, with no topic yet (the test may stop and start it again)."""
    port, controller_port = free_ports(2)
    config = LocalKafkaConfig(port=port, controller_port=controller_port, state_dir=tmp_path / "kafka")
    start(config, timeout=120)
    try:
        yield config
    finally:
        stop(config)
