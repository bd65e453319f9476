"""One-line, human-readable forms of output messages (``wirewatch tail``).

``one_line_text`` builds a ``rich.text.Text`` whose spans carry the colours;
``one_line`` is its plain string. The console decides whether colours are
drawn (a terminal, and no ``--no-color`` / ``NO_COLOR``), so both forms hold
the same characters.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

__all__ = ["one_line", "one_line_text"]

_TYPE_STYLES = {
    "ceasefire_violation": "bold red",
    "airstrike": "bold magenta",
    "ground_offensive": "bold yellow",
}


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def _names(names: list[str] | None, most: int = 3) -> str:
    """The first ``most`` names, then ``+N`` for the rest (the sentence needs the room)."""
    names = list(names or [])
    if not names:
        return "-"
    more = f" +{len(names) - most}" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def _alert(value: dict[str, Any], width: int) -> Text:
    when = str(value.get("published_at") or "")[:16].replace("T", " ") or "-"
    kind = str(value.get("type", "?"))
    hedged = " (hedged)" if value.get("hedged") else ""
    places = _names(value.get("locations"))
    actors = _names(value.get("actors"))
    line = Text()
    line.append(f"{when}  ", style="dim")
    line.append(kind, style=_TYPE_STYLES.get(kind, "bold"))
    line.append(hedged, style="italic yellow")
    line.append(" " * max(1, 31 - len(kind) - len(hedged)))
    line.append(f"{value.get('confidence', 0):.2f}", style="dim")
    line.append("  @ ")
    line.append(places, style="cyan")
    line.append("  by ")
    line.append(actors, style="green")
    line.append("  |  ", style="dim")
    line.append(_cut(str(value.get("sentence", "")), max(20, width - len(line))))
    return line


def _enriched(value: dict[str, Any], width: int) -> Text:
    alerts = ",".join(sorted({a["type"] for a in value.get("alerts", [])}))
    ents = ", ".join(e["canonical"] for e in value.get("entities", [])[:6])
    line = Text()
    line.append(str(value.get("id")), style="bold")
    line.append(f"  [{value.get('language')}]", style="dim")
    if value.get("body_repeated"):
        line.append("  body_repeated", style="dim")
    line.append("  ")
    line.append(alerts or "no alert", style="red" if alerts else "dim")
    line.append("  |  ", style="dim")
    line.append(_cut(ents, max(20, width - len(line))), style="cyan")
    return line


def _duplicate(value: dict[str, Any]) -> Text:
    line = Text()
    line.append(str(value.get("id")), style="bold")
    line.append("  duplicate of ", style="yellow")
    line.append(str(value.get("duplicate_of")), style="bold")
    line.append(f"  ({value.get('method')}, similarity {value.get('similarity')})", style="dim")
    return line


def _dead_letter(value: dict[str, Any], width: int) -> Text:
    where = f"{value.get('topic')}[{value.get('partition')}]@{value.get('offset')}"
    line = Text()
    line.append(str(value.get("code")), style="bold red")
    line.append(f"  {where}  ", style="dim")
    line.append(_cut(str(value.get("message", "")), width - len(where) - 30))
    return line


def one_line_text(topic: str, value: dict[str, Any], width: int = 160) -> Text:
    """A one-line summary of ``value`` read from ``topic``, with colour spans."""
    schema = str(value.get("schema", ""))
    if schema.startswith("wirewatch.alert/"):
        return _alert(value, width)
    if schema.startswith("wirewatch.enriched/"):
        return _enriched(value, width)
    if schema.startswith("wirewatch.duplicate/"):
        return _duplicate(value)
    if schema.startswith("wirewatch.deadletter/"):
        return _dead_letter(value, width)
    return Text(_cut(str(value), width))


def one_line(topic: str, value: dict[str, Any], width: int = 160) -> str:
    """A one-line summary of ``value`` read from ``topic`` (plain text)."""
    return one_line_text(topic, value, width).plain
