"""Hostile input: thousands of bad values mixed with good ones never crash anything.

Two layers over one generator of values (``hostile_value``):

* a property test (hypothesis, no broker; runs with the unit tests) over
  ``Pipeline.validate``: >= 10,000 values, never an exception, every bad value a
  dead letter with the expected code and its original bytes, every good one an Article;
* the same kinds of values, >= 10,000 of them, through ONE real worker on the broker:
  one dead letter per bad value, every good one enriched, the worker alive and its
  memory bounded.
"""

from __future__ import annotations

import base64
import random
import time
import unicodedata
import uuid
from collections import Counter
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from topics import catalog
from topics.records import Article, DeadLetter
from workers.pipeline import Pipeline
from workers.settings import Settings

# Small limits so over-size values stay cheap to generate and to move through Kafka.
LIMITS = {"body_max_bytes": 4096, "record_max_bytes": 16384, "json_max_depth": 32, "id_max_chars": 512}
PAYLOAD = "evil_payload_7f3()"  # script content that must never reach the text
WORDS = (
    "army",
    "convoy",
    "village",
    "bridge",
    "talks",
    "minister",
    "river",
    "market",
    "école",
    "hôpital",
    "Kharkiv",
    "Alep",
    "rebels",
    "truce",
    "envoy",
    "harbour",
    "supplies",
    "winter",
    "été",
    "Zürich",
)
CONTROLS = [chr(c) for c in (*range(0, 9), 11, 12, *range(14, 32), 127, *range(128, 160))]

Value = tuple[bytes, frozenset[str] | None]  # raw bytes, expected dead-letter codes (None: good)


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def good_value(rng: random.Random, article_id: str, n_words: int = 12) -> dict[str, object]:
    """A valid raw article, often with hostile decoration that validation must clean up."""
    body = _words(rng, n_words) + f" {article_id}."
    style = rng.randrange(5)
    if style == 1:  # control characters sprinkled in
        body = "".join(ch + (rng.choice(CONTROLS) if rng.random() < 0.1 else "") for ch in body)
    elif style == 2:  # HTML with scripts, styles and entities
        body = (
            f"<html><head><style>p {{color: red}}</style><script>{PAYLOAD}</script></head>"
            f"<body><p>{body}</p><p>&amp; more &#233;</p><script type='x'>{PAYLOAD}</script></body></html>"
        )
    elif style == 3:  # odd Unicode: combining marks, RTL, zero-width, astral
        body = "e\u0301\u200b\u202e" + body + " \U0001f4a3 \u0627\u0644\u062d\u0631\u0628"
    value: dict[str, object] = {"id": article_id, "body": body}
    if rng.random() < 0.5:
        value["language"] = rng.choice(["en", "fr", "EN", None])
    if rng.random() < 0.3:
        value["published_at"] = rng.choice(["2024-03-01T08:00:00+00:00", "2024-03-01", "2024-03-01T08:00:00"])
    if rng.random() < 0.3:
        value["title"] = f"<b>{_words(rng, 3)}</b>"
    if rng.random() < 0.3:
        value["extra_field"] = {"nested": [1, 2.5, "x", None, True]}
    return value


def _nested(depth: int, closed: bool) -> bytes:
    inner = b"[" * depth + (b"]" * depth if closed else b"")
    return b'{"id": "deep", "body": "text", "x": ' + inner + (b"}" if closed else b"")


