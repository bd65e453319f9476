"""The mapping from each spaCy pipeline's NER labels to wirewatch's PER/ORG/LOC/MISC.

The French pipeline (WikiNER scheme) already speaks PER/ORG/LOC/MISC. The English
one uses OntoNotes labels:

* PERSON -> PER; ORG -> ORG;
* GPE, LOC and FAC -> LOC (countries, cities, regions, and facilities such as an
  airport, a bridge or a base: all places an event can happen at);
* NORP (nationalities, religious and political groups), EVENT, LAW, WORK_OF_ART,
  PRODUCT, LANGUAGE -> MISC. A NORP span that names a curated actor ("Houthis",
  "Taliban") takes the actor's label instead, like any span the gazetteer knows;
* DATE, TIME, CARDINAL, ORDINAL, QUANTITY, MONEY, PERCENT -> dropped: dates and
  numbers are not entities.

A label that no pipeline should emit is dropped rather than guessed.
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = ["LABELS", "Label", "map_label"]

Label = Literal["PER", "ORG", "LOC", "MISC"]
LABELS: Final[tuple[Label, ...]] = ("PER", "ORG", "LOC", "MISC")

_MODEL_LABELS: Final[dict[str, Label]] = {
    # fr_core_news_* (WikiNER)
    "PER": "PER",
    "ORG": "ORG",
    "LOC": "LOC",
    "MISC": "MISC",
    # en_core_web_* (OntoNotes 5)
    "PERSON": "PER",
    "GPE": "LOC",
    "FAC": "LOC",
    "NORP": "MISC",
    "EVENT": "MISC",
    "LAW": "MISC",
    "WORK_OF_ART": "MISC",
    "PRODUCT": "MISC",
    "LANGUAGE": "MISC",
}


def map_label(model_label: str) -> Label | None:
    """wirewatch's label for a model label, or None when the span is not an entity."""
    return _MODEL_LABELS.get(model_label)
