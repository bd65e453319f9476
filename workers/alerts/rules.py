"""Loading alert rules: YAML data files checked against ``rule.schema.json``.

A rules directory holds ``cues.<lang>.yaml`` (shared hedge/negation cues and
lexicons of a language) and ``<type>.<lang>.yaml`` (one alert type in one
language). Everything is checked at start-up, in this order: YAML syntax, the
JSON Schema, the file name against its ``type``/``language``, lexicon
references, and finally every spaCy pattern through spaCy's own validator. The
first problem raises :class:`RuleFileError` naming the file and the field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal, cast

import jsonschema
import yaml
from spacy.matcher import DependencyMatcher, Matcher
from spacy.vocab import Vocab

from workers.alerts.errors import RuleFileError
from workers.alerts.spec import (
    AlertTypeRules,
    AssertionCue,
    Block,
    ContextCue,
    CueRules,
    HedgeCue,
    LanguageRules,
    Match,
    Near,
    NegationCue,
    Trigger,
)

__all__ = ["RULES_FORMAT", "SCHEMA_FILE", "RuleSet", "default_rules_dir"]

RULES_FORMAT = "wirewatch.rules/1"
SCHEMA_FILE = "rule.schema.json"
CUES_NAME = "cues"
DEFAULT_WINDOW = 8


def default_rules_dir() -> Path:
    """The rule files packaged with wirewatch (``workers/rules``)."""
    return Path(__file__).resolve().parent.parent / "rules"


@cache
def _validator() -> jsonschema.Draft202012Validator:
    # Always the packaged schema: it is part of the code's contract, so a rules
    # directory written by a test or an operator needs no copy of it.
    path = default_rules_dir() / SCHEMA_FILE
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RuleFileError(path, None, f"cannot read the schema: {exc}") from exc
    return jsonschema.Draft202012Validator(schema)


def _json_path(parts: Any) -> str:
    return "/".join(str(p) for p in parts) or "(top level)"


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RuleFileError(path, None, f"cannot read: {exc.strerror or exc}") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise RuleFileError(path, None, f"not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise RuleFileError(path, None, "the top level must be a mapping")
    # best_match picks the most specific error, not an arbitrary branch of a oneOf
    error = jsonschema.exceptions.best_match(_validator().iter_errors(raw))
    if error is not None:
        raise RuleFileError(path, _json_path(error.absolute_path), error.message)
    return raw


class _Builder:
    """Turns the checked YAML of one file into spec values, resolving lexicon names."""

    def __init__(self, path: Path, scope: str, lexicons: dict[str, tuple[str, ...]], vocab: Vocab) -> None:
        self.path = path
        self.scope = scope  # "cues" or the alert type
        self.lexicons = lexicons  # the language's table, extended in place
        self.vocab = vocab

    def fail(self, where: str, problem: str) -> RuleFileError:
        return RuleFileError(self.path, where, problem)

    def add_lexicons(self, raw: Mapping[str, list[str]]) -> None:
        for name, terms in raw.items():
            self.lexicons[f"{self.scope}/{name}"] = self.terms(terms, f"lexicons/{name}")

    def terms(self, terms: list[str], where: str) -> tuple[str, ...]:
        cleaned = tuple(" ".join(t.split()) for t in terms)
        for i, term in enumerate(cleaned):
            if not term:
                raise self.fail(f"{where}/{i}", "a term must not be blank")
        return cleaned

    def resolve(self, name: str, where: str) -> str:
        for key in (f"{self.scope}/{name}", f"{CUES_NAME}/{name}"):
            if key in self.lexicons:
                return key
        raise self.fail(where, f"unknown lexicon {name!r} (not in this file nor in cues.<lang>.yaml)")

    def match(self, raw: Mapping[str, Any], key: str, where: str) -> Match:
        if "lexicon" in raw:
            return Match(key=key, kind="lexicon", lexicon=self.resolve(raw["lexicon"], f"{where}/lexicon"))
        if "terms" in raw:
            self.lexicons[f"{key}#terms"] = self.terms(raw["terms"], f"{where}/terms")
            return Match(key=key, kind="lexicon", lexicon=f"{key}#terms")
        if "near" in raw:
            return Match(key=key, kind="near", near=self.near(raw["near"], key, f"{where}/near"))
        if "tokens" in raw:
            self.check_tokens(raw["tokens"], f"{where}/tokens")
            return Match(key=key, kind="tokens", pattern=list(raw["tokens"]))
        if "dependency" in raw:
            self.check_dependency(raw["dependency"], f"{where}/dependency")
            return Match(key=key, kind="dependency", pattern=list(raw["dependency"]))
        return Match(key=key, kind="entities", labels=tuple(raw["entities"]))

    def near(self, raw: Mapping[str, Any], key: str, where: str) -> Near:
        names: list[str] = []
        for i, item in enumerate(raw["terms"]):
            if isinstance(item, str):
                names.append(self.resolve(item, f"{where}/terms/{i}"))
            else:
                self.lexicons[f"{key}#{i}"] = self.terms(item, f"{where}/terms/{i}")
                names.append(f"{key}#{i}")
        focus = raw.get("focus")
        if focus is not None and focus >= len(names):
            raise self.fail(f"{where}/focus", f"focus {focus} is not an index of terms (0..{len(names) - 1})")
        return Near(
            lexicons=tuple(names),
            window=int(raw.get("window", DEFAULT_WINDOW)),
            ordered=bool(raw.get("ordered", False)),
            focus=focus,
        )

    def check_tokens(self, pattern: list[dict[str, Any]], where: str) -> None:
        try:
            Matcher(self.vocab, validate=True).add("check", [pattern])
        except (ValueError, KeyError, TypeError) as exc:
            raise self.fail(where, f"not a valid spaCy token pattern: {exc}") from exc

    def check_dependency(self, pattern: list[dict[str, Any]], where: str) -> None:
        try:
            DependencyMatcher(self.vocab, validate=True).add("check", [pattern])
        except (ValueError, KeyError, TypeError) as exc:
            raise self.fail(where, f"not a valid spaCy dependency pattern: {exc}") from exc

    def hedges(self, raw: list[dict[str, Any]], section: str) -> tuple[HedgeCue, ...]:
        return tuple(
            HedgeCue(
                id=item["id"],
                strength=float(item["strength"]),
                match=self.match(item, f"{self.scope}/{section}/{item['id']}", f"{section}/{i}"),
                scope=cast(Literal["local", "sentence"], item.get("scope", "local")),
                defeasible=bool(item.get("defeasible", False)),
            )
            for i, item in enumerate(raw)
        )

    def negations(self, raw: list[dict[str, Any]], section: str) -> tuple[NegationCue, ...]:
        return tuple(
            NegationCue(
                id=item["id"],
                scope=cast(Literal["local", "sentence"], item["scope"]),
                match=self.match(item, f"{self.scope}/{section}/{item['id']}", f"{section}/{i}"),
                unless=tuple(item.get("unless", ())),
            )
            for i, item in enumerate(raw)
        )


def _check_unique_ids(path: Path, raw: Mapping[str, Any], sections: tuple[str, ...]) -> None:
    for section in sections:
        seen: set[str] = set()
        for i, item in enumerate(raw.get(section, ())):
            if item["id"] in seen:
                raise RuleFileError(path, f"{section}/{i}/id", f"duplicate id {item['id']!r}")
            seen.add(item["id"])


def _name_parts(path: Path) -> tuple[str, str]:
    stem, _, lang = path.name.rsplit(".", 1)[0].rpartition(".")
    return (stem, lang) if stem else (lang, "")


def _cue_rules(path: Path, raw: dict[str, Any], lexicons: dict[str, tuple[str, ...]], vocab: Vocab) -> CueRules:
    _check_unique_ids(path, raw, ("hedge", "negation", "assertion"))
    b = _Builder(path, CUES_NAME, lexicons, vocab)
    b.add_lexicons(raw.get("lexicons", {}))
    _check_unless(path, raw, {h["id"] for h in raw["hedge"]})
    assertions = tuple(
        AssertionCue(
            id=c["id"],
            match=b.match(c, f"{CUES_NAME}/assertion/{c['id']}", f"assertion/{i}"),
            next_sentence=bool(c.get("next_sentence", False)),
        )
        for i, c in enumerate(raw.get("assertion", ()))
    )
    return CueRules(
        language=raw["language"],
        version=raw["version"],
        source=path,
        hedges=b.hedges(raw["hedge"], "hedge"),
        negations=b.negations(raw["negation"], "negation"),
        assertions=assertions,
        negation_window=int(raw.get("negation_window", 3)),
        hedge_window=int(raw.get("hedge_window", 4)),
    )


def _check_unless(path: Path, raw: Mapping[str, Any], hedge_ids: set[str]) -> None:
    for i, item in enumerate(raw.get("negation", ())):
        for j, name in enumerate(item.get("unless", ())):
            if name not in hedge_ids:
                raise RuleFileError(path, f"negation/{i}/unless/{j}", f"unknown hedge id {name!r}")


def _type_rules(
    path: Path, raw: dict[str, Any], lexicons: dict[str, tuple[str, ...]], vocab: Vocab, cues: CueRules | None
) -> AlertTypeRules:
    _check_unique_ids(path, raw, ("patterns", "context", "not", "hedge", "negation"))
    shared = {h.id for h in cues.hedges} if cues is not None else set()
    _check_unless(path, raw, shared | {h["id"] for h in raw.get("hedge", ())})
    scope = raw["type"]
    b = _Builder(path, scope, lexicons, vocab)
    b.add_lexicons(raw.get("lexicons", {}))
    triggers = tuple(
        Trigger(
            id=item["id"],
            weight=float(item["weight"]),
            match=b.match(item, f"{scope}/patterns/{item['id']}", f"patterns/{i}"),
            negatable=bool(item.get("negatable", True)),
            requires_any=tuple(
                b.resolve(name, f"patterns/{i}/requires_any/{j}") for j, name in enumerate(item.get("requires_any", ()))
            ),
        )
        for i, item in enumerate(raw["patterns"])
    )
    context = tuple(
        ContextCue(
            id=c["id"],
            weight=float(c["weight"]),
            match=b.match(c, f"{scope}/context/{c['id']}", f"context/{i}"),
        )
        for i, c in enumerate(raw.get("context", ()))
    )
    blocks = tuple(
        Block(id=c["id"], match=b.match(c, f"{scope}/not/{c['id']}", f"not/{i}"))
        for i, c in enumerate(raw.get("not", ()))
    )
    return AlertTypeRules(
        type=raw["type"],
        language=raw["language"],
        version=raw["version"],
        cameo=raw["cameo"],
        plover=raw["plover"],
        source=path,
        triggers=triggers,
        context=context,
        blocks=blocks,
        hedges=b.hedges(raw.get("hedge", []), "hedge"),
        negations=b.negations(raw.get("negation", []), "negation"),
        description=raw.get("description", ""),
    )


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Every alert rule of every language, checked; compile it with an ``AlertDetector``."""

    directory: Path
    languages: Mapping[str, LanguageRules]

    @classmethod
    def load(cls, directory: Path | None = None) -> RuleSet:
        """Read and check every rule file of ``directory`` (default: the packaged rules)."""
        directory = default_rules_dir() if directory is None else Path(directory)
        if not directory.is_dir():
            raise RuleFileError(directory, None, "the rules directory does not exist")
        files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
        parsed: list[tuple[Path, dict[str, Any]]] = []
        for path in files:
            raw = _read(path)
            name, lang = _name_parts(path)
            expected = CUES_NAME if raw["kind"] == "cues" else raw.get("type")
            if name != expected:
                field = "kind" if raw["kind"] == "cues" or name == CUES_NAME else "type"
                raise RuleFileError(path, field, f"the file name says {name!r} but the file holds {expected!r}")
            if lang != raw["language"]:
                raise RuleFileError(
                    path,
                    "language",
                    f"the file name says {lang!r} but the file says {raw['language']!r}",
                )
            parsed.append((path, raw))
        vocab = Vocab()  # only to let spaCy validate patterns; detectors compile against each model's vocab
        lexicons: dict[str, dict[str, tuple[str, ...]]] = {}
        cues: dict[str, CueRules] = {}
        for path, raw in parsed:  # cue files first: type files may use their lexicons
            if raw["kind"] == "cues":
                cues[raw["language"]] = _cue_rules(path, raw, lexicons.setdefault(raw["language"], {}), vocab)
        types: dict[str, list[AlertTypeRules]] = {}
        for path, raw in parsed:
            if raw["kind"] == "alert_type":
                lang = raw["language"]
                rules = _type_rules(path, raw, lexicons.setdefault(lang, {}), vocab, cues.get(lang))
                if any(t.type == rules.type for t in types.get(lang, ())):
                    raise RuleFileError(path, "type", f"type {rules.type!r} is defined twice for {lang!r}")
                types.setdefault(lang, []).append(rules)
        languages = {
            lang: LanguageRules(
                language=lang,
                lexicons=lexicons.get(lang, {}),
                types=tuple(sorted(types.get(lang, ()), key=lambda t: t.type)),
                cues=cues.get(lang),
            )
            for lang in sorted(set(types) | set(cues))
        }
        return cls(directory=directory, languages=languages)

    @property
    def types(self) -> tuple[str, ...]:
        """Every alert type with rules in at least one language, sorted."""
        return tuple(sorted({t.type for lr in self.languages.values() for t in lr.types}))

    def for_language(self, language: str | None) -> LanguageRules | None:
        return self.languages.get(language) if language is not None else None
