"""Reading the gazetteer data files: YAML, checked against their JSON Schemas.

Each data file names its format (``format: wirewatch.actors/1``) and carries a
``version``; the schema for a format lives in ``<data_dir>/schemas``. Anything
wrong becomes a :class:`GazetteerError` that names the file and the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from workers.entities.errors import GazetteerError

__all__ = ["DATA_FILES", "default_data_dir", "read_data_file"]

# libyaml's safe loader when PyYAML was built with it: ten times faster at start-up
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# data file -> the schema file it must satisfy
DATA_FILES: dict[str, str] = {
    "actors.yaml": "actors.schema.json",
    "places.yaml": "places.schema.json",
    "entity_rules.yaml": "entity_rules.schema.json",
}


def default_data_dir() -> Path:
    """The data files packaged with wirewatch (``workers/data``)."""
    return Path(__file__).resolve().parent.parent / "data"


def _json_path(parts: Any) -> str:
    return "/".join(str(p) for p in parts) or "(top level)"


def read_data_file(data_dir: Path, name: str) -> dict[str, Any]:
    """The parsed content of ``data_dir/name``, validated against its schema."""
    path = data_dir / name
    schema_path = data_dir / "schemas" / DATA_FILES[name]
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_SafeLoader)
    except OSError as exc:
        raise GazetteerError(path, None, f"cannot read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise GazetteerError(path, None, f"not valid YAML: {exc}") from exc
    try:
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GazetteerError(schema_path, None, f"cannot read schema: {exc}") from exc
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(raw), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        raise GazetteerError(path, _json_path(first.absolute_path), first.message)
    if not isinstance(raw, dict):  # the schemas all require an object; keeps mypy honest
        raise GazetteerError(path, None, "top level is not a mapping")
    return raw
