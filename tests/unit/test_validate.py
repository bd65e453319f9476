"""Validation: every bad-input case of DESIGN.md becomes a Rejection with its code."""

from __future__ import annotations

import orjson
import pytest

from workers.validate import Limits, RawArticle, Rejection, parse_raw

LIMITS = Limits(body_max_bytes=1000, record_max_bytes=4000, json_max_depth=8, id_max_chars=20)


def ok(**fields: object) -> bytes:
    return orjson.dumps({"id": "a1", "body": "Some text.", **fields})


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "empty_record"),
        (b"x" * 4001, "record_too_large"),
        (b'{"id": "a", "body": "caf\xe9"}', "invalid_utf8"),
        (b'{"id": "a", "body": "cut', "invalid_json"),
        (b"not json at all", "invalid_json"),
        (b"[1, 2]", "not_an_object"),
        (b'"a string"', "not_an_object"),
        (b"null", "not_an_object"),
        (b'{"id": "a"}', "missing_body"),
        (b'{"id": "a", "body": ""}', "empty_body"),
        (b'{"id": "a", "body": "   \\n "}', "empty_body"),
        (b'{"id": "a", "body": 42}', "wrong_type"),
        (b'{"id": 7, "body": "x"}', "wrong_type"),
        (b'{"id": "a", "body": "x", "title": ["t"]}', "wrong_type"),
        (b'{"body": "x"}', "missing_id"),
        (b'{"id": "  ", "body": "x"}', "missing_id"),
        (orjson.dumps({"id": "i" * 21, "body": "x"}), "id_too_long"),
        (orjson.dumps({"id": "a", "body": "é" * 501}), "body_too_large"),
        (orjson.dumps({"id": "a", "body": "x", "language": "french"}), "invalid_language"),
        (orjson.dumps({"id": "a", "body": "x", "published_at": "yesterday"}), "invalid_timestamp"),
        (orjson.dumps({"id": "a", "body": "x", "published_at": "1" * 300}), "invalid_timestamp"),
        (b'{"id": "a", "body": "x", "extra": ' + b"[" * 9 + b"]" * 9 + b"}", "json_too_deep"),
        (b"[" * 1500 + b"]" * 1500, "json_too_deep"),
    ],
)
def test_bad_input_gets_its_code(raw: bytes, code: str) -> None:
    """Each kind of bad record is rejected with its documented code and a message."""
    result = parse_raw(raw, LIMITS)
    assert isinstance(result, Rejection), result
    assert result.code == code
    assert result.message


def test_good_record_keeps_fields_and_extra() -> None:
    """Known fields are typed; unknown ones are passed through under extra."""
    raw = ok(title="T", source="AFP", language="FR", published_at="2016-04-14T08:00:00Z", feed_rank=3)
    result = parse_raw(raw, LIMITS)
    assert isinstance(result, RawArticle)
    assert (result.id, result.title, result.source, result.language) == ("a1", "T", "AFP", "fr")
    assert result.published_at == "2016-04-14T08:00:00+00:00"
    assert result.extra == {"feed_rank": 3}


def test_url_stands_in_for_a_missing_id() -> None:
    result = parse_raw(orjson.dumps({"url": "https://ex.org/a", "body": "x"}), LIMITS)
    assert isinstance(result, RawArticle)
    assert result.id == "https://ex.org/a"


def test_naive_timestamp_is_taken_as_utc() -> None:
    result = parse_raw(ok(published_at="2024-01-02T03:04:05"), LIMITS)
    assert isinstance(result, RawArticle)
    assert result.published_at == "2024-01-02T03:04:05+00:00"


def test_depth_at_the_limit_is_accepted() -> None:
    """Nesting exactly at the bound is fine; one more level is not."""
    nested: object = "leaf"
    for _ in range(LIMITS.json_max_depth - 1):  # the record itself is level 1
        nested = [nested]
    assert isinstance(parse_raw(orjson.dumps({"id": "a", "body": "x", "n": nested}), LIMITS), RawArticle)
    too_deep = orjson.dumps({"id": "a", "body": "x", "n": [nested]})
    assert isinstance(parse_raw(too_deep, LIMITS), Rejection)