def _bad(rng: random.Random, good: bytes) -> Value:
    """One bad value of a random kind, with the codes that describe it."""
    kind = rng.randrange(22)
    big = "9" * rng.randint(310, 400)  # beyond a double: orjson refuses it
    if kind == 0:  # invalid UTF-8 somewhere in otherwise good JSON
        cut = rng.randrange(len(good))
        junk = rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\x80\x80"])
        return good[:cut] + junk + good[cut:], frozenset({"invalid_utf8"})
    if kind == 1:  # truncated JSON
        return good[: rng.randrange(1, len(good) - 1)], frozenset({"invalid_json", "invalid_utf8"})
    if kind == 2:  # deeply nested, closed
        return _nested(rng.randint(33, 3000), True), frozenset({"json_too_deep"})
    if kind == 3:  # deeply nested, never closed
        return _nested(rng.randint(33, 3000), False), frozenset({"json_too_deep", "invalid_json"})
    if kind == 4:  # huge numbers where strings belong, or anywhere
        field = rng.choice(["body", "id", "extra"])
        number = rng.choice([big, "-" + big, "1e999", "-1e999", "NaN", "Infinity"])
        if field != "extra" and rng.random() < 0.3:
            number = "1" + "0" * rng.randint(20, 300)  # finite (a float for orjson): a wrong type here
        text = f'{{"id": "n", "body": "text", "{field}": {number}}}'.encode()
        return text, frozenset({"invalid_json", "wrong_type"})
    if kind == 5:  # body over the body limit (record still under its limit)
        body = "x" * rng.randint(LIMITS["body_max_bytes"] + 1, LIMITS["record_max_bytes"] - 100)
        return orjson.dumps({"id": "big", "body": body}), frozenset({"body_too_large"})
    if kind == 6:  # over-size record
        size = rng.randint(LIMITS["record_max_bytes"] + 1, LIMITS["record_max_bytes"] * 3)
        return orjson.dumps({"id": "huge", "body": "y", "pad": "z" * size}), frozenset({"record_too_large"})
    if kind == 7:  # id over its limit
        return orjson.dumps({"id": "i" * rng.randint(513, 3000), "body": "text"}), frozenset({"id_too_long"})
    if kind == 8:  # wrong type for the body
        body = rng.choice([12, 1.5, True, ["a"], {"text": "a"}])
        return orjson.dumps({"id": "t", "body": body}), frozenset({"wrong_type"})
    if kind == 9:  # wrong type for another field
        field = rng.choice(["id", "url", "title", "source", "language", "published_at"])
        return orjson.dumps({"id": "t", "body": "text", field: rng.choice([3, ["x"], {"a": 1}, False])}), frozenset(
            {"wrong_type"}
        )
    if kind == 10:  # not an object
        value = rng.choice([b"[1, 2]", b'"a string"', b"42", b"null", b"true", b"[]", b'[{"id": "x", "body": "y"}]'])
        return value, frozenset({"not_an_object"})
    if kind == 11:  # no body
        return orjson.dumps({"id": "nb", "title": "no body"}), frozenset({"missing_body"})
    if kind == 12:  # empty or blank body
        return orjson.dumps({"id": "eb", "body": rng.choice(["", " ", "\n\t  ", "\u3000"])}), frozenset({"empty_body"})
    if kind == 13:  # a body with nothing readable: only controls, or only a script
        body = rng.choice(
            [
                "".join(rng.choices(CONTROLS, k=rng.randint(1, 40))),
                f"<script>{PAYLOAD}</script>",
                "<style>p{}</style><p> </p>",
                "\u200b\u200b",
            ]
        )
        return orjson.dumps({"id": "ctl", "body": body}), frozenset({"empty_body", "empty_text"})
    if kind == 14:  # neither id nor url
        return orjson.dumps({"body": "text", "title": "t"}), frozenset({"missing_id"})
    if kind == 15:  # blank id and url
        return orjson.dumps({"id": "   ", "url": "", "body": "text"}), frozenset({"missing_id"})
    if kind == 16:  # invalid language code
        lang = rng.choice(["english", "e1", "fra", "é", "e", "x" * 200])
        return orjson.dumps({"id": "l", "body": "text", "language": lang}), frozenset({"invalid_language"})
    if kind == 17:  # invalid timestamp
        stamp = rng.choice(["yesterday", "2024-13-45", "", "2024-03-01T25:00", "03/01/2024", "x" * 300])
        return orjson.dumps({"id": "d", "body": "text", "published_at": stamp}), frozenset({"invalid_timestamp"})
    if kind == 18:  # the empty record
        return b"", frozenset({"empty_record"})
    if kind == 19:  # binary garbage
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300))), frozenset(
            {"invalid_utf8", "invalid_json", "not_an_object"}
        )
    if kind == 20:  # control characters and a BOM around or inside the JSON text
        prefix = rng.choice(["\ufeff", "\x00", "\x1b[31m", "\x07"]).encode()
        return prefix + good, frozenset({"invalid_json"})
    # kind 21: JSON that is valid but lone surrogates escaped in the body
    return b'{"id": "s", "body": "\\ud800 text \\udfff"}', frozenset({"invalid_json"})


def hostile_value(rng: random.Random, index: int, tag: str, good: bool) -> Value:
    """A good value (id ``{tag}-g{index}``) or a bad one of a random kind."""
    value = orjson.dumps(good_value(rng, f"{tag}-g{index}"))
    return (value, None) if good else _bad(rng, value)


def check_outcome(raw: bytes, codes: frozenset[str] | None, outcome: Article | DeadLetter) -> None:
    if codes is None:
        assert isinstance(outcome, Article), (raw[:300], outcome)
        assert outcome.text, raw[:300]
        assert PAYLOAD not in outcome.text
        assert not any(unicodedata.category(ch) == "Cc" and ch != "\n" for ch in outcome.text), outcome.text
    else:
        assert isinstance(outcome, DeadLetter), (raw[:300], outcome)
        assert outcome.code in codes, (raw[:300], outcome.code, outcome.message)
        assert outcome.message
        assert base64.b64decode(outcome.raw_b64) == raw


# --------------------------------------------------------------------------- layer (a): no broker

_seen: Counter[str] = Counter()
_codes: Counter[str] = Counter()
VALUES_PER_EXAMPLE = 25
EXAMPLES = 420  # 420 x 25 = 10,500 values


