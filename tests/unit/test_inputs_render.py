"""Input files and the one-line renderer."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from workers.inputs import InputError, count_records, read_records
from workers.produce import key_of
from workers.render import one_line


def test_directory_reads_jsonl_lines_raw_and_txt_as_one_article(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_bytes(b'{"id": "x", "body": "b"}\n\n{broken\n')
    (tmp_path / "b.txt").write_text("Un article.", "utf-8")
    (tmp_path / "notes.md").write_text("ignored", "utf-8")
    records = list(read_records([tmp_path]))
    assert [r.value for r in records[:2]] == [b'{"id": "x", "body": "b"}', b"{broken"]
    assert orjson.loads(records[2].value) == {"id": "b", "body": "Un article."}
    assert count_records([tmp_path]) == 3


def test_txt_that_is_not_utf8_is_passed_on_raw(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_bytes(b"caf\xe9")
    assert next(read_records([tmp_path / "bad.txt"])).value == b"caf\xe9"


def test_unsupported_and_missing_paths_are_errors(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("a,b")
    with pytest.raises(InputError, match="unsupported"):
        count_records([tmp_path / "x.csv"])
    with pytest.raises(InputError, match="no such file"):
        count_records([tmp_path / "nope.jsonl"])


def test_key_is_the_article_id_when_readable() -> None:
    assert key_of(b'{"id": "a1", "body": "x"}', None) == b"a1"
    assert key_of(b'{"url": "u", "body": "x"}', None) == b"u"
    assert key_of(b"{broken", "fallback") == b"fallback"
    assert key_of(b"[1]", None) is None


def test_alert_line_is_readable_and_cut_to_width() -> None:
    alert = {
        "schema": "wirewatch.alert/1",
        "type": "ceasefire_violation",
        "hedged": True,
        "confidence": 0.74,
        "published_at": "2016-04-14T08:00:00+00:00",
        "locations": ["Aleppo"],
        "actors": ["Russia"],
        "sentence": "Des telles actions pourraient violer la cessation des hostilités " * 5,
    }
    line = one_line("news.alerts.v1", alert, width=120)
    assert line.startswith("2016-04-14 08:00  ceasefire_violation (hedged)")
    assert "@ Aleppo" in line and "by Russia" in line and "0.74" in line
    assert len(line) <= 120 and line.endswith("…")
