"""Scoring of ``wirewatch eval``: every metric checked against figures worked out by hand.

The fixture ``tests/fixtures/eval_tiny`` holds 9 articles, in this order:

    id     lang dup_of  labelled alerts (hedged)                 labelled entities
    a1     fr   -       ceasefire_violation (T)                  Aleppo LOC, Russia LOC
    a2     fr   a1      ceasefire_violation (T)                  Aleppo LOC, Russia LOC
    b1     en   -       airstrike (F), ceasefire_violation (F)   Idlib LOC, Syrian Air Force ORG
    a3     fr   a1      ceasefire_violation (T)                  Aleppo LOC, Russia LOC
    c1     fr   -       none ("trêve des confiseurs")            Emmanuel Macron PER
    d1     en   -       ground_offensive (F), shelling (F)       Mosul LOC, Iraqi Army ORG
    d2     en   d1      ground_offensive (F), shelling (F)       Mosul LOC, Iraqi Army ORG
    e1     en   -       none (price-war "ceasefire")             Ryanair ORG, easyJet ORG
    bad-1  en   -       none (the raw line is truncated JSON)    none

``OUTPUTS`` below is what a pipeline with some deliberate mistakes could print.
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from workers.evaluation import (
    MAX_PAIR_ERRORS,
    AlertLabel,
    Dataset,
    DatasetError,
    EntityLabel,
    EvalReport,
    LabelledArticle,
    load_dataset,
    render_report,
    score,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "eval_tiny"

ENRICHED = "news.articles.enriched.v1"
ALERTS = "news.alerts.v1"
DUPLICATES = "news.articles.duplicates.v1"
DEADLETTER = "news.articles.deadletter.v1"


def alert(alert_type: str, hedged: bool, sentence: str) -> dict[str, Any]:
    return {"type": alert_type, "hedged": hedged, "sentence": sentence}


def entity(canonical: str, label: str, text: str | None = None) -> dict[str, Any]:
    return {"text": text or canonical, "label": label, "canonical": canonical}


def enriched(
    article_id: str, language: str, alerts: list[dict[str, Any]], entities: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The enriched message of one article, followed by one alerts message per alert."""
    value = {
        "schema": "wirewatch.enriched/1",
        "id": article_id,
        "language": language,
        "text": "...",
        "entities": entities,
        "alerts": alerts,
    }
    messages = [{"topic": ENRICHED, "key": article_id, "value": value}]
    for n, item in enumerate(alerts):
        alert_value = {"schema": "wirewatch.alert/1", "alert_id": f"{article_id}-{n}", **item}
        messages.append({"topic": ALERTS, "key": f"{article_id}-{n}", "value": alert_value})
    return messages


def duplicate(article_id: str, first: str) -> dict[str, Any]:
    value = {
        "schema": "wirewatch.duplicate/1",
        "id": article_id,
        "duplicate_of": first,
        "method": "near",
        "similarity": 0.9,
    }
    return {"topic": DUPLICATES, "key": article_id, "value": value}


def dead_letter(raw: bytes, key: str | None = None) -> dict[str, Any]:
    value = {
        "schema": "wirewatch.deadletter/1",
        "code": "invalid_json",
        "message": "truncated",
        "raw_b64": base64.b64encode(raw).decode(),
        "topic": "news.articles.raw.v1",
        "partition": 0,
        "offset": 8,
        "received_at": "2016-04-14T08:00:00+00:00",
    }
    return {"topic": DEADLETTER, "key": key, "value": value}


BAD_LINE = b'{"id": "bad-1", "body": "A truncated line that never clos'

