"""The raw model's entities, as a baseline: labels mapped, canonical = surface text.

``wirewatch eval --raw-entities`` scores this instead of the full stage, so
the gain of the gazetteers and span repair is measured by the same code path.
"""

from __future__ import annotations

from spacy.tokens import Doc

from topics.records import Entity
from workers.entities.labels import map_label

__all__ = ["RawModelEntities"]


class RawModelEntities:
    """Entities exactly as the spaCy model found them (no gazetteer, no ids)."""

    def extract(self, doc: Doc, language: str | None, text: str | None = None) -> list[Entity]:
        del language, text  # the same signature as EntityExtractor.extract; spans carry their own text
        mentions: dict[tuple[str, str], list[tuple[int, int]]] = {}
        for ent in doc.ents:
            label = map_label(ent.label_)
            if label is not None:
                mentions.setdefault((ent.text, label), []).append((ent.start_char, ent.end_char))
        return [
            Entity(text=text, label=label, canonical=text, mentions=tuple(spans))
            for (text, label), spans in mentions.items()
        ]
