"""`wirewatch enrich`: the whole pipeline in one process, output as in DESIGN.md."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from topics import catalog
from topics.schemas import validator_for
from workers.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def enrich(*args: str) -> tuple[int, list[dict[str, Any]]]:
    result = runner.invoke(app, ["enrich", *args])
    lines = [orjson.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, lines


@pytest.fixture(scope="module")
def seed_output() -> list[dict[str, Any]]:
    code, lines = enrich(str(ROOT / "seeds" / "afp-2016-04-alep-fr.txt"))
    assert code == 0
    return lines


def test_seed_is_one_enriched_event_in_french_with_one_copy_of_the_text(seed_output: list[dict[str, Any]]) -> None:
    enriched = [m for m in seed_output if m["topic"] == catalog.ENRICHED.name]
    assert len(enriched) == 1
    message = enriched[0]
    assert message["key"] == "afp-2016-04-alep-fr"  # a .txt file's id is its stem
    value = message["value"]
    assert value["id"] == "afp-2016-04-alep-fr"
    assert value["language"] == "fr" and value["body_repeated"] is True
    assert value["text"].count("Nous sommes très préoccupés") == 1
    assert value["text"].count("Les difficiles négociations de paix") == 1


def test_every_output_message_matches_its_json_schema(seed_output: list[dict[str, Any]]) -> None:
    assert {m["topic"] for m in seed_output} >= {catalog.ENRICHED.name}
    for message in seed_output:
        errors = [e.message for e in validator_for(message["topic"]).iter_errors(message["value"])]
        assert errors == [], (message["topic"], errors)


def test_alert_messages_follow_their_enriched_event(seed_output: list[dict[str, Any]]) -> None:
    """news.alerts.v1 carries at most one alert per type, each also in the enriched event."""
    event = next(m["value"] for m in seed_output if m["topic"] == catalog.ENRICHED.name)
    alerts = [m for m in seed_output if m["topic"] == catalog.ALERTS.name]
    types = [m["value"]["type"] for m in alerts]
    assert len(types) == len(set(types))
    evidence_ids = {a["alert_id"] for a in event["alerts"]}
    assert all(m["key"] == m["value"]["alert_id"] and m["key"] in evidence_ids for m in alerts)


def test_bad_lines_each_give_one_dead_letter_and_exit_zero(tmp_path: Path) -> None:
    bad = [
        b'{"id": "a", "body": "cut',
        b"\xc3\x28 invalid utf-8",
        b"42",
        b'{"id": "b"}',
        b'{"id": "c", "body": ""}',
        b'{"id": "d", "body": ["x"]}',
        b'{"title": "no id", "body": "x"}',
        b"[" * 3000 + b"]" * 3000,
    ]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join(bad) + b"\n")
    code, lines = enrich(str(path))
    assert code == 0
    assert [m["topic"] for m in lines] == [catalog.DEADLETTER.name] * len(bad)
    assert [base64.b64decode(m["value"]["raw_b64"]) for m in lines] == bad
    assert [m["value"]["offset"] for m in lines] == list(range(1, len(bad) + 1))  # line numbers
    assert all(m["value"]["code"] and m["value"]["message"] for m in lines)


def test_good_records_between_bad_ones_are_all_processed_in_order(tmp_path: Path) -> None:
    lines = []
    for i in range(5):
        lines.append(b"{not json")
        body = f"Story {i}: " + " ".join(f"word{i}_{j}" for j in range(40))
        lines.append(orjson.dumps({"id": f"g{i}", "body": body, "language": "en"}))
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(lines))
    code, out = enrich(str(path))
    assert code == 0
    assert [m["topic"] for m in out] == [catalog.DEADLETTER.name, catalog.ENRICHED.name] * 5
    assert [m["value"]["id"] for m in out if m["topic"] == catalog.ENRICHED.name] == [f"g{i}" for i in range(5)]


def test_missing_input_is_a_readable_error() -> None:
    result = runner.invoke(app, ["enrich", "does/not/exist.jsonl"])
    assert result.exit_code == 2
    assert "no such file" in result.stderr
