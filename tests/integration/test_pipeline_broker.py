"""End to end on the real broker: raw topic in, output topics out, through a real worker."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

import orjson
import pytest

from topics import catalog
from topics.schemas import validator_for

from .harness import Collected, WorkerProcess, collect, commit_group_at_end, end_offsets, new_app_id, produce, run

pytestmark = pytest.mark.integration


def test_seed_article_comes_out_enriched_in_french_with_body_repeated(kafka: str, logs: Path, seed_text: str) -> None:
    """The seed (pasted twice) produced to the raw topic -> one enriched event, fr, body_repeated."""
    app_id = new_app_id("seed")
    article_id = f"seed-{uuid.uuid4().hex[:6]}"
    run(commit_group_at_end(kafka, app_id))
    start = run(end_offsets(kafka))
    with WorkerProcess(kafka, app_id, logs) as worker:
        value = orjson.dumps({"id": article_id, "body": seed_text, "source": "AFP"})
        run(produce(kafka, [(article_id.encode(), value)]))

        def done(c: Collected) -> bool:
            alerts = {a["type"] for a in c.on(catalog.ALERTS.name) if a["article_id"] == article_id}
            return any(v["id"] == article_id for v in c.on(catalog.ENRICHED.name)) and len(alerts) >= 3

        got = run(collect(kafka, start, done, timeout=180))
        mine = [v for v in got.on(catalog.ENRICHED.name) if v.get("id") == article_id]
        assert len(mine) == 1, f"no enriched event; worker log:\n{worker.log_tail()}"
    event = mine[0]
    assert event["language"] == "fr"
    assert event["body_repeated"] is True
    assert event["text"].count("Nous sommes très préoccupés") == 1
    errors = [e.message for e in validator_for(catalog.ENRICHED.name).iter_errors(event)]
    assert errors == []

    # news.alerts.v1: one alert per type, keyed by alert_id, its evidence span into the enriched text
    alerts = {a["type"]: a for a in got.on(catalog.ALERTS.name) if a["article_id"] == article_id}
    assert set(alerts) == {"ceasefire_violation", "airstrike", "ground_offensive"}
    assert alerts["ceasefire_violation"]["hedged"] is True
    assert "pourraient violer la cessation des hostilités" in alerts["ceasefire_violation"]["sentence"]
    assert "frappes russes" in alerts["airstrike"]["sentence"]
    assert "offensive" in alerts["ground_offensive"]["sentence"]
    for alert in alerts.values():
        start_char, end_char = alert["span"]
        assert event["text"][start_char:end_char] == alert["sentence"]
        assert validator_for(catalog.ALERTS.name).is_valid(alert)
    assert {a["alert_id"] for a in event["alerts"]} >= {a["alert_id"] for a in alerts.values()}


def test_bad_and_good_records_interleaved_all_accounted_for(kafka: str, logs: Path) -> None:
    """50 bad + 50 good records, interleaved -> 50 dead letters (with codes and raw bytes) + 50 enriched."""
    app_id = new_app_id("mixed")
    tag = uuid.uuid4().hex[:6]
    bad_kinds = [
        b"\xff\xfe not utf-8",
        b'{"id": "x", "body": "truncated',
        b"[1, 2, 3]",
        b'{"id": "x"}',
        b'{"id": "x", "body": ""}',
        b'{"id": "x", "body": 12}',
        b'{"body": "no id"}',
        b"[" * 2000 + b"]" * 2000,
        b"",
        b'{"id": "x", "body": "x", "language": 3}',
    ]
    records: list[tuple[bytes | None, bytes]] = []
    good_ids = []
    for i in range(50):
        bad = bad_kinds[i % len(bad_kinds)]
        records.append((f"bad-{tag}-{i}".encode(), bad))
        good_id = f"good-{tag}-{i}"
        good_ids.append(good_id)
        # distinct stories (unique words) so none is a near duplicate of another
        body = (
            f"Report {i} {tag}: "
            + " ".join(f"w{i}x{j}" for j in range(60))
            + ". Troops were seen near the border, officials said."
        )
        records.append((good_id.encode(), orjson.dumps({"id": good_id, "body": body, "language": "en"})))

    run(commit_group_at_end(kafka, app_id))
    start = run(end_offsets(kafka))
    with WorkerProcess(kafka, app_id, logs) as worker:
        run(produce(kafka, records))

        def done(c: object) -> bool:
            dl = [v for v in c.on(catalog.DEADLETTER.name)]  # type: ignore[attr-defined]
            en = [v for v in c.on(catalog.ENRICHED.name) if v["id"].startswith(f"good-{tag}")]  # type: ignore[attr-defined]
            return len(dl) >= 50 and len(en) >= 50

        got = run(collect(kafka, start, done, timeout=240))
        assert worker.alive(), f"worker died:\n{worker.log_tail()}"
    dead = got.on(catalog.DEADLETTER.name)
    enriched = [v for v in got.on(catalog.ENRICHED.name) if v["id"].startswith(f"good-{tag}")]
    assert len(dead) == 50, worker.log_tail()
    assert sorted(v["id"] for v in enriched) == sorted(good_ids)
    assert {base64.b64decode(d["raw_b64"]) for d in dead} == set(bad_kinds)
    assert all(d["code"] and d["message"] and d["topic"] == catalog.RAW.name for d in dead)
    validator = validator_for(catalog.DEADLETTER.name)
    assert all(validator.is_valid(d) for d in dead)