OUTPUTS: list[dict[str, Any]] = [
    # a1: right type, but hedged=False where the label says hedged.
    # Entities: Aleppo right; Russia with the wrong label (ORG for LOC).
    *enriched(
        "a1",
        "fr",
        [alert("ceasefire_violation", False, "pourraient violer la cessation des hostilités")],
        [entity("Aleppo", "LOC", "Alep"), entity("Russia", "ORG", "Russie")],
    ),
    duplicate("a2", "a1"),
    # b1: airstrike right (hedged right); ceasefire_violation missed.
    # Entities: both right (one differs only in case), plus an extra Damascus.
    *enriched(
        "b1",
        "en",
        [alert("airstrike", False, "Syrian Air Force jets struck Idlib on Tuesday")],
        [entity("Idlib", "LOC"), entity("SYRIAN AIR FORCE", "ORG"), entity("Damascus", "LOC")],
    ),
    # a3 -> a2 -> a1: a transitive chain; a3's duplicate_of is not the gold first id.
    duplicate("a3", "a2"),
    # c1: a distractor alert; MISC entities are ignored by the labelled metrics.
    *enriched(
        "c1",
        "fr",
        [alert("ceasefire_violation", False, "la trêve des confiseurs au Parlement")],
        [entity("Emmanuel Macron", "PER"), entity("Noël", "MISC")],
    ),
    # d1: two ground_offensive alerts, one unhedged -> predicted hedged=False (right);
    # an airstrike nobody labelled; shelling missed. Entities: Iraqi Army missed.
    *enriched(
        "d1",
        "en",
        [
            alert("ground_offensive", True, "units may push on"),
            alert("ground_offensive", False, "launched an offensive on western Mosul"),
            alert("airstrike", True, "mortar shelling hit the old city"),
        ],
        [entity("Mosul", "LOC")],
    ),
    # d2 wrongly merged into the a-group instead of d1's.
    duplicate("d2", "a1"),
    # e1: two distractor alerts, the wrong language, easyJet labelled MISC.
    *enriched(
        "e1",
        "fr",
        [
            alert("ceasefire_violation", False, "called a ceasefire"),
            alert("ceasefire_violation", True, "their summer price war"),
        ],
        [entity("Ryanair", "ORG"), entity("easyJet", "MISC")],
    ),
    dead_letter(BAD_LINE),
    # An id the dataset does not know: listed, not scored.
    *enriched("zz", "en", [], []),
]


@pytest.fixture(scope="module")
def report() -> EvalReport:
    return score(load_dataset(FIXTURE), OUTPUTS)


# --- load_dataset -------------------------------------------------------------------


def test_load_dataset_reads_labels_and_keeps_raw_lines() -> None:
    """Every line is kept as bytes, the truncated one included; labels are parsed."""
    dataset = load_dataset(FIXTURE)
    assert [label.id for label in dataset.labels] == [
        "a1", "a2", "b1", "a3", "c1", "d1", "d2", "e1", "bad-1",
    ]  # fmt: skip
    assert len(dataset.raw_lines) == 9
    assert dataset.raw_lines[-1] == BAD_LINE
    d1 = dataset.labels[5]
    assert d1 == LabelledArticle(
        id="d1",
        language="en",
        duplicate_of=None,
        alerts=(
            AlertLabel("ground_offensive", False, "launched an offensive on western Mosul"),
            AlertLabel("shelling", False, "mortar shelling hit the old city"),  # unknown type, kept
        ),
        entities=(EntityLabel("Mosul", "LOC"), EntityLabel("Iraqi Army", "ORG")),
    )
    assert dataset.labels[1].duplicate_of == "a1"


def write(tmp_path: Path, articles: list[str], labels: list[str]) -> Path:
    (tmp_path / "articles.jsonl").write_text("".join(line + "\n" for line in articles))
    (tmp_path / "labels.jsonl").write_text("".join(line + "\n" for line in labels))
    return tmp_path


def label_line(article_id: str, **fields: Any) -> str:
    value: dict[str, Any] = {
        "id": article_id,
        "language": "en",
        "duplicate_of": None,
        "alerts": [],
        "entities": [],
    }
    value.update(fields)
    return json.dumps(value)


def article_line(article_id: str) -> str:
    return json.dumps({"id": article_id, "body": "Some text."})


