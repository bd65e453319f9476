"""Print an EvalReport for people: an alert table, one line per other metric, the errors."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .report import ERROR_KINDS, NOTE_KINDS, AlertTypeScore, EvalError, EvalReport

__all__ = ["render_report"]


def _fig(value: float) -> str:
    return f"{value:.3f}"


def render_report(report: EvalReport, console: Console, max_errors: int = 50) -> None:
    """Tables and lines of figures (3 decimals), then at most ``max_errors`` errors."""
    c = report.counts
    console.print(Text(f"Evaluation of {report.dataset}", style="bold"))
    counts = (
        f"articles {c.articles} · enriched {c.enriched} · duplicates {c.duplicates} · "
        f"dead letters {c.dead_letters} · alerts {c.alerts}"
    )
    if report.unknown_ids:
        counts += f" · unknown ids {len(report.unknown_ids)}"
    if report.untraced_dead_letters:
        counts += f" · untraced dead letters {report.untraced_dead_letters}"
    if c.other or c.malformed:
        counts += f" · other topics {c.other} · malformed {c.malformed}"
    console.print(Text(counts))

    console.print(_alert_table(report))
    a = report.alerts
    console.print(
        Text(
            f"Alerts on articles labelled alert-free: {a.alerts_on_alert_free} "
            f"(on {a.alert_free_articles_with_alerts} of {a.alert_free_articles} articles)"
        )
    )
    d = report.dedup
    console.print(
        Text(
            f"Dedup (pairwise, {d.articles} articles): precision {_fig(d.precision)} "
            f"({d.correct_pairs}/{d.predicted_pairs} pairs), recall {_fig(d.recall)} "
            f"({d.correct_pairs}/{d.gold_pairs}); duplicate_of not the gold first id: "
            f"{d.first_id_mismatches}"
        )
    )
    e = report.entities
    console.print(
        Text(
            f"Entities ({e.articles} articles): precision {_fig(e.precision)} "
            f"({e.matched}/{e.predicted}), recall {_fig(e.recall)} ({e.matched}/{e.gold}); "
            f"label-agnostic recall {_fig(e.canonical_recall)} "
            f"({e.canonical_matched}/{e.canonical_gold})"
        )
    )
    lang = report.language
    console.print(
        Text(f"Language ({lang.articles} articles): accuracy {_fig(lang.accuracy)} ({lang.correct}/{lang.articles})")
    )
    _print_items(console, "Errors", report.errors, ERROR_KINDS, max_errors)
    _print_items(console, "Notes", report.notes, NOTE_KINDS, max_errors)
    if report.unknown_ids:
        console.print(Text("Output ids not in the dataset: " + ", ".join(report.unknown_ids[:20])))


def _alert_table(report: EvalReport) -> Table:
    table = Table(title=f"Alerts ({report.alerts.articles} non-duplicate articles)")
    table.add_column("type")
    for name in ("TP", "FP", "FN", "P", "R", "F1", "hedged acc"):
        table.add_column(name, justify="right")
    for item in report.alerts.per_type:
        table.add_row(*_alert_row(item))
    table.add_section()
    table.add_row(*_alert_row(report.alerts.total), style="bold")
    return table


def _alert_row(item: AlertTypeScore) -> list[str]:
    # With no true positive there is nothing to judge: show a dash, not 0.000.
    hedged = f"{_fig(item.hedged_accuracy)} ({item.hedged_correct}/{item.hedged_total})" if item.hedged_total else "-"
    return [
        item.type,
        str(item.tp),
        str(item.fp),
        str(item.fn),
        _fig(item.precision),
        _fig(item.recall),
        _fig(item.f1),
        hedged,
    ]


def _print_items(
    console: Console,
    title: str,
    items: tuple[EvalError, ...],
    kinds: dict[str, str],
    limit: int,
) -> None:
    if not items:
        return
    console.print(Text(f"{title} ({len(items)})", style="bold"))
    current = None
    for item in items[: max(limit, 0)]:
        if item.kind != current:
            current = item.kind
            console.print(Text(f"  {kinds.get(item.kind, item.kind)}", style="underline"))
        # Text, not markup: sentences may hold brackets that rich would read as tags.
        console.print(Text(f"    {item.article_id}: {item.message}"))
    if len(items) > limit:
        console.print(Text(f"  … and {len(items) - max(limit, 0)} more (use --json for all)"))
