"""The raw-model baseline that `wirewatch eval --raw-entities` scores."""

from __future__ import annotations

from workers.entities.raw import RawModelEntities
from workers.nlp import NlpPool


def test_raw_entities_keep_the_model_labels_and_surface_text() -> None:
    pool = NlpPool.load(("en",))
    doc = pool.pipe(["Barack Obama met Vladimir Putin in Geneva. Obama left Geneva on Monday."], ["en"])[0]
    entities = {(e.canonical, e.label): e for e in RawModelEntities().extract(doc, "en")}
    assert ("Geneva", "LOC") in entities
    assert entities[("Geneva", "LOC")].mentions == ((35, 41), (54, 60))
    assert all(e.id is None and e.canonical == e.text for e in entities.values())
    assert not any(label not in {"PER", "ORG", "LOC", "MISC"} for _, label in entities)  # DATE dropped
