"""One-line, human-readable forms of output messages (``wirewatch tail``)."""

from __future__ import annotations

from typing import Any

__all__ = ["one_line"]


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def one_line(topic: str, value: dict[str, Any], width: int = 160) -> str:
    """A one-line summary of ``value`` read from ``topic``."""
    schema = str(value.get("schema", ""))
    if schema.startswith("wirewatch.alert/"):
        when = str(value.get("published_at") or "")[:16].replace("T", " ") or "-"
        kind = str(value.get("type", "?")) + (" (hedged)" if value.get("hedged") else "")
        places = ", ".join(value.get("locations") or []) or "-"
        actors = ", ".join(value.get("actors") or []) or "-"
        head = f"{when}  {kind:<30} {value.get('confidence', 0):.2f}  @ {places}  by {actors}  |  "
        return head + _cut(str(value.get("sentence", "")), max(20, width - len(head)))
    if schema.startswith("wirewatch.enriched/"):
        alerts = ",".join(sorted({a["type"] for a in value.get("alerts", [])})) or "no alert"
        ents = ", ".join(e["canonical"] for e in value.get("entities", [])[:6])
        head = (
            f"{value.get('id')}  [{value.get('language')}]"
            f"{'  body_repeated' if value.get('body_repeated') else ''}  {alerts}  |  "
        )
        return head + _cut(ents, max(20, width - len(head)))
    if schema.startswith("wirewatch.duplicate/"):
        return (
            f"{value.get('id')}  duplicate of {value.get('duplicate_of')}"
            f"  ({value.get('method')}, similarity {value.get('similarity')})"
        )
    if schema.startswith("wirewatch.deadletter/"):
        where = f"{value.get('topic')}[{value.get('partition')}]@{value.get('offset')}"
        return f"{value.get('code')}  {where}  {_cut(str(value.get('message', '')), width - len(where) - 30)}"
    return _cut(str(value), width)