def test_load_dataset_skips_blank_lines_and_crlf(tmp_path: Path) -> None:
    """Blank lines and CRLF line ends do not count as articles."""
    (tmp_path / "articles.jsonl").write_bytes(b'{"id": "x", "body": "b"}\r\n\r\n')
    (tmp_path / "labels.jsonl").write_text(label_line("x") + "\n\n")
    dataset = load_dataset(tmp_path)
    assert dataset.raw_lines == [b'{"id": "x", "body": "b"}']


def test_load_dataset_uses_url_when_id_is_missing(tmp_path: Path) -> None:
    """A raw article without id is matched by its url, as the pipeline names it."""
    articles = [json.dumps({"url": "https://example.org/x", "body": "b"})]
    load_dataset(write(tmp_path, articles, [label_line("https://example.org/x")]))


@pytest.mark.parametrize(
    ("articles", "labels", "message"),
    [
        (["x", "y"], [label_line("x")], "2 articles but labels.jsonl has 1 labels"),
        (
            ["x", "y"],
            [label_line("x"), label_line("z")],
            "article id 'y' does not match its label id 'z'",
        ),
        (["x", "y"], [label_line("x"), label_line("x")], "'x' is labelled twice"),
        (["x"], ['{"id": "x", "language": '], "labels.jsonl:1: invalid JSON"),
        (["x"], ['["x"]'], "must be a JSON object"),
        (["x"], [label_line("x", language=None)], "'language' must be a non-empty string"),
        (["x", "y"], [label_line("x"), label_line("y", duplicate_of="q")], "not in the dataset"),
        (
            ["x", "y", "z"],
            [label_line("x"), label_line("y", duplicate_of="x"), label_line("z", duplicate_of="y")],
            "itself a duplicate of 'x'",
        ),
        (["x"], [label_line("x", duplicate_of="x")], "duplicate of itself"),
        (
            ["x"],
            [label_line("x", alerts=[{"type": "airstrike", "hedged": "no", "evidence": "e"}])],
            "alerts[0]: 'hedged' must be true or false",
        ),
        (
            ["x"],
            [label_line("x", entities=[{"canonical": "Paris", "label": "MISC"}])],
            "label 'MISC' is not one of PER, ORG, LOC",
        ),
    ],
)
def test_load_dataset_rejects_inconsistent_files(
    tmp_path: Path, articles: list[str], labels: list[str], message: str
) -> None:
    """Mismatched counts or ids, bad JSON and malformed labels raise a clear DatasetError."""
    write(tmp_path, [article_line(a) for a in articles], labels)
    with pytest.raises(DatasetError, match=re.escape(message)):
        load_dataset(tmp_path)


def test_load_dataset_needs_both_files(tmp_path: Path) -> None:
    """A directory without labels.jsonl is an error that names the file."""
    (tmp_path / "articles.jsonl").write_text(article_line("x") + "\n")
    with pytest.raises(DatasetError, match=r"missing labels\.jsonl"):
        load_dataset(tmp_path)


def test_unknown_alert_types_are_kept(tmp_path: Path) -> None:
    """A type that is not in v1 is loaded, and scored as its own row."""
    labels = [label_line("x", alerts=[{"type": "siege", "hedged": False, "evidence": "e"}])]
    dataset = load_dataset(write(tmp_path, [article_line("x")], labels))
    assert dataset.labels[0].alerts == (AlertLabel("siege", False, "e"),)
    rep = score(dataset, [])
    assert [s.type for s in rep.alerts.per_type] == [
        "ceasefire_violation", "airstrike", "ground_offensive", "siege",
    ]  # fmt: skip
    assert rep.alerts.by_type("siege").fn == 1


# --- score: the fixture -------------------------------------------------------------


def test_counts(report: EvalReport) -> None:
    """Messages per topic: 6 enriched (zz included), 3 duplicates, 1 dead letter, 8 alerts."""
    c = report.counts
    assert (c.articles, c.enriched, c.duplicates, c.dead_letters, c.alerts) == (9, 6, 3, 1, 8)
    assert report.unknown_ids == ("zz",)
    assert report.untraced_dead_letters == 0


