"""``wirewatch status``: what the running workers are doing, from their own endpoints.

Each worker is scraped twice (``/metrics``, ``interval`` seconds apart) and
asked ``/ready`` once. Counts are the workers' totals since they started;
rates are the difference between the two scrapes; lag is per source
partition, as the worker owning it reports it (see ``metrics.py``).
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.table import Table

__all__ = ["Sample", "WorkerStatus", "base_url", "collect_status", "parse_samples", "render_status", "status_value"]

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Sample:
    """One scrape: every sample by (name, sorted labels)."""

    values: dict[tuple[str, Labels], float]
    at: float

    def get(self, name: str, **labels: str) -> float:
        return self.values.get((name, tuple(sorted(labels.items()))), 0.0)

    def by(self, name: str, label: str) -> dict[str, float]:
        """``name``'s samples summed per value of ``label``."""
        out: dict[str, float] = {}
        for (n, labels), value in self.values.items():
            if n == name:
                key = dict(labels).get(label, "")
                out[key] = out.get(key, 0.0) + value
        return out

    def series(self, name: str) -> list[tuple[dict[str, str], float]]:
        return [(dict(labels), v) for (n, labels), v in sorted(self.values.items()) if n == name]


def parse_samples(text: str, at: float | None = None) -> Sample:
    """Parse Prometheus' text format (as served at ``/metrics``)."""
    values: dict[tuple[str, Labels], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            values[(s.name, tuple(sorted(s.labels.items())))] = float(s.value)
    return Sample(values, time.monotonic() if at is None else at)


@dataclass
class WorkerStatus:
    url: str
    error: str | None = None
    ready: dict[str, Any] | None = None
    first: Sample | None = None
    last: Sample | None = None

    @property
    def reachable(self) -> bool:
        return self.error is None and self.last is not None

    def rates(self, name: str, label: str) -> dict[str, float]:
        """Per-second increase of counter ``name`` per ``label`` between the two scrapes ({} if one scrape)."""
        if self.first is None or self.last is None or self.last.at <= self.first.at:
            return {}
        before = self.first.by(name, label)
        seconds = self.last.at - self.first.at
        return {k: max(0.0, v - before.get(k, 0.0)) / seconds for k, v in self.last.by(name, label).items()}


def base_url(url: str) -> str:
    """``http://host:port`` from what the user typed (``host:port``, or a URL ending in /metrics)."""
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    for suffix in ("/metrics", "/ready", "/health"):
        if url.endswith(suffix):
            url = url[: -len(suffix)]
    return url


def _get(url: str, timeout: float) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # http(s) URLs from the user
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as exc:  # 503 from /ready is an answer, not a failure
        return int(exc.code), bytes(exc.read())


def collect_status(urls: Sequence[str], interval: float, timeout: float = 5.0) -> list[WorkerStatus]:
    """Scrape every worker, wait ``interval`` seconds (0: once only), scrape again, ask /ready."""
    workers = [WorkerStatus(base_url(u)) for u in urls]

    def scrape(w: WorkerStatus) -> Sample | None:
        try:
            status, body = _get(w.url + "/metrics", timeout)
            if status != 200:
                w.error = f"/metrics answered HTTP {status}"
                return None
            return parse_samples(body.decode("utf-8"))
        except (OSError, ValueError) as exc:
            w.error = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
            return None

    for w in workers:
        w.first = scrape(w)
    if interval > 0 and any(w.first is not None for w in workers):
        time.sleep(interval)
        for w in workers:
            if w.error is None:
                w.last = scrape(w)
    else:
        for w in workers:
            w.last = w.first
    for w in workers:
        if w.error is None:
            try:
                _, body = _get(w.url + "/ready", timeout)
                w.ready = orjson.loads(body)
            except (OSError, ValueError) as exc:
                w.ready = {"ready": False, "missing": [f"{type(exc).__name__}"]}
    return workers


def _fmt(x: float) -> str:
    return f"{x:.0f}" if x == int(x) else f"{x:.2f}"


def status_value(workers: Iterable[WorkerStatus]) -> list[dict[str, Any]]:
    """The same figures as ``render_status``, as JSON-ready values (``--json``)."""
    out = []
    for w in workers:
        item: dict[str, Any] = {"url": w.url, "reachable": w.reachable, "error": w.error, "ready": w.ready}
        if w.last is not None:
            s = w.last
            item.update(
                models_loaded=bool(s.get("wirewatch_models_loaded")),
                messages_in=s.by("wirewatch_messages_in_total", "topic"),
                messages_out=s.by("wirewatch_messages_out_total", "topic"),
                rate_in=w.rates("wirewatch_messages_in_total", "topic"),
                rate_out=w.rates("wirewatch_messages_out_total", "topic"),
                dead_letters=s.by("wirewatch_dead_letters_total", "code"),
                duplicates=s.by("wirewatch_duplicates_total", "method"),
                alerts=[{**labels, "count": v} for labels, v in s.series("wirewatch_alerts_total")],
                lag=[{**labels, "lag": v} for labels, v in s.series("wirewatch_consumer_lag")],
            )
        out.append(item)
    return out


def render_status(workers: Sequence[WorkerStatus], console: Console) -> None:
    """One block per worker: readiness, messages and rates per topic, outcomes, lag per partition."""
    for w in workers:
        if not w.reachable:
            console.print(f"[bold]{w.url}[/]  [bold red]unreachable[/]  {w.error}")
            continue
        assert w.last is not None
        s = w.last
        ready = w.ready or {}
        missing = ", ".join(ready.get("missing", []))
        state = "[green]ready[/]" if ready.get("ready") else f"[red]not ready[/] (missing: {missing})"
        models = "loaded" if s.get("wirewatch_models_loaded") else "[yellow]loading[/]"
        total_lag = sum(v for _, v in s.series("wirewatch_consumer_lag"))
        console.print(f"[bold]{w.url}[/]  {state}  models {models}  lag {_fmt(total_lag)}")

        topics = Table("topic", "in", "in/s", "out", "out/s", box=None, padding=(0, 2), show_edge=False)
        ins, outs = s.by("wirewatch_messages_in_total", "topic"), s.by("wirewatch_messages_out_total", "topic")
        rin = w.rates("wirewatch_messages_in_total", "topic")
        rout = w.rates("wirewatch_messages_out_total", "topic")
        for topic in sorted(set(ins) | {t for t, v in outs.items() if v}):
            topics.add_row(
                topic,
                _fmt(ins.get(topic, 0.0)) if topic in ins else "",
                f"{rin.get(topic, 0.0):.1f}" if topic in ins and rin else "",
                _fmt(outs.get(topic, 0.0)) if topic in outs else "",
                f"{rout.get(topic, 0.0):.1f}" if topic in outs and rout else "",
            )
        console.print(topics)

        dead = ", ".join(f"{k} {_fmt(v)}" for k, v in sorted(s.by("wirewatch_dead_letters_total", "code").items()))
        dups = ", ".join(f"{k} {_fmt(v)}" for k, v in sorted(s.by("wirewatch_duplicates_total", "method").items()))
        per_type: dict[str, list[float]] = {}
        for labels, v in s.series("wirewatch_alerts_total"):
            counts = per_type.setdefault(labels["type"], [0.0, 0.0])
            counts[0] += v
            counts[1] += v if labels.get("hedged") == "true" else 0.0
        alerts = ", ".join(f"{t} {_fmt(n)} ({_fmt(h)} hedged)" for t, (n, h) in sorted(per_type.items()))
        console.print(f"  dead letters: {dead or '0'}")
        console.print(f"  duplicates:   {dups or '0'}")
        console.print(f"  alerts:       {alerts or '0'}")

        lag = Table("partition", "highwater", "committed", "lag", box=None, padding=(0, 2), show_edge=False)
        high = {(d["topic"], d["partition"]): v for d, v in s.series("wirewatch_consumer_highwater")}
        done = {(d["topic"], d["partition"]): v for d, v in s.series("wirewatch_consumer_committed_offset")}
        lags = {(d["topic"], d["partition"]): v for d, v in s.series("wirewatch_consumer_lag")}
        for key in sorted(set(high) | set(done) | set(lags), key=lambda k: (k[0], int(k[1]))):
            lag.add_row(
                f"{key[0]}[{key[1]}]",
                _fmt(high[key]) if key in high else "?",
                _fmt(done[key]) if key in done else "?",
                _fmt(lags[key]) if key in lags else "?",
            )
        if lag.row_count:
            console.print(lag)
        console.print()
