"""JSON Schemas of the five messages, and a validator factory for tests and tools."""

from __future__ import annotations

import json
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from .catalog import CATALOG

__all__ = ["load_schema", "validator_for"]

_BASE = "https://wirewatch.example/schemas/"


@cache
def load_schema(file_name: str) -> dict[str, Any]:
    text = resources.files(__package__).joinpath("schemas", file_name).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@lru_cache(maxsize=1)
def _registry() -> Registry:
    resources_ = [
        (_BASE + spec.schema, Resource.from_contents(load_schema(spec.schema))) for spec in CATALOG if spec.schema
    ]
    return Registry().with_resources(resources_)


def validator_for(topic: str) -> Draft202012Validator:
    """A validator of the values of ``topic`` (a public topic of the catalog)."""
    for spec in CATALOG:
        if spec.name == topic and spec.schema:
            return Draft202012Validator(load_schema(spec.schema), registry=_registry())
    raise KeyError(f"no schema for topic {topic!r}")