def test_alert_scores_per_type(report: EvalReport) -> None:
    """Article-level TP/FP/FN per type over the 6 non-duplicate articles."""
    a = report.alerts
    assert a.articles == 6  # a1 b1 c1 d1 e1 bad-1
    # v1 types first, then the others seen (shelling, from the labels).
    types = ["ceasefire_violation", "airstrike", "ground_offensive", "shelling"]
    assert [s.type for s in a.per_type] == types

    # ceasefire_violation: gold {a1, b1}, predicted {a1, c1, e1}
    # TP=1 (a1) FP=2 (c1, e1) FN=1 (b1) -> P=1/3 R=1/2 F1=2*(1/6)/(5/6)=2/5
    cv = a.by_type("ceasefire_violation")
    assert (cv.tp, cv.fp, cv.fn) == (1, 2, 1)
    assert cv.precision == pytest.approx(1 / 3)
    assert cv.recall == pytest.approx(1 / 2)
    assert cv.f1 == pytest.approx(2 / 5)

    # airstrike: gold {b1}, predicted {b1, d1}: TP=1 FP=1 FN=0 -> P=1/2 R=1 F1=2/3
    air = a.by_type("airstrike")
    assert (air.tp, air.fp, air.fn) == (1, 1, 0)
    assert air.precision == pytest.approx(1 / 2)
    assert air.recall == 1.0
    assert air.f1 == pytest.approx(2 / 3)

    # ground_offensive: gold {d1}, predicted {d1}: TP=1 -> P=R=F1=1
    go = a.by_type("ground_offensive")
    assert (go.tp, go.fp, go.fn, go.precision, go.recall, go.f1) == (1, 0, 0, 1.0, 1.0, 1.0)

    # shelling: gold {d1}, never predicted: TP=0 FP=0 FN=1 -> P undefined -> 0, R=0, F1=0
    sh = a.by_type("shelling")
    assert (sh.tp, sh.fp, sh.fn, sh.precision, sh.recall, sh.f1) == (0, 0, 1, 0.0, 0.0, 0.0)

    # micro: TP=3 FP=3 FN=2 -> P=3/6 R=3/5 F1=2*(0.3)/(1.1)=6/11
    total = a.total
    assert (total.tp, total.fp, total.fn) == (3, 3, 2)
    assert total.precision == pytest.approx(0.5)
    assert total.recall == pytest.approx(0.6)
    assert total.f1 == pytest.approx(6 / 11)


def test_hedged_accuracy(report: EvalReport) -> None:
    """Hedged is judged on true positives; predicted hedged needs every alert of the type hedged."""
    a = report.alerts
    # a1 cv: gold hedged, predicted unhedged -> wrong (0/1)
    cv = a.by_type("ceasefire_violation")
    assert (cv.hedged_correct, cv.hedged_total, cv.hedged_accuracy) == (0, 1, 0.0)
    # b1 airstrike: both unhedged -> right (1/1)
    assert a.by_type("airstrike").hedged_accuracy == 1.0
    # d1 ground_offensive: alerts hedged (T, F) -> predicted F; gold F -> right (1/1)
    go = a.by_type("ground_offensive")
    assert (go.hedged_correct, go.hedged_total) == (1, 1)
    # shelling: no true positive -> 0/0, reported as 0
    sh = a.by_type("shelling")
    assert (sh.hedged_correct, sh.hedged_total, sh.hedged_accuracy) == (0, 0, 0.0)
    # overall: 2 right of 3 true positives
    assert (a.total.hedged_correct, a.total.hedged_total) == (2, 3)
    assert a.total.hedged_accuracy == pytest.approx(2 / 3)


def test_alerts_on_alert_free_articles(report: EvalReport) -> None:
    """Distractors: c1 (1 alert) and e1 (2 alerts) are labelled alert-free; so is bad-1."""
    a = report.alerts
    assert a.alert_free_articles == 3  # c1 e1 bad-1
    assert a.alerts_on_alert_free == 3  # 1 + 2 alerts, not types
    assert a.alert_free_articles_with_alerts == 2


