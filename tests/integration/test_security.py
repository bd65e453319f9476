"""Security on the real broker: SASL/SCRAM from the environment only, secrets kept out of logs, size limits.

The SASL tests run a broker of their own with a SASL_PLAINTEXT SCRAM-SHA-512 listener
next to the PLAINTEXT one; the test produces and reads through PLAINTEXT, the worker
only ever sees the SASL port and its credentials from environment variables.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from topics import catalog
from workers.admin import create_topics
from workers.localkafka import LocalKafkaConfig, start, stop
from workers.settings import Settings

from .harness import (
    WorkerProcess,
    collect,
    commit_group_at_end,
    end_offsets,
    free_ports,
    new_app_id,
    produce,
    run,
    synthetic_articles,
)

pytestmark = pytest.mark.integration

USER = "wirewatch-worker"
PASSWORD = "Sc7am.Secret-9f2b"  # distinctive, so a leak is easy to find in a log


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafkaConfig]:
    port, controller_port, sasl_port = free_ports(3)
    config = LocalKafkaConfig(
        port=port,
        controller_port=controller_port,
        sasl_port=sasl_port,
        state_dir=tmp_path_factory.mktemp("kafka-sasl"),
        scram_users=((USER, PASSWORD),),
    )
    start(config, timeout=120)
    try:
        run(create_topics(Settings(bootstrap_servers=f"127.0.0.1:{port}")))
        yield config
    finally:
        stop(config)


def sasl_env(config: LocalKafkaConfig, password: str) -> dict[str, str]:
    return {
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": USER,
        "KAFKA_SASL_PASSWORD": password,
    }


def test_worker_configured_by_env_processes_an_article_over_sasl_scram(
    sasl_broker: LocalKafkaConfig, logs: Path
) -> None:
    """KAFKA_SECURITY_PROTOCOL/SASL_* env only, bootstrap = the SASL port -> one article enriched end to end."""
    plain = f"127.0.0.1:{sasl_broker.port}"
    app_id = new_app_id("sasl")
    ((article_id, value),) = synthetic_articles(f"sasl-{uuid.uuid4().hex[:6]}", 1)
    start_at = run(end_offsets(plain))
    worker = WorkerProcess(
        f"127.0.0.1:{sasl_broker.sasl_port}", app_id, logs, "sasl", **sasl_env(sasl_broker, PASSWORD)
    )
    with worker:
        worker.wait_ready()
        run(produce(plain, [(article_id.encode(), value)]))
        got = run(
            collect(
                plain,
                start_at,
                lambda c: any(v.get("id") == article_id for v in c.on(catalog.ENRICHED.name)),
                timeout=120,
            )
        )
        assert worker.alive(), worker.log_tail()
    assert [v["id"] for v in got.on(catalog.ENRICHED.name)] == [article_id], worker.log_tail()
    log = worker.log_path.read_text("utf-8", "replace")
    assert PASSWORD not in log, "the SASL password appears in the worker's log"


def test_a_wrong_password_fails_clearly(sasl_broker: LocalKafkaConfig, logs: Path) -> None:
    """A wrong SCRAM password: the worker exits non-zero, never ready, saying authentication failed (no secret)."""
    wrong = "Wrong.Pass-" + uuid.uuid4().hex[:8]
    worker = WorkerProcess(
        f"127.0.0.1:{sasl_broker.sasl_port}", new_app_id("badpw"), logs, "badpw", **sasl_env(sasl_broker, wrong)
    )
    with worker:
        deadline = time.monotonic() + 60
        text = ""
        while time.monotonic() < deadline:
            text = worker.log_path.read_text("utf-8", "replace") if worker.log_path.exists() else ""
            if not worker.alive():
                break
            time.sleep(0.5)
        exited = not worker.alive()
        code = worker.proc.returncode if worker.proc is not None else None
        text = worker.log_path.read_text("utf-8", "replace")
    print(
        f"\n[sasl] wrong password -> worker exited by itself: {exited} (exit code {code}); "
        f"log lines mentioning authentication: {sum('uthentication' in ln for ln in text.splitlines())}"
    )
    assert exited and code != 0, f"the worker kept running with bad credentials:\n{worker.log_tail()}"
    assert "[^Worker]: Ready" not in text
    assert "authentication failed" in text.lower(), worker.log_tail()
    assert wrong not in text and PASSWORD not in text


def test_settings_never_show_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """repr/str/model_dump of Settings read from the environment hide the SASL password."""
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", USER)
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", PASSWORD)
    settings = Settings()
    assert settings.sasl_password is not None and settings.sasl_password.get_secret_value() == PASSWORD
    for shown in (repr(settings), str(settings), settings.model_dump_json(), repr(settings.model_dump())):
        assert PASSWORD not in shown
    from workers.app import _credentials

    credentials = _credentials(settings)
    assert credentials.username == USER and credentials.password == PASSWORD
    assert credentials.mechanism.value == "SCRAM-SHA-512" and credentials.protocol.value == "SASL_PLAINTEXT"
    assert PASSWORD not in repr(credentials)


def test_a_record_over_the_record_limit_is_dead_lettered_before_parsing(kafka: str, logs: Path) -> None:
    """WIREWATCH_RECORD_MAX_BYTES=256 KiB; a 300 KB record (not even JSON) -> record_too_large, bytes kept."""
    app_id = new_app_id("size")
    limit = 256 * 1024
    # Not JSON at all: had it been parsed first, the code would be invalid_json.
    big = b"{" + b"x" * (300_000 - 1)
    assert len(big) > limit  # and under aiokafka's producer max_request_size (1 MiB) and the broker's message.max.bytes
    ok_id, ok_value = synthetic_articles(f"size-{uuid.uuid4().hex[:6]}", 1)[0]
    run(commit_group_at_end(kafka, app_id))
    start_at = run(end_offsets(kafka))
    with WorkerProcess(
        kafka, app_id, logs, "size", WIREWATCH_RECORD_MAX_BYTES=str(limit), WIREWATCH_BODY_MAX_BYTES=str(limit // 2)
    ) as worker:
        worker.wait_ready()
        run(produce(kafka, [(b"too-big", big), (ok_id.encode(), ok_value)]))

        def done(c: object) -> bool:
            dead = [d for d in c.on(catalog.DEADLETTER.name) if d["code"] == "record_too_large"]  # type: ignore[attr-defined]
            return bool(dead) and any(v.get("id") == ok_id for v in c.on(catalog.ENRICHED.name))  # type: ignore[attr-defined]

        got = run(collect(kafka, start_at, done, timeout=120))
        assert worker.alive(), worker.log_tail()
    dead = [d for d in got.on(catalog.DEADLETTER.name) if base64.b64decode(d["raw_b64"]) == big]
    assert len(dead) == 1, worker.log_tail()
    assert dead[0]["code"] == "record_too_large" and str(limit) in dead[0]["message"]
    assert any(v.get("id") == ok_id for v in got.on(catalog.ENRICHED.name))  # the next record still flows
    assert orjson.loads(ok_value)["id"] == ok_id
