"""Operations on the real broker: /health, /ready, /metrics, JSON logs and ``wirewatch status``.

One worker runs with its web server on a free port. To watch /ready say 503
before the models are in, the worker waits ``WIREWATCH_MODELS_LOAD_DELAY``
seconds before loading them (a production setting that defaults to 0), and
the test polls /ready from the moment the process starts.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from topics import catalog
from workers.status import parse_samples

from .harness import (
    ROOT,
    Collected,
    WorkerProcess,
    collect,
    commit_group_at_end,
    end_offsets,
    free_ports,
    new_app_id,
    produce,
    run,
)

pytestmark = pytest.mark.integration

SEED = ROOT / "seeds" / "afp-2016-04-alep-fr.txt"
LOAD_DELAY = 4.0


class WebWorker(WorkerProcess):
    """A worker WITH its web server (the harness' default runs ``--no-web``)."""

    def __init__(self, bootstrap: str, app_id: str, log_dir: Path, port: int, **env: str) -> None:
        super().__init__(
            bootstrap, app_id, log_dir, name="web", WIREWATCH_WEB_ENABLED="true", WIREWATCH_WEB_PORT=str(port), **env
        )
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> WebWorker:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workers", "worker", "--loglevel", "info"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        return self

    def get(self, path: str) -> tuple[int, bytes] | None:
        """(status, body), or None while nothing listens yet."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as response:
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as exc:
            return int(exc.code), bytes(exc.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None


def _poll_ready(worker: WebWorker, timeout: float) -> list[tuple[int, list[str]]]:
    """Every distinct /ready answer (status, missing checks) until it says 200."""
    seen: list[tuple[int, list[str]]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = worker.get("/ready")
        if answer is not None:
            status, body = answer
            state = (status, orjson.loads(body)["missing"])
            if not seen or seen[-1] != state:
                seen.append(state)
            if status == 200:
                return seen
        assert worker.alive(), f"worker died:\n{worker.log_tail()}"
        time.sleep(0.1)
    raise AssertionError(f"/ready never answered 200; answers {seen}\n{worker.log_tail()}")


def test_ready_metrics_logs_and_status_of_a_running_worker(kafka: str, logs: Path) -> None:
    app_id = new_app_id("ops")
    tag = uuid.uuid4().hex[:6]
    seed_id, copy_id, bad_key = f"seed-{tag}", f"copy-{tag}", f"bad-{tag}"
    body = SEED.read_text("utf-8")
    (port,) = free_ports(1)
    run(commit_group_at_end(kafka, app_id))
    start = run(end_offsets(kafka))
    env = {"WIREWATCH_MODELS_LOAD_DELAY": str(LOAD_DELAY), "WIREWATCH_LOG_JSON": "true"}
    with WebWorker(kafka, app_id, logs, port, **env) as worker:
        # --- readiness: 503 until the models are loaded, then 200 ---------------------
        answers = _poll_ready(worker, timeout=180)
        assert answers[0][0] == 503 and "models" in answers[0][1], answers
        assert (503, ["models"]) in answers, answers  # assigned and connected, only the models missing
        assert answers[-1] == (200, [])
        assert worker.get("/health") == (200, b'{"status":"up"}')

        # --- the seed, a broken record, an exact copy under another id -----------------
        seed = orjson.dumps({"id": seed_id, "body": body, "source": "AFP"})
        copy = orjson.dumps({"id": copy_id, "body": body, "source": "AFP"})
        # The copy goes in once the seed is through: produced together on two partitions,
        # either could reach the dedup stage first, and the first seen is the original.
        run(produce(kafka, [(seed_id.encode(), seed), (bad_key.encode(), b'{"id": "x", "body": "cut')]))
        first = run(
            collect(
                kafka, start, lambda c: any(v.get("id") == seed_id for v in c.on(catalog.ENRICHED.name)), timeout=180
            )
        )
        assert any(v.get("id") == seed_id for v in first.on(catalog.ENRICHED.name)), worker.log_tail()
        run(produce(kafka, [(copy_id.encode(), copy)]))

        def done(c: Collected) -> bool:
            return (
                any(v.get("id") == copy_id for v in c.on(catalog.DUPLICATES.name))
                and any(v.get("id") == seed_id for v in c.on(catalog.ENRICHED.name))
                and len({v["type"] for v in c.on(catalog.ALERTS.name) if v.get("article_id") == seed_id}) == 3
            )

        got = run(collect(kafka, start, done, timeout=180))
        assert done(got), (
            f"duplicates {[v.get('id') for v in got.on(catalog.DUPLICATES.name)]}, "
            f"enriched {[v.get('id') for v in got.on(catalog.ENRICHED.name)]}, "
            f"alert types {sorted({v['type'] for v in got.on(catalog.ALERTS.name) if v.get('article_id') == seed_id})}"
            f"\n{worker.log_tail()}"
        )
        alerts = [v for v in got.on(catalog.ALERTS.name) if v.get("article_id") == seed_id]

        # --- /metrics: the counters say what happened -----------------------------------
        def scrape() -> Any:
            answer = worker.get("/metrics")
            assert answer is not None and answer[0] == 200
            return parse_samples(answer[1].decode("utf-8"))

        deadline = time.monotonic() + 30  # commits come every few seconds: wait for lag 0
        metrics = scrape()
        while time.monotonic() < deadline:
            lags = metrics.series("wirewatch_consumer_lag")
            if lags and all(v == 0 for _, v in lags) and len(lags) == 9:
                break
            time.sleep(0.5)
            metrics = scrape()

        assert metrics.get("wirewatch_messages_in_total", topic=catalog.RAW.name) == 3
        assert metrics.by("wirewatch_dead_letters_total", "code") == {"invalid_json": 1}
        assert metrics.get("wirewatch_duplicates_total", method="exact") == 1
        assert metrics.get("wirewatch_duplicates_total", method="near") == 0
        assert metrics.get("wirewatch_messages_out_total", topic=catalog.ENRICHED.name) == 1
        assert metrics.get("wirewatch_messages_out_total", topic=catalog.ALERTS.name) == len(alerts) == 3
        by_type = {(labels["type"], labels["hedged"]): v for labels, v in metrics.series("wirewatch_alerts_total")}
        assert by_type == dict(Counter((a["type"], "true" if a["hedged"] else "false") for a in alerts))
        assert by_type[("ceasefire_violation", "true")] == 1
        assert {t for t, _ in by_type} == {"ceasefire_violation", "airstrike", "ground_offensive"}
        assert metrics.get("wirewatch_stage_seconds_count", stage="validate") == 3
        assert metrics.get("wirewatch_stage_seconds_count", stage="dedup") == 2
        assert metrics.get("wirewatch_enrich_batch_size_sum") == 1
        assert metrics.get("wirewatch_models_loaded") == 1 and metrics.get("wirewatch_ready") == 1
        lags = {(d["topic"], d["partition"]): v for d, v in metrics.series("wirewatch_consumer_lag")}
        assert len(lags) == 8 and set(lags.values()) == {0}, lags  # 4 raw + 4 unique partitions

        # --- wirewatch status reads the same figures --------------------------------------
        status = subprocess.run(
            [sys.executable, "-m", "workers", "status", "--url", worker.url, "--interval", "0.5", "--json"],
            cwd=ROOT,
            capture_output=True,
            timeout=60,
        )
        assert status.returncode == 0, status.stderr.decode()
        (figures,) = orjson.loads(status.stdout)
        assert figures["ready"]["ready"] is True and figures["models_loaded"] is True
        assert figures["dead_letters"] == {"invalid_json": 1.0}
        assert figures["messages_in"][catalog.RAW.name] == 3
        assert len(figures["lag"]) == 8
        assert worker.alive(), worker.log_tail()

    # --- JSON logs: the dead letter's record names its article ---------------------------------
    records = [orjson.loads(line) for line in worker.log_path.read_text("utf-8").splitlines() if line.startswith("{")]
    assert records, "no JSON log lines"
    dead = [r for r in records if r["message"].startswith("dead letter invalid_json")]
    assert [r.get("article_id") for r in dead] == [bad_key]
    assert any(r.get("article_id") == seed_id and r["message"].startswith("alert ") for r in records)