def test_dedup_pairwise(report: EvalReport) -> None:
    """Pairwise P/R with the a3 -> a2 -> a1 chain and d2 merged into the wrong group."""
    d = report.dedup
    # gold clusters {a1 a2 a3} {d1 d2} + singles: 3 + 1 = 4 gold pairs
    # predicted roots: a2->a1, a3->a2->a1, d2->a1 => {a1 a2 a3 d2}: C(4,2) = 6 pairs
    # correct: the 3 pairs inside {a1 a2 a3}
    # -> P = 3/6 = 0.5, R = 3/4 = 0.75
    assert (d.articles, d.gold_pairs, d.predicted_pairs, d.correct_pairs) == (9, 4, 6, 3)
    assert d.precision == pytest.approx(0.5)
    assert d.recall == pytest.approx(0.75)
    # a3 points at a2 and d2 at a1, neither the gold first id (a1, d1)
    assert d.first_id_mismatches == 2
    assert [(e.article_id, e.details["predicted"]) for e in report.notes_of("dedup_first_id")] == [
        ("a3", "a2"),
        ("d2", "a1"),
    ]


def test_dedup_errors_list_pairs(report: EvalReport) -> None:
    """False merges are the 3 pairs joining d2 to the a-group; the miss is (d1, d2)."""
    merges = [(e.article_id, e.details["other_id"]) for e in report.errors_of("dedup_false_merge")]
    assert merges == [("a1", "d2"), ("a2", "d2"), ("a3", "d2")]
    misses = [(e.article_id, e.details["other_id"]) for e in report.errors_of("dedup_miss")]
    assert misses == [("d1", "d2")]


def test_entities(report: EvalReport) -> None:
    """Micro P/R of (canonical.casefold(), label) over a1 b1 c1 d1 e1."""
    e = report.entities
    assert e.articles == 5
    # gold: a1 2, b1 2, c1 1, d1 2, e1 2 = 9
    # pred (PER/ORG/LOC): a1 2, b1 3, c1 1 (Noël is MISC), d1 1, e1 1 (easyJet is MISC) = 8
    # matched: a1 1 (Aleppo), b1 2 (case-insensitive), c1 1, d1 1, e1 1 = 6
    # -> P = 6/8 = 0.75, R = 6/9 = 2/3
    assert (e.gold, e.predicted, e.matched) == (9, 8, 6)
    assert e.precision == pytest.approx(0.75)
    assert e.recall == pytest.approx(2 / 3)
    # label-agnostic: names only, any predicted label. Russia (ORG) and easyJet (MISC)
    # now count; only Iraqi Army is missing -> 8/9
    assert (e.canonical_matched, e.canonical_gold) == (8, 9)
    assert e.canonical_recall == pytest.approx(8 / 9)


def test_entity_errors(report: EvalReport) -> None:
    """Misses and extras are listed per article with their labels."""
    misses = {e.article_id: e.details["entities"] for e in report.errors_of("entity_miss")}
    assert misses == {
        "a1": [{"canonical": "Russia", "label": "LOC"}],
        "d1": [{"canonical": "Iraqi Army", "label": "ORG"}],
        "e1": [{"canonical": "easyJet", "label": "ORG"}],
    }
    extras = {e.article_id: e.details["entities"] for e in report.errors_of("entity_extra")}
    assert extras == {
        "a1": [{"canonical": "Russia", "label": "ORG"}],
        "b1": [{"canonical": "Damascus", "label": "LOC"}],
    }


def test_language_accuracy(report: EvalReport) -> None:
    """Over the 5 labelled articles with an enriched event; e1 is English, predicted fr: 4/5."""
    lang = report.language
    assert (lang.articles, lang.correct) == (5, 4)
    assert lang.accuracy == pytest.approx(0.8)
    [error] = report.errors_of("language")
    assert (error.article_id, error.details["gold"], error.details["predicted"]) == (
        "e1",
        "en",
        "fr",
    )


