"""No regular expression, and no step of validation, can be driven into catastrophic time.

Every pattern is found mechanically, so a new one is checked without anyone remembering to:
module-level compiled patterns of every ``workers`` module, every literal pattern passed to a
``re`` function anywhere in the package source (AST), and any regex in the rule and data files
(spaCy ``REGEX`` token attributes, ``regex``/``pattern`` string fields). Each is run against
adversarial 100k-character inputs; the time bound is against exponential or quadratic
blow-up, not a benchmark. Then whole 1 MiB adversarial bodies go through ``validate()``.
"""

from __future__ import annotations

import ast
import importlib
import json
import multiprocessing
import pkgutil
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

import workers
from workers.pipeline import Pipeline
from workers.settings import Settings

PACKAGE = Path(workers.__file__).resolve().parent
DATA_DIRS = (PACKAGE / "rules", PACKAGE / "data", PACKAGE / "dedup")
PER_CALL_BOUND = 0.5  # seconds; a linear scan of 100k chars takes milliseconds
N = 100_000

ADVERSARIAL = {
    "same-letter": "a" * N,
    "same-letter-then-bang": "a" * N + "!",
    "spaces": " " * N,
    "word-then-spaces": "a" + " " * N,
    "spaces-around-hyphens": ("a -" + " " * 50) * (N // 53),
    "hyphens": "-" * N,
    "word-hyphen": "a-" * (N // 2),
    "tabs-newlines": "\t\n" * (N // 2),
    "newlines": "\n" * N,
    "lt": "<" * N,
    "tag-open": "<a" * (N // 2),
    "tag-like": "<abcdefghijklmnopq" * (N // 18),
    "comment-open": "<!-" * (N // 3),
    "amp": "&" * N,
    "entity-like": "&abcdefghi" * (N // 10),
    "numeric-entity": "&#" + "1" * N,
    "nested-brackets": "[(" * (N // 4) + ")]" * (N // 4),
    "accents": "é" * N,
    "combining": "e" + "\u0301" * N,
    "apostrophes": "'’ʼ‘`´" * (N // 6),
    "dots": "." * N,
    "underscores": "_" * N,
    "digits": "1" * N,
    "cjk": "戦" * N,
    "mixed-scripts": "aé戦\u0301-' " * (N // 7),
    "kafka-version-like": "<kafka.version>" + " " * N,
}


# --------------------------------------------------------------------------- collection


def _modules() -> Iterator[Any]:
    yield workers
    for info in pkgutil.walk_packages(workers.__path__, "workers."):
        if info.name.endswith("__main__"):
            continue
        yield importlib.import_module(info.name)


def _module_patterns() -> dict[str, re.Pattern[str]]:
    found = {}
    for module in _modules():
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
                found[f"{module.__name__}.{name}"] = value
    return found


_RE_FUNCTIONS = {"compile", "search", "match", "fullmatch", "sub", "subn", "findall", "finditer", "split"}


def _source_patterns() -> dict[str, re.Pattern[str]]:
    """Every literal pattern given to ``re.<function>`` in the package's source."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "re"
                and node.func.attr in _RE_FUNCTIONS
                and node.args
            ):
                first = node.args[0]
                where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
                assert isinstance(first, ast.Constant) and isinstance(first.value, str), (
                    f"{where}: a pattern that is not a literal cannot be checked here; compile it at module level"
                )
                found[where] = re.compile(first.value)
    return found


def _data_patterns() -> tuple[int, dict[str, re.Pattern[str]]]:
    """Regexes in rule/data files: spaCy REGEX attributes and regex/pattern string fields."""
    found: dict[str, re.Pattern[str]] = {}
    files = 0

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if str(key).upper() == "REGEX" or str(key).lower() in ("regex", "regexp"):
                    for pattern in value if isinstance(value, list) else [value]:
                        if isinstance(pattern, dict):  # {"REGEX": {"NOT_IN": [...]}}-style nesting
                            walk(pattern, where)
                        elif isinstance(pattern, str):
                            found[f"{where}:{key}:{pattern[:40]}"] = re.compile(pattern)
                walk(value, where)
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    for directory in DATA_DIRS:
        for path in sorted(directory.rglob("*")):
            if path.suffix in (".yaml", ".yml"):
                docs = list(yaml.safe_load_all(path.read_text("utf-8")))
            elif path.suffix == ".json":
                docs = [json.loads(path.read_text("utf-8"))]
            else:
                continue
            files += 1
            walk(docs, str(path.relative_to(PACKAGE.parent)))
    return files, found


def all_patterns() -> dict[str, re.Pattern[str]]:
    patterns = _module_patterns()
    patterns.update(_source_patterns())
    patterns.update(_data_patterns()[1])
    return patterns


# --------------------------------------------------------------------------- tests


def test_patterns_are_found() -> None:
    """The collection sees the known patterns (a broken collector would make the next test vacuous)."""
    patterns = all_patterns()
    names = " ".join(patterns)
    for expected in (
        "workers.normalise._HTML_HINT",
        "workers.validate._LANGUAGE",
        "workers.dedup.fingerprint._WORD",
        "workers.entities.normalise._LOOSE_HYPHEN",
    ):
        assert expected in names
    files, _ = _data_patterns()
    assert files >= 8  # rule files per type and language, cues, data files, their schemas
    print(f"\n[regex] {len(patterns)} patterns checked, rule/data files scanned: {files}")


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_no_pattern_blows_up_on_adversarial_text(name: str) -> None:
    """search, fullmatch, findall and sub of every pattern on a 100k-char adversarial text stay well under 0.5 s."""
    text = ADVERSARIAL[name]
    slow = []
    for where, pattern in all_patterns().items():
        for op in (
            pattern.search,
            pattern.fullmatch,
            pattern.findall,
            lambda s, p=pattern: p.sub(" ", s),
            pattern.split,
        ):
            started = time.perf_counter()
            op(text)
            elapsed = time.perf_counter() - started
            if elapsed > PER_CALL_BOUND:
                slow.append(f"{where} {getattr(op, '__name__', 'sub')}: {elapsed:.2f} s")
    assert not slow, slow


# --------------------------------------------------------------------------- whole validate()

MIB = 1024 * 1024
BODY = MIB - 1024  # under the default 1 MiB body limit, so the whole normalisation runs
VALIDATE_BOUND = 5.0  # seconds per 1 MiB body (the others take < 1 s), in a child process killed past it


def _words(n_chars: int, vocabulary: tuple[str, ...] = ("army", "convoy", "talks", "river", "bridge")) -> str:
    import random

    rng = random.Random(3)
    return " ".join(rng.choice(vocabulary) for _ in range(n_chars // 5))[:n_chars]


def _bodies() -> dict[str, str]:
    half = _words(BODY // 2 - 8)
    return {
        "same-letter": "a" * BODY,
        "spaces": "a" + " " * (BODY - 2) + "b",
        "lt": "<" * BODY,
        "tag-open": "<a" * (BODY // 2),
        "amp": "&" * BODY,
        "nested-divs": "<div>" * (BODY // 11) + "x" + "</div>" * (BODY // 11),
        "script": "<script>" + "x" * (BODY - 20) + "</script>",
        "control-chars": "a\x01" * (BODY // 8),  # JSON escapes a control char in 6 bytes
        "combining": "e" + "\u0301" * (BODY // 2 - 1),
        "newlines": "a\n" * (BODY // 2),
        "pasted-twice-exactly": half + "\n\n" + half,
        # few distinct words in one paragraph, and a near copy: difflib's ratio() is quadratic
        "one-paragraph-few-words": _words(BODY),
        "pasted-twice-with-one-edit": half + "\n\n" + half[:500] + "Z" + half[501:],
    }


def _validate_in_child(raw: bytes, queue: Any) -> None:
    pipeline = Pipeline(Settings(), load_models=False)
    started = time.perf_counter()
    outcome = pipeline.validate(raw)
    queue.put((type(outcome).__name__, getattr(outcome, "code", None), time.perf_counter() - started))


@pytest.mark.parametrize("name", list(_bodies()))
def test_validate_of_a_1_mib_adversarial_body_is_bounded(name: str) -> None:
    """validate() (size checks, JSON, HTML, NFC, whitespace, repeat detection, language) on 1 MiB ends in < 10 s."""
    raw = orjson.dumps({"id": f"adv-{name}", "body": _bodies()[name]})
    assert len(raw) > MIB // 2  # big bodies (JSON escapes make some records larger than the body)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_validate_in_child, args=(raw, queue))
    child.start()
    child.join(VALIDATE_BOUND)
    if child.is_alive():
        child.kill()
        child.join()
        pytest.fail(f"validate() of the {name!r} body still running after {VALIDATE_BOUND} s")
    assert child.exitcode == 0, f"validate() crashed the process (exit {child.exitcode})"
    kind, code, elapsed = queue.get(timeout=5)
    print(f"\n[validate 1 MiB] {name}: {kind} {code or ''} in {elapsed:.2f} s")
    assert kind in ("Article", "DeadLetter")
