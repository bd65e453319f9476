"""EntityExtractor: the entities stage's one object, built once per process."""

from __future__ import annotations

from pathlib import Path

from spacy.tokens import Doc

from topics.records import Entity
from workers.entities.datafiles import default_data_dir
from workers.entities.gazetteer import Gazetteer, load_gazetteer
from workers.entities.geonames import load_geonames
from workers.entities.grouping import group_mentions
from workers.entities.matcher import AliasMatcher
from workers.entities.spans import reconcile
from workers.nlp import NlpPool

__all__ = ["EntityExtractor"]


class EntityExtractor:
    """Canonical entities of a Doc: model NER reconciled with the gazetteer."""

    def __init__(self, gazetteer: Gazetteer, matcher: AliasMatcher) -> None:
        self.gazetteer = gazetteer
        self.matcher = matcher

    @classmethod
    def load(cls, pool: NlpPool, data_dir: Path | None = None) -> EntityExtractor:
        """Read the data files (``workers/data`` by default) and build every lookup table.

        Raises :class:`GazetteerError` for a bad data file.
        """
        gazetteer = load_gazetteer(data_dir or default_data_dir(), load_geonames())
        pipelines = [*pool.models.values(), pool.fallback]
        return cls(gazetteer, AliasMatcher(gazetteer.searchable, pipelines))

    @property
    def data_versions(self) -> dict[str, str]:
        """The version of each data file in use, for logs and provenance."""
        return dict(self.gazetteer.versions)

    def extract(self, doc: Doc, language: str | None, text: str | None = None) -> list[Entity]:
        """The entities of ``doc``, sorted by first mention.

        ``language`` is the article's language; it needs no special handling here
        because a Doc from a pipeline without NER simply has no model spans, and
        the curated aliases are searched in every language. ``text`` is the text
        the Doc was made from, when the caller has it: ``doc.text`` joins every
        token again on each call.
        """
        del language  # the Doc's own pipeline decides everything language-specific
        mentions = reconcile(doc, self.matcher.find(doc), self.gazetteer)
        return group_mentions(doc.text if text is None else text, mentions)