def test_alert_errors(report: EvalReport) -> None:
    """FPs carry the predicted sentence, FNs the labelled evidence, in dataset order."""
    fps = [(e.article_id, e.details["type"], e.details["sentence"]) for e in report.errors_of("alert_false_positive")]
    assert fps == [
        ("c1", "ceasefire_violation", "la trêve des confiseurs au Parlement"),
        ("d1", "airstrike", "mortar shelling hit the old city"),
        ("e1", "ceasefire_violation", "called a ceasefire"),
    ]
    fns = [(e.article_id, e.details["type"], e.details["evidence"]) for e in report.errors_of("alert_false_negative")]
    assert fns == [
        ("b1", "ceasefire_violation", "breaking the truce agreed last week"),
        ("d1", "shelling", "mortar shelling hit the old city"),
    ]
    [hedged] = report.errors_of("hedged_mismatch")
    assert hedged.article_id == "a1"
    assert hedged.details == {
        "type": "ceasefire_violation",
        "gold": True,
        "predicted": False,
        "sentence": "pourraient violer la cessation des hostilités",
    }


def test_dead_letter_is_traced_to_its_article(report: EvalReport) -> None:
    """The truncated line is found by its raw bytes: a note, not a 'no output' error."""
    assert [e.article_id for e in report.notes_of("dead_letter")] == ["bad-1"]
    assert report.errors_of("no_output") == []


def test_to_dict_is_json_and_carries_the_counts(report: EvalReport) -> None:
    """The --json form round-trips through JSON and keeps counts next to ratios."""
    data = json.loads(json.dumps(report.to_dict()))
    assert data["counts"]["enriched"] == 6
    assert data["alerts"]["micro"]["tp"] == 3
    assert data["alerts"]["hedged_accuracy"] == pytest.approx(2 / 3)
    assert data["alerts"]["alerts_on_alert_free"] == 3
    assert data["dedup"]["precision"] == pytest.approx(0.5)
    assert data["entities"]["canonical_recall"] == pytest.approx(8 / 9)
    assert data["language"]["accuracy"] == pytest.approx(0.8)
    kinds = {e["kind"] for e in data["errors"]}
    assert kinds == {
        "alert_false_positive",
        "alert_false_negative",
        "hedged_mismatch",
        "dedup_false_merge",
        "dedup_miss",
        "language",
        "entity_miss",
        "entity_extra",
    }
    assert data["unknown_ids"] == ["zz"]


def test_render_report(report: EvalReport) -> None:
    """The table, the metric lines with 3 decimals, and a capped error list."""
    buffer = io.StringIO()
    render_report(report, Console(file=buffer, width=120, color_system=None), max_errors=3)
    out = buffer.getvalue()
    assert "ceasefire_violation" in out
    assert "0.333" in out  # cv precision
    assert "0.545" in out  # micro F1 = 6/11
    assert "0.000 (0/1)" in out  # cv hedged accuracy
    assert "Alerts on articles labelled alert-free: 3 (on 2 of 3 articles)" in out
    assert "precision 0.500 (3/6 pairs), recall 0.750 (3/4)" in out
    assert "precision 0.750 (6/8), recall 0.667 (6/9)" in out
    assert "label-agnostic recall 0.889 (8/9)" in out
    assert "accuracy 0.800 (4/5)" in out
    assert "la trêve des confiseurs" in out
    n_errors = len(report.errors)  # 3 FP + 2 FN + 1 hedged + 3 merges + 1 miss + 1 lang + 5 ent
    assert n_errors == 16
    assert f"and {n_errors - 3} more" in out


# --- score: edge cases on hand-built datasets -----------------------------------------


def labelled(article_id: str, **fields: Any) -> LabelledArticle:
    return LabelledArticle(
        id=article_id,
        language=fields.get("language", "en"),
        duplicate_of=fields.get("duplicate_of"),
        alerts=tuple(fields.get("alerts", ())),
        entities=tuple(fields.get("entities", ())),
    )


def dataset_of(*labels: LabelledArticle) -> Dataset:
    lines = [json.dumps({"id": label.id, "body": "x"}).encode() for label in labels]
    return Dataset(path=Path("mem"), raw_lines=lines, labels=list(labels))


