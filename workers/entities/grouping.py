"""Grouping mentions into one output ``Entity`` per canonical entity.

Mentions of the same target (same id; for names without an id, same label and
folded canonical name) become one entity with every offset; ``text`` is the
first surface form. A lone surname the gazetteer does not know ("Mogherini")
joins the one person of the article whose name ends with it.
"""

from __future__ import annotations

from collections.abc import Iterable

from topics.records import Entity
from workers.entities.normalise import fold
from workers.entities.spans import Mention
from workers.entities.targets import Target

__all__ = ["group_mentions"]


def _key(target: Target) -> str:
    return target.id if target.id is not None else f"~{target.label}:{fold(target.canonical)}"


def _last_word(name: str) -> str:
    words = fold(name).split()
    return words[-1] if words else ""


def _surname_owners(targets: Iterable[Target]) -> dict[str, Target]:
    """Surname -> the article's only multi-word person with that last name."""
    owners: dict[str, Target | None] = {}
    for t in targets:
        if t.label == "PER" and len(fold(t.canonical).split()) > 1:
            last = _last_word(t.canonical)
            owners[last] = t if owners.get(last, t) == t else None
    return {k: v for k, v in owners.items() if v is not None}


def group_mentions(text: str, mentions: Iterable[Mention]) -> list[Entity]:
    """One entity per target, sorted by first mention; offsets are into ``text``."""
    unique = sorted({(m.start, m.end): m for m in mentions}.values(), key=lambda m: (m.start, m.end))
    owners = _surname_owners(m.target for m in unique)
    groups: dict[str, list[Mention]] = {}
    targets: dict[str, Target] = {}
    for m in unique:
        target = m.target
        if target.id is None and target.label == "PER" and len(fold(target.canonical).split()) == 1:
            target = owners.get(fold(target.canonical), target)
        key = _key(target)
        targets.setdefault(key, target)
        groups.setdefault(key, []).append(m)
    entities = []
    for key, ms in groups.items():
        t = targets[key]
        entities.append(
            Entity(
                text=text[ms[0].start : ms[0].end],
                label=t.label,
                canonical=t.canonical,
                id=t.id,
                lat=t.lat,
                lon=t.lon,
                country=t.country,
                mentions=tuple((m.start, m.end) for m in ms),
            )
        )
    return sorted(entities, key=lambda e: e.mentions[0])
