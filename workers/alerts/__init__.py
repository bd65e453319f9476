"""Conflict alerts from rules kept as data (issue 4).

``RuleSet.load()`` reads and checks the YAML rule files (``workers/rules``);
``AlertDetector(rules, pool)`` compiles them once per language into spaCy
matchers; ``detect(doc, article, entities)`` returns every alert sentence
(``evidence``) and the strongest alert per type (``best``).
See :mod:`workers.alerts.assess` for how ``confidence`` is computed.
"""

from __future__ import annotations

from workers.alerts.detector import AlertDetector, AlertResult, alert_id
from workers.alerts.errors import RuleFileError
from workers.alerts.rules import RuleSet, default_rules_dir

__all__ = [
    "AlertDetector",
    "AlertResult",
    "RuleFileError",
    "RuleSet",
    "alert_id",
    "default_rules_dir",
]