def test_gold_duplicates_are_left_out_of_alerts_and_entities() -> None:
    """An enriched event for a labelled duplicate counts for language only."""
    ds = dataset_of(
        labelled("p"),
        labelled("q", duplicate_of="p", entities=[EntityLabel("Kyiv", "LOC")]),
    )
    outputs = enriched("q", "en", [alert("airstrike", False, "s")], [entity("Kyiv", "LOC")])
    rep = score(ds, outputs)
    assert rep.alerts.articles == 1
    assert rep.alerts.total.fp == 0
    assert rep.entities.articles == 0
    assert (rep.language.articles, rep.language.correct) == (1, 1)
    # p has no output of any kind
    assert [e.article_id for e in rep.errors_of("no_output")] == ["p"]
    # and q was not found a duplicate of p: one missed pair -> R = 0/1, P = 1.0 (0/0)
    assert (rep.dedup.recall, rep.dedup.precision) == (0.0, 1.0)


def test_dead_lettered_article_is_its_own_root() -> None:
    """A duplicate message for an article that went to dead letters does not cluster it."""
    ds = dataset_of(labelled("p"), labelled("q"))
    outputs = [duplicate("q", "p"), dead_letter(b"garbage", key="q")]  # traced by key
    rep = score(ds, outputs)
    assert rep.dedup.predicted_pairs == 0
    assert rep.dedup.precision == 1.0  # 0/0
    assert rep.dedup.recall == 1.0  # no gold pairs either
    assert [e.article_id for e in rep.notes_of("dead_letter")] == ["q"]


def test_duplicate_cycle_forms_one_cluster() -> None:
    """p -> q -> p (a pipeline bug) still puts p and q together, and scoring terminates."""
    ds = dataset_of(labelled("p"), labelled("q", duplicate_of="p"), labelled("r"))
    rep = score(ds, [duplicate("p", "q"), duplicate("q", "p")])
    assert (rep.dedup.gold_pairs, rep.dedup.predicted_pairs, rep.dedup.correct_pairs) == (1, 1, 1)


def test_untraced_dead_letters_are_counted() -> None:
    """A dead letter that matches no line, key or id is counted, not attributed."""
    ds = dataset_of(labelled("p"))
    rep = score(ds, [dead_letter(b"other bytes")])
    assert rep.counts.dead_letters == 1
    assert rep.untraced_dead_letters == 1
    assert [e.article_id for e in rep.errors_of("no_output")] == ["p"]


def test_no_labelled_entities_or_predictions_gives_zero_not_an_error() -> None:
    """Undefined entity and alert ratios are 0, with their counts."""
    rep = score(dataset_of(labelled("p")), enriched("p", "en", [], []))
    assert (rep.entities.gold, rep.entities.predicted) == (0, 0)
    assert (rep.entities.precision, rep.entities.recall) == (0.0, 0.0)
    assert rep.alerts.total.f1 == 0.0


def test_pair_errors_are_capped() -> None:
    """A pipeline that merges everything lists at most MAX_PAIR_ERRORS pairs, counts stay exact."""
    n = 50  # 1225 false pairs
    ds = dataset_of(*(labelled(f"x{i}") for i in range(n)))
    rep = score(ds, [duplicate(f"x{i}", "x0") for i in range(1, n)])
    assert rep.dedup.predicted_pairs == n * (n - 1) // 2
    assert rep.dedup.correct_pairs == 0
    assert len(rep.errors_of("dedup_false_merge")) == MAX_PAIR_ERRORS


def test_malformed_and_foreign_messages_are_counted_not_fatal() -> None:
    """A value that is not an object, or another topic, does not break scoring."""
    rep = score(
        dataset_of(labelled("p")),
        [
            {"topic": ENRICHED, "key": "p", "value": "not an object"},
            {"topic": "wirewatch.articles.unique.v1", "key": "p", "value": {}},
            {
                "topic": ENRICHED,
                "key": "p",
                "value": {"id": "p", "alerts": [{"type": "airstrike"}, "junk"], "entities": "?"},
            },
        ],
    )
    assert (rep.counts.malformed, rep.counts.other) == (1, 1)
    assert rep.alerts.by_type("airstrike").fp == 1