def test_validate_never_raises_and_sorts_every_value() -> None:
    """>= 10,000 generated values through validate(): bad -> DeadLetter with its code, good -> Article."""
    pipeline = Pipeline(Settings(**LIMITS), load_models=False)  # type: ignore[arg-type]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(rng=st.randoms(use_true_random=False), n=st.integers(0, 10**6))
    def check_batch(rng: random.Random, n: int) -> None:
        for i in range(VALUES_PER_EXAMPLE):
            raw, codes = hostile_value(rng, n * 100 + i, "u", good=i % 4 == 0)
            outcome = pipeline.validate(raw)
            check_outcome(raw, codes, outcome)
            _seen["good" if codes is None else "bad"] += 1
            if isinstance(outcome, DeadLetter):
                _codes[outcome.code] += 1

    _seen.clear()
    _codes.clear()
    started = time.perf_counter()
    check_batch()
    print(f"\n[fuzz-unit] {dict(_seen)} values in {time.perf_counter() - started:.1f} s; codes {dict(_codes)}")
    assert sum(_seen.values()) >= 10_000
    assert _seen["good"] >= 2000 and _seen["bad"] >= 7000
    assert len(_codes) >= 12  # the generator reached most kinds of bad input


# --------------------------------------------------------------------------- layer (b): real worker

N_VALUES = 10_000
N_GOOD = 100
RSS_BOUND = 1.5 * 1024**3


@pytest.mark.integration
def test_ten_thousand_hostile_records_through_one_worker(kafka: str, logs: Path) -> None:
    """10,000 records (100 good) through one worker -> a dead letter per bad one, all good enriched, RSS bounded."""
    from .harness import (
        Collected,
        WorkerProcess,
        collect,
        commit_group_at_end,
        end_offsets,
        new_app_id,
        process_rss,
        produce,
        run,
    )

    rng = random.Random(20240301)
    tag = f"fz-{uuid.uuid4().hex[:6]}"
    good_every = N_VALUES // N_GOOD
    records: list[tuple[bytes | None, bytes]] = []
    expected_codes: list[frozenset[str]] = []
    good_ids: set[str] = set()
    for i in range(N_VALUES):
        if i % good_every == 0:  # distinct bodies so dedup keeps them all
            article_id = f"{tag}-g{i}"
            raw = orjson.dumps(good_value(rng, article_id, n_words=rng.randint(20, 40)))
            good_ids.add(article_id)
        else:
            raw, codes = _bad(rng, orjson.dumps(good_value(rng, f"{tag}-x{i}")))
            assert codes is not None
            expected_codes.append(codes)
        records.append((f"{tag}-{i}".encode(), raw))
    bad_raws: dict[bytes, set[str]] = {}  # raw bytes -> codes it may get (equal raws may repeat)
    for (_, raw), codes in zip((r for i, r in enumerate(records) if i % good_every), expected_codes, strict=True):
        bad_raws.setdefault(raw, set()).update(codes)
    n_bad = len(expected_codes)

    app_id = new_app_id("fuzz")
    run(commit_group_at_end(kafka, app_id))
    start = run(end_offsets(kafka))
    env = {f"WIREWATCH_{k.upper()}": str(v) for k, v in LIMITS.items()}
    peak = [0]
    with WorkerProcess(kafka, app_id, logs, **env) as worker:
        worker.wait_ready()
        assert worker.proc is not None
        pid = worker.proc.pid
        started = time.monotonic()
        run(produce(kafka, records))

        def mine(c: Collected) -> tuple[list[dict[str, object]], set[str]]:
            dead = [v for v in c.on(catalog.DEADLETTER.name) if base64.b64decode(str(v["raw_b64"])) in bad_raws]
            enriched = {str(v["id"]) for v in c.on(catalog.ENRICHED.name) if str(v.get("id", "")).startswith(tag)}
            return dead, enriched

        def done(c: Collected) -> bool:
            peak[0] = max(peak[0], process_rss(pid))
            dead, enriched = mine(c)
            return len(dead) >= n_bad and enriched >= good_ids

        got = run(collect(kafka, start, done, timeout=300))
        elapsed = time.monotonic() - started
        peak[0] = max(peak[0], process_rss(pid))
        assert worker.alive(), f"worker died:\n{worker.log_tail()}"
    dead, enriched = mine(got)
    codes = Counter(str(d["code"]) for d in dead)
    print(
        f"\n[fuzz-broker] {N_VALUES} records ({len(good_ids)} good) in {elapsed:.1f} s;"
        f" dead letters {len(dead)} by code {dict(codes)}; enriched {len(enriched & good_ids)};"
        f" worker peak RSS {peak[0] / 2**20:.0f} MiB"
    )
    assert enriched >= good_ids, f"missing: {sorted(good_ids - enriched)[:5]}"
    assert len(dead) == n_bad, worker.log_tail()
    assert "internal_error" not in codes, worker.log_tail()
    wrong = [
        (d["code"], base64.b64decode(str(d["raw_b64"]))[:80])
        for d in dead
        if d["code"] not in bad_raws[base64.b64decode(str(d["raw_b64"]))]
    ]
    assert not wrong, wrong[:5]
    assert all(d["message"] and d["topic"] == catalog.RAW.name for d in dead)
    assert Counter(base64.b64decode(str(d["raw_b64"])) for d in dead) == Counter(
        raw for i, (_, raw) in enumerate(records) if i % good_every
    )
    assert peak[0] < RSS_BOUND, f"worker RSS {peak[0] / 2**20:.0f} MiB"
