"""Reading article files: the formats shared by ``enrich``, ``produce`` and ``eval``.

* ``.jsonl``: one raw value per line, kept as raw bytes (a bad line must reach
  the dead-letter path untouched, so nothing here parses JSON);
* ``.txt``: one article whose id is the file stem;
* a directory: its ``.jsonl`` and ``.txt`` files, in name order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import orjson

from topics.records import SourcePosition

from .pipeline import RawRecord

__all__ = ["InputError", "count_records", "input_files", "read_records"]

SUFFIXES = (".jsonl", ".txt")


class InputError(ValueError):
    """An input path that cannot be read as articles."""


def input_files(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.is_file() and p.suffix in SUFFIXES))
        elif path.is_file():
            if path.suffix not in SUFFIXES:
                raise InputError(f"{path}: unsupported file type {path.suffix!r} (use .jsonl or .txt)")
            files.append(path)
        else:
            raise InputError(f"{path}: no such file or directory")
    return files


def _jsonl_lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        for line in fh:
            line = line.rstrip(b"\r\n")
            if line.strip():  # blank lines separate nothing and are not records
                yield line


def read_records(paths: Sequence[Path]) -> Iterator[RawRecord]:
    """Raw records of every input file; ``position`` names file and line number."""
    for path in input_files(paths):
        if path.suffix == ".txt":
            data = path.read_bytes()
            try:
                value = orjson.dumps({"id": path.stem, "body": data.decode("utf-8")})
            except UnicodeDecodeError:
                value = data  # not UTF-8: passed on as it is, so it becomes a dead letter
            yield RawRecord(value=value, key=path.stem, position=SourcePosition(str(path), None, 0))
            continue
        for lineno, line in enumerate(_jsonl_lines(path), start=1):
            yield RawRecord(value=line, key=None, position=SourcePosition(str(path), None, lineno))


def count_records(paths: Sequence[Path]) -> int:
    total = 0
    for path in input_files(paths):
        total += 1 if path.suffix == ".txt" else sum(1 for _ in _jsonl_lines(path))
    return total
