"""The one-line renderer of ``wirewatch tail``: readable, cut to width, coloured only on a terminal."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from workers.render import one_line, one_line_text

ALERT: dict[str, Any] = {
    "schema": "wirewatch.alert/1",
    "type": "ceasefire_violation",
    "hedged": True,
    "confidence": 0.74,
    "published_at": "2016-04-14T08:00:00+00:00",
    "locations": ["Aleppo"],
    "actors": ["Russia", "United States"],
    "sentence": "Des telles actions pourraient violer la cessation des hostilités, a dit le porte-parole.",
}


def printed(console_kwargs: dict[str, Any], value: dict[str, Any]) -> str:
    out = io.StringIO()
    console = Console(file=out, width=200, **console_kwargs)
    console.print(one_line_text("news.alerts.v1", value, 200), highlight=False, soft_wrap=True)
    return out.getvalue()


def test_alert_line_has_time_type_hedged_place_actors_and_sentence() -> None:
    line = one_line("news.alerts.v1", ALERT, width=200)
    assert line.startswith("2016-04-14 08:00  ceasefire_violation (hedged)   0.74  @ Aleppo  by Russia, United States")
    assert line.endswith("|  Des telles actions pourraient violer la cessation des hostilités, a dit le porte-parole.")


def test_columns_line_up_whatever_the_type() -> None:
    other = {**ALERT, "type": "airstrike", "hedged": False}
    a, b = one_line("news.alerts.v1", ALERT), one_line("news.alerts.v1", other)
    assert a.index("0.74") == b.index("0.74")


def test_sentence_is_cut_to_the_width_and_missing_fields_show_a_dash() -> None:
    value = {**ALERT, "sentence": "mot " * 200, "locations": [], "actors": None, "published_at": None}
    line = one_line("news.alerts.v1", value, width=100)
    assert len(line) == 100 and line.endswith("…")
    assert line.startswith("-  ") and "@ -  by -" in line


def test_colour_on_a_terminal_and_none_without_one_or_with_no_color() -> None:
    coloured = printed({"force_terminal": True, "color_system": "standard"}, ALERT)
    assert "\x1b[" in coloured and "ceasefire_violation" in coloured
    assert "\x1b[" not in printed({}, ALERT)  # a file, not a terminal
    assert "\x1b[" not in printed({"force_terminal": True, "color_system": None}, ALERT)  # --no-color
    assert printed({}, ALERT).rstrip("\n") == one_line("news.alerts.v1", ALERT, 200)


def test_other_topics_have_one_line_forms() -> None:
    dup = {"schema": "wirewatch.duplicate/1", "id": "b", "duplicate_of": "a", "method": "exact", "similarity": 1.0}
    assert one_line("news.articles.duplicates.v1", dup) == "b  duplicate of a  (exact, similarity 1.0)"
    dead = {
        "schema": "wirewatch.deadletter/1",
        "code": "invalid_json",
        "message": "cut",
        "topic": "raw",
        "partition": 0,
        "offset": 7,
    }
    assert one_line("news.articles.deadletter.v1", dead) == "invalid_json  raw[0]@7  cut"
    enriched = {
        "schema": "wirewatch.enriched/1",
        "id": "x",
        "language": "fr",
        "body_repeated": True,
        "alerts": [{"type": "airstrike"}],
        "entities": [{"canonical": "Aleppo"}],
    }
    assert one_line("news.articles.enriched.v1", enriched) == "x  [fr]  body_repeated  airstrike  |  Aleppo"


def test_long_place_and_actor_lists_are_shortened() -> None:
    value = {**ALERT, "locations": ["Aleppo", "Geneva", "Washington, D.C.", "Russia", "Syria"]}
    assert "@ Aleppo, Geneva, Washington, D.C. +2  by" in one_line("news.alerts.v1", value)
