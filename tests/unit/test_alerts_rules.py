"""Rule files are data: checked at start-up, and a new alert type needs no code."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from topics.records import Article
from workers.alerts import AlertDetector, RuleFileError, RuleSet, default_rules_dir
from workers.nlp import NlpPool

HOSTAGE_TAKING_EN = """\
format: wirewatch.rules/1
version: "1.0.0"
kind: alert_type
type: hostage_taking
language: en
cameo: "181"
plover: ABDUCT
description: People seized and held as hostages.
lexicons:
  seize: [kidnap, abduct, seize, "take hostage", "took hostage", "taken hostage"]
  people: [hostage, hostages, civilians, workers, passengers, tourists]
patterns:
  - id: hostages-seized
    weight: 0.85
    near: {terms: [seize, people], window: 4, focus: 0}
  - id: hostage-term
    weight: 0.8
    terms: ["hostage-taking", "hostage crisis"]
not:
  - id: figurative
    terms: ["held hostage by", "hostage to fortune"]
"""


@pytest.fixture(scope="module")
def pool() -> Iterator[NlpPool]:
    yield NlpPool.load()


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_packaged_rules_load_with_versions() -> None:
    """Every packaged file loads; each type has French and English rules and a version."""
    rules = RuleSet.load()
    assert rules.types == ("airstrike", "ceasefire_violation", "ground_offensive")
    for lang in ("fr", "en"):
        lang_rules = rules.for_language(lang)
        assert lang_rules is not None and lang_rules.cues is not None
        assert [t.type for t in lang_rules.types] == list(rules.types)
        assert all(t.version and t.cameo and t.plover == "ASSAULT" for t in lang_rules.types)
    assert rules.for_language("de") is None


def test_new_alert_type_needs_only_a_data_file(tmp_path: Path, pool: NlpPool) -> None:
    """A hostage_taking.en.yaml in a rules directory fires with no code change."""
    shutil.copy(default_rules_dir() / "cues.en.yaml", tmp_path / "cues.en.yaml")
    write(tmp_path, "hostage_taking.en.yaml", HOSTAGE_TAKING_EN)
    detector = AlertDetector(RuleSet.load(tmp_path), pool)
    text = "Gunmen kidnapped six aid workers near Timbuktu on Sunday."
    doc = pool.model_for("en")(text)
    result = detector.detect(doc, Article(id="h-1", text=text, language="en"))
    (alert,) = result.best
    assert (alert.type, alert.cameo, alert.plover, alert.hedged) == ("hostage_taking", "181", "ABDUCT", False)
    assert alert.span == (0, len(text))

    negated = "No aid workers were kidnapped, the governor said."
    doc = pool.model_for("en")(negated)
    assert detector.detect(doc, Article(id="h-2", text=negated, language="en")).best == []


def test_new_type_file_works_without_a_cue_file(tmp_path: Path, pool: NlpPool) -> None:
    """A self-contained type file is enough; languages absent from the directory stay silent."""
    write(tmp_path, "hostage_taking.en.yaml", HOSTAGE_TAKING_EN)
    rules = RuleSet.load(tmp_path)
    assert rules.types == ("hostage_taking",)
    detector = AlertDetector(rules, pool)
    text = "Rebels took hostage 20 passengers of a bus."
    doc = pool.model_for("en")(text)
    assert [a.type for a in detector.detect(doc, Article(id="h-3", text=text, language="en")).best] == [
        "hostage_taking"
    ]
    french = "Des rebelles ont pris en otage vingt passagers."
    doc = pool.model_for("fr")(french)
    assert detector.detect(doc, Article(id="h-4", text=french, language="fr")).best == []


BROKEN: list[tuple[str, str, str, str]] = [
    # (what is wrong, file name, text, field named in the error)
    ("not YAML", "hostage_taking.en.yaml", "type: [unclosed\n", ""),
    (
        "weight above 1",
        "hostage_taking.en.yaml",
        HOSTAGE_TAKING_EN.replace("weight: 0.85", "weight: 1.5"),
        "patterns/0/weight",
    ),
    (
        "missing cameo",
        "hostage_taking.en.yaml",
        HOSTAGE_TAKING_EN.replace('cameo: "181"\n', ""),
        "(top level)",
    ),
    (
        "unknown lexicon",
        "hostage_taking.en.yaml",
        HOSTAGE_TAKING_EN.replace("terms: [seize, people]", "terms: [seize, persons]"),
        "patterns/0/near/terms/1",
    ),
    (
        "bad spaCy token pattern",
        "hostage_taking.en.yaml",
        HOSTAGE_TAKING_EN.replace('    terms: ["hostage-taking", "hostage crisis"]', "    tokens: [{LEMA: hostage}]"),
        "patterns/1/tokens",
    ),
    (
        "file name disagrees with type",
        "kidnapping.en.yaml",
        HOSTAGE_TAKING_EN,
        "type",
    ),
    (
        "file name disagrees with language",
        "hostage_taking.fr.yaml",
        HOSTAGE_TAKING_EN,
        "language",
    ),
    (
        "duplicate pattern id",
        "hostage_taking.en.yaml",
        HOSTAGE_TAKING_EN.replace("id: hostage-term", "id: hostages-seized"),
        "patterns/1/id",
    ),
    (
        "focus out of range",
        "hostage_taking.en.yaml",
        HOSTAGE_TAKING_EN.replace("window: 4, focus: 0", "window: 4, focus: 5"),
        "patterns/0/near/focus",
    ),
]


@pytest.mark.parametrize(("problem", "name", "text", "field"), BROKEN, ids=[b[0] for b in BROKEN])
def test_bad_rule_file_names_file_and_field(tmp_path: Path, problem: str, name: str, text: str, field: str) -> None:
    """A broken file raises RuleFileError naming the file and the offending field."""
    path = write(tmp_path, name, text)
    with pytest.raises(RuleFileError) as caught:
        RuleSet.load(tmp_path)
    error = caught.value
    assert error.file == path
    assert str(path) in str(error)
    if field:
        assert error.field == field
        assert field in str(error)


def test_missing_directory_is_a_rule_file_error(tmp_path: Path) -> None:
    """A rules directory that does not exist is reported, not silently empty."""
    with pytest.raises(RuleFileError, match="does not exist"):
        RuleSet.load(tmp_path / "nowhere")


def test_rule_file_error_is_a_value_error() -> None:
    """Callers that catch ValueError at start-up also catch rule errors."""
    assert issubclass(RuleFileError, ValueError)
